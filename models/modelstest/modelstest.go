// Package modelstest opens real databases for tests: an SQLite file in a
// temporary folder, and PostgreSQL when SWITCHBOARD_TEST_POSTGRES_URL names
// a server. With CI=true a missing PostgreSQL fails the test instead of
// skipping it.
package modelstest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver used to create and drop test schemas

	"switchboard/models"
)

// PostgresEnv names the variable holding a postgres:// URL for tests.
const PostgresEnv = "SWITCHBOARD_TEST_POSTGRES_URL"

// Clock is a settable clock for tests of expiry and throttling.
type Clock struct{ t time.Time }

// NewClock starts a clock at a fixed, realistic instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// Open returns a store on a fresh SQLite file that is removed after the test.
func Open(t testing.TB, opts ...models.Option) *models.Store {
	t.Helper()
	return OpenDialect(t, "sqlite", opts...)
}

// Dialects lists the databases a portable test should run against.
func Dialects(t testing.TB) []string {
	t.Helper()
	if os.Getenv(PostgresEnv) != "" {
		return []string{"sqlite", "postgres"}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: the PostgreSQL tests cannot run", PostgresEnv)
	}
	return []string{"sqlite"}
}

// OpenDialect returns a store on a fresh database of the given dialect.
func OpenDialect(t testing.TB, dialect string, opts ...models.Option) *models.Store {
	t.Helper()
	return OpenServers(t, dialect, 1, opts...)[0]
}

// OpenServers returns n stores on one fresh database, as n servers sharing
// it would have: what one caches, another may change.
func OpenServers(t testing.TB, dialect string, n int, opts ...models.Option) []*models.Store {
	t.Helper()
	ctx := context.Background()
	dsn := NewDatabase(t, dialect)
	stores := make([]*models.Store, n)
	for i := range stores {
		s, err := models.Open(ctx, dsn, opts...)
		if err != nil {
			t.Fatalf("open %s store: %v", dialect, err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	return stores
}

// NewDatabase names a fresh, empty database of the given dialect, removed
// after the test, for tests that open and close stores on it themselves
// (a restart).
func NewDatabase(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case "sqlite":
		return filepath.Join(t.TempDir(), "test.db")
	case "postgres":
		return postgresSchema(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// postgresSchema creates a schema of its own for one test, so tests can run
// in parallel against one server, and drops it afterwards.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set", PostgresEnv)
		}
		t.Skipf("%s is not set", PostgresEnv)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
