package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
	"switchboard/models/notify"
)

// BenchmarkSummaries_DailyRun10k measures one daily run for 10,000
// recipients: Notification users over 1,000 companies, one in ten with
// all of their three companies, 60,000 calls over the last 30 days.
// Each op is a whole run: find who is due, compute the reports, render
// every email and write them to the outbox (issue 17's target: ≤ 10 s).
//
//	go test -run '^$' -bench Summaries_DailyRun10k -benchtime 3x ./models/notify
func BenchmarkSummaries_DailyRun10k(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b, "sqlite").seed()
	db := f.store.DB()
	chicago, _ := time.LoadLocation("America/Chicago")
	f.clock.Set(time.Date(2026, 11, 1, 12, 0, 0, 0, chicago))
	const companies, recipients = 1000, 10000
	cos := make([]models.Company, companies)
	for i := range cos {
		cos[i] = models.Company{AccountID: f.account.ID, Name: fmt.Sprintf("Company %04d", i), Status: models.CompanyActive, TimeZone: "America/Chicago"}
	}
	must(b, db.CreateInBatches(cos, 500).Error)
	must(b, db.Model(&models.Account{}).Where("id = ?", f.account.ID).Update("time_zone", "America/Chicago").Error)
	now := f.clock.Now()
	people := make([]models.Membership, recipients)
	for i := range people {
		people[i] = models.Membership{AccountID: f.account.ID, FirstName: "Person", LastName: fmt.Sprint(i),
			Email: fmt.Sprintf("p%05d@example.com", i), SortName: fmt.Sprintf("person %05d", i), Type: models.Notification,
			Status: models.MemberActive, CreatedAt: now, UpdatedAt: now}
	}
	must(b, db.CreateInBatches(people, 500).Error)
	var assignments []models.Assignment
	var subs []notify.Subscription
	admin := f.admin.Membership
	for i, p := range people {
		home := cos[i%companies]
		sub := notify.Subscription{AccountID: f.account.ID, MembershipID: p.ID, CompanyID: home.ID, Kind: notify.DailySummary,
			Active: true, ActiveSince: now, SetByID: &admin.ID, SetByName: admin.FullName(), CreatedAt: now, UpdatedAt: now}
		assignments = append(assignments, models.Assignment{MembershipID: p.ID, CompanyID: home.ID, CreatedAt: now})
		if i%10 == 0 {
			for j := 1; j <= 2; j++ {
				assignments = append(assignments, models.Assignment{MembershipID: p.ID, CompanyID: cos[(i+j*37)%companies].ID, CreatedAt: now})
			}
			sub.CompanyID = 0
		}
		subs = append(subs, sub)
	}
	must(b, db.CreateInBatches(assignments, 500).Error)
	must(b, db.CreateInBatches(subs, 500).Error)
	f.clock.Set(time.Date(2026, 11, 30, 12, 0, 0, 0, chicago))
	if _, err := f.calls.SeedCalls(ctx, f.account.ID, cos, calls.SeedOptions{Calls: 60000, Days: 30, Seed: 7}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		f.clock.Set(time.Date(2026, 12, 1+i, 8, 0, 0, 0, chicago))
		res, err := f.notify.SendDueSummaries(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.Enqueued != recipients {
			b.Fatalf("run %d wrote %d summaries, want %d", i, res.Enqueued, recipients)
		}
		b.StopTimer()
		f.drain()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/run")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*recipients), "µs/recipient")
}

// BenchmarkCallCompleted measures the webhook that ends a call
// (CallStatus, its transaction included) without the notifications area,
// with it and nobody subscribed, and with five people to alert: the
// difference is what alerts add to a completed-call webhook (issue 17's
// target: ≤ 5 ms).
//
//	go test -run '^$' -bench CallCompleted -count 6 ./models/notify | benchstat -
func BenchmarkCallCompleted(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name        string
		area        bool
		subscribers int
	}{{"no-area", false, 0}, {"nobody-subscribed", true, 0}, {"5-alerts", true, 5}} {
		b.Run(c.name, func(b *testing.B) {
			var f *fixture
			if c.area {
				f = newFixture(b, "sqlite").seed()
			} else {
				// The calls area alone, as before issue 17.
				ck := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
				store := modelstest.Open(b, models.WithClock(ck.Now))
				area, err := calls.Open(ctx, store)
				must(b, err)
				store.RegisterArea(area.Area())
				f = &fixture{t: b, store: store, calls: area, clock: ck}
				f.seed()
			}
			for i := range c.subscribers {
				p := f.person(f.account, models.Reporting, fmt.Sprintf("R%d", i), f.acme)
				f.set(p, p, &f.acme, notify.Choice{Calls: notify.EveryCall})
			}
			f.number(f.acme, "+14155550134", "Main line", "Google Ads")
			sids := make([]string, b.N)
			for i := range sids {
				sids[i] = f.sid("CA")
				_, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: sids[i], From: fmt.Sprintf("+1202555%04d", i%10000), To: "+14155550134"})
				must(b, err)
			}
			b.ResetTimer()
			for i := range b.N {
				must(b, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sids[i], Status: "completed", Duration: "30", From: "+12025550000", To: "+14155550134"}))
			}
			b.StopTimer()
			if c.subscribers > 0 {
				var n int64
				must(b, f.store.DB().Model(&models.OutboxMessage{}).Where("kind = ?", "alert_calls").Count(&n).Error)
				if n != int64(b.N*c.subscribers) {
					b.Fatalf("%d alerts for %d calls", n, b.N)
				}
			}
		})
	}
}
