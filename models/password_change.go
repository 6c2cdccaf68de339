package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PasswordResetTTL is how long a "forgot password" link works.
const PasswordResetTTL = time.Hour

// PasswordChangedMail tells a person their password changed, so that a
// change they did not make does not go unnoticed.
type PasswordChangedMail struct {
	Email, FirstName string
	When             time.Time
}

// PasswordResetMail carries a reset link.
type PasswordResetMail struct {
	Email, FirstName string
	Secret           string
	ExpiresAt        time.Time
}

// ChangePassword replaces the viewer's password after checking the current
// one, which goes through the same throttle as a login (password_check.go).
// Every session of the login ends; the caller starts a fresh one.
func (s *Store) ChangePassword(ctx context.Context, v *Viewer, current, password, confirm string, a PasswordAttempt) error {
	a.Session = v.SessionID
	delay, err := s.beginPasswordCheck(ctx, v.Login.Email, a)
	if err != nil {
		return err
	}
	if err := s.wait(ctx, delay); err != nil {
		return err
	}
	var login Login
	if err := s.db.WithContext(ctx).Take(&login, "id = ?", v.Login.ID).Error; err != nil {
		return fmt.Errorf("find login: %w", err)
	}
	keys := a.slotKeys()
	ok, err := s.checkPassword(ctx, keys, login.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		return FieldErrors(map[string]string{"current": "That is not your current password."})
	}
	if err := s.passwordCheckSucceeded(ctx, login.Email, a); err != nil {
		return err
	}
	if err := ValidatePassword(password, confirm); err != nil {
		return err
	}
	if password == current {
		return FieldErrors(map[string]string{"password": "Choose a password different from the current one."})
	}
	hash, err := s.hashPassword(ctx, keys, password)
	if err != nil {
		return err
	}
	change, err := s.composePasswordChange(&login, v.Membership.FirstName)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error { return s.storePassword(tx, &login, hash, change, a.Client) })
}

// passwordChange is when a password changes and the email that says so,
// built before the transaction.
type passwordChange struct {
	at   time.Time
	mail *Mail // nil without a mail composer
}

func (s *Store) composePasswordChange(login *Login, firstName string) (passwordChange, error) {
	c := passwordChange{at: s.Now()}
	if s.mail == nil {
		return c, nil
	}
	mail, err := s.mail.PasswordChanged(PasswordChangedMail{Email: login.Email, FirstName: firstName, When: c.at})
	if err != nil {
		return c, fmt.Errorf("compose password email: %w", err)
	}
	c.mail = &mail
	return c, nil
}

func (s *Store) storePassword(tx *gorm.DB, login *Login, hash string, change passwordChange, ip string) error {
	if err := tx.Model(&Login{}).Where("id = ?", login.ID).
		Updates(map[string]any{"password_hash": hash, "password_changed_at": change.at}).Error; err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	if err := tx.Where("login_id = ?", login.ID).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	var members []Membership
	if err := tx.Where("login_id = ?", login.ID).Find(&members).Error; err != nil {
		return fmt.Errorf("memberships of login: %w", err)
	}
	for i := range members {
		m := &members[i]
		if err := s.audit(tx, m.AccountID, Actor{MembershipID: &m.ID, Name: m.FullName(), IP: ip}, "password.changed", m, "Password changed; all sessions ended"); err != nil {
			return err
		}
	}
	if len(members) == 0 || change.mail == nil {
		return nil
	}
	return s.enqueueMail(tx, &members[0], "password_changed", *change.mail)
}

// RequestPasswordReset emails a reset link when the address has a login.
// It answers nothing either way, so the page cannot tell who has a login.
// Requests have limits of their own, never those of logins: per client
// address (refused with TooManyRequests) and per login (quietly, as the
// answer must not change).
func (s *Store) RequestPasswordReset(ctx context.Context, email, client string) error {
	canonical, err := CanonicalEmail(email)
	if err != nil {
		return FieldErrors(map[string]string{"email": ErrorMessage(err)})
	}
	// The email is built first, from the login and membership as read
	// before the transaction.
	var login *Login
	var m *Membership
	var l link
	var mail Mail
	compose := func() error {
		var err error
		if login, m, err = resetTarget(s.db.WithContext(ctx), canonical); err != nil || m == nil {
			return err
		}
		if l, err = s.newLink(PasswordResetTTL); err != nil {
			return err
		}
		if mail, err = s.mail.PasswordReset(PasswordResetMail{Email: login.Email, FirstName: m.FirstName, Secret: l.secret, ExpiresAt: l.expiresAt}); err != nil {
			return fmt.Errorf("compose reset email: %w", err)
		}
		return nil
	}
	return s.mailed(ctx, compose, func(tx *gorm.DB) error {
		_, refused, err := s.hit(tx, s.limits.ResetClient, clientKey(client), "", true)
		if err != nil {
			return err
		}
		if refused != nil {
			return tooMany("Too many reset requests",
				"Several password resets were asked for from your network in the last hour. If you asked for one, the email is on its way: check your inbox and spam folder.",
				refused)
		}
		now, nowMember, err := resetTarget(tx, canonical)
		if err != nil {
			return err
		}
		if (nowMember == nil) != (m == nil) || (m != nil && (now.ID != login.ID || now.Email != login.Email || !sameForMail(nowMember, m))) {
			return errStaleMail
		}
		if m == nil {
			return nil // no login, or no account to return to: a reset would lead nowhere
		}
		_, refused, err = s.hit(tx, s.limits.ResetLogin, login.Email, "", true)
		if err != nil || refused != nil {
			return err // refused: quietly, nothing sent
		}
		// Only the newest reset link works.
		if err := tx.Model(&Token{}).Where("login_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", login.ID, PurposePasswordReset).
			Update("revoked_at", l.createdAt).Error; err != nil {
			return fmt.Errorf("revoke earlier resets: %w", err)
		}
		tok := Token{Hash: l.hash, Purpose: PurposePasswordReset, LoginID: &login.ID, ExpiresAt: l.expiresAt, CreatedAt: l.createdAt}
		if err := tx.Create(&tok).Error; err != nil {
			return fmt.Errorf("store reset link: %w", err)
		}
		return s.enqueueMail(tx, m, "password_reset", mail)
	})
}

// resetTarget is the login of an address and the membership a reset
// returns to (the most recently active one); nil, nil without them.
func resetTarget(db *gorm.DB, email string) (*Login, *Membership, error) {
	var login Login
	err := db.Where("email = ?", email).Take(&login).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find login: %w", err)
	}
	var m Membership
	err = db.Where("login_id = ? AND status = ?", login.ID, MemberActive).Order("last_active_at DESC, id").Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &login, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find membership: %w", err)
	}
	return &login, &m, nil
}

// FindPasswordReset checks a reset link and returns its login.
func (s *Store) FindPasswordReset(ctx context.Context, secret string) (*Login, error) {
	db := s.db.WithContext(ctx)
	t, err := s.findToken(db, secret, PurposePasswordReset)
	if err != nil {
		return nil, resetLinkError(err)
	}
	if t.LoginID == nil {
		return nil, linkInvalid()
	}
	var login Login
	if err := db.Take(&login, "id = ?", *t.LoginID).Error; err != nil {
		return nil, linkInvalid()
	}
	return &login, nil
}

// ResetPassword sets a new password from a reset link, once, and returns the
// membership to log in to (nil when none may log in).
func (s *Store) ResetPassword(ctx context.Context, secret, password, confirm, ip string) (*Membership, error) {
	login, err := s.FindPasswordReset(ctx, secret)
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword(password, confirm); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, PasswordAttempt{Client: ip}.slotKeys(), password)
	if err != nil {
		return nil, err
	}
	var m Membership
	err = loginMemberships(s.db.WithContext(ctx), login.ID).
		Order("memberships.last_active_at DESC, memberships.id").Take(&m).Error
	first := ""
	if err == nil {
		first = m.FirstName
	}
	change, err := s.composePasswordChange(login, first)
	if err != nil {
		return nil, err
	}
	// The link is spent in the same transaction that stores the password:
	// both happen, or neither.
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.consumeToken(tx, secret, PurposePasswordReset); err != nil {
			return resetLinkError(err)
		}
		return s.storePassword(tx, login, hash, change, ip)
	})
	if err != nil {
		return nil, err
	}
	if first == "" {
		return nil, nil
	}
	return &m, nil
}

// resetLinkError words link problems for a reset rather than an invitation.
func resetLinkError(err error) error {
	var e *Error
	if !errors.As(err, &e) || (e.Code != Gone && e.Code != NotFound) {
		return err
	}
	out := *e
	out.Message = "Reset links work once, for an hour. Ask for a new one from the login page."
	return &out
}
