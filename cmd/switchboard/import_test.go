package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// TestServe_ImportSurvivesAKill confirms an import of 10,000 people, lets
// the real program run it, kills the process (SIGKILL: no shutdown, no
// handing back) part-way, and starts it again: the import carries on where
// it stopped and everyone is invited exactly once, on both databases.
func TestServe_ImportSurvivesAKill(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			dsn := modelstest.DSN(t, dialect)
			ctx := context.Background()
			store, err := models.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			store.UseMail(views.Mailer{})
			r, err := store.BootstrapAccount(ctx, models.AccountInput{AccountName: "Acme", Email: "ada@example.com", FirstName: "Ada", LastName: "Admin"})
			if err != nil {
				t.Fatal(err)
			}
			m, err := store.AcceptInvitation(ctx, r.Secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
			if err != nil {
				t.Fatal(err)
			}
			acct, _ := store.FindAccount(ctx, m.AccountID)
			v := &models.Viewer{Membership: *m, Account: *acct}
			const n = models.MaxImportRows
			var file bytes.Buffer
			file.WriteString("First name,Last name,Email,Type,Companies\n")
			for i := range n {
				fmt.Fprintf(&file, "P%d,Person,p%d@example.com,Call Manager,Acme\n", i, i)
			}
			imp, err := store.CreateImport(ctx, v, "team.csv", file.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if err := store.StartImport(ctx, v, imp, ""); err != nil {
				t.Fatal(err)
			}
			done := func() (rows int64) {
				store.DB().Model(&models.ImportRow{}).Where("import_id = ? AND outcome <> ''", imp.ID).Count(&rows)
				return rows
			}
			serve := func() *exec.Cmd {
				cmd := exec.Command(os.Args[0], "serve", "--addr", freePort(t), "--db", dsn, "--mail-dir", filepath.Join(t.TempDir(), "mail"))
				cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1")
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
				return cmd
			}
			start := time.Now()
			first := serve()
			for deadline := time.Now().Add(5 * time.Minute); done() < n/4; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the import did not get a quarter through in 5 minutes (%d rows)", done())
				}
			}
			first.Process.Kill()
			first.Wait()
			killedAt := done()
			if killedAt >= n {
				t.Fatalf("the import finished before the kill (%d rows): the test proves nothing", killedAt)
			}
			// The killed worker's lease would run out after two minutes;
			// the test does not wait for it.
			store.DB().Exec("UPDATE jobs SET lease_until = ? WHERE kind = ?", time.Now().Add(-time.Second), models.ImportJobKind)

			serve()
			for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
				var now models.Import
				store.DB().Where("id = ?", imp.ID).Take(&now)
				if now.State == models.ImportDone {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the import did not finish after the restart (%d rows done)", done())
				}
			}
			var members, invitations, twice, failed int64
			db := store.DB()
			db.Model(&models.Membership{}).Where("account_id = ? AND email LIKE ?", acct.ID, "p%@example.com").Count(&members)
			db.Model(&models.OutboxMessage{}).Where("kind = ? AND to_address LIKE ?", "invitation", "p%@example.com").Count(&invitations)
			db.Raw(`SELECT COUNT(*) FROM (SELECT to_address FROM outbox_messages WHERE kind = 'invitation'
				GROUP BY to_address HAVING COUNT(*) > 1) x`).Scan(&twice)
			db.Model(&models.ImportRow{}).Where("import_id = ? AND outcome <> ?", imp.ID, models.OutcomeInvited).Count(&failed)
			if members != n || invitations != n || twice != 0 || failed != 0 {
				t.Fatalf("killed at %d rows; then %d members, %d invitations, %d invited twice, %d rows not invited; want %d, %d, 0, 0",
					killedAt, members, invitations, twice, failed, n, n)
			}
			t.Logf("killed after %d of %d rows; resumed and finished; %s in all", killedAt, n, time.Since(start).Round(time.Second))
		})
	}
}
