package models_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// listIndexesAgree checks the trigger-kept data against the rows it is
// derived from, worked out again in Go: counts per type and status; one
// search row per distinct suffix of each name and address, with its lcp
// and the person's kind; each assignment's kind; each person's invitation
// expiry (from their live links) and invited date.
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
	kind := map[uint]string{}
	want := map[string]bool{}
	for _, m := range members {
		kind[m.ID] = string(m.Type)[:1] + string(m.Status)[:1]
		var suffixes []string
		for _, text := range []string{m.SortName, m.Email} {
			r := []rune(text)
			for i := range r {
				if r[i] != ' ' {
					suffixes = append(suffixes, string(r[i:min(len(r), i+24)]))
				}
			}
		}
		slices.Sort(suffixes)
		suffixes = slices.Compact(suffixes)
		for i, s := range suffixes {
			lcp := 0
			if i > 0 {
				a, b := []rune(suffixes[i-1]), []rune(s)
				for lcp < len(a) && lcp < len(b) && a[lcp] == b[lcp] {
					lcp++
				}
			}
			want[fmt.Sprintf("%d %q %d %s", m.ID, s, lcp, kind[m.ID])] = true
		}
		if m.InvitedAt == nil {
			t.Errorf("%s has no invited date", m.Email)
		}
		var live []models.Token
		must(t, db.Where("membership_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", m.ID, models.PurposeInvitation).
			Find(&live).Error)
		var expires *time.Time
		for _, tok := range live {
			if expires == nil || tok.ExpiresAt.After(*expires) {
				expires = &tok.ExpiresAt
			}
		}
		if (expires == nil) != (m.InvitationExpiresAt == nil) || (expires != nil && !expires.Equal(*m.InvitationExpiresAt)) {
			t.Errorf("%s: invitation expires %v, the live links say %v", m.Email, m.InvitationExpiresAt, expires)
		}
	}
	var rows []struct {
		Suffix       string
		MembershipID uint
		Lcp          int
		MemberKind   string
	}
	must(t, db.Raw("SELECT suffix, membership_id, lcp, member_kind FROM member_search").Scan(&rows).Error)
	if len(rows) != len(want) {
		t.Errorf("member_search has %d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if key := fmt.Sprintf("%d %q %d %s", r.MembershipID, r.Suffix, r.Lcp, r.MemberKind); !want[key] {
			t.Errorf("stray search row %s", key)
		}
	}
	var assignments []models.Assignment
	must(t, db.Find(&assignments).Error)
	for _, a := range assignments {
		if a.MemberKind != kind[a.MembershipID] {
			t.Errorf("assignment of %d to %d has kind %q, want %q", a.MembershipID, a.CompanyID, a.MemberKind, kind[a.MembershipID])
		}
	}
	// company_search is member_search under each of the person's
	// companies.
	companies := map[uint][]uint{}
	for _, a := range assignments {
		companies[a.MembershipID] = append(companies[a.MembershipID], a.CompanyID)
	}
	wantCompany := map[string]bool{}
	for _, r := range rows {
		for _, c := range companies[r.MembershipID] {
			wantCompany[fmt.Sprintf("%d %d %q %d %s", c, r.MembershipID, r.Suffix, r.Lcp, r.MemberKind)] = true
		}
	}
	var companyRows []struct {
		CompanyID    uint
		Suffix       string
		MembershipID uint
		Lcp          int
		MemberKind   string
	}
	must(t, db.Raw("SELECT company_id, suffix, membership_id, lcp, member_kind FROM company_search").Scan(&companyRows).Error)
	if len(companyRows) != len(wantCompany) {
		t.Errorf("company_search has %d rows, want %d", len(companyRows), len(wantCompany))
	}
	for _, r := range companyRows {
		if key := fmt.Sprintf("%d %d %q %d %s", r.CompanyID, r.MembershipID, r.Suffix, r.Lcp, r.MemberKind); !wantCompany[key] {
			t.Errorf("stray company search row %s", key)
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
			// Type and status change, a rename, a new address, both at
			// once, and a save that changes nothing.
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"type": models.Reporting}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"status": models.MemberDisabled}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"first_name": "Émile", "sort_name": "émile zola"}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"email": "zola@acmecalls.example"}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", f.members[8].ID).
				Updates(map[string]any{"type": models.Notification, "status": models.MemberActive, "sort_name": "anna anna"}).Error)
			var same models.Membership
			must(t, db.Take(&same, f.members[9].ID).Error)
			must(t, db.Save(&same).Error)
			// A company given after the type changed takes the new kind.
			must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: f.companies[2].ID}).Error)
			listIndexesAgree(t, store)
			// A company taken away, one moved to another company, and a
			// whole company deleted (its assignments by cascade).
			must(t, db.Where("membership_id = ? AND company_id = ?", m.ID, f.companies[2].ID).Delete(&models.Assignment{}).Error)
			// (The fixture's fourth person has the fourth company only.)
			must(t, db.Model(&models.Assignment{}).Where("membership_id = ? AND company_id = ?", f.members[3].ID, f.companies[3].ID).
				Update("company_id", f.companies[0].ID).Error)
			listIndexesAgree(t, store)
			must(t, db.Delete(&models.Company{}, f.companies[3].ID).Error)
			listIndexesAgree(t, store)

			// Invitation links: a new one, one revoked, one used, one
			// deleted, one moved to another person.
			invitee := f.members[14]
			now := store.Now()
			link := func(hash string, expires time.Time) models.Token {
				tok := models.Token{Hash: hash, Purpose: models.PurposeInvitation, AccountID: &f.account.ID,
					MembershipID: &invitee.ID, ExpiresAt: expires, CreatedAt: now}
				must(t, db.Create(&tok).Error)
				return tok
			}
			a, b := link(strings.Repeat("a", 64), now.Add(time.Hour)), link(strings.Repeat("b", 64), now.Add(48*time.Hour))
			listIndexesAgree(t, store)
			must(t, db.Model(&b).Update("revoked_at", now).Error)
			listIndexesAgree(t, store)
			must(t, db.Model(&a).Update("used_at", now).Error)
			listIndexesAgree(t, store)
			c := link(strings.Repeat("c", 64), now.Add(-time.Hour))
			must(t, db.Model(&c).Update("membership_id", f.members[18].ID).Error)
			listIndexesAgree(t, store)
			must(t, db.Delete(&c).Error)
			listIndexesAgree(t, store)

			// Deleting a person, and a whole account by cascade.
			must(t, db.Delete(&models.Membership{}, f.members[10].ID).Error)
			listIndexesAgree(t, store)
			must(t, db.Delete(&models.Account{}, f.account.ID).Error)
			listIndexesAgree(t, store)
			var left int64
			must(t, db.Raw("SELECT COUNT(*) FROM member_search WHERE account_id = ?", f.account.ID).Scan(&left).Error)
			if left != 0 {
				t.Errorf("%d search rows left of a deleted account", left)
			}
			must(t, db.Raw("SELECT COUNT(*) FROM company_search").Scan(&left).Error)
			if left != 0 {
				t.Errorf("%d company search rows left of a deleted account", left)
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
	// As a database from before the search index, the kinds and the
	// invitation expiry: their tables, triggers and columns empty, and the
	// name-only suffixes of the version before.
	for _, stmt := range []string{"DROP TABLE member_counts", "DROP TABLE member_search", "DROP TABLE company_search",
		"DROP TRIGGER assignments_search_insert", "DROP TRIGGER assignments_search_delete", "DROP TRIGGER memberships_list_company_delete",
		"DROP TRIGGER memberships_list_insert", "DROP TRIGGER memberships_list_count_update",
		"DROP TRIGGER memberships_list_search_update", "DROP TRIGGER memberships_list_delete",
		"DROP TRIGGER memberships_list_invited", "DROP TRIGGER assignments_list_kind",
		"UPDATE assignments SET member_kind = ''", "UPDATE memberships SET invitation_expires_at = NULL, invited_at = NULL",
		"CREATE TABLE member_name_suffixes (account_id INTEGER, suffix TEXT, membership_id INTEGER)",
		"DELETE FROM schema_migrations"} {
		must(t, store.DB().Exec(stmt).Error)
	}
	store.Close()
	store, err = models.Open(ctx, path)
	must(t, err)
	defer store.Close()
	listIndexesAgree(t, store)
	if store.DB().Migrator().HasTable("member_name_suffixes") {
		t.Error("the old suffix table is still there")
	}
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
