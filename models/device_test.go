package models_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func TestKnownDevices_VerifyOnlyWhatWasIssuedForTheLogin(t *testing.T) {
	clock := modelstest.NewClock()
	stores := modelstest.OpenServers(t, "sqlite", 2, models.WithClock(clock.Now))
	ctx := context.Background()
	issuer, err := stores[0].KnownDevices(ctx)
	must(t, err)
	other, err := stores[1].KnownDevices(ctx) // another server, the same key
	must(t, err)
	value := issuer.Issue("ada@example.com")
	id := other.Verify("ada@example.com", value)
	if id == "" || strings.Contains(value, "ada") {
		t.Fatalf("a cookie issued by one server is not honoured by another, or shows whose it is: %q", value)
	}
	if issuer.CookieName("ada@example.com") != other.CookieName("ada@example.com") || issuer.CookieName("ada@example.com") == issuer.CookieName("bob@example.com") {
		t.Error("cookie names are not one per login")
	}
	if again := issuer.Issue("ada@example.com"); again == value || other.Verify("ada@example.com", again) == id {
		t.Error("two logins in two browsers got the same device")
	}
	sig := value[strings.LastIndexByte(value, '.')+1:]
	for name, bad := range map[string]string{
		"another login": value,
		"altered id":    "x" + value,
		"altered time":  strings.Replace(value, ".1", ".2", 1),
		"altered mac":   strings.TrimSuffix(value, sig) + strings.Repeat("A", len(sig)),
		"no signature":  strings.TrimSuffix(value, "."+sig),
		"garbage":       "%%%",
		"empty":         "",
		"overlong":      strings.Repeat("a", 5000),
	} {
		email := "ada@example.com"
		if name == "another login" {
			email = "bob@example.com"
		}
		if got := issuer.Verify(email, bad); got != "" {
			t.Errorf("%s: verified as device %q", name, got)
		}
	}
	clock.Advance(models.DeviceCookieLifetime + time.Hour)
	if issuer.Verify("ada@example.com", value) != "" {
		t.Error("a cookie past its lifetime is still honoured")
	}
}
