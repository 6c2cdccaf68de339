package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowser_LockedOutWayForward carries the locked-out journey (issue
// 14.6) in Chromium: after many failed logins from one network, the page
// says when to try again in the browser's own time zone and leads to the
// password reset.
func TestBrowser_LockedOutWayForward(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	attacker := ts.browser() // the same address as the browser: 127.0.0.1
	attacker.get("/login")
	for i := range ts.store.ThrottlePolicy().LoginClient.Max {
		attacker.post("/login", url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprintf("wrong-%d-password", i)}})
	}
	step(t, ctx, "set the time zone", chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Chicago"})
		return err
	}))
	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", "ada@example.com")
	fill(t, ctx, "password", strongPassword)
	if resp := submit(t, ctx, `main form button[type="submit"]`); resp.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.Status)
	}
	screenshot(t, ctx, "locked-out")
	// The server's clock says 09:00 UTC: retry at 09:15 UTC is 3:15 in Chicago.
	if got := textOf(t, ctx, `[data-testid="retry-at"]`); !strings.Contains(got, "3:15") || !strings.Contains(got, "CST") {
		t.Errorf("the retry time reads %q, want it in Chicago time", got)
	}
	resp := submit(t, ctx, `a[href="/password/forgot"]`)
	if resp.Status != http.StatusOK || textOf(t, ctx, "h1") == "" || currentPath(t, ctx, ts) != "/password/forgot" {
		t.Fatalf("the reset link leads to %s (%d)", currentPath(t, ctx, ts), resp.Status)
	}
}
