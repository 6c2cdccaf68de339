package web

import (
	"fmt"
	"strings"
	"testing"

	"switchboard/models"
)

// TestBrowser_RequestAccessJourney carries journey 6: a Reporting user of
// account A requests access to account B; B's Admin grants it as Manager of
// one company; the person switches to B and sees that company.
func TestBrowser_RequestAccessJourney(t *testing.T) {
	ctx := newChrome(t)
	x := newThreeAccounts(t)
	ts := x.ts

	login := func(email string) {
		t.Helper()
		visit(t, ctx, ts, "/login")
		fill(t, ctx, "email", email)
		fill(t, ctx, "password", strongPassword)
		submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	}
	logout := func() {
		t.Helper()
		submit(t, ctx, `header form[action="/logout"] button`)
	}

	login("rita@example.com")
	visit(t, ctx, ts, "/account")
	submit(t, ctx, `[data-testid="request-access-link"]`)
	fill(t, ctx, "number", x.b.Account.Number)
	submit(t, ctx, `form[action="/access-requests"] .button-primary`)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "Your request was sent") {
		t.Errorf("flash = %q", got)
	}
	logout()

	login("bea@example.com")
	visit(t, ctx, ts, "/access-requests/incoming")
	submit(t, ctx, `[data-testid="incoming"] li[data-email="rita@example.com"] [data-testid="grant"]`)
	click(t, ctx, `[data-testid="type-manager"]`)
	tick(t, ctx, `input[name="company"][value="`+ts.companyIDIn(x.b.Account.ID, "Beta Calls")+`"]`)
	screenshot(t, ctx, "grant")
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "now has access as a Manager user") {
		t.Errorf("flash = %q", got)
	}
	logout()

	if n := ts.outboxTo("rita@example.com", "access_granted"); n != 1 {
		t.Errorf("%d granted emails to Rita, want 1", n)
	}
	login("rita@example.com")
	submit(t, ctx, `[data-testid="switch-account"]`)
	submit(t, ctx, `[data-testid="accounts"] button`)
	if got := textOf(t, ctx, `[data-testid="account-name"]`); !strings.Contains(got, "Beta Calls") {
		t.Fatalf("after switching the header says %q", got)
	}
	visit(t, ctx, ts, "/companies")
	companies := textOf(t, ctx, `[data-testid="companies-table"]`)
	if !strings.Contains(companies, "Beta Calls") || strings.Contains(companies, "Beta Secret Branch") {
		t.Errorf("Rita's companies in B: %q", companies)
	}
	screenshot(t, ctx, "switched")
}

func (ts *testServer) companyIDIn(accountID uint, name string) string {
	ts.t.Helper()
	var c models.Company
	if err := ts.store.DB().Where("account_id = ? AND name = ?", accountID, name).Take(&c).Error; err != nil {
		ts.t.Fatalf("company %q in account %d: %v", name, accountID, err)
	}
	return fmt.Sprint(c.ID)
}
