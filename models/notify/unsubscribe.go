package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// Every notification email carries an unsubscribe link (in its footer and
// in its List-Unsubscribe header, RFC 8058) that works without logging in.
// Its token is signed, not stored: "<subscription>-<kind>-<MAC>", where the
// MAC is an HMAC-SHA256 with a server key from the secrets table over a
// purpose string, the subscription's ID and its kind, cut to 128 bits.
// It names one subscription and one kind and does one thing: turn that
// off. A changed ID or kind, or a MAC made with any other key, is refused
// as not found, in constant time. Using it again does nothing more (the
// page says when it was done); the same link keeps working, as senders
// of bulk mail must keep theirs working, so an email from before an
// Admin turned the subscription on again still unsubscribes the person.

// tokenPurpose keeps these MACs from meaning anything anywhere else.
const tokenPurpose = "switchboard notify unsubscribe v1"

// macBytes is the size of the MAC kept in the token (128 bits).
const macBytes = 16

// maxToken bounds what is parsed.
const maxToken = 64

// Token is the signed unsubscribe token of a subscription.
func (s *Service) Token(sub Subscription) string {
	return strconv.FormatUint(uint64(sub.ID), 10) + "-" + string(sub.Kind) + "-" + s.mac(sub.ID, sub.Kind)
}

func (s *Service) mac(id uint, kind Kind) string {
	h := hmac.New(sha256.New, s.key)
	fmt.Fprintf(h, "%s\x00%d\x00%s", tokenPurpose, id, kind)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:macBytes])
}

// parseToken checks a token's shape and signature and returns what it
// names; ok is false for anything else, whatever is wrong with it.
func (s *Service) parseToken(token string) (id uint, kind Kind, ok bool) {
	if len(token) > maxToken {
		return 0, "", false
	}
	// The MAC is base64url, whose alphabet has "-": it is the rest.
	parts := strings.SplitN(token, "-", 3)
	if len(parts) != 3 {
		return 0, "", false
	}
	if parts[0] == "" || len(parts[0]) > 10 || parts[0][0] == '0' {
		return 0, "", false
	}
	for _, r := range parts[0] {
		if r < '0' || r > '9' {
			return 0, "", false
		}
	}
	n, err := strconv.ParseUint(parts[0], 10, 32)
	if err != nil || n == 0 {
		return 0, "", false
	}
	kind, known := ParseKind(parts[1])
	if !known {
		return 0, "", false
	}
	got, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(got) != macBytes || base64.RawURLEncoding.EncodeToString(got) != parts[2] {
		return 0, "", false
	}
	want, _ := base64.RawURLEncoding.DecodeString(s.mac(uint(n), kind))
	if !hmac.Equal(got, want) {
		return 0, "", false
	}
	return uint(n), kind, true
}

// errBadToken answers a token that does not verify: the same page as a
// link that never existed.
func errBadToken() *models.Error {
	return &models.Error{Code: models.NotFound, Title: "This unsubscribe link is not valid",
		Message: "Check that the whole address from the email was opened. Links are sometimes cut when copied, or broken across lines."}
}

// Unsubscription is what a valid unsubscribe link is about.
type Unsubscription struct {
	Subscription Subscription
	Member       models.Membership
	AccountName  string
	// Company is the company's name, or "" for all the person's companies.
	Company string
	// Done: it is off now because of an unsubscribe (this one, or an
	// earlier use of a link); At says when.
	Done bool
	At   time.Time
	// Already: it was already off when this request came (nothing was
	// changed now).
	Already bool
}

// What says what the link stops: "the daily summary of Acme Plumbing".
func (u Unsubscription) What() string {
	return "the " + Describe(u.Subscription.Kind, u.Company, "your")
}

// UnsubscribeInfo reads what a link would unsubscribe, for its
// confirmation page; it changes nothing.
func (s *Service) UnsubscribeInfo(ctx context.Context, token string) (*Unsubscription, error) {
	id, kind, ok := s.parseToken(token)
	if !ok {
		return nil, errBadToken()
	}
	u, err := s.unsubscription(s.store.DB().WithContext(ctx), id, kind, false)
	if err != nil {
		return nil, err
	}
	if !u.Subscription.Active {
		u.Already = true
		if u.Subscription.UnsubscribedAt != nil {
			u.Done, u.At = true, *u.Subscription.UnsubscribedAt
		}
	}
	return u, nil
}

func (s *Service) unsubscription(db *gorm.DB, id uint, kind Kind, lock bool) (*Unsubscription, error) {
	q := db
	if lock {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var sub Subscription
	err := q.Where("id = ? AND kind = ?", id, kind).Take(&sub).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		// Signed by us, so it existed: the person was deleted, or left.
		return nil, &models.Error{Code: models.Gone, Title: "Nothing to unsubscribe from",
			Message: "You no longer receive this email: the person it was sent to is no longer in the account."}
	}
	if err != nil {
		return nil, fmt.Errorf("find subscription: %w", err)
	}
	u := &Unsubscription{Subscription: sub}
	if err := db.Where("id = ?", sub.MembershipID).Take(&u.Member).Error; err != nil {
		return nil, fmt.Errorf("member of subscription: %w", err)
	}
	var account models.Account
	if err := db.Where("id = ?", sub.AccountID).Take(&account).Error; err != nil {
		return nil, fmt.Errorf("account of subscription: %w", err)
	}
	u.AccountName = account.Name
	if sub.CompanyID != 0 {
		var co models.Company
		if err := db.Where("id = ?", sub.CompanyID).Take(&co).Error; err != nil {
			return nil, fmt.Errorf("company of subscription: %w", err)
		}
		u.Company = co.Name
	}
	return u, nil
}

// Unsubscribe turns off what a valid link names, records it in the audit
// log (as done by the person, from the email) and returns what was done.
// A link used again changes nothing and says when it was used. oneClick
// tells a mail client's RFC 8058 POST from the confirmation page's button.
func (s *Service) Unsubscribe(ctx context.Context, token, ip string, oneClick bool) (*Unsubscription, error) {
	id, kind, ok := s.parseToken(token)
	if !ok {
		return nil, errBadToken()
	}
	var out *Unsubscription
	err := s.tx(ctx, func(tx *gorm.DB) error {
		u, err := s.unsubscription(tx, id, kind, true)
		if err != nil {
			return err
		}
		out = u
		sub := u.Subscription
		if !sub.Active {
			u.Already = true
			if sub.UnsubscribedAt != nil {
				u.Done, u.At = true, *sub.UnsubscribedAt
			}
			return nil
		}
		now := s.now()
		res := tx.Model(&Subscription{}).Where("id = ? AND active = ?", sub.ID, true).
			Updates(map[string]any{"active": false, "unsubscribed_at": now, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("unsubscribe: %w", res.Error)
		}
		u.Done, u.At = true, now
		u.Subscription.Active, u.Subscription.UnsubscribedAt = false, &now
		how := "the link in an email"
		if oneClick {
			how = "their mail program's unsubscribe button"
		}
		member := u.Member
		return s.store.Audit(tx, models.AuditRecord{AccountID: sub.AccountID,
			Actor:  models.Actor{MembershipID: &member.ID, Name: member.FullName(), IP: ip},
			Action: "notify.unsubscribed", Target: &member,
			Detail: "Unsubscribed from " + Describe(kind, u.Company, "their") + " with " + how})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ValidToken tells whether a token is one this server signed, for the web
// layer's check before anything else reads the request.
func (s *Service) ValidToken(token string) bool {
	_, _, ok := s.parseToken(token)
	return ok
}
