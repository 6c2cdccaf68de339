package models_test

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// FuzzCanonicalEmail: whatever is typed, an accepted address is stored in
// a form that is its own canonical form (so comparing canonical forms is
// sound), short enough, trimmed, lower-case in its domain, free of
// anything that could break a header, and with exactly one "@".
func FuzzCanonicalEmail(f *testing.F) {
	for _, s := range []string{
		"ada@example.com", "  Ada.Lovelace@Example.COM ", "jose@bücher.de", "JOSÉ@BÜCHER.DE", "ada+calls@sub.example.co",
		"Ada <ada@example.com>", `"<script>"@example.com`, "ada@[127.0.0.1]", "ada@example.com\r\nBcc: x@example.com",
		"ada@example.com.", "a@b@example.com", "ada@xn--bcher-kva.de", "ß@straße.de", "İ@example.com", "\xff@example.com",
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", "ada@exa\u200dmple.com", "ada@ex\uff0eample.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := models.CanonicalEmail(in)
		if err != nil {
			if models.ErrorCode(err) != models.Invalid || models.ErrorMessage(err) == "" {
				t.Fatalf("CanonicalEmail(%q): error %v is not a message for the form", in, err)
			}
			return
		}
		again, err := models.CanonicalEmail(got)
		if err != nil || again != got {
			t.Fatalf("CanonicalEmail(%q) = %q, which canonicalises to %q, %v", in, got, again, err)
		}
		if len(got) > models.MaxEmailLength || got != strings.TrimSpace(got) || !utf8.ValidString(got) || strings.Count(got, "@") != 1 {
			t.Fatalf("CanonicalEmail(%q) = %q", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.IsSpace(r) || strings.ContainsRune("<>\"(),;:\\[]", r) {
				t.Fatalf("CanonicalEmail(%q) = %q holds %U", in, got, r)
			}
		}
		domain := got[strings.LastIndexByte(got, '@')+1:]
		for i := 0; i < len(domain); i++ {
			if domain[i] >= 0x80 || ('A' <= domain[i] && domain[i] <= 'Z') {
				t.Fatalf("CanonicalEmail(%q): domain %q is not lower-case ASCII", in, domain)
			}
		}
	})
}

// FuzzCleanName: an accepted name is trimmed, valid UTF-8, 1 to max
// characters, without control characters (so it can go into an email
// header), and cleaning it again changes nothing.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"Ada", "  Ada  ", "", "   ", "Ada\nLovelace", "Ada\x00", "Zoë", "e\u0301", strings.Repeat("é", 101),
		"\u2028", "\u00a0Ada\u00a0", "\xff", "<script>alert(1)</script>", "Ada\u200bLovelace", "\U0001F468\u200D\U0001F469"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := models.CleanName(in, "First name", models.MaxNameLength)
		if err != nil {
			if models.ErrorCode(err) != models.Invalid || !strings.Contains(models.ErrorMessage(err), "irst name") {
				t.Fatalf("CleanName(%q): error %v does not name the field", in, err)
			}
			return
		}
		if n := utf8.RuneCountInString(got); !utf8.ValidString(got) || n == 0 || n > models.MaxNameLength || got != strings.TrimSpace(got) {
			t.Fatalf("CleanName(%q) = %q", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("CleanName(%q) = %q holds %U", in, got, r)
			}
		}
		if err := models.CheckHeaderValue("name", got); err != nil {
			t.Fatalf("CleanName(%q) = %q, which no email header takes: %v", in, got, err)
		}
		if again, err := models.CleanName(got, "First name", models.MaxNameLength); err != nil || again != got {
			t.Fatalf("CleanName(%q) = %q, then %q, %v", in, got, again, err)
		}
	})
}

// FuzzLinkSecrets: any string in a setup, invitation or reset link —
// truncated, overlong, case-flipped, not base64, not UTF-8 — gets a
// friendly "not valid", "expired" or "used" answer, never a panic or an
// internal error; only the real secret opens the real invitation.
func FuzzLinkSecrets(f *testing.F) {
	store := modelstest.Open(f)
	real, err := store.Bootstrap(context.Background(), models.AccountInput{
		AccountName: "Acme", Email: "Ada@Example.com", FirstName: "Ada", LastName: "Admin"})
	if err != nil {
		f.Fatal(err)
	}
	flipped := []byte(real)
	for i, c := range flipped {
		if 'a' <= c && c <= 'z' {
			flipped[i] = c - 'a' + 'A'
			break
		}
	}
	for _, s := range []string{real, string(flipped), real[:42], real + "A", real[1:] + "=", strings.Repeat("A", 43),
		strings.Repeat("x", 10000), "", "%ff%fe", "\xff\xfe" + real[2:], strings.ReplaceAll(real, "-", "+"),
		strings.ReplaceAll(real, "_", "/"), real[:40] + "===", " " + real[1:], real[:42] + "\x00"} {
		f.Add(s)
	}
	ctx := context.Background()
	friendly := func(err error) bool {
		switch models.ErrorCode(err) {
		case models.NotFound, models.Gone:
			return models.ErrorMessage(err) != ""
		}
		return false
	}
	f.Fuzz(func(t *testing.T, secret string) {
		inv, err := store.FindInvitation(ctx, secret)
		switch {
		case err == nil && (secret != real || inv.Member.Email != "ada@example.com"):
			t.Fatalf("FindInvitation(%q) opened an invitation for %s", secret, inv.Member.Email)
		case err != nil && !friendly(err):
			t.Fatalf("FindInvitation(%q): %v", secret, err)
		case err != nil && secret == real:
			t.Fatalf("the real invitation link was refused: %v", err)
		}
		if err := store.CheckSetupLink(ctx, secret); !friendly(err) {
			t.Fatalf("CheckSetupLink(%q): %v", secret, err)
		}
		if _, err := store.FindPasswordReset(ctx, secret); !friendly(err) {
			t.Fatalf("FindPasswordReset(%q): %v", secret, err)
		}
	})
}
