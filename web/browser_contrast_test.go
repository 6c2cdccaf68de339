package web

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"switchboard/models"
)

// contrastJS holds the WCAG contrast arithmetic and finds the colour behind
// an element: its nearest ancestor with an (almost) opaque background.
const contrastJS = `
const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
  const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
const lum = ({r, g, b}) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
const behind = el => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; }
  return {r: 255, g: 255, b: 255, a: 1}; };
const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + (el.textContent || el.value || "").trim().replace(/\s+/g, " ").slice(0, 40);
`

// nonTextProblem is one control whose boundary or focus ring is too faint.
type nonTextProblem struct {
	What  string  `json:"what"`
	Ratio float64 `json:"ratio"`
}

// TestBrowser_NonTextContrast: the focus ring of everything the keyboard
// reaches, and the border of every text field and select, stand out 3:1
// from what is around them (WCAG 1.4.11), on the pages of each kind of
// control: login, the users list, the wizard, Edit User, companies and
// account settings, at 1280 and 390 pixels.
func TestBrowser_NonTextContrast(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	rita := ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{plumbing}})

	check := func(path string, width int64) {
		t.Helper()
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		visit(t, ctx, ts, path)
		borders := stepValue(t, ctx, "field borders", chromedp.Evaluate[[]nonTextProblem](`(() => {`+contrastJS+`
  return [...document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea")]
    .filter(e => e.checkVisibility())
    .map(e => ({what: name(e), ratio: ratio(parse(getComputedStyle(e).borderTopColor), behind(e.parentElement))}))
    .filter(p => p.ratio < 3);
})()`))
		for _, p := range borders {
			t.Errorf("%s at %dpx: the border of %s is %.2f:1 against its background", path, width, p.What, p.Ratio)
		}
		// Tab through the page and look at each focus ring.
		stepValue(t, ctx, "start from the top", chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`))
		seen := 0
		for range 40 {
			step(t, ctx, "tab", chromedp.KeyEvent("\t"))
			p := stepValue(t, ctx, "focus ring", chromedp.Evaluate[nonTextProblem](`(() => {`+contrastJS+`
  const e = document.activeElement;
  if (!e || e === document.body) return {what: "", ratio: 99};
  const s = getComputedStyle(e);
  if (s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 2) return {what: name(e) + " (no ring)", ratio: 0};
  return {what: name(e), ratio: ratio(parse(s.outlineColor), behind(e.parentElement))};
})()`))
			if p.What == "" {
				continue
			}
			seen++
			if p.Ratio < 3 {
				t.Errorf("%s at %dpx: the focus ring of %s is %.2f:1 against its background", path, width, p.What, p.Ratio)
			}
		}
		if seen == 0 {
			t.Errorf("%s at %dpx: Tab reached nothing", path, width)
		}
	}
	check("/login", 1280)
	browserLogin(t, ctx, ts, "ada@example.com")
	for _, path := range []string{"/users", "/users/new", userPath(rita.ID, ""), "/companies", "/account"} {
		check(path, 1280)
	}
	check("/users", 390)
	check(fmt.Sprintf("/companies/%s/users", plumbing), 390)
}
