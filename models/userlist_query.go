package models

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// How the users list answers a question without reading the account.
//
// Every request has two parts: the count ("51–100 of 2,546") and the page.
// Reading rows one by one is what costs: a row looked up by its ID costs
// SQLite about as much as twenty entries of an index walked in order, and
// every row that crosses the driver costs more than the database's work
// for it. So each part starts from the smallest set an index gives for
// the question, and counts along an index wherever it can
// (userlist_schema.go keeps the indexes):
//
//   - the account's people by type and status: member_counts, a sum of at
//     most twelve rows;
//   - one type and status (and an invitation's expiry, and a search within
//     them): a range of idx_members_list_filter, which holds the name and
//     the address too, so checking a search there costs no lookup;
//   - a company's people, or a non-Admin's companies' people, of a type
//     and status: ranges of assignments' (company, kind, member) index;
//   - a search: a range of member_search per kind asked for, where
//     counting the rows whose lcp is shorter than the search counts people;
//   - a search among some companies' people: the search's range of
//     company_search in each company (the same entries, keyed by company
//     first), so that a non-Admin's search reads only matches.
//
// A narrow question (up to planLimits.set entries in its smallest set)
// has its matching IDs read as one value — the database joins them into
// one string — and Go merges, intersects and counts them: the count is
// exact. Its page is then read from those IDs: few of them are read and
// ordered by the database; more are picked from a walk along the sort
// order's index, which reads the index alone (planLimits.readCost).
//
// A broad question (the whole account, a common type, a search that
// matches most people) has its count from member_counts, or is counted up
// to a bound: a search along at most planLimits.search entries of its
// ranges (a search of one or two letters in a large account, at once up
// to planLimits.bound), a non-Admin's broad question up to
// planLimits.bound people; the page then says "at least". Its page is a
// walk along the sort order's index that checks each row, short because
// most rows match.
//
// A non-Admin sees the Admins, themselves and the people who share one of
// their active companies. The Admins are one range of the filter index (or
// of member_search's Admin kinds, for a search) and the rest are their
// companies' assignments (or company_search ranges), read with the
// companies written into the statement; the two sets are disjoint (Admins have no
// assignments), so their counts add up. Nothing is checked row by row
// against another person's companies; a walk checks a row's own few
// assignments against the viewer's list.

// planLimits are the limits the plans choose by. Tests lower them to
// send small accounts down every plan.
type planLimits struct {
	// set is the most entries a question's smallest set may have to be
	// read as IDs.
	set int
	// filter is the most people of one type and status whose names and
	// addresses are searched along the filter index.
	filter int64
	// bound is the most people a bounded count checks one by one.
	bound int
	// readCost is what reading a row by its ID costs, in index entries
	// walked (measured with callgrind: about 20). A page of m matches out
	// of an account of n people is read from their IDs (m reads) when
	// m·m·readCost <= page·n, else picked from a walk along the order's
	// index (page·n/m entries).
	readCost int
	// walkDensity: a question matching at least this share of the account
	// is answered by walking the order's index and checking each row.
	walkDensity float64
	// search is the most member_search entries an Admin's search reads
	// (a non-Admin's reads up to set entries of company_search: all of
	// them are matches).
	search int
}

var defaultPlanLimits = planLimits{set: 20000, filter: 10000, bound: 400, readCost: 20, walkDensity: 0.05, search: 12000}

// order is one way to sort the list: its key columns (most significant
// first; the ID breaks ties), the index that holds them in that order, and
// the key of a row.
type order struct {
	keys  []string
	index string
	// bytewise marks a text key that PostgreSQL compares as bytes.
	bytewise bool
	time     bool // the key is a time
	key      func(m *Membership) []string
}

var orders = map[string]order{
	SortByName: {keys: []string{"memberships.sort_name"}, index: "idx_members_list_name",
		key: func(m *Membership) []string { return []string{m.SortName} }},
	SortByEmail: {keys: []string{"memberships.email"}, index: "idx_members_account_email", bytewise: true,
		key: func(m *Membership) []string { return []string{m.Email} }},
	SortByType: {keys: []string{"memberships.type", "memberships.sort_name"}, index: "idx_members_list_type",
		key: func(m *Membership) []string { return []string{string(m.Type), m.SortName} }},
	SortByLastActive: {keys: []string{"memberships.last_active_at"}, index: "idx_members_list_active", time: true,
		key: func(m *Membership) []string { return []string{m.LastActiveAt.UTC().Format(time.RFC3339Nano)} }},
	SortByInvited: {keys: []string{"memberships.invited_at"}, index: "idx_members_list_invited", time: true,
		key: func(m *Membership) []string {
			var t time.Time
			if m.InvitedAt != nil {
				t = *m.InvitedAt
			}
			return []string{t.UTC().Format(time.RFC3339Nano)}
		}},
}

func orderOf(sort string) order { return orders[sort] }

// listQuery is one question of one viewer, with what the plans need.
type listQuery struct {
	s      *Store
	v      *Viewer
	f      UserFilter
	order  order
	now    time.Time
	admin  bool
	scope  []uint // a non-Admin's active companies, in ID order
	counts memberCounts
	search *searchTerm
}

// searchTerm is a search, ready for both of its indexes.
type searchTerm struct {
	text string // lower-cased
	like string // "%text%", LIKE wildcards escaped
	// The member_search range of the suffixes that start with the text
	// cut to searchSuffixLength characters (lo <= suffix < hi).
	lo, hi  string
	bounded bool
	// cut: the text is longer than the suffixes kept, so the range gives
	// candidates, checked in full.
	cut bool
	n   int // characters in the cut text
}

func newSearchTerm(q string) *searchTerm {
	if q == "" {
		return nil
	}
	t := &searchTerm{text: strings.ToLower(q)}
	t.like = "%" + escapeLike(t.text) + "%"
	kept := truncateRunes(t.text, searchSuffixLength)
	t.cut = kept != t.text
	t.n = len([]rune(kept))
	t.lo, t.hi, t.bounded = prefixRange(kept)
	return t
}

// matches reports whether a person's name or address contains the text.
func (t *searchTerm) matches(m *Membership) bool {
	return strings.Contains(m.SortName, t.text) || strings.Contains(m.Email, t.text)
}

// memberCounts are an account's people by type and status.
type memberCounts map[[2]string]int64

// of sums the counts of a type and a status ("": any).
func (c memberCounts) of(t UserType, st MemberStatus) int64 {
	var n int64
	for k, v := range c {
		if (t == "" || k[0] == string(t)) && (st == "" || k[1] == string(st)) {
			n += v
		}
	}
	return n
}

func (s *Store) newListQuery(db *gorm.DB, v *Viewer, f UserFilter) (*listQuery, error) {
	q := &listQuery{s: s, v: v, f: f, order: orderOf(f.Sort), now: s.Now(), admin: v.Type().SeesAllCompanies(),
		search: newSearchTerm(f.Query), counts: memberCounts{}}
	rows, err := db.Raw("SELECT type, status, n FROM member_counts WHERE account_id = ?", v.Account.ID).Rows()
	if err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, st string
		var n int64
		if err := rows.Scan(&t, &st, &n); err != nil {
			return nil, fmt.Errorf("count users: %w", err)
		}
		q.counts[[2]string{t, st}] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count users: %w", err)
	}
	if !q.admin {
		if q.scope, err = q.ids(db, `SELECT `+s.idList("a.company_id")+` FROM assignments a
			JOIN companies c ON c.id = a.company_id AND c.status = ? WHERE a.membership_id = ?`, CompanyActive, v.Membership.ID); err != nil {
			return nil, fmt.Errorf("companies of the viewer: %w", err)
		}
	}
	return q, nil
}

// ids runs a query that returns one string of IDs joined by commas
// (Store.idList) and returns them sorted, each once.
func (q *listQuery) ids(db *gorm.DB, sql string, args ...any) ([]uint, error) {
	var list *string
	if err := db.Raw(sql, args...).Row().Scan(&list); err != nil {
		return nil, err
	}
	if list == nil {
		return []uint{}, nil
	}
	return parseIDList(*list, true)
}

// parseIDList reads "12,5,7"; sorted, it returns the IDs in order, each
// once, else in the order given.
func parseIDList(s string, sorted bool) ([]uint, error) {
	out := make([]uint, 0, strings.Count(s, ",")+1)
	var n uint64
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if digits == 0 {
				if len(s) == 0 {
					break
				}
				return nil, fmt.Errorf("read IDs: empty item in %.40q", s)
			}
			out = append(out, uint(n))
			n, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits == 19 {
			return nil, fmt.Errorf("read IDs: %q in %.40q", c, s)
		}
		n = n*10 + uint64(c-'0')
		digits++
	}
	if sorted {
		out = sortIDs(out)
	}
	return out, nil
}

// sortIDs puts IDs in order, each once. An account's IDs are close
// together, so a bitmap of their span usually does it in one pass, where
// sorting thousands costs more than reading them.
func sortIDs(ids []uint) []uint {
	if len(ids) < 64 {
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	span := uint64(hi-lo) + 1
	if span/64 > uint64(len(ids)) {
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	set := make([]uint64, (span+63)/64)
	for _, id := range ids {
		d := uint64(id - lo)
		set[d/64] |= 1 << (d % 64)
	}
	out := ids[:0]
	for w, word := range set {
		for word != 0 {
			b := uint64(bits.TrailingZeros64(word))
			out = append(out, lo+uint(uint64(w)*64+b))
			word &= word - 1
		}
	}
	return out
}

// matchSet is the answer's count, and its IDs when they were read.
type matchSet struct {
	ids     []uint // sorted; nil when not read (a broad question)
	total   int64
	atLeast bool
}

func exact(ids []uint) matchSet { return matchSet{ids: ids, total: int64(len(ids))} }

// expiry says what an invitation status filter asks of the link: "" for
// any, or expired or still valid.
func (q *listQuery) expiry() ListStatus {
	if q.f.Status == ListExpired || q.f.Status == ListInvited {
		return q.f.Status
	}
	return ""
}

// kinds are the member kinds of the filter's type and status, or nil for all.
func (q *listQuery) kinds(t UserType) []string {
	if t == "" && q.f.Status == "" {
		return nil
	}
	types := UserTypes
	if t != "" {
		types = []UserType{t}
	}
	statuses := []MemberStatus{MemberInvited, MemberActive, MemberDisabled}
	if q.f.Status != "" {
		statuses = []MemberStatus{q.f.Status.memberStatus()}
	}
	var out []string
	for _, ty := range types {
		for _, st := range statuses {
			out = append(out, kindOf(ty, st))
		}
	}
	return out
}

// match finds how many people answer the question, and which when the
// question is narrow.
func (q *listQuery) match(db *gorm.DB) (matchSet, error) {
	if q.admin {
		return q.matchAccount(db)
	}
	return q.matchScope(db)
}

// matchAccount answers an Admin, who sees the whole account.
func (q *listQuery) matchAccount(db *gorm.DB) (matchSet, error) {
	f := q.f
	if f.CompanyID != 0 {
		// One of the account's active companies, or no one.
		companies, err := q.s.activeCompanies(db.Statement.Context, q.v)
		if err != nil {
			return matchSet{}, err
		}
		if !slices.ContainsFunc(companies, func(c Company) bool { return c.ID == f.CompanyID }) {
			return exact([]uint{}), nil
		}
		ids, err := q.companyPeople(db, []uint{f.CompanyID}, f.Type, true)
		if err != nil || ids != nil {
			return exact(ids), err
		}
		return q.broadScope(db, nil, []uint{f.CompanyID})
	}
	n := q.counts.of(f.Type, f.Status.memberStatus())
	all := q.counts.of("", "")
	switch {
	case q.search == nil && q.expiry() == "":
		if float64(n) >= q.s.plan.walkDensity*float64(all) {
			return matchSet{total: n}, nil
		}
		ids, err := q.filterPeople(db, f.Type, false)
		return exact(ids), err
	case q.search == nil || q.expiry() != "" || n <= q.s.plan.filter:
		// Few people of this type and status: search their names and
		// addresses along the filter index.
		ids, err := q.filterPeople(db, f.Type, q.search != nil)
		return exact(ids), err
	}
	limit := q.s.plan.search
	if q.broadSearch() {
		// Counting more of it would only raise the bound a little.
		limit = q.s.plan.bound
	}
	return q.searchPeople(db, f.Type, limit)
}

// broadSearch reports whether the search is too short to find few people
// in an account too large to read them all: one or two characters match
// most people. Such a search is counted up to a bound at once.
func (q *listQuery) broadSearch() bool {
	return q.search != nil && len([]rune(q.search.text)) <= 2 && q.counts.of("", "") > int64(q.s.plan.set)
}

// manyCompanies: a non-Admin with more companies than this has too many
// people to read for a search of one or two letters.
const manyCompanies = 10

// matchScope answers a non-Admin: the Admins, and the people of their
// companies (themselves among them).
func (q *listQuery) matchScope(db *gorm.DB) (matchSet, error) {
	f := q.f
	var admins []uint
	if f.CompanyID == 0 && (f.Type == "" || f.Type == Admin) {
		var err error
		if admins, err = q.admins(db); err != nil {
			return matchSet{}, err
		}
	}
	if f.Type == Admin {
		return exact(admins), nil
	}
	companies := q.scope
	if f.CompanyID != 0 {
		if !slices.Contains(q.scope, f.CompanyID) {
			return exact([]uint{}), nil
		}
		companies = []uint{f.CompanyID}
	}
	if q.broadSearch() && len(companies) > manyCompanies {
		// A short search among the people of many companies: most of
		// them match, and reading them all costs more than the answer.
		return q.broadScope(db, admins, companies)
	}
	var people []uint
	var err error
	if q.search != nil {
		// The search's range in each of the companies: their people who
		// match, and no others.
		people, err = q.companySearch(db, companies, f.Type)
	} else {
		people, err = q.companyPeople(db, companies, f.Type, false)
	}
	if err != nil {
		return matchSet{}, err
	}
	if people == nil {
		// Too many to read: count them up to a bound.
		return q.broadScope(db, admins, companies)
	}
	if self := &q.v.Membership; f.CompanyID == 0 && q.selfMatches(self) {
		if i, found := slices.BinarySearch(people, self.ID); !found {
			people = slices.Insert(people, i, self.ID)
		}
	}
	if q.expiry() != "" {
		if people, err = q.byExpiry(db, people); err != nil {
			return matchSet{}, err
		}
	}
	return exact(union(admins, people)), nil
}

// admins reads the Admins who answer a non-Admin's question: of the
// filter's status and expiry, and with the search, found along the
// search's ranges of their kinds when it is long enough to find few.
func (q *listQuery) admins(db *gorm.DB) ([]uint, error) {
	if q.search != nil && q.expiry() == "" && !q.broadSearch() {
		hits, err := q.searchPeople(db, Admin, q.s.plan.set)
		if err != nil || hits.ids != nil {
			return hits.ids, err
		}
	}
	return q.filterPeople(db, Admin, q.search != nil)
}

// companySearch reads the people of the companies whose name or address
// contains the search, of the type (and the filter's status, not its
// expiry), from the companies' ranges of company_search. It reads at most
// planLimits.set entries: past them, it returns nil.
func (q *listQuery) companySearch(db *gorm.DB, companies []uint, t UserType) ([]uint, error) {
	text := q.search
	where, args := []string{q.inCompanies(companies, "c.")}, []any{}
	// A person's first entry of the range in a company; for a cut search,
	// each person has at most one entry equal to the cut text.
	match, matchArgs := "t.lcp < ?", []any{text.n}
	if text.cut {
		where, args = append(where, "c.suffix = ?"), append(args, text.lo)
		match, matchArgs = "1 = 1", nil
	} else {
		where, args = append(where, "c.suffix >= ?"), append(args, text.lo)
		if text.bounded {
			where, args = append(where, "c.suffix < ?"), append(args, text.hi)
		}
	}
	if kinds := q.kinds(t); kinds != nil {
		where, args = append(where, "c.member_kind IN ?"), append(args, kinds)
	}
	var entries int64
	var list *string
	err := db.Raw("SELECT COUNT(*), "+q.s.idList("t.membership_id")+" FILTER (WHERE "+match+")"+
		" FROM (SELECT c.membership_id, c.lcp FROM company_search c WHERE "+strings.Join(where, " AND ")+" LIMIT ?) t",
		slices.Concat(matchArgs, args, []any{q.s.plan.set + 1})...).Row().Scan(&entries, &list)
	if err != nil {
		return nil, fmt.Errorf("search the people of companies: %w", err)
	}
	if entries > int64(q.s.plan.set) {
		return nil, nil
	}
	ids := []uint{}
	if list != nil {
		if ids, err = parseIDList(*list, true); err != nil {
			return nil, err
		}
	}
	if text.cut {
		return q.searchAmong(db, ids)
	}
	return ids, nil
}

// selfMatches reports whether viewers who are not Admins match the
// filter's type, status and search themselves (they are always visible,
// with or without a company).
func (q *listQuery) selfMatches(m *Membership) bool {
	f := q.f
	if (f.Type != "" && m.Type != f.Type) || (f.Status != "" && f.Status.memberStatus() != m.Status) {
		return false
	}
	return q.search == nil || q.search.matches(m)
}

// broadScope is a question about companies whose people are too many to
// read as IDs (or whose search matches too many): the Admins (of a
// non-Admin's list) are counted exactly, and the rest up to
// planLimits.bound people, checked one by one; the page walks the order's
// index.
func (q *listQuery) broadScope(db *gorm.DB, admins []uint, companies []uint) (matchSet, error) {
	where, args := q.rowConditions(false)
	where = append([]string{q.inCompanies(companies, "a.")}, where...)
	n, err := q.count(db, "SELECT COUNT(*) FROM (SELECT DISTINCT a.membership_id FROM assignments a CROSS JOIN memberships WHERE memberships.id = a.membership_id AND "+
		strings.Join(where, " AND ")+" LIMIT ?) t", append(args, q.s.plan.bound+1)...)
	if err != nil {
		return matchSet{}, err
	}
	total := int64(len(admins)) + min(n, int64(q.s.plan.bound))
	if self := &q.v.Membership; !q.admin && q.f.CompanyID == 0 && len(q.scope) == 0 && q.selfMatches(self) {
		total++ // a viewer without a company sees themselves all the same
	}
	return matchSet{total: total, atLeast: n > int64(q.s.plan.bound)}, nil
}

// count runs a query returning one number.
func (q *listQuery) count(db *gorm.DB, sql string, args ...any) (int64, error) {
	var n int64
	if err := db.Raw(sql, args...).Row().Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// inCompanies is the condition "company_id is one of these", on the
// column of the table with the given prefix ("" or "a."). The IDs are
// written into the statement: SQLite makes a constant list into a lookup
// table once per statement, where a list given as a parameter is read
// again wherever the condition is checked.
func (q *listQuery) inCompanies(companies []uint, prefix ...string) string {
	col := strings.Join(prefix, "") + "company_id"
	if len(companies) == 0 {
		return "1 = 0"
	}
	var b strings.Builder
	b.WriteString(col + " IN (")
	for i, id := range companies {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(id), 10))
	}
	b.WriteString(")")
	return b.String()
}

// companyPeople reads the people assigned to any of the companies, of the
// type (and the filter's status), without an invitation's expiry; with
// residual, the expiry and the search are checked too (for a single
// company, whose people are few). It reads at most planLimits.set
// assignments: past them, it returns nil.
func (q *listQuery) companyPeople(db *gorm.DB, companies []uint, t UserType, residual bool) ([]uint, error) {
	where := []string{q.inCompanies(companies, "a.")}
	var args []any
	if kinds := q.kinds(t); kinds != nil {
		where = append(where, "a.member_kind IN ?")
		args = append(args, kinds)
	}
	from := "assignments a"
	if residual && (q.expiry() != "" || q.search != nil) {
		from += " CROSS JOIN memberships"
		where = append(where, "memberships.id = a.membership_id")
		where, args = q.statusConditions(where, args)
		if q.search != nil {
			where = append(where, `(memberships.sort_name LIKE ? ESCAPE '\' OR memberships.email LIKE ? ESCAPE '\')`)
			args = append(args, q.search.like, q.search.like)
		}
	}
	var n int64
	var list *string
	err := db.Raw("SELECT COUNT(*), "+q.s.idList("t.membership_id")+" FROM (SELECT a.membership_id FROM "+from+" WHERE "+
		strings.Join(where, " AND ")+" LIMIT ?) t", append(args, q.s.plan.set+1)...).Row().Scan(&n, &list)
	if err != nil {
		return nil, fmt.Errorf("people of companies: %w", err)
	}
	if n > int64(q.s.plan.set) {
		return nil, nil
	}
	if list == nil {
		return []uint{}, nil
	}
	return parseIDList(*list, true)
}

// filterPeople reads the people of a type (and the filter's status and
// expiry) from the filter index, searching their names and addresses
// there too when search is set.
func (q *listQuery) filterPeople(db *gorm.DB, t UserType, search bool) ([]uint, error) {
	where, args := []string{"memberships.account_id = ?"}, []any{q.v.Account.ID}
	if t != "" {
		where, args = append(where, "memberships.type = ?"), append(args, t)
	} else if q.f.Status != "" {
		// Every type, so that the index's (type, status) ranges apply.
		where, args = append(where, "memberships.type IN ?"), append(args, UserTypes)
	}
	where, args = q.statusConditions(where, args)
	if search {
		where = append(where, `(memberships.sort_name LIKE ? ESCAPE '\' OR memberships.email LIKE ? ESCAPE '\')`)
		args = append(args, q.search.like, q.search.like)
	}
	ids, err := q.ids(db, "SELECT "+q.s.idList("memberships.id")+" FROM memberships "+q.s.indexedBy("idx_members_list_filter")+
		" WHERE "+strings.Join(where, " AND "), args...)
	if err != nil {
		return nil, fmt.Errorf("people of a type: %w", err)
	}
	return ids, nil
}

// statusConditions adds the filter's status and invitation expiry.
func (q *listQuery) statusConditions(where []string, args []any) ([]string, []any) {
	if q.f.Status == "" {
		return where, args
	}
	where, args = append(where, "memberships.status = ?"), append(args, q.f.Status.memberStatus())
	switch q.expiry() {
	case ListExpired:
		where, args = append(where, "memberships.invitation_expires_at <= ?"), append(args, q.now)
	case ListInvited:
		where, args = append(where, "(memberships.invitation_expires_at IS NULL OR memberships.invitation_expires_at > ?)"), append(args, q.now)
	}
	return where, args
}

// byExpiry keeps the invitees whose links are as the filter asks.
func (q *listQuery) byExpiry(db *gorm.DB, people []uint) ([]uint, error) {
	expired, err := q.ids(db, "SELECT "+q.s.idList("memberships.id")+" FROM memberships "+q.s.indexedBy("idx_members_list_filter")+
		" WHERE memberships.account_id = ? AND memberships.type IN ? AND memberships.status = ? AND memberships.invitation_expires_at <= ?",
		q.v.Account.ID, UserTypes, MemberInvited, q.now)
	if err != nil {
		return nil, fmt.Errorf("expired invitations: %w", err)
	}
	if q.f.Status == ListExpired {
		return intersect(people, expired), nil
	}
	return subtract(people, expired), nil
}

// searchAmong keeps the people whose name or address contains the search,
// checking each.
func (q *listQuery) searchAmong(db *gorm.DB, people []uint) ([]uint, error) {
	if len(people) == 0 {
		return people, nil
	}
	ids, err := q.ids(db, "SELECT "+q.s.idList("memberships.id")+" FROM memberships WHERE "+q.s.inIDs("memberships.id")+
		` AND (memberships.sort_name LIKE ? ESCAPE '\' OR memberships.email LIKE ? ESCAPE '\')`,
		q.s.idsArg(people), q.search.like, q.search.like)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return ids, nil
}

// searchRange is the condition of the search's member_search ranges: one
// for each kind of the type (and the filter's status).
func (q *listQuery) searchRange(t UserType) (string, []any) {
	kinds := q.kinds(t)
	if kinds == nil {
		kinds = allKinds
	}
	text := q.search
	if text.cut {
		return "member_search.account_id = ? AND member_search.member_kind IN ? AND member_search.suffix = ?", []any{q.v.Account.ID, kinds, text.lo}
	}
	sql, args := "member_search.account_id = ? AND member_search.member_kind IN ? AND member_search.suffix >= ?", []any{q.v.Account.ID, kinds, text.lo}
	if text.bounded {
		sql, args = sql+" AND member_search.suffix < ?", append(args, text.hi)
	}
	return sql, args
}

// allKinds are the kinds of every type and status.
var allKinds = func() []string {
	var out []string
	for _, t := range UserTypes {
		for _, st := range []MemberStatus{MemberInvited, MemberActive, MemberDisabled} {
			out = append(out, kindOf(t, st))
		}
	}
	return out
}()

// searchPeople reads the people a search finds, of the type and the
// filter's status (not its expiry, which the caller checks), along at
// most limit entries of its ranges. Past them, the search is broad: the
// people found so far are a lower bound of the count, and no IDs are
// returned.
func (q *listQuery) searchPeople(db *gorm.DB, t UserType, limit int) (matchSet, error) {
	where, args := q.searchRange(t)
	// A person's first entry of the range; for a cut search, each person
	// has at most one entry equal to the cut text.
	match, matchArgs := "t.lcp < ?", []any{q.search.n}
	if q.search.cut {
		match, matchArgs = "1 = 1", nil
	}
	var entries, found int64
	var list *string
	err := db.Raw("SELECT COUNT(*), COUNT(*) FILTER (WHERE "+match+"), "+q.s.idList("t.membership_id")+" FILTER (WHERE "+match+")"+
		" FROM (SELECT member_search.membership_id, member_search.lcp FROM member_search WHERE "+where+" LIMIT ?) t",
		slices.Concat(matchArgs, matchArgs, args, []any{limit + 1})...).Row().Scan(&entries, &found, &list)
	if err != nil {
		return matchSet{}, fmt.Errorf("search users: %w", err)
	}
	if entries > int64(limit) {
		return matchSet{total: found, atLeast: true}, nil
	}
	ids := []uint{}
	if list != nil {
		if ids, err = parseIDList(*list, true); err != nil {
			return matchSet{}, err
		}
	}
	if q.search.cut {
		ids, err = q.searchAmong(db, ids)
	}
	return exact(ids), err
}

// rowConditions are the filter as conditions on memberships rows, for the
// plans that check rows: the account, type, status and expiry, search,
// company and (with visibility) what a non-Admin may see.
func (q *listQuery) rowConditions(visibility bool) ([]string, []any) {
	where, args := []string{"memberships.account_id = ?"}, []any{q.v.Account.ID}
	if q.f.Type != "" {
		where, args = append(where, "memberships.type = ?"), append(args, q.f.Type)
	}
	where, args = q.statusConditions(where, args)
	if q.search != nil {
		where = append(where, `(memberships.sort_name LIKE ? ESCAPE '\' OR memberships.email LIKE ? ESCAPE '\')`)
		args = append(args, q.search.like, q.search.like)
	}
	if q.f.CompanyID != 0 {
		where = append(where, "EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = memberships.id AND a.company_id = ?)")
		args = append(args, q.f.CompanyID)
	}
	if visibility && !q.admin {
		// +a.company_id keeps SQLite from seeking each of the viewer's
		// companies in every person's assignments: it scans the person's
		// few instead.
		where = append(where, "(memberships.type = ? OR memberships.id = ? OR EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = memberships.id AND "+
			q.inCompanies(q.scope, "+a.")+"))")
		args = append(args, Admin, q.v.Membership.ID)
	}
	return where, args
}

// userListColumns are the columns of a membership the list shows. Reading
// the others (timestamps mostly, each parsed from text) would double the
// cost of a page.
const userListColumns = "memberships.id, memberships.account_id, memberships.first_name, memberships.last_name, " +
	"memberships.email, memberships.sort_name, memberships.type, memberships.status, memberships.last_active_at, " +
	"memberships.invited_at"

func scanListMember(rows interface{ Scan(...any) error }, m *Membership) error {
	return rows.Scan(&m.ID, &m.AccountID, &m.FirstName, &m.LastName, &m.Email, &m.SortName,
		&m.Type, &m.Status, &m.LastActiveAt, &m.InvitedAt)
}

// readMembers runs a query of userListColumns.
func readMembers(db *gorm.DB, limit int, sql string, args ...any) ([]Membership, error) {
	rows, err := db.Raw(sql, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	// Scanned by hand: GORM's reflective scan was most of the cost of a page.
	members := make([]Membership, 0, limit)
	for rows.Next() {
		var m Membership
		if err := scanListMember(rows, &m); err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return members, nil
}

// position is where a page starts reading: after (or, backward, before)
// a cursor, or at the start.
type position struct {
	at       *listCursor
	backward bool
}

// keyset is the condition "after the cursor in the walk's direction" and
// the ORDER BY of the walk.
func (q *listQuery) keyset(p position) (cond string, args []any, orderBy string) {
	desc := q.f.Desc() != p.backward
	cols := make([]string, 0, len(q.order.keys)+1)
	for _, k := range q.order.keys {
		if q.order.bytewise {
			k = q.s.bytewise(k)
		}
		cols = append(cols, k)
	}
	cols = append(cols, "memberships.id")
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	orderBy = strings.Join(cols, dir+", ") + dir
	if p.at == nil {
		return "", nil, orderBy
	}
	op := " > "
	if desc {
		op = " < "
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	for _, k := range p.at.key {
		if q.order.time {
			t, _ := time.Parse(time.RFC3339Nano, k)
			args = append(args, t.UTC())
		} else {
			args = append(args, k)
		}
	}
	args = append(args, p.at.id)
	return "(" + strings.Join(cols, ", ") + ")" + op + "(" + marks + ")", args, orderBy
}

// readMatches reads up to limit of the given people from the position, in
// order.
func (q *listQuery) readMatches(db *gorm.DB, ids []uint, p position, limit int) ([]Membership, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cond, kargs, orderBy := q.keyset(p)
	where, args := q.s.inIDs("memberships.id"), []any{q.s.idsArg(ids)}
	if cond != "" {
		where, args = where+" AND "+cond, append(args, kargs...)
	}
	return readMembers(db, limit, "SELECT "+userListColumns+" FROM memberships WHERE "+where+" ORDER BY "+orderBy+" LIMIT ?",
		append(args, limit)...)
}

// pickMatches walks the order's index from the position, reading IDs
// only, and keeps the first limit that are among the given people
// (sorted), then reads their rows.
func (q *listQuery) pickMatches(db *gorm.DB, ids []uint, p position, limit int) ([]Membership, error) {
	cond, kargs, orderBy := q.keyset(p)
	where, args := []string{"memberships.account_id = ?"}, []any{q.v.Account.ID}
	if cond != "" {
		where, args = append(where, cond), append(args, kargs...)
	}
	all := max(q.counts.of("", ""), 1)
	// Expect to pass all/len(ids) people a match, and read a third more.
	batch := int(float64(limit)*float64(all)/float64(len(ids))*4/3) + 64
	var picked []uint
	for offset := 0; len(picked) < limit; {
		list, err := q.orderedIDs(db, where, args, orderBy, batch, offset)
		if err != nil {
			return nil, err
		}
		for _, id := range list {
			if _, found := slices.BinarySearch(ids, id); found {
				picked = append(picked, id)
				if len(picked) == limit {
					break
				}
			}
		}
		if len(list) < batch {
			break
		}
		offset += batch
		batch *= 2
	}
	return q.readRows(db, picked)
}

// orderedIDs reads the IDs of a stretch of the walk, in order.
func (q *listQuery) orderedIDs(db *gorm.DB, where []string, args []any, orderBy string, limit, offset int) ([]uint, error) {
	var list *string
	err := db.Raw("SELECT "+q.s.idList("t.id")+" FROM (SELECT memberships.id FROM memberships "+q.s.indexedBy(q.order.index)+
		" WHERE "+strings.Join(where, " AND ")+" ORDER BY "+orderBy+" LIMIT ? OFFSET ?) t", append(args, limit, offset)...).Row().Scan(&list)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if list == nil {
		return nil, nil
	}
	return parseIDList(*list, false)
}

// readRows reads the rows of people in the order given.
func (q *listQuery) readRows(db *gorm.DB, ids []uint) ([]Membership, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	members, err := readMembers(db, len(ids), "SELECT "+userListColumns+" FROM memberships WHERE "+q.s.inIDs("memberships.id"),
		q.s.idsArg(ids))
	if err != nil {
		return nil, err
	}
	at := make(map[uint]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	slices.SortFunc(members, func(a, b Membership) int { return at[a.ID] - at[b.ID] })
	return members, nil
}

// walk reads up to limit people from the position along the order's
// index, checking each row against the whole filter.
func (q *listQuery) walk(db *gorm.DB, p position, limit int) ([]Membership, error) {
	where, args := q.rowConditions(true)
	cond, kargs, orderBy := q.keyset(p)
	if cond != "" {
		where, args = append(where, cond), append(args, kargs...)
	}
	return readMembers(db, limit, "SELECT "+userListColumns+" FROM memberships "+q.s.indexedBy(q.order.index)+
		" WHERE "+strings.Join(where, " AND ")+" ORDER BY "+orderBy+" LIMIT ?", append(args, limit)...)
}

// answer finds the page: the count, then the rows from the filter's
// position, with the cursors of the pages either side.
func (q *listQuery) answer(db *gorm.DB) (*UserPage, []Membership, error) {
	f := q.f
	var p position
	if at := f.After + f.Before; at != "" {
		c, err := decodeListCursor(at, f)
		if err != nil {
			return nil, nil, err
		}
		p = position{at: &c, backward: f.Before != ""}
	}
	m, err := q.match(db)
	if err != nil {
		return nil, nil, err
	}
	page := &UserPage{Total: m.total, TotalAtLeast: m.atLeast}
	limit := f.Size + 1 // one more tells whether there is another page
	var members []Membership
	switch {
	case m.ids != nil && int64(len(m.ids))*int64(len(m.ids))*int64(q.s.plan.readCost) <= int64(limit)*q.counts.of("", ""):
		members, err = q.readMatches(db, m.ids, p, limit)
	case m.ids != nil:
		members, err = q.pickMatches(db, m.ids, p, limit)
	default:
		members, err = q.walk(db, p, limit)
	}
	if err != nil {
		return nil, nil, err
	}
	more := len(members) > f.Size
	if more {
		members = members[:f.Size]
	}
	if p.backward {
		slices.Reverse(members)
	}
	if m.atLeast {
		// A bound: the rows read say more. A first page that is also the
		// last holds everyone.
		var before int64 // rows known to come before this page
		if p.at != nil {
			before = p.at.start
		}
		switch {
		case p.at == nil && !more:
			m.total, m.atLeast = int64(len(members)), false
		case p.backward:
			m.total = max(m.total, before)
		case more:
			m.total = max(m.total, before+int64(len(members))+1)
		default:
			m.total = max(m.total, before+int64(len(members)))
		}
		page.Total, page.TotalAtLeast = m.total, m.atLeast
	}
	// The position: carried by the cursor from the first page on, and put
	// right at either end of the list.
	switch {
	case p.at == nil || (p.backward && !more):
		page.Start = 0
	case p.backward:
		page.Start = max(p.at.start-int64(len(members)), 0)
	case !more && !m.atLeast:
		page.Start = max(m.total-int64(len(members)), 0)
	default:
		page.Start = p.at.start
	}
	if !m.atLeast {
		page.Start = min(page.Start, max(m.total-int64(len(members)), 0))
	}
	if len(members) > 0 {
		first, last := &members[0], &members[len(members)-1]
		if (p.backward && more) || (!p.backward && p.at != nil) {
			page.PrevCursor = encodeListCursor(listCursor{sort: f.Sort, desc: f.Desc(), start: page.Start, id: first.ID, key: q.order.key(first)})
		}
		if (!p.backward && more) || (p.backward && p.at != nil) {
			page.NextCursor = encodeListCursor(listCursor{sort: f.Sort, desc: f.Desc(), start: page.Start + int64(len(members)), id: last.ID, key: q.order.key(last)})
		}
	}
	return page, members, nil
}

// intersect returns the IDs in both sorted lists.
func intersect(a, b []uint) []uint {
	out := make([]uint, 0, min(len(a), len(b)))
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// subtract returns the IDs of sorted a that are not in sorted b.
func subtract(a, b []uint) []uint {
	out := make([]uint, 0, len(a))
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j == len(b) || b[j] != id {
			out = append(out, id)
		}
	}
	return out
}

// union returns the IDs in either sorted list, once.
func union(a, b []uint) []uint {
	out := make([]uint, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}
