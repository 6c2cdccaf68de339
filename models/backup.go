package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"gorm.io/driver/sqlite"
)

// Backup copies the SQLite database named by dsn to a new file dest, and
// returns the copy's size. It is safe while servers use the database:
// VACUUM INTO reads one consistent snapshot in a read transaction, which
// in WAL mode neither waits for the writer nor holds it up, and writes
// only live rows (nothing deleted lingers in the copy). The copy is
// checked before Backup returns. dest must not exist: an old backup is
// never overwritten. It is created readable by its owner only, since it
// holds password hashes.
//
// PostgreSQL is backed up with its own tools (pg_dump); see the README.
func Backup(ctx context.Context, dsn, dest string) (int64, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return 0, errors.New("backup copies SQLite databases; back up PostgreSQL with pg_dump (see the README)")
	}
	path, full := sqliteDSN(dsn)
	if _, err := os.Stat(path); err != nil {
		return 0, fmt.Errorf("backup: the database %s: %w", path, err)
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	f.Close()
	size, err := vacuumInto(ctx, full, dest)
	if err != nil {
		os.Remove(dest)
		return 0, fmt.Errorf("backup to %s: %w", dest, err)
	}
	return size, nil
}

func vacuumInto(ctx context.Context, src, dest string) (int64, error) {
	db, err := sql.Open(sqlite.DriverName, src)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return 0, err
	}
	copyDB, err := sql.Open(sqlite.DriverName, "file:"+(&url.URL{Path: dest}).EscapedPath()+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&check); err != nil {
		return 0, fmt.Errorf("check the copy: %w", err)
	}
	if check != "ok" {
		return 0, fmt.Errorf("check the copy: %s", check)
	}
	st, err := os.Stat(dest)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
