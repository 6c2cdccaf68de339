package models_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// The other secrets the console hands out (the first-start setup link, the
// set-password link bootstrap prints, session secrets) are stored only as
// hashes: none is anywhere in the database's files, log included.
func TestSecrets_OnlyHashesReachTheDatabaseFiles(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	setup, err := store.IssueSetupLink(ctx)
	if err != nil || setup == "" {
		t.Fatalf("setup link: %q %v", setup, err)
	}
	invite, err := store.Bootstrap(ctx, models.AccountInput{AccountName: "Acme", Email: "ada@example.com", FirstName: "Ada", LastName: "Admin"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.AcceptInvitation(ctx, invite, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
	if err != nil {
		t.Fatal(err)
	}
	session, err := store.StartSession(ctx, m, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	files := modelstest.SQLiteFiles(t, store)
	if len(files["test.db-wal"]) == 0 {
		t.Fatal("no write-ahead log to search")
	}
	for what, secret := range map[string]string{"setup link": setup, "bootstrap link": invite, "session": session} {
		if found := modelstest.SecretTraces(files, secret); len(found) > 0 {
			t.Errorf("the %s is stored as it was handed out: %v", what, found)
		}
	}
}

// Every SQLite connection zeroes what it deletes: the writer's (checked at
// open) and the readers' alike.
func TestSQLite_SecureDeleteOnEveryConnection(t *testing.T) {
	store := modelstest.Open(t)
	var on int
	if err := store.DB().Raw("PRAGMA secure_delete").Row().Scan(&on); err != nil || on != 1 {
		t.Fatalf("a reading connection has secure_delete = %d (%v), want 1", on, err)
	}
	err := store.Tx(context.Background(), func(tx *gorm.DB) error {
		return tx.Raw("PRAGMA secure_delete").Row().Scan(&on)
	})
	if err != nil || on != 1 {
		t.Fatalf("the writer has secure_delete = %d (%v), want 1", on, err)
	}
}

// A reader holding an old snapshot cannot keep a removed secret in the log
// for good: the writer's attempt fails under it, and the log is emptied
// once the reader lets go.
func TestSecrets_ErasedOnceALongReaderLetsGo(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	const secret = "Qm9vdHN0cmFwLWxpbmstdGhhdC1tdXN0LWdvLWF3YXk"
	msg := models.OutboxMessage{Kind: "invitation", ToAddress: "rita@example.com", ToName: "Rita", Subject: "Join Acme",
		TextBody: "Set your password: https://switchboard.example/invite/" + secret,
		HTMLBody: `<a href="https://switchboard.example/invite/` + secret + `">Set your password</a>`}
	must(t, store.EnqueueEmail(ctx, &msg))

	other := secondConnection(t, store)
	reader, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	must(t, err)
	var n int
	must(t, reader.QueryRow("SELECT COUNT(*) FROM outbox_messages").Scan(&n)) // its snapshot starts here

	must(t, store.MarkEmailSent(ctx, msg.ID))
	// The writer tries once it is idle and gives up after eraseBusyTimeout;
	// the reader holds on for longer than both, so that the try happens
	// under it.
	time.Sleep(600 * time.Millisecond)
	if len(modelstest.SecretTraces(modelstest.SQLiteFiles(t, store), secret)) == 0 {
		t.Fatal("the log was emptied under a reader of an older snapshot: the test shows nothing")
	}
	must(t, reader.Rollback())
	deadline := time.Now().Add(30 * time.Second)
	for len(modelstest.SecretTraces(modelstest.SQLiteFiles(t, store), secret)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the link is still in the files after the reader let go: %v",
				modelstest.SecretTraces(modelstest.SQLiteFiles(t, store), secret))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Under steady reading SQLite never starts its log again from the
// beginning by itself: a reader is always using it. The writer empties a
// log that has grown past its bound, so writing 10 MB under two readers
// of the console's own pool that take turns (as requests do) leaves a log
// of about that bound, not of 10 MB. The readers' turns overlap, so that
// SQLite's checkpoint alone would now and then wait in vain for a
// reader's slot (emptyLogAlone).
func TestSQLite_LogKeptShortUnderSteadyReading(t *testing.T) {
	defer models.SetMaxLogBytes(1 << 20)()
	store := modelstest.Open(t)
	ctx := context.Background()
	pool, err := store.DB().DB()
	must(t, err)
	path := databasePath(t, store)
	stop := make(chan struct{})
	done := make(chan error, 2)
	for i := range 2 {
		go func() {
			time.Sleep(time.Duration(i) * 2 * time.Millisecond) // staggered: one is always reading
			for {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				// A statement holds its snapshot from its first row until
				// it is closed, as a page being read does.
				rows, err := pool.QueryContext(ctx, "SELECT COUNT(*) FROM outbox_messages UNION ALL SELECT COUNT(*) FROM memberships")
				if err != nil {
					done <- err
					return
				}
				rows.Next()
				time.Sleep(4 * time.Millisecond)
				if err := errors.Join(rows.Err(), rows.Close()); err != nil {
					done <- err
					return
				}
			}
		}()
	}
	body := strings.Repeat("A long enough body to fill the log. ", 1400) // about 50 KB
	for i := range 200 {
		must(t, store.EnqueueEmail(ctx, &models.OutboxMessage{Kind: "notice", ToAddress: fmt.Sprintf("p%d@example.com", i),
			Subject: "Notice", TextBody: body, HTMLBody: body}))
	}
	time.Sleep(300 * time.Millisecond) // the eraser's last round
	close(stop)
	for range 2 {
		must(t, <-done)
	}
	fi, err := os.Stat(path + "-wal")
	must(t, err)
	if fi.Size() > 4<<20 {
		t.Fatalf("after writing 10 MB under steady reading the log is %.1f MB, bound 1 MB", float64(fi.Size())/(1<<20))
	}
}

// secondConnection opens the store's SQLite file apart from the store, as
// another process reading it would.
func secondConnection(t *testing.T, store *models.Store) *sql.DB {
	t.Helper()
	other, err := sql.Open("sqlite3", "file:"+databasePath(t, store))
	must(t, err)
	t.Cleanup(func() { other.Close() })
	return other
}

// databasePath is the store's SQLite file.
func databasePath(t *testing.T, store *models.Store) string {
	t.Helper()
	var seq int
	var name, path string
	must(t, store.DB().Raw("PRAGMA database_list").Row().Scan(&seq, &name, &path))
	return path
}
