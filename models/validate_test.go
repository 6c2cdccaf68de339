package models_test

import (
	"strings"
	"testing"

	"switchboard/models"
)

func TestCanonicalEmail(t *testing.T) {
	ok := map[string]string{
		"ada@example.com":             "ada@example.com",
		"  Ada.Lovelace@Example.COM ": "ada.lovelace@example.com",
		"ada+calls@sub.example.co":    "ada+calls@sub.example.co",
		"jose@bücher.de":              "jose@xn--bcher-kva.de",
	}
	for in, want := range ok {
		got, err := models.CanonicalEmail(in)
		if err != nil || got != want {
			t.Errorf("CanonicalEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "ada", "ada@", "@example.com", "ada@localhost", "Ada <ada@example.com>",
		`"<script>"@example.com`, "ada@[127.0.0.1]", "ada(comment)@example.com",
		"ada@example.com\r\nBcc: x@example.com", "ada@example.com.", "a b@example.com",
		strings.Repeat("a", 250) + "@example.com", "ada@exa mple.com", "\xff@example.com",
		// Found by FuzzCanonicalEmail: IDNA turns the fullwidth full stop
		// into ".", which left an empty label that failed the next check.
		"0@\uff0e0", "ada@\uff0eexample.com", "ada@.example.com", "ada@exa..mple.com", "ada@-example.com",
		"ada@example-.com", "ada@" + strings.Repeat("a", 64) + ".com", "ada@my_host.example.com",
	}
	for _, in := range bad {
		if got, err := models.CanonicalEmail(in); err == nil {
			t.Errorf("CanonicalEmail(%q) accepted as %q", in, got)
		}
	}
}

func TestCleanName(t *testing.T) {
	if got, err := models.CleanName("  Ada  ", "First name", 100); err != nil || got != "Ada" {
		t.Errorf("CleanName = %q, %v", got, err)
	}
	for _, in := range []string{"", "   ", strings.Repeat("é", 101), "Ada\nLovelace", "Ada\x00"} {
		if _, err := models.CleanName(in, "First name", 100); err == nil {
			t.Errorf("CleanName(%q) accepted", in)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	cases := []struct {
		password, confirm, field string
	}{
		{"correct-staple-lamp-orbit", "correct-staple-lamp-orbit", ""},
		{"ünïcödé-pässwörd-ok", "ünïcödé-pässwörd-ok", ""},
		{"short", "short", "password"},
		{"password1234", "password1234", "password"},
		{"PASSWORD1234", "PASSWORD1234", "password"},
		{"aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaa", "password"},
		{"1234567890123", "1234567890123", "password"},
		{"correct-staple-lamp-orbit", "correct-staple-lamp-orbiT", "confirm"},
		{" correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "confirm"},
		{strings.Repeat("x", 64) + "-long-but-fine", strings.Repeat("x", 64) + "-long-but-fine", ""},
		{strings.Repeat("xy", 65), strings.Repeat("xy", 65), "password"},
	}
	for _, c := range cases {
		err := models.ValidatePassword(c.password, c.confirm)
		fields := models.ErrorFields(err)
		if c.field == "" && err != nil {
			t.Errorf("ValidatePassword(%q) = %v, want ok", c.password, err)
		}
		if c.field != "" && fields[c.field] == "" {
			t.Errorf("ValidatePassword(%q, %q): no error on %s (%v)", c.password, c.confirm, c.field, err)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := models.HashPassword("correct-staple-lamp-orbit")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the OWASP parameters", h)
	}
	if !models.CheckPassword(h, "correct-staple-lamp-orbit") || models.CheckPassword(h, "correct-staple-lamp-orbiT") {
		t.Error("CheckPassword disagrees with HashPassword")
	}
	for _, broken := range []string{"", "$argon2id$", h[:len(h)-5], strings.Replace(h, "argon2id", "argon2i", 1)} {
		if models.CheckPassword(broken, "correct-staple-lamp-orbit") {
			t.Errorf("malformed hash %q matched", broken)
		}
	}
}
