package models

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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
	// snapshot is what LoadViewer read besides the session (list_cache.go).
	snapshot viewerSnapshot
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
// versions of the account's lists (list_cache.go).
func (s *Store) LoadViewer(ctx context.Context, secret string) (*Viewer, error) {
	if !wellFormedSecret(secret) {
		return nil, errNoSession
	}
	before := s.writes.Load()
	var sess Session
	v := &Viewer{}
	snap := &v.snapshot
	dest := append([]any{&sess.ID, &sess.LoginID, &sess.MembershipID, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt},
		loginFields(&v.Login)...)
	dest = append(dest, membershipFields(&v.Membership)...)
	dest = append(dest, accountFields(&v.Account)...)
	dest = append(dest, snap.fields()...)
	rows, err := s.db.WithContext(ctx).Raw(`SELECT sessions.id, sessions.login_id, sessions.membership_id,
		sessions.created_at, sessions.last_seen_at, sessions.expires_at, `+loginColumns+`, `+membershipColumns+`, `+accountColumns+`,
		`+snapshotSQL("memberships.account_id", "sessions.login_id")+`
		FROM sessions
		JOIN logins ON logins.id = sessions.login_id
		JOIN memberships ON memberships.id = sessions.membership_id
		JOIN accounts ON accounts.id = memberships.account_id
		WHERE sessions.hash = ?`, append(snapshotArgs(), hashSecret(secret))...).Rows()
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

// The columns of a login, a membership and an account, in the order the
// matching ...Fields functions give their destinations. A test compares
// what they read with what GORM reads, so a new column cannot be missed.
const (
	loginColumns = "logins.id, logins.email, logins.password_hash, logins.password_changed_at, logins.time_zone, logins.created_at"

	membershipColumns = "memberships.id, memberships.account_id, memberships.login_id, memberships.first_name, " +
		"memberships.last_name, memberships.email, memberships.sort_name, memberships.type, memberships.status, " +
		"memberships.last_active_at, memberships.invited_by_id, memberships.invited_at, memberships.activated_at, " +
		"memberships.invoice_emails, memberships.creation_key, memberships.created_at, memberships.updated_at"

	accountColumns = "accounts.id, accounts.number, accounts.name, accounts.status, accounts.white_label, " +
		"accounts.white_label_brand, accounts.plan, accounts.time_zone, accounts.created_at, accounts.updated_at"
)

func loginFields(l *Login) []any {
	return []any{&l.ID, &l.Email, &l.PasswordHash, &l.PasswordChangedAt, &l.TimeZone, &l.CreatedAt}
}

func membershipFields(m *Membership) []any {
	return []any{&m.ID, &m.AccountID, &m.LoginID, &m.FirstName, &m.LastName, &m.Email, &m.SortName, &m.Type, &m.Status,
		&m.LastActiveAt, &m.InvitedByID, &m.InvitedAt, &m.ActivatedAt, &m.InvoiceEmails, &m.CreationKey, &m.CreatedAt, &m.UpdatedAt}
}

func accountFields(a *Account) []any {
	return []any{&a.ID, &a.Number, &a.Name, &a.Status, &a.WhiteLabel, &a.WhiteLabelBrand, &a.Plan, &a.TimeZone, &a.CreatedAt, &a.UpdatedAt}
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
