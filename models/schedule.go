package models

import (
	"fmt"
	"time"
)

// Period is how often a schedule fires.
type Period int

const (
	Hourly Period = iota + 1
	Daily
	Weekly // weeks start on Monday (ISO 8601)
	Monthly
)

func (p Period) String() string {
	switch p {
	case Hourly:
		return "hourly"
	case Daily:
		return "daily"
	case Weekly:
		return "weekly"
	case Monthly:
		return "monthly"
	}
	return fmt.Sprintf("Period(%d)", int(p))
}

// Schedule is when a periodic task is due: once every period, At into the
// period, on the wall clock of Location (UTC when nil). At counts from the
// start of the hour (Hourly), local midnight (Daily), midnight of Monday
// (Weekly: 24h*2 + 7h is Wednesday 07:00) or of the 1st (Monthly), and is
// wall-clock time: a daily 07:00 in America/New_York is 07:00 on the days
// the clocks change too, 23 or 25 hours after the day before's.
//
// Each period has a key ("2026-11-23" for a day), which is what makes a
// task run once per period: the run is a job keyed by it (web/scheduler.go).
// A company's local day is a Daily schedule in the company's time zone.
type Schedule struct {
	Every    Period
	At       time.Duration
	Location *time.Location
}

func (sc Schedule) loc() *time.Location {
	if sc.Location == nil {
		return time.UTC
	}
	return sc.Location
}

// Last returns the latest time at or before now when the schedule fired,
// and the key of that period.
func (sc Schedule) Last(now time.Time) (at time.Time, key string) {
	start := sc.periodStart(now.In(sc.loc()))
	at = sc.fire(start)
	if at.After(now) {
		// Not yet this period: the last firing was in the one before.
		start = sc.periodStart(start.Add(-time.Nanosecond))
		at = sc.fire(start)
	}
	return at, sc.key(start)
}

// Previous returns the firing before the one at at (which Last returned).
func (sc Schedule) Previous(at time.Time) (time.Time, string) {
	return sc.Last(at.Add(-time.Nanosecond))
}

// periodStart is the start of the period holding t, on t's wall clock.
func (sc Schedule) periodStart(t time.Time) time.Time {
	y, m, d := t.Date()
	switch sc.Every {
	case Hourly:
		// The start of the hour by subtraction, not by time.Date: in the
		// hour that repeats when clocks go back, time.Date would give the
		// first one for both.
		return t.Add(-time.Duration(t.Minute())*time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	case Weekly:
		return time.Date(y, m, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, t.Location())
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
	}
	panic("models: schedule without a period")
}

// fire is when the schedule fires in the period starting at start.
func (sc Schedule) fire(start time.Time) time.Time {
	if sc.Every == Hourly {
		return start.Add(sc.At)
	}
	days := int(sc.At / (24 * time.Hour))
	rest := sc.At % (24 * time.Hour)
	y, m, d := start.Date()
	h, min, sec := int(rest/time.Hour), int(rest%time.Hour/time.Minute), int(rest%time.Minute/time.Second)
	t := time.Date(y, m, d+days, h, min, sec, 0, start.Location())
	// A wall time in the hour skipped when clocks go forward does not
	// exist; time.Date reads it with the offset from after the change,
	// which lands before the gap (02:30 → 01:30). Run it as far after
	// the gap instead (03:30), never earlier than asked.
	if skipped := (h*60+min)*60 + sec - (t.Hour()*60+t.Minute())*60 - t.Second(); skipped > 0 && t.Day() == start.AddDate(0, 0, days).Day() {
		t = t.Add(time.Duration(skipped) * time.Second)
	}
	return t
}

// key names the period starting at start, on its wall clock.
func (sc Schedule) key(start time.Time) string {
	switch sc.Every {
	case Hourly:
		// The offset tells the two 01:00 hours of a night when clocks go
		// back apart.
		return start.Format("2006-01-02T15Z07:00")
	case Weekly:
		y, w := start.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case Monthly:
		return start.Format("2006-01")
	}
	return start.Format("2006-01-02")
}
