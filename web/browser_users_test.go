package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_SelectAllMatchingAddToCompany: an Admin searches the list,
// chooses everyone matching, adds them to a company, follows the job and
// sees them in the list filtered by that company. Then the list at 1280
// (one line a row, fixed columns) and at 390 px (a compact list).
func TestBrowser_SelectAllMatchingAddToCompany(t *testing.T) {
	ctx := newChrome(t)
	tn := newTenants(t)
	ts := tn.ts
	listPeople(t, ts, 30)

	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", "ada@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	visit(t, ctx, ts, "/users?size=25")
	// With script, the header box ticks the page.
	click(t, ctx, `input[data-select-all]`)
	ticked := stepValue(t, ctx, "count ticked", chromedp.Evaluate[int](`document.querySelectorAll("input[data-bulk-id]:checked").length`))
	if ticked != 25 {
		t.Errorf("the header box ticked %d rows, want 25", ticked)
	}
	// "Everyone on this page" sends the page's IDs: fields of the bulk
	// form (form=) that sit in the rows.
	click(t, ctx, `[data-testid="scope-page"]`)
	step(t, ctx, "choose action", chromedp.SetValue(chromedp.ID("bulk-action"), "add-company"))
	submit(t, ctx, `[data-testid="bulk-continue"]`)
	if got := textOf(t, ctx, "h1"); got != "Add to a company: 25 people" {
		t.Fatalf("confirmation for everyone on the page: %q", got)
	}
	visit(t, ctx, ts, "/users?size=25")
	fill(t, ctx, "q", "acmecalls")
	submit(t, ctx, `form.filters button[type="submit"]`)
	if got := textOf(t, ctx, `[data-testid="user-count"]`); got != "8 people match these filters" {
		t.Fatalf("searching acmecalls: %q", got)
	}
	click(t, ctx, `[data-testid="scope-all"]`)
	step(t, ctx, "choose action", chromedp.SetValue(chromedp.ID("bulk-action"), "add-company"))
	submit(t, ctx, `[data-testid="bulk-continue"]`)
	if got := textOf(t, ctx, "h1"); got != "Add to a company: 8 people" {
		t.Fatalf("confirmation: %q", got)
	}
	step(t, ctx, "choose company", chromedp.SetValue(chromedp.ID("bulk-target"), fmt.Sprint(tn.other)))
	screenshot(t, ctx, "bulk-confirm")
	submit(t, ctx, `[data-testid="bulk-start"]`)
	waitFor(t, ctx, `[data-testid="bulk-summary"]`)
	ts.runJobs()
	visit(t, ctx, ts, currentPath(t, ctx, ts))
	if got := textOf(t, ctx, `[data-testid="bulk-summary"]`); got != "8 added" {
		t.Errorf("summary %q", got)
	}
	screenshot(t, ctx, "bulk-done")
	submit(t, ctx, `a[href="/users"]`)
	visit(t, ctx, ts, fmt.Sprintf("/users?q=acmecalls&company=%d", tn.other))
	if got := textOf(t, ctx, `[data-testid="user-count"]`); got != "8 people match these filters" {
		t.Errorf("the list of the company: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="admins-note"]`); !strings.Contains(got, "Admins see every company") {
		t.Errorf("admins note %q", got)
	}

	// The company picker (for accounts with many companies) filters as
	// one types.
	visit(t, ctx, ts, "/users/company")
	step(t, ctx, "type in the picker", chromedp.SendKeys(chromedp.ID("f-find"), "roof"))
	shown := stepValue(t, ctx, "count shown", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("[data-company-option]")).filter(e => !e.hidden).length`))
	if shown != 1 {
		t.Errorf("typing “roof” leaves %d companies shown, want 1", shown)
	}
	submit(t, ctx, `[data-company-option]:not([hidden]) a`)
	if got := textOf(t, ctx, `[data-testid="admins-note"]`); !strings.Contains(got, "Other Roofing included") {
		t.Errorf("after picking: %q", got)
	}

	// At 1280 every row is one line of name over email; at 390 a compact
	// list, no sideways scroll, rows at most 96 px, tap targets 44 px.
	visit(t, ctx, ts, "/users?size=50")
	for _, width := range []int64{1280, 1024, 390} {
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		sideways := stepValue(t, ctx, "measure", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`))
		if sideways {
			t.Errorf("the users list at %dpx scrolls sideways", width)
		}
		tallest := stepValue(t, ctx, "rows", chromedp.Evaluate[float64](`Math.max(...Array.from(document.querySelectorAll("tr[data-testid=user-row]")).map(r => r.getBoundingClientRect().height))`))
		limit := 96.0
		if width >= 1024 {
			limit = 72 // a name over an email: two short lines, never five
		}
		if tallest > limit {
			t.Errorf("at %dpx the tallest row is %.0f px, want at most %.0f", width, tallest, limit)
		}
		broken := stepValue(t, ctx, "emails", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("td.person .email")).filter(e => e.getClientRects().length > 1 || e.getBoundingClientRect().height > 30).length`))
		if broken > 0 {
			t.Errorf("at %dpx %d addresses wrap", width, broken)
		}
		// Every cell shown lies inside its row and beside, never over,
		// the others (a row capped at 96 px whose cells spill out passes
		// the height check above).
		crowded := stepValue(t, ctx, "cells", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("tr[data-testid=user-row]")).filter(tr => {
			const row = tr.getBoundingClientRect();
			const cells = Array.from(tr.children).map(td => td.getBoundingClientRect()).filter(r => r.width > 0 && r.height > 0);
			const outside = cells.some(r => r.top < row.top - 1 || r.bottom > row.bottom + 1 || r.left < row.left - 1 || r.right > row.right + 1);
			const overlap = cells.some((a, i) => cells.some((b, j) => j > i && a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1));
			return outside || overlap;
		}).length`))
		if crowded > 0 {
			t.Errorf("at %dpx %d rows have cells outside the row or over each other", width, crowded)
		}
		if width == 390 {
			small := stepValue(t, ctx, "targets", chromedp.Evaluate[int](`Array.from(document.querySelectorAll("tr[data-testid=user-row] a, tr[data-testid=user-row] button, tr[data-testid=user-row] td.select label")).filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.height < 44 || r.width < 44) }).length`))
			if small > 0 {
				t.Errorf("at 390px %d tap targets are smaller than 44 px", small)
			}
		}
		screenshot(t, ctx, fmt.Sprintf("users-%d", width))
	}
}
