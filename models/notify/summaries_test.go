package notify_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
	"switchboard/models/notify"
)

// run runs the summaries at the fixture's clock.
func (f *fixture) run() notify.SummaryRun {
	f.t.Helper()
	res, err := f.notify.SendDueSummaries(context.Background())
	must(f.t, err)
	return res
}

// company writes a company of the account in a zone.
func (f *fixture) company(name, zone string) models.Company {
	f.t.Helper()
	co := models.Company{AccountID: f.account.ID, Name: name, Status: models.CompanyActive, TimeZone: zone}
	must(f.t, f.store.DB().Create(&co).Error)
	return co
}

// sent is a summary written to the outbox, with when (on its zone's wall
// clock) and what it covered.
type sent struct {
	at     time.Time
	key    string
	hours  int
	days   int
	late   bool
	to     string
	period calls.Period
}

// drain takes the summaries composed since the last call.
func (f *fixture) drain() []sent {
	f.mail.mu.Lock()
	defer f.mail.mu.Unlock()
	var out []sent
	for _, s := range f.mail.summaries {
		_, _, key := notify.SummaryDue(s.Kind, s.Zone, s.Due)
		out = append(out, sent{at: s.Due.In(s.Zone), key: key, hours: len(s.Total.PerHour), days: len(s.Total.PerDay),
			late: s.Late, to: s.To.Email, period: s.Period})
	}
	f.mail.summaries = nil
	return out
}

// TestSummaries_DailyAcrossDSTAndFarZones runs the scheduler's quarter-hour
// runs through the days around each clock change of America/New_York and
// Europe/Berlin, and in zones at UTC+13 and UTC−11 (whose days start on
// another UTC date): each local day's summary is written once, at 08:00
// on that zone's clock, covering the day before, whose length is 23 or 25
// hours when the clocks changed.
func TestSummaries_DailyAcrossDSTAndFarZones(t *testing.T) {
	for _, c := range []struct {
		zone        string
		start       string // UTC
		days        int
		shortOrLong map[string]int // covered day → hours
	}{
		{"America/New_York", "2026-03-06T00:00:00Z", 4, map[string]int{"2026-03-08": 23}},
		{"America/New_York", "2026-10-30T00:00:00Z", 4, map[string]int{"2026-11-01": 25}},
		{"Europe/Berlin", "2026-03-27T00:00:00Z", 4, map[string]int{"2026-03-29": 23}},
		{"Europe/Berlin", "2026-10-23T00:00:00Z", 4, map[string]int{"2026-10-25": 25}},
		{"Pacific/Apia", "2026-06-01T00:00:00Z", 3, nil},      // UTC+13
		{"Pacific/Pago_Pago", "2026-06-01T00:00:00Z", 3, nil}, // UTC−11
	} {
		t.Run(c.zone+"@"+c.start[:10], func(t *testing.T) {
			f := newFixture(t, "sqlite").seed()
			start, _ := time.Parse(time.RFC3339, c.start)
			f.clock.Set(start)
			co := f.company("Zoned Co", c.zone)
			nora := f.person(f.account, models.Notification, "Nora", co)
			f.set(f.admin, nora, &co, notify.Choice{Daily: true})
			loc, _ := time.LoadLocation(c.zone)
			var got []sent
			for f.clock.Now().Before(start.Add(time.Duration(c.days) * 24 * time.Hour)) {
				f.run()
				got = append(got, f.drain()...)
				f.clock.Advance(15 * time.Minute)
			}
			if len(got) < c.days-1 {
				t.Fatalf("%d summaries in %d days: %+v", len(got), c.days, got)
			}
			seen := map[string]bool{}
			for i, s := range got {
				if s.at.Hour() != 8 || s.at.Minute() != 0 || s.late {
					t.Errorf("summary for %s due at %s (late %v), want 08:00 %s", s.key, s.at, s.late, c.zone)
				}
				if seen[s.key] {
					t.Errorf("the summary of %s was written twice", s.key)
				}
				seen[s.key] = true
				if i > 0 {
					prev, _ := time.Parse("2006-01-02", got[i-1].key)
					if cur, _ := time.Parse("2006-01-02", s.key); !cur.Equal(prev.AddDate(0, 0, 1)) {
						t.Errorf("summaries of %s then %s: a day skipped or repeated", got[i-1].key, s.key)
					}
				}
				day := s.at.AddDate(0, 0, -1).Format("2006-01-02")
				if s.key != day {
					t.Errorf("the summary sent %s covers %s, want the day before (%s)", s.at, s.key, day)
				}
				want := 24
				if h, ok := c.shortOrLong[s.key]; ok {
					want = h
				}
				if s.hours != want {
					t.Errorf("the day %s in %s has %d hours in its chart, want %d", s.key, c.zone, s.hours, want)
				}
				if s.period.From.In(loc).Hour() != 0 || s.period.Location.String() != c.zone {
					t.Errorf("the period of %s starts %s in %s", s.key, s.period.From, s.period.Location)
				}
			}
			for day := range c.shortOrLong {
				if !seen[day] {
					t.Errorf("no summary of the day the clocks changed (%s); got %v", day, keys(got))
				}
			}
		})
	}
}

func keys(ss []sent) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.key)
	}
	return out
}

// TestSummaries_WeeklyAndMonthly runs hourly through ten weeks across a
// clock change: a weekly summary every Monday at 13:00 covering Monday to
// Sunday, a monthly one on each 1st at 13:00 covering the month before.
func TestSummaries_WeeklyAndMonthly(t *testing.T) {
	f := newFixture(t, "sqlite").seed()
	start := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	f.clock.Set(start)
	co := f.company("Zoned Co", "America/New_York")
	rita := f.person(f.account, models.Reporting, "Rita", co)
	f.set(rita, rita, &co, notify.Choice{Weekly: true, Monthly: true})
	var weekly, monthly []sent
	for f.clock.Now().Before(time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)) {
		f.run()
		for _, s := range f.drain() {
			if s.days >= 28 {
				monthly = append(monthly, s)
			} else {
				weekly = append(weekly, s)
			}
		}
		f.clock.Advance(time.Hour)
	}
	if len(weekly) != 10 {
		t.Errorf("%d weekly summaries, want 10: %v", len(weekly), keys(weekly))
	}
	for i, s := range weekly {
		if s.at.Weekday() != time.Monday || s.at.Hour() != 13 || s.days != 7 || s.period.From.Weekday() != time.Monday {
			t.Errorf("weekly summary %s sent %s covering %d days from %s", s.key, s.at, s.days, s.period.From)
		}
		if i > 0 && s.at.Sub(weekly[i-1].at).Round(time.Hour) != 7*24*time.Hour && s.at.Sub(weekly[i-1].at).Round(time.Hour) != 7*24*time.Hour-time.Hour {
			t.Errorf("weekly summaries %s and %s are not a week apart", weekly[i-1].at, s.at)
		}
	}
	want := []string{"2026-02", "2026-03", "2026-04"}
	if got := keys(monthly); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("monthly summaries %v, want %v", got, want)
	}
	for _, s := range monthly {
		if s.at.Day() != 1 || s.at.Hour() != 13 {
			t.Errorf("monthly summary %s sent %s", s.key, s.at)
		}
	}
	if len(monthly) == 3 && (monthly[0].days != 28 || monthly[1].days != 31 || monthly[2].days != 30) {
		t.Errorf("months of %d, %d and %d days", monthly[0].days, monthly[1].days, monthly[2].days)
	}
}

// TestSummaries_DowntimeSendsTheLatestLate: after the servers were down
// for days, the first run writes the latest period's summary once, marked
// late, and not the periods missed before it; a restarted server (a new
// service on the same database) writes nothing again; the next day is on
// time.
func TestSummaries_DowntimeSendsTheLatestLate(t *testing.T) {
	f := newFixture(t, "sqlite").seed()
	chicago, _ := time.LoadLocation("America/Chicago")
	f.clock.Set(time.Date(2026, 11, 16, 7, 0, 0, 0, chicago))
	nora := f.person(f.account, models.Notification, "Nora", f.acme)
	f.set(f.admin, nora, &f.acme, notify.Choice{Daily: true})

	f.clock.Set(time.Date(2026, 11, 16, 8, 0, 0, 0, chicago))
	if res := f.run(); res.Enqueued != 1 || res.Late != 0 {
		t.Fatalf("Monday 08:00: %+v", res)
	}
	f.drain()
	// Down from Monday 08:05 to Thursday 11:00.
	f.clock.Set(time.Date(2026, 11, 19, 11, 0, 0, 0, chicago))
	if res := f.run(); res.Enqueued != 1 || res.Late != 1 {
		t.Fatalf("Thursday 11:00 after downtime: %+v", res)
	}
	got := f.drain()
	if len(got) != 1 || got[0].key != "2026-11-18" || !got[0].late {
		t.Fatalf("after downtime: %+v", got)
	}
	ms := f.outbox("summary_daily")
	last := ms[len(ms)-1]
	if !strings.HasSuffix(last.Subject, "(sent late)") || !strings.Contains(last.TextBody, "was due at 08:00 CST on Thursday, November 19 and is sent late") {
		t.Errorf("late summary says %q:\n%s", last.Subject, last.TextBody)
	}
	// A restarted server finds it written.
	restarted := newFixtureOn(t, f.store, f.clock)
	if res, err := restarted.notify.SendDueSummaries(context.Background()); err != nil || res.Due != 0 || res.Enqueued != 0 {
		t.Errorf("after a restart: %+v %v", res, err)
	}
	f.clock.Set(time.Date(2026, 11, 20, 8, 0, 0, 0, chicago))
	if res := f.run(); res.Enqueued != 1 || res.Late != 0 {
		t.Errorf("Friday 08:00: %+v", res)
	}
	if n := len(f.outbox("summary_daily")); n != 3 {
		t.Errorf("%d summaries in all, want 3 (Monday's, Thursday's late one, Friday's)", n)
	}
}

// TestSummaries_ExactlyOnceUnderConcurrentServers: two servers on one
// database run the summaries at the same moment, several times over, in
// small batches: each recipient's summary of each period is written once.
func TestSummaries_ExactlyOnceUnderConcurrentServers(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
			stores := modelstest.OpenServers(t, dialect, 2, models.WithClock(c.Now))
			a := newFixtureOn(t, stores[0], c).seed()
			b := newFixtureOn(t, stores[1], c)
			a.notify.SetSummaryBatch(7)
			b.notify.SetSummaryBatch(5)
			const people = 40
			for i := range people {
				p := a.person(a.account, models.Notification, fmt.Sprintf("P%02d", i), a.acme, a.bolt)
				if i%2 == 0 {
					a.set(a.admin, p, &a.bolt, notify.Choice{Daily: true})
				} else {
					a.set(a.admin, p, nil, notify.Choice{Daily: true})
				}
			}
			for day := range 2 {
				// 08:00 in Chicago (Acme), after 08:00 in UTC (Bolt) and in
				// Los Angeles' morning for the all-companies ones: run at
				// 16:00 UTC, when all three have come due.
				c.Set(time.Date(2026, 11, 23+day, 16, 0, 0, 0, time.UTC))
				var wg sync.WaitGroup
				errs := make(chan error, 6)
				for _, f := range []*fixture{a, b, a, b, a, b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := f.notify.SendDueSummaries(context.Background())
						errs <- err
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					must(t, err)
				}
				var rows []struct {
					MembershipID uint
					N            int
				}
				must(t, a.store.DB().Model(&models.OutboxMessage{}).Select("membership_id, COUNT(*) AS n").
					Where("kind = ?", "summary_daily").Group("membership_id").Scan(&rows).Error)
				if len(rows) != people {
					t.Errorf("day %d: summaries to %d people, want %d", day, len(rows), people)
				}
				for _, r := range rows {
					if r.N != day+1 {
						t.Errorf("day %d: person %d has %d summaries, want %d", day, r.MembershipID, r.N, day+1)
					}
				}
			}
		})
	}
}

// TestSummaries_SameNumbersAsTheReport: a day's and a week's summary show
// what the company report shows for those days, counted on the company's
// clock (a call at 23:30 in Chicago is that day's, though it is the next
// day in UTC).
func TestSummaries_SameNumbersAsTheReport(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect).seed()
			chicago, _ := time.LoadLocation("America/Chicago")
			rita := f.person(f.account, models.Reporting, "Rita", f.acme)
			f.clock.Set(time.Date(2026, 11, 15, 12, 0, 0, 0, chicago))
			f.set(rita, rita, &f.acme, notify.Choice{Daily: true, Weekly: true})
			f.number(f.acme, "+14155550134", "Main line", "Google Ads")
			at := func(day, hour, min int) { f.clock.Set(time.Date(2026, 11, day, hour, min, 0, 0, chicago)) }
			at(16, 9, 0)
			f.call("+14155550134", "+12025550101", calls.OutcomeAnswered)
			at(20, 10, 0)
			f.call("+14155550134", "+12025550102", calls.OutcomeMissed)
			at(22, 9, 0)
			f.call("+14155550134", "+12025550101", calls.OutcomeAnswered)
			at(22, 13, 0)
			f.call("+14155550134", "+12025550103", calls.OutcomeVoicemail)
			at(22, 23, 30)
			f.call("+14155550134", "+12025550104", calls.OutcomeMissed)
			_, err := f.calls.IncomingText(ctx, calls.TextParams{Sid: f.sid("SM"), From: "+12025550105", To: "+14155550134", Body: "hi"})
			must(t, err)
			at(23, 0, 30) // Monday, after midnight in Chicago: the next day's
			f.call("+14155550134", "+12025550106", calls.OutcomeAnswered)
			f.drain()

			at(23, 13, 0) // Monday 13:00: the daily (due 08:00) and the weekly
			f.run()
			got := map[int]notify.SummaryMail{}
			for _, s := range f.mail.summaries {
				got[len(s.Total.PerDay)] = s
			}
			daily, weekly := got[1], got[7]
			if daily.Total == nil || weekly.Total == nil {
				t.Fatalf("summaries composed: %d", len(f.mail.summaries))
			}
			report, err := f.calls.CompanyReport(ctx, rita, f.acme.ID, 30)
			must(t, err)
			day := func(d time.Time) calls.Day {
				for _, x := range report.PerDay {
					if x.Date.Format("2006-01-02") == d.Format("2006-01-02") {
						return x
					}
				}
				t.Fatalf("the report has no %s", d)
				return calls.Day{}
			}
			sunday := day(time.Date(2026, 11, 22, 0, 0, 0, 0, chicago))
			if d := daily.Total; d.Answered != sunday.Answered || d.Missed != sunday.Missed || d.Voicemail != sunday.Voicemail ||
				d.Calls != sunday.Total() || d.Calls != 3 || d.Texts != 1 || d.FirstTime != 2 {
				t.Errorf("daily summary of Sunday: %d calls (%d answered, %d missed, %d voicemail, %d first-time, %d texts); report: %+v",
					d.Calls, d.Answered, d.Missed, d.Voicemail, d.FirstTime, d.Texts, sunday)
			}
			for i, d := range weekly.Total.PerDay {
				if r := day(d.Date); r != d {
					t.Errorf("weekly summary's day %d (%s) = %+v, report = %+v", i, d.Date.Format("Mon Jan 2"), d, r)
				}
			}
			if weekly.Total.Calls != 5 || len(weekly.Total.Sources) != 1 || weekly.Total.Sources[0].Calls != 5 {
				t.Errorf("weekly summary: %d calls, sources %+v", weekly.Total.Calls, weekly.Total.Sources)
			}
			hours := 0
			for _, h := range daily.Total.PerHour {
				hours += h.Total()
				if h.Total() > 0 && h.Date.Hour() != 9 && h.Date.Hour() != 13 && h.Date.Hour() != 23 {
					t.Errorf("a call in the hour of %s", h.Date)
				}
			}
			if hours != 3 {
				t.Errorf("the daily chart holds %d calls, want 3", hours)
			}
		})
	}
}

// TestSummaries_AllCompaniesInThePersonsZone: a summary of all of one's
// companies goes by one's own zone and adds up each company.
func TestSummaries_AllCompaniesInThePersonsZone(t *testing.T) {
	f := newFixture(t, "sqlite").seed()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	max := f.person(f.account, models.Manager, "Max", f.acme, f.bolt)
	must(t, f.store.DB().Model(&models.Login{}).Where("id = ?", max.Login.ID).Update("time_zone", "Europe/Berlin").Error)
	f.clock.Set(time.Date(2026, 11, 22, 12, 0, 0, 0, berlin))
	f.set(max, max, nil, notify.Choice{Daily: true})
	f.number(f.acme, "+14155550134", "Acme line", "Google Ads")
	f.number(f.bolt, "+14155550135", "Bolt line", "Yelp")
	f.clock.Set(time.Date(2026, 11, 22, 15, 0, 0, 0, berlin))
	f.call("+14155550134", "+12025550101", calls.OutcomeAnswered)
	f.call("+14155550135", "+12025550102", calls.OutcomeMissed)
	f.call("+14155550135", "+12025550103", calls.OutcomeMissed)

	f.clock.Set(time.Date(2026, 11, 23, 7, 45, 0, 0, berlin))
	if res := f.run(); res.Due != 0 {
		t.Errorf("07:45 in Berlin: %+v", res)
	}
	f.clock.Set(time.Date(2026, 11, 23, 8, 0, 0, 0, berlin))
	if res := f.run(); res.Enqueued != 1 {
		t.Fatalf("08:00 in Berlin: %+v", res)
	}
	s := f.mail.summaries[0]
	if !s.AllCompanies || s.Zone.String() != "Europe/Berlin" || s.Total.Calls != 3 || len(s.Companies) != 2 ||
		s.Companies[0].Company.Name != "Bolt Roofing" || s.Companies[0].Calls != 2 {
		t.Errorf("all-companies summary: all=%v zone=%s calls=%d companies=%d", s.AllCompanies, s.Zone, s.Total.Calls, len(s.Companies))
	}
	m := f.outbox("summary_daily")[0]
	for _, want := range []string{"Daily summary of all your companies", "Sunday, November 22, 2026", "Bolt Roofing: 2 calls", "Acme Plumbing: 1 calls"} {
		if !strings.Contains(m.TextBody, want) {
			t.Errorf("summary text lacks %q:\n%s", want, m.TextBody)
		}
	}
}

// TestSummaries_NobodyOutOfScope: deleted, disabled and removed people,
// and a disabled company, get no summary; removing someone from a company
// ends their subscription to it, and the confirmation listed it first.
func TestSummaries_NobodyOutOfScope(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite").seed()
	chicago, _ := time.LoadLocation("America/Chicago")
	f.clock.Set(time.Date(2026, 11, 22, 12, 0, 0, 0, chicago))
	dan := f.person(f.account, models.Reporting, "Dan", f.acme)
	eve := f.person(f.account, models.Notification, "Eve", f.acme)
	rita := f.person(f.account, models.Reporting, "Rita", f.acme, f.bolt)
	kim := f.person(f.account, models.Notification, "Kim", f.acme)
	for _, p := range []*models.Viewer{dan, eve, rita, kim} {
		f.set(f.admin, p, &f.acme, notify.Choice{Daily: true})
	}
	f.set(f.admin, rita, &f.bolt, notify.Choice{Daily: true})

	losses, err := f.store.UnassignLosses(ctx, &f.acme, []models.Membership{rita.Membership})
	must(t, err)
	if got := strings.Join(losses[rita.Membership.ID], "|"); !strings.Contains(got, "Stops receiving: daily summary of Acme Plumbing") || strings.Contains(got, "Bolt") {
		t.Errorf("removing Rita from Acme would take away %q", got)
	}
	dis, err := f.store.DisableLosses(ctx, &dan.Membership)
	must(t, err)
	if got := strings.Join(dis, "|"); !strings.Contains(got, "Receives nothing while disabled") {
		t.Errorf("disabling Dan would take away %q", got)
	}
	_, _, err = f.store.UnassignCompany(ctx, f.admin, rita.Membership.ID, f.acme.ID, "")
	must(t, err)
	_, err = f.store.DisableMember(ctx, f.admin, dan.Membership.ID, "")
	must(t, err)
	_, err = f.store.DeleteMember(ctx, f.admin, eve.Membership.ID, "")
	must(t, err)
	// Kim is still assigned, but the company behind her subscription is
	// disabled.
	bolt := f.company("Kim Co", "America/Chicago")
	must(t, f.store.DB().Create(&models.Assignment{MembershipID: kim.Membership.ID, CompanyID: bolt.ID}).Error)
	f.set(f.admin, kim, &bolt, notify.Choice{Daily: true})
	must(t, f.store.DB().Model(&models.Company{}).Where("id = ?", bolt.ID).Update("status", models.CompanyDisabled).Error)

	f.clock.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, chicago))
	f.run()
	got := recipients(f.outbox("summary_"))
	want := []string{rita.Membership.Email, kim.Membership.Email} // Rita's Bolt one; Kim's Acme one
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("summaries to %v, want %v", got, want)
	}
	var left int64
	must(t, f.store.DB().Model(&notify.Subscription{}).Where("membership_id = ? AND company_id = ?", rita.Membership.ID, f.acme.ID).Count(&left).Error)
	if left != 0 {
		t.Errorf("Rita's Acme subscription survived her removal")
	}
	// Dan re-enabled receives his again.
	_, err = f.store.EnableMember(ctx, f.admin, dan.Membership.ID, "")
	must(t, err)
	f.clock.Set(time.Date(2026, 11, 24, 9, 0, 0, 0, chicago))
	f.run()
	if n := strings.Count(strings.Join(recipients(f.outbox("summary_")), " "), dan.Membership.Email); n != 1 {
		t.Errorf("Dan, re-enabled, got %d summaries", n)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
