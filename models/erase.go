package models

import (
	"context"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"
)

// Secrets that are deleted or overwritten must not stay readable in the
// database's files (issue 11, item 9). Every one-time link is stored only
// as a hash (tokens), and so is every session; the one place a working
// secret is written is the body of an invitation or password-reset email
// waiting in the outbox, because the delivery worker must be able to send
// it again after a crash. Once the email is sent, MarkEmailSent overwrites
// the body with a placeholder; an unsent one is deleted when the person is
// deleted, disabled or re-addressed (cancelPendingEmails). On SQLite that
// is not enough by itself, and two things make it so:
//
//   - PRAGMA secure_delete=ON on every connection (sqliteDSN; the writer
//     checks it, openWriter): SQLite then zeroes the space a deleted or
//     shrunk row leaves on its page and every page it frees, instead of
//     leaving the old bytes in free space, where they survive checkpoints
//     (before this, a sent link stayed readable in the main file). ON, not
//     FAST: FAST leaves freed overflow pages, where long email bodies
//     live, as they were.
//   - In WAL mode every commit appends whole pages to the -wal file, so
//     each version of a page that held the link (the insert, and every
//     later change to a row sharing the page) stays in the log until it is
//     checkpointed and the log is reused, which may be never for its tail.
//     A transaction that removes a secret therefore calls forgetOnCommit,
//     and after its commit the eraser runs PRAGMA wal_checkpoint(TRUNCATE)
//     on the writer's connection (emptyLog): the zeroed pages go to the
//     main file and the log is cut to nothing. That costs a few
//     milliseconds (the database file is synced), so the eraser does it
//     once the writer is idle, and at the latest eraseMaxDelay after the
//     commit, once for all the secrets removed meanwhile (eraser); the
//     caller does not wait for it. A reader
//     holding an old snapshot can make it wait; the writer waits at most
//     eraseBusyTimeout, so it never stalls every write behind a long read,
//     and tries again every eraseRetry until the log is empty. The -shm
//     file holds only the log's index (page numbers and checksums), never
//     page content. A store closed with a secret pending loses it anyway:
//     SQLite checkpoints and deletes the log when its last connection
//     closes.
//
// PostgreSQL has no equivalent of secure_delete. An UPDATE or DELETE leaves
// the old row version (with the link) as a dead tuple until (auto)VACUUM,
// which makes its space reusable without zeroing it, so the bytes last
// until that space is written again; the WAL segments hold it until they
// are recycled, and base backups or archived WAL for as long as they are
// kept; only a table rewrite (VACUUM FULL) drops the old file. So on
// PostgreSQL a copy of the data directory, a backup or the WAL archive may
// hold a sent link while it is still valid (up to InvitationLinkTTL or
// PasswordResetTTL, and never once it is used or replaced): there, access
// to those files is what protects it.
//
// Nothing else holds a live secret that is later overwritten or deleted:
// tokens (setup, invitation, reset) and sessions are stored as SHA-256
// hashes; the cookie keys (Secret) are live for as long as the server runs
// and are never rewritten; a changed password's old argon2id hash is
// zeroed by secure_delete but not forced out of the log (it is not a live
// secret, and the current hash sits in the same file anyway).

// forgetKey marks a writer job's context with the flag forgetOnCommit sets.
type forgetKey struct{}

// forgetOnCommit asks the SQLite writer to empty its log once tx commits,
// because tx deleted or overwrote a live secret. Elsewhere (PostgreSQL,
// or a transaction not run by the writer) it does nothing.
func forgetOnCommit(tx *gorm.DB) {
	if flag, ok := tx.Statement.Context.Value(forgetKey{}).(*bool); ok {
		*flag = true
	}
}

// eraseState is the bookkeeping of removed secrets that may still be in
// the log, read and changed only while holding the writer's turn.
type eraseState struct {
	pending bool // a committed transaction removed a secret
}

// How long the writer must have had no transaction before it counts as
// idle, how long a removed secret may wait in the log for an idle writer,
// and how soon an attempt that could not finish is made again.
const (
	eraseIdle     = 2 * time.Millisecond
	eraseMaxDelay = 100 * time.Millisecond
	eraseRetry    = time.Second
)

// maxLogBytes is how long the write-ahead log may grow before the eraser
// empties it as it would after a removed secret. SQLite's own checkpoints
// copy the log into the database but start it again from the beginning
// only when no reader is using it, which under steady reading is never:
// with 32 connections reading the list while an import ran, the log grew
// to 600 MB and every page read searched its index.
var maxLogBytes int64 = 64 << 20

// logTooLong reports whether the log has grown past maxLogBytes. The
// caller holds the writer's turn.
func (s *Store) logTooLong() bool {
	if s.logPath == "" {
		return false
	}
	fi, err := os.Stat(s.logPath)
	return err == nil && fi.Size() > maxLogBytes
}

// mustErase notes that a committed transaction removed a secret, or left
// the log too long, and wakes the eraser. The caller holds the writer's
// turn.
func (s *Store) mustErase() {
	s.erasing.pending = true
	select {
	case s.eraseKick <- struct{}{}:
	default: // already woken
	}
}

// eraser empties the log once a removed secret may be in it, at an idle
// moment: once no transaction has run for eraseIdle, or once the secret
// has waited eraseMaxDelay, taking the writer's turn like a transaction.
// So a busy writer erases at most once per eraseMaxDelay, for every secret
// removed meanwhile, rather than after every sent link, and the callers do
// not wait for it. An attempt that could not finish is made again
// eraseRetry later. It runs from openWriter until the store closes.
func (s *Store) eraser() {
	defer close(s.eraserDone)
	var retry <-chan time.Time
	var notBefore time.Time
	for {
		select {
		case <-s.eraseKick:
		case <-retry:
		case <-s.closed:
			return
		}
		if wait := time.Until(notBefore); wait > 0 {
			retry = time.After(wait)
			continue
		}
		retry = nil
		deadline := time.Now().Add(eraseMaxDelay)
		for {
			now := time.Now()
			idle := now.Sub(time.Unix(0, s.lastWrite.Load()))
			if (s.writing.Load() == 0 && idle >= eraseIdle) || !now.Before(deadline) {
				break
			}
			wait := min(max(eraseIdle-idle, eraseIdle/4), deadline.Sub(now))
			select {
			case <-time.After(wait):
			case <-s.closed:
				return
			}
		}
		select {
		case s.writeTurn <- struct{}{}:
		case <-s.closed:
			return
		}
		pending := s.erase(context.Background())
		<-s.writeTurn
		if pending {
			notBefore = time.Now().Add(eraseRetry)
			retry = time.After(eraseRetry)
		}
	}
}

// erase empties the log if a removed secret may still be in it, and
// reports whether one still may be. A failure (a reader of an older
// snapshot, or an error) leaves it pending; the transactions themselves
// have committed. The caller holds the writer's turn.
func (s *Store) erase(ctx context.Context) bool {
	e := &s.erasing
	if !e.pending {
		return false
	}
	done, err := s.emptyLog(ctx, eraseBusyTimeout/5)
	if err == nil && !done {
		done, err = s.emptyLogAlone(ctx)
	}
	if err == nil && done {
		e.pending = false
	}
	return e.pending
}

// emptyLogAlone is emptyLog with this process's reads held back: it takes
// every connection of the reading pool first, so none can start a read
// while the checkpoint waits, and gives them back at once after. Without
// it, steady reading can keep the log from ever being emptied: SQLite's
// checkpoint waits for an exclusive lock on a reader's slot, and new
// readers keep joining that slot (it carries the newest snapshot) before
// the lock is ever free. Reads wait only for what the first attempt left
// to copy. A read that does not let go of its connection within two
// fifths of eraseBusyTimeout makes this attempt fail, and so does a reader
// of another process that holds on for as long; with the first try's
// fifth, the writer waits at most eraseBusyTimeout in all.
func (s *Store) emptyLogAlone(ctx context.Context) (bool, error) {
	pool, err := s.db.DB()
	if err != nil {
		return false, fmt.Errorf("empty the log: %w", err)
	}
	wait, cancel := context.WithTimeout(ctx, eraseBusyTimeout*2/5*time.Millisecond)
	defer cancel()
	for range sqliteReaders {
		conn, err := pool.Conn(wait)
		if err != nil {
			return false, nil // a read held on: tried again later
		}
		defer conn.Close()
	}
	return s.emptyLog(ctx, eraseBusyTimeout*2/5)
}

// eraseBusyTimeout bounds how long an erase round waits for readers of an
// older snapshot, in all; sqliteBusyTimeout is what the writer's
// statements wait for locks otherwise (the DSN's _busy_timeout, set back
// afterwards).
const (
	eraseBusyTimeout  = 250   // milliseconds
	sqliteBusyTimeout = 10000 // milliseconds
)

// emptyLog checkpoints the whole write-ahead log into the database file and
// truncates it to nothing. It runs on the writer's connection, between
// transactions, and reports whether the log is now empty (false: a reader
// held on to an older snapshot for longer than busyMS milliseconds). The
// first try waits a fifth of eraseBusyTimeout, because emptyLogAlone
// follows it at once (erase).
//
// These PRAGMAs answer with a row, which is always read (Scan): with GORM's
// prepared statements an Exec would leave the statement stepped but not
// reset, and a statement left so keeps its connection on an old snapshot.
func (s *Store) emptyLog(ctx context.Context, busyMS int) (bool, error) {
	w := s.w.WithContext(ctx)
	var ms, busy, frames, done int
	if err := w.Raw(fmt.Sprintf("PRAGMA busy_timeout = %d", busyMS)).Row().Scan(&ms); err != nil {
		return false, fmt.Errorf("empty the log: %w", err)
	}
	err := w.Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row().Scan(&busy, &frames, &done)
	if rerr := w.Raw(fmt.Sprintf("PRAGMA busy_timeout = %d", sqliteBusyTimeout)).Row().Scan(&ms); err == nil {
		err = rerr
	}
	if err != nil {
		return false, fmt.Errorf("empty the log: %w", err)
	}
	return busy == 0, nil
}
