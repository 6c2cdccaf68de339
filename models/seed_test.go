package models_test

import (
	"context"
	"slices"
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

	if len(res.Admins) == 0 || len(res.Managers) == 0 || len(res.Reporters) == 0 {
		t.Errorf("%d Admins, %d Managers, %d Reporting users named", len(res.Admins), len(res.Managers), len(res.Reporters))
	}
	for _, m := range slices.Concat(res.Admins, res.Managers, res.Reporters) {
		var got models.Membership
		must(t, db.Take(&got, m.ID).Error)
		if got.Email != m.Email || got.Type != m.Type || got.Status != models.MemberActive || got.LoginID == nil {
			t.Errorf("named %+v, the database has %+v", m, got)
		}
	}

	// A cursor at a position opens the page that follows it, and says
	// where it is.
	admin := &models.Viewer{Membership: res.Admin, Account: res.Account}
	for _, sort := range models.UserSorts {
		for _, dir := range []string{models.Ascending, models.Descending} {
			f := models.UserFilter{Sort: sort, Dir: dir, Size: 100}
			cur, err := store.CursorAt(ctx, res.Account.ID, f, 250)
			must(t, err)
			var all []models.UserRow
			for p := (&models.UserPage{}); len(all) == 0 || p.NextCursor != ""; {
				f.After = p.NextCursor
				p, err = store.FindUsers(ctx, admin, f)
				must(t, err)
				all = append(all, p.Rows...)
			}
			f.After = cur
			deep, err := store.FindUsers(ctx, admin, f)
			must(t, err)
			if len(all) != 300 || len(deep.Rows) != 49 || deep.Start != 251 || deep.Rows[0].ID != all[251].ID {
				t.Errorf("%s %s: deep page has %d rows from %d starting at %s, want 49 from 251 (%s)", sort, dir,
					len(deep.Rows), deep.Start, deep.Rows[0].Email, all[251].Email)
			}
		}
	}
}
