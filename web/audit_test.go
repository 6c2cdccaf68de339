package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
)

func TestAudit_ListsEveryChangeNewestFirst(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	rex := ts.addPerson(person{typ: models.Reporting, first: "Rex", email: "rex@example.com", companies: []string{plumbing}})
	mia := ts.addPerson(person{typ: models.Manager, first: "Mia", email: "mia@example.com", companies: []string{plumbing}})
	admin.get("/users")
	wantStatus(t, admin.post(userPath(rex.ID, "/type"), url.Values{"to": {"manager"}}), http.StatusSeeOther)
	wantStatus(t, admin.post(userPath(mia.ID, "/disable"), nil), http.StatusSeeOther)
	wantStatus(t, admin.post(userPath(mia.ID, "/delete"), nil), http.StatusSeeOther)

	p := admin.get("/audit")
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find("h1").Length() != 1 || p.text("h1") != "Audit log" {
		t.Errorf("h1 %q", p.text("h1"))
	}
	if p.doc.Find(`nav a[href="/audit"]`).Length() != 1 {
		t.Error("no Audit log item in the header for an Admin")
	}
	wantLabelledFields(t, p)
	rows := p.doc.Find(`[data-testid="audit-row"]`)
	var actions []string
	rows.Each(func(_ int, s *goquery.Selection) { a, _ := s.Attr("data-action"); actions = append(actions, a) })
	if strings.Join(actions, ",") != "member.deleted,member.disabled,member.promoted,account.created" {
		t.Errorf("actions newest first = %v", actions)
	}
	first := strings.Join(strings.Fields(rows.Eq(2).Text()), " ")
	for _, want := range []string{"Ada Admin", "Promoted", "Rex Tester <rex@example.com>", "Reporting → Manager", "127.0.0.1", "Nov 23, 2026"} {
		if !strings.Contains(first, want) {
			t.Errorf("promotion row %q lacks %q", first, want)
		}
	}
	// The deleted person is still named.
	if got := strings.Join(strings.Fields(rows.Eq(0).Text()), " "); !strings.Contains(got, "Mia Tester <mia@example.com>") {
		t.Errorf("delete row %q", got)
	}

	// Filters: by person and by kind.
	p = admin.get("/audit?person=MIA")
	if n := p.doc.Find(`[data-testid="audit-row"]`).Length(); n != 2 {
		t.Errorf("person=MIA: %d rows, want 2", n)
	}
	if v, _ := p.doc.Find("#f-person").Attr("value"); v != "MIA" {
		t.Errorf("person filter not kept: %q", v)
	}
	p = admin.get("/audit?kind=member.promoted")
	if n := p.doc.Find(`[data-testid="audit-row"]`).Length(); n != 1 {
		t.Errorf("kind=member.promoted: %d rows", n)
	}
	if v, _ := p.doc.Find(`#f-kind option[selected]`).Attr("value"); v != "member.promoted" {
		t.Errorf("kind filter not kept: %q", v)
	}
	if p := admin.get("/audit?person=nobody"); p.doc.Find(`[data-testid="empty"]`).Length() != 1 {
		t.Error("no empty state for a filter without results")
	}
	for _, bad := range []string{"/audit?kind=drop%20table", "/audit?after=xyz", "/audit?kind=member.deleted&kind=member.promoted"} {
		wantStatus(t, admin.get(bad), http.StatusBadRequest)
	}

	// Others cannot read it, and it is not in their header.
	mb := ts.login("rex@example.com", strongPassword)
	wantStatus(t, mb.get("/audit"), http.StatusForbidden)
	if mb.get("/users").doc.Find(`nav a[href="/audit"]`).Length() != 0 {
		t.Error("a Manager is offered the audit log")
	}
	wantStatus(t, ts.browser().get("/audit"), http.StatusSeeOther)
}

func TestAudit_PagesByCursor(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	acct := ts.account()
	for i := 0; i < 120; i++ {
		ev := models.AuditEvent{AccountID: &acct.ID, ActorName: "Ada Admin", Action: "member.updated", Detail: "n", CreatedAt: ts.store.Now()}
		if err := ts.store.DB().Create(&ev).Error; err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	path := "/audit"
	for pages := 0; path != ""; pages++ {
		p := admin.get(path)
		wantStatus(t, p, http.StatusOK)
		seen += p.doc.Find(`[data-testid="audit-row"]`).Length()
		next, ok := p.doc.Find(`a[rel="next"]`).Attr("href")
		if !ok {
			break
		}
		path = next
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if seen != 121 {
		t.Errorf("saw %d events over the pages, want 121", seen)
	}
}
