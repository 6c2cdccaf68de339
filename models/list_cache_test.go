package models_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// TestFindUsers_CacheFollowsEveryChange changes, through a second server on
// the same database, each thing the users list shows, and expects the first
// server (which has the page in memory) to answer what a server that never
// read it answers.
func TestFindUsers_CacheFollowsEveryChange(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			servers := modelstest.OpenServers(t, dialect, 2, models.WithClock(clock.Now))
			cached, other := servers[0], servers[1]
			f := newUsersFixture(t, cached, 24)
			ctx := context.Background()
			db := other.DB()
			var manager models.Membership
			for _, m := range f.members {
				if m.Type == models.Manager && m.Status == models.MemberActive {
					manager = m
					break
				}
			}
			viewers := map[string]*models.Viewer{
				"admin":   f.admin,
				"manager": {Membership: manager, Account: f.account},
			}
			filters := map[string]models.UserFilter{
				"first page":  {},
				"company":     {CompanyID: f.companies[0].ID},
				"search":      {Query: "ada"},
				"by activity": {Sort: models.SortByLastActive},
			}
			// same asks every question of the cache (twice, so the second
			// is surely a hit) and of the database.
			same := func(step string) {
				t.Helper()
				for vn, v := range viewers {
					for fn, filter := range filters {
						var first *models.UserPage
						for i := range 2 {
							got, err := cached.FindUsers(ctx, v, filter)
							must(t, err)
							want, err := other.FindUsersUncached(ctx, v, filter)
							must(t, err)
							if !reflect.DeepEqual(got, want) {
								t.Fatalf("after %s, %s / %s: the cached page differs:\n got %+v\nwant %+v", step, vn, fn, got, want)
							}
							if i == 0 {
								first = got
							} else if got != first {
								t.Fatalf("after %s, %s / %s: the same question was not answered from memory", step, vn, fn)
							}
						}
					}
				}
			}
			// row is how the Admin's first page shows a person.
			row := func(email string) models.UserRow {
				t.Helper()
				p, err := cached.FindUsers(ctx, f.admin, models.UserFilter{})
				must(t, err)
				for _, r := range p.Rows {
					if r.Email == email {
						return r
					}
				}
				t.Fatalf("%s is not on the first page", email)
				return models.UserRow{}
			}
			same("nothing")
			target := f.members[5]
			changes := []struct {
				name string
				do   func() error
			}{
				{"adding a person", func() error {
					return db.Create(&models.Membership{AccountID: f.account.ID, FirstName: "Ada", LastName: "Newcomer",
						Email: "ada.new@example.com", SortName: "ada newcomer", Type: models.Reporting, Status: models.MemberActive}).Error
				}},
				{"renaming", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", target.ID).
						Updates(map[string]any{"first_name": "Adalind", "sort_name": "adalind " + lower(target.LastName)}).Error
				}},
				{"a new type and status", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", target.ID).
						Updates(map[string]any{"type": models.Manager, "status": models.MemberDisabled}).Error
				}},
				{"being active", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", target.ID).Update("last_active_at", clock.Now()).Error
				}},
				{"a company added", func() error {
					return db.Create(&models.Assignment{MembershipID: target.ID, CompanyID: f.companies[0].ID}).Error
				}},
				{"a company removed", func() error {
					return db.Where("membership_id = ? AND company_id = ?", manager.ID, f.companies[0].ID).Delete(&models.Assignment{}).Error
				}},
				{"a company renamed", func() error {
					return db.Model(&models.Company{}).Where("id = ?", f.companies[1].ID).Update("name", "Aardvark Roofing").Error
				}},
				{"a company disabled", func() error {
					return db.Model(&models.Company{}).Where("id = ?", f.companies[2].ID).Update("status", models.CompanyDisabled).Error
				}},
				{"an invitation sent", func() error { return invite(db, f, f.members[2].ID, clock.Now()) }},
				{"an invitation revoked", func() error {
					return db.Model(&models.Token{}).Where("membership_id = ?", f.members[2].ID).Update("revoked_at", clock.Now()).Error
				}},
				{"an email that keeps failing", func() error {
					account, member := f.account.ID, f.members[6].ID
					msg := models.OutboxMessage{AccountID: &account, MembershipID: &member, Kind: "invitation", ToAddress: f.members[6].Email,
						Subject: "Welcome", TextBody: "x", HTMLBody: "x", NextAttemptAt: clock.Now()}
					if err := db.Create(&msg).Error; err != nil {
						return err
					}
					return db.Model(&msg).Updates(map[string]any{"attempts": 3, "last_error": "connection refused"}).Error
				}},
				{"that email cancelled", func() error {
					return db.Where("membership_id = ?", f.members[6].ID).Delete(&models.OutboxMessage{}).Error
				}},
				{"a person deleted", func() error { return db.Delete(&models.Membership{}, f.members[9].ID).Error }},
			}
			// What the list must then show, where two equal pages say too
			// little (both could lack it).
			then := map[string]func(){
				"an invitation sent": func() {
					if inv := row(f.members[2].Email).Invitation; inv == nil || inv.Expired {
						t.Errorf("the invitation just sent shows as %+v", inv)
					}
				},
				"an email that keeps failing": func() {
					if got := row(f.members[6].Email).DeliveryProblem; got != models.SummarizeEmailError("connection refused") {
						t.Errorf("a failing email shows as %q", got)
					}
				},
			}
			for _, c := range changes {
				must(t, c.do())
				same(c.name)
				if check := then[c.name]; check != nil {
					check()
				}
			}
			// Time alone turns an invitation into "Expired".
			must(t, invite(db, f, f.members[10].ID, clock.Now()))
			same("another invitation")
			clock.Advance(models.InvitationLinkTTL + time.Minute)
			same("the invitation expiring")
			if inv := row(f.members[10].Email).Invitation; inv == nil || !inv.Expired {
				t.Errorf("an expired invitation shows as %+v", inv)
			}
		})
	}
}

// invite gives a pending invitee a current invitation link.
func invite(db *gorm.DB, f *usersFixture, memberID uint, now time.Time) error {
	account, member := f.account.ID, memberID
	return db.Create(&models.Token{Hash: time.Now().Format(time.RFC3339Nano) + "-" + itoa(memberID), Purpose: models.PurposeInvitation,
		AccountID: &account, MembershipID: &member, CreatedAt: now, ExpiresAt: now.Add(models.InvitationLinkTTL)}).Error
}

// TestLoadViewer_ReadsWhatGORMReads guards the hand-written session query:
// the viewer holds every column of its login, membership and account.
func TestLoadViewer_ReadsWhatGORMReads(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 4)
			ctx := context.Background()
			db := store.DB()
			login := models.Login{Email: f.members[0].Email, PasswordHash: "argon2id$test", PasswordChangedAt: store.Now().Add(-time.Hour)}
			must(t, db.Create(&login).Error)
			m := f.members[0]
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).
				Updates(map[string]any{"login_id": login.ID, "invoice_emails": true, "activated_at": store.Now()}).Error)
			m.LoginID = &login.ID
			secret, err := store.StartSession(ctx, &m, "192.0.2.1", "test")
			must(t, err)
			v, err := store.LoadViewer(ctx, secret)
			must(t, err)
			var wantLogin models.Login
			var wantMember models.Membership
			var wantAccount models.Account
			must(t, db.Take(&wantLogin, login.ID).Error)
			must(t, db.Take(&wantMember, m.ID).Error)
			must(t, db.Take(&wantAccount, f.account.ID).Error)
			if !reflect.DeepEqual(v.Login, wantLogin) {
				t.Errorf("login\n got %+v\nwant %+v", v.Login, wantLogin)
			}
			if !reflect.DeepEqual(v.Membership, wantMember) {
				t.Errorf("membership\n got %+v\nwant %+v", v.Membership, wantMember)
			}
			if !reflect.DeepEqual(v.Account, wantAccount) {
				t.Errorf("account\n got %+v\nwant %+v", v.Account, wantAccount)
			}
			n, err := store.CountAccountsOf(ctx, v)
			must(t, err)
			if n != 1 {
				t.Errorf("accounts of the login: %d, want 1", n)
			}
			if _, err := store.LoadViewer(ctx, secret+"x"); models.ErrorCode(err) != models.Unauthorized {
				t.Errorf("a wrong secret: %v, want logged out", err)
			}
			must(t, db.Delete(&models.Membership{}, m.ID).Error)
			if _, err := store.LoadViewer(ctx, secret); models.ErrorCode(err) != models.Unauthorized {
				t.Errorf("a deleted membership's session: %v, want logged out", err)
			}
		})
	}
}
