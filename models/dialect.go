package models

// Where SQL differs between SQLite and PostgreSQL: this file's helpers,
// which the portable queries call where the two disagree;
// userlist_schema.go, the users list's derived tables and their triggers;
// company_cache.go, the trigger that versions an account's companies; and
// db.go, each database's connection settings. Besides, GORM leaves the row
// locks (FOR UPDATE) of member.go and outbox.go out on SQLite, whose one
// writer (writer.go) already holds the only write lock. Everything else in
// models is portable.

import (
	"strconv"
	"strings"
)

// bytewise is col compared byte by byte (code point order), which is what
// makes a prefix a range. SQLite's default collation already is; PostgreSQL
// needs "C" (and idx_members_list_email_bytes serves it).
func (s *Store) bytewise(col string) string {
	if s.Dialect == "postgres" {
		return col + ` COLLATE "C"`
	}
	return col
}

// idList is an aggregate that joins a column of IDs (or of pairs of them,
// "12:5") into one string, "12,5,7": a set of thousands read as one value
// (userlist_query.go). Rows aggregated from a subquery that orders them
// keep its order.
func (s *Store) idList(col string) string {
	if s.Dialect == "postgres" {
		return "string_agg(CAST(" + col + " AS text), ',')"
	}
	return "group_concat(" + col + ")"
}

// inIDs is the condition "col is one of a list of IDs", the list given as
// the one parameter idsArg makes: one statement, prepared once, for lists
// of any length.
func (s *Store) inIDs(col string) string {
	if s.Dialect == "postgres" {
		return col + " = ANY(CAST(? AS bigint[]))"
	}
	return col + " IN (SELECT value FROM json_each(?))"
}

// idsArg is the parameter of inIDs: a PostgreSQL array or a JSON array.
func (s *Store) idsArg(ids []uint) string {
	var b strings.Builder
	open, close := "[", "]"
	if s.Dialect == "postgres" {
		open, close = "{", "}"
	}
	b.WriteString(open)
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(id), 10))
	}
	b.WriteString(close)
	return b.String()
}

// indexedBy makes SQLite read a table along the named index, where its
// planner, which knows nothing of how many rows each value has, would
// choose another and sort. PostgreSQL plans from its statistics.
func (s *Store) indexedBy(index string) string {
	if s.Dialect == "postgres" {
		return ""
	}
	return "INDEXED BY " + index
}

// bindVar is the n-th (from 1) parameter placeholder of raw database/sql
// statements; GORM rewrites "?" itself, plain database/sql does not.
func bindVar(dialect string, n int) string {
	if dialect == "postgres" {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// prefixRange returns the bounds of the strings that start with p in code
// point order: lo <= s < hi. ok is false when no string is above every such
// s, and then only lo applies.
func prefixRange(p string) (lo, hi string, ok bool) {
	runes := []rune(p)
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i] + 1
		if r == 0xD800 {
			r = 0xE000 // surrogates are not characters
		}
		if r <= 0x10FFFF {
			return p, string(runes[:i]) + string(r), true
		}
	}
	return p, "", false
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
