package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/models"
)

// The journeys of issue 14 (items 4, 5, 7, 9, 10, 14, 15), each through
// the real server in real Chromium. With SWITCHBOARD_SCREENSHOTS set, the
// pages are photographed whole at 1280, 1024 and 390 px.

// shotWidths saves full-page PNGs of the page at the three widths people
// use, then puts the window back to the test's width.
func shotWidths(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, w := range []int64{1280, 1024, 390} {
		step(t, ctx, "resize to "+fmt.Sprint(w), chromedp.EmulateViewport(w, chromeHeight))
		png := stepValue(t, ctx, "photograph "+name, chromedp.FullScreenshot(100))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, unsafeName.ReplaceAllString(fmt.Sprintf("%s-%d", name, w), "_")+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(t, ctx, "resize back", chromedp.EmulateViewport(chromeWidth, chromeHeight))
}

// logIn logs the tab in through the login form.
func logIn(t *testing.T, ctx context.Context, ts *testServer, email string) {
	t.Helper()
	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", email)
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
}

func logOut(t *testing.T, ctx context.Context) {
	t.Helper()
	submit(t, ctx, `header form[action="/logout"] button`)
}

// tick makes sure the checkbox sel is ticked, clicking it only if it is
// not (the company worked in comes ticked on the wizard and grant forms).
func tick(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	js, _ := json.Marshal(sel)
	if !stepValue(t, ctx, "read "+sel, chromedp.Evaluate[bool](`document.querySelector(`+string(js)+`).checked`)) {
		click(t, ctx, sel)
	}
}

// pressEnterIn presses Enter in the field with this ID and waits for the
// page the form leads to.
func pressEnterIn(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	step(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`document.body.setAttribute("data-old", "1")`))
	step(t, ctx, "press Enter in "+id, chromedp.SendKeys(chromedp.ID(id), "\r"),
		chromedp.WaitReady(chromedp.CSS(`body:not([data-old])`)))
}

// focusedJS names the element with the focus: its data-testid, or id, or tag.
const focusedJS = `(document.activeElement.getAttribute("data-testid") || document.activeElement.id || document.activeElement.tagName)`

// focusedTestID is the data-testid (or id) of the element with the focus.
func focusedTestID(t *testing.T, ctx context.Context) string {
	t.Helper()
	return stepValue(t, ctx, "read the focus", chromedp.Evaluate[string](focusedJS))
}

// wantFocus fails the test unless the focus lands on the element named
// want (as focusedTestID names it) within a second. The browser applies
// autofocus and a page script's focus() after the load event that submit
// waits for, so reading the focus at once can still see the body.
func wantFocus(t *testing.T, ctx context.Context, want, when string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](focusedJS+` === `+strconv.Quote(want),
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(time.Second)))
	if err != nil {
		t.Errorf("%s the focus is on %q, want %q", when, focusedTestID(t, ctx), want)
	}
}

// TestBrowser_InviteExistingLoginJoins: an Admin of A invites the Admin of
// B, whose address has a login there; the wizard explains and offers to
// invite anyway; she accepts by logging in with her own password and then
// switches between both accounts. A's pages never show her other account.
func TestBrowser_InviteExistingLoginJoins(t *testing.T) {
	ctx := newChrome(t)
	x := newThreeAccounts(t)
	ts := x.ts
	plumbing := ts.companyID("Acme Plumbing")

	logIn(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-reporting"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	fill(t, ctx, "first_name", "Bea")
	fill(t, ctx, "last_name", "Agency")
	fill(t, ctx, "email", "bea@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)
	box := textOf(t, ctx, `[data-testid="login-elsewhere"]`)
	for _, want := range []string{"already in Switchboard's system", "Invite them anyway", "request access to this account", "have their address deleted"} {
		if !strings.Contains(box, want) {
			t.Errorf("the explanation lacks %q: %q", want, box)
		}
	}
	shotWidths(t, ctx, "wizard-login-elsewhere")
	// Enter in a field means "Next", never "Invite them anyway" (nor a
	// stepper step, which come earlier in the page).
	pressEnterIn(t, ctx, "f-last_name")
	waitFor(t, ctx, `[data-testid="login-elsewhere"]`)
	if got := currentPath(t, ctx, ts); got != "/users/new/info" {
		t.Errorf("Enter led to %s", got)
	}
	submit(t, ctx, `[data-testid="invite-anyway"]`)
	// The company Ada works in (the header's) is ticked for her.
	if ticked := stepValue(t, ctx, "read the default company", chromedp.Evaluate[bool](`document.querySelector('input[name="company"][value="`+plumbing+`"]').checked`)); !ticked {
		t.Error("the company worked in is not ticked by default")
	}
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="join-note"]`); !strings.Contains(got, "password they already use") {
		t.Errorf("message step: %q", got)
	}
	submit(t, ctx, `.wizard-actions .button-primary`)
	created := textOf(t, ctx, "main")
	if !strings.Contains(created, "Bea Agency was added as a Reporting user") || strings.Contains(created, "Beta Calls") {
		t.Errorf("created page: %q", created)
	}
	submit(t, ctx, `[data-testid="created-member"]`)
	if got := textOf(t, ctx, "main"); strings.Contains(got, "Beta Calls") || strings.Contains(got, "Admin of") {
		t.Errorf("Edit User shows her other account: %q", got)
	}
	logOut(t, ctx)

	_, secret := ts.lastInvitation("bea@example.com")
	var mail models.OutboxMessage
	ts.store.DB().Where("to_address = ? AND kind = ?", "bea@example.com", "invitation").Order("id DESC").Take(&mail)
	if !strings.Contains(mail.TextBody, "log in with the password you already use") {
		t.Errorf("the invitation asks for a new password:\n%s", mail.TextBody)
	}
	visit(t, ctx, ts, "/invite/"+secret)
	shotWidths(t, ctx, "invitation-existing-login")
	submit(t, ctx, `[data-testid="login-to-join"]`)
	fill(t, ctx, "email", "bea@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	submit(t, ctx, `[data-testid="join"]`)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "You joined Acme Calls") {
		t.Errorf("flash: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="account-name"]`); !strings.Contains(got, "Acme Calls") {
		t.Errorf("after joining the header says %q", got)
	}
	visit(t, ctx, ts, "/account")
	if got := textOf(t, ctx, `[data-testid="my-accounts"]`); !strings.Contains(got, "Acme Calls") || !strings.Contains(got, "Beta Calls") {
		t.Errorf("her accounts: %q", got)
	}
	// Her membership of B is untouched.
	var b models.Membership
	ts.store.DB().Where("account_id = ? AND email = ?", x.b.Account.ID, "bea@example.com").Take(&b)
	if b.Type != models.Admin || b.Status != models.MemberActive {
		t.Errorf("her membership of B became %s/%s", b.Type, b.Status)
	}
}

// TestBrowser_ExpiredLinkEmailsANewOne: the invitee's link has expired;
// the page offers a new one, says to check the inbox, and the new link
// sets the password.
func TestBrowser_ExpiredLinkEmailsANewOne(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	_, old := ts.lastInvitation("rita@example.com")
	ts.clock.Advance(models.InvitationLinkTTL + time.Hour)

	if resp := visit(t, ctx, ts, "/invite/"+old); resp.Status != http.StatusGone {
		t.Errorf("expired link: status %d", resp.Status)
	}
	shotWidths(t, ctx, "invitation-expired")
	submit(t, ctx, `[data-testid="renew"]`)
	if got := textOf(t, ctx, `[data-testid="renew-sent"]`); !strings.Contains(got, "Check your inbox") {
		t.Errorf("after asking: %q", got)
	}
	shotWidths(t, ctx, "invitation-renewed")
	_, fresh := ts.lastInvitation("rita@example.com")
	if fresh == old {
		t.Fatal("no new link")
	}
	visit(t, ctx, ts, "/invite/"+fresh)
	fill(t, ctx, "password", strongPassword)
	fill(t, ctx, "confirm", strongPassword)
	submit(t, ctx, `form button.button-primary`)
	waitFor(t, ctx, `[data-testid="my-companies"]`)
	// The name is in the header's menu, folded on a phone: its text.
	if got := stepValue(t, ctx, "who is signed in", chromedp.Evaluate[string](`document.querySelector('[data-testid="whoami"]').textContent.trim()`)); got != "Rita Reports" {
		t.Errorf("logged in as %q", got)
	}
}

// TestBrowser_NotificationUserAddressChange: an Admin corrects a
// Notification user's address on Edit User.
func TestBrowser_NotificationUserAddressChange(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "notification", first: "Nora", last: "Notes", email: "nora@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	nora := ts.memberByEmail("nora@example.com")

	logIn(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/users")
	if got := textOf(t, ctx, `tr[data-email="nora@example.com"]`); !strings.Contains(got, "Receives email") || strings.Contains(got, "Never") {
		t.Errorf("users list row: %q", got)
	}
	visit(t, ctx, ts, fmt.Sprintf("/users/%d", nora.ID))
	if got := textOf(t, ctx, `[data-testid="status"]`); got != "Receives email" {
		t.Errorf("status %q", got)
	}
	if got := textOf(t, ctx, "#h-email"); !strings.Contains(got, "no login") {
		t.Errorf("hint: %q", got)
	}
	fill(t, ctx, "email", "nora.notes@example.com")
	shotWidths(t, ctx, "edit-notification-user")
	submit(t, ctx, `form[action="/users/`+fmt.Sprint(nora.ID)+`"] .button-primary`)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "now go to nora.notes@example.com") {
		t.Errorf("flash: %q", got)
	}
	if n := ts.outboxTo("nora@example.com", "address_changed") + ts.outboxTo("nora.notes@example.com", "address_changed"); n != 2 {
		t.Errorf("%d notices, want one to each address", n)
	}
}

// TestBrowser_AccessRequestCorrectAndExpire: a requester corrects a
// mistyped number and says where she comes from; the Admin sees it; after
// 30 days it reads expired.
func TestBrowser_AccessRequestCorrectAndExpire(t *testing.T) {
	ctx := newChrome(t)
	x := newThreeAccounts(t)
	ts := x.ts

	logIn(t, ctx, ts, "rita@example.com")
	visit(t, ctx, ts, "/access-requests")
	fill(t, ctx, "number", "1111111111")
	submit(t, ctx, `form[data-testid="request-form"] .button-primary`)
	submit(t, ctx, `[data-testid="my-requests"] li[data-number="1111111111"] [data-testid="correct"]`)
	fill(t, ctx, "number", x.b.Account.Number)
	choose(t, ctx, "share", models.ShareAccount)
	shotWidths(t, ctx, "access-request-correct")
	submit(t, ctx, `[data-testid="save-request"]`)
	if got := textOf(t, ctx, `[data-testid="my-requests"] li[data-number="`+x.b.Account.Number+`"]`); !strings.Contains(got, "expires on") {
		t.Errorf("corrected request: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="my-requests"] li[data-number="1111111111"]`); !strings.Contains(got, "Withdrawn") {
		t.Errorf("mistyped request: %q", got)
	}
	shotWidths(t, ctx, "access-requests-mine")
	logOut(t, ctx)

	logIn(t, ctx, ts, "bea@example.com")
	visit(t, ctx, ts, "/access-requests/incoming")
	if got := textOf(t, ctx, `[data-testid="request-from"]`); got != "From Acme Calls" {
		t.Errorf("the Admin reads %q", got)
	}
	// Grant and Decline sit side by side, the same height, and stay put.
	boxes := stepValue(t, ctx, "measure the buttons", chromedp.Evaluate[[]float64](`(function(){
		var g = document.querySelector('[data-testid="grant"]').getBoundingClientRect();
		var d = document.querySelector('[data-testid="decline-link"]').getBoundingClientRect();
		return [g.top, d.top, g.height, d.height];
	})()`))
	if boxes[0] != boxes[1] || boxes[2] != boxes[3] {
		t.Errorf("Grant and Decline are not aligned: %v", boxes)
	}
	shotWidths(t, ctx, "access-requests-incoming")
	submit(t, ctx, `[data-testid="decline-link"]`)
	if got := focusedTestID(t, ctx); got == "decline" {
		t.Error("the decline confirmation opens with the focus on Decline")
	}
	shotWidths(t, ctx, "access-request-decline-confirm")
	logOut(t, ctx)

	ts.clock.Advance(models.AccessRequestTTL)
	logIn(t, ctx, ts, "rita@example.com")
	visit(t, ctx, ts, "/access-requests")
	if got := textOf(t, ctx, `[data-testid="my-requests"] li[data-number="`+x.b.Account.Number+`"]`); !strings.Contains(got, "Expired") || !strings.Contains(got, "expired on") {
		t.Errorf("after 30 days: %q", got)
	}
}

// TestBrowser_AccountSettings: an Admin renames the account and sets its
// time zone; the number has a working Copy button; a Reporting user sees
// none of it but sets their own zone.
func TestBrowser_AccountSettings(t *testing.T) {
	ctx := newChrome(t)
	x := newThreeAccounts(t)
	ts := x.ts

	logIn(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/account")
	waitFor(t, ctx, `[data-testid="copy-number"]`) // shown once the script runs
	shotWidths(t, ctx, "account-admin")
	fill(t, ctx, "account_name", "Acme Calls Group")
	choose(t, ctx, "time_zone", "Europe/London")
	submit(t, ctx, `[data-testid="save-account"]`)
	if got := textOf(t, ctx, `[data-testid="account-name"]`); !strings.Contains(got, "Acme Calls Group") {
		t.Errorf("header after renaming: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="my-time-zone"]`); !strings.Contains(got, "GMT") {
		t.Errorf("times after the zone change: %q", got)
	}
	visit(t, ctx, ts, "/audit")
	if got := textOf(t, ctx, `[data-testid="audit-row"][data-action="account.updated"]`); !strings.Contains(got, "Acme Calls Group") {
		t.Errorf("audit row: %q", got)
	}
	shotWidths(t, ctx, "audit-log")
	logOut(t, ctx)

	logIn(t, ctx, ts, "rita@example.com")
	visit(t, ctx, ts, "/account")
	if n := stepValue(t, ctx, "count admin parts", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="account-settings"], [data-testid="account-number"]').length`)); n != 0 {
		t.Errorf("a Reporting user sees %d Admin parts", n)
	}
	choose(t, ctx, "my_time_zone", "Asia/Tokyo")
	submit(t, ctx, `[data-testid="save-time-zone"]`)
	if got := textOf(t, ctx, `[data-testid="my-time-zone"]`); !strings.Contains(got, "JST") {
		t.Errorf("Rita's time: %q", got)
	}
	shotWidths(t, ctx, "account-reporting")
}

// TestBrowser_WizardErrorSummaryAndAdminSkipsCompanies: errors open a
// focused summary whose links reach their fields; an Admin goes from Info
// to Message; a done step reopens with one click.
func TestBrowser_WizardErrorSummaryAndAdminSkipsCompanies(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	for i := range 10 {
		ts.addCompany(fmt.Sprintf("Branch %02d", i))
	}

	logIn(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-manager"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	fill(t, ctx, "first_name", "Max")
	fill(t, ctx, "last_name", "Manager")
	fill(t, ctx, "email", "max@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)
	// The company worked in is ticked for her: untick it.
	click(t, ctx, `input[name="company"]:checked`)
	submit(t, ctx, `.wizard-actions .button-primary`) // no company chosen
	wantFocus(t, ctx, "error-summary", "after the error")
	shotWidths(t, ctx, "wizard-companies-error")
	click(t, ctx, `[data-testid="error-summary"] a`)
	wantFocus(t, ctx, "f-companies", "after the summary's link")

	// An Admin: Info → Message, and the done Type step reopens.
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-admin"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="admin-companies"]`); !strings.Contains(got, "Admins see every company") {
		t.Errorf("Info step: %q", got)
	}
	submit(t, ctx, `.wizard-actions .button-primary`) // empty
	wantFocus(t, ctx, "error-summary", "after the Info errors")
	if got := textOf(t, ctx, `[data-testid="error-summary"]`); !strings.Contains(got, "Enter the first name") || !strings.Contains(got, "Enter the last name") {
		t.Errorf("summary: %q", got)
	}
	shotWidths(t, ctx, "wizard-info-errors")
	fill(t, ctx, "first_name", "Al")
	fill(t, ctx, "last_name", "Second")
	fill(t, ctx, "email", "al@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)
	waitFor(t, ctx, "#f-message")
	if got := textOf(t, ctx, ".stepper"); strings.Contains(got, "Companies") {
		t.Errorf("an Admin's stepper: %q", got)
	}
	shotWidths(t, ctx, "wizard-admin-message")
	submit(t, ctx, `[data-testid="step-type"]`)
	waitFor(t, ctx, `[data-testid="type-admin"]`)
	if checked := stepValue(t, ctx, "read type", chromedp.Evaluate[bool](`document.querySelector('input[name="type"][value="admin"]').checked`)); !checked {
		t.Error("reopening Type lost the choice")
	}
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := stepValue(t, ctx, "read email", chromedp.Value(chromedp.ID("f-email"))); got != "al@example.com" {
		t.Errorf("Info reopened with %q", got)
	}
}

// TestBrowser_ManagerHome: a Manager lands on a page that says what they
// can do on their companies and goes straight to it.
func TestBrowser_ManagerHome(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	ts.addPerson(person{typ: models.Manager, first: "Max", email: "max@example.com", companies: []string{plumbing}})
	ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{plumbing}})

	logIn(t, ctx, ts, "max@example.com")
	waitFor(t, ctx, `[data-testid="manager-powers"]`)
	powers := textOf(t, ctx, `[data-testid="manager-powers"]`)
	for _, want := range []string{"Add or remove Reporting and Notification people", "tracking numbers", "calls"} {
		if !strings.Contains(powers, want) {
			t.Errorf("home lacks %q: %q", want, powers)
		}
	}
	shotWidths(t, ctx, "home-manager")
	submit(t, ctx, `[data-testid="company-links"] a[href="/companies/`+plumbing+`/users"]`)
	if got := currentPath(t, ctx, ts); got != "/companies/"+plumbing+"/users" {
		t.Errorf("the link led to %s", got)
	}
	logOut(t, ctx)

	// A Reporting user has no such powers; their companies still link.
	logIn(t, ctx, ts, "rita@example.com")
	waitFor(t, ctx, `[data-testid="my-companies"] a[href="/companies/`+plumbing+`"]`)
	if n := stepValue(t, ctx, "count powers", chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="manager-powers"]').length`)); n != 0 {
		t.Error("a Reporting user is told of a Manager's powers")
	}
	shotWidths(t, ctx, "home-reporting")
	logOut(t, ctx)
	logIn(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/")
	shotWidths(t, ctx, "home-admin")
	visit(t, ctx, ts, "/switch-company")
	shotWidths(t, ctx, "switch-company")
}
