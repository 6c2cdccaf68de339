package models

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is the domain's entry point: a database and a clock. Every query and
// every change of the console is a method on it.
type Store struct {
	db *gorm.DB
	// w runs the transactions (writer.go): on SQLite a connection of its
	// own (writerConn), taken in turn through writeTurn; on PostgreSQL db.
	w          *gorm.DB
	writerConn *sql.Conn
	writerPool *sql.DB
	writeTurn  chan struct{}
	// writing counts the transactions under way (a test checks that no
	// email is built while one is).
	writing   atomic.Int32
	closed    chan struct{}
	closeOnce sync.Once
	now       func() time.Time
	// Dialect is "sqlite" or "postgres".
	Dialect string
	mail    MailComposer
	// limits are the users list's plan limits (userlist_query.go).
	limits planLimits
	// exportBatchSize, when set, replaces exportBatch (tests).
	exportBatchSize int
	// companies caches each account's active companies (company_cache.go).
	companies *companyCache
	// writes counts the transactions this server has finished, so that
	// versions read at the start of a request are trusted only until the
	// server itself writes (the viewer snapshot, session.go).
	writes atomic.Uint64
}

// Option adjusts a Store.
type Option func(*Store)

// WithClock replaces time.Now, so tests can move time (token expiry, throttles).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open connects to the database named by dsn and brings its schema up to date.
// dsn is a file path or sqlite: URL for SQLite, or a postgres:// URL.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, companies: &companyCache{}, limits: defaultPlanLimits, closed: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	cfg := &gorm.Config{
		Logger:  logger.Discard,
		NowFunc: func() time.Time { return s.now().UTC() },
		// Multi-row changes open their own transactions; single statements
		// need none, and skipping GORM's implicit one halves write latency.
		SkipDefaultTransaction: true,
		TranslateError:         true,
		PrepareStmt:            true,
		PrepareStmtMaxSize:     512,
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.Dialect = "postgres"
		s.db, err = gorm.Open(postgres.Open(dsn), cfg)
	default:
		s.Dialect = "sqlite"
		path, full := sqliteDSN(dsn)
		// A fresh machine may not have the database's folder yet.
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
		s.db, err = gorm.Open(sqlite.Open(full), cfg)
		if err == nil {
			err = s.openWriter(ctx, full, cfg)
		}
	}
	if err != nil {
		if s.db != nil {
			if pool, perr := s.db.DB(); perr == nil {
				pool.Close()
			}
		}
		return nil, fmt.Errorf("open %s database: %w", s.Dialect, err)
	}
	if s.w == nil {
		s.w = s.db
	}
	if err := trackStatements(s.w); err != nil {
		s.Close()
		return nil, err
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if s.Dialect == "sqlite" {
		// A few reading connections are plenty for SQLite: WAL lets them
		// run beside the one writer (writer.go).
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDSN turns a path or sqlite: URL into a go-sqlite3 DSN with the
// pragmas every connection needs. They are per connection, so they belong in
// the DSN rather than in a one-off PRAGMA:
//   - WAL so that page reads do not wait behind a write;
//   - a busy timeout so that a writer waits its turn rather than failing;
//   - immediate transactions, because a deferred one that reads then writes
//     fails at once with "database is locked" whatever the timeout;
//   - foreign keys, off by default, without which cascades silently do nothing.
func sqliteDSN(dsn string) (path, full string) {
	path = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	return path, "file:" + path + "?" + q.Encode()
}

func (s *Store) migrate(ctx context.Context) error {
	err := s.db.WithContext(ctx).AutoMigrate(
		&Secret{}, &Account{}, &Company{}, &Login{}, &Membership{}, &Assignment{},
		&Token{}, &OutboxMessage{}, &AuditEvent{}, &Session{}, &AccessRequest{},
	)
	if err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	if err := s.migrateCompanyVersions(ctx); err != nil {
		return err
	}
	return s.migrateListSchema(ctx)
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return sqlDB.PingContext(ctx)
}

// Close releases the database, after the transaction under way, if any.
// Transactions asked of a closed store fail.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.writeTurn != nil {
			s.writeTurn <- struct{}{} // nothing writes after this
		}
		if s.writerConn != nil {
			s.writerConn.Close()
			s.writerPool.Close()
		}
		var sqlDB *sql.DB
		if sqlDB, err = s.db.DB(); err == nil {
			err = sqlDB.Close()
		}
	})
	return err
}

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// DB exposes the handle for tests and the benchmark's bulk seeding.
func (s *Store) DB() *gorm.DB { return s.db }
