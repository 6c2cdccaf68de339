package models_test

import (
	"strings"
	"testing"

	"switchboard/models"
)

// TestCanSetNotifications_Table pins CallRail's rules: actor type × whose
// (themselves, or another person of each type) × the company in or out of
// the actor's scope × one company or all of theirs, plus a person outside
// the actor's scope. 200 = allowed, 403 = seen but not theirs to set,
// 404 = outside scope.
func TestCanSetNotifications_Table(t *testing.T) {
	type key struct {
		actor  models.UserType
		target string // "self" or a type
		scope  string // "in", "out" (company outside the actor's scope), "all"
	}
	want := map[key]int{}
	for _, a := range models.UserTypes {
		for _, target := range []string{"self", "admin", "manager", "reporting", "notification"} {
			for _, scope := range []string{"in", "out", "all"} {
				want[key{a, target, scope}] = 403
				if scope == "out" {
					want[key{a, target, scope}] = 404
				}
			}
		}
	}
	allow := func(a models.UserType, target string, scopes ...string) {
		for _, s := range scopes {
			want[key{a, target, s}] = 200
		}
	}
	// Admins: anyone, any company or all companies.
	for _, target := range []string{"self", "admin", "manager", "reporting", "notification"} {
		allow(models.Admin, target, "in", "all")
	}
	// Managers: themselves (a company of theirs, or all theirs), and the
	// non-Admin people of a company they manage, one company at a time.
	allow(models.Manager, "self", "in", "all")
	allow(models.Manager, "manager", "in")
	allow(models.Manager, "reporting", "in")
	allow(models.Manager, "notification", "in")
	// Reporting users: only their own.
	allow(models.Reporting, "self", "in", "all")
	// Notification users: nothing (they have no login).

	for k, code := range want {
		if k.actor == models.Notification && k.target == "self" {
			continue // a Notification user never asks: see below
		}
		in := models.NotifySetting{ActorType: k.actor, Self: k.target == "self", TargetInScope: true, TargetName: "Rita",
			AllCompanies: k.scope == "all", CompanyInScope: k.scope == "in", CompanyName: "Acme"}
		in.TargetType = k.actor
		if !in.Self {
			in.TargetType = models.UserType(k.target)
		}
		if got := decisionCode(models.CanSetNotifications(in)); got != code {
			t.Errorf("%s setting %s's notifications (%s): %d, want %d", k.actor, k.target, k.scope, got, code)
		}
	}
	// Whoever asks, a person outside their scope is 404, for one company or all.
	for _, a := range models.UserTypes {
		for _, all := range []bool{false, true} {
			in := models.NotifySetting{ActorType: a, TargetType: models.Reporting, TargetInScope: false, AllCompanies: all, CompanyInScope: true}
			if got := decisionCode(models.CanSetNotifications(in)); got != 404 {
				t.Errorf("%s, person outside scope (all=%v): %d, want 404", a, all, got)
			}
		}
	}
	// A Notification user is refused even for their own.
	if got := decisionCode(models.CanSetNotifications(models.NotifySetting{ActorType: models.Notification, Self: true,
		TargetType: models.Notification, TargetInScope: true, CompanyInScope: true})); got != 403 {
		t.Errorf("Notification user setting their own: %d, want 403", got)
	}
}

func decisionCode(d models.NotifyDecision) int {
	switch {
	case d.Allowed && d.Err == nil && d.Because != "":
		return 200
	case !d.Allowed && d.Err != nil && d.Err.Code == models.Forbidden && d.Err.Message != "":
		return 403
	case !d.Allowed && d.Err != nil && d.Err.Code == models.NotFound:
		return 404
	}
	return -1
}

// The reasons name what makes the difference, for the page's "You can
// change this because…" and "You cannot change this: …".
func TestCanSetNotifications_SaysWhy(t *testing.T) {
	for _, c := range []struct {
		in   models.NotifySetting
		want string
	}{
		{models.NotifySetting{ActorType: models.Manager, TargetType: models.Reporting, TargetName: "Rita", TargetInScope: true, CompanyInScope: true, CompanyName: "Acme"}, "You manage Acme, and Rita sees it"},
		{models.NotifySetting{ActorType: models.Manager, TargetType: models.Reporting, TargetName: "Rita", TargetInScope: true, AllCompanies: true}, "reaches companies you may not manage"},
		{models.NotifySetting{ActorType: models.Manager, TargetType: models.Admin, TargetName: "Ada", TargetInScope: true, CompanyInScope: true, CompanyName: "Acme"}, "Ada is an Admin"},
		{models.NotifySetting{ActorType: models.Reporting, TargetType: models.Notification, TargetName: "Nora", TargetInScope: true, CompanyInScope: true}, "Reporting users set only their own"},
		{models.NotifySetting{ActorType: models.Admin, TargetType: models.Notification, TargetInScope: true, AllCompanies: true}, "You are an Admin"},
		{models.NotifySetting{ActorType: models.Reporting, Self: true, TargetType: models.Reporting, TargetInScope: true, CompanyInScope: true, CompanyName: "Acme"}, "your own notifications"},
	} {
		d := models.CanSetNotifications(c.in)
		text := d.Because
		if d.Err != nil {
			text = d.Err.Message
		}
		if !contains(text, c.want) {
			t.Errorf("%+v: %q, want it to say %q", c.in, text, c.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
