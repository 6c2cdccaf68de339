package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/models"
)

// runJobs runs the queued jobs as the server's worker would.
func (ts *testServer) runJobs() {
	ts.t.Helper()
	for {
		ran, err := ts.app.Jobs.RunOne(context.Background())
		if err != nil {
			ts.t.Fatalf("run job: %v", err)
		}
		if !ran {
			return
		}
	}
}

func (ts *testServer) assigned(member, company uint) bool {
	var n int64
	if err := ts.store.DB().Model(&models.Assignment{}).Where("membership_id = ? AND company_id = ?", member, company).Count(&n).Error; err != nil {
		ts.t.Fatal(err)
	}
	return n > 0
}

// TestBulk_AllMatchingAddedToACompanyWithoutScript: an Admin chooses
// everyone a search matches, adds them to a company through the plain
// forms, follows the job to its end, and the list shows them there.
func TestBulk_AllMatchingAddedToACompanyWithoutScript(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	admin := ts.login("ada@example.com", strongPassword)
	list := admin.get("/users?type=reporting")
	form := list.doc.Find(`form[data-testid="bulk-form"]`)
	action, _ := form.Attr("action")
	if action != "/users/bulk?type=reporting" {
		t.Fatalf("the bulk form posts to %q", action)
	}
	values := url.Values{"action": {"add-company"}, "scope": {"all"}, "key": {form.Find(`input[name="key"]`).AttrOr("value", "")}}
	confirm := admin.post(action, values)
	wantStatus(t, confirm, http.StatusOK)
	if got := confirm.text("h1"); got != "Add to a company: 4 people" {
		t.Errorf("confirmation title %q", got)
	}
	// Starting without a company is refused with the form kept.
	start, _ := confirm.doc.Find(`form[data-testid="bulk-confirm"]`).Attr("action")
	values.Set("scope", confirm.doc.Find(`input[name="scope"]`).AttrOr("value", ""))
	missing := admin.post(start, values)
	wantStatus(t, missing, http.StatusUnprocessableEntity)
	if !strings.Contains(missing.text(".field-error"), "Choose the company") {
		t.Errorf("no company: %q", missing.text(".field-error"))
	}
	values.Set("target", fmt.Sprint(tn.other))
	started := admin.post(start, values)
	wantStatus(t, started, http.StatusSeeOther)
	status := started.header.Get("Location")
	if !strings.HasPrefix(status, "/users/bulk/") {
		t.Fatalf("started → %q", status)
	}
	// A double submit is the same job.
	if again := admin.post(start, values); again.header.Get("Location") != status {
		t.Errorf("the second submit went to %q, not %q", again.header.Get("Location"), status)
	}
	waiting := admin.get(status)
	if waiting.header.Get("Refresh") == "" || !strings.Contains(waiting.text(`[data-testid="bulk-summary"]`), "4 to go") {
		t.Errorf("before the worker: refresh %q, %q", waiting.header.Get("Refresh"), waiting.text(`[data-testid="bulk-summary"]`))
	}
	ts.runJobs()
	done := admin.get(status)
	if got := done.text(`[data-testid="bulk-summary"]`); got != "2 added, 2 skipped: already in the company" || done.header.Get("Refresh") != "" {
		t.Errorf("after the worker: %q (refresh %q)", got, done.header.Get("Refresh"))
	}
	shown := admin.get(fmt.Sprintf("/users?type=reporting&company=%d", tn.other))
	if got := shown.text(`[data-testid="user-count"]`); !strings.HasPrefix(got, "4 people") {
		t.Errorf("the list of %d: %q", tn.other, got)
	}
	var events int64
	ts.store.DB().Model(&models.AuditEvent{}).Where("action = ?", "company.user_added").Count(&events)
	if events != 2 {
		t.Errorf("%d audit events, want one per person added (2)", events)
	}
	// Someone else's job is not theirs to see.
	wantStatus(t, ts.login("max@example.com", strongPassword).get(status), http.StatusForbidden)
	wantStatus(t, ts.login("bea@example.com", strongPassword).get(status), http.StatusNotFound)
}

// TestBulk_ManagerOutsideHisScopeIs404: a Manager's bulk request naming a
// person or a company outside his companies changes nothing and answers
// 404; an action beyond his rights on people he sees answers 403.
func TestBulk_ManagerOutsideHisScopeIs404(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	max := ts.login("max@example.com", strongPassword)
	id := func(n uint) string { return fmt.Sprint(n) }
	for _, c := range []struct {
		name   string
		values url.Values
		want   int
	}{
		{"a person of another company", url.Values{"action": {"remove-company"}, "target": {id(tn.own)}, "id": {id(tn.reporting), id(tn.otherReporting)}}, http.StatusNotFound},
		{"a person of another account", url.Values{"action": {"remove-company"}, "target": {id(tn.own)}, "id": {id(tn.foreignMember)}}, http.StatusNotFound},
		{"a company not his", url.Values{"action": {"add-company"}, "target": {id(tn.other)}, "id": {id(tn.reporting)}}, http.StatusNotFound},
		{"another account's company", url.Values{"action": {"add-company"}, "target": {id(tn.foreign)}, "id": {id(tn.reporting)}}, http.StatusNotFound},
		{"disable, an Admin's right", url.Values{"action": {"disable"}, "id": {id(tn.reporting)}}, http.StatusForbidden},
		{"delete someone outside", url.Values{"action": {"delete"}, "id": {id(tn.otherReporting)}}, http.StatusNotFound},
		{"a malformed ID", url.Values{"action": {"disable"}, "id": {"1 OR 1=1"}}, http.StatusBadRequest},
	} {
		for _, path := range []string{"/users/bulk", "/users/bulk/start"} {
			c.values.Set("key", "k1")
			if got := max.post(path, c.values); got.status != c.want {
				t.Errorf("%s %s: %d, want %d", path, c.name, got.status, c.want)
			}
		}
	}
	var jobs int64
	ts.store.DB().Model(&models.Job{}).Where("kind = ?", models.BulkJobKind).Count(&jobs)
	if jobs != 0 || !ts.assigned(tn.reporting, tn.own) {
		t.Errorf("refused requests left %d jobs; Rita still on her company: %v", jobs, ts.assigned(tn.reporting, tn.own))
	}
	// What he may do, he does.
	started := max.post("/users/bulk/start", url.Values{"action": {"remove-company"}, "target": {id(tn.own)}, "id": {id(tn.reporting)}, "key": {"k2"}})
	wantStatus(t, started, http.StatusSeeOther)
	ts.runJobs()
	if ts.assigned(tn.reporting, tn.own) {
		t.Error("the Manager's own bulk removal did not apply")
	}
}
