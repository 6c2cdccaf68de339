package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/notify"
)

// notifyWorld is an account with two companies and one person of each
// type, a Manager and a Reporting user of Acme, Bob on Bolt only, and Nora
// (Notification) on both.
type notifyWorld struct {
	ts                   *testServer
	admin                *browser
	acme, bolt           string
	max, rita, bob, nora models.Membership
	acmeID, boltID       uint
	adminID              uint
}

func newNotifyWorld(t *testing.T, opts ...serverOption) *notifyWorld {
	ts := newTestServer(t, opts...)
	w := &notifyWorld{ts: ts, admin: ts.setupAccount("ada@example.com")}
	w.acme = ts.companyID("Acme Plumbing")
	w.bolt = ts.addCompany("Bolt Roofing")
	fmt.Sscan(w.acme, &w.acmeID)
	fmt.Sscan(w.bolt, &w.boltID)
	w.max = ts.addPerson(person{typ: models.Manager, first: "Max", email: "max@example.com", companies: []string{w.acme}})
	w.rita = ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{w.acme}})
	w.bob = ts.addPerson(person{typ: models.Reporting, first: "Bob", email: "bob@example.com", companies: []string{w.bolt}})
	w.nora = ts.addPerson(person{typ: models.Notification, first: "Nora", email: "nora@example.com", companies: []string{w.acme, w.bolt}})
	w.adminID = ts.memberByEmail("ada@example.com").ID
	return w
}

func rowForm(company string, calls string, kinds ...string) url.Values {
	f := url.Values{"company": {company}, "calls": {calls}}
	for _, k := range kinds {
		f.Set(k, "on")
	}
	return f
}

func (ts *testServer) activeSubs(memberID uint) []string {
	ts.t.Helper()
	var subs []notify.Subscription
	if err := ts.store.DB().Where("membership_id = ? AND active = ?", memberID, true).Order("company_id, kind").Find(&subs).Error; err != nil {
		ts.t.Fatal(err)
	}
	var out []string
	for _, s := range subs {
		out = append(out, fmt.Sprintf("%d:%s%s", s.CompanyID, s.Kind, map[bool]string{true: ":" + string(s.Filter), false: ""}[s.Filter != ""]))
	}
	return out
}

// TestNotifyPages_Gates walks the notification pages and forms of each
// type of viewer over HTTP: 404 outside scope, 403 in scope but not
// theirs, 400 for what no form sends, and the change saved when allowed.
func TestNotifyPages_Gates(t *testing.T) {
	w := newNotifyWorld(t)
	ts := w.ts
	max := ts.login("max@example.com", strongPassword)
	rita := ts.login("rita@example.com", strongPassword)

	// The ways in: Account settings, and a company's page for Admins and
	// Managers.
	if w.admin.get("/account").doc.Find(`a[href="/account/notifications"]`).Length() != 1 {
		t.Error("Account settings do not lead to one's notifications")
	}
	for who, b := range map[string]*browser{"Admin": w.admin, "Manager": max} {
		if b.get("/companies/"+w.acme).doc.Find(`[data-testid="company-notifications"]`).Length() != 1 {
			t.Errorf("%s: the company page does not lead to its notifications", who)
		}
	}
	if rita.get("/companies/"+w.acme).doc.Find(`[data-testid="company-notifications"]`).Length() != 0 {
		t.Error("a Reporting user is offered the company's notifications")
	}

	// Admin: Edit User shows the section; a row saves and comes back.
	p := w.admin.get(userPath(w.nora.ID, ""))
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find(`[data-testid="notifications"]`).Length() != 1 || p.doc.Find(`[data-testid="notify-add"]`).Length() != 1 {
		t.Fatalf("Edit User has no Notifications section with an Add form")
	}
	add := rowForm(w.acme, "missed", "daily")
	add.Set("return", userPath(w.nora.ID, ""))
	p = w.admin.post(userPath(w.nora.ID, "/notifications"), add)
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != userPath(w.nora.ID, "") {
		t.Errorf("back to %q", loc)
	}
	if got := strings.Join(ts.activeSubs(w.nora.ID), " "); got != w.acme+":calls:missed "+w.acme+":daily" {
		t.Errorf("Nora's subscriptions: %s", got)
	}
	p = w.admin.follow(p)
	if got := p.text(`[data-testid="notify-row-` + w.acme + `"] [data-testid="notify-because"]`); !strings.Contains(got, "You can change this because you are an Admin") {
		t.Errorf("Edit User says %q", got)
	}
	wantStatus(t, w.admin.post(userPath(w.nora.ID, "/notifications"), rowForm("all", "off", "weekly")), http.StatusSeeOther)

	// Manager: Nora's Acme row is theirs to set, her all-companies row is
	// not (403), Bob is outside their scope (404), Bolt is not theirs (404).
	p = max.get(userPath(w.nora.ID, "/notifications"))
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`[data-testid="notify-row-all"] [data-testid="notify-because"]`); !strings.Contains(got, "You cannot change this") {
		t.Errorf("Max reads Nora's all-companies row: %q", got)
	}
	if p.doc.Find(`[data-testid="notify-row-`+w.bolt+`"]`).Length() != 0 || strings.Contains(p.body, "Bolt Roofing") {
		t.Error("Max's page names Bolt Roofing, a company outside his scope")
	}
	wantStatus(t, max.post(userPath(w.nora.ID, "/notifications"), rowForm(w.acme, "all", "daily")), http.StatusSeeOther)
	wantStatus(t, max.post(userPath(w.nora.ID, "/notifications"), rowForm("all", "off")), http.StatusForbidden)
	wantStatus(t, max.post(userPath(w.nora.ID, "/notifications"), rowForm(w.bolt, "off")), http.StatusNotFound)
	wantStatus(t, max.post(userPath(w.bob.ID, "/notifications"), rowForm(w.bolt, "all")), http.StatusNotFound)
	wantStatus(t, max.get(userPath(w.bob.ID, "/notifications")), http.StatusNotFound)
	wantStatus(t, max.post(userPath(w.adminID, "/notifications"), rowForm(w.acme, "all")), http.StatusForbidden)
	wantStatus(t, max.get("/companies/"+w.acme+"/notifications"), http.StatusOK)
	wantStatus(t, max.get("/companies/"+w.bolt+"/notifications"), http.StatusNotFound)

	// Reporting: their own only.
	wantStatus(t, rita.get(userPath(w.nora.ID, "/notifications")), http.StatusForbidden)
	wantStatus(t, rita.post(userPath(w.nora.ID, "/notifications"), rowForm(w.acme, "off")), http.StatusForbidden)
	wantStatus(t, rita.get("/companies/"+w.acme+"/notifications"), http.StatusForbidden)
	wantStatus(t, rita.get("/companies/"+w.bolt+"/notifications"), http.StatusNotFound)
	p = rita.get("/account/notifications")
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find("h1").Text() != "Your notifications" {
		t.Errorf("own page h1 %q", p.doc.Find("h1").Text())
	}
	wantStatus(t, rita.post("/account/notifications", rowForm(w.acme, "first_time", "texts")), http.StatusSeeOther)
	wantStatus(t, rita.post("/account/notifications", rowForm(w.bolt, "first_time")), http.StatusNotFound)
	if got := strings.Join(ts.activeSubs(w.rita.ID), " "); got != w.acme+":calls:first_time "+w.acme+":texts" {
		t.Errorf("Rita's subscriptions: %s", got)
	}
	// Her own page at the member address goes to the same page.
	wantStatus(t, rita.get(userPath(w.rita.ID, "/notifications")), http.StatusOK)

	// Forms no page sends.
	for name, form := range map[string]url.Values{
		"unknown filter":     rowForm(w.acme, "sometimes"),
		"no filter":          {"company": {w.acme}},
		"repeated checkbox":  {"company": {w.acme}, "calls": {"off"}, "daily": {"on", "on"}},
		"odd checkbox value": {"company": {w.acme}, "calls": {"off"}, "daily": {"yes"}},
		"no company":         {"calls": {"off"}},
	} {
		if p := rita.post("/account/notifications", form); p.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, p.status)
		}
	}
	wantStatus(t, rita.post("/account/notifications", rowForm("1 OR 1=1", "off")), http.StatusNotFound)

	// A company the person does not see: 422, with the reason on the page.
	p = w.admin.post(userPath(w.rita.ID, "/notifications"), rowForm(w.bolt, "all"))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if got := p.text(`[data-testid="notify-error"]`); !strings.Contains(got, "does not see Bolt Roofing") {
		t.Errorf("422 says %q", got)
	}

	// The company page lists who receives what.
	p = w.admin.get("/companies/" + w.acme + "/notifications")
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`tr[data-email="nora@example.com"]`); !strings.Contains(got, "Call alerts (every call), daily summary") || !strings.Contains(got, "Weekly summary") {
		t.Errorf("Nora's line on Acme's page: %q", got)
	}
	if got := p.text(`tr[data-email="rita@example.com"]`); !strings.Contains(got, "first-time callers only") {
		t.Errorf("Rita's line on Acme's page: %q", got)
	}
	if strings.Contains(p.body, "bob@example.com") {
		t.Error("Bob, who does not see Acme, is listed")
	}
	// Those who receive nothing about Acme are listed to be set up: Max
	// (until now) and Ada, who sees every company.
	if got := p.text(`[data-testid="company-others"]`); !strings.Contains(got, "Max Tester") || !strings.Contains(got, "Ada Admin") || strings.Contains(got, "Nora") {
		t.Errorf("people receiving nothing about Acme: %q", got)
	}
	if href := p.doc.Find(`[data-testid="company-others"] li[data-email="max@example.com"] a`).AttrOr("href", ""); href != userPath(w.max.ID, "/notifications") {
		t.Errorf("Max's link %q", href)
	}

	// Removing Nora from Acme lists what she stops receiving, then ends it.
	p = w.admin.get("/companies/" + w.acme + "/users")
	if !strings.Contains(p.body, "Stops receiving: call alerts for Acme Plumbing; daily summary of Acme Plumbing") {
		t.Errorf("the remove confirmation on Acme's people page does not list Nora's notifications")
	}
	wantStatus(t, w.admin.post("/companies/"+w.acme+"/users/"+fmt.Sprint(w.nora.ID)+"/remove", url.Values{}), http.StatusSeeOther)
	if got := strings.Join(ts.activeSubs(w.nora.ID), " "); got != "0:weekly" {
		t.Errorf("after removing Nora from Acme: %s", got)
	}
}

// TestUnsubscribe_OverHTTP: the link's page asks (GET changes nothing);
// the one-click POST of RFC 8058 works without session or CSRF token
// because its signature is checked first; a tampered link is 404 however
// it is sent; a second use changes nothing.
func TestUnsubscribe_OverHTTP(t *testing.T) {
	w := newNotifyWorld(t)
	ts := w.ts
	wantStatus(t, w.admin.post(userPath(w.nora.ID, "/notifications"), rowForm(w.acme, "off", "daily", "weekly")), http.StatusSeeOther)
	var daily notify.Subscription
	if err := ts.store.DB().Where("membership_id = ? AND kind = ?", w.nora.ID, notify.DailySummary).Take(&daily).Error; err != nil {
		t.Fatal(err)
	}
	token := ts.app.notify.Token(daily)
	path := "/unsubscribe/" + token

	anon := ts.browser()
	p := anon.get(path)
	wantStatus(t, p, http.StatusOK)
	if p.header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(p.header.Get("Cache-Control"), "no-store") {
		t.Errorf("headers: Referrer-Policy %q, Cache-Control %q", p.header.Get("Referrer-Policy"), p.header.Get("Cache-Control"))
	}
	if !strings.Contains(p.text("main"), "Stop sending the daily summary of Acme Plumbing to nora@example.com?") {
		t.Errorf("page: %s", p.text("main"))
	}
	if got := strings.Join(ts.activeSubs(w.nora.ID), " "); got != w.acme+":daily "+w.acme+":weekly" {
		t.Fatalf("the GET changed something: %s", got)
	}
	if strings.Contains(ts.logs.String(), token) {
		t.Error("the token reached the log")
	}

	// Tampered: 404 as a GET and as a POST, even with the session's CSRF
	// token; nothing changes.
	tampered := "/unsubscribe/" + token[:len(token)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(token, "A")]
	wantStatus(t, anon.get(tampered), http.StatusNotFound)
	w.admin.get("/users")
	for _, b := range []*browser{anon, w.admin} {
		if p := b.post(tampered, url.Values{"List-Unsubscribe": {"One-Click"}}); p.status != http.StatusNotFound {
			t.Errorf("tampered POST: status %d, want 404", p.status)
		}
	}

	// The mail client's one-click POST: no cookie, no CSRF token, a
	// cross-site origin as a mail provider's would be.
	req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://mail.example")
	p = ts.browser().do(req)
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(p.text(`[data-testid="unsubscribe-done"]`), "nora@example.com no longer receives the daily summary of Acme Plumbing") {
		t.Errorf("after one-click: %s", p.text("main"))
	}
	if got := strings.Join(ts.activeSubs(w.nora.ID), " "); got != w.acme+":weekly" {
		t.Errorf("after one-click: %s", got)
	}
	// Used again (the page's button this time): nothing more.
	p = anon.post(path, url.Values{"confirm": {"yes"}})
	wantStatus(t, p, http.StatusOK)
	if !strings.Contains(p.text("main"), "nothing changed now") {
		t.Errorf("second use: %s", p.text("main"))
	}
	var n int64
	ts.store.DB().Model(&models.AuditEvent{}).Where("action = ?", "notify.unsubscribed").Count(&n)
	if n != 1 {
		t.Errorf("%d unsubscribe events, want 1", n)
	}
	var ev models.AuditEvent
	ts.store.DB().Where("action = ?", "notify.unsubscribed").Take(&ev)
	if !strings.Contains(ev.Detail, "with their mail program's unsubscribe button") {
		t.Errorf("the audit does not say it was the mail program's one-click: %q", ev.Detail)
	}
	// The Admin sees it on Edit User.
	p = w.admin.get(userPath(w.nora.ID, ""))
	if got := p.text(`[data-testid="notify-unsubscribed"]`); !strings.Contains(got, "Daily summary: unsubscribed on") {
		t.Errorf("Edit User says %q", got)
	}
	if got := p.text(`[data-testid="member-events"]`); !strings.Contains(got, "Unsubscribed from an email") {
		t.Errorf("recent activity: %q", got)
	}
}

// TestCallWebhooks_WriteAlerts: the signed status webhook that ends a
// call writes its alerts in the same request, and the delivery worker
// sends them as email with the one-click unsubscribe header.
func TestCallWebhooks_WriteAlerts(t *testing.T) {
	w := newNotifyWorld(t, withTwilio("http://127.0.0.1:1"))
	ts := w.ts
	wantStatus(t, w.admin.post(userPath(w.nora.ID, "/notifications"), rowForm(w.acme, "all", "texts")), http.StatusSeeOther)
	admin := ts.viewerFor("ada@example.com", "Acme Calls")
	if _, err := ts.calls.CreateNumber(context.Background(), admin, w.acmeID, calls.NumberInput{Number: "+14155550134", Name: "Main line", Source: "Google Ads"}, ""); err != nil {
		t.Fatal(err)
	}
	sid := "CA0000000000000000000000000000a1e7"
	params := url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"}}
	ts.webhook("/telephony/voice", params, testToken)
	if n := ts.outboxTo("nora@example.com", "alert_calls"); n != 0 {
		t.Fatalf("an alert before the call ended")
	}
	status := url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"}, "CallStatus": {"completed"}, "CallDuration": {"31"}}
	wantStatus(t, ts.webhook("/telephony/status", status, testToken), http.StatusNoContent)
	wantStatus(t, ts.webhook("/telephony/status", status, testToken), http.StatusNoContent) // Twilio retries
	if n := ts.outboxTo("nora@example.com", "alert_calls"); n != 1 {
		t.Errorf("%d call alerts, want 1", n)
	}
	wantStatus(t, ts.webhook("/telephony/sms", url.Values{"MessageSid": {"SM0000000000000000000000000000a1e7"}, "From": {"+12025550199"},
		"To": {"+14155550134"}, "Body": {"Open today?"}}, testToken), http.StatusOK)
	if n := ts.outboxTo("nora@example.com", "alert_texts"); n != 1 {
		t.Errorf("%d text alerts, want 1", n)
	}
}

// TestWizard_NotificationChoicesOverHTTP: for a Notification user the
// companies step offers what they receive, the daily summary chosen; the
// choice is set up with the person; values no form sends are 400. Other
// types' done page leads to their notifications.
func TestWizard_NotificationChoicesOverHTTP(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	acme := ts.companyID("Acme Plumbing")
	key := admin.startWizard()
	in := wizardInput{typ: "notification", first: "Nora", last: "Notes", email: "nora@example.com", companies: []string{acme}}
	p := admin.post("/users/new/info", in.form(key))
	wantStatus(t, p, http.StatusOK)
	if _, checked := p.doc.Find(`[data-testid="receives-daily"]`).Attr("checked"); !checked {
		t.Error("the daily summary is not chosen by default")
	}
	if p.doc.Find(`[data-testid="receives-weekly"][checked]`).Length() != 0 || p.doc.Find(`#f-receives-calls option[selected]`).AttrOr("value", "x") != "" {
		t.Error("more than the daily summary is chosen by default")
	}
	if p.doc.Find(`label[for="f-receives-calls"]`).Length() != 1 {
		t.Error("the call-alert choice has no label")
	}
	bad := in.form(key)
	bad["receives"] = []string{"daily", "everything"}
	wantStatus(t, admin.post("/users/new/companies", bad), http.StatusBadRequest)
	form := in.form(key)
	form["receives"] = []string{"calls:missed", "", "daily", "weekly"}
	p = admin.post("/users/new/companies", form)
	wantStatus(t, p, http.StatusSeeOther)
	nora := ts.memberByEmail("nora@example.com")
	if got := strings.Join(ts.activeSubs(nora.ID), " "); got != acme+":calls:missed "+acme+":daily "+acme+":weekly" {
		t.Errorf("Nora receives %s", got)
	}
	done := admin.follow(p)
	if got := done.text(`[data-testid="setup-notifications"]`); got != "Change what they receive" {
		t.Errorf("Notification user's next step %q", got)
	}

	p = admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com", companies: []string{acme}})
	wantStatus(t, p, http.StatusSeeOther)
	done = admin.follow(p)
	rita := ts.memberByEmail("rita@example.com")
	link := done.doc.Find(`[data-testid="setup-notifications"]`)
	if strings.TrimSpace(link.Text()) != "Set up their notifications" || link.AttrOr("href", "") != userPath(rita.ID, "/notifications") {
		t.Errorf("Reporting user's next step %q → %q", link.Text(), link.AttrOr("href", ""))
	}
	if got := ts.activeSubs(rita.ID); len(got) != 0 {
		t.Errorf("a Reporting user got %v from the wizard", got)
	}
}
