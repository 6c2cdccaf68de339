package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Column sizes of OutboxMessage that are checked before writing, because
// PostgreSQL refuses an overlong value and SQLite silently keeps it.
const (
	maxOutboxKind    = 40
	maxOutboxToName  = 201
	maxOutboxSubject = 255
	maxOutboxError   = 1000
	maxOutboxFrom    = 120
	maxUnsubscribe   = 500
)

// EmailRetryDelay is how long a message waits after its attempts-th failed
// attempt: quick retries for a blip, then hourly for ever. A message is never
// given up on; the users list shows the ones that keep failing.
func EmailRetryDelay(attempts int) time.Duration {
	switch {
	case attempts <= 1:
		return 30 * time.Second
	case attempts == 2:
		return time.Minute
	case attempts == 3:
		return 2 * time.Minute
	case attempts == 4:
		return 5 * time.Minute
	case attempts == 5:
		return 10 * time.Minute
	case attempts == 6:
		return 30 * time.Minute
	default:
		return time.Hour
	}
}

// CheckHeaderValue refuses what must never reach an email header: a line
// break would let the value add headers of its own (or a body), and other
// control characters have no business there either.
func CheckHeaderValue(label, v string) error {
	if !utf8.ValidString(v) {
		return Errorf(Invalid, "The email's %s contains characters we cannot read.", label)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return Errorf(Invalid, "The email's %s cannot contain line breaks or control characters.", label)
		}
	}
	return nil
}

// enqueueEmail records m for delivery inside tx, the transaction of the
// change the email reports, so that the change and its email are written
// together or not at all. The delivery worker picks it up at once.
func (s *Store) enqueueEmail(tx *gorm.DB, m *OutboxMessage) error {
	if err := s.prepareOutbox(m); err != nil {
		return err
	}
	if err := tx.Create(m).Error; err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	return nil
}

// prepareOutbox checks a message and sets it up as new and due now, as
// enqueueEmail writes it.
func (s *Store) prepareOutbox(m *OutboxMessage) error {
	if err := checkOutbox(m); err != nil {
		return fmt.Errorf("enqueue email: %w", err)
	}
	now := s.Now()
	m.ID = 0
	m.Attempts = 0
	m.SentAt = nil
	m.LastError = ""
	m.LeaseOwner, m.LeaseUntil = "", nil
	m.NextAttemptAt = now
	m.CreatedAt = now
	return nil
}

// checkOutbox validates a message before it is written and puts its
// recipient in canonical form.
func checkOutbox(m *OutboxMessage) error {
	// Checked before CanonicalEmail, which would quietly trim a trailing
	// line break: a recipient with one is a bug upstream, not a typo.
	for _, f := range []struct{ label, value string }{
		{"recipient", m.ToAddress}, {"recipient name", m.ToName}, {"subject", m.Subject}, {"kind", m.Kind},
		{"reply-to address", m.ReplyToAddress}, {"reply-to name", m.ReplyToName},
		{"sender name", m.FromName}, {"unsubscribe address", m.Unsubscribe},
	} {
		if err := CheckHeaderValue(f.label, f.value); err != nil {
			return err
		}
	}
	// Subjects and names are made of what people typed (names, account
	// and company names): a long one is cut, and the change it reports
	// goes ahead. The checks below then hold by construction.
	m.Subject = cutText(m.Subject, maxOutboxSubject)
	m.ToName = cutText(m.ToName, maxOutboxToName)
	m.FromName = cutText(m.FromName, maxOutboxFrom)
	to, err := CanonicalEmail(m.ToAddress)
	if err != nil {
		return &Error{Code: Invalid, Message: "The email's recipient is not a valid address.", Err: err}
	}
	m.ToAddress = to
	m.ReplyToName = cutText(m.ReplyToName, maxOutboxToName)
	if m.ReplyToAddress != "" {
		replyTo, err := CanonicalEmail(m.ReplyToAddress)
		if err != nil {
			return &Error{Code: Invalid, Message: "The email's reply-to is not a valid address.", Err: err}
		}
		m.ReplyToAddress = replyTo
	} else {
		m.ReplyToName = ""
	}
	switch {
	case m.Kind == "" || len(m.Kind) > maxOutboxKind:
		return Errorf(Invalid, "The email's kind must be 1 to %d characters.", maxOutboxKind)
	case strings.TrimSpace(m.Subject) == "" || utf8.RuneCountInString(m.Subject) > maxOutboxSubject:
		return Errorf(Invalid, "The email's subject must be 1 to %d characters.", maxOutboxSubject)
	case utf8.RuneCountInString(m.ToName) > maxOutboxToName:
		return Errorf(Invalid, "The email's recipient name can be at most %d characters.", maxOutboxToName)
	case strings.TrimSpace(m.TextBody) == "":
		return Errorf(Invalid, "The email has no text.")
	case !utf8.ValidString(m.TextBody) || !utf8.ValidString(m.HTMLBody):
		return Errorf(Invalid, "The email's body contains characters we cannot read.")
	case m.Unsubscribe != "" && !validUnsubscribe(m.Unsubscribe):
		return Errorf(Invalid, "The email's unsubscribe address must be an http or https address of at most %d characters.", maxUnsubscribe)
	}
	return nil
}

// validUnsubscribe checks a List-Unsubscribe address: absolute http(s),
// nothing that would end the header's angle brackets or a list of them.
func validUnsubscribe(u string) bool {
	if len(u) > maxUnsubscribe || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		return false
	}
	return !strings.ContainsAny(u, "<>, \t\"")
}

// EnqueueEmailTx records m inside tx, the transaction of the change the
// email reports; the areas call it in theirs (a call's alert is written
// with the call's end).
func (s *Store) EnqueueEmailTx(tx *gorm.DB, m *OutboxMessage) error { return s.enqueueEmail(tx, m) }

// EnqueueEmailsTx records many emails inside tx, a hundred per statement
// (the summary emails of a run).
func (s *Store) EnqueueEmailsTx(tx *gorm.DB, ms []*OutboxMessage) error {
	if len(ms) == 0 {
		return nil
	}
	now := s.Now()
	for _, m := range ms {
		if err := checkOutbox(m); err != nil {
			return fmt.Errorf("enqueue email: %w", err)
		}
		m.ID, m.Attempts, m.SentAt, m.LastError = 0, 0, nil, ""
		m.LeaseOwner, m.LeaseUntil = "", nil
		m.NextAttemptAt, m.CreatedAt = now, now
	}
	if err := tx.CreateInBatches(ms, 100).Error; err != nil {
		return fmt.Errorf("enqueue emails: %w", err)
	}
	return nil
}

// EnqueueEmail records one email in a transaction of its own, for one-off
// mails and tests; changes that send email call enqueueEmail in theirs.
func (s *Store) EnqueueEmail(ctx context.Context, m *OutboxMessage) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return s.enqueueEmail(tx, m) })
}

// cancelPendingEmails deletes the unsent messages to a membership (of the
// given kinds, or all kinds when none are given) inside tx: for a deleted
// person, who must get no more email, or for an invitation replaced by a
// newer one whose link would be dead on arrival. Sent messages are kept.
func (s *Store) cancelPendingEmails(tx *gorm.DB, membershipID uint, kinds ...string) error {
	q := tx.Where("membership_id = ? AND sent_at IS NULL", membershipID)
	if len(kinds) > 0 {
		q = q.Where("kind IN ?", kinds)
	}
	res := q.Delete(&OutboxMessage{})
	if res.Error != nil {
		return fmt.Errorf("cancel pending emails: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		// An unsent invitation or reset holds its link (dead by now, as
		// every caller revokes it); it goes from the files too (erase.go).
		forgetOnCommit(tx)
	}
	return nil
}

// ClaimEmails leases up to limit unsent messages whose next attempt is due
// to owner until now+lease, the longest waiting first, so that one worker
// of one server sends each (jobs.go). The claim walks idx_outbox_due
// (sent_at, next_attempt_at).
func (s *Store) ClaimEmails(ctx context.Context, owner string, lease time.Duration, limit int) ([]OutboxMessage, error) {
	ids, err := s.claim(ctx, OutboxQueue, owner, lease, limit, "")
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var out []OutboxMessage
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Order("next_attempt_at, id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("load claimed emails: %w", err)
	}
	return out, nil
}

// OutboxBacklog returns how many messages are unsent, and when the one due
// longest became due (the zero time when none is due now), for the metrics.
func (s *Store) OutboxBacklog(ctx context.Context) (unsent int64, oldestDue time.Time, err error) {
	db := s.db.WithContext(ctx)
	if err := db.Model(&OutboxMessage{}).Where("sent_at IS NULL").Count(&unsent).Error; err != nil {
		return 0, time.Time{}, fmt.Errorf("count unsent emails: %w", err)
	}
	var oldest []OutboxMessage
	err = db.Select("next_attempt_at").Where("sent_at IS NULL AND next_attempt_at <= ?", s.Now()).
		Order("next_attempt_at").Limit(1).Find(&oldest).Error
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("oldest due email: %w", err)
	}
	if len(oldest) == 1 {
		oldestDue = oldest[0].NextAttemptAt
	}
	return unsent, oldestDue, nil
}

// secretMailKinds are the emails whose body carries a working link.
var secretMailKinds = []string{"invitation", "password_reset"}

const sentSecretPlaceholder = "(sent; the body held a one-time link and is not kept)"

// MarkEmailSent records a delivery and ends its lease. It only touches an
// unsent message, so a second report of the same delivery changes nothing.
// It does not ask who holds the lease: a message sent is sent, even by a
// worker whose lease ran out meanwhile.
func (s *Store) MarkEmailSent(ctx context.Context, id uint) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&OutboxMessage{}).
			Where("id = ? AND sent_at IS NULL", id).
			Updates(map[string]any{
				"sent_at":     now,
				"attempts":    gorm.Expr("attempts + 1"),
				"last_error":  "",
				"lease_owner": "",
				"lease_until": nil,
			})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		// A sent link lives on in the recipient's mailbox only: the
		// database keeps the hash, never a working secret, and the old
		// body leaves the files as well as the row (erase.go).
		res = tx.Model(&OutboxMessage{}).Where("id = ? AND kind IN ?", id, secretMailKinds).
			Updates(map[string]any{"text_body": sentSecretPlaceholder, "html_body": sentSecretPlaceholder})
		if res.Error == nil && res.RowsAffected > 0 {
			forgetOnCommit(tx)
		}
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("mark email %d sent: %w", id, err)
	}
	return nil
}

// MarkEmailFailed records a failed attempt by owner, ends its lease and
// schedules the next attempt by EmailRetryDelay. The message stays in the
// outbox however often it fails. A failure reported for a message already
// sent changes nothing; one reported by a worker that no longer holds the
// message's lease is refused with ErrLeaseLost, since another worker has it.
func (s *Store) MarkEmailFailed(ctx context.Context, owner string, id uint, cause error) error {
	text := "unknown error"
	if cause != nil {
		text = truncateText(cause.Error(), maxOutboxError)
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var m OutboxMessage
		// FOR UPDATE on PostgreSQL; SQLite's immediate transaction already
		// holds the write lock.
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
			Select("id", "attempts", "sent_at", "lease_owner").Where("id = ?", id).Take(&m).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound()
		}
		if err != nil {
			return err
		}
		if m.SentAt != nil {
			return nil
		}
		if m.LeaseOwner != owner {
			return ErrLeaseLost
		}
		attempts := m.Attempts + 1
		return tx.Model(&OutboxMessage{}).Where("id = ? AND sent_at IS NULL", id).
			Updates(map[string]any{
				"attempts":        attempts,
				"last_error":      text,
				"next_attempt_at": s.Now().Add(EmailRetryDelay(attempts)),
				"lease_owner":     "",
				"lease_until":     nil,
			}).Error
	})
	if err != nil {
		return fmt.Errorf("mark email %d failed: %w", id, err)
	}
	return nil
}

// truncateText cuts s to at most max characters (the column is counted in
// characters on PostgreSQL) and makes it valid UTF-8, since SMTP servers
// answer in whatever bytes they like; see cutText.
func truncateText(s string, max int) string { return cutText(s, max) }

// failingChunk keeps the IN list of FailingEmails well under every
// database's limit on bound parameters.
const failingChunk = 500

// FailingEmails returns, for each of the given memberships that has one, its
// newest unsent message that has failed at least minAttempts times, so the
// users list can say that a person's invitation is not getting through and
// why.
func (s *Store) FailingEmails(ctx context.Context, membershipIDs []uint, minAttempts int) (map[uint]OutboxMessage, error) {
	out := make(map[uint]OutboxMessage)
	for start := 0; start < len(membershipIDs); start += failingChunk {
		ids := membershipIDs[start:min(start+failingChunk, len(membershipIDs))]
		var rows []OutboxMessage
		err := s.db.WithContext(ctx).
			Select("id", "account_id", "membership_id", "kind", "to_address", "to_name", "subject",
				"attempts", "next_attempt_at", "last_error", "created_at").
			Where("membership_id IN ? AND sent_at IS NULL AND attempts >= ?", ids, minAttempts).
			Order("membership_id, created_at DESC, id DESC").Find(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("failing emails: %w", err)
		}
		for _, r := range rows {
			if _, seen := out[*r.MembershipID]; !seen {
				out[*r.MembershipID] = r
			}
		}
	}
	return out, nil
}
