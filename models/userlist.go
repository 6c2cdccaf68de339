package models

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// The users list: who the viewer may see in their account, searched,
// filtered, sorted and paged. This file is its contract (the question, the
// page, the cursor, the rows); userlist_query.go answers the question from
// the indexes that userlist_schema.go keeps.

// Users list sort orders. Each has a natural direction (Dir "" means it).
const (
	SortByName       = "name"    // A → Z
	SortByEmail      = "email"   // A → Z
	SortByType       = "type"    // Admin, Manager, Notification, Reporting; by name within
	SortByLastActive = "active"  // most recent first, never-active last
	SortByInvited    = "invited" // newest first
)

// UserSorts lists the orders, as the page offers them.
var UserSorts = []string{SortByName, SortByEmail, SortByType, SortByLastActive, SortByInvited}

// Sort directions.
const (
	Ascending  = "asc"
	Descending = "desc"
)

// naturallyDescending reports whether an order runs high to low unless asked
// otherwise: the most recent first.
func naturallyDescending(sort string) bool { return sort == SortByLastActive || sort == SortByInvited }

// ListStatus is what the list's status filter asks for: a member's status,
// with invitees split by whether their current link still works.
type ListStatus string

const (
	ListActive   ListStatus = "active"
	ListInvited  ListStatus = "invited" // waiting, with a link that still works (or none sent)
	ListExpired  ListStatus = "expired" // waiting, and their current link has expired
	ListDisabled ListStatus = "disabled"
)

// ListStatuses lists the status filters, as the page offers them.
var ListStatuses = []ListStatus{ListActive, ListInvited, ListExpired, ListDisabled}

// memberStatus is the member status a list status is part of.
func (s ListStatus) memberStatus() MemberStatus {
	if s == ListExpired {
		return MemberInvited
	}
	return MemberStatus(s)
}

// Page sizes the list offers.
var PageSizes = []int{25, 50, 100}

const (
	DefaultPageSize = 50
	MaxSearchLength = 100
	// shownCompanies is how many company names a row spells out.
	shownCompanies = 3
)

// UserFilter is one question to the users list; the URL of the page holds
// all of it. Cursors are opaque strings from an earlier page: keyset
// paging keeps deep pages as fast as the first.
type UserFilter struct {
	Query     string
	Type      UserType
	Status    ListStatus
	CompanyID uint
	Sort      string
	Dir       string // Ascending or Descending; "" is the sort's natural one
	Size      int    // rows a page: one of PageSizes (0: DefaultPageSize)
	After     string
	Before    string
}

// Desc reports whether the order runs high to low (Z → A, newest first).
func (f UserFilter) Desc() bool {
	if f.Dir == "" {
		return naturallyDescending(f.Sort)
	}
	return f.Dir == Descending
}

// UserRow is one line of the users list.
type UserRow struct {
	// Membership holds what the list shows (userListColumns); its other
	// fields are zero.
	Membership
	AllCompanies bool     // Admins see every company
	Companies    []string // the first few names, A → Z
	CompanyCount int
	Invitation   *InvitationState
	// DeliveryProblem says, in a few words anyone who sees the row may
	// read (SummarizeEmailError), why an email to this person keeps
	// failing, so an Admin learns that an invitation is not arriving. The
	// mail server's own answer is on Edit User, for Admins.
	DeliveryProblem string
	// LastActiveAdmin: the account's only active Admin, as on Edit User,
	// whose row offers no delete (it would only be refused).
	LastActiveAdmin bool
}

// failingAfter is how many failed attempts make a delivery "keep failing".
const failingAfter = 3

// InvitationState is where a pending invitee's link stands.
type InvitationState struct {
	SentAt    time.Time
	ExpiresAt time.Time
	Expired   bool
}

// UserPage is one page of the users list.
type UserPage struct {
	Rows []UserRow
	// Total is how many people match. When TotalAtLeast, counting them all
	// would have cost more than a page may (a search matching most of a
	// large account), and Total is how many were counted: there are more.
	Total        int64
	TotalAtLeast bool
	// Start is the position of the first row in the whole answer, from 0:
	// the page shows "Start+1 – Start+len(Rows) of Total". It is carried in
	// the cursors from the first page on, so it counts the pages turned.
	Start      int64
	NextCursor string
	PrevCursor string
}

// listCursor is a place in an order of the users list: the sort key of a
// row and its ID, the position of the page it starts, and the order it
// belongs to.
type listCursor struct {
	sort  string
	desc  bool
	start int64
	id    uint
	key   []string // the sort's key columns, as text
}

// cursorVersion marks the cursor format; links with another are refused.
const cursorVersion = "2"

// keySep separates the parts of a key made of two columns (a type and a
// name). Names and addresses never hold control characters.
const keySep = "\x1f"

func encodeListCursor(c listCursor) string {
	raw := strings.Join([]string{cursorVersion, c.sort, dirName(c.desc), strconv.FormatInt(c.start, 10),
		strconv.FormatUint(uint64(c.id), 10), strings.Join(c.key, keySep)}, ":")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func dirName(desc bool) string {
	if desc {
		return Descending
	}
	return Ascending
}

var errBadCursor = Errorf(BadRequest, "That page link is not valid. Go back to the first page.")

// decodeListCursor reads a cursor of the filter's order.
func decodeListCursor(s string, f UserFilter) (listCursor, error) {
	if len(s) > 2048 {
		return listCursor{}, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !utf8.Valid(b) {
		return listCursor{}, errBadCursor
	}
	parts := strings.SplitN(string(b), ":", 6)
	if len(parts) != 6 || parts[0] != cursorVersion || parts[1] != f.Sort || parts[2] != dirName(f.Desc()) {
		return listCursor{}, errBadCursor
	}
	start, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || start < 0 {
		return listCursor{}, errBadCursor
	}
	id, err := strconv.ParseUint(parts[4], 10, 32)
	if err != nil {
		return listCursor{}, errBadCursor
	}
	c := listCursor{sort: f.Sort, desc: f.Desc(), start: start, id: uint(id), key: strings.Split(parts[5], keySep)}
	if len(c.key) != len(orderOf(f.Sort).keys) {
		return listCursor{}, errBadCursor
	}
	return c, nil
}

// CleanUserFilter checks a filter that came from a URL and fills in the
// defaults (the name order, its natural direction, 50 rows).
func CleanUserFilter(f UserFilter) (UserFilter, error) {
	f.Query = strings.TrimSpace(f.Query)
	if !utf8.ValidString(f.Query) || utf8.RuneCountInString(f.Query) > MaxSearchLength {
		return f, Errorf(BadRequest, "Search for at most %d characters.", MaxSearchLength)
	}
	if strings.ContainsFunc(f.Query, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return f, Errorf(BadRequest, "A search cannot contain control characters.")
	}
	if f.Sort == "" {
		f.Sort = SortByName
	}
	if !slices.Contains(UserSorts, f.Sort) {
		return f, Errorf(BadRequest, "That sort order is not known.")
	}
	switch f.Dir {
	case "", Ascending, Descending:
	default:
		return f, Errorf(BadRequest, "A sort runs %q or %q.", Ascending, Descending)
	}
	if f.Type != "" {
		if _, err := ParseUserType(string(f.Type)); err != nil {
			return f, err
		}
	}
	if f.Status != "" && !slices.Contains(ListStatuses, f.Status) {
		return f, Errorf(BadRequest, "That status is not known.")
	}
	if f.Size == 0 {
		f.Size = DefaultPageSize
	}
	if !slices.Contains(PageSizes, f.Size) {
		return f, Errorf(BadRequest, "A page shows 25, 50 or 100 people.")
	}
	if f.After != "" && f.Before != "" {
		return f, errBadCursor
	}
	return f, nil
}

// escapeLike makes user text literal inside a LIKE pattern.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// FindUsers returns one page of the people the viewer may see in their
// account: everyone for an Admin; for anyone else, the Admins, themselves
// and the people who share one of their active companies. Every request
// reads the database (userlist_query.go says how, and why that is cheap).
func (s *Store) FindUsers(ctx context.Context, v *Viewer, f UserFilter) (*UserPage, error) {
	f, err := CleanUserFilter(f)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	q, err := s.newListQuery(db, v, f)
	if err != nil {
		return nil, err
	}
	page, members, err := q.answer(db)
	if err != nil {
		return nil, err
	}
	page.Rows, err = s.userRows(ctx, v, q.scope, members)
	if err != nil {
		return nil, err
	}
	// The account's counts, already read, say who is the last active
	// Admin without asking isLastActiveAdmin row by row.
	last := q.counts.of(Admin, MemberActive) == 1
	for i := range page.Rows {
		page.Rows[i].LastActiveAdmin = last && isActiveAdmin(&page.Rows[i].Membership)
	}
	return page, nil
}

// userRows adds companies, invitation state and failing emails to a page
// of members, with one query each, whatever the page size. scope is the
// viewer's active companies, nil for an Admin: a non-Admin sees only those
// among a person's companies.
func (s *Store) userRows(ctx context.Context, v *Viewer, scope []uint, members []Membership) ([]UserRow, error) {
	rows := make([]UserRow, len(members))
	if len(members) == 0 {
		return rows, nil
	}
	index := make(map[uint]int, len(members))
	var ids, companied, invited []uint
	for i, m := range members {
		rows[i] = UserRow{Membership: m, AllCompanies: m.Type.SeesAllCompanies()}
		index[m.ID] = i
		ids = append(ids, m.ID)
		if !m.Type.SeesAllCompanies() {
			companied = append(companied, m.ID)
		}
		if m.Status == MemberInvited {
			invited = append(invited, m.ID)
		}
	}
	db := s.db.WithContext(ctx)
	if len(companied) > 0 {
		companies, err := s.activeCompanies(ctx, v)
		if err != nil {
			return nil, err
		}
		if err := s.addCompanyNames(db, v.Account.ID, companies, scope, companied, rows, index); err != nil {
			return nil, err
		}
	}
	if len(invited) > 0 {
		if err := s.addInvitations(db, invited, rows, index); err != nil {
			return nil, err
		}
	}
	failing, err := s.FailingEmails(ctx, ids, failingAfter)
	if err != nil {
		return nil, err
	}
	for id, msg := range failing {
		rows[index[id]].DeliveryProblem = SummarizeEmailError(msg.LastError)
	}
	return rows, nil
}

// addInvitations sets the state of each pending invitee's current link.
func (s *Store) addInvitations(db *gorm.DB, invited []uint, rows []UserRow, index map[uint]int) error {
	sqlRows, err := db.Raw(`SELECT membership_id, created_at, expires_at FROM tokens
		WHERE `+s.inIDs("membership_id")+` AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL ORDER BY created_at`,
		s.idsArg(invited), PurposeInvitation).Rows()
	if err != nil {
		return fmt.Errorf("invitations of users: %w", err)
	}
	defer sqlRows.Close()
	now := s.Now()
	for sqlRows.Next() {
		var id uint
		var st InvitationState
		if err := sqlRows.Scan(&id, &st.SentAt, &st.ExpiresAt); err != nil {
			return fmt.Errorf("invitations of users: %w", err)
		}
		st.Expired = !now.Before(st.ExpiresAt)
		rows[index[id]].Invitation = &st
	}
	if err := sqlRows.Err(); err != nil {
		return fmt.Errorf("invitations of users: %w", err)
	}
	return nil
}

// visibleMemberSQL is the rule for the people someone who does not see
// every company may see, as a condition on one membership row: the
// Admins, themselves, and the people who share one of their active
// companies. It suits a single person (FindMember); the users list applies
// the same rule to whole sets (userlist_query.go).
func visibleMemberSQL(v *Viewer) (string, []any) {
	return `(memberships.type = ? OR memberships.id = ? OR EXISTS (
		SELECT 1 FROM assignments theirs
		JOIN assignments mine ON mine.company_id = theirs.company_id
		JOIN companies c ON c.id = theirs.company_id AND c.status = ?
		WHERE theirs.membership_id = memberships.id AND mine.membership_id = ?))`,
		[]any{Admin, v.Membership.ID, CompanyActive, v.Membership.ID}
}

// cursor is a place in a simpler ordering (the audit log, companies): the
// sort key of a row and its ID.
type cursor struct {
	key string
	id  uint
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(uint64(c.id), 10) + ":" + c.key))
}

func decodeCursor(s string) (cursor, error) {
	if len(s) > 1024 {
		return cursor{}, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor
	}
	id, key, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseUint(id, 10, 32)
	if !ok || err != nil || !utf8.ValidString(key) {
		return cursor{}, errBadCursor
	}
	return cursor{key: key, id: uint(n)}, nil
}
