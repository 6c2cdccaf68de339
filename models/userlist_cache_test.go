package models_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// listText is a page as a test renders it: everything a row shows.
func listText(p *models.UserPage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "total %d\n", p.Total)
	for _, r := range p.Rows {
		fmt.Fprintf(&b, "%d %s <%s> %s %s companies=%v/%d all=%v active=%s problem=%q", r.ID, r.FullName(), r.Email,
			r.Type, r.Status, r.Companies, r.CompanyCount, r.AllCompanies, r.LastActiveAt.UTC().Format(time.RFC3339), r.DeliveryProblem)
		if inv := r.Invitation; inv != nil {
			fmt.Fprintf(&b, " invitation expires=%s expired=%v", inv.ExpiresAt.UTC().Format(time.RFC3339), inv.Expired)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestUserList_CacheFollowsChangesFromAnotherServer reads the list through
// one store's cache while a second store on the same database, as another
// server would, changes everything a row shows; after each change the
// cached answer must be what the database says now. Being active changes
// nothing until the minute turns: the cache is kept, and "last active"
// follows a minute late.
func TestUserList_CacheFollowsChangesFromAnotherServer(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			clock := modelstest.NewClock()
			stores := modelstest.OpenServers(t, dialect, 2, models.WithClock(clock.Now))
			a, b := stores[0], stores[1]
			f := newUsersFixture(t, a, 16)
			var manager models.Membership
			for _, m := range f.members {
				if m.Type == models.Manager && m.Status == models.MemberActive {
					manager = m
					break
				}
			}
			viewers := map[string]*models.Viewer{"admin": f.admin, "manager": {Membership: manager, Account: f.account}}
			renders := 0
			render := func(p *models.UserPage) (string, error) {
				renders++
				return listText(p), nil
			}
			filter := models.UserFilter{Size: 50}
			// check asks both viewers through a's cache and compares with a
			// fresh read through b; it returns how many pages a rendered.
			check := func(what string) int {
				t.Helper()
				before := renders
				for name, v := range viewers {
					page, rows, err := a.UserList(ctx, v, filter, render)
					must(t, err)
					fresh, err := b.FindUsers(ctx, v, filter)
					must(t, err)
					if want := listText(fresh); string(rows) != want || listText(page) != want {
						t.Fatalf("after %s, %s's list through the cache:\n%s\nwant:\n%s", what, name, rows, want)
					}
				}
				return renders - before
			}
			if n := check("the first read"); n != 2 {
				t.Fatalf("the first read rendered %d pages, want 2", n)
			}
			if n := check("nothing"); n != 0 {
				t.Fatalf("asking again rendered %d pages, want both from the cache", n)
			}

			// Someone is active: no page is read again within the minute.
			db := b.DB()
			active := f.members[1]
			must(t, db.Model(&models.Membership{}).Where("id = ?", active.ID).Update("last_active_at", clock.Now()).Error)
			for name, v := range viewers {
				_, rows, err := a.UserList(ctx, v, filter, render)
				must(t, err)
				if strings.Contains(string(rows), clock.Now().UTC().Format(time.RFC3339)) {
					t.Fatalf("%s's cached list already shows the new activity:\n%s", name, rows)
				}
			}
			if renders != 2 {
				t.Fatalf("an activity stamp made the cache read %d pages again", renders-2)
			}
			clock.Advance(time.Minute)
			if n := check("a minute"); n != 2 {
				t.Fatalf("a minute later %d pages were read again, want 2", n)
			}

			invitee := f.members[2]
			if invitee.Status != models.MemberInvited {
				t.Fatalf("fixture: member 2 is %s, want invited", invitee.Status)
			}
			company := f.companies[2] // not yet member 7's
			changes := []struct {
				what   string
				change func() error
			}{
				{"a rename", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", f.members[3].ID).
						Updates(map[string]any{"first_name": "Zed", "sort_name": "zed " + lower(f.members[3].LastName)}).Error
				}},
				{"a change of type", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", f.members[5].ID).Update("type", models.Reporting).Error
				}},
				{"a new address", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", f.members[6].ID).Update("email", "new.6@example.com").Error
				}},
				{"someone disabled", func() error {
					return db.Model(&models.Membership{}).Where("id = ?", f.members[1].ID).Update("status", models.MemberDisabled).Error
				}},
				{"a company added to the manager's colleague", func() error {
					return db.Create(&models.Assignment{MembershipID: f.members[7].ID, CompanyID: company.ID}).Error
				}},
				{"the manager's own companies changed", func() error {
					return db.Where("membership_id = ?", manager.ID).Delete(&models.Assignment{}).Error
				}},
				{"a new invitation link", func() error {
					expires := clock.Now().Add(72 * time.Hour)
					return db.Create(&models.Token{Hash: fmt.Sprintf("%064d", 999), Purpose: models.PurposeInvitation, AccountID: &f.account.ID,
						MembershipID: &invitee.ID, ExpiresAt: expires, CreatedAt: clock.Now()}).Error
				}},
				{"the links revoked", func() error {
					return db.Model(&models.Token{}).Where("membership_id = ?", invitee.ID).Update("revoked_at", clock.Now()).Error
				}},
				{"an email that keeps failing", func() error {
					return db.Create(&models.OutboxMessage{AccountID: &f.account.ID, MembershipID: &invitee.ID, Kind: "invitation",
						ToAddress: invitee.Email, Subject: "Welcome", Attempts: 3, NextAttemptAt: clock.Now(),
						LastError: "550 5.1.1 mailbox unknown"}).Error
				}},
				{"the failing email failing again", func() error {
					return db.Model(&models.OutboxMessage{}).Where("membership_id = ?", invitee.ID).
						Updates(map[string]any{"attempts": 4, "last_error": "451 4.7.1 try later"}).Error
				}},
				{"a company renamed", func() error {
					return db.Model(&models.Company{}).Where("id = ?", f.companies[1].ID).Update("name", "Aardvark Roofing").Error
				}},
				{"someone removed", func() error {
					return db.Delete(&models.Membership{}, f.members[9].ID).Error
				}},
				{"someone added", func() error {
					return db.Create(&models.Membership{AccountID: f.account.ID, FirstName: "Aaron", LastName: "Able", SortName: "aaron able",
						Email: "aaron@example.com", Type: models.Admin, Status: models.MemberActive}).Error
				}},
			}
			for _, c := range changes {
				must(t, c.change())
				if n := check(c.what); n == 0 {
					t.Fatalf("after %s the lists came from the cache", c.what)
				}
			}
		})
	}
}

// TestUserList_WithoutCacheReadsEveryTime: --no-cache means no cache.
func TestUserList_WithoutCacheReadsEveryTime(t *testing.T) {
	store := modelstest.Open(t, models.WithoutListCache())
	f := newUsersFixture(t, store, 4)
	renders := 0
	for range 3 {
		_, _, err := store.UserList(context.Background(), f.admin, models.UserFilter{}, func(p *models.UserPage) (string, error) {
			renders++
			return listText(p), nil
		})
		must(t, err)
	}
	if renders != 3 {
		t.Fatalf("%d pages read for 3 questions without a cache", renders)
	}
}
