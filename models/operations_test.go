package models_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// Several servers starting at once on a fresh PostgreSQL schema: one
// migrates, the others wait for it, and all of them open. (SQLite has one
// server process per file.)
func TestOpen_ConcurrentMigrations(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		if dialect != "postgres" {
			continue
		}
		t.Run(dialect, func(t *testing.T) {
			dsn := modelstest.DSN(t, dialect)
			const servers = 5
			var wg sync.WaitGroup
			stores := make([]*models.Store, servers)
			errs := make([]error, servers)
			for i := range servers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					stores[i], errs[i] = models.Open(context.Background(), dsn)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("server %d: %v", i, err)
				} else {
					defer stores[i].Close()
				}
			}
			for i, s := range stores {
				if s == nil {
					continue
				}
				if err := s.Ready(context.Background()); err != nil {
					t.Errorf("server %d is not ready: %v", i, err)
				}
			}
			if stores[0] != nil {
				var n int64
				stores[0].DB().Model(&models.SchemaMigration{}).Count(&n)
				if n != 1 {
					t.Errorf("%d schema versions recorded, want 1", n)
				}
			}
		})
	}
}

// A server that restarts beside others that serve finds the schema it
// migrates to already there, and changes nothing: it neither waits for
// their transactions nor makes them wait (re-running the schema's
// statements took table locks that did both, and could deadlock with a
// request under way).
func TestOpen_RestartLeavesServingTablesAlone(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		if dialect != "postgres" {
			continue
		}
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := modelstest.DSN(t, dialect)
			first, err := models.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			// A request under way on the first server: a transaction
			// that has read the tables the schema's statements touch.
			tx := first.DB().Begin()
			defer tx.Rollback()
			for _, table := range []string{"accounts", "companies", "memberships", "assignments", "tokens", "outbox_messages", "sessions"} {
				if err := tx.Exec("SELECT 1 FROM " + table + " LIMIT 1").Error; err != nil {
					t.Fatal(err)
				}
			}
			openCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			start := time.Now()
			second, err := models.Open(openCtx, dsn)
			if err != nil {
				t.Fatalf("a second server starting beside a transaction under way: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
			}
			second.Close()
		})
	}
}

func TestReady_DatabaseAndSchema(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			s := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			if err := s.Ready(ctx); err != nil {
				t.Fatalf("a fresh store is not ready: %v", err)
			}
			// A database whose schema is not this program's (restored
			// from an older backup under a running server, say).
			if err := s.DB().Exec("DELETE FROM schema_migrations").Error; err != nil {
				t.Fatal(err)
			}
			if err := s.Ready(ctx); err == nil {
				t.Error("ready without this program's schema version")
			}
			s.Close()
			if err := s.Ready(ctx); err == nil {
				t.Error("ready with the database closed")
			}
		})
	}
}

// What the clean-up tasks delete, and what they must keep.
func TestPrune_DeletesOnlyWhatIsDone(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			s.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			ctx := context.Background()
			v := adminViewer(t, s) // its setup link is used now
			m := &v.Membership
			idle, err := s.StartSession(ctx, m, "", "")
			if err != nil {
				t.Fatal(err)
			}
			// Two invitees: one invited once, one whose first link was
			// replaced by a resend.
			var invitees []*models.Membership
			for _, email := range []string{"pending@example.com", "resent@example.com"} {
				p, _, err := s.CreateMember(ctx, v, models.Draft{Key: models.NewDraftKey(), Type: models.Admin,
					FirstName: "Pen", LastName: "Ding", Email: email}, "")
				if err != nil {
					t.Fatal(err)
				}
				invitees = append(invitees, p)
			}
			clock.Advance(10 * time.Minute)
			if _, err := s.ResendInvitation(ctx, v, invitees[1].ID, ""); err != nil {
				t.Fatal(err)
			}
			if err := s.RequestPasswordReset(ctx, m.Email, ""); err != nil {
				t.Fatal(err)
			}
			var emails []models.OutboxMessage
			s.DB().Order("id").Find(&emails)
			sent := emails[0]
			if err := s.MarkEmailSent(ctx, sent.ID); err != nil {
				t.Fatal(err)
			}
			jobs := enqueueJobs(t, s, "export", 2)
			if err := s.CompleteJob(ctx, jobs[0]); err != nil {
				t.Fatal(err)
			}

			clock.Advance(3 * time.Hour)
			fresh, err := s.StartSession(ctx, m, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if n, err := s.PruneSessions(ctx); err != nil || n != 1 {
				t.Fatalf("pruned %d sessions (%v), want the idle one", n, err)
			}
			if _, err := s.LoadViewer(ctx, fresh); err != nil {
				t.Errorf("the fresh session was pruned: %v", err)
			}
			if _, err := s.LoadViewer(ctx, idle); err == nil {
				t.Error("the idle session still works")
			}

			// Within the retentions nothing else goes.
			for name, prune := range map[string]func(context.Context) (int64, error){
				"tokens": s.PruneTokens, "sent emails": s.PruneSentEmails, "jobs": s.PruneJobs,
			} {
				if n, err := prune(ctx); err != nil || n != 0 {
					t.Errorf("pruned %d %s within the retention (%v)", n, name, err)
				}
			}

			clock.Advance(models.TokenRetention)
			var before []models.Token
			s.DB().Order("id").Find(&before)
			if n, err := s.PruneTokens(ctx); err != nil || n != 3 {
				t.Errorf("pruned %d tokens (%v), want 3: the used setup link, the replaced invitation, the expired reset", n, err)
			}
			var left []models.Token
			s.DB().Order("id").Find(&left)
			if len(left) != 2 {
				t.Fatalf("%d tokens left of %d, want the two current invitations", len(left), len(before))
			}
			for _, tok := range left {
				if tok.Purpose != models.PurposeInvitation || tok.UsedAt != nil || tok.RevokedAt != nil {
					t.Errorf("kept %+v", tok)
				}
			}
			// The users list still says the invitations expired.
			page, err := s.FindUsers(ctx, v, models.UserFilter{})
			if err != nil {
				t.Fatal(err)
			}
			expired := 0
			for _, r := range page.Rows {
				if r.Invitation != nil && r.Invitation.Expired {
					expired++
				}
			}
			if expired != 2 {
				t.Errorf("the list shows %d expired invitations, want 2", expired)
			}

			if n, err := s.PruneSentEmails(ctx); err != nil || n != 1 {
				t.Errorf("pruned %d sent emails (%v), want 1", n, err)
			}
			if n := countOutbox(t, s); n != int64(len(emails)-1) {
				t.Errorf("%d emails left, want the %d unsent", n, len(emails)-1)
			}
			clock.Advance(models.FinishedJobRetention)
			if n, err := s.PruneJobs(ctx); err != nil || n != 1 {
				t.Errorf("pruned %d jobs (%v), want the finished one", n, err)
			}
			if _, err := s.FindJob(ctx, "export", "1"); err != nil {
				t.Errorf("the queued job was pruned: %v", err)
			}
		})
	}
}

// A backup taken while the server writes is a working database holding
// everything written before it started.
func TestBackup_WhileWriting(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "live.db")
	s, err := models.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	enqueueJobs(t, s, "before", 50)

	stop := make(chan struct{})
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, _, err := s.EnqueueJob(ctx, models.NewJob{Kind: "during", Key: fmt.Sprint(i)}); err != nil {
				done <- err
				return
			}
			written.Add(1)
		}
	}()
	for written.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	dest := filepath.Join(dir, "backup.db")
	size, err := models.Backup(ctx, dsn, dest)
	for written.Load() < 40 { // writes go on after the backup
		time.Sleep(time.Millisecond)
	}
	close(stop)
	if werr := <-done; werr != nil {
		t.Fatalf("writing during the backup: %v", werr)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if st, err := os.Stat(dest); err != nil || st.Size() != size || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want %d bytes, mode 0600", st, err, size)
	}
	b, err := models.Open(ctx, dest)
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer b.Close()
	var before, during int64
	b.DB().Model(&models.Job{}).Where("kind = ?", "before").Count(&before)
	b.DB().Model(&models.Job{}).Where("kind = ?", "during").Count(&during)
	if before != 50 || during < 20 || during >= written.Load() {
		t.Errorf("the backup holds %d jobs from before and %d written during it (%d in all); want 50, at least 20 and fewer than all",
			before, during, written.Load())
	}
	if _, err := models.Backup(ctx, dsn, dest); err == nil {
		t.Error("a backup overwrote an existing file")
	}
	if _, err := models.Backup(ctx, filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")); err == nil {
		t.Error("a backup of a missing database succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !os.IsNotExist(err) {
		t.Error("backing up a missing database created it")
	}
	if _, err := models.Backup(ctx, "postgres://localhost/x", filepath.Join(dir, "pg.db")); err == nil {
		t.Error("backup accepted PostgreSQL")
	}
}
