package web

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_WizardInvitesThreeAtOnce: an Admin invites three people in
// one run of the wizard — one typed, one on a row added with "+ Add another
// person", one pasted as "Name <address>" beside a line that is no address
// — corrects a duplicate address the Info step points out, gives them a
// company, and sees all three on the done page. One of them opens the
// invitation from its .eml file, sets a password and sees that company.
func TestBrowser_WizardInvitesThreeAtOnce(t *testing.T) {
	ctx := newChrome(t)
	mailDir := t.TempDir()
	ts := newTestServer(t, withMailDir(mailDir))
	ts.setupAccount("ada@example.com")
	ts.addCompany("Hidden Roofing")
	plumbing := ts.companyID("Acme Plumbing")

	logIn(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-reporting"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)

	fill(t, ctx, "first_name", "Ann")
	fill(t, ctx, "last_name", "Lee")
	fill(t, ctx, "email", "ann@example.com")
	submit(t, ctx, `[data-testid="add-person"]`)
	wantFocus(t, ctx, "f-first_name-2", "after adding a row")
	if got := stepValue(t, ctx, "read the first row", chromedp.Value(chromedp.ID("f-email"))); got != "ann@example.com" {
		t.Errorf("the first row lost its address: %q", got)
	}
	fill(t, ctx, "first_name-2", "Bob")
	fill(t, ctx, "last_name-2", "Ray")
	fill(t, ctx, "email-2", "ann@example.com") // a slip: Ann's address again

	click(t, ctx, `[data-testid="paste-people"] summary`)
	step(t, ctx, "paste two lines", chromedp.SendKeys(chromedp.ID("f-paste"), "Cy Dee <cy@example.com>\nnot an address"))
	submit(t, ctx, `[data-testid="paste-add"]`)
	if got := textOf(t, ctx, `[data-testid="error-summary"]`); !strings.Contains(got, "Pasted line 2, “not an address”, has no email address.") {
		t.Errorf("paste errors: %q", got)
	}
	wantFocus(t, ctx, "error-summary", "after a paste error")
	if got := stepValue(t, ctx, "read person 3", chromedp.Value(chromedp.ID("f-email-3"))); got != "cy@example.com" {
		t.Errorf("pasted address in row 3: %q", got)
	}
	shotWidths(t, ctx, "wizard-many-paste-error")
	step(t, ctx, "empty the paste box", chromedp.Evaluate[chromedp.Void](`document.getElementById("f-paste").value = ""`))

	// With script, a fourth row comes at once, numbered and focused,
	// without sending the form; its Remove sends the form and the server
	// takes it away again.
	step(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`document.body.setAttribute("data-old", "1")`))
	click(t, ctx, `[data-testid="add-person"]`)
	wantFocus(t, ctx, "f-first_name-4", "after adding a row with script")
	if got := stepValue(t, ctx, "read the new row", chromedp.Evaluate[string](
		`document.body.hasAttribute("data-old") + " " + document.querySelectorAll("[data-person-row]").length + " " + document.querySelector('label[for="f-email-4"]').textContent + " " + document.getElementById("f-email-4").value.length`)); got != "true 4 Email, person 4 0" {
		t.Errorf("row added with script: %q", got)
	}
	fill(t, ctx, "first_name-4", "Temp")
	submit(t, ctx, `#person-4 [data-testid="remove-person"]`)
	if got := stepValue(t, ctx, "count the rows", chromedp.Evaluate[int](`document.querySelectorAll("[data-person-row]").length`)); got != 3 {
		t.Errorf("%d rows after removing the fourth", got)
	}

	// Next: person 2's address is person 1's; the summary says so and
	// links to the field.
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="error-summary"] a`); got != "Person 2: ann@example.com is person 1's address too: invite each person once." {
		t.Errorf("summary: %q", got)
	}
	shotWidths(t, ctx, "wizard-many-row-error")
	click(t, ctx, `[data-testid="error-summary"] a`)
	wantFocus(t, ctx, "f-email-2", "after the summary's link")
	fill(t, ctx, "email-2", "bob@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)

	if got := textOf(t, ctx, "legend"); got != "Which companies will these 3 people see?" {
		t.Errorf("companies step asks %q", got)
	}
	tick(t, ctx, `input[name="company"][value="`+plumbing+`"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	step(t, ctx, "type a message", chromedp.SendKeys(chromedp.ID("f-message"), "Welcome, all three of you!"))
	if got := textOf(t, ctx, `[data-testid="people-summary"]`); !strings.Contains(got, "Ann Lee · ann@example.com") || !strings.Contains(got, "Bob Ray · bob@example.com") || !strings.Contains(got, "Cy Dee · cy@example.com") {
		t.Errorf("message step lists %q", got)
	}
	shotWidths(t, ctx, "wizard-many-message")
	submit(t, ctx, `.wizard-actions .button-primary`)

	if got := textOf(t, ctx, `[data-testid="invited"] .lede`); got != "3 people invited as Reporting users; an invitation is on its way to each:" {
		t.Errorf("done page: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="invited-people"]`); !strings.Contains(got, "Cy Dee · cy@example.com") {
		t.Errorf("invited: %q", got)
	}
	shotWidths(t, ctx, "wizard-many-done")
	submit(t, ctx, `[data-testid="invited-people"] li:nth-child(2) a`)
	if got := currentPath(t, ctx, ts); got != "/users/"+itoa(ts.memberByEmail("bob@example.com").ID) {
		t.Errorf("Bob's link led to %s", got)
	}
	logOut(t, ctx)

	if sent, failed, err := ts.app.Delivery.RunOnce(context.Background()); err != nil || failed != 0 || sent != 3 {
		t.Fatalf("delivery: sent %d failed %d err %v", sent, failed, err)
	}
	link := invitationLinkFromMailDir(t, mailDir, "cy@example.com")
	visit(t, ctx, ts, strings.TrimPrefix(link, ts.base.String()))
	if got := textOf(t, ctx, `[data-testid="invitation-lede"]`); got != "Ada Admin invited you to Acme Calls on Switchboard." {
		t.Errorf("invitation page: %q", got)
	}
	fill(t, ctx, "password", strongPassword)
	fill(t, ctx, "confirm", strongPassword)
	submit(t, ctx, `form button.button-primary`)
	waitFor(t, ctx, `[data-testid="my-companies"]`)
	if got := textOf(t, ctx, `[data-testid="my-companies"]`); !strings.Contains(got, "Acme Plumbing") || strings.Contains(got, "Hidden Roofing") {
		t.Errorf("Cy sees companies %q", got)
	}
}
