package models

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Session lifetimes: a session ends after IdleTimeout without a request, and
// in any case AbsoluteTimeout after login.
const (
	IdleTimeout     = 2 * time.Hour
	AbsoluteTimeout = 12 * time.Hour
	// touchEvery limits how often a request writes "last seen" and
	// "last active", so reading pages does not mean writing rows.
	touchEvery = time.Minute
)

// Viewer is the signed-in person for one request, loaded fresh from the
// database every time: their type and status are never trusted from a cookie.
type Viewer struct {
	SessionID  uint
	Login      Login
	Membership Membership
	Account    Account
	// snapshot is what LoadViewer read besides the session.
	snapshot viewerSnapshot
}

// viewerSnapshot is what LoadViewer reads in the same query as the
// session: the version of the account's companies (company_cache.go) and
// the counts every page's header shows. It is trusted while this server
// has finished no write since; after one (possibly the request's own), it
// is read again, in one query.
type viewerSnapshot struct {
	known          bool   // read by LoadViewer for this request
	writes         uint64 // Store.writes when read
	companyVersion int64
	// memberVersion is the version of the account's people as the users
	// list shows them (userlist_cache.go).
	memberVersion int64
	accounts      int64 // accounts the login may use
	incoming      int64 // pending access requests to the account
	// assigned are the companies the membership is assigned to, of any
	// status, sorted; nil for an Admin, who sees every company. With the
	// cached list at companyVersion they answer "which companies may this
	// viewer see" (Store.VisibleCompanies) without another query.
	assigned []uint
	// assignedList is assigned as read: a comma-separated list or NULL.
	assignedList *string
}

// snapshotSQL is the snapshot's columns as subqueries over the SQL
// expressions of an account ID, a login ID, a membership ID and its type;
// snapshotArgs are its parameters and fields its destinations, in order.
// Inside the third subquery, memberships and accounts name that
// subquery's own rows. idList is the dialect's aggregate of IDs into one
// string (Store.idList): a row per company would cost more than its bytes.
func snapshotSQL(idList func(string) string, account, login, member, memberType string) string {
	return `(SELECT COALESCE(MAX(version), 0) FROM company_list_versions WHERE account_id = ` + account + `),
		(SELECT COALESCE(MAX(version), 0) FROM member_versions WHERE account_id = ` + account + `),
		(SELECT COUNT(*) FROM memberships JOIN accounts ON accounts.id = memberships.account_id
			WHERE memberships.login_id = ` + login + ` AND ` + loginMembershipSQL + `),
		(SELECT COUNT(*) FROM access_requests WHERE access_requests.account_id = ` + account + ` AND access_requests.status = ?),
		(SELECT ` + idList("assignments.company_id") + ` FROM assignments
			WHERE assignments.membership_id = ` + member + ` AND ` + memberType + ` <> ?)`
}

func snapshotArgs() []any { return slices.Concat(loginMembershipArgs, []any{AccessPending, Admin}) }

func (sn *viewerSnapshot) fields() []any {
	return []any{&sn.companyVersion, &sn.memberVersion, &sn.accounts, &sn.incoming, &sn.assignedList}
}

// parse turns what was read into assigned.
func (sn *viewerSnapshot) parse() error {
	sn.assigned = nil
	if sn.assignedList == nil || *sn.assignedList == "" {
		return nil
	}
	list := *sn.assignedList
	sn.assigned = make([]uint, 0, strings.Count(list, ",")+1)
	for rest := list; rest != ""; {
		var id string
		id, rest, _ = strings.Cut(rest, ",")
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return fmt.Errorf("companies of the viewer: unreadable id %q", id)
		}
		sn.assigned = append(sn.assigned, uint(n))
	}
	slices.Sort(sn.assigned)
	sn.assignedList = nil
	return nil
}

// snapshot returns the viewer's snapshot: LoadViewer's while it holds,
// else read now. Read before the data it guards, its version is never
// newer than that. Only a viewer LoadViewer made keeps what is read again
// (it lives for one request); one built by hand may be used across
// changes made elsewhere, so it asks every time.
func (s *Store) snapshot(ctx context.Context, v *Viewer) (viewerSnapshot, error) {
	if v.snapshot.known && v.snapshot.writes == s.writes.Load() {
		return v.snapshot, nil
	}
	before := s.writes.Load()
	var sn viewerSnapshot
	err := s.db.WithContext(ctx).Raw(`SELECT `+snapshotSQL(s.idList, "accounts.id", "logins.id", "?", "?")+`
		FROM accounts LEFT JOIN logins ON logins.id = ? WHERE accounts.id = ?`,
		slices.Concat(loginMembershipArgs, []any{AccessPending, v.Membership.ID, v.Membership.Type, Admin, v.Login.ID, v.Account.ID})...).
		Row().Scan(sn.fields()...)
	if err == nil {
		err = sn.parse()
	}
	if err != nil {
		return sn, fmt.Errorf("read the viewer's snapshot: %w", err)
	}
	if v.snapshot.known {
		sn.known, sn.writes = true, before
		v.snapshot = sn
	}
	return sn, nil
}

// Type is the viewer's type in the account in use.
func (v *Viewer) Type() UserType { return v.Membership.Type }

// Actor describes the viewer for the audit log.
func (v *Viewer) Actor(ip string) Actor {
	id := v.Membership.ID
	return Actor{MembershipID: &id, Name: v.Membership.FullName(), IP: ip}
}

// StartSession creates a server-side session and returns the secret for the
// cookie. A new secret at every login is what renews the session ID.
func (s *Store) StartSession(ctx context.Context, m *Membership, ip, userAgent string) (string, error) {
	if m.LoginID == nil {
		return "", errors.New("start session: member has no login")
	}
	secret, hash, err := newSecret()
	if err != nil {
		return "", err
	}
	now := s.Now()
	userAgent = truncateText(userAgent, 255)
	row := Session{Hash: hash, LoginID: *m.LoginID, MembershipID: m.ID, IP: ip, UserAgent: userAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(AbsoluteTimeout)}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return tx.Model(&Membership{}).Where("id = ?", m.ID).Update("last_active_at", now).Error
	})
	if err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	return secret, nil
}

// errNoSession means "treat as logged out"; it is never shown as an error.
var errNoSession = Errorf(Unauthorized, "Please log in to continue.")

// LoadViewer resolves a session secret to the signed-in person, checking
// everything that can end a session: logout, expiry, idleness, a deleted or
// disabled membership, a type without login, a changed password, a closed account.
//
// Every request of a signed-in person starts here, so it is one query,
// scanned by hand, that also reads what every page's header needs (the
// number of accounts of the login, pending access requests) and the
// version of the account's companies (company_cache.go).
func (s *Store) LoadViewer(ctx context.Context, secret string) (*Viewer, error) {
	if !wellFormedSecret(secret) {
		return nil, errNoSession
	}
	before := s.writes.Load()
	var sess Session
	v := &Viewer{}
	snap := &v.snapshot
	dest := destinations(sessionFields(&sess), loginFields(&v.Login), membershipFields(&v.Membership), accountFields(&v.Account))
	dest = append(dest, snap.fields()...)
	stmt, err := s.sessionStatement()
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	qctx := ctx
	if s.Dialect == "sqlite" {
		qctx = context.WithoutCancel(ctx) // as readRowsInline (db.go)
	}
	rows, err := stmt.QueryContext(qctx, append(snapshotArgs(), hashSecret(secret))...)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	found := rows.Next()
	if found {
		err = rows.Scan(dest...)
	}
	if err == nil {
		err = rows.Err()
	}
	if err == nil {
		err = snap.parse()
	}
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if !found {
		// No session, or its login, membership or account is gone (their
		// deletion cascades to the session).
		return nil, errNoSession
	}
	now := s.Now()
	m := &v.Membership
	switch {
	case !now.Before(sess.ExpiresAt),
		now.Sub(sess.LastSeenAt) > IdleTimeout,
		m.Status != MemberActive,
		!m.Type.CanLogIn(),
		m.LoginID == nil || *m.LoginID != sess.LoginID,
		v.Login.PasswordChangedAt.After(sess.CreatedAt),
		v.Account.Status == AccountClosed:
		// Best effort: the session is refused either way, and a row left
		// behind is refused again next time.
		_ = s.tx(ctx, func(tx *gorm.DB) error { return tx.Delete(&Session{}, sess.ID).Error })
		return nil, errNoSession
	}
	v.SessionID = sess.ID
	snap.known, snap.writes = true, before
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		// Through the one writer, like every write; a failed touch only
		// leaves "last active" a minute behind, so it does not fail the page.
		_ = s.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Model(&Session{}).Where("id = ?", sess.ID).Update("last_seen_at", now).Error; err != nil {
				return err
			}
			return tx.Model(&Membership{}).Where("id = ?", m.ID).Update("last_active_at", now).Error
		})
	}
	return v, nil
}

// field is a column the session query reads and where its value goes.
// The query's columns and its destinations come from one list of them,
// so they cannot drift apart; a test compares each table's list with the
// columns GORM knows, so a new column cannot be left out (and read as
// zero).
type field struct {
	column string
	dest   any
}

func sessionFields(s *Session) []field {
	return []field{{"id", &s.ID}, {"login_id", &s.LoginID}, {"membership_id", &s.MembershipID},
		{"created_at", &s.CreatedAt}, {"last_seen_at", &s.LastSeenAt}, {"expires_at", &s.ExpiresAt}}
}

func loginFields(l *Login) []field {
	return []field{{"id", &l.ID}, {"email", &l.Email}, {"password_hash", &l.PasswordHash},
		{"password_changed_at", &l.PasswordChangedAt}, {"time_zone", &l.TimeZone}, {"created_at", &l.CreatedAt}}
}

func membershipFields(m *Membership) []field {
	return []field{{"id", &m.ID}, {"account_id", &m.AccountID}, {"login_id", &m.LoginID}, {"first_name", &m.FirstName},
		{"last_name", &m.LastName}, {"email", &m.Email}, {"sort_name", &m.SortName}, {"type", &m.Type}, {"status", &m.Status},
		{"last_active_at", &m.LastActiveAt}, {"invited_by_id", &m.InvitedByID}, {"invited_at", &m.InvitedAt},
		{"activated_at", &m.ActivatedAt}, {"invitation_expires_at", &m.InvitationExpiresAt}, {"invoice_emails", &m.InvoiceEmails},
		{"creation_key", &m.CreationKey}, {"created_at", &m.CreatedAt}, {"updated_at", &m.UpdatedAt}}
}

func accountFields(a *Account) []field {
	return []field{{"id", &a.ID}, {"number", &a.Number}, {"name", &a.Name}, {"status", &a.Status}, {"white_label", &a.WhiteLabel},
		{"white_label_brand", &a.WhiteLabelBrand}, {"plan", &a.Plan}, {"time_zone", &a.TimeZone}, {"created_at", &a.CreatedAt}, {"updated_at", &a.UpdatedAt}}
}

// columns is the SELECT list of a table's fields.
func columns(table string, fs []field) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = table + "." + f.column
	}
	return strings.Join(names, ", ")
}

// destinations are the fields' destinations, in order.
func destinations(lists ...[]field) []any {
	var out []any
	for _, fs := range lists {
		for _, f := range fs {
			out = append(out, f.dest)
		}
	}
	return out
}

// sessionQueries are LoadViewer's one query in each dialect: the session,
// its login, membership and account, and the viewer's snapshot.
var sessionQueries = map[string]string{
	"sqlite":   buildSessionQuery((&Store{Dialect: "sqlite"}).idList),
	"postgres": buildSessionQuery((&Store{Dialect: "postgres"}).idList),
}

func sessionQuery(dialect string) string { return sessionQueries[dialect] }

// sessionStatement is LoadViewer's query prepared once on the pool. Every
// request of a signed-in person runs it, and through GORM each run would
// first scan the long statement for its placeholders and build it again
// (about 11 µs of the 75 µs LoadViewer cost in the bench's hot page).
func (s *Store) sessionStatement() (*sql.Stmt, error) {
	s.sessionStmt.once.Do(func() {
		pool, err := s.db.DB()
		if err != nil {
			s.sessionStmt.err = err
			return
		}
		query := sessionQuery(s.Dialect)
		if s.Dialect == "postgres" {
			query = numberedPlaceholders(query)
		}
		s.sessionStmt.stmt, s.sessionStmt.err = pool.Prepare(query)
	})
	return s.sessionStmt.stmt, s.sessionStmt.err
}

// numberedPlaceholders writes PostgreSQL's $1, $2… for the ? that GORM
// would otherwise number: a statement handed to database/sql directly.
// The session query has no ? inside a quoted string.
func numberedPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func buildSessionQuery(idList func(string) string) string {
	return `SELECT ` + columns("sessions", sessionFields(&Session{})) + `, ` + columns("logins", loginFields(&Login{})) + `,
		` + columns("memberships", membershipFields(&Membership{})) + `, ` + columns("accounts", accountFields(&Account{})) + `,
		` + snapshotSQL(idList, "memberships.account_id", "sessions.login_id", "memberships.id", "memberships.type") + `
		FROM sessions
		JOIN logins ON logins.id = sessions.login_id
		JOIN memberships ON memberships.id = sessions.membership_id
		JOIN accounts ON accounts.id = memberships.account_id
		WHERE sessions.hash = ?`
}

// EndSession deletes the session behind a cookie secret (logout).
func (s *Store) EndSession(ctx context.Context, secret string) error {
	if !wellFormedSecret(secret) {
		return nil
	}
	if err := s.tx(ctx, func(tx *gorm.DB) error { return tx.Where("hash = ?", hashSecret(secret)).Delete(&Session{}).Error }); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// Authenticate checks an email and password and returns the membership to
// sign in to: the most recently active one that may log in. Every failure is
// the same error, and an unknown address costs the same hashing work and
// the same slow-down, so the answer says nothing about which part was
// wrong. The attempt is throttled (password_check.go): it may wait first,
// or be refused with TooManyRequests.
func (s *Store) Authenticate(ctx context.Context, email, password string, a PasswordAttempt) (*Membership, error) {
	failed := Errorf(Unauthorized, "That email and password do not match an active login. Check both and try again.")
	canonical, err := CanonicalEmail(email)
	if err != nil {
		canonical = ""
	}
	delay, err := s.beginPasswordCheck(ctx, canonical, a)
	if err != nil {
		return nil, err
	}
	if err := s.wait(ctx, delay); err != nil {
		return nil, err
	}
	keys := a.slotKeys()
	if canonical == "" || len(password) > 4*MaxPasswordLength {
		return nil, cmp.Or(s.spendPasswordCheck(ctx, keys, password), error(failed))
	}
	db := s.db.WithContext(ctx)
	var login Login
	err = db.Where("email = ?", canonical).Take(&login).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, cmp.Or(s.spendPasswordCheck(ctx, keys, password), error(failed))
	}
	if err != nil {
		return nil, fmt.Errorf("find login: %w", err)
	}
	ok, err := s.checkPassword(ctx, keys, login.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, failed
	}
	var m Membership
	err = loginMemberships(db, login.ID).
		Order("memberships.last_active_at DESC, memberships.id").Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, failed
	}
	if err != nil {
		return nil, fmt.Errorf("find membership: %w", err)
	}
	if err := s.passwordCheckSucceeded(ctx, canonical, a); err != nil {
		return nil, err
	}
	return &m, nil
}
