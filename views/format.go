package views

import (
	"fmt"
	"strconv"
	"time"
)

// FormatDate is how dates appear on pages: "Nov 23, 2026".
func FormatDate(t time.Time) string { return t.UTC().Format("Jan 2, 2006") }

// FormatDateTime adds the time, in UTC so every reader sees the same.
func FormatDateTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") }

// FormatLastActive says when someone was last seen, relative to now.
func FormatLastActive(t, now time.Time) string {
	if t.IsZero() || t.Year() < 2000 {
		return "Never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "Just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return FormatDate(t)
}

func plural(n int, unit string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", unit)
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// FormatCount writes 12345 as "12,345".
func FormatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// FormatDuration says how long something lasts the way people say it:
// "24 hours", "7 days", "1 hour and 30 minutes", never Go's "24h0m0s".
// Under two days it counts hours, from two days on days; it names at most
// two units, the smaller one rounded.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	const day = 24 * time.Hour
	switch {
	case d.Round(time.Second) < time.Minute:
		return plural(int(d.Round(time.Second)/time.Second), "second")
	case d.Round(time.Second) < time.Hour:
		return twoUnits(d.Round(time.Second), time.Minute, "minute", time.Second, "second")
	case d.Round(time.Minute) < 2*day:
		return twoUnits(d.Round(time.Minute), time.Hour, "hour", time.Minute, "minute")
	}
	return twoUnits(d.Round(time.Hour), day, "day", time.Hour, "hour")
}

func twoUnits(d, big time.Duration, bigName string, small time.Duration, smallName string) string {
	s := plural(int(d/big), bigName)
	if rest := (d % big) / small; rest > 0 {
		s += " and " + plural(int(rest), smallName)
	}
	return s
}

// FormatTimeIn writes an instant in zone (UTC when nil), with the zone's
// abbreviation, and the date only when it is not the same day as now:
// "15:04 UTC", "Nov 24, 09:00 CST".
func FormatTimeIn(t, now time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	t, now = t.In(zone), now.In(zone)
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04 MST")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan 2, 15:04 MST")
	}
	return t.Format("Jan 2, 2006 15:04 MST")
}

// InAbout says roughly how long d is: "in about 15 minutes".
func InAbout(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "in less than a minute"
	case d < time.Hour:
		return "in about " + plural(int((d+30*time.Second)/time.Minute), "minute")
	case d < 48*time.Hour:
		return "in about " + plural(int((d+30*time.Minute)/time.Hour), "hour")
	}
	return "in about " + plural(int((d+12*time.Hour)/(24*time.Hour)), "day")
}

// retrySuffix ends "You can try again at 09:15 UTC": how long that is from now.
func retrySuffix(at, now time.Time) string {
	if d := at.Sub(now); d > 0 {
		return " (" + InAbout(d) + ")."
	}
	return "."
}

// FormatDelay writes a short wait: "500 ms", "4 seconds".
func FormatDelay(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return plural(int(d.Round(time.Second)/time.Second), "second")
}
