package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// TestViewerCompanies_FollowTheDatabaseAtTheNextRequest: the companies a
// signed-in person may see (the header's current company, a capability's
// scope, one company's right) come from the session's one query and the
// company cache, with no query of their own. Changes made behind the
// store's back, as another server would make them (an assignment added or
// removed, a company disabled or enabled, a promotion), are in the very
// next request's scope; a change this server makes is in the scope of the
// request that made it.
func TestViewerCompanies_FollowTheDatabaseAtTheNextRequest(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			db := store.DB()
			f := newUsersFixture(t, store, 4)
			alpha, beta, gamma, delta := f.companies[0], f.companies[1], f.companies[2], f.companies[3]
			m := f.members[1]
			if m.Type != models.Manager || m.Status != models.MemberActive {
				t.Fatalf("fixture: member 1 is %s, %s", m.Type, m.Status)
			}
			login := models.Login{Email: m.Email, PasswordHash: "argon2id$test", PasswordChangedAt: store.Now().Add(-time.Hour)}
			must(t, db.Create(&login).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Update("login_id", login.ID).Error)
			m.LoginID = &login.ID
			secret, err := store.StartSession(ctx, &m, "192.0.2.1", "test")
			must(t, err)

			// next is the viewer of the next request.
			next := func() *models.Viewer {
				t.Helper()
				v, err := store.LoadViewer(ctx, secret)
				must(t, err)
				return v
			}
			// want checks every question about the viewer's companies.
			want := func(v *models.Viewer, names ...string) {
				t.Helper()
				sc, err := store.ScopeOf(ctx, v, models.CapReviewCalls)
				must(t, err)
				var got []string
				for _, c := range sc.Companies {
					got = append(got, c.Name)
				}
				if !slices.Equal(got, names) {
					t.Fatalf("scope %v, want %v", got, names)
				}
				for _, c := range f.companies {
					co, err := store.CompanyFor(ctx, v, models.CapReviewCalls, c.ID)
					in := slices.Contains(names, c.Name)
					switch {
					case in && (err != nil || co.ID != c.ID || co.Name != c.Name):
						t.Fatalf("company %s: %v, %v; want it", c.Name, co, err)
					case !in && models.ErrorCode(err) != models.NotFound:
						t.Fatalf("company %s: %v, want 404", c.Name, err)
					}
				}
				for _, preferred := range []uint{0, beta.ID, gamma.ID} {
					cur, several, err := store.CurrentCompany(ctx, v, preferred)
					must(t, err)
					switch {
					case len(names) == 0:
						if cur != nil {
							t.Fatalf("current company %s, want none", cur.Name)
						}
					case cur == nil:
						t.Fatalf("no current company, want one of %v", names)
					case slices.ContainsFunc(names, func(n string) bool { return n == nameOf(f.companies, preferred) }):
						if cur.ID != preferred {
							t.Fatalf("current company %s, want the preferred %s", cur.Name, nameOf(f.companies, preferred))
						}
					case cur.Name != names[0]:
						t.Fatalf("current company %s, want the first, %s", cur.Name, names[0])
					}
					if cur != nil && several != (len(names) > 1) {
						t.Fatalf("several = %v with %v", several, names)
					}
				}
			}
			want(next(), "Beta Roofing", "Gamma Dental")

			// Another server assigns and unassigns.
			must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: alpha.ID}).Error)
			must(t, db.Where("membership_id = ? AND company_id = ?", m.ID, beta.ID).Delete(&models.Assignment{}).Error)
			want(next(), "Alpha Plumbing", "Gamma Dental")
			// … disables one of the companies, enables and assigns another.
			must(t, db.Model(&models.Company{}).Where("id = ?", gamma.ID).Update("status", models.CompanyDisabled).Error)
			want(next(), "Alpha Plumbing")
			must(t, db.Model(&models.Company{}).Where("id = ?", delta.ID).Update("status", models.CompanyActive).Error)
			want(next(), "Alpha Plumbing")
			must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: delta.ID}).Error)
			want(next(), "Alpha Plumbing", "Delta Legal")
			// … removes every assignment.
			must(t, db.Where("membership_id = ?", m.ID).Delete(&models.Assignment{}).Error)
			want(next(), names()...)
			// … promotes him: an Admin sees the account's active companies,
			// and the account-wide scope leaves out the disabled one.
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Update("type", models.Admin).Error)
			v := next()
			want(v, "Alpha Plumbing", "Beta Roofing", "Delta Legal")
			sc, err := store.ScopeOf(ctx, v, models.CapReviewCalls)
			must(t, err)
			if !sc.WholeAccount || !slices.Equal(sc.Inactive, []uint{gamma.ID}) {
				t.Fatalf("Admin's scope: whole account %v, inactive %v; want true, [%d]", sc.WholeAccount, sc.Inactive, gamma.ID)
			}
			must(t, db.Model(&models.Membership{}).Where("id = ?", m.ID).Update("type", models.Manager).Error)
			must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: alpha.ID}).Error)
			must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: beta.ID}).Error)

			// This server removes him from a company during his request
			// (an Admin's action, as one of his own would be): the rest of
			// the request already knows.
			v = next()
			want(v, "Alpha Plumbing", "Beta Roofing")
			_, _, err = store.UnassignCompany(ctx, f.admin, m.ID, alpha.ID, "192.0.2.9")
			must(t, err)
			want(v, "Beta Roofing")
			want(next(), "Beta Roofing")
		})
	}
}

func names(n ...string) []string { return n }

func nameOf(cs []models.Company, id uint) string {
	for _, c := range cs {
		if c.ID == id {
			return c.Name
		}
	}
	return ""
}
