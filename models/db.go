package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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
	// email is built while one is); lastWrite is when the last one ended
	// (UnixNano), so the eraser finds an idle moment.
	writing   atomic.Int32
	lastWrite atomic.Int64
	closed    chan struct{}
	closeOnce sync.Once
	// erasing tracks removed secrets that may still be in the write-ahead
	// log (erase.go), read and changed only while holding writeTurn;
	// eraseKick wakes the eraser, which is done when eraserDone closes.
	erasing eraseState
	// logPath is the SQLite write-ahead log's file, watched after each
	// commit so that the log is emptied once it grows long (erase.go).
	logPath    string
	eraseKick  chan struct{}
	eraserDone chan struct{}
	now        func() time.Time
	// zones caches loaded time zones (timezone.go).
	zones sync.Map
	// Dialect is "sqlite" or "postgres".
	Dialect string
	mail    MailComposer
	// plan are the users list's plan limits (userlist_query.go).
	plan planLimits
	// exportBatchSize, when set, replaces exportBatch (tests).
	exportBatchSize int
	// companies caches each account's active companies (company_cache.go).
	companies *companyCache
	// lists is the users list's page cache (userlist_cache.go); nil
	// without one.
	lists *listCache
	// sessionStmt is LoadViewer's prepared query (session.go).
	sessionStmt struct {
		once sync.Once
		stmt *sql.Stmt
		err  error
	}
	// areas are the hooks and vocabulary of the areas around the people
	// core (areas.go), registered at start-up.
	areas areaRegistry
	// writes counts the transactions this server has finished, so that
	// versions read at the start of a request are trusted only until the
	// server itself writes (the viewer snapshot, session.go).
	writes atomic.Uint64
	// schemaVersion is what migrate recorded (Ready).
	schemaVersion string
	// onThrottleRefused counts throttle refusals (observe.go).
	onThrottleRefused func(kind string)
	// limits are the throttles and rate limits (throttle.go); sleep is
	// how a slowed-down password check waits.
	limits ThrottlePolicy
	sleep  func(ctx context.Context, d time.Duration) error
	// gate lets each client run one password check at a time
	// (password.go); observeArgon watches them (tests).
	gate         *clientGate
	observeArgon func(keys []string, delta int)
	// throttleSQL are the throttle's statements in this dialect.
	throttleSQL throttleStatements
}

// Option adjusts a Store.
type Option func(*Store)

// WithClock replaces time.Now, so tests can move time (token expiry, throttles).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open connects to the database named by dsn and brings its schema up to date.
// dsn is a file path or sqlite: URL for SQLite, or a postgres:// URL.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, companies: &companyCache{}, lists: &listCache{}, plan: defaultPlanLimits, closed: make(chan struct{}),
		limits: DefaultThrottlePolicy(), sleep: sleepContext, gate: &clientGate{held: map[string]*gateEntry{}}}
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
		s.logPath = path + "-wal"
		if err == nil {
			err = readRowsInline(s.db)
		}
		if err == nil {
			err = s.openWriter(ctx, full, cfg)
		}
		if err == nil {
			err = readRowsInline(s.w)
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
	s.throttleSQL = newThrottleStatements(s.Dialect)
	sqlDB, err := s.db.DB()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("database handle: %w", err)
	}
	if s.Dialect == "sqlite" {
		// A few reading connections are plenty for SQLite: WAL lets them
		// run beside the one writer (writer.go).
		sqlDB.SetMaxOpenConns(sqliteReaders)
		sqlDB.SetMaxIdleConns(sqliteReaders)
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

// readRowsInline makes db's reads on SQLite hand go-sqlite3 a context
// that cannot be cancelled. With one that can (every request's), the
// driver steps each row on a goroutine of its own so that a cancel can
// interrupt it: a goroutine, a channel and two thread hand-offs per row,
// which cost a users-list page as much CPU as its statements (profile of
// the bench's "new search" scenario: 7.7 s of 15 s in that per-row step
// path). What is given up: a statement of a request whose client has gone
// runs to its end, and so does its wait for a pooled connection. Reads
// are bounded by design (the users list's and the Call Log's plans), so
// that is a few milliseconds.
func readRowsInline(db *gorm.DB) error {
	uncancelled := func(tx *gorm.DB) {
		if ctx := tx.Statement.Context; ctx != nil {
			tx.Statement.Context = context.WithoutCancel(ctx)
		}
	}
	if err := db.Callback().Query().Before("gorm:query").Register("switchboard:rows_inline", uncancelled); err != nil {
		return fmt.Errorf("register query callback: %w", err)
	}
	if err := db.Callback().Row().Before("gorm:row").Register("switchboard:rows_inline", uncancelled); err != nil {
		return fmt.Errorf("register row callback: %w", err)
	}
	return nil
}

// sqliteReaders is how many connections read a SQLite database at once
// (beside the writer's); emptyLogAlone takes them all.
const sqliteReaders = 8

// sqliteCacheKiB is each connection's page cache, negative: in KiB
// (SQLite's cache_size pragma); see sqliteDSN.
const sqliteCacheKiB = -2000

// sqliteDSN turns a path or sqlite: URL into a go-sqlite3 DSN with the
// pragmas every connection needs. They are per connection, so they belong in
// the DSN rather than in a one-off PRAGMA:
//   - WAL so that page reads do not wait behind a write;
//   - a busy timeout so that a writer waits its turn rather than failing;
//   - immediate transactions, because a deferred one that reads then writes
//     fails at once with "database is locked" whatever the timeout;
//   - foreign keys, off by default, without which cascades silently do nothing;
//   - secure_delete, so that deleted and overwritten rows (a one-time link
//     in a sent email's body) are zeroed rather than left in free space
//     (erase.go);
//   - a page cache of 2 MB per connection (SQLite's default, made explicit):
//     with the Call Log's scenarios (README, "The Call Log at a million
//     calls") 8 MB and 32 MB used no less CPU per request and raised the
//     peak RSS by 26 and 54 MiB; 1 MB saved 13 MiB, and in the one run
//     made (under more load) cost about a tenth more CPU per request. The
//     pages a request misses come from the OS's file cache.
func sqliteDSN(dsn string) (path, full string) {
	path = strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", strconv.Itoa(sqliteBusyTimeout))
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_secure_delete", "on")
	q.Set("_cache_size", strconv.Itoa(sqliteCacheKiB))
	return path, "file:" + path + "?" + q.Encode()
}

// schemaModels are the tables AutoMigrate keeps.
func schemaModels() []any {
	return []any{
		&Secret{}, &Account{}, &Company{}, &Login{}, &Membership{}, &Assignment{},
		&Token{}, &OutboxMessage{}, &AuditEvent{}, &Session{}, &AccessRequest{}, &Job{}, &ThrottleCounter{}, &BulkItem{}, &Import{}, &ImportRow{},
		&SchemaMigration{},
	}
}

// SchemaMigration records that the schema of one version of the program
// was brought about, in the same transaction as the migration itself.
// A server is ready (/readyz) while its own version is recorded.
type SchemaMigration struct {
	Version   string `gorm:"primaryKey;size:64"`
	AppliedAt time.Time
}

// migrationLock is the PostgreSQL advisory lock key of migrations.
const migrationLock = 7242001

// migrate brings the schema up to date and records this program's schema
// version (see migrateLocked).
func (s *Store) migrate(ctx context.Context) error {
	version := schemaVersion(s.Dialect)
	err := s.migrateLocked(ctx, version, func(db *gorm.DB) error {
		if err := db.AutoMigrate(schemaModels()...); err != nil {
			return fmt.Errorf("migrate schema: %w", err)
		}
		return nil
	}, func(tx *gorm.DB) error {
		if err := s.migrateCompanyVersions(tx); err != nil {
			return err
		}
		if err := s.migrateMemberVersions(tx); err != nil {
			return err
		}
		return s.migrateListSchema(tx)
	}, backfillAccountZones)
	if err != nil {
		return err
	}
	s.schemaVersion = version
	return nil
}

// MigrateArea brings an area's tables up to date as the core's are (see
// migrateLocked): servers starting at once migrate one at a time, and a
// server finding the tables as this program defines them leaves them
// alone. The core is migrated first (Open).
func (s *Store) MigrateArea(ctx context.Context, area string, tables ...any) error {
	h := sha256.New()
	fmt.Fprintf(h, "area %s\n", area)
	writeModels(h, tables)
	err := s.migrateLocked(ctx, hex.EncodeToString(h.Sum(nil)), func(db *gorm.DB) error {
		if err := db.AutoMigrate(tables...); err != nil {
			return fmt.Errorf("migrate %s schema: %w", area, err)
		}
		return nil
	}, nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", area, err)
	}
	return nil
}

// migrateLocked brings about the schema named version, unless it is
// recorded already, and records it: autoMigrate creates and alters tables,
// then inTx does what must share the recording's transaction. always runs
// on every start, recorded or not (idempotent fixes of data).
//
// On PostgreSQL, several servers may start at once against one database:
// each migration is one transaction that first takes an advisory lock, so
// one server migrates while the others wait, and they then find the
// version recorded and change nothing. A server that restarts beside
// others that serve takes no table lock either: re-running the statements
// would (a trigger is dropped and created again under an exclusive lock),
// making every request wait for it, and could deadlock with one. The lock
// is keyed by the schema in use, so servers (and tests) in other schemas
// of the same database do not wait for it. Areas' migrations take the same
// lock: their tables refer to the core's, and creating them beside another
// server's migration of the core deadlocked.
//
// SQLite has one server process. Its tables are migrated outside a
// transaction, because GORM alters an SQLite column by copying the table
// in a transaction of its own, which cannot nest inside the writer's.
func (s *Store) migrateLocked(ctx context.Context, version string, autoMigrate func(db *gorm.DB) error, inTx, always func(tx *gorm.DB) error) error {
	record := func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{DoNothing: true}).
			Create(&SchemaMigration{Version: version, AppliedAt: s.Now()}).Error
	}
	apply := func(tx *gorm.DB, migrated bool) error {
		if !migrated && inTx != nil {
			if err := inTx(tx); err != nil {
				return err
			}
		}
		if always != nil {
			if err := always(tx); err != nil {
				return err
			}
		}
		if migrated {
			return nil
		}
		return record(tx)
	}
	if s.Dialect == "postgres" {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", migrationLock).Error; err != nil {
				return fmt.Errorf("lock for migration: %w", err)
			}
			migrated, err := schemaRecorded(tx, version)
			if err != nil {
				return err
			}
			if !migrated {
				if err := autoMigrate(tx); err != nil {
					return err
				}
			}
			return apply(tx, migrated)
		})
	}
	migrated, err := schemaRecorded(s.db.WithContext(ctx), version)
	if err != nil {
		return err
	}
	if !migrated {
		if err := autoMigrate(s.db.WithContext(ctx)); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *gorm.DB) error { return apply(tx, migrated) })
}

// schemaRecorded tells whether the schema named version was brought about.
func schemaRecorded(db *gorm.DB, version string) (bool, error) {
	if !db.Migrator().HasTable(&SchemaMigration{}) {
		return false, nil
	}
	var n int64
	if err := db.Model(&SchemaMigration{}).Where("version = ?", version).Count(&n).Error; err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	return n > 0, nil
}

// schemaVersion is a fingerprint of the schema this program migrates to:
// the Go definitions of its tables (names, types and tags, which is what
// AutoMigrate reads) and the dialect's own statements. Any change to
// either gives a new version, with nothing to remember to raise.
func schemaVersion(dialect string) string {
	h := sha256.New()
	writeModels(h, schemaModels())
	ddl := slices.Concat(sqliteCompanyVersions, sqliteListSchema)
	if dialect == "postgres" {
		ddl = slices.Concat(postgresCompanyVersions, postgresListSchema)
	}
	ddl = slices.Concat(ddl, memberVersionsDDL(dialect))
	for _, stmt := range ddl {
		fmt.Fprintln(h, stmt)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeModels writes what AutoMigrate reads of each model (names, types
// and tags of its fields) to w.
func writeModels(w io.Writer, models []any) {
	for _, m := range models {
		t := reflect.TypeOf(m).Elem()
		fmt.Fprintf(w, "%s{", t.Name())
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(w, "%s %s %q;", f.Name, f.Type, f.Tag)
		}
		fmt.Fprint(w, "}\n")
	}
}

// Ready reports whether the server can serve: the database answers and
// holds the schema this program migrated to (a database swapped or
// restored underneath a running server may not).
func (s *Store) Ready(ctx context.Context) error {
	if err := s.Ping(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var n int64
	if err := s.db.WithContext(ctx).Model(&SchemaMigration{}).Where("version = ?", s.schemaVersion).Count(&n).Error; err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("the database does not hold schema version %.12s of this program", s.schemaVersion)
	}
	return nil
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
			<-s.eraserDone
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
