package models_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// listIndexesAgree checks the trigger-kept tables against the memberships
// they are derived from: counts per type and status, and one suffix row
// per distinct suffix of each name.
func listIndexesAgree(t *testing.T, store *models.Store) {
	t.Helper()
	db := store.DB()
	type count struct {
		AccountID    uint
		Type, Status string
		N            int64
	}
	var kept, actual []count
	must(t, db.Raw("SELECT account_id, type, status, n FROM member_counts WHERE n <> 0 ORDER BY account_id, type, status").Scan(&kept).Error)
	must(t, db.Raw("SELECT account_id, type, status, COUNT(*) AS n FROM memberships GROUP BY account_id, type, status ORDER BY account_id, type, status").Scan(&actual).Error)
	if len(kept) != len(actual) {
		t.Fatalf("member_counts has %d groups, memberships %d: %+v vs %+v", len(kept), len(actual), kept, actual)
	}
	for i := range kept {
		if kept[i] != actual[i] {
			t.Errorf("member_counts %+v, memberships say %+v", kept[i], actual[i])
		}
	}
	var members []models.Membership
	must(t, db.Find(&members).Error)
	want := map[string]bool{}
	for _, m := range members {
		r := []rune(m.SortName)
		for i := range r {
			if r[i] == ' ' {
				continue
			}
			end := min(len(r), i+12)
			want[string(r[i:end])+"\x00"+itoa(m.ID)] = true
		}
	}
	var rows []struct {
		Suffix       string
		MembershipID uint
	}
	must(t, db.Raw("SELECT suffix, membership_id FROM member_name_suffixes").Scan(&rows).Error)
	if len(rows) != len(want) {
		t.Errorf("member_name_suffixes has %d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if !want[r.Suffix+"\x00"+itoa(r.MembershipID)] {
			t.Errorf("stray suffix %q of member %d", r.Suffix, r.MembershipID)
		}
	}
}

func itoa(n uint) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

func TestListIndexes_FollowEveryChange(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 30)
			db := store.DB()
			listIndexesAgree(t, store)

			m := f.members[7]
			// Type and status change, a rename, both at once, and a save
			// that changes nothing.
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"type": models.Admin}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"status": models.MemberDisabled}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"first_name": "Émile", "sort_name": "émile zola"}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", f.members[8].ID).
				Updates(map[string]any{"type": models.Notification, "status": models.MemberActive, "sort_name": "anna anna"}).Error)
			var same models.Membership
			must(t, db.Take(&same, f.members[9].ID).Error)
			must(t, db.Save(&same).Error)
			listIndexesAgree(t, store)

			// Deleting a person, and a whole account by cascade.
			must(t, db.Delete(&models.Membership{}, f.members[10].ID).Error)
			listIndexesAgree(t, store)
			must(t, db.Delete(&models.Account{}, f.account.ID).Error)
			listIndexesAgree(t, store)
			var left int64
			must(t, db.Raw("SELECT COUNT(*) FROM member_name_suffixes WHERE account_id = ?", f.account.ID).Scan(&left).Error)
			if left != 0 {
				t.Errorf("%d suffixes left of a deleted account", left)
			}
		})
	}
}

// TestListIndexes_FilledForAnExistingDatabase opens a database whose
// members predate the derived tables, as an upgrade does: the schema
// version it records is not this program's.
func TestListIndexes_FilledForAnExistingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ctx := context.Background()
	store, err := models.Open(ctx, path)
	must(t, err)
	newUsersFixture(t, store, 25)
	for _, stmt := range []string{"DROP TABLE member_counts", "DROP TABLE member_name_suffixes",
		"DROP TRIGGER memberships_list_insert", "DROP TRIGGER memberships_list_count_update",
		"DROP TRIGGER memberships_list_name_update", "DROP TRIGGER memberships_list_delete",
		"DELETE FROM schema_migrations"} {
		must(t, store.DB().Exec(stmt).Error)
	}
	store.Close()
	store, err = models.Open(ctx, path)
	must(t, err)
	defer store.Close()
	listIndexesAgree(t, store)
	var admin models.Membership
	must(t, store.DB().Where("type = ? AND status = ?", models.Admin, models.MemberActive).Order("id").Take(&admin).Error)
	var account models.Account
	must(t, store.DB().Take(&account, admin.AccountID).Error)
	p, err := store.FindUsers(ctx, &models.Viewer{Membership: admin, Account: account}, models.UserFilter{Query: "ovel"})
	must(t, err)
	if p.Total == 0 || !strings.Contains(p.Rows[0].SortName, "ovel") {
		t.Errorf("search after the upgrade found %d people", p.Total)
	}
}

func TestPrefixRange(t *testing.T) {
	for _, c := range []struct{ in, hi string }{
		{"ada", "adb"}, {"a.", "a/"}, {"zoë", "zoì"}, {"a\U0010FFFF", "b"}, {"\uD7FF", "\uE000"},
	} {
		_, hi, ok := models.PrefixRange(c.in)
		if !ok || hi != c.hi {
			t.Errorf("prefixRange(%q) = %q %v, want %q", c.in, hi, ok, c.hi)
		}
	}
	if _, _, ok := models.PrefixRange("\U0010FFFF"); ok {
		t.Error("a string of only the last character has no upper bound")
	}
}
