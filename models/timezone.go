package models

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata"

	"gorm.io/gorm" // time zones must resolve on machines without a zoneinfo database
)

// TimeZones is the list offered in forms: the zones call-tracking customers
// use most, in a sensible order. Any other IANA name is accepted too.
var TimeZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
	"America/Toronto", "America/Vancouver", "America/Halifax", "America/Mexico_City",
	"America/Sao_Paulo", "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin",
	"Europe/Madrid", "Europe/Amsterdam", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Australia/Perth", "Pacific/Auckland", "UTC",
}

// CleanTimeZone checks an IANA time zone name.
func CleanTimeZone(input string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", Errorf(Invalid, "Choose a time zone.")
	}
	if s == "Local" || len(s) > 64 {
		return "", Errorf(Invalid, "Choose a time zone from the list.")
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", Errorf(Invalid, "Choose a time zone from the list.")
	}
	return s, nil
}

// Location returns the named zone, loaded once per store (loading parses
// the zone's data); "" and names that do not load are UTC.
func (s *Store) Location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, ok := s.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	s.zones.Store(name, loc)
	return loc
}

// ZoneOf is the zone a person reads times in: the one they chose for their
// login, else their account's, else UTC. login may be nil (a Notification
// user has none).
func (s *Store) ZoneOf(login *Login, account *Account) *time.Location {
	if login != nil && login.TimeZone != "" {
		return s.Location(login.TimeZone)
	}
	if account != nil {
		return s.Location(account.TimeZone)
	}
	return time.UTC
}

// Zone is the zone the viewer reads times in (ZoneOf).
func (s *Store) Zone(v *Viewer) *time.Location {
	if v == nil {
		return time.UTC
	}
	return s.ZoneOf(&v.Login, &v.Account)
}

// backfillAccountZones gives accounts made before they had a zone the zone
// of their first company, once: an account with a zone keeps it.
func backfillAccountZones(tx *gorm.DB) error {
	err := tx.Exec(`UPDATE accounts SET time_zone = COALESCE((SELECT companies.time_zone FROM companies
		WHERE companies.account_id = accounts.id ORDER BY companies.id LIMIT 1), '') WHERE time_zone = ''`).Error
	if err != nil {
		return fmt.Errorf("account time zones: %w", err)
	}
	return nil
}
