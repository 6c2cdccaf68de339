package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// How long finished things are kept before the scheduled clean-up deletes
// them. What the console still shows is never deleted: the audit log is
// kept for ever, and a pending invitee's current link, however expired,
// is what the users list shows as "Invitation expired".
const (
	// TokenRetention: a used, replaced or expired link is kept this long,
	// so that someone opening an old email is told the link was used or
	// has expired rather than that it is not valid.
	TokenRetention = 30 * 24 * time.Hour
	// SentEmailRetention: sent messages (whose secrets are already gone)
	// are kept this long for looking into a delivery.
	SentEmailRetention = 30 * 24 * time.Hour
	// FinishedJobRetention: done and failed jobs are kept this long; a job
	// enqueued again with the same key within it is found, not repeated.
	FinishedJobRetention = 90 * 24 * time.Hour
)

// pruneBatch bounds each delete, so that a clean-up holds the writer (and,
// on PostgreSQL, row locks) for moments rather than for the whole backlog.
const pruneBatch = 1000

// pruneInBatches deletes the rows of table matching where, pruneBatch at a
// time, and returns how many it deleted; key is the table's primary key.
func (s *Store) pruneInBatches(ctx context.Context, table, key, where string, args ...any) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.tx(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM `+table+` WHERE `+key+` IN (SELECT `+key+` FROM `+table+` WHERE `+where+` LIMIT ?)`,
				append(args, pruneBatch)...)
			n = res.RowsAffected
			return res.Error
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", table, err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}

// PruneSessions deletes the sessions that can no longer be used: past
// their absolute lifetime or idle too long. LoadViewer refuses them anyway.
func (s *Store) PruneSessions(ctx context.Context) (int64, error) {
	now := s.Now()
	return s.pruneInBatches(ctx, "sessions", "id", "expires_at <= ? OR last_seen_at < ?", now, now.Add(-IdleTimeout))
}

// PruneTokens deletes links used, replaced or expired more than
// TokenRetention ago, except a pending invitee's current invitation.
func (s *Store) PruneTokens(ctx context.Context) (int64, error) {
	before := s.Now().Add(-TokenRetention)
	return s.pruneInBatches(ctx, "tokens", "id", `used_at < ? OR revoked_at < ?
		OR (expires_at < ? AND NOT (purpose = ? AND used_at IS NULL AND revoked_at IS NULL))`,
		before, before, before, PurposeInvitation)
}

// PruneSentEmails deletes messages sent more than SentEmailRetention ago.
// Unsent ones stay, however old: they are still to be delivered, and the
// users list shows the ones that keep failing.
func (s *Store) PruneSentEmails(ctx context.Context) (int64, error) {
	return s.pruneInBatches(ctx, "outbox_messages", "id", "sent_at < ?", s.Now().Add(-SentEmailRetention))
}

// PruneJobs deletes jobs finished more than FinishedJobRetention ago.
func (s *Store) PruneJobs(ctx context.Context) (int64, error) {
	return s.pruneInBatches(ctx, "jobs", "id", "state <> ? AND finished_at < ?", JobQueued, s.Now().Add(-FinishedJobRetention))
}
