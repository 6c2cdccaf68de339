package models_test

import (
	"context"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func TestZoneOf_LoginThenAccountThenUTC(t *testing.T) {
	s := modelstest.Open(t)
	for _, c := range []struct {
		login, account, want string
	}{
		{"Europe/Berlin", "America/Chicago", "Europe/Berlin"},
		{"", "America/Chicago", "America/Chicago"},
		{"", "", "UTC"},
		{"Not/AZone", "", "UTC"},
	} {
		got := s.ZoneOf(&models.Login{TimeZone: c.login}, &models.Account{TimeZone: c.account})
		if got.String() != c.want {
			t.Errorf("login %q, account %q: %s, want %s", c.login, c.account, got, c.want)
		}
	}
	if got := s.ZoneOf(nil, &models.Account{TimeZone: "Asia/Tokyo"}); got.String() != "Asia/Tokyo" {
		t.Errorf("without a login: %s", got)
	}
}

// An account created before accounts had a zone takes its first
// company's when the schema is brought up to date; one with a zone keeps it.
func TestMigrate_BackfillsAccountZones(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := modelstest.DSN(t, dialect)
			s, err := models.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			old := models.Account{Number: "1000000001", Name: "Old", Status: models.AccountActive}
			set := models.Account{Number: "1000000002", Name: "Set", Status: models.AccountActive, TimeZone: "Asia/Tokyo"}
			for _, a := range []*models.Account{&old, &set} {
				if err := s.DB().Create(a).Error; err != nil {
					t.Fatal(err)
				}
				for _, zone := range []string{"America/Denver", "Europe/Paris"} {
					if err := s.DB().Create(&models.Company{AccountID: a.ID, Name: zone, Status: models.CompanyActive, TimeZone: zone}).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			s.Close()
			s, err = models.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for id, want := range map[uint]string{old.ID: "America/Denver", set.ID: "Asia/Tokyo"} {
				var a models.Account
				if err := s.DB().Take(&a, id).Error; err != nil {
					t.Fatal(err)
				}
				if a.TimeZone != want {
					t.Errorf("account %d: zone %q, want %q", id, a.TimeZone, want)
				}
			}
		})
	}
}
