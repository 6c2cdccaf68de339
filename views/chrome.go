// Package views holds the templ components of every page and email, and
// the small view-model structs they render.
package views

import (
	"context"
	"time"

	"switchboard/models"
)

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind    string // "success", "info" or "error"
	Message string
	// Undo is the address (POST) that takes the change back, offered in
	// the message as UndoLabel, such as "Re-enable Rita Reports".
	Undo, UndoLabel string
}

// Chrome is the cross-cutting data every page needs: who is signed in, the
// CSRF token for forms, and flashes. Handlers put it in the request context
// once; everything else reaches components as props.
type Chrome struct {
	CSRF    string
	Viewer  *models.Viewer
	Flashes []Flash
	// Section names the nav item to mark as current.
	Section string
	// Company is the company being worked in; SeveralCompanies offers the
	// switcher.
	Company          *models.Company
	SeveralCompanies bool
	// CompanyMatters: the company worked in changes something for this
	// viewer (the defaults of the wizard and of granting access, for
	// Admins), so the header shows it with its switcher.
	CompanyMatters bool
	// SeveralAccounts offers the account switcher.
	SeveralAccounts bool
	// Zone is the viewer's time zone (nil: UTC).
	Zone *time.Location
}

type chromeKey struct{}

// WithChrome stores the page chrome in a context.
func WithChrome(ctx context.Context, c Chrome) context.Context {
	return context.WithValue(ctx, chromeKey{}, c)
}

func chrome(ctx context.Context) Chrome {
	c, _ := ctx.Value(chromeKey{}).(Chrome)
	return c
}

func csrfToken(ctx context.Context) string { return chrome(ctx).CSRF }

func viewer(ctx context.Context) *models.Viewer { return chrome(ctx).Viewer }

// navItem is a link in the header; which ones show depends on the policy.
type navItem struct {
	Section, Label, Href string
}

func navItems(v *models.Viewer) []navItem {
	if v == nil {
		return nil
	}
	items := []navItem{{"home", "Home", "/"}}
	if models.CanViewUsers(v.Type()) {
		items = append(items, navItem{"users", "Users", "/users"})
	}
	items = append(items, navItem{"companies", "Companies", "/companies"})
	if models.Can(v.Type(), models.CapReviewCalls) {
		items = append(items, navItem{"calls", "Calls", "/calls"})
	}
	items = append(items, navItem{"account", "Account", "/account"})
	if models.CanViewAudit(v.Type()) {
		items = append(items, navItem{"audit", "Audit log", "/audit"})
	}
	return items
}
