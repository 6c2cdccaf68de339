package web

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/models"
)

// TestBrowser_PromoteThroughDialogThenDelete carries journeys 7 and 8 in a
// real browser: an Admin opens Edit User from the pencil, promotes a
// Reporting user to Manager through the dialog (which lists what the type
// adds), then deletes another user from the trash icon through the
// confirmation that names them.
func TestBrowser_PromoteThroughDialogThenDelete(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	rita := ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{plumbing}})
	dan := ts.addPerson(person{typ: models.Reporting, first: "Dan", email: "dan@example.com", companies: []string{plumbing}})

	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", "ada@example.com")
	fill(t, ctx, "password", strongPassword)
	if resp := submit(t, ctx, `form[action^="/login"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("log in: status %d", resp.Status)
	}
	waitFor(t, ctx, `tr[data-email="rita@example.com"]`)

	// The pencil leads to Edit User.
	if resp := submit(t, ctx, `tr[data-email="rita@example.com"] [data-testid="edit-user"]`); resp.Status != http.StatusOK {
		t.Fatalf("Edit User: status %d", resp.Status)
	}
	if got := textOf(t, ctx, "h1"); got != "Edit Rita Tester" {
		t.Fatalf("h1 = %q", got)
	}
	editPath := currentPath(t, ctx, ts)

	// The promote button opens the dialog on this page.
	click(t, ctx, `[data-testid="promote-manager"]`)
	waitFor(t, ctx, `#dlg-type-manager [data-testid="gained"]`)
	if open := stepValue(t, ctx, "dialog open", chromedp.Evaluate[bool](`document.getElementById("dlg-type-manager").open`)); !open {
		t.Fatal("the promote dialog did not open")
	}
	if p := currentPath(t, ctx, ts); p != editPath {
		t.Errorf("opening the dialog navigated to %q", p)
	}
	gained := textOf(t, ctx, `#dlg-type-manager [data-testid="gained"]`)
	for _, line := range models.Gained(models.Reporting, models.Manager) {
		if !strings.Contains(gained, line) {
			t.Errorf("dialog lacks %q: %q", line, gained)
		}
	}
	screenshot(t, ctx, "promote-dialog")
	if resp := submit(t, ctx, `#dlg-type-manager [data-testid="confirm-type"]`); resp.Status != http.StatusOK {
		t.Fatalf("after promote: status %d", resp.Status)
	}
	waitFor(t, ctx, `[data-testid="type-badge"]`)
	if got := textOf(t, ctx, `[data-testid="type-badge"]`); got != "Manager" {
		t.Errorf("type after promotion = %q", got)
	}
	if got := textOf(t, ctx, `[role="status"]`); !strings.Contains(got, "Rita Tester is now a Manager user") {
		t.Errorf("flash = %q", got)
	}
	if m, _ := ts.member(rita.ID); m.Type != models.Manager {
		t.Fatalf("Rita is %s in the database", m.Type)
	}
	screenshot(t, ctx, "after-promote")

	// The trash icon on the users list, then the confirmation naming Dan.
	visit(t, ctx, ts, "/users")
	if resp := submit(t, ctx, `tr[data-email="dan@example.com"] [data-testid="delete-user"]`); resp.Status != http.StatusOK {
		t.Fatalf("delete confirmation: status %d", resp.Status)
	}
	if got := textOf(t, ctx, "h1"); got != "Delete Dan Tester?" {
		t.Errorf("confirmation h1 = %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="delete-confirm"]`); !strings.Contains(got, "dan@example.com") {
		t.Errorf("confirmation says %q", got)
	}
	screenshot(t, ctx, "delete-confirm")
	if resp := submit(t, ctx, `[data-testid="confirm-delete"]`); resp.Status != http.StatusOK {
		t.Fatalf("after delete: status %d", resp.Status)
	}
	waitFor(t, ctx, `tr[data-email="rita@example.com"]`)
	if p := currentPath(t, ctx, ts); p != "/users" {
		t.Errorf("after delete the browser is at %q", p)
	}
	if got := textOf(t, ctx, `[role="status"]`); !strings.Contains(got, "Dan Tester (dan@example.com) was deleted") {
		t.Errorf("flash = %q", got)
	}
	if n := stepValue(t, ctx, "count Dan's rows", chromedp.Evaluate[int](`document.querySelectorAll('tr[data-email="dan@example.com"]').length`)); n != 0 {
		t.Error("Dan is still in the users list")
	}
	if _, ok := ts.member(dan.ID); ok {
		t.Error("Dan is still in the database")
	}
	if got := textOf(t, ctx, `tr[data-email="rita@example.com"]`); !strings.Contains(got, "Manager") {
		t.Errorf("Rita's row = %q", got)
	}
}
