package models_test

import (
	"context"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func TestSeedAccount_RealisticAndConsistent(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	var progress []int
	res, err := store.SeedAccount(ctx, models.SeedOptions{Members: 300, Companies: 60, Password: "seed-correct-staple-lamp",
		Progress: func(done, total int) { progress = append(progress, done) }})
	must(t, err)
	db := store.DB()
	var members []models.Membership
	must(t, db.Where("account_id = ?", res.Account.ID).Find(&members).Error)
	if len(members) != 300 || len(res.Companies) != 60 || progress[len(progress)-1] != 300 {
		t.Fatalf("%d members, %d companies, progress %v", len(members), len(res.Companies), progress)
	}
	kinds := map[string]int{}
	emails := map[string]bool{}
	for _, m := range members {
		kinds[string(m.Type)+"/"+string(m.Status)]++
		if emails[m.Email] {
			t.Errorf("%s twice", m.Email)
		}
		emails[m.Email] = true
		if _, err := models.CanonicalEmail(m.Email); err != nil {
			t.Errorf("%s is not a valid address: %v", m.Email, err)
		}
		var assigned, invitations int64
		db.Model(&models.Assignment{}).Where("membership_id = ?", m.ID).Count(&assigned)
		db.Model(&models.Token{}).Where("membership_id = ? AND purpose = ?", m.ID, models.PurposeInvitation).Count(&invitations)
		switch {
		case m.Type == models.Admin && assigned != 0, m.Type != models.Admin && (assigned < 1 || assigned > 5):
			t.Errorf("%s (%s) has %d companies", m.Email, m.Type, assigned)
		case (m.Status == models.MemberInvited) != (invitations == 1):
			t.Errorf("%s (%s) has %d invitations", m.Email, m.Status, invitations)
		case (m.LoginID != nil) != (m.Type.CanLogIn() && m.Status != models.MemberInvited):
			t.Errorf("%s (%s, %s): login %v", m.Email, m.Type, m.Status, m.LoginID)
		case m.Status == models.MemberInvited && !m.Type.CanLogIn():
			t.Errorf("%s: a Notification user is never invited", m.Email)
		}
	}
	for _, k := range []string{"admin/active", "manager/active", "manager/invited", "manager/disabled", "reporting/active",
		"reporting/invited", "reporting/disabled", "notification/active", "notification/disabled"} {
		if kinds[k] == 0 {
			t.Errorf("no %s people: %v", k, kinds)
		}
	}
	listIndexesAgree(t, store)

	// The seeded Admin and the listed logins can sign in.
	for _, email := range append([]string{res.Admin.Email}, res.LoginEmails[:2]...) {
		if _, err := store.Authenticate(ctx, email, "seed-correct-staple-lamp", models.PasswordAttempt{}); err != nil {
			t.Errorf("log in as %s: %v", email, err)
		}
	}

	// A cursor at a position opens the page that follows it.
	admin := &models.Viewer{Membership: res.Admin, Account: res.Account}
	cur, err := store.CursorAt(ctx, res.Account.ID, models.SortByName, 250)
	must(t, err)
	deep, err := store.FindUsers(ctx, admin, models.UserFilter{After: cur})
	must(t, err)
	all, err := store.FindUsers(ctx, admin, models.UserFilter{Limit: 200})
	must(t, err)
	next, err := store.FindUsers(ctx, admin, models.UserFilter{Limit: 200, After: all.NextCursor})
	must(t, err)
	if len(deep.Rows) != 49 || deep.Rows[0].ID != next.Rows[51].ID {
		t.Errorf("deep page has %d rows starting at %s, want 49 from %s", len(deep.Rows), deep.Rows[0].Email, next.Rows[51].Email)
	}
}
