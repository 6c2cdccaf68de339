package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/models"
)

// Long names, as people really name agencies and their clients.
const (
	longAccount  = "Northwind Regional Plumbing & Heating Holdings of the Tri-County Area"
	longCompany  = "Featherstonehaugh Emergency Drain & Sewer Services (North Shore Branch)"
	longCompany2 = "Abercrombie-Kilpatrick Residential Heating and Cooling Specialists"
	longFirst    = "Maximiliana"
	longLast     = "Alexandrovna-Featherstonehaugh"
	otherAccount = "Southern Coastal Call Tracking Partners International"
)

// longNamesAccount is an Admin with long names in an account with a long
// name, two companies and a second account, logged in to the browser.
type longNamesAccount struct {
	ts        *testServer
	admin     *models.Viewer
	companies []uint
}

func newLongNamesAccount(t *testing.T, ctx context.Context) *longNamesAccount {
	t.Helper()
	ts := newTestServer(t)
	bg := context.Background()
	secret, err := ts.store.IssueSetupLink(bg)
	if err != nil {
		t.Fatal(err)
	}
	b := ts.browser()
	b.get("/setup/" + secret)
	p := b.post("/setup/"+secret, url.Values{"account_name": {longAccount}, "company_name": {longCompany}, "time_zone": {"America/Chicago"},
		"first_name": {longFirst}, "last_name": {longLast}, "email": {"max@example.com"}, "password": {strongPassword}, "confirm": {strongPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	x := &longNamesAccount{ts: ts, admin: ts.viewerFor("max@example.com", longAccount)}
	var first, second uint
	fmt.Sscan(ts.companyID(longCompany), &first)
	fmt.Sscan(ts.addCompany(longCompany2), &second)
	x.companies = []uint{first, second}

	// A second account, which the Admin joins through an access request.
	other, err := ts.store.Bootstrap(bg, models.AccountInput{AccountName: otherAccount, Email: "sam@example.com", FirstName: "Sam", LastName: "South"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AcceptInvitation(bg, other, strongPassword, strongPassword, ""); err != nil {
		t.Fatal(err)
	}
	sam := ts.viewerFor("sam@example.com", otherAccount)
	if err := ts.store.DB().Take(&x.admin.Login, *x.admin.Membership.LoginID).Error; err != nil {
		t.Fatal(err)
	}
	req, err := ts.store.RequestAccess(bg, x.admin, models.AccessRequestInput{Number: sam.Account.Number}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.GrantAccess(bg, sam, req.ID, models.GrantInput{Type: models.Admin}, ""); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, ctx, ts, "max@example.com")
	return x
}

// headerBox is where the header's parts sit on the page.
type headerBox struct {
	Height  float64 `json:"height"`
	Rows    int     `json:"rows"`
	Visible []struct {
		Text      string  `json:"text"`
		Top       float64 `json:"top"`
		Truncated bool    `json:"truncated"`
		Title     string  `json:"title"`
	} `json:"visible"`
	Sideways bool `json:"sideways"`
}

// measureHeader reads the header's height, how many rows its visible
// parts take, and which names are cut (and whether they carry a title).
const measureHeader = `(() => {
  const header = document.querySelector("header.topbar");
  const parts = [...header.querySelectorAll(".brand, [data-header-part], .nav a, .navmenu > summary")]
    .filter(e => e.checkVisibility());
  const tops = new Set();
  const visible = parts.map(e => {
    const r = e.getBoundingClientRect();
    tops.add(Math.round(r.top + r.height / 2));
    const cut = [e, ...e.querySelectorAll("*")].some(n => n.scrollWidth > n.clientWidth + 1 && getComputedStyle(n).textOverflow === "ellipsis");
    const titled = e.closest("[title]") || e.querySelector("[title]");
    return {text: e.textContent.trim().replace(/\s+/g, " "), top: r.top, truncated: cut, title: titled ? titled.getAttribute("title") : ""};
  });
  // Parts whose middles are within 8px share a row.
  const rows = [...tops].sort((a, b) => a - b).filter((t, i, all) => i === 0 || t - all[i - 1] > 8).length;
  return {height: header.getBoundingClientRect().height, rows, visible,
    sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1};
})()`

// TestBrowser_HeaderOnOneLine is the header of an Admin with long names,
// two companies and two accounts: on one line at 1280 and 1024 pixels, its
// long names cut with their full text in a title; on a phone a menu that is
// at most 64 pixels tall closed, opens from the keyboard, and works without
// JavaScript.
func TestBrowser_HeaderOnOneLine(t *testing.T) {
	ctx := newChrome(t)
	x := newLongNamesAccount(t, ctx)
	ts := x.ts

	for _, width := range []int64{1280, 1024} {
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		visit(t, ctx, ts, "/users")
		screenshot(t, ctx, fmt.Sprintf("header-%d", width))
		h := stepValue(t, ctx, "measure the header", chromedp.Evaluate[headerBox](measureHeader))
		if h.Rows != 1 || h.Height > 64 {
			t.Errorf("at %dpx the header takes %d rows, %.0fpx: %+v", width, h.Rows, h.Height, h.Visible)
		}
		if h.Sideways {
			t.Errorf("at %dpx the page scrolls sideways", width)
		}
		// The mark is a drawing that loaded, not an emoji.
		logo := stepValue(t, ctx, "the logo", chromedp.Evaluate[string](`(() => { const i = document.querySelector("header img.brand-mark");
  return (i && i.complete && i.naturalWidth > 0 ? new URL(i.src).pathname : "none") + (document.querySelector("header").textContent.includes("\u260e") ? " and an emoji" : ""); })()`))
		if logo != "/static/logo.svg" {
			t.Errorf("at %dpx the header's mark is %s, want /static/logo.svg loaded", width, logo)
		}
		var sawAccount bool
		for _, part := range h.Visible {
			if part.Truncated && part.Title == "" {
				t.Errorf("at %dpx %q is cut without a title", width, part.Text)
			}
			if strings.Contains(part.Title, longAccount) {
				sawAccount = true
			}
		}
		if !sawAccount {
			t.Errorf("at %dpx the account's full name is not in a title: %+v", width, h.Visible)
		}
		for _, label := range []string{"Home", "Users", "Companies", "Calls", "Account", "Audit log", "Log out"} {
			if n := stepValue(t, ctx, "find "+label, chromedp.Evaluate[int](`[...document.querySelectorAll("header a, header button")].filter(e => e.checkVisibility() && e.textContent.trim() === `+jsString(label)+`).length`)); n != 1 {
				t.Errorf("at %dpx the header shows %d %q", width, n, label)
			}
		}
	}

	// A phone: a compact bar with a menu.
	step(t, ctx, "resize", chromedp.EmulateViewport(390, 844))
	visit(t, ctx, ts, "/users")
	screenshot(t, ctx, "header-390-closed")
	h := stepValue(t, ctx, "measure the header", chromedp.Evaluate[headerBox](measureHeader))
	if h.Height > 64 || h.Sideways {
		t.Errorf("at 390px the closed header is %.0fpx tall (sideways: %v)", h.Height, h.Sideways)
	}
	if visibleCount(t, ctx, "header nav a") != 0 {
		t.Errorf("at 390px the closed menu shows its links")
	}
	// The keyboard opens it: Tab to the menu's button, Enter, then Tab
	// reaches the links.
	step(t, ctx, "focus the menu", chromedp.Focus(chromedp.CSS(`.navmenu > summary`)))
	step(t, ctx, "open the menu", chromedp.KeyEvent("\r"))
	waitFor(t, ctx, `header nav a[href="/companies"]`)
	screenshot(t, ctx, "header-390-open")
	step(t, ctx, "tab", chromedp.KeyEvent("\t"))
	if got := stepValue(t, ctx, "focused", chromedp.Evaluate[string](`document.activeElement.closest("header") ? document.activeElement.textContent.trim() : ""`)); got == "" {
		t.Errorf("Tab from the open menu left the header")
	}
	submit(t, ctx, `header nav a[href="/companies"]`)
	if p := currentPath(t, ctx, ts); p != "/companies" {
		t.Errorf("the menu's Companies link led to %s", p)
	}

	// Without JavaScript the menu opens all the same (it is a <details>).
	turnOffScripts(t, ctx)
	visit(t, ctx, ts, "/users")
	click(t, ctx, `.navmenu > summary`)
	waitFor(t, ctx, `header form[action="/logout"] button`)
	submit(t, ctx, `header form[action="/logout"] button`)
	wantLoginPage(t, ctx, ts, "/login")
}

// TestBrowser_MatrixOnAPhone is the permission matrix of the wizard's type
// step and of the grant-access page at 390 pixels: a table whose column
// headers stay visible, whose first column stays put while it scrolls
// sideways, and whose caption reads as a line.
func TestBrowser_MatrixOnAPhone(t *testing.T) {
	ctx := newChrome(t)
	x := newLongNamesAccount(t, ctx)
	ts := x.ts
	step(t, ctx, "resize", chromedp.EmulateViewport(390, 844))
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-reporting"]`)
	screenshotFull(t, ctx, "wizard-type-390")
	checkMatrix(t, ctx, "wizard type step")
	stepValue(t, ctx, "scroll the matrix", chromedp.Evaluate[bool](`(document.querySelector(".matrix-wrap").scrollLeft = 400, true)`))
	screenshotFull(t, ctx, "wizard-type-390-scrolled")
	if got := stepValue(t, ctx, "first column after scrolling", chromedp.Evaluate[float64](`document.querySelector(".matrix tbody th").getBoundingClientRect().left - document.querySelector(".matrix-wrap").getBoundingClientRect().left`)); got < -1 || got > 2 {
		t.Errorf("after scrolling sideways the capability column moved by %.0fpx", got)
	}
	step(t, ctx, "resize", chromedp.EmulateViewport(1280, 900))
	screenshotFull(t, ctx, "wizard-type-1280")
	checkMatrix(t, ctx, "wizard type step at 1280px")
	step(t, ctx, "resize", chromedp.EmulateViewport(1024, 900))
	screenshotFull(t, ctx, "wizard-type-1024")

	// The grant-access page shows the same matrix: Sam, of the other
	// account, asks to join this one.
	sam := ts.viewerFor("sam@example.com", otherAccount)
	if err := ts.store.DB().Take(&sam.Login, *sam.Membership.LoginID).Error; err != nil {
		t.Fatal(err)
	}
	req, err := ts.store.RequestAccess(context.Background(), sam, models.AccessRequestInput{Number: x.admin.Account.Number}, "")
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "resize", chromedp.EmulateViewport(390, 844))
	visit(t, ctx, ts, fmt.Sprintf("/access-requests/%d/grant", req.ID))
	screenshotFull(t, ctx, "grant-390")
	checkMatrix(t, ctx, "grant-access page")
}

// checkMatrix checks the matrix at the viewport's width.
func checkMatrix(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	type matrixBox struct {
		HeadersShown  int     `json:"headersShown"`
		CaptionHeight float64 `json:"captionHeight"`
		LineHeight    float64 `json:"lineHeight"`
		Sideways      bool    `json:"sideways"`
		Sticky        string  `json:"sticky"`
		WrapFocusable bool    `json:"wrapFocusable"`
		// LastRowBorders are the bottom borders of the last row's cells.
		LastRowBorders []string `json:"lastRowBorders"`
	}
	m := stepValue(t, ctx, "measure the matrix", chromedp.Evaluate[matrixBox](`(() => {
  const t = document.querySelector("table.matrix"), c = t.querySelector("caption");
  return {
    headersShown: [...t.querySelectorAll("thead th")].filter(e => e.checkVisibility() && e.getBoundingClientRect().height > 0).length,
    captionHeight: c.getBoundingClientRect().height,
    lineHeight: parseFloat(getComputedStyle(c).lineHeight),
    sideways: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
    sticky: getComputedStyle(t.querySelector("tbody th")).position,
    wrapFocusable: t.closest(".matrix-wrap").tabIndex === 0,
    lastRowBorders: [...t.querySelectorAll("tbody tr:last-child > *")].map(e => { const s = getComputedStyle(e); return s.borderBottomWidth + " " + s.borderBottomStyle; }),
  };
})()`))
	if m.HeadersShown != 5 {
		t.Errorf("%s: %d of 5 column headers shown", where, m.HeadersShown)
	}
	if m.CaptionHeight > 2.5*m.LineHeight {
		t.Errorf("%s: the caption is %.0fpx tall (a line is %.0fpx)", where, m.CaptionHeight, m.LineHeight)
	}
	if m.Sideways {
		t.Errorf("%s: the page scrolls sideways", where)
	}
	if m.Sticky != "sticky" {
		t.Errorf("%s: the capability column is %s, not sticky", where, m.Sticky)
	}
	if !m.WrapFocusable {
		t.Errorf("%s: the scrolling matrix cannot be reached with the keyboard", where)
	}
	// The line under the last row runs under every cell or none.
	for _, b := range m.LastRowBorders {
		if len(m.LastRowBorders) != 5 || b != m.LastRowBorders[0] {
			t.Errorf("%s: the last row's cells end with different borders: %q", where, m.LastRowBorders)
			break
		}
	}
}

func visibleCount(t *testing.T, ctx context.Context, selector string) int {
	t.Helper()
	return stepValue(t, ctx, "count "+selector, chromedp.Evaluate[int](`[...document.querySelectorAll(`+jsString(selector)+`)].filter(e => e.checkVisibility()).length`))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
