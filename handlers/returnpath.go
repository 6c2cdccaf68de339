package handlers

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxReturnPath bounds a return path; our own addresses are far shorter.
const maxReturnPath = 2048

// returnPath is the one check of every page address a request asks to be
// sent back to afterwards (?next= at login, return= after an action). It
// answers raw when raw is a path on this site, and fallback otherwise.
//
// Browsers are generous with Location headers: they drop tabs and line
// breaks ("/\t/evil.example" becomes "//evil.example"), read a backslash
// as a slash, and some fold Unicode lookalikes of the slash. So a return
// path must be a relative URL that starts with exactly one "/", holds only
// printable ASCII (which rules out control characters, whitespace and every
// lookalike), no backslash, and has no scheme or host; and the same must
// hold once its percent-escapes are decoded (%09, %2F, %5C…).
func returnPath(raw, fallback string) string {
	if !isReturnPath(raw) {
		return fallback
	}
	return raw
}

func isReturnPath(raw string) bool {
	if raw == "" || len(raw) > maxReturnPath || !plainPath(raw) {
		return false
	}
	decoded, err := url.PathUnescape(raw)
	if err != nil || !utf8.ValidString(decoded) || !plainDecoded(decoded) {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// url.Parse decodes the path: "/%2F/evil.example" has Path "//evil.example".
	return strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//")
}

// plainPath: printable ASCII without backslash, one leading slash.
func plainPath(s string) bool {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// plainDecoded refuses, in decoded text, what plainPath refuses raw:
// control characters, whitespace, backslashes and lookalikes of the slash
// and backslash.
func plainDecoded(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' || slashLookalike(r) {
			return false
		}
	}
	return true
}

// slashLookalikes look like "/" or "\" and some software folds them into
// those: DIVISION SLASH, FRACTION SLASH, BIG SOLIDUS, FULLWIDTH SOLIDUS,
// SET MINUS, REVERSE SOLIDUS OPERATOR, BIG REVERSE SOLIDUS, SMALL REVERSE
// SOLIDUS, FULLWIDTH REVERSE SOLIDUS and the halves of the vertical kana
// repeat mark.
const slashLookalikes = "\u2215\u2044\u29F8\uFF0F\u2216\u29F5\u29F9\uFE68\uFF3C\u3033\u3035"

func slashLookalike(r rune) bool { return strings.ContainsRune(slashLookalikes, r) }
