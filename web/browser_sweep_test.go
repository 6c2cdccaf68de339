package web

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/models"
)

// TestBrowser_EveryPageAtThreeWidths opens the console's pages as each type
// of user who can reach them, and the pages of someone logged out, at 1280,
// 1024 and 390 pixels: none scrolls sideways, the small pages are a centred
// column no wider than 36rem, and (with SWITCHBOARD_SCREENSHOTS) each is
// photographed whole. The HTML and accessibility checkers read them all.
func TestBrowser_EveryPageAtThreeWidths(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	ts.addCompany("Acme Roofing")
	max := ts.addPerson(person{typ: models.Manager, first: "Max", email: "max@example.com", companies: []string{plumbing}})
	rita := ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{plumbing}})
	ts.addPerson(person{typ: models.Notification, first: "Nora", email: "nora@example.com", companies: []string{plumbing}})
	ts.addPerson(person{typ: models.Reporting, first: "Ivan", email: "ivan@example.com", status: models.MemberInvited, companies: []string{plumbing}})
	secret, err := ts.store.IssueSetupLink(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	widths := []int64{1280, 1024, 390}
	sweep := func(who string, pages map[string]string) {
		t.Helper()
		for _, width := range widths {
			step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
			for name, path := range pages {
				resp := visit(t, ctx, ts, path)
				if resp.Status >= 500 {
					t.Errorf("%s %s: status %d", who, path, resp.Status)
				}
				if stepValue(t, ctx, "measure "+name, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`)) {
					t.Errorf("%s: %s at %dpx scrolls sideways", who, path, width)
				}
				small := stepValue(t, ctx, "small page", chromedp.Evaluate[float64](`(() => { const m = document.querySelector("main.main-small"); if (!m) return -1;
  const r = m.getBoundingClientRect(); return Math.abs((r.left) - (document.documentElement.clientWidth - r.right)) + (r.width > 36 * 16 + 1 ? 1000 : 0); })()`))
				if small > 2 {
					t.Errorf("%s: %s at %dpx is not a centred column of at most 36rem (off by %.0f)", who, path, width, small)
				}
				screenshotFull(t, ctx, fmt.Sprintf("page-%s-%s-%d", who, name, width))
			}
		}
		step(t, ctx, "resize", chromedp.EmulateViewport(1280, 900))
	}

	sweep("anonymous", map[string]string{
		"login":    "/login",
		"forgot":   "/password/forgot",
		"setup":    "/setup/" + secret,
		"expired":  "/setup/not-a-link",
		"notfound": "/login/nothing-here",
	})

	browserLogin(t, ctx, ts, "ada@example.com")
	sweep("admin", map[string]string{
		"home":        "/",
		"users":       "/users",
		"wizard":      "/users/new",
		"edit-user":   userPath(rita.ID, ""),
		"edit-invite": userPath(max.ID, ""),
		"delete":      userPath(rita.ID, "/delete"),
		"disable":     userPath(rita.ID, "/disable"),
		"demote":      userPath(max.ID, "/demote?to=reporting"),
		"promote":     userPath(rita.ID, "/promote?to=manager"),
		"remove":      userPath(rita.ID, "/companies/remove?company="+plumbing),
		"companies":   "/companies",
		"company":     "/companies/" + plumbing,
		"people":      "/companies/" + plumbing + "/users",
		"disable-co":  "/companies/" + plumbing + "/disable",
		"new-company": "/companies/new",
		"account":     "/account",
		"password":    "/account/password",
		"leave":       "/account/leave",
		"requests":    "/access-requests",
		"incoming":    "/access-requests/incoming",
		"audit":       "/audit",
		"numbers":     "/companies/" + plumbing + "/numbers",
		"calls":       "/calls",
		"switch-co":   "/switch-company",
		"forbidden":   "/users/999999",
	})
	browserLogout(t, ctx, ts)

	browserLogin(t, ctx, ts, "max@example.com")
	sweep("manager", map[string]string{
		"home":      "/",
		"users":     "/users",
		"companies": "/companies",
		"people":    "/companies/" + plumbing + "/users",
		"remove":    fmt.Sprintf("/companies/%s/users/%d/remove", plumbing, rita.ID),
		"numbers":   "/companies/" + plumbing + "/numbers",
		"account":   "/account",
	})
	browserLogout(t, ctx, ts)

	browserLogin(t, ctx, ts, "rita@example.com")
	sweep("reporting", map[string]string{
		"home":      "/",
		"companies": "/companies",
		"calls":     "/calls",
		"account":   "/account",
		"forbidden": "/users/new",
	})
	if resp := visit(t, ctx, ts, "/users/new"); resp.Status != http.StatusForbidden && resp.Status != http.StatusNotFound {
		t.Errorf("Rita's /users/new: status %d", resp.Status)
	}
}
