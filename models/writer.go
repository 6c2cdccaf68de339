package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// On SQLite every change goes through one writer connection, and a commit
// costs more than most of the changes it commits (the pages the triggers
// touch are written to the log each time). So the writer commits in
// groups: transactions that arrive while one runs wait in a queue, and the
// next transaction runs as many of them as are waiting (up to
// maxGroupedWrites), each inside its own savepoint, then commits once.
//
// Each caller still gets exactly its own transaction's outcome: its
// changes are kept, or rolled back to its savepoint when it returns an
// error, and tx returns only after the commit that made them durable (or
// with the commit's error). The transactions of a group run one after
// another, in arrival order, so each sees the ones before it, as serial
// transactions would. On PostgreSQL, whose transactions run side by side,
// tx is a plain transaction. Either way fn must not open a transaction of
// its own (tx.Transaction): it already runs in one.

// The writer's connection is pinned (a *sql.Conn) and its transactions are
// plain BEGIN/SAVEPOINT/COMMIT statements rather than database/sql
// transactions: database/sql prepares a statement again in every
// transaction, and preparing a write on memberships means compiling its
// triggers, which cost more than running it. Outside a database/sql
// transaction, GORM's prepared statements are reused on the one connection.

// openWriter opens the SQLite writer's own connection.
func (s *Store) openWriter(ctx context.Context, dsn string, cfg *gorm.Config) error {
	pool, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		return err
	}
	pool.SetMaxOpenConns(1)
	conn, err := pool.Conn(ctx)
	if err != nil {
		pool.Close()
		return err
	}
	// The writer is what deletes and overwrites secrets (erase.go): refuse
	// to run without secure_delete rather than leave them in the file.
	var secureDelete int
	if err := conn.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&secureDelete); err != nil || secureDelete != 1 {
		conn.Close()
		pool.Close()
		return fmt.Errorf("the writer connection must have secure_delete on (got %d, %v)", secureDelete, err)
	}
	wcfg := *cfg
	wcfg.DisableAutomaticPing = true // GORM pings a pool, not a connection
	w, err := gorm.Open(sqlite.New(sqlite.Config{Conn: conn}), &wcfg)
	if err != nil {
		conn.Close()
		pool.Close()
		return err
	}
	s.w, s.writerConn, s.writerPool = w, conn, pool
	return nil
}

// maxGroupedWrites bounds how long one group holds the writer.
const maxGroupedWrites = 64

// writeJob is one transaction waiting for the writer.
type writeJob struct {
	ctx  context.Context
	fn   func(tx *gorm.DB) error
	done chan writeResult
}

type writeResult struct {
	err   error
	panic any // a panic in fn, raised again in the caller
}

// errStoreClosed answers a transaction asked of a closed store.
var errStoreClosed = errors.New("the database is closed")

// startWriter starts the goroutine that runs the queued transactions;
// stopWriter ends it.
func (s *Store) startWriter() {
	s.queue = make(chan *writeJob)
	s.stop = make(chan struct{})
	s.writerDone = make(chan struct{})
	go func() {
		defer close(s.writerDone)
		// next is a job taken from the queue while the writer waited for
		// an idle moment to erase a removed secret (erase.go); retry
		// fires while such a secret may still be in the log.
		var next *writeJob
		var retry <-chan time.Time
		for {
			if next == nil {
				select {
				case next = <-s.queue:
				case <-retry:
					s.erase(context.Background())
				case <-s.stop:
					return
				}
			}
			if next != nil {
				group := []*writeJob{next}
			gather:
				for len(group) < maxGroupedWrites {
					select {
					case j := <-s.queue:
						group = append(group, j)
					default:
						break gather
					}
				}
				results, err := s.runGroup(group)
				for i, j := range group {
					if err != nil && results[i].panic == nil {
						results[i].err = fmt.Errorf("transaction: %w", err)
					}
					j.done <- results[i]
				}
				next = s.eraseWhenIdle(context.Background())
			}
			retry = nil
			if s.erasing.pending {
				retry = time.After(eraseRetry)
			}
		}
	}()
}

// stopWriter waits for the transaction running, if any, and stops the writer.
func (s *Store) stopWriter() {
	if s.stop != nil {
		s.stopOnce.Do(func() { close(s.stop) })
		<-s.writerDone
	}
}

// runGroup runs a group of transactions in one database transaction and
// returns each one's result and the error of the group's own statements
// (BEGIN, SAVEPOINT, COMMIT), which undoes them all; the writer loop
// answers the callers.
func (s *Store) runGroup(group []*writeJob) ([]writeResult, error) {
	results := make([]writeResult, len(group))
	// The statements run without the callers' cancellation: interrupting
	// one would make SQLite roll back the whole group. A caller that has
	// gone before its turn is skipped instead.
	w := s.w.WithContext(context.WithoutCancel(group[0].ctx))
	// forget[i] is set by job i when it removed a secret (forgetOnCommit).
	forget := make([]bool, len(group))
	err := w.Exec("BEGIN IMMEDIATE").Error
	if err == nil {
		for i, j := range group {
			if err := j.ctx.Err(); err != nil {
				results[i].err = err
				continue
			}
			if err = w.Exec("SAVEPOINT job").Error; err != nil {
				break
			}
			ctx := context.WithValue(context.WithoutCancel(j.ctx), forgetKey{}, &forget[i])
			results[i] = runJob(s.w.WithContext(ctx), j.fn)
			if results[i].err != nil || results[i].panic != nil {
				if err = w.Exec("ROLLBACK TO job").Error; err != nil {
					break
				}
			}
			if err = w.Exec("RELEASE job").Error; err != nil {
				break
			}
		}
		if err == nil {
			err = w.Exec("COMMIT").Error
		}
		if err != nil {
			// Whatever failed, leave the connection outside a transaction.
			_ = w.Exec("ROLLBACK").Error
		}
	}
	if err == nil {
		for i := range group {
			if forget[i] && results[i].err == nil && results[i].panic == nil {
				s.mustErase()
			}
		}
	}
	return results, err
}

// runJob runs fn, turning a panic into a result for its caller.
func runJob(tx *gorm.DB, fn func(tx *gorm.DB) error) (res writeResult) {
	defer func() {
		if p := recover(); p != nil {
			res = writeResult{panic: p}
		}
	}()
	return writeResult{err: fn(tx)}
}

// tx runs fn as one transaction: through the grouping writer on SQLite,
// directly on PostgreSQL.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	defer s.writes.Add(1)
	if s.queue == nil {
		return s.w.WithContext(ctx).Transaction(fn)
	}
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}
	select {
	case s.queue <- job:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errStoreClosed
	}
	// Once queued, the outcome is awaited even if ctx ends: the caller
	// must know whether its change was made.
	res := <-job.done
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}

// Tx runs fn as one write transaction, for the areas beside the core
// (models/calls, …): the same writer, grouping and rules as the core's own
// changes, so an area's writes never race the people core's.
func (s *Store) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error { return s.tx(ctx, fn) }
