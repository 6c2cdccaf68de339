package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/models"
)

// TestInvitation_ExpiredLinkEmailsANewOne: an invitee whose link expired
// asks for a new one from the 410 page; it goes to the invited address,
// replaces the old, works, and the Admins see it in the audit log.
func TestInvitation_ExpiredLinkEmailsANewOne(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	p := admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}})
	wantStatus(t, p, http.StatusSeeOther)
	_, old := ts.lastInvitation("rita@example.com")
	ts.clock.Advance(models.InvitationLinkTTL + time.Hour)

	invitee := ts.browser()
	dead := invitee.get("/invite/" + old)
	wantStatus(t, dead, http.StatusGone)
	form := dead.doc.Find(`form[data-testid="renew-form"]`)
	if action, _ := form.Attr("action"); action != "/invite/"+old+"/renew" {
		t.Fatalf("410 page offers no renewal (form action %q): %s", action, dead.text("main"))
	}
	if form.Find(`input[type="email"], input[name="email"]`).Length() != 0 {
		t.Error("the renewal form asks for an address: it must only ever use the invited one")
	}
	sent := invitee.post("/invite/"+old+"/renew", url.Values{"email": {"mallory@example.com"}})
	wantStatus(t, sent, http.StatusOK)
	if got := sent.text("main"); !strings.Contains(got, "Check your inbox") {
		t.Errorf("answer: %q", got)
	}
	if n := ts.outboxTo("mallory@example.com", "invitation"); n != 0 {
		t.Errorf("%d invitations to an address typed in the form", n)
	}
	_, fresh := ts.lastInvitation("rita@example.com")
	if fresh == old {
		t.Fatal("the renewal sent the old link")
	}
	wantStatus(t, invitee.get("/invite/"+fresh), http.StatusOK)
	wantStatus(t, invitee.get("/invite/"+old), http.StatusGone)

	var ev models.AuditEvent
	if err := ts.store.DB().Where("action = ?", "invitation.renewed").Take(&ev).Error; err != nil {
		t.Fatalf("no audit event for the renewal: %v", err)
	}
	if !strings.Contains(ev.TargetName, "rita@example.com") {
		t.Errorf("audit event names %q", ev.TargetName)
	}
	audit := ts.login("ada@example.com", strongPassword).get("/audit") // a week on, a new session
	if got := audit.text(`[data-testid="audit-table"]`); !strings.Contains(got, "New link asked for from an expired one") {
		t.Errorf("the audit log does not show the renewal: %q", got)
	}
}

// TestInvitation_RenewIsNoOracleNorCannon: the answer is the same for an
// unknown, malformed, used or repeated link, nothing is sent for them, the
// invitee's limits hold quietly, and the client's limit refuses openly.
func TestInvitation_RenewIsNoOracleNorCannon(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com", companies: []string{plumbing}})
	admin.createUser(wizardInput{typ: "reporting", first: "Ulla", last: "Used", email: "ulla@example.com", companies: []string{plumbing}})
	_, rita := ts.lastInvitation("rita@example.com")
	_, ulla := ts.lastInvitation("ulla@example.com")
	if _, err := ts.store.AcceptInvitation(t.Context(), ulla, strongPassword, strongPassword, ""); err != nil {
		t.Fatal(err)
	}
	ts.clock.Advance(models.InvitationLinkTTL + time.Hour)

	b := ts.browser()
	b.get("/login")
	answer := func(token string) string {
		t.Helper()
		p := b.post("/invite/"+token+"/renew", nil)
		wantStatus(t, p, http.StatusOK)
		return p.text("main")
	}
	want := answer(rita)
	unknown := strings.Repeat("A", 43)
	for name, token := range map[string]string{"unknown": unknown, "malformed": "abc", "used": ulla, "again at once": rita} {
		if got := answer(token); got != want {
			t.Errorf("%s link: answer %q, want the same as for a live invitation %q", name, got, want)
		}
	}
	// One renewal for Rita (the second, within a minute, is quietly not
	// sent), none for the used link, the unknown or the malformed one.
	var renewals []models.AuditEvent
	ts.store.DB().Where("action = ?", "invitation.renewed").Find(&renewals)
	if len(renewals) != 1 || !strings.Contains(renewals[0].TargetName, "rita@example.com") {
		t.Errorf("renewals sent: %+v, want one, to Rita", renewals)
	}
	// Per client address: RenewClient.Max a window, then 429.
	max := ts.store.ThrottlePolicy().RenewClient.Max
	for i := 5; i < max; i++ {
		answer(unknown)
	}
	p := b.post("/invite/"+unknown+"/renew", nil)
	wantStatus(t, p, http.StatusTooManyRequests)
	if p.header.Get("Retry-After") == "" {
		t.Error("no Retry-After on the refusal")
	}
}
