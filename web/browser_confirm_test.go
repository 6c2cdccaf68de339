package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/models"
	"switchboard/models/calls"
)

// confirmShape is what a confirmation's form shows: its question, the
// focused element, and its buttons in order.
type confirmShape struct {
	Title   string   `json:"title"`
	Focused string   `json:"focused"`
	Buttons []string `json:"buttons"`
	// Last is the last button's class and background colour.
	LastClass string `json:"lastClass"`
	LastColor string `json:"lastColor"`
	Text      string `json:"text"`
}

const readConfirm = `((root) => {
  const form = root.querySelector("form.confirm-change");
  const buttons = [...form.querySelectorAll(".actions > a, .actions > button")];
  const last = buttons[buttons.length - 1];
  const title = root.tagName === "DIALOG" ? form.querySelector("h2").textContent : document.querySelector("h1").textContent;
  return {title: title.trim(), focused: document.activeElement && root.contains(document.activeElement) ? document.activeElement.textContent.trim() : "",
    buttons: buttons.map(b => b.textContent.trim()), lastClass: last.className, lastColor: getComputedStyle(last).backgroundColor,
    text: form.textContent.replace(/\s+/g, " ")};
})(%s)`

// wantConfirm checks the one pattern of confirmations: the question, Cancel
// first, the action last and red.
func wantConfirm(t *testing.T, ctx context.Context, root, title string) confirmShape {
	t.Helper()
	c := stepValue(t, ctx, "read the confirmation", chromedp.Evaluate[confirmShape](fmt.Sprintf(readConfirm, root)))
	if c.Title != title {
		t.Errorf("confirmation asks %q, want %q", c.Title, title)
	}
	if len(c.Buttons) != 2 || c.Buttons[0] != "Cancel" {
		t.Errorf("%q: buttons %q, want Cancel then the action", title, c.Buttons)
	}
	if !strings.Contains(c.LastClass, "button-danger") || c.LastColor != "rgb(179, 38, 30)" {
		t.Errorf("%q: the action is %q (%s), want the red button", title, c.LastClass, c.LastColor)
	}
	return c
}

// wantConfirmDialog checks the open dialog: the pattern, and the focus on
// Cancel so that Enter takes nothing away.
func wantConfirmDialog(t *testing.T, ctx context.Context, title string) confirmShape {
	t.Helper()
	waitFor(t, ctx, `dialog[open] form.confirm-change`)
	c := wantConfirm(t, ctx, `document.querySelector("dialog[open]")`, title)
	if c.Focused != "Cancel" {
		t.Errorf("%q opened with the focus on %q, want Cancel", title, c.Focused)
	}
	return c
}

// TestBrowser_DestructiveActionsAskFirst: on Edit User, disabling a person
// and removing them from a company ask first, in a dialog that names them,
// lists what they lose (the ring group they answer), opens on Cancel, and
// ends with the red action; Enter on the open dialog cancels; the flash
// after disabling offers Re-enable, which works. Without JavaScript the
// same confirmations are pages. Edit User and the dialog are photographed
// at 1280, 1024 and 390 pixels.
func TestBrowser_DestructiveActionsAskFirst(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	rita := ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{plumbing}})
	dan := ts.addPerson(person{typ: models.Reporting, first: "Dan", email: "dan@example.com", companies: []string{plumbing}})

	// Rita and Dan answer the main line's calls.
	bg := context.Background()
	admin := ts.viewerFor("ada@example.com", "Acme Calls")
	var co uint
	fmt.Sscan(plumbing, &co)
	if _, _, err := ts.calls.SetMyPhone(bg, ts.viewerFor("rita@example.com", "Acme Calls"), "+14155550103", ""); err != nil {
		t.Fatal(err)
	}
	n, err := ts.calls.CreateNumber(bg, admin, co, calls.NumberInput{Number: "+14155550134", Name: "Main line", Source: "Google Ads"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.calls.SetMyPhone(bg, ts.viewerFor("dan@example.com", "Acme Calls"), "+14155550104", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.calls.UpdateFlow(bg, admin, co, n.ID, calls.FlowInput{Destination: calls.ToRingGroup, RingGroup: []uint{rita.ID, dan.ID}, Timeout: 20}, ""); err != nil {
		t.Fatal(err)
	}

	browserLogin(t, ctx, ts, "ada@example.com")
	edit := userPath(rita.ID, "")
	for _, width := range []int64{1280, 1024, 390} {
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		visit(t, ctx, ts, edit)
		screenshotFull(t, ctx, fmt.Sprintf("edit-user-%d", width))
		click(t, ctx, `[data-testid="disable"]`)
		wantConfirmDialog(t, ctx, "Disable Rita Tester?")
		screenshot(t, ctx, fmt.Sprintf("disable-dialog-%d", width))
	}
	step(t, ctx, "resize", chromedp.EmulateViewport(1280, 900))

	// Enter on the open dialog is Cancel: nothing changes.
	visit(t, ctx, ts, edit)
	click(t, ctx, `[data-testid="disable"]`)
	c := wantConfirmDialog(t, ctx, "Disable Rita Tester?")
	if !strings.Contains(c.Text, "Main line") || !strings.Contains(c.Text, "rita@example.com") {
		t.Errorf("the disable dialog does not say what Rita loses: %q", c.Text)
	}
	step(t, ctx, "press Enter", chromedp.KeyEvent("\r"))
	step(t, ctx, "wait for the dialog to close", chromedp.WaitNotPresent(chromedp.CSS(`dialog[open]`)))
	if m, _ := ts.member(rita.ID); m.Status != models.MemberActive {
		t.Fatalf("Enter on the dialog disabled Rita (%s)", m.Status)
	}

	// Disable, then undo from the flash.
	click(t, ctx, `[data-testid="disable"]`)
	wantConfirmDialog(t, ctx, "Disable Rita Tester?")
	submit(t, ctx, `dialog[open] [data-testid="confirm-disable"]`)
	if m, _ := ts.member(rita.ID); m.Status != models.MemberDisabled {
		t.Fatalf("Rita is %s after confirming, want disabled", m.Status)
	}
	if got := textOf(t, ctx, `[data-testid="undo"]`); got != "Re-enable Rita Tester" {
		t.Errorf("the flash offers %q", got)
	}
	screenshot(t, ctx, "disabled-flash")
	submit(t, ctx, `[data-testid="undo"]`)
	if m, _ := ts.member(rita.ID); m.Status != models.MemberActive {
		t.Fatalf("Rita is %s after Re-enable, want active", m.Status)
	}
	if got := textOf(t, ctx, `[role="status"]`); !strings.Contains(got, "Rita Tester is enabled again") {
		t.Errorf("after undo the flash says %q", got)
	}

	// Removing a company asks first too. (Disabling took Rita out of the
	// ring group; Dan's confirmation below lists it.)
	click(t, ctx, `[data-testid="member-company"] [data-testid="remove-company"]`)
	wantConfirmDialog(t, ctx, "Remove Rita Tester from Acme Plumbing?")
	submit(t, ctx, `dialog[open] [data-testid="confirm-remove"]`)
	if n := visibleCount(t, ctx, `[data-testid="member-company"]`); n != 0 {
		t.Errorf("Rita still sees %d companies", n)
	}

	// Delete's dialog follows the same pattern.
	click(t, ctx, `[data-testid="delete"]`)
	wantConfirmDialog(t, ctx, "Delete Rita Tester?")

	// Without JavaScript each confirmation is a page of its own.
	turnOffScripts(t, ctx)
	visit(t, ctx, ts, userPath(dan.ID, ""))
	if resp := submit(t, ctx, `[data-testid="member-company"] [data-testid="remove-company"]`); resp.Status != http.StatusOK {
		t.Fatalf("remove confirmation page: status %d", resp.Status)
	}
	if c := wantConfirm(t, ctx, "document", "Remove Dan Tester from Acme Plumbing?"); !strings.Contains(c.Text, "Main line") {
		t.Errorf("the remove page does not say what Dan loses: %q", c.Text)
	}
	submit(t, ctx, `[data-testid="confirm-remove"]`)
	if p := currentPath(t, ctx, ts); p != userPath(dan.ID, "") {
		t.Errorf("after removing, the browser is at %s", p)
	}
	var left int64
	ts.store.DB().Model(&models.Assignment{}).Where("membership_id = ?", dan.ID).Count(&left)
	if left != 0 {
		t.Errorf("Dan still has %d companies", left)
	}
	if resp := submit(t, ctx, `[data-testid="disable"]`); resp.Status != http.StatusOK {
		t.Fatalf("disable confirmation page: status %d", resp.Status)
	}
	wantConfirm(t, ctx, "document", "Disable Dan Tester?")
	submit(t, ctx, `[data-testid="confirm-disable"]`)
	if m, _ := ts.member(dan.ID); m.Status != models.MemberDisabled {
		t.Fatalf("Dan is %s, want disabled", m.Status)
	}
	// The tracking number's Disable asks first as well.
	visit(t, ctx, ts, fmt.Sprintf("/companies/%s/numbers", plumbing))
	visit(t, ctx, ts, fmt.Sprintf("/companies/%s/numbers/%d/disable", plumbing, n.ID))
	wantConfirm(t, ctx, "document", "Disable Main line?")
}
