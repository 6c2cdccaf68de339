package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// A transaction (Store.tx) means the same on both databases:
//
//   - fn runs in one database transaction: everything it writes is kept,
//     or nothing is (it returned an error, or panicked; the panic goes on
//     in the caller);
//   - a nested tx.Transaction is a savepoint: its writes are undone alone
//     when it fails, and the outer transaction goes on;
//   - a statement that fails fails the transaction, as PostgreSQL has it:
//     it is rolled back and tx returns that statement's error, even if fn
//     went on. A statement that may fail as a matter of course (a
//     duplicate) runs in a nested Transaction;
//   - what fn reads through tx includes what it wrote; what it reads
//     through the Store (another connection) does not, so a change reads
//     what it checks through tx;
//   - fn builds no email: bodies are rendered before the transaction
//     (mailed, mail.go), so no rendering holds the write lock.
//
// On SQLite one transaction writes at a time: callers wait their turn, in
// order, for the writer's own connection (writerConn), where waiting in Go
// costs nothing, while SQLite's busy timeout polls with growing sleeps.
// Its BEGIN IMMEDIATE and COMMIT are plain statements on that connection,
// so GORM's prepared statements stay prepared across transactions:
// database/sql prepares every statement again in each of its transactions,
// and preparing a write on memberships compiles its triggers.
// On PostgreSQL, whose transactions run side by side, tx is GORM's.

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
	s.writeTurn = make(chan struct{}, 1)
	s.eraseKick = make(chan struct{}, 1)
	s.eraserDone = make(chan struct{})
	go s.eraser()
	return nil
}

// errStoreClosed answers a transaction asked of a closed store.
var errStoreClosed = errors.New("the database is closed")

// txState follows one transaction's statements: the first that failed,
// and at each savepoint what had failed before it.
type txState struct {
	failed     error
	savepoints []error
}

type txStateKey struct{}

// trackStatements records, after each statement GORM runs, whether it
// failed, for the transaction it belongs to (if any).
func trackStatements(db *gorm.DB) error {
	track := func(db *gorm.DB) {
		st, _ := db.Statement.Context.Value(txStateKey{}).(*txState)
		if st == nil {
			return
		}
		sql := db.Statement.SQL.String()
		switch {
		case db.Error != nil && !errors.Is(db.Error, gorm.ErrRecordNotFound):
			if st.failed == nil {
				st.failed = db.Error
			}
		case db.Error != nil:
		case strings.HasPrefix(sql, "SAVEPOINT "):
			st.savepoints = append(st.savepoints, st.failed)
		case strings.HasPrefix(sql, "ROLLBACK TO SAVEPOINT ") && len(st.savepoints) > 0:
			// Back to the savepoint: what failed after it is undone.
			st.failed = st.savepoints[len(st.savepoints)-1]
			st.savepoints = st.savepoints[:len(st.savepoints)-1]
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("*").Register("switchboard:track", track),
		cb.Query().After("*").Register("switchboard:track", track),
		cb.Update().After("*").Register("switchboard:track", track),
		cb.Delete().After("*").Register("switchboard:track", track),
		cb.Row().After("*").Register("switchboard:track", track),
		cb.Raw().After("*").Register("switchboard:track", track),
	} {
		if err != nil {
			return fmt.Errorf("register statement tracking: %w", err)
		}
	}
	return nil
}

// inTransaction is the SQLite writer's connection as fn sees it: already
// in a transaction, so that GORM makes a nested Transaction a savepoint.
// The writer commits; fn never does.
type inTransaction struct{ gorm.ConnPool }

func (inTransaction) Commit() error { return errors.New("commit: the writer commits its transactions") }
func (inTransaction) Rollback() error {
	return errors.New("rollback: the writer rolls back its transactions")
}

// tx runs fn as one transaction (see the top of this file).
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	defer s.writes.Add(1)
	if also, ok := ctx.Value(withinTxKey{}).(func(tx *gorm.DB) error); ok {
		// Another write asked to be part of this change (withinTx).
		inner := fn
		fn = func(tx *gorm.DB) error {
			if err := inner(tx); err != nil {
				return err
			}
			return also(tx)
		}
	}
	st := &txState{}
	tctx := context.WithValue(ctx, txStateKey{}, st)
	if s.writeTurn == nil {
		return s.w.WithContext(tctx).Transaction(func(tx *gorm.DB) error {
			s.writing.Add(1)
			defer s.writing.Add(-1)
			if err := fn(tx); err != nil {
				return err
			}
			return st.failed
		})
	}

	select {
	case s.writeTurn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return errStoreClosed
	}
	defer func() { <-s.writeTurn }()
	s.writing.Add(1)
	defer func() {
		s.lastWrite.Store(time.Now().UnixNano())
		s.writing.Add(-1)
	}()
	if err := ctx.Err(); err != nil {
		// The caller has gone while it waited: write nothing.
		return err
	}
	// BEGIN, COMMIT and ROLLBACK are not interrupted: the caller must
	// learn whether its change was made.
	w := s.w.WithContext(context.WithoutCancel(ctx))
	if err := w.Exec("BEGIN IMMEDIATE").Error; err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: undo, and let the panic go on.
			_ = w.Exec("ROLLBACK").Error
		}
	}()
	// forget is set by fn when it removed a secret (forgetOnCommit).
	var forget bool
	tx := s.w.WithContext(context.WithValue(tctx, forgetKey{}, &forget))
	tx.Statement.ConnPool = inTransaction{tx.Statement.ConnPool}
	err := fn(tx)
	if err == nil {
		err = st.failed
	}
	done = true
	if err != nil {
		if rerr := w.Exec("ROLLBACK").Error; rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", rerr))
		}
		return err
	}
	if err := w.Exec("COMMIT").Error; err != nil {
		_ = w.Exec("ROLLBACK").Error
		return fmt.Errorf("commit: %w", err)
	}
	if forget || s.logTooLong() {
		s.mustErase()
	}
	return nil
}

// Tx runs fn as one write transaction, for the areas beside the core
// (models/calls, …): the same writer and rules as the core's own
// changes, so an area's writes never race the people core's.
func (s *Store) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error { return s.tx(ctx, fn) }

type withinTxKey struct{}

// withinTx returns a context whose next write transaction also runs also,
// after its own work, so that both are committed or neither: a bulk job
// records a person's outcome with their change this way. Only the
// transaction that commits counts; one that rolls back takes also's
// writes with it. The single actions a bulk job calls each commit one
// transaction.
func withinTx(ctx context.Context, also func(tx *gorm.DB) error) context.Context {
	return context.WithValue(ctx, withinTxKey{}, also)
}
