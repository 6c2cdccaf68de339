package views

import (
	"context"
	"time"
)

// Times on pages are in the viewer's time zone (their login's setting,
// else their account's: models.Store.Zone), with the zone named, so that a
// date is never a day off without saying so. Anonymous pages use UTC.

// viewerZone is the zone the page's reader reads times in.
func viewerZone(ctx context.Context) *time.Location {
	if z := chrome(ctx).Zone; z != nil {
		return z
	}
	return time.UTC
}

// FormatDateIn writes the day of t in zone: "Nov 23, 2026".
func FormatDateIn(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("Jan 2, 2006")
}

// FormatDateTimeIn writes t in zone with the zone's abbreviation:
// "Nov 23, 2026 09:00 CST".
func FormatDateTimeIn(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("Jan 2, 2006 15:04 MST")
}

// viewerDate and viewerDateTime are those in the viewer's zone.
func viewerDate(ctx context.Context, t time.Time) string { return FormatDateIn(t, viewerZone(ctx)) }

func viewerDateTime(ctx context.Context, t time.Time) string {
	return FormatDateTimeIn(t, viewerZone(ctx))
}

// viewerZoneName names the viewer's zone ("America/Chicago").
func viewerZoneName(ctx context.Context) string { return viewerZone(ctx).String() }
