package models_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm/schema"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// TestLoadViewer_ReadsEveryColumn: the session query reads every column
// GORM knows of a login, a membership and an account, so a column added
// to one of them cannot be left out of the viewer (and read as zero).
func TestLoadViewer_ReadsEveryColumn(t *testing.T) {
	read := models.SessionColumns()
	for table, model := range map[string]any{"logins": &models.Login{}, "memberships": &models.Membership{}, "accounts": &models.Account{}} {
		s, err := schema.Parse(model, &sync.Map{}, schema.NamingStrategy{})
		must(t, err)
		want := slices.Clone(s.DBNames)
		got := slices.Clone(read[table])
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the session query reads %v, GORM knows %v", table, got, want)
		}
	}
}

// TestLoadViewer_ReadsWhatGORMReads: the viewer holds what GORM reads of
// its login, membership and account, every field set; a wrong secret or a
// deleted membership means logged out.
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
			key := "creation-key"
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).
				Updates(map[string]any{"login_id": login.ID, "invoice_emails": true, "activated_at": store.Now(),
					"invited_by_id": f.members[1].ID, "creation_key": key}).Error)
			must(t, db.Model(&models.Account{}).Where("id = ?", f.account.ID).
				Updates(map[string]any{"white_label": true, "white_label_brand": "Brand", "plan": "pro"}).Error)
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
