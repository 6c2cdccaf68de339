package models

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

const (
	MaxNameLength    = 100
	MaxEmailLength   = 254
	MaxCompanyLength = 120
	MaxMessageLength = 1000
)

// CanonicalEmail validates an address typed by a person and returns the form
// we store and compare: trimmed, lower-cased, its domain in punycode.
// net/mail alone accepts display names, comments, quoted local parts and IP
// literals, none of which belong in a login, so the bare address must equal
// what was typed.
func CanonicalEmail(input string) (string, error) {
	bad := Errorf(Invalid, "Enter an email address like name@example.com.")
	s := strings.TrimSpace(input)
	if s == "" {
		return "", Errorf(Invalid, "Enter an email address.")
	}
	if len(s) > MaxEmailLength {
		return "", Errorf(Invalid, "An email address can be at most %d characters.", MaxEmailLength)
	}
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\"\\()<>[],;: \t\r\n") {
		return "", bad
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(local) > 64 {
		return "", bad
	}
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err != nil || !hostName(ascii) {
		return "", bad
	}
	canonical := strings.ToLower(local) + "@" + ascii
	if len(canonical) > MaxEmailLength {
		return "", Errorf(Invalid, "An email address can be at most %d characters.", MaxEmailLength)
	}
	return canonical, nil
}

// hostName reports whether an ASCII domain is a dotted host name: labels
// of 1 to 63 letters, digits and hyphens, not starting or ending with a
// hyphen. IDNA maps lookalikes such as the fullwidth full stop to ".",
// so this is checked after the conversion ("a@．example" is ".example").
func hostName(ascii string) bool {
	labels := strings.Split(ascii, ".")
	if len(ascii) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// CleanName trims a person's or company's name and checks its length and
// characters; label names the field in the message.
func CleanName(input, label string, max int) (string, error) {
	s := strings.TrimSpace(input)
	if !utf8.ValidString(s) {
		return "", Errorf(Invalid, "%s contains characters we cannot read.", label)
	}
	if s == "" {
		return "", Errorf(Invalid, "Enter the %s.", strings.ToLower(label))
	}
	if utf8.RuneCountInString(s) > max {
		return "", Errorf(Invalid, "%s can be at most %d characters.", label, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", Errorf(Invalid, "%s cannot contain line breaks or control characters.", label)
		}
	}
	return s, nil
}

// sortName is the key the users list orders and searches names by.
func sortName(first, last string) string {
	return strings.ToLower(first + " " + last)
}
