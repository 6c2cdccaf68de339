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
)

// The permission table of the calls area, route by route: {Admin, Manager,
// Reporting, anonymous} × {own company, another company of the account,
// another account} × every action. Notification users have no login, so
// they never reach a route (TestAuth covers that they cannot log in).
func TestCallsScope_EveryTypeEveryActionEveryTarget(t *testing.T) {
	api := newTwilioAPI(t)
	w := newCallWorld(t, withTwilio(api.srv.URL))
	ts := w.ts
	ctx := context.Background()
	bea := ts.viewerFor("bea@example.com", "Beta Calls")
	for _, email := range []string{"max@example.com", "ada@example.com"} {
		v := ts.viewerFor(email, "Acme Calls")
		if _, _, err := ts.calls.SetMyPhone(ctx, v, fmt.Sprintf("+1415555%04d", 300+len(email)), ""); err != nil {
			t.Fatal(err)
		}
	}
	type target struct {
		company uint
		number  uint
		call    uint
	}
	targets := map[string]*target{"own": {company: w.own}, "other company": {company: w.other}, "other account": {company: w.foreign}}
	seq := 0
	for name, tg := range targets {
		by := w.admin
		if name == "other account" {
			by = bea
		}
		seq++
		n, err := ts.calls.CreateNumber(ctx, by, tg.company, calls.NumberInput{Number: fmt.Sprintf("+1415555%04d", 400+seq), Name: "Line " + name}, "")
		if err != nil {
			t.Fatal(err)
		}
		tg.number = n.ID
		sid := fmt.Sprintf("CA%032d", seq)
		p := callParams(sid)
		p.Set("To", n.Number)
		parseTwiML(t, ts.webhook("/telephony/voice", p, testToken))
		tg.call = callBySid(t, ts, sid).ID
	}

	type action struct {
		name   string
		method string
		path   func(tg *target) string
		form   func() url.Values
		ok     int
		// needs is the matrix row the action needs.
		needs models.Capability
	}
	fresh := 0
	actions := []action{
		{"company page", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d", tg.company) }, nil, http.StatusOK, models.CapEmails},
		{"numbers", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers", tg.company) }, nil, http.StatusOK, models.CapTrackingNumbers},
		{"create number", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers", tg.company) }, func() url.Values {
			fresh++
			return url.Values{"number": {fmt.Sprintf("+1415555%04d", 600+fresh)}, "name": {"New"}, "source": {"Website"}}
		}, http.StatusSeeOther, models.CapTrackingNumbers},
		{"edit number", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers/%d", tg.company, tg.number) }, nil, http.StatusOK, models.CapTrackingNumbers},
		{"flow", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers/%d/flow", tg.company, tg.number) }, nil, http.StatusOK, models.CapTrackingNumbers},
		{"save flow", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers/%d/flow", tg.company, tg.number) }, func() url.Values {
			return url.Values{"destination": {"voicemail"}, "timeout": {"20"}, "greeting": {"Hello"}}
		}, http.StatusSeeOther, models.CapTrackingNumbers},
		{"disable number", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers/%d/disable", tg.company, tg.number) }, nil, http.StatusSeeOther, models.CapTrackingNumbers},
		{"enable number", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/companies/%d/numbers/%d/enable", tg.company, tg.number) }, nil, http.StatusSeeOther, models.CapTrackingNumbers},
		{"call log", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d/calls", tg.company) }, nil, http.StatusOK, models.CapReviewCalls},
		{"call", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/calls/%d", tg.call) }, nil, http.StatusOK, models.CapReviewCalls},
		{"tag", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/calls/%d/tags", tg.call) }, func() url.Values { return url.Values{"tag": {"Booked"}} }, http.StatusSeeOther, models.CapClassifyCalls},
		{"note", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/calls/%d/notes", tg.call) }, func() url.Values { return url.Values{"note": {"Call back Tuesday"}} }, http.StatusSeeOther, models.CapClassifyCalls},
		{"qualify", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/calls/%d/qualified", tg.call) }, func() url.Values { return url.Values{"qualified": {"yes"}} }, http.StatusSeeOther, models.CapClassifyCalls},
		{"call back", http.MethodPost, func(tg *target) string { return fmt.Sprintf("/calls/%d/call-back", tg.call) }, nil, http.StatusSeeOther, models.CapTakeCalls},
		{"report", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d/reports?days=90", tg.company) }, nil, http.StatusOK, models.CapReviewCalls},
		{"CSV", http.MethodGet, func(tg *target) string { return fmt.Sprintf("/companies/%d/reports.csv?days=30", tg.company) }, nil, http.StatusOK, models.CapReviewCalls},
	}
	actors := []struct {
		name  string
		email string
		typ   models.UserType
		// sees: the companies the actor sees
		sees map[string]bool
	}{
		{"Admin", "ada@example.com", models.Admin, map[string]bool{"own": true, "other company": true}},
		{"Manager", "max@example.com", models.Manager, map[string]bool{"own": true}},
		{"Reporting", "rita@example.com", models.Reporting, map[string]bool{"own": true}},
		{"anonymous", "", "", nil},
	}
	for _, a := range actors {
		var b *browser
		if a.email == "" {
			b = ts.browser()
			b.get("/login")
		} else {
			b = ts.login(a.email, strongPassword)
		}
		for _, act := range actions {
			for _, name := range []string{"own", "other company", "other account"} {
				tg := targets[name]
				path := act.path(tg)
				var p *page
				var form url.Values
				if act.form != nil {
					form = act.form()
				}
				if act.method == http.MethodGet {
					p = b.get(path)
				} else {
					p = b.post(path, form)
				}
				want := http.StatusNotFound
				switch {
				case a.email == "" && act.method == http.MethodGet:
					want = http.StatusSeeOther // to the login page
				case a.email == "":
					want = http.StatusUnauthorized
				case a.sees[name] && models.Can(a.typ, act.needs):
					want = act.ok
				case a.sees[name]:
					// In scope, but not a right of the type (policy.go).
					want = http.StatusForbidden
				}
				if p.status != want {
					t.Errorf("%s %s %s (%s): status %d, want %d; %.300s", a.name, act.name, name, path, p.status, want, p.body)
				}
			}
		}
	}
	// Nothing of the other account changed.
	var c calls.Call
	ts.store.DB().Where("id = ?", targets["other account"].call).Take(&c)
	var tags, notes int64
	ts.store.DB().Model(&calls.CallTag{}).Where("call_id = ?", c.ID).Count(&tags)
	ts.store.DB().Model(&calls.Note{}).Where("call_id = ?", c.ID).Count(&notes)
	if c.Qualified || tags != 0 || notes != 0 {
		t.Errorf("the other account's call was changed: qualified %v, %d tags, %d notes", c.Qualified, tags, notes)
	}
	// The calls area's events are in the account's audit log, named and
	// filterable.
	admin := ts.login("ada@example.com", strongPassword)
	audit := admin.get("/audit?kind=call.tagged")
	wantStatus(t, audit, http.StatusOK)
	if got := audit.text(`[data-testid="audit-table"]`); !strings.Contains(got, "Call tagged") || !strings.Contains(got, "Tagged “Booked”") {
		t.Errorf("audit log of tags: %q", got)
	}
	if got := audit.text(`#f-kind`); !strings.Contains(got, "Tracking number created") || !strings.Contains(got, "Left a ring group") {
		t.Errorf("the audit filter lacks the calls area's kinds: %q", got)
	}
	// Odd identifiers are the same 404.
	for _, path := range []string{"/calls/0", "/calls/-1", "/calls/1%20OR%201=1", "/calls/0x1", "/calls/99999999999999999999", "/companies/abc/calls"} {
		if p := admin.get(path); p.status != http.StatusNotFound {
			t.Errorf("%s: status %d", path, p.status)
		}
	}
	for _, q := range []string{"?outcome=all", "?from=yesterday", "?q=" + url.QueryEscape(string(make([]byte, 101))), "?tag=x", "?after=nope", "?outcome=missed&outcome=answered"} {
		if p := admin.get("/calls" + q); p.status != http.StatusBadRequest {
			t.Errorf("/calls%s: status %d", q, p.status)
		}
	}
}

// TestCallLog_ScopeFollowsChangesAtTheNextRequest: a Manager's companies
// come with the session's one read (models/session.go), so being removed
// from a company, or the company being disabled, takes its calls out of
// the very next page: its Call Log and its calls are 404, and the log
// across his companies lists none of them.
func TestCallLog_ScopeFollowsChangesAtTheNextRequest(t *testing.T) {
	w := newCallWorld(t, withTwilio("http://127.0.0.1:9"))
	ts := w.ts
	parseTwiML(t, ts.webhook("/telephony/voice", callParams(sid1), testToken))
	call := callBySid(t, ts, sid1)
	admin := ts.login("ada@example.com", strongPassword)
	max := ts.login("max@example.com", strongPassword)
	ownLog, callPage := fmt.Sprintf("/companies/%d/calls", w.own), fmt.Sprintf("/calls/%d", call.ID)
	rows := func(p *page) int { return p.doc.Find(`[data-testid="call-row"]`).Length() }

	wantStatus(t, max.get(ownLog), http.StatusOK)
	wantStatus(t, max.get(callPage), http.StatusOK)
	if p := max.get("/calls"); rows(p) != 1 {
		t.Fatalf("before: %d rows", rows(p))
	}

	wantStatus(t, admin.post(userPath(w.manager, "/companies/remove"), url.Values{"company": {fmt.Sprint(w.own)}}), http.StatusSeeOther)
	wantStatus(t, max.get(ownLog), http.StatusNotFound)
	wantStatus(t, max.get(callPage), http.StatusNotFound)
	if p := max.get("/calls"); rows(p) != 0 {
		t.Errorf("after removal: %d rows", rows(p))
	}

	// Back in the company, then the company is disabled.
	wantStatus(t, admin.post(userPath(w.manager, "/companies/add"), url.Values{"company": {fmt.Sprint(w.own)}}), http.StatusSeeOther)
	wantStatus(t, max.get(callPage), http.StatusOK)
	if _, err := ts.store.SetCompanyStatus(context.Background(), w.admin, w.own, models.CompanyDisabled, ""); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, max.get(ownLog), http.StatusNotFound)
	wantStatus(t, max.get(callPage), http.StatusNotFound)
	if p := max.get("/calls"); rows(p) != 0 {
		t.Errorf("after disabling: %d rows", rows(p))
	}
	// For the Admin too: the account-wide walk leaves the company out.
	if p := admin.get("/calls"); rows(p) != 0 {
		t.Errorf("Admin after disabling: %d rows", rows(p))
	}
	wantStatus(t, admin.get(callPage), http.StatusNotFound)
}
