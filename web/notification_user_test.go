package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/models"
)

// TestNotificationUser_StatusAndAddressChange: a Notification user reads
// "Receives email" (not "Active · Never"), and an Admin corrects their
// address on Edit User: audited, both addresses told, nothing else sent.
func TestNotificationUser_StatusAndAddressChange(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	info := admin.post("/users/new/info", wizardInput{typ: "notification", first: "Nora", last: "Notes", email: "nora@example.com"}.form(admin.startWizard()))
	if hint := info.text("#h-email"); strings.Contains(hint, "sign in") || strings.Contains(hint, "invitation there") {
		t.Errorf("the Info step promises a Notification user a login or an invitation: %q", hint)
	}
	wantStatus(t, admin.createUser(wizardInput{typ: "notification", first: "Nora", last: "Notes", email: "nora@example.com", companies: []string{plumbing}}), http.StatusSeeOther)
	ts.addPerson(person{first: "Other", email: "taken@example.com", typ: models.Reporting})
	nora := ts.memberByEmail("nora@example.com")
	path := fmt.Sprintf("/users/%d", nora.ID)

	list := admin.get("/users")
	row := list.doc.Find(`tr[data-email="nora@example.com"]`)
	if got := strings.Join(strings.Fields(row.Text()), " "); !strings.Contains(got, "Receives email") || strings.Contains(got, "Never") || strings.Contains(got, "Active") {
		t.Errorf("users list row: %q", got)
	}
	edit := admin.get(path)
	if got := edit.text(`[data-testid="status"]`); got != "Receives email" {
		t.Errorf("Edit User status %q", got)
	}
	if edit.doc.Find(`input#f-email`).Length() != 1 {
		t.Fatal("Edit User has no email field for a Notification user")
	}

	// An address of someone already in the account is refused, nothing saved.
	p := admin.post(path, url.Values{"first_name": {"Nora"}, "last_name": {"Notes"}, "email": {"taken@example.com"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if ts.memberByEmail("nora@example.com").ID != nora.ID {
		t.Fatal("refused change was saved")
	}

	p = admin.post(path, url.Values{"first_name": {"Nora"}, "last_name": {"Notes"}, "email": {" Nora.New@Example.com "}})
	wantStatus(t, p, http.StatusSeeOther)
	if got := admin.follow(p).text(".flash"); !strings.Contains(got, "now go to nora.new@example.com") {
		t.Errorf("flash: %q", got)
	}
	if got := ts.memberByEmail("nora.new@example.com"); got.ID != nora.ID || got.Status != models.MemberActive {
		t.Fatalf("after the change: %+v", got)
	}
	for _, addr := range []string{"nora@example.com", "nora.new@example.com"} {
		if n := ts.outboxTo(addr, "address_changed"); n != 1 {
			t.Errorf("%d address-change notices to %s, want 1", n, addr)
		}
	}
	if n := ts.outboxTo("nora.new@example.com", "invitation"); n != 0 {
		t.Error("a Notification user was sent an invitation")
	}
	var ev models.AuditEvent
	if err := ts.store.DB().Where("action = ?", "member.email_changed").Take(&ev).Error; err != nil {
		t.Fatalf("not audited: %v", err)
	}
	if ev.Detail != "Email nora@example.com → nora.new@example.com" || ev.ActorName != "Ada Admin" {
		t.Errorf("audit event: %+v", ev)
	}

	// A login user's address stays theirs.
	rita := ts.addPerson(person{first: "Rita", email: "rita@example.com", typ: models.Reporting})
	p = admin.post(fmt.Sprintf("/users/%d", rita.ID), url.Values{"first_name": {"Rita"}, "last_name": {"X"}, "email": {"other@example.com"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
}
