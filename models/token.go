package models

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// secretBytes is the entropy of every emailed or printed secret: 256 bits.
const secretBytes = 32

// secretLength is the length of an encoded secret; anything else is malformed.
var secretLength = base64.RawURLEncoding.EncodedLen(secretBytes)

// newSecret returns a random URL-safe secret and the hash that is stored.
func newSecret() (secret, hash string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("random secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, hashSecret(secret), nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// wellFormedSecret rejects truncated, overlong and foreign strings before
// they reach the database.
func wellFormedSecret(s string) bool {
	if len(s) != secretLength {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// Link errors: each says what happened and what to do next.
func linkInvalid() *Error {
	return &Error{Code: NotFound, Title: "This link is not valid",
		Message: "The link may have been copied incompletely. Open it again from the email, or ask your administrator to send a new one."}
}

// errRenewable marks the link errors after which the invitee may ask for
// a fresh invitation themselves (LinkRenewable).
var errRenewable = errors.New("link can be renewed by its holder")

// LinkRenewable tells a link error after which "Email me a new link" is
// offered: the link expired or was replaced. Whether a new link is then
// really sent is decided, silently, by RenewInvitation.
func LinkRenewable(err error) bool { return errors.Is(err, errRenewable) }

func linkExpired() *Error {
	return &Error{Code: Gone, Title: "This link has expired",
		Message: "For your security, links work for a limited time. We can email you a new one.", Err: errRenewable}
}

func linkUsed() *Error {
	return &Error{Code: Gone, Title: "This link has already been used",
		Message: "Each link works once. If you already set your password, log in. Otherwise ask your administrator for a new invitation."}
}

func linkRevoked() *Error {
	return &Error{Code: Gone, Title: "This link was replaced",
		Message: "A newer link was sent, which replaces this one. Use the most recent email, or we can email you a new one.", Err: errRenewable}
}

// link is a one-time link made before it is stored: its secret, for the
// email, and the hash and times the token row keeps.
type link struct {
	secret, hash         string
	createdAt, expiresAt time.Time
}

// newLink makes a link that works for ttl from now.
func (s *Store) newLink(ttl time.Duration) (link, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return link{}, err
	}
	now := s.Now()
	return link{secret: secret, hash: hash, createdAt: now, expiresAt: now.Add(ttl)}, nil
}

// storeLink stores a link for a purpose inside tx, revoking any earlier
// unused link of the same purpose for the same member so only the newest
// works.
func (s *Store) storeLink(tx *gorm.DB, l link, purpose TokenPurpose, accountID, membershipID, createdBy *uint) (*Token, error) {
	if membershipID != nil {
		err := tx.Model(&Token{}).
			Where("membership_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", *membershipID, purpose).
			Update("revoked_at", l.createdAt).Error
		if err != nil {
			return nil, fmt.Errorf("revoke earlier links: %w", err)
		}
	}
	t := &Token{Hash: l.hash, Purpose: purpose, AccountID: accountID, MembershipID: membershipID,
		CreatedByID: createdBy, ExpiresAt: l.expiresAt, CreatedAt: l.createdAt}
	if err := tx.Create(t).Error; err != nil {
		return nil, fmt.Errorf("store link: %w", err)
	}
	return t, nil
}

// issueToken makes and stores a link in one step, for links that no email
// carries (the setup link, bootstrap's printed link).
func (s *Store) issueToken(tx *gorm.DB, purpose TokenPurpose, accountID, membershipID, createdBy *uint, ttl time.Duration) (string, *Token, error) {
	l, err := s.newLink(ttl)
	if err != nil {
		return "", nil, err
	}
	t, err := s.storeLink(tx, l, purpose, accountID, membershipID, createdBy)
	if err != nil {
		return "", nil, err
	}
	return l.secret, t, nil
}

// findToken looks a link up and says why it cannot be used, if it cannot.
func (s *Store) findToken(tx *gorm.DB, secret string, purpose TokenPurpose) (*Token, error) {
	if !wellFormedSecret(secret) {
		return nil, linkInvalid()
	}
	var t Token
	err := tx.Where("hash = ? AND purpose = ?", hashSecret(secret), purpose).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, linkInvalid()
	}
	if err != nil {
		return nil, fmt.Errorf("find link: %w", err)
	}
	switch {
	case t.UsedAt != nil:
		return &t, linkUsed()
	case t.RevokedAt != nil:
		return &t, linkRevoked()
	case !s.Now().Before(t.ExpiresAt):
		return &t, linkExpired()
	}
	return &t, nil
}

// consumeToken marks a link used. It is one conditional UPDATE that must
// touch exactly one row, so two simultaneous uses give one success.
func (s *Store) consumeToken(tx *gorm.DB, secret string, purpose TokenPurpose) (*Token, error) {
	t, err := s.findToken(tx, secret, purpose)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	res := tx.Model(&Token{}).
		Where("id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?", t.ID, now).
		Update("used_at", now)
	if res.Error != nil {
		return nil, fmt.Errorf("use link: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, linkUsed()
	}
	t.UsedAt = &now
	return t, nil
}
