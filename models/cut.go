package models

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// cutText makes s fit a column of max characters (PostgreSQL counts
// characters, not bytes): valid UTF-8, and when too long, cut between two
// whole characters as a reader sees them and ended with "…". Generated
// text (an email's subject built from names, an audit detail listing
// companies, an SMTP server's error) is cut rather than refused: what a
// person did must never fail because a message about it is long.
func cutText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	r := []rune(s)
	n := max - 1 // room for the ellipsis
	for n > 0 && !clusterBoundary(r, n) {
		n--
	}
	return strings.TrimRightFunc(string(r[:n]), unicode.IsSpace) + "…"
}

const (
	zeroWidthJoiner    = '\u200D'
	zeroWidthNonJoiner = '\u200C'
)

// clusterBoundary reports whether a reader sees a new character start at
// r[i]. It is a cheap approximation of the grapheme cluster rules of
// Unicode (UAX #29) for what names and subjects hold: combining accents
// and other marks, joiners and variation selectors, emoji skin tones, tags
// and ZWJ sequences, flags (pairs of regional indicators), CR LF and
// Hangul jamo. Cutting only at such boundaries never leaves an accent
// without its letter or half a flag.
func clusterBoundary(r []rune, i int) bool {
	if i <= 0 || i >= len(r) {
		return true
	}
	prev, next := r[i-1], r[i]
	switch {
	case prev == '\r' && next == '\n':
		return false
	case extendsCluster(next), prev == zeroWidthJoiner:
		return false
	case isRegionalIndicator(prev) && isRegionalIndicator(next):
		// Indicators pair up from the start of their run.
		run := 0
		for j := i - 1; j >= 0 && isRegionalIndicator(r[j]); j-- {
			run++
		}
		return run%2 == 0
	}
	return !hangulJoins(prev, next)
}

// extendsCluster: runes that belong to the character before them.
func extendsCluster(c rune) bool {
	switch {
	case unicode.In(c, unicode.Mn, unicode.Me, unicode.Mc):
		return true
	case c == zeroWidthJoiner, c == zeroWidthNonJoiner:
		return true
	case c >= 0xFE00 && c <= 0xFE0F, c >= 0xE0100 && c <= 0xE01EF: // variation selectors
		return true
	case c >= 0x1F3FB && c <= 0x1F3FF: // emoji skin tones
		return true
	case c >= 0xE0020 && c <= 0xE007F: // emoji tags (subdivision flags)
		return true
	}
	return false
}

func isRegionalIndicator(c rune) bool { return c >= 0x1F1E6 && c <= 0x1F1FF }

type hangulKind int

const (
	hangulNone hangulKind = iota
	hangulL               // leading consonant
	hangulV               // vowel
	hangulT               // trailing consonant
	hangulLV              // syllable without a trailing consonant
	hangulLVT             // syllable with one
)

func hangulKindOf(c rune) hangulKind {
	switch {
	case c >= 0x1100 && c <= 0x115F, c >= 0xA960 && c <= 0xA97C:
		return hangulL
	case c >= 0x1160 && c <= 0x11A7, c >= 0xD7B0 && c <= 0xD7C6:
		return hangulV
	case c >= 0x11A8 && c <= 0x11FF, c >= 0xD7CB && c <= 0xD7FB:
		return hangulT
	case c >= 0xAC00 && c <= 0xD7A3:
		if (c-0xAC00)%28 == 0 {
			return hangulLV
		}
		return hangulLVT
	}
	return hangulNone
}

// hangulJoins: jamo that compose one syllable with what precedes them.
func hangulJoins(prev, next rune) bool {
	p, n := hangulKindOf(prev), hangulKindOf(next)
	switch p {
	case hangulL:
		return n == hangulL || n == hangulV || n == hangulLV || n == hangulLVT
	case hangulLV, hangulV:
		return n == hangulV || n == hangulT
	case hangulLVT, hangulT:
		return n == hangulT
	}
	return false
}
