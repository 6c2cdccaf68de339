package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
	"switchboard/models/notify"
)

// lockedClock is a clock two servers read while a test moves it.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *lockedClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestSummaries_TwoSchedulersSendOnce: two servers on one database, each
// with its scheduler and job runner, tick and run at the same moments: the
// morning's summaries are written once per recipient, and ticking again
// (the next quarter hour's run on the other server) writes none.
func TestSummaries_TwoSchedulersSendOnce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			chicago, _ := time.LoadLocation("America/Chicago")
			clock := &lockedClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, chicago)}
			stores := modelstest.OpenServers(t, dialect, 2, models.WithClock(clock.Now))
			base, _ := url.Parse("http://127.0.0.1:1")
			var servers []*Server
			for _, store := range stores {
				area, err := calls.Open(ctx, store)
				if err != nil {
					t.Fatal(err)
				}
				store.RegisterArea(area.Area())
				srv, err := New(ctx, Config{BaseURL: base, Calls: area}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					t.Fatal(err)
				}
				servers = append(servers, srv)
			}
			db := stores[0].DB()
			account := models.Account{Number: "4000000001", Name: "Acme Calls", Status: models.AccountActive, TimeZone: "America/Chicago"}
			must(t, db.Create(&account).Error)
			co := models.Company{AccountID: account.ID, Name: "Acme Plumbing", Status: models.CompanyActive, TimeZone: "America/Chicago"}
			must(t, db.Create(&co).Error)
			const people = 30
			now := clock.Now()
			for i := range people {
				m := models.Membership{AccountID: account.ID, FirstName: "P", LastName: fmt.Sprint(i), Email: fmt.Sprintf("p%d@example.com", i),
					SortName: fmt.Sprintf("p %d", i), Type: models.Notification, Status: models.MemberActive}
				must(t, db.Create(&m).Error)
				must(t, db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: co.ID}).Error)
				must(t, db.Create(&notify.Subscription{AccountID: account.ID, MembershipID: m.ID, CompanyID: co.ID, Kind: notify.DailySummary,
					Active: true, ActiveSince: now, SetByName: "Ada Admin", CreatedAt: now, UpdatedAt: now}).Error)
			}
			tickAndRunBoth := func() {
				t.Helper()
				var wg sync.WaitGroup
				errs := make(chan error, 2)
				for _, srv := range servers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := srv.Scheduler.Tick(ctx); err != nil {
							errs <- err
							return
						}
						for {
							ran, err := srv.Jobs.RunOne(ctx)
							if err != nil {
								errs <- err
								return
							}
							if !ran {
								return
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
			}
			count := func() (total int64, people int64) {
				must(t, db.Model(&models.OutboxMessage{}).Where("kind = ?", "summary_daily").Count(&total).Error)
				must(t, db.Model(&models.OutboxMessage{}).Where("kind = ?", "summary_daily").Distinct("membership_id").Count(&people).Error)
				return
			}
			for day := 23; day <= 24; day++ {
				for _, min := range []int{0, 15, 30} {
					clock.Set(time.Date(2026, 11, day, 8, min, 0, 0, chicago))
					tickAndRunBoth()
				}
				total, distinct := count()
				want := int64((day - 22) * people)
				if total != want || distinct != people {
					t.Errorf("after %d Nov 08:30: %d summaries to %d people, want %d to %d", day, total, distinct, want, people)
				}
			}
		})
	}
}
