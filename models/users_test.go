package models_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// usersFixture is an account with companies and members of every type and
// status, written straight to the database.
type usersFixture struct {
	store     *models.Store
	account   models.Account
	companies []models.Company
	admin     *models.Viewer
	members   []models.Membership
}

func newUsersFixture(t *testing.T, store *models.Store, n int) *usersFixture {
	t.Helper()
	db := store.DB()
	now := store.Now()
	f := &usersFixture{store: store, account: models.Account{Number: "1000000001", Name: "Acme", Status: models.AccountActive}}
	must(t, db.Create(&f.account).Error)
	other := models.Account{Number: "1000000002", Name: "Other", Status: models.AccountActive}
	must(t, db.Create(&other).Error)
	for i, name := range []string{"Alpha Plumbing", "Beta Roofing", "Gamma Dental", "Delta Legal"} {
		c := models.Company{AccountID: f.account.ID, Name: name, Status: models.CompanyActive, TimeZone: "UTC"}
		if i == 3 {
			c.Status = models.CompanyDisabled
		}
		must(t, db.Create(&c).Error)
		f.companies = append(f.companies, c)
	}
	firsts := []string{"Ada", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivan", "Jo"}
	lasts := []string{"Lovelace", "Stone", "Park", "Reyes", "Ng", "Olsen"}
	for i := 0; i < n; i++ {
		typ := models.UserTypes[i%4]
		status := []models.MemberStatus{models.MemberActive, models.MemberActive, models.MemberInvited, models.MemberDisabled}[i%4]
		if i == 0 {
			typ, status = models.Admin, models.MemberActive
		}
		first, last := firsts[i%len(firsts)], lasts[(i/len(firsts))%len(lasts)]
		m := models.Membership{AccountID: f.account.ID, FirstName: first, LastName: fmt.Sprintf("%s%d", last, i),
			Email: fmt.Sprintf("%s.%d@example.com", lower(first), i), Type: typ, Status: status}
		m.SortName = lower(m.FirstName + " " + m.LastName)
		if status == models.MemberActive && i%3 != 0 {
			m.LastActiveAt = now.Add(-time.Duration(i) * time.Hour)
		}
		must(t, db.Create(&m).Error)
		if typ != models.Admin {
			for j := 0; j <= i%3; j++ {
				must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: f.companies[(i+j)%4].ID}).Error)
			}
		}
		f.members = append(f.members, m)
	}
	// Someone in another account must never show up.
	must(t, db.Create(&models.Membership{AccountID: other.ID, FirstName: "Ada", LastName: "Elsewhere",
		Email: "ada.0@example.com", SortName: "ada elsewhere", Type: models.Admin, Status: models.MemberActive}).Error)
	f.admin = &models.Viewer{Membership: f.members[0], Account: f.account}
	return f
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func emails(rows []models.UserRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Email
	}
	return out
}

func TestFindUsers_FiltersAndSearch(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 40)
			ctx := context.Background()
			count := func(fl models.UserFilter) int64 {
				t.Helper()
				p, err := store.FindUsers(ctx, f.admin, fl)
				if err != nil {
					t.Fatal(err)
				}
				return p.Total
			}
			expect := func(pred func(m models.Membership) bool) int64 {
				var n int64
				for _, m := range f.members {
					if pred(m) {
						n++
					}
				}
				return n
			}
			assigned := func(m models.Membership, c uint) bool {
				var n int64
				store.DB().Model(&models.Assignment{}).Where("membership_id = ? AND company_id = ?", m.ID, c).Count(&n)
				return n > 0
			}
			cases := []struct {
				name   string
				filter models.UserFilter
				want   func(models.Membership) bool
			}{
				{"everyone", models.UserFilter{}, func(models.Membership) bool { return true }},
				{"type", models.UserFilter{Type: models.Reporting}, func(m models.Membership) bool { return m.Type == models.Reporting }},
				{"status", models.UserFilter{Status: models.MemberInvited}, func(m models.Membership) bool { return m.Status == models.MemberInvited }},
				{"type and status", models.UserFilter{Type: models.Manager, Status: models.MemberActive}, func(m models.Membership) bool {
					return m.Type == models.Manager && m.Status == models.MemberActive
				}},
				{"company", models.UserFilter{CompanyID: f.companies[1].ID}, func(m models.Membership) bool { return assigned(m, f.companies[1].ID) }},
				{"name substring", models.UserFilter{Query: "LOVEL"}, func(m models.Membership) bool { return m.LastName[:4] == "Love" }},
				{"email prefix", models.UserFilter{Query: "cleo."}, func(m models.Membership) bool { return m.FirstName == "Cleo" }},
				{"like wildcards are literal", models.UserFilter{Query: "%"}, func(models.Membership) bool { return false }},
				{"underscore is literal", models.UserFilter{Query: "a_a"}, func(models.Membership) bool { return false }},
			}
			for _, c := range cases {
				if got, want := count(c.filter), expect(c.want); got != want || (c.name != "like wildcards are literal" && c.name != "underscore is literal" && want == 0) {
					t.Errorf("%s: %d people, want %d", c.name, got, want)
				}
			}
		})
	}
}

func TestFindUsers_KeysetPagingVisitsEveryoneOnce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 53)
			ctx := context.Background()
			for _, sort := range []string{models.SortByName, models.SortByLastActive} {
				var seen []string
				var pages []*models.UserPage
				filter := models.UserFilter{Sort: sort, Limit: 10}
				for {
					p, err := store.FindUsers(ctx, f.admin, filter)
					if err != nil {
						t.Fatal(err)
					}
					pages = append(pages, p)
					seen = append(seen, emails(p.Rows)...)
					if p.NextCursor == "" {
						break
					}
					filter.After, filter.Before = p.NextCursor, ""
				}
				if len(seen) != 53 || len(pages) != 6 {
					t.Fatalf("%s: %d rows over %d pages, want 53 over 6", sort, len(seen), len(pages))
				}
				uniq := slices.Clone(seen)
				slices.Sort(uniq)
				if len(slices.Compact(uniq)) != 53 {
					t.Errorf("%s: a row appeared twice", sort)
				}
				// The order is the promised one.
				var all []models.Membership
				order := "sort_name ASC, id ASC"
				if sort == models.SortByLastActive {
					order = "last_active_at DESC, id DESC"
				}
				store.DB().Where("account_id = ?", f.account.ID).Order(order).Find(&all)
				for i, m := range all {
					if seen[i] != m.Email {
						t.Fatalf("%s: row %d is %s, want %s", sort, i, seen[i], m.Email)
					}
				}
				// Going back from the third page gives the second again.
				back, err := store.FindUsers(ctx, f.admin, models.UserFilter{Sort: sort, Limit: 10, Before: pages[2].PrevCursor})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(emails(back.Rows), emails(pages[1].Rows)) {
					t.Errorf("%s: previous page = %v, want %v", sort, emails(back.Rows), emails(pages[1].Rows))
				}
				if pages[0].PrevCursor != "" {
					t.Errorf("%s: the first page offers a previous page", sort)
				}
			}
		})
	}
}

func TestFindUsers_RowsCarryCompaniesAndInvitations(t *testing.T) {
	store := modelstest.Open(t)
	f := newUsersFixture(t, store, 12)
	p, err := store.FindUsers(context.Background(), f.admin, models.UserFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rows {
		if r.Type == models.Admin && !r.AllCompanies {
			t.Errorf("%s: an Admin should show all companies", r.Email)
		}
		var active int64
		store.DB().Table("assignments").Joins("JOIN companies ON companies.id = assignments.company_id").
			Where("membership_id = ? AND companies.status = ?", r.ID, models.CompanyActive).Count(&active)
		if r.Type != models.Admin && int64(r.CompanyCount) != active {
			t.Errorf("%s: %d companies, want %d (disabled ones hidden)", r.Email, r.CompanyCount, active)
		}
		if !slices.IsSorted(r.Companies) {
			t.Errorf("%s: companies not in order: %v", r.Email, r.Companies)
		}
	}
}

func TestFindUsers_ManagerSeesOnlySharedCompanies(t *testing.T) {
	store := modelstest.Open(t)
	f := newUsersFixture(t, store, 24)
	var manager models.Membership
	for _, m := range f.members {
		if m.Type == models.Manager {
			manager = m
			break
		}
	}
	v := &models.Viewer{Membership: manager, Account: f.account}
	p, err := store.FindUsers(context.Background(), v, models.UserFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var mine []uint
	store.DB().Model(&models.Assignment{}).Joins("JOIN companies ON companies.id = assignments.company_id").
		Where("membership_id = ? AND companies.status = ?", manager.ID, models.CompanyActive).Pluck("company_id", &mine)
	for _, r := range p.Rows {
		if r.Type == models.Admin {
			continue
		}
		var shared int64
		store.DB().Model(&models.Assignment{}).Where("membership_id = ? AND company_id IN ?", r.ID, mine).Count(&shared)
		if shared == 0 {
			t.Errorf("manager sees %s who shares none of their companies", r.Email)
		}
	}
	if p.Total == int64(len(f.members)) {
		t.Error("manager sees everyone")
	}
}

func TestFindUsers_BadInputs(t *testing.T) {
	store := modelstest.Open(t)
	f := newUsersFixture(t, store, 3)
	for _, fl := range []models.UserFilter{
		{After: "not-a-cursor!"}, {Before: "%%%"}, {Sort: "email"}, {Type: "SuperAdmin"}, {Status: "gone"},
		{Query: string(make([]byte, 101))},
	} {
		_, err := store.FindUsers(context.Background(), f.admin, fl)
		if models.ErrorCode(err) != models.BadRequest {
			t.Errorf("filter %+v: err %v, want bad request", fl, err)
		}
	}
}
