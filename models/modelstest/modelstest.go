// Package modelstest opens real databases for tests: an SQLite file in a
// temporary folder, and PostgreSQL when SWITCHBOARD_TEST_POSTGRES_URL names
// a server. With CI=true a missing PostgreSQL fails the test instead of
// skipping it.
package modelstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
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
	dsn := DSN(t, dialect)
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

// DSN names a fresh, empty database of the given dialect, removed after
// the test: an SQLite file in a temporary folder, or a PostgreSQL schema
// of its own.
func DSN(t testing.TB, dialect string) string {
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

// PostgresURL returns a postgres:// URL naming a fresh, empty schema of
// its own, dropped after the test, for tests that open the database
// themselves (the command-line tests). It skips or fails like Dialects
// when no server is configured.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return DSN(t, "postgres")
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

// SQLiteFiles reads the raw bytes of a store's SQLite database file and of
// its write-ahead log and shared-memory index, when they exist, by file
// name. It reads them as they are: no checkpoint is run.
func SQLiteFiles(t testing.TB, s *models.Store) map[string][]byte {
	t.Helper()
	var seq int
	var name, path string
	if err := s.DB().Raw("PRAGMA database_list").Row().Scan(&seq, &name, &path); err != nil || path == "" {
		t.Fatalf("database file of the store: %q %v", path, err)
	}
	files := map[string][]byte{}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		files[filepath.Base(p)] = b
	}
	return files
}

// SecretTraces says where in files any part of secret can be read: any run
// of 12 of its characters, so that a secret split by a quoted-printable
// line break or cut at a page's edge is still found, while a chance match
// of 72 random bits is not. Empty means no trace.
func SecretTraces(files map[string][]byte, secret string) []string {
	const window = 12
	var found []string
	for name, b := range files {
		for i := 0; i+window <= len(secret); i++ {
			if n := bytes.Count(b, []byte(secret[i:i+window])); n > 0 {
				found = append(found, fmt.Sprintf("%s holds %q (%d times)", name, secret[i:i+window], n))
				break
			}
		}
	}
	return found
}
