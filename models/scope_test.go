package models_test

import (
	"context"
	"slices"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// scopeOracle answers what a viewer may see, from the fixture's rows and
// the rule in policy.go, without the store's queries.
type scopeOracle struct {
	companies map[uint]models.Company
	assigned  map[uint][]uint // member → companies
}

func newScopeOracle(t *testing.T, f *usersFixture) *scopeOracle {
	o := &scopeOracle{companies: map[uint]models.Company{}, assigned: map[uint][]uint{}}
	for _, c := range f.companies {
		o.companies[c.ID] = c
	}
	var pairs []models.Assignment
	must(t, f.store.DB().Find(&pairs).Error)
	for _, p := range pairs {
		o.assigned[p.MembershipID] = append(o.assigned[p.MembershipID], p.CompanyID)
	}
	return o
}

// mine is the viewer's active companies; nil means every one (an Admin).
func (o *scopeOracle) mine(v *models.Viewer) map[uint]bool {
	if v.Type().SeesAllCompanies() {
		return nil
	}
	out := map[uint]bool{}
	for _, c := range o.assigned[v.Membership.ID] {
		if o.companies[c].Status == models.CompanyActive {
			out[c] = true
		}
	}
	return out
}

// named is what a row about m may name to v, A → Z.
func (o *scopeOracle) named(v *models.Viewer, m uint) []string {
	mine := o.mine(v)
	var names []string
	for _, c := range o.assigned[m] {
		if o.companies[c].Status == models.CompanyActive && (mine == nil || mine[c]) {
			names = append(names, o.companies[c].Name)
		}
	}
	slices.Sort(names)
	return names
}

func (o *scopeOracle) sees(v *models.Viewer, m models.Membership) bool {
	if v.Type().SeesAllCompanies() || m.Type == models.Admin || m.ID == v.Membership.ID {
		return true
	}
	return len(o.named(v, m.ID)) > 0
}

// A users list row names and counts only the companies its viewer sees,
// for every viewer of a mixed account; "Invite user" offers a Manager
// exactly the Reporting and Notification people he already sees who are
// not on the company yet; and adding anyone else is a 404 that writes
// nothing.
func TestScope_RowsCandidatesAndAddsFollowTheViewersScope(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 60)
			o := newScopeOracle(t, f)
			ctx := context.Background()
			viewers := []*models.Viewer{f.admin}
			for _, m := range f.members {
				if (m.Type == models.Manager || m.Type == models.Reporting) && m.Status == models.MemberActive {
					viewers = append(viewers, &models.Viewer{Membership: m, Account: f.account})
				}
			}
			managers := 0
			for _, v := range viewers {
				page, err := store.FindUsers(ctx, v, models.UserFilter{Size: 100})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range page.Rows {
					if r.Type == models.Admin {
						continue
					}
					want := o.named(v, r.ID)
					if r.CompanyCount != len(want) || !slices.Equal(r.Companies, want[:min(len(want), 3)]) {
						t.Errorf("%s (%s) reads %s's companies as %d %v, want %d %v",
							v.Membership.Email, v.Type(), r.Email, r.CompanyCount, r.Companies, len(want), want)
					}
				}
				if v.Type() != models.Manager {
					continue
				}
				managers++
				for c := range o.mine(v) {
					company := o.companies[c]
					got, _, err := store.CompanyCandidates(ctx, v, &company, "")
					if err != nil {
						t.Fatal(err)
					}
					var want []string
					for _, m := range f.members {
						if (m.Type == models.Reporting || m.Type == models.Notification) && o.sees(v, m) && !slices.Contains(o.assigned[m.ID], c) {
							want = append(want, m.Email)
						}
					}
					var gotEmails []string
					for _, m := range got {
						gotEmails = append(gotEmails, m.Email)
					}
					slices.Sort(want)
					slices.Sort(gotEmails)
					if !slices.Equal(gotEmails, want) {
						t.Errorf("%s's candidates for %s = %v, want %v", v.Membership.Email, company.Name, gotEmails, want)
					}
					// Anyone he does not see cannot be added, and nothing is written.
					for _, m := range f.members {
						if o.sees(v, m) || m.Type == models.Admin {
							continue
						}
						var before, after int64
						must(t, store.DB().Model(&models.Assignment{}).Count(&before).Error)
						_, _, err := store.AssignCompany(ctx, v, m.ID, c, "")
						must(t, store.DB().Model(&models.Assignment{}).Count(&after).Error)
						if models.ErrorCode(err) != models.NotFound || after != before {
							t.Errorf("%s adds %s, whom he cannot see: err %v, assignments %d → %d", v.Membership.Email, m.Email, err, before, after)
						}
					}
				}
			}
			if managers == 0 {
				t.Fatal("the fixture has no active Manager")
			}
		})
	}
}
