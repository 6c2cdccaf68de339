package calls

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Search finds calls by their caller through CallerTerm rows: every word of
// the caller's name ("w:smith": a word starting with what was typed), the
// number's digits ("d:14155550134", "n:4155550134" without the country
// code: starts with) and the digits reversed ("r:4310555514": ends with).
// Each is a range of the primary key (company, term), so a search costs a
// few index ranges per company in scope, whatever the number of calls.

const maxTermLength = 40

func callerTerms(cl Caller) []string {
	var terms []string
	if strings.HasPrefix(cl.Number, "+") {
		digits := cl.Number[1:]
		terms = append(terms, "d:"+digits, "r:"+reverse(digits))
		if n, err := phonenumbers.Parse(cl.Number, DefaultRegion); err == nil {
			if national := phonenumbers.GetNationalSignificantNumber(n); national != digits {
				terms = append(terms, "n:"+national)
			}
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(cl.Name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) > maxTermLength {
			w = w[:maxTermLength]
		}
		terms = append(terms, "w:"+w)
	}
	slices.Sort(terms)
	return slices.Compact(terms)
}

// addCallerTerms (re)writes the search terms of a caller.
func addCallerTerms(tx *gorm.DB, cl Caller) error {
	if err := tx.Where("caller_id = ?", cl.ID).Delete(&CallerTerm{}).Error; err != nil {
		return fmt.Errorf("clear caller terms: %w", err)
	}
	terms := callerTerms(cl)
	if len(terms) == 0 {
		return nil
	}
	rows := make([]CallerTerm, len(terms))
	for i, t := range terms {
		rows[i] = CallerTerm{CompanyID: cl.CompanyID, Term: t, CallerID: cl.ID}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("caller terms: %w", err)
	}
	return nil
}

func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

// searchRanges turns what was typed into term prefixes: digits (at least
// three, phone punctuation ignored) search numbers, anything else the
// first word of the name. ok is false for a query too short to search.
func searchRanges(q string) (prefixes []string, ok bool) {
	q = strings.TrimSpace(q)
	digits := strings.Map(func(r rune) rune {
		switch {
		case r >= '0' && r <= '9':
			return r
		case strings.ContainsRune(" +-().", r):
			return -1
		}
		return 'x'
	}, q)
	if digits != "" && !strings.ContainsRune(digits, 'x') {
		if len(digits) < 3 {
			return nil, false
		}
		return []string{"d:" + digits, "n:" + digits, "r:" + reverse(digits)}, true
	}
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 || len(words[0]) < 2 {
		return nil, false
	}
	// The longest word narrows most.
	w := slices.MaxFunc(words, func(a, b string) int { return len(a) - len(b) })
	if len(w) > maxTermLength {
		w = w[:maxTermLength]
	}
	return []string{"w:" + w}, true
}

// prefixEnd is the first string after every string starting with p (p is
// ASCII-prefixed and its last byte is never 0xff in our terms).
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}
