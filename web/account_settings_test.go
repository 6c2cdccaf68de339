package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/models"
)

// TestAccess_RequestsExpireAfter30Days: a request says until when it
// waits, says where the requester comes from (as they chose), and after 30
// days reads "Expired" to the requester and leaves the Admins' list; a
// grant is then refused, and the hourly task records it.
func TestAccess_RequestsExpireAfter30Days(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	x.rita.get("/access-requests")
	plumbing := ts.companyID("Acme Plumbing")
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {x.b.Account.Number}, "share": {"company:" + plumbing}}), http.StatusSeeOther)
	id := ts.pendingRequest()

	mine := x.rita.get("/access-requests")
	if got := mine.text(`[data-testid="my-requests"] li`); !strings.Contains(got, "Waiting for the account's Admins") || !strings.Contains(got, "expires on Dec 23, 2026") {
		t.Errorf("requester sees %q", got)
	}
	bea := ts.login("bea@example.com", strongPassword)
	incoming := bea.get("/access-requests/incoming")
	if got := incoming.text(`[data-testid="request-from"]`); got != "From Acme Calls · Acme Plumbing" {
		t.Errorf("the Admin reads where the requester comes from as %q", got)
	}
	if got := incoming.text(`[data-testid="incoming"]`); !strings.Contains(got, "expires on Dec 23, 2026") {
		t.Errorf("incoming: %q", got)
	}
	if got := bea.get("/account").text(`[data-testid="account-incoming"]`); !strings.Contains(got, "Rita") {
		t.Errorf("Account settings do not show the incoming request: %q", got)
	}

	ts.clock.Advance(models.AccessRequestTTL)
	x.rita = ts.login("rita@example.com", strongPassword)
	mine = x.rita.get("/access-requests")
	if state, _ := mine.doc.Find(`[data-testid="my-requests"] li`).Attr("data-state"); state != "expired" {
		t.Errorf("after 30 days the request is %q", state)
	}
	if mine.doc.Find(`[data-testid="withdraw"], [data-testid="correct"]`).Length() != 0 {
		t.Error("an expired request still offers Withdraw or Correct")
	}
	bea = ts.login("bea@example.com", strongPassword)
	if bea.get("/access-requests/incoming").doc.Find(`[data-testid="incoming"] li`).Length() != 0 {
		t.Error("an expired request is still in the Admins' list")
	}
	grant := fmt.Sprintf("/access-requests/%d/grant", id)
	wantStatus(t, bea.get(grant), http.StatusConflict)
	wantStatus(t, bea.post(grant, url.Values{"type": {"reporting"}, "company": {fmt.Sprint(x.bCompany)}}), http.StatusConflict)
	if n, err := ts.store.ExpireAccessRequests(t.Context()); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	var r models.AccessRequest
	ts.store.DB().Take(&r, id)
	if r.Status != models.AccessExpired {
		t.Errorf("stored status %q", r.Status)
	}
}

// TestAccess_RequesterCorrectsOrWithdraws: a mistyped number is corrected
// (a new request to the right account, the old withdrawn), a note is
// corrected in place, and only the requester may do either.
func TestAccess_RequesterCorrectsOrWithdraws(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	x.rita.get("/access-requests")
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {"1111111111"}, "note": {"Hi"}}), http.StatusSeeOther)
	var first models.AccessRequest
	ts.store.DB().Order("id DESC").Take(&first)
	edit := fmt.Sprintf("/access-requests/%d/edit", first.ID)
	form := x.rita.get(edit)
	wantStatus(t, form, http.StatusOK)
	if v, _ := form.doc.Find("#f-number").Attr("value"); v != "1111111111" {
		t.Errorf("correction form number %q", v)
	}
	// Someone else cannot see or change it.
	bea := ts.login("bea@example.com", strongPassword)
	wantStatus(t, bea.get(edit), http.StatusNotFound)
	wantStatus(t, bea.post(fmt.Sprintf("/access-requests/%d", first.ID), url.Values{"number": {x.c.Account.Number}}), http.StatusNotFound)

	p := x.rita.post(fmt.Sprintf("/access-requests/%d", first.ID), url.Values{"number": {x.b.Account.Number}, "note": {"Hi, it is Rita"}, "share": {"account"}})
	wantStatus(t, p, http.StatusSeeOther)
	ts.store.DB().Take(&first, first.ID)
	if first.Status != models.AccessWithdrawn {
		t.Errorf("the mistyped request is %q, want withdrawn", first.Status)
	}
	id := ts.pendingRequest()
	if n := ts.outboxTo("bea@example.com", "access_requested"); n != 1 {
		t.Errorf("%d emails to B's Admin, want 1", n)
	}
	bea.get("/access-requests/incoming")
	// The note alone: the same request, corrected, and audited.
	wantStatus(t, x.rita.post(fmt.Sprintf("/access-requests/%d", id), url.Values{"number": {x.b.Account.Number}, "note": {"Rita from Acme"}}), http.StatusSeeOther)
	if got := ts.pendingRequest(); got != id {
		t.Fatalf("correcting the note made request %d, want %d kept", got, id)
	}
	if got := bea.get("/access-requests/incoming").text(`[data-testid="incoming"]`); !strings.Contains(got, "Rita from Acme") || !strings.Contains(got, "Did not say which account they come from") {
		t.Errorf("incoming after the correction: %q", got)
	}
	var ev models.AuditEvent
	if err := ts.store.DB().Where("action = ? AND account_id = ?", "access.corrected", x.b.Account.ID).Take(&ev).Error; err != nil {
		t.Errorf("correction not audited: %v", err)
	}
	// A company the requester does not see cannot be named.
	p = x.rita.post(fmt.Sprintf("/access-requests/%d", id), url.Values{"number": {x.b.Account.Number}, "share": {fmt.Sprintf("company:%d", x.bCompany)}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	// Withdraw.
	x.rita.get("/access-requests")
	wantStatus(t, x.rita.post(fmt.Sprintf("/access-requests/%d/withdraw", id), nil), http.StatusSeeOther)
	if bea.get("/access-requests/incoming").doc.Find(`[data-testid="incoming"] li`).Length() != 0 {
		t.Error("a withdrawn request is still waiting")
	}
}

// TestAccount_AdminRenamesAndSetsTimeZone: Admins rename the account and
// set its zone (audited, checked); others cannot; each person may choose
// their own zone, which every page's times follow, with the zone named.
func TestAccount_AdminRenamesAndSetsTimeZone(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	ada := ts.login("ada@example.com", strongPassword)
	page := ada.get("/account")
	if page.doc.Find(`[data-testid="account-settings"]`).Length() != 1 || page.text(`[data-testid="account-number"]`) != x.a.Account.Number {
		t.Fatal("an Admin's Account settings lack the settings form or the number")
	}
	p := ada.post("/account/settings", url.Values{"account_name": {""}, "time_zone": {"Mars/Olympus"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if p.text("#e-account_name") == "" || p.text("#e-time_zone") == "" {
		t.Errorf("errors not shown by their fields: %q", p.text("main"))
	}
	p = ada.post("/account/settings", url.Values{"account_name": {"Acme Calls & Co"}, "time_zone": {"Europe/London"}})
	wantStatus(t, p, http.StatusSeeOther)
	var a models.Account
	ts.store.DB().Take(&a, x.a.Account.ID)
	if a.Name != "Acme Calls & Co" || a.TimeZone != "Europe/London" {
		t.Fatalf("account after saving: %q %q", a.Name, a.TimeZone)
	}
	var ev models.AuditEvent
	if err := ts.store.DB().Where("action = ?", "account.updated").Take(&ev).Error; err != nil ||
		ev.Detail != "Name Acme Calls → Acme Calls & Co; time zone America/Chicago → Europe/London" {
		t.Errorf("audit: %+v %v", ev, err)
	}
	audit := ada.get("/audit")
	if got := audit.text(`[data-testid="audit-table"] tbody tr:first-child td[data-label="When"]`); !strings.HasSuffix(got, " GMT") {
		t.Errorf("audit time %q is not in the account's zone, named", got)
	}
	if audit.doc.Find(`th:contains("IP address")`).Length() != 1 {
		t.Error("the audit log's address column is not labelled")
	}

	// Rita (Reporting) may not change the account, but sets her own zone.
	page = x.rita.get("/account")
	if page.doc.Find(`[data-testid="account-settings"], [data-testid="account-incoming"]`).Length() != 0 {
		t.Error("a Reporting user sees the account's settings or requests")
	}
	wantStatus(t, x.rita.post("/account/settings", url.Values{"account_name": {"Mine"}, "time_zone": {"UTC"}}), http.StatusForbidden)
	wantStatus(t, x.rita.post("/account/time-zone", url.Values{"my_time_zone": {"Nowhere/Else"}}), http.StatusUnprocessableEntity)
	wantStatus(t, x.rita.post("/account/time-zone", url.Values{"my_time_zone": {"Asia/Tokyo"}}), http.StatusSeeOther)
	if got := x.rita.get("/account").text(`[data-testid="my-time-zone"]`); !strings.Contains(got, "JST") {
		t.Errorf("Rita's own zone is not used: %q", got)
	}
	// Ada's pages follow the account's zone; her own choice overrides it.
	wantStatus(t, ada.post("/account/time-zone", url.Values{"my_time_zone": {"America/Los_Angeles"}}), http.StatusSeeOther)
	ts.clock.Advance(time.Minute)
	if got := ada.get("/audit").text(`[data-testid="audit-table"] tbody tr:first-child td[data-label="When"]`); !strings.HasSuffix(got, " PST") {
		t.Errorf("audit time %q is not in Ada's own zone", got)
	}
}
