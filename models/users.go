package models

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Users list sort orders.
const (
	SortByName       = "name"   // A → Z
	SortByLastActive = "active" // most recent first, never-active last
)

const (
	DefaultPageSize = 50
	MaxSearchLength = 100
	// shownCompanies is how many company names a row spells out.
	shownCompanies = 3
)

// UserFilter is what the users list asks for. Cursors are opaque strings
// from an earlier page; keyset paging keeps deep pages as fast as the first.
type UserFilter struct {
	Query     string
	Type      UserType
	Status    MemberStatus
	CompanyID uint
	Sort      string
	After     string
	Before    string
	Limit     int
}

// UserRow is one line of the users list.
type UserRow struct {
	// Membership holds what the list shows (userListColumns): ID, account,
	// names, email, type, status and last active; its other fields are zero.
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
	Rows       []UserRow
	Total      int64
	NextCursor string
	PrevCursor string
}

// cursor is the position of a row in an ordering: its sort key and ID.
type cursor struct {
	key string
	id  uint
}

func encodeCursor(c cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(uint64(c.id), 10) + ":" + c.key))
}

func decodeCursor(s string) (cursor, error) {
	bad := Errorf(BadRequest, "That page link is not valid. Go back to the first page.")
	if len(s) > 1024 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	id, key, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseUint(id, 10, 32)
	if !ok || err != nil || !utf8.ValidString(key) {
		return cursor{}, bad
	}
	return cursor{key: key, id: uint(n)}, nil
}

// CleanUserFilter checks a filter that came from a URL.
func CleanUserFilter(f UserFilter) (UserFilter, error) {
	f.Query = strings.TrimSpace(f.Query)
	if utf8.RuneCountInString(f.Query) > MaxSearchLength || !utf8.ValidString(f.Query) {
		return f, Errorf(BadRequest, "Search for at most %d characters.", MaxSearchLength)
	}
	switch f.Sort {
	case "", SortByName:
		f.Sort = SortByName
	case SortByLastActive:
	default:
		return f, Errorf(BadRequest, "That sort order is not known.")
	}
	if f.Type != "" {
		if _, err := ParseUserType(string(f.Type)); err != nil {
			return f, err
		}
	}
	switch f.Status {
	case "", MemberInvited, MemberActive, MemberDisabled:
	default:
		return f, Errorf(BadRequest, "That status is not known.")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = DefaultPageSize
	}
	return f, nil
}

// escapeLike makes user text literal inside a LIKE pattern.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// FindUsers returns one page of the people the viewer may see in their
// account: everyone for an Admin; for anyone else, Admins and the people who
// share one of their active companies. Pages are kept in memory while the
// account's people and companies are unchanged (list_cache.go); the page
// returned may be shared, so callers read it and never change it.
func (s *Store) FindUsers(ctx context.Context, v *Viewer, f UserFilter) (*UserPage, error) {
	f, err := CleanUserFilter(f)
	if err != nil {
		return nil, err
	}
	sn, err := s.snapshot(ctx, v)
	if err != nil {
		return nil, err
	}
	key := newListKey(v, f)
	if page := s.cachedUsers(key, sn.companyVersion, sn.memberVersion); page != nil {
		return page, nil
	}
	companies, err := s.companiesInView(ctx, v, sn.companyVersion)
	if err != nil {
		return nil, err
	}
	page, err := s.findUsers(ctx, v, f, companies)
	if err != nil {
		return nil, err
	}
	s.keepUsers(key, sn.companyVersion, sn.memberVersion, page)
	return page, nil
}

// findUsers reads a page of the list from the database; companies are the
// ones its rows may name (companiesInView).
func (s *Store) findUsers(ctx context.Context, v *Viewer, f UserFilter, companies []Company) (*UserPage, error) {
	var err error
	db := s.db.WithContext(ctx)
	uq := s.newUserQuery(v, f)
	page := &UserPage{}
	if page.Total, err = uq.count(db); err != nil {
		return nil, err
	}

	// Keyset paging: forward after a cursor, or backward before one (the
	// ordering reversed, then the rows put back in order).
	backward := f.Before != ""
	var keyset string
	var keyArgs []any
	var at string
	if backward {
		at = f.Before
	} else {
		at = f.After
	}
	keyCol, ascending := "memberships.sort_name", true
	if f.Sort == SortByLastActive {
		keyCol, ascending = "memberships.last_active_at", false
	}
	if at != "" {
		c, err := decodeCursor(at)
		if err != nil {
			return nil, err
		}
		var key any = c.key
		if f.Sort == SortByLastActive {
			t, err := time.Parse(time.RFC3339Nano, c.key)
			if err != nil {
				return nil, Errorf(BadRequest, "That page link is not valid. Go back to the first page.")
			}
			key = t.UTC()
		}
		op := ">"
		if ascending == backward {
			op = "<"
		}
		keyset, keyArgs = fmt.Sprintf("(%s, memberships.id) %s (?, ?)", keyCol, op), []any{key, c.id}
	}
	dir := "ASC"
	if ascending == backward {
		dir = "DESC"
	}
	members, err := uq.page(db, page.Total, keyset, keyArgs, fmt.Sprintf("%s %s, memberships.id %s", keyCol, dir, dir), f.Limit+1)
	if err != nil {
		return nil, err
	}
	more := len(members) > f.Limit
	if more {
		members = members[:f.Limit]
	}
	if backward {
		for i, j := 0, len(members)-1; i < j; i, j = i+1, j-1 {
			members[i], members[j] = members[j], members[i]
		}
	}
	if len(members) > 0 {
		first, last := members[0], members[len(members)-1]
		if (backward && more) || (!backward && at != "") {
			page.PrevCursor = encodeCursor(cursorOf(first, f.Sort))
		}
		if (!backward && more) || (backward && at != "") {
			page.NextCursor = encodeCursor(cursorOf(last, f.Sort))
		}
	}
	page.Rows, err = s.userRows(db, members, companies)
	if err != nil {
		return nil, err
	}
	return page, nil
}

func cursorOf(m Membership, sort string) cursor {
	if sort == SortByLastActive {
		return cursor{key: m.LastActiveAt.UTC().Format(time.RFC3339Nano), id: m.ID}
	}
	return cursor{key: m.SortName, id: m.ID}
}

// userRows adds companies and invitation state to a page of members with
// one query each, whatever the page size.
func (s *Store) userRows(db *gorm.DB, members []Membership, companies []Company) ([]UserRow, error) {
	rows := make([]UserRow, len(members))
	index := make(map[uint]int, len(members))
	var ids, invited []uint
	for i, m := range members {
		rows[i] = UserRow{Membership: m, AllCompanies: m.Type.SeesAllCompanies()}
		index[m.ID] = i
		if !m.Type.SeesAllCompanies() {
			ids = append(ids, m.ID)
		}
		if m.Status == MemberInvited {
			invited = append(invited, m.ID)
		}
	}
	if len(ids) > 0 {
		if err := s.addCompanyNames(db, members[0].AccountID, companies, ids, rows, index); err != nil {
			return nil, err
		}
	}
	if len(invited) > 0 {
		if err := s.addInvitations(db, invited, rows, index); err != nil {
			return nil, err
		}
	}
	if len(members) > 0 {
		all := make([]uint, len(members))
		for i, m := range members {
			all[i] = m.ID
		}
		failing, err := s.FailingEmails(db.Statement.Context, all, failingAfter)
		if err != nil {
			return nil, err
		}
		for id, msg := range failing {
			rows[index[id]].DeliveryProblem = SummarizeEmailError(msg.LastError)
		}
	}
	return rows, nil
}

// VisibleCompanies lists the active companies a viewer may see, A → Z.
// An Admin's list (the whole account) may be shared with other requests:
// read it, never change it.
func (s *Store) VisibleCompanies(ctx context.Context, v *Viewer) ([]Company, error) {
	if v.Type().SeesAllCompanies() {
		return s.activeCompanies(ctx, v)
	}
	q := visibleCompanies(s.db.WithContext(ctx), v).Where("companies.status = ?", CompanyActive)
	var companies []Company
	if err := q.Order("name, id").Find(&companies).Error; err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	return companies, nil
}

// visibleMemberSQL is the one rule for the people someone who does not see
// every company may see: the Admins, themselves, and the people who share
// one of their active companies.
func visibleMemberSQL(v *Viewer) (string, []any) {
	return `(memberships.type = ? OR memberships.id = ? OR EXISTS (
		SELECT 1 FROM assignments theirs
		JOIN assignments mine ON mine.company_id = theirs.company_id
		JOIN companies c ON c.id = theirs.company_id AND c.status = ?
		WHERE theirs.membership_id = memberships.id AND mine.membership_id = ?))`,
		[]any{Admin, v.Membership.ID, CompanyActive, v.Membership.ID}
}

// addInvitations sets the state of each pending invitee's current link.
func (s *Store) addInvitations(db *gorm.DB, invited []uint, rows []UserRow, index map[uint]int) error {
	sqlRows, err := db.Raw(`SELECT membership_id, created_at, expires_at FROM tokens
		WHERE membership_id IN ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL ORDER BY created_at`,
		invited, PurposeInvitation).Rows()
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
