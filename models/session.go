package models

import (
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
func (s *Store) LoadViewer(ctx context.Context, secret string) (*Viewer, error) {
	if !wellFormedSecret(secret) {
		return nil, errNoSession
	}
	db := s.db.WithContext(ctx)
	var sess Session
	// One query with joins rather than a query per preload: every request
	// of a signed-in person starts here.
	err := db.Joins("Login").Joins("Membership").Joins("Membership.Account").
		Where("sessions.hash = ?", hashSecret(secret)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	now := s.Now()
	m := sess.Membership
	switch {
	case sess.Login == nil || m == nil || m.Account == nil,
		!now.Before(sess.ExpiresAt),
		now.Sub(sess.LastSeenAt) > IdleTimeout,
		m.Status != MemberActive,
		!m.Type.CanLogIn(),
		m.LoginID == nil || *m.LoginID != sess.LoginID,
		sess.Login.PasswordChangedAt.After(sess.CreatedAt),
		m.Account.Status == AccountClosed:
		// Best effort: the session is refused either way, and a row left
		// behind is refused again next time.
		_ = s.tx(ctx, func(tx *gorm.DB) error { return tx.Delete(&Session{}, sess.ID).Error })
		return nil, errNoSession
	}
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
	return &Viewer{SessionID: sess.ID, Login: *sess.Login, Membership: *m, Account: *m.Account}, nil
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
// the same error, and an unknown address costs the same hashing work, so the
// answer says nothing about which part was wrong.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*Membership, error) {
	failed := Errorf(Unauthorized, "That email and password do not match an active login. Check both and try again.")
	canonical, err := CanonicalEmail(email)
	if err != nil || len(password) > 4*MaxPasswordLength {
		SpendPasswordCheck(password)
		return nil, failed
	}
	db := s.db.WithContext(ctx)
	var login Login
	err = db.Where("email = ?", canonical).Take(&login).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		SpendPasswordCheck(password)
		return nil, failed
	}
	if err != nil {
		return nil, fmt.Errorf("find login: %w", err)
	}
	if !CheckPassword(login.PasswordHash, password) {
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
	return &m, nil
}
