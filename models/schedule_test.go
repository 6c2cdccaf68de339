package models_test

import (
	"testing"
	"time"

	"switchboard/models"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduleLast_Cases(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name    string
		sc      models.Schedule
		now     string
		wantAt  string
		wantKey string
	}{
		{"daily UTC, just before", models.Schedule{Every: models.Daily, At: 3 * time.Hour}, "2026-11-23T02:59:59Z", "2026-11-22T03:00:00Z", "2026-11-22"},
		{"daily UTC, at the time", models.Schedule{Every: models.Daily, At: 3 * time.Hour}, "2026-11-23T03:00:00Z", "2026-11-23T03:00:00Z", "2026-11-23"},
		{"hourly UTC", models.Schedule{Every: models.Hourly, At: 5 * time.Minute}, "2026-11-23T10:04:00Z", "2026-11-23T09:05:00Z", "2026-11-23T09Z"},
		{"weekly: Wednesday 07:00", models.Schedule{Every: models.Weekly, At: 2*24*time.Hour + 7*time.Hour}, "2026-11-26T00:00:00Z", "2026-11-25T07:00:00Z", "2026-W48"},
		{"weekly, before this week's", models.Schedule{Every: models.Weekly, At: 2*24*time.Hour + 7*time.Hour}, "2026-11-24T00:00:00Z", "2026-11-18T07:00:00Z", "2026-W47"},
		{"weekly across the new year (ISO week 53)", models.Schedule{Every: models.Weekly}, "2027-01-01T12:00:00Z", "2026-12-28T00:00:00Z", "2026-W53"},
		{"monthly on the 1st", models.Schedule{Every: models.Monthly}, "2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z", "2026-12"},
		{"monthly, before the 2nd 06:00", models.Schedule{Every: models.Monthly, At: 30 * time.Hour}, "2026-12-02T05:00:00Z", "2026-11-02T06:00:00Z", "2026-11"},
		// A company in New York: its local day, not UTC's.
		{"New York day, 07:00 EST", models.Schedule{Every: models.Daily, At: 7 * time.Hour, Location: ny}, "2026-11-23T12:00:00Z", "2026-11-23T12:00:00Z", "2026-11-23"},
		{"New York, UTC's next day but still local yesterday", models.Schedule{Every: models.Daily, At: 7 * time.Hour, Location: ny}, "2026-11-24T03:00:00Z", "2026-11-23T12:00:00Z", "2026-11-23"},
		// Spring forward (2026-03-08): 07:00 EDT is 11:00 UTC, 23 h after the day before's.
		{"spring forward, 07:00 EDT", models.Schedule{Every: models.Daily, At: 7 * time.Hour, Location: ny}, "2026-03-08T11:00:00Z", "2026-03-08T11:00:00Z", "2026-03-08"},
		{"spring forward, a minute before", models.Schedule{Every: models.Daily, At: 7 * time.Hour, Location: ny}, "2026-03-08T10:59:00Z", "2026-03-07T12:00:00Z", "2026-03-07"},
		// 02:30 does not exist that night: the run is just after the gap.
		{"spring forward, 02:30 skipped", models.Schedule{Every: models.Daily, At: 150 * time.Minute, Location: ny}, "2026-03-08T08:00:00Z", "2026-03-08T07:30:00Z", "2026-03-08"},
		// Fall back (2026-11-01): 01:30 happens twice; the day runs at the first.
		{"fall back, 01:30 first time", models.Schedule{Every: models.Daily, At: 90 * time.Minute, Location: ny}, "2026-11-01T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01"},
		{"fall back, 01:30 second time", models.Schedule{Every: models.Daily, At: 90 * time.Minute, Location: ny}, "2026-11-01T06:45:00Z", "2026-11-01T05:30:00Z", "2026-11-01"},
		{"fall back, the repeated hour has its own key", models.Schedule{Every: models.Hourly, Location: ny}, "2026-11-01T06:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T01-05:00"},
		{"fall back, the first 01:00 hour", models.Schedule{Every: models.Hourly, Location: ny}, "2026-11-01T05:30:00Z", "2026-11-01T05:00:00Z", "2026-11-01T01-04:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at, key := c.sc.Last(utc(c.now))
			if !at.Equal(utc(c.wantAt)) || key != c.wantKey {
				t.Errorf("Last(%s) = %s %q, want %s %q", c.now, at.UTC().Format(time.RFC3339), key, c.wantAt, c.wantKey)
			}
		})
	}
}

// A fake clock walks through both DST changes of New York in 5-minute
// steps: a company's daily 07:00 runs once per local day, always at 07:00
// on the wall, and an hourly task once per real hour (23 on the short day,
// 25 on the long one).
func TestSchedule_NewYorkDaysAcrossDST(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	daily := models.Schedule{Every: models.Daily, At: 7 * time.Hour, Location: ny}
	hourly := models.Schedule{Every: models.Hourly, Location: ny}
	for _, window := range []struct {
		from, to  time.Time
		shortDay  string
		hoursThen int
	}{
		{time.Date(2026, 3, 6, 0, 0, 0, 0, ny), time.Date(2026, 3, 11, 0, 0, 0, 0, ny), "2026-03-08", 23},
		{time.Date(2026, 10, 30, 0, 0, 0, 0, ny), time.Date(2026, 11, 4, 0, 0, 0, 0, ny), "2026-11-01", 25},
	} {
		days := map[string]time.Time{}
		hours := map[string]bool{}
		var order []string
		for now := window.from; now.Before(window.to); now = now.Add(5 * time.Minute) {
			at, key := daily.Last(now)
			if prev, seen := days[key]; seen && !prev.Equal(at) {
				t.Fatalf("day %s fired at %v and at %v", key, prev, at)
			}
			if _, seen := days[key]; !seen {
				order = append(order, key)
			}
			days[key] = at
			if at.After(now) {
				t.Fatalf("Last(%v) = %v, in the future", now, at)
			}
			_, hkey := hourly.Last(now)
			if now.In(ny).Format("2006-01-02") == window.shortDay {
				hours[hkey] = true
			}
		}
		// Five local days, and the day before the first (whose 07:00 run
		// is the last one at the window's first midnight).
		if len(order) != 6 {
			t.Errorf("days %v, want 6", order)
		}
		for key, at := range days {
			local := at.In(ny)
			if local.Format("2006-01-02") != key || local.Hour() != 7 || local.Minute() != 0 {
				t.Errorf("day %s fired at %v local", key, local)
			}
		}
		if len(hours) != window.hoursThen {
			t.Errorf("%s had %d hourly runs, want %d", window.shortDay, len(hours), window.hoursThen)
		}
	}
}

func TestSchedulePrevious(t *testing.T) {
	sc := models.Schedule{Every: models.Daily, At: 3 * time.Hour}
	at, key := sc.Last(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	at, key = sc.Previous(at)
	if key != "2026-11-22" || !at.Equal(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)) {
		t.Errorf("Previous = %v %q", at, key)
	}
}
