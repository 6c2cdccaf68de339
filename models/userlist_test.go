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
		if status == models.MemberInvited && i%5 != 0 {
			// Links that still work and links that have expired; every
			// fifth invitee has none.
			expires := now.Add(time.Duration(i%7-3)*24*time.Hour + time.Hour)
			must(t, db.Create(&models.Token{Hash: fmt.Sprintf("%064d", i), Purpose: models.PurposeInvitation, AccountID: &f.account.ID,
				MembershipID: &m.ID, ExpiresAt: expires, CreatedAt: expires.Add(-models.InvitationLinkTTL)}).Error)
		}
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

func TestFindUsers_RowsCarryCompaniesAndInvitations(t *testing.T) {
	store := modelstest.Open(t)
	f := newUsersFixture(t, store, 12)
	p, err := store.FindUsers(context.Background(), f.admin, models.UserFilter{Size: 50})
	if err != nil {
		t.Fatal(err)
	}
	invited := 0
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
		if r.Status == models.MemberInvited && r.Invitation != nil {
			invited++
		}
		var live []models.Token
		must(t, store.DB().Where("membership_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", r.ID, models.PurposeInvitation).Find(&live).Error)
		if (r.Invitation == nil) != (len(live) == 0) || (r.Invitation != nil && !r.Invitation.ExpiresAt.Equal(live[0].ExpiresAt)) {
			t.Errorf("%s: invitation %+v, live links %+v", r.Email, r.Invitation, live)
		}
	}
	if invited == 0 {
		t.Fatal("the fixture has no invitee with a link")
	}
}

// TestFindUsers_NonAdminSeesOnlyTheirCompaniesInRows: a Manager sees, in
// each row, only those of the person's companies that are the Manager's
// own (and active); the count is of those.
func TestFindUsers_NonAdminSeesOnlyTheirCompaniesInRows(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			f := newUsersFixture(t, store, 24)
			db := store.DB()
			// A Manager with the first company only, and a colleague on all
			// three active ones.
			manager, colleague := f.members[1], f.members[2]
			must(t, db.Where("membership_id IN ?", []uint{manager.ID, colleague.ID}).Delete(&models.Assignment{}).Error)
			must(t, db.Create(&models.Assignment{MembershipID: manager.ID, CompanyID: f.companies[0].ID}).Error)
			for _, c := range f.companies[:3] {
				must(t, db.Create(&models.Assignment{MembershipID: colleague.ID, CompanyID: c.ID}).Error)
			}
			v := &models.Viewer{Membership: manager, Account: f.account}
			p, err := store.FindUsers(context.Background(), v, models.UserFilter{Query: colleague.Email})
			must(t, err)
			if len(p.Rows) != 1 || p.Rows[0].CompanyCount != 1 || !slices.Equal(p.Rows[0].Companies, []string{f.companies[0].Name}) {
				t.Fatalf("the Manager sees %+v, want only %s", p.Rows, f.companies[0].Name)
			}
			p, err = store.FindUsers(context.Background(), f.admin, models.UserFilter{Query: colleague.Email})
			must(t, err)
			if len(p.Rows) != 1 || p.Rows[0].CompanyCount != 3 {
				t.Fatalf("the Admin sees %+v, want three companies", p.Rows)
			}
		})
	}
}

func TestFindUsers_BadInputs(t *testing.T) {
	store := modelstest.Open(t)
	f := newUsersFixture(t, store, 60)
	ctx := context.Background()
	first, err := store.FindUsers(ctx, f.admin, models.UserFilter{Size: 25})
	must(t, err)
	for _, fl := range []models.UserFilter{
		{After: "not-a-cursor!"}, {Before: "%%%"}, {Sort: "phone"}, {Dir: "up"}, {Type: "SuperAdmin"}, {Status: "gone"},
		{Status: "Active"}, {Size: 10}, {Size: -1}, {Query: strings.Repeat("a", 101)}, {Query: "a\x00b"},
		// A cursor of another order, or both directions at once.
		{Sort: models.SortByEmail, After: first.NextCursor}, {Size: 25, Dir: models.Descending, After: first.NextCursor},
		{Size: 25, After: first.NextCursor, Before: first.NextCursor},
	} {
		_, err := store.FindUsers(ctx, f.admin, fl)
		if models.ErrorCode(err) != models.BadRequest {
			t.Errorf("filter %+v: err %v, want bad request", fl, err)
		}
	}
}
