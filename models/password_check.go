package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Every password check (login, the current password when changing it)
// goes through the same throttle, counted before the password is checked so
// that attempts sent at once cannot all pass before any failure is
// recorded, and taken back when the password was right:
//   - from a browser with a valid known-device cookie for the login, the
//     attempt counts against that browser only, which is locked after
//     LoginDevice.Max failures;
//   - from anywhere else, it counts against the client address (slowed,
//     then refused for a while) and against the login, whose failures slow
//     every further attempt from unknown browsers down exponentially but
//     never refuse one: typing someone's address cannot lock them out.
// The person is emailed once when their login starts being slowed down.

// PasswordAttempt is who tries a password.
type PasswordAttempt struct {
	// Client is the client's address.
	Client string
	// Session is the session checking its current password (0 at login).
	Session uint
	// Device is the ID of the browser's known-device cookie for the login
	// tried, as KnownDevices.Verify returned it ("" without a valid one).
	Device string
}

// slotKeys name the client for the argon2id gate: its session and address.
func (a PasswordAttempt) slotKeys() []string {
	var keys []string
	if a.Client != "" {
		keys = append(keys, "client:"+clientKey(a.Client))
	}
	if a.Session != 0 {
		keys = append(keys, "session:"+idKey(a.Session))
	}
	return keys
}

// LoginThrottledMail tells a person that logins to their address are being
// slowed down after failed attempts.
type LoginThrottledMail struct {
	Email, FirstName string
	Failures         int
	Since            time.Time
}

// beginPasswordCheck counts an attempt at the login email (canonical, or
// "" when what was typed is not an address) and returns how long it must
// wait before its password is checked, or a TooManyRequests error when it is
// refused (then nothing is counted).
func (s *Store) beginPasswordCheck(ctx context.Context, email string, a PasswordAttempt) (time.Duration, error) {
	p := s.limits
	var delay time.Duration
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if a.Device != "" && email != "" {
			_, refused, err := s.hit(tx, p.LoginDevice, a.Device, email, true)
			if err != nil {
				return err
			}
			if refused != nil {
				return tooMany("Too many failed attempts",
					"Logging in from this browser is paused after several wrong passwords. Try again later, reset your password, or ask an Admin of your account to lift the pause (they see it on your user page).",
					refused)
			}
			return nil
		}
		c, refused, err := s.hit(tx, p.LoginClient, clientKey(a.Client), "", true)
		if err != nil {
			return err
		}
		if refused != nil {
			return tooMany("Too many failed attempts",
				"Logging in from your network is paused after many failed attempts. Try again later, or reset your password if you have forgotten it.",
				refused)
		}
		delay = p.LoginClient.Delay(c.hits)
		if email == "" {
			return nil
		}
		c, _, err = s.hit(tx, p.LoginAccount, email, email, true)
		if err != nil {
			return err
		}
		delay = max(delay, p.LoginAccount.Delay(c.hits))
		if !c.notified && p.LoginAccount.Delay(c.hits) > 0 {
			return s.tellLoginThrottled(tx, email, c)
		}
		return nil
	})
	return delay, err
}

// tellLoginThrottled emails the person, once per episode of failures, that
// their login is being slowed down. Nobody is told about an address
// without a login, and the answer to the attempt is the same either way.
func (s *Store) tellLoginThrottled(tx *gorm.DB, email string, c counter) error {
	res := tx.Exec("UPDATE throttle_counters SET notified_ms = ? WHERE bucket = ? AND notified_ms IS NULL",
		s.Now().UnixMilli(), s.limits.LoginAccount.key(email))
	if res.Error != nil {
		return fmt.Errorf("mark throttle notified: %w", res.Error)
	}
	if res.RowsAffected == 0 || s.mail == nil {
		return nil // another attempt told them
	}
	var login Login
	err := tx.Where("email = ?", email).Take(&login).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find login: %w", err)
	}
	var m Membership
	err = loginMemberships(tx, login.ID).Order("memberships.last_active_at DESC, memberships.id").Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find membership: %w", err)
	}
	mail, err := s.mail.LoginThrottled(LoginThrottledMail{Email: login.Email, FirstName: m.FirstName, Failures: c.hits, Since: c.started})
	if err != nil {
		return fmt.Errorf("compose login throttled email: %w", err)
	}
	return s.enqueueMail(tx, &m, "login_throttled", mail)
}

// passwordCheckSucceeded takes back the attempt of a right password: a
// known browser's failures are forgotten; otherwise the login's failures
// are, and the client address loses this one attempt (not all of them, or
// one good login would wipe an address's record). A login from a known
// browser leaves the login's count alone: those failures came from
// elsewhere.
func (s *Store) passwordCheckSucceeded(ctx context.Context, email string, a PasswordAttempt) error {
	p := s.limits
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if a.Device != "" {
			return s.forget(tx, p.LoginDevice, a.Device)
		}
		if err := s.takeBack(tx, p.LoginClient, clientKey(a.Client)); err != nil {
			return err
		}
		return s.forget(tx, p.LoginAccount, email)
	})
	if err != nil {
		return fmt.Errorf("password check succeeded: %w", err)
	}
	return nil
}

// LoginThrottle is what Edit User shows of a person's failed logins.
type LoginThrottle struct {
	// Failures from browsers that have not logged in as them before, in
	// the current episode, since the first of them.
	Failures int
	Since    time.Time
	Last     time.Time
	// Delay is what the next attempt from such a browser waits.
	Delay time.Duration
	// LockedDevices is how many of their own browsers are locked after
	// failures there, the last of them until LockedUntil.
	LockedDevices int
	LockedUntil   time.Time
}

// Throttled reports whether logging in is slowed down or locked anywhere.
func (t *LoginThrottle) Throttled() bool { return t != nil && (t.Delay > 0 || t.LockedDevices > 0) }

// loginThrottleOf reads the login counters of email.
func (s *Store) loginThrottleOf(db *gorm.DB, email string) (*LoginThrottle, error) {
	var rows []ThrottleCounter
	if err := db.Where("subject = ?", email).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read login throttle: %w", err)
	}
	p, now := s.limits, s.Now()
	out := &LoginThrottle{}
	for _, r := range rows {
		last := time.UnixMilli(r.LastMS).UTC()
		switch {
		case strings.HasPrefix(r.Bucket, p.LoginAccount.Name+":"):
			if now.Sub(last) >= p.LoginAccount.Window || r.Hits == 0 {
				continue
			}
			out.Failures, out.Since, out.Last = r.Hits, time.UnixMilli(r.StartedMS).UTC(), last
			out.Delay = p.LoginAccount.Delay(r.Hits + 1)
		case strings.HasPrefix(r.Bucket, p.LoginDevice.Name+":"):
			until := last.Add(p.LoginDevice.Window)
			if r.Hits >= p.LoginDevice.Max && until.After(now) {
				out.LockedDevices++
				if until.After(out.LockedUntil) {
					out.LockedUntil = until
				}
			}
		}
	}
	return out, nil
}

// ClearLoginThrottle lifts the slow-down and locks of a person's login
// after failed attempts, for an Admin who may edit them, and records it.
// It returns what was cleared.
func (s *Store) ClearLoginThrottle(ctx context.Context, v *Viewer, id uint, ip string) (*Membership, *LoginThrottle, error) {
	var out *Membership
	var cleared *LoginThrottle
	err := s.memberChange(ctx, v, id, "lift login slow-downs", func(tx *gorm.DB, account *Account, m *Membership) error {
		if m.LoginID == nil {
			return Errorf(Conflict, "%s has no login, so there is nothing to lift.", m.FullName())
		}
		t, err := s.loginThrottleOf(tx, m.Email)
		if err != nil {
			return err
		}
		if err := tx.Where("subject = ?", m.Email).Delete(&ThrottleCounter{}).Error; err != nil {
			return fmt.Errorf("clear login throttle: %w", err)
		}
		out, cleared = m, t
		detail := fmt.Sprintf("Lifted the login slow-down after %d failed attempts", t.Failures)
		if t.Failures > 0 {
			detail += " since " + t.Since.Format("Jan 2, 2006 15:04 UTC")
		}
		switch {
		case t.LockedDevices == 1:
			detail += "; unlocked 1 browser"
		case t.LockedDevices > 1:
			detail += fmt.Sprintf("; unlocked %d browsers", t.LockedDevices)
		}
		return s.audit(tx, account.ID, v.Actor(ip), "login.throttle_cleared", m, detail)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, cleared, nil
}
