package models

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// userQuery is one users-list request as SQL, in parts, so that the count
// and the page can each start from the smallest set that answers them:
//
//   - the whole account, walked in list order along an index (no filter, or
//     filters that match many people, so a page fills after a short walk);
//   - the people of one company, from the assignments index;
//   - the people a search found: "name contains q" through the name-suffix
//     index and "email starts with q" through an index range on email.
//
// The total comes from member_counts when nothing narrows the list beyond
// type and status (the common case), and otherwise from an exact COUNT over
// the smaller set, which is as cheap as the index range it walks.
type userQuery struct {
	s *Store
	v *Viewer
	f UserFilter

	// For a search: the LIKE pattern of the name, the email range, and
	// the name-suffix range (q cut to nameSuffixLength characters).
	likeName                   string
	emailLo, emailHi           string
	emailBounded               bool
	suffixLo, suffixHi         string
	suffixBounded, exactSuffix bool
}

func (s *Store) newUserQuery(v *Viewer, f UserFilter) *userQuery {
	q := &userQuery{s: s, v: v, f: f}
	if f.Query != "" {
		lower := strings.ToLower(f.Query)
		q.likeName = "%" + escapeLike(lower) + "%"
		q.emailLo, q.emailHi, q.emailBounded = prefixRange(lower)
		cut := truncateRunes(lower, nameSuffixLength)
		q.exactSuffix = cut == lower
		q.suffixLo, q.suffixHi, q.suffixBounded = prefixRange(cut)
	}
	return q
}

// searchForm says how the search condition is written for a plan.
type searchForm int

const (
	searchNone    searchForm = iota // the starting set already is the search's result
	searchOnRow                     // checked on each row: name LIKE, email range
	searchInIndex                   // for walks along the name index: email hits by id, so the walk reads only the index
)

// conditions are the WHERE terms every plan shares: the account, what a
// non-Admin may see, type, status, and the search in the given form.
func (q *userQuery) conditions(search searchForm) ([]string, []any) {
	where := []string{"memberships.account_id = ?"}
	args := []any{q.v.Account.ID}
	if !q.v.Type().SeesAllCompanies() {
		sql, vars := visibleMemberSQL(q.v)
		where = append(where, sql)
		args = append(args, vars...)
	}
	if q.f.Type != "" {
		where = append(where, "memberships.type = ?")
		args = append(args, q.f.Type)
	}
	if q.f.Status != "" {
		where = append(where, "memberships.status = ?")
		args = append(args, q.f.Status)
	}
	if q.f.Query != "" {
		email := q.s.bytewise("memberships.email") + " >= ?"
		emailArgs := []any{q.emailLo}
		if q.emailBounded {
			email += " AND " + q.s.bytewise("memberships.email") + " < ?"
			emailArgs = append(emailArgs, q.emailHi)
		}
		switch search {
		case searchOnRow:
			where = append(where, `(memberships.sort_name LIKE ? ESCAPE '\' OR (`+email+`))`)
			args = append(append(args, q.likeName), emailArgs...)
		case searchInIndex:
			where = append(where, `(memberships.sort_name LIKE ? ESCAPE '\' OR memberships.id IN (
				SELECT memberships.id FROM memberships WHERE memberships.account_id = ? AND `+email+`))`)
			args = append(append(args, q.likeName, q.v.Account.ID), emailArgs...)
		case searchNone:
			if !q.exactSuffix {
				// The suffix index matched the first characters only.
				where = append(where, `(memberships.sort_name LIKE ? ESCAPE '\' OR (`+email+`))`)
				args = append(append(args, q.likeName), emailArgs...)
			}
		}
	}
	return where, args
}

// hits is the SQL of the ids a search finds by index: names with a suffix
// that starts with the query, and emails that start with it.
func (q *userQuery) hits() (string, []any) {
	sql := "SELECT member_name_suffixes.membership_id AS id FROM member_name_suffixes WHERE member_name_suffixes.account_id = ? AND member_name_suffixes.suffix >= ?"
	args := []any{q.v.Account.ID, q.suffixLo}
	if q.suffixBounded {
		sql += " AND member_name_suffixes.suffix < ?"
		args = append(args, q.suffixHi)
	}
	email := q.s.bytewise("memberships.email")
	sql += " UNION SELECT memberships.id FROM memberships WHERE memberships.account_id = ? AND " + email + " >= ?"
	args = append(args, q.v.Account.ID, q.emailLo)
	if q.emailBounded {
		sql += " AND " + email + " < ?"
		args = append(args, q.emailHi)
	}
	return sql, args
}

// source is where a plan starts. CROSS JOIN makes SQLite's planner keep that
// order (it would otherwise walk the whole account by its account_id index,
// not knowing that the account holds nearly every row); PostgreSQL treats it
// as an ordinary join and plans it from its statistics.
func (q *userQuery) source(driven bool) (from string, where []string, args []any) {
	switch {
	case driven && q.f.CompanyID != 0:
		where, args = q.conditions(searchOnRow)
		return "assignments CROSS JOIN memberships",
			append([]string{"assignments.company_id = ?", "memberships.id = assignments.membership_id"}, where...),
			append([]any{q.f.CompanyID}, args...)
	case driven && q.f.Query != "":
		hits, hitArgs := q.hits()
		where, args = q.conditions(searchNone)
		return "(" + hits + ") hits CROSS JOIN memberships", append([]string{"memberships.id = hits.id"}, where...), append(hitArgs, args...)
	default:
		where, args = q.conditions(searchInIndex)
		if q.f.CompanyID != 0 {
			where = append(where, "EXISTS (SELECT 1 FROM assignments WHERE assignments.membership_id = memberships.id AND assignments.company_id = ?)")
			args = append(args, q.f.CompanyID)
		}
		return "memberships", where, args
	}
}

// narrowed reports whether the list starts from a company or a search.
func (q *userQuery) narrowed() bool { return q.f.CompanyID != 0 || q.f.Query != "" }

// count is the exact number of people the filter matches.
func (q *userQuery) count(db *gorm.DB) (int64, error) {
	var n int64
	if !q.narrowed() && q.v.Type().SeesAllCompanies() {
		return q.counted(db, q.f.Type, q.f.Status)
	}
	var sql string
	var args []any
	if q.f.Query != "" && q.f.CompanyID == 0 && q.exactSuffix && q.f.Type == "" && q.f.Status == "" && q.v.Type().SeesAllCompanies() {
		// The search's hits are the answer; no row needs reading.
		hits, hitArgs := q.hits()
		sql, args = "SELECT COUNT(*) FROM ("+hits+") hits", hitArgs
	} else {
		from, where, wargs := q.source(q.narrowed())
		sql, args = "SELECT COUNT(*) FROM "+from+" WHERE "+strings.Join(where, " AND "), wargs
	}
	if err := db.Raw(sql, args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// counted sums the maintained counts of an account, by type and status
// when given.
func (q *userQuery) counted(db *gorm.DB, t UserType, st MemberStatus) (int64, error) {
	sql := "SELECT COALESCE(SUM(n), 0) FROM member_counts WHERE account_id = ?"
	args := []any{q.v.Account.ID}
	if t != "" {
		sql += " AND type = ?"
		args = append(args, t)
	}
	if st != "" {
		sql += " AND status = ?"
		args = append(args, st)
	}
	var n int64
	if err := db.Raw(sql, args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// readMatchesFirst decides how a page of a company or a search is read, given how
// many people match (total) out of how many the walk would pass (all).
// Reading the matches and sorting them costs about a row lookup each;
// walking the list in order costs a fraction of that per person passed, and
// passes about limit·all/total people to fill a page. Measured on SQLite,
// a lookup and sort costs about eight index steps.
func readMatchesFirst(total, all int64, limit int) bool {
	if total == 0 {
		return true
	}
	return total*total*8 <= int64(limit)*all
}

// userListColumns are the columns of a membership the list shows. Reading
// the other seven (timestamps mostly, each parsed from text) would double
// the cost of a page.
const userListColumns = "memberships.id, memberships.account_id, memberships.first_name, memberships.last_name, " +
	"memberships.email, memberships.sort_name, memberships.type, memberships.status, memberships.last_active_at"

// page reads up to limit people in order after the keyset condition.
func (q *userQuery) page(db *gorm.DB, total int64, keyset string, keyArgs []any, order string, limit int) ([]Membership, error) {
	driven := false
	if q.narrowed() {
		all, err := q.counted(db, q.f.Type, q.f.Status)
		if err != nil {
			return nil, err
		}
		driven = readMatchesFirst(total, all, limit)
	}
	from, where, args := q.source(driven)
	if keyset != "" {
		where = append(where, keyset)
		args = append(args, keyArgs...)
	}
	sql := "SELECT " + userListColumns + " FROM " + from + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT ?"
	rows, err := db.Raw(sql, append(args, limit)...).Rows()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	// Scanned by hand: GORM's reflective scan was most of the cost of a page.
	members := make([]Membership, 0, limit)
	for rows.Next() {
		var m Membership
		if err := rows.Scan(&m.ID, &m.AccountID, &m.FirstName, &m.LastName, &m.Email, &m.SortName,
			&m.Type, &m.Status, &m.LastActiveAt); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return members, nil
}
