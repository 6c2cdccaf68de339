package models_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// TestFindUsers_MatchesBruteForce pages through the list for many filters,
// both sort orders and two viewers, and compares every page and total with
// the same filter applied in Go. The list picks a different plan by how many
// people match (the matches first, or a walk in list order), so small and
// large results exercise both.
func TestFindUsers_MatchesBruteForce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 240)
			ctx := context.Background()
			db := store.DB()
			// A few names that only a search beyond the indexed suffix
			// length, or a non-ASCII one, can tell apart.
			extra := []models.Membership{
				{FirstName: "Zoë", LastName: "Ångström", Email: "zoe@example.org", Type: models.Reporting, Status: models.MemberActive},
				{FirstName: "Bartholomew", LastName: "Featherstonehaugh", Email: "bart@example.org", Type: models.Manager, Status: models.MemberInvited},
				{FirstName: "Bartholomew", LastName: "Featherstone", Email: "bart.2@example.org", Type: models.Manager, Status: models.MemberActive},
			}
			for _, m := range extra {
				m.AccountID = f.account.ID
				m.SortName = strings.ToLower(m.FirstName + " " + m.LastName)
				must(t, db.Create(&m).Error)
				must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: f.companies[0].ID}).Error)
				f.members = append(f.members, m)
			}
			// A rename after creation must be searchable by its new name only.
			renamed := f.members[5]
			must(t, db.Model(&models.Membership{}).Where("id = ?", renamed.ID).
				Updates(map[string]any{"last_name": "Quixote", "sort_name": strings.ToLower(renamed.FirstName + " quixote")}).Error)
			var members []models.Membership
			must(t, db.Where("account_id = ?", f.account.ID).Find(&members).Error)
			assigned := map[uint][]uint{}
			var pairs []models.Assignment
			must(t, db.Find(&pairs).Error)
			for _, p := range pairs {
				assigned[p.MembershipID] = append(assigned[p.MembershipID], p.CompanyID)
			}
			active := map[uint]bool{}
			for _, c := range f.companies {
				active[c.ID] = c.Status == models.CompanyActive
			}
			var manager models.Membership
			for _, m := range members {
				if m.Type == models.Manager && m.Status == models.MemberActive && len(assigned[m.ID]) > 0 {
					manager = m
					break
				}
			}
			viewers := map[string]*models.Viewer{
				"admin":   f.admin,
				"manager": {Membership: manager, Account: f.account},
			}
			sees := func(v *models.Viewer, m models.Membership) bool {
				if v.Type().SeesAllCompanies() || m.Type == models.Admin {
					return true
				}
				for _, c := range assigned[m.ID] {
					if active[c] && slices.Contains(assigned[v.Membership.ID], c) {
						return true
					}
				}
				return false
			}
			queries := []string{"", "a", "ada", "LOVEL", "ovelace1", "lovelace12", "ada lovelace1", "bartholomew featherstoneh",
				"featherstone", "ångs", "zoë", "cleo.", "cleo.1", "bart@", "example.org", "%", "a_a", "zzz", "e"}
			filters := []models.UserFilter{{}, {Type: models.Manager}, {Status: models.MemberActive},
				{Type: models.Reporting, Status: models.MemberInvited}, {CompanyID: f.companies[1].ID}, {CompanyID: f.companies[0].ID, Status: models.MemberActive}}
			for vname, v := range viewers {
				for _, q := range queries {
					for _, base := range filters {
						for _, sort := range []string{models.SortByName, models.SortByLastActive} {
							fl := base
							fl.Query, fl.Sort, fl.Limit = q, sort, 7
							name := fmt.Sprintf("%s q=%q %+v", vname, q, base)
							var want []models.Membership
							lq := strings.ToLower(q)
							for _, m := range members {
								if !sees(v, m) || (fl.Type != "" && m.Type != fl.Type) || (fl.Status != "" && m.Status != fl.Status) ||
									(fl.CompanyID != 0 && !slices.Contains(assigned[m.ID], fl.CompanyID)) ||
									(q != "" && !strings.Contains(m.SortName, lq) && !strings.HasPrefix(m.Email, lq)) {
									continue
								}
								want = append(want, m)
							}
							slices.SortFunc(want, func(a, b models.Membership) int {
								if sort == models.SortByLastActive {
									if c := b.LastActiveAt.Compare(a.LastActiveAt); c != 0 {
										return c
									}
									return int(b.ID) - int(a.ID)
								}
								if c := strings.Compare(a.SortName, b.SortName); c != 0 {
									return c
								}
								return int(a.ID) - int(b.ID)
							})
							var got []models.Membership
							var pages []*models.UserPage
							for {
								p, err := store.FindUsers(ctx, v, fl)
								if err != nil {
									t.Fatalf("%s: %v", name, err)
								}
								if p.Total != int64(len(want)) {
									t.Fatalf("%s sort %s: total %d, want %d", name, sort, p.Total, len(want))
								}
								pages = append(pages, p)
								for _, r := range p.Rows {
									got = append(got, r.Membership)
								}
								if p.NextCursor == "" || len(pages) > 100 {
									break
								}
								fl.After = p.NextCursor
							}
							if len(got) != len(want) {
								t.Fatalf("%s sort %s: %d rows over %d pages, want %d", name, sort, len(got), len(pages), len(want))
							}
							for i := range want {
								if got[i].ID != want[i].ID {
									t.Fatalf("%s sort %s: row %d is %s, want %s", name, sort, i, got[i].Email, want[i].Email)
								}
							}
							if len(pages) > 2 {
								fl.After = ""
								fl.Before = pages[2].PrevCursor
								back, err := store.FindUsers(ctx, v, fl)
								if err != nil {
									t.Fatal(err)
								}
								if len(back.Rows) != len(pages[1].Rows) || back.Rows[0].ID != pages[1].Rows[0].ID {
									t.Errorf("%s sort %s: going back from page 3 does not give page 2", name, sort)
								}
							}
						}
					}
				}
			}
		})
	}
}
