package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_FirstStart carries journey 1 and journey 2 in a real browser:
// the one-time setup link creates the account and logs the first Admin in;
// they log out from the header and log in again; the link is dead afterwards.
func TestBrowser_FirstStart(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	const email = "ada@example.com"

	secret, err := ts.store.IssueSetupLink(context.Background())
	if err != nil || secret == "" {
		t.Fatalf("issue setup link: %q %v", secret, err)
	}
	if resp := visit(t, ctx, ts, "/setup/"+secret); resp.Status != http.StatusOK {
		t.Fatalf("setup page: status %d", resp.Status)
	}
	if got := textOf(t, ctx, "h1"); got != "Set up Switchboard" {
		t.Fatalf("setup page h1 = %q", got)
	}
	// A short form in a centred column: no input wider than the column.
	for _, width := range []int64{1280, 1024, 390} {
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		screenshotFull(t, ctx, fmt.Sprintf("first-start-setup-%d", width))
		widest := stepValue(t, ctx, "widest input", chromedp.Evaluate[float64](`Math.max(...[...document.querySelectorAll("main input, main select")].map(e => e.getBoundingClientRect().width))`))
		if widest > 36*16 {
			t.Errorf("at %dpx the setup form has an input %.0fpx wide", width, widest)
		}
	}
	step(t, ctx, "resize", chromedp.EmulateViewport(chromeWidth, chromeHeight))
	fill(t, ctx, "account_name", "Acme Calls")
	fill(t, ctx, "company_name", "Acme Plumbing")
	choose(t, ctx, "time_zone", "America/Chicago")
	fill(t, ctx, "first_name", "Ada")
	fill(t, ctx, "last_name", "Admin")
	fill(t, ctx, "email", email)
	fill(t, ctx, "password", strongPassword)
	fill(t, ctx, "confirm", strongPassword)
	screenshot(t, ctx, "first-start-setup")
	resp := submit(t, ctx, `main form[method="post"] button[type="submit"]`)
	if resp.Status != http.StatusOK {
		t.Fatalf("after setup: status %d at %s", resp.Status, currentPath(t, ctx, ts))
	}
	wantUsersList(t, ctx, ts, email)
	if got := textOf(t, ctx, `[data-testid="account-name"]`); got != "Acme Calls" {
		t.Errorf("header account = %q, want Acme Calls", got)
	}
	screenshot(t, ctx, "first-start-users")

	// Log out from the header.
	resp = submit(t, ctx, `header form[action="/logout"] button`)
	if resp.Status != http.StatusOK {
		t.Fatalf("after log out: status %d", resp.Status)
	}
	wantLoginPage(t, ctx, ts, "/login")
	if got := textOf(t, ctx, `[role="status"]`); !strings.Contains(got, "logged out") {
		t.Errorf("after log out the page says %q", got)
	}

	// The users list is closed now: it leads to the login page.
	visit(t, ctx, ts, "/users")
	wantLoginPage(t, ctx, ts, "/login?next=%2Fusers")

	// Log in again with the password chosen at setup.
	fill(t, ctx, "email", email)
	fill(t, ctx, "password", strongPassword)
	resp = submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	if resp.Status != http.StatusOK {
		t.Fatalf("after log in: status %d at %s", resp.Status, currentPath(t, ctx, ts))
	}
	wantUsersList(t, ctx, ts, email)

	// The setup link worked once and is dead now.
	resp = visit(t, ctx, ts, "/setup/"+secret)
	if resp.Status != http.StatusGone {
		t.Errorf("used setup link: status %d, want %d", resp.Status, http.StatusGone)
	}
	if got := textOf(t, ctx, "h1"); !strings.Contains(got, "This setup link no longer works") {
		t.Errorf("used setup link h1 = %q", got)
	}
	if n := stepValue(t, ctx, "count password fields", chromedp.Evaluate[int](`document.querySelectorAll('input[type="password"]').length`)); n != 0 {
		t.Errorf("used setup link still shows a password field")
	}
}

// wantUsersList checks the tab shows the users list with a row for email.
func wantUsersList(t *testing.T, ctx context.Context, ts *testServer, email string) {
	t.Helper()
	waitFor(t, ctx, `[data-testid="user-row"]`)
	if p := currentPath(t, ctx, ts); p != "/users" {
		t.Errorf("path = %q, want /users", p)
	}
	if got := textOf(t, ctx, "h1"); got != "Users" {
		t.Errorf("h1 = %q, want Users", got)
	}
	if got := textOf(t, ctx, `[data-testid="user-row"][data-email="`+email+`"]`); !strings.Contains(got, email) || !strings.Contains(got, "Admin") {
		t.Errorf("row for %s = %q", email, got)
	}
}

// wantLoginPage checks the tab shows the login form at path.
func wantLoginPage(t *testing.T, ctx context.Context, ts *testServer, path string) {
	t.Helper()
	waitFor(t, ctx, `form[action^="/login"] #f-password`)
	if p := currentPath(t, ctx, ts); p != path {
		t.Errorf("path = %q, want %s", p, path)
	}
	if got := textOf(t, ctx, "h1"); got != "Log in" {
		t.Errorf("h1 = %q, want Log in", got)
	}
}
