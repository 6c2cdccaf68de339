package models_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// planSettings send a small account down each of the users list's plans:
// the defaults (walks and small sets), tiny limits (every set is too big,
// so counts are bounds and pages are walks or picks), middle ones (a
// company's people are read, a search intersected with them) and
// unlimited sets (everything read as IDs, pages read whole or picked).
var planSettings = map[string]models.PlanLimits{
	"defaults": models.DefaultPlanLimits(),
	"tiny":     {Set: 12, Filter: 6, Bound: 5, ReadCost: 1 << 20, WalkDensity: 0.6, Search: 12},
	"middle":   {Set: 100, Filter: 6, Bound: 5, ReadCost: 1 << 20, WalkDensity: 0.6, Search: 100},
	"sets":     {Set: 1 << 30, Filter: 1 << 30, Bound: 1 << 30, ReadCost: 1, WalkDensity: 2, Search: 1 << 30},
}

// listWorld is the fixture's account as the brute force sees it.
type listWorld struct {
	members  []models.Membership
	assigned map[uint][]uint // a member's companies
	active   map[uint]bool   // a company is active
	now      time.Time
}

func readListWorld(t *testing.T, store *models.Store, account uint) *listWorld {
	t.Helper()
	db := store.DB()
	w := &listWorld{assigned: map[uint][]uint{}, active: map[uint]bool{}, now: store.Now()}
	must(t, db.Where("account_id = ?", account).Find(&w.members).Error)
	var pairs []models.Assignment
	must(t, db.Find(&pairs).Error)
	for _, p := range pairs {
		w.assigned[p.MembershipID] = append(w.assigned[p.MembershipID], p.CompanyID)
	}
	var companies []models.Company
	must(t, db.Find(&companies).Error)
	for _, c := range companies {
		w.active[c.ID] = c.Status == models.CompanyActive
	}
	return w
}

// sees is who a viewer may see, row by row.
func (w *listWorld) sees(v *models.Viewer, m models.Membership) bool {
	if v.Type().SeesAllCompanies() || m.Type == models.Admin || m.ID == v.Membership.ID {
		return true
	}
	for _, c := range w.assigned[m.ID] {
		if w.active[c] && slices.Contains(w.assigned[v.Membership.ID], c) {
			return true
		}
	}
	return false
}

// want is the answer, in order, worked out in Go.
func (w *listWorld) want(v *models.Viewer, f models.UserFilter) []models.Membership {
	var out []models.Membership
	q := strings.ToLower(f.Query)
	for _, m := range w.members {
		expired := m.Status == models.MemberInvited && m.InvitationExpiresAt != nil && !w.now.Before(*m.InvitationExpiresAt)
		switch {
		case !w.sees(v, m),
			f.Type != "" && m.Type != f.Type,
			f.Status == models.ListExpired && !expired,
			f.Status == models.ListInvited && (m.Status != models.MemberInvited || expired),
			f.Status != "" && f.Status != models.ListExpired && f.Status != models.ListInvited && string(m.Status) != string(f.Status),
			f.CompanyID != 0 && (!slices.Contains(w.assigned[m.ID], f.CompanyID) || !w.active[f.CompanyID] ||
				(!v.Type().SeesAllCompanies() && !slices.Contains(w.assigned[v.Membership.ID], f.CompanyID))),
			q != "" && !strings.Contains(m.SortName, q) && !strings.Contains(m.Email, q):
			continue
		}
		out = append(out, m)
	}
	desc := f.Desc()
	slices.SortFunc(out, func(a, b models.Membership) int {
		c := 0
		switch f.Sort {
		case models.SortByName:
			c = strings.Compare(a.SortName, b.SortName)
		case models.SortByEmail:
			c = strings.Compare(a.Email, b.Email)
		case models.SortByType:
			if c = strings.Compare(string(a.Type), string(b.Type)); c == 0 {
				c = strings.Compare(a.SortName, b.SortName)
			}
		case models.SortByLastActive:
			c = a.LastActiveAt.Compare(b.LastActiveAt)
		case models.SortByInvited:
			c = a.InvitedAt.Compare(*b.InvitedAt)
		}
		if c == 0 {
			c = int(a.ID) - int(b.ID)
		}
		if desc {
			return -c
		}
		return c
	})
	return out
}

// TestFindUsers_MatchesBruteForce pages through the list for many
// questions, every sort both ways, four viewers and every plan the list
// can take, and compares each page, count and position with the answer
// worked out in Go.
func TestFindUsers_MatchesBruteForce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 240)
			ctx := context.Background()
			db := store.DB()
			// Names that only a search longer than the suffixes kept, or a
			// non-ASCII one, tells apart; an address domain to find.
			extra := []models.Membership{
				{FirstName: "Zoë", LastName: "Ångström", Email: "zoe@acmecalls.example", Type: models.Reporting, Status: models.MemberActive},
				{FirstName: "Bartholomew", LastName: "Featherstonehaugh-Whittington", Email: "bart@example.org", Type: models.Manager, Status: models.MemberInvited},
				{FirstName: "Bartholomew", LastName: "Featherstonehaugh-Whitby", Email: "bart.2@acmecalls.example", Type: models.Manager, Status: models.MemberActive},
				{FirstName: "Percy", LastName: "Cent", Email: "100%_sure@example.org", Type: models.Reporting, Status: models.MemberActive},
			}
			for _, m := range extra {
				m.AccountID, m.InvitedAt = f.account.ID, &f.members[0].CreatedAt
				m.SortName = strings.ToLower(m.FirstName + " " + m.LastName)
				must(t, db.Create(&m).Error)
				must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: f.companies[0].ID}).Error)
			}
			// A rename after creation must be searchable by its new name only.
			renamed := f.members[5]
			must(t, db.Model(&models.Membership{}).Where("id = ?", renamed.ID).
				Updates(map[string]any{"last_name": "Quixote", "sort_name": strings.ToLower(renamed.FirstName + " quixote")}).Error)
			w := readListWorld(t, store, f.account.ID)

			// Viewers: an Admin; Managers with one company, with two, and
			// with only a disabled one (they see the Admins and themselves).
			viewers := map[string]*models.Viewer{"admin": f.admin}
			managers := []models.Membership{f.members[1], f.members[5], f.members[9]}
			for i, m := range managers {
				must(t, db.Where("membership_id = ?", m.ID).Delete(&models.Assignment{}).Error)
				companies := [][]int{{1}, {0, 2}, {3}}[i]
				for _, c := range companies {
					must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: f.companies[c].ID}).Error)
				}
				must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"type": models.Manager, "status": models.MemberActive}).Error)
				must(t, db.Take(&m, m.ID).Error)
				viewers[fmt.Sprintf("manager-%d", i)] = &models.Viewer{Membership: m, Account: f.account}
			}
			w = readListWorld(t, store, f.account.ID)

			queries := []string{"", "a", "ada", "LOVEL", "ovelace1", "example.com", "acmecalls", ".example", "e", "%", "_",
				"100%_", "a_a", "bartholomew featherstonehaugh-whit", "featherstone", "ångs", "zoë", "@", "quixote", "zzz"}
			filters := []models.UserFilter{{}, {Type: models.Manager}, {Status: models.ListActive}, {Status: models.ListInvited},
				{Status: models.ListExpired}, {Type: models.Reporting, Status: models.ListExpired}, {Type: models.Admin},
				{CompanyID: f.companies[1].ID}, {CompanyID: f.companies[0].ID, Status: models.ListInvited},
				{CompanyID: f.companies[3].ID}}
			type sortDir struct{ sort, dir string }
			var sorts []sortDir
			for _, s := range models.UserSorts {
				sorts = append(sorts, sortDir{s, models.Ascending}, sortDir{s, models.Descending})
			}
			checked, bounds := 0, 0
			for _, plan := range []string{"defaults", "tiny", "middle", "sets"} {
				store.SetPlanLimits(planSettings[plan])
				for vname, v := range viewers {
					for qi, q := range queries {
						for fi, base := range filters {
							sd := sorts[(qi*7+fi*3+len(vname))%len(sorts)]
							fl := base
							fl.Query, fl.Sort, fl.Dir, fl.Size = q, sd.sort, sd.dir, 25
							name := fmt.Sprintf("%s %s %q %+v", plan, vname, q, base)
							want := w.want(v, fl)
							var got []models.Membership
							var pages []*models.UserPage
							for {
								p, err := store.FindUsers(ctx, v, fl)
								if err != nil {
									t.Fatalf("%s: %v", name, err)
								}
								switch {
								case p.TotalAtLeast && (p.Total > int64(len(want)) || p.Total < 1):
									t.Fatalf("%s: total at least %d, want %d", name, p.Total, len(want))
								case !p.TotalAtLeast && p.Total != int64(len(want)):
									t.Fatalf("%s: total %d, want %d", name, p.Total, len(want))
								case p.Start != int64(len(got)):
									t.Fatalf("%s: page %d starts at %d, want %d", name, len(pages)+1, p.Start, len(got))
								}
								if p.TotalAtLeast {
									bounds++
								}
								pages = append(pages, p)
								for _, r := range p.Rows {
									got = append(got, r.Membership)
								}
								if p.NextCursor == "" || len(pages) > 20 {
									break
								}
								fl.After = p.NextCursor
							}
							checked++
							if len(got) != len(want) {
								t.Fatalf("%s: %d rows over %d pages, want %d", name, len(got), len(pages), len(want))
							}
							for i := range want {
								if got[i].ID != want[i].ID {
									t.Fatalf("%s: row %d is %s, want %s", name, i, got[i].Email, want[i].Email)
								}
							}
							if len(pages) > 2 {
								fl.After, fl.Before = "", pages[2].PrevCursor
								back, err := store.FindUsers(ctx, v, fl)
								if err != nil {
									t.Fatal(err)
								}
								if len(back.Rows) != len(pages[1].Rows) || back.Rows[0].ID != pages[1].Rows[0].ID ||
									back.Start != pages[1].Start || back.NextCursor == "" || back.PrevCursor == "" {
									t.Errorf("%s: going back from page 3 does not give page 2 (start %d)", name, back.Start)
								}
							}
						}
					}
				}
			}
			if bounds == 0 {
				t.Error("no question took the plan that counts up to a bound")
			}
			t.Logf("%d questions paged through, %d pages with a bound for a count", checked, bounds)
		})
	}
}
