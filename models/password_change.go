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
	return s.tx(ctx, func(tx *gorm.DB) error { return s.storePassword(tx, &login, hash, v.Membership.FirstName, a.Client) })
}

func (s *Store) storePassword(tx *gorm.DB, login *Login, hash, firstName, ip string) error {
	now := s.Now()
	if err := tx.Model(&Login{}).Where("id = ?", login.ID).
		Updates(map[string]any{"password_hash": hash, "password_changed_at": now}).Error; err != nil {
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
	if len(members) == 0 || s.mail == nil {
		return nil
	}
	mail, err := s.mail.PasswordChanged(PasswordChangedMail{Email: login.Email, FirstName: firstName, When: now})
	if err != nil {
		return fmt.Errorf("compose password email: %w", err)
	}
	return s.enqueueMail(tx, &members[0], "password_changed", mail)
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
	if s.mail == nil {
		return errors.New("password reset: no mail composer configured")
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		_, refused, err := s.hit(tx, s.limits.ResetClient, clientKey(client), "", true)
		if err != nil {
			return err
		}
		if refused != nil {
			return tooMany("Too many reset requests",
				"Several password resets were asked for from your network in the last hour. If you asked for one, the email is on its way: check your inbox and spam folder.",
				refused)
		}
		var login Login
		err = tx.Where("email = ?", canonical).Take(&login).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find login: %w", err)
		}
		var m Membership
		err = tx.Where("login_id = ? AND status = ?", login.ID, MemberActive).Order("last_active_at DESC, id").Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil // no account to return to: a reset would lead nowhere
		}
		if err != nil {
			return fmt.Errorf("find membership: %w", err)
		}
		_, refused, err = s.hit(tx, s.limits.ResetLogin, login.Email, "", true)
		if err != nil || refused != nil {
			return err // refused: quietly, nothing sent
		}
		now := s.Now()
		// Only the newest reset link works.
		if err := tx.Model(&Token{}).Where("login_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", login.ID, PurposePasswordReset).
			Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("revoke earlier resets: %w", err)
		}
		secret, hash, err := newSecret()
		if err != nil {
			return err
		}
		tok := Token{Hash: hash, Purpose: PurposePasswordReset, LoginID: &login.ID, ExpiresAt: now.Add(PasswordResetTTL), CreatedAt: now}
		if err := tx.Create(&tok).Error; err != nil {
			return fmt.Errorf("store reset link: %w", err)
		}
		mail, err := s.mail.PasswordReset(PasswordResetMail{Email: login.Email, FirstName: m.FirstName, Secret: secret, ExpiresAt: tok.ExpiresAt})
		if err != nil {
			return fmt.Errorf("compose reset email: %w", err)
		}
		return s.enqueueMail(tx, &m, "password_reset", mail)
	})
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
	// The link is spent in the same transaction that stores the password:
	// both happen, or neither.
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.consumeToken(tx, secret, PurposePasswordReset); err != nil {
			return resetLinkError(err)
		}
		// Whoever reset the password holds the address: the login's
		// slow-down and locks after failed attempts end with it.
		if err := tx.Where("subject = ?", login.Email).Delete(&ThrottleCounter{}).Error; err != nil {
			return fmt.Errorf("clear login throttle: %w", err)
		}
		return s.storePassword(tx, login, hash, first, ip)
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
