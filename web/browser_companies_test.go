package web

import (
	"fmt"
	"strings"
	"testing"
)

// TestBrowser_CompaniesJourney carries journeys 9 and 10: an Admin creates a
// company and adds a person with the +; a Manager logs in and sees only
// their companies and their people.
func TestBrowser_CompaniesJourney(t *testing.T) {
	ctx := newChrome(t)
	tn := newTenants(t)
	ts := tn.ts

	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", "ada@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	visit(t, ctx, ts, "/companies")
	submit(t, ctx, `[data-testid="create-company"]`)
	fill(t, ctx, "name", "Coastal Dental")
	choose(t, ctx, "time_zone", "America/Los_Angeles")
	submit(t, ctx, `form .button-primary`)
	// Creating lands on Invite user for the new company.
	waitFor(t, ctx, `[data-testid="candidates"]`)
	if got := textOf(t, ctx, "h1"); got != "Users of Coastal Dental" {
		t.Fatalf("h1 = %q", got)
	}
	screenshot(t, ctx, "company-invite")
	submit(t, ctx, `[data-testid="candidates"] li[data-email="rita@example.com"] [data-testid="add"]`)
	if got := textOf(t, ctx, ".flash"); !strings.Contains(got, "Rita Test now has access to Coastal Dental") {
		t.Errorf("flash = %q", got)
	}
	visit(t, ctx, ts, fmt.Sprintf("/companies/%s/users", ts.companyID("Coastal Dental")))
	if got := textOf(t, ctx, `[data-testid="company-people"]`); !strings.Contains(got, "rita@example.com") || !strings.Contains(got, "All companies") {
		t.Errorf("people of Coastal Dental: %q", got)
	}
	// Remove asks first, in a dialog that names Rita and opens on Cancel.
	click(t, ctx, `[data-testid="company-person"][data-email="rita@example.com"] [data-testid="remove"]`)
	wantConfirmDialog(t, ctx, "Remove Rita Test from Coastal Dental?")
	submit(t, ctx, `dialog[open] [data-testid="confirm-remove"]`)
	if got := textOf(t, ctx, `[data-testid="company-people"]`); strings.Contains(got, "rita@example.com") {
		t.Errorf("Rita still listed after removal: %q", got)
	}
	submit(t, ctx, `header form[action="/logout"] button`)

	// The Manager sees their company and their people only.
	fill(t, ctx, "email", "max@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	// A Manager lands on the home page that says what they can do.
	waitFor(t, ctx, `[data-testid="manager-powers"]`)
	visit(t, ctx, ts, "/users")
	waitFor(t, ctx, `[data-testid="users-table"]`)
	users := textOf(t, ctx, `[data-testid="users-table"]`)
	if !strings.Contains(users, "rita@example.com") || strings.Contains(users, "olly@example.com") || strings.Contains(users, "finn@example.com") {
		t.Errorf("manager's users: %q", users)
	}
	screenshot(t, ctx, "manager-users")
	visit(t, ctx, ts, "/companies")
	companies := textOf(t, ctx, `[data-testid="companies-table"]`)
	if !strings.Contains(companies, "Acme Plumbing") || strings.Contains(companies, "Other Roofing") || strings.Contains(companies, "Coastal Dental") {
		t.Errorf("manager's companies: %q", companies)
	}
	resp := visit(t, ctx, ts, fmt.Sprintf("/companies/%d/users", tn.other))
	if resp.Status != 404 {
		t.Errorf("another company's page: status %d, want 404", resp.Status)
	}
}
