package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// One-time links survive neither in the database file nor in its log once
// the email that carried them is delivered (issue 11, item 9), nor once an
// unsent one is cancelled, and the delivered links still work. The emails
// go through the real worker and the .eml transport; the files are read as
// the server left them, then again after the kind of checkpoint SQLite runs
// on its own.
func TestSecrets_DeliveredLinksLeaveNoTraceInTheDatabaseFiles(t *testing.T) {
	mailDir := t.TempDir()
	ts := newTestServer(t, func(c *Config) {
		c.Mailer = &FileMailer{Dir: mailDir, Log: slog.New(slog.DiscardHandler), From: testFrom}
	})
	admin := ts.setupAccount("ada@example.com")
	ctx := context.Background()
	adminV := ts.viewerFor("ada@example.com", "Acme Calls")
	plumbing := ts.companyID("Acme Plumbing")
	deliver := func() {
		t.Helper()
		if sent, failed, err := ts.app.Delivery.RunOnce(ctx); err != nil || failed != 0 || sent == 0 {
			t.Fatalf("delivery: sent %d, failed %d, err %v", sent, failed, err)
		}
	}
	var company uint
	fmt.Sscan(plumbing, &company)

	// An invitation, and a password reset for someone with a login.
	d := models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, FirstName: "Rita", LastName: "Test",
		Email: "rita@example.com", CompanyIDs: []uint{company}}
	if _, _, err := ts.store.CreateMember(ctx, adminV, d, ""); err != nil {
		t.Fatal(err)
	}
	_, invitation := ts.lastInvitation("rita@example.com")
	anon := ts.browser()
	anon.get("/password/forgot")
	wantStatus(t, anon.post("/password/forgot", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
	reset := ts.lastReset("ada@example.com")
	secrets := map[string]string{"invitation": invitation, "password reset": reset}

	// The search sees them while the emails wait: the outbox must hold them.
	files := modelstest.SQLiteFiles(t, ts.store)
	for what, secret := range secrets {
		if len(modelstest.SecretTraces(files, secret)) == 0 {
			t.Fatalf("the %s link is not in the files before delivery: the search cannot see it", what)
		}
	}

	deliver()
	// The emails, as written, carry the links (quoted-printable may fold
	// them across lines; decoded, they are whole).
	emls, err := filepath.Glob(filepath.Join(mailDir, "*.eml"))
	if err != nil || len(emls) < 2 {
		t.Fatalf("mail folder: %v, %v", emls, err)
	}
	var delivered strings.Builder
	raw := map[string][]byte{}
	for _, name := range emls {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		raw[filepath.Base(name)] = b
		e := parseEmail(t, b)
		delivered.WriteString(e.Text + e.HTML)
	}
	for what, secret := range secrets {
		if !strings.Contains(delivered.String(), secret) {
			t.Fatalf("no delivered email holds the %s link", what)
		}
		// A base64url secret needs no escaping in a URL nor in
		// quoted-printable, so the forms an email holds are the secret
		// itself, perhaps folded across lines: the search finds them in
		// the raw messages, so it would in the database files.
		if url.PathEscape(secret) != secret || len(modelstest.SecretTraces(raw, secret)) == 0 {
			t.Fatalf("the search does not find the %s link in the raw .eml files", what)
		}
	}

	// The writer erases at once when idle, as here, and otherwise within a
	// fraction of a second (erase.go): wait for that, not for a fixed time.
	noTrace := func(when string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			files := modelstest.SQLiteFiles(t, ts.store)
			var found []string
			for what, secret := range secrets {
				if traces := modelstest.SecretTraces(files, secret); len(traces) > 0 {
					found = append(found, fmt.Sprintf("the %s link: %v", what, traces))
				}
			}
			if len(found) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s, secrets are still in the files: %v", when, found)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	noTrace("after delivery")
	// Read to the end: an Exec would leave the pooled statement holding
	// its connection's snapshot (see emptyLog).
	var busy, frames, done int
	if err := ts.store.DB().Raw("PRAGMA wal_checkpoint(PASSIVE)").Row().Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	noTrace("after a checkpoint")

	// An invitation cancelled before it was sent (its person deleted) goes
	// from the files too.
	d = models.Draft{Key: models.NewDraftKey(), Type: models.Manager, FirstName: "Max", LastName: "Test",
		Email: "max@example.com", CompanyIDs: []uint{company}}
	max, _, err := ts.store.CreateMember(ctx, adminV, d, "")
	if err != nil {
		t.Fatal(err)
	}
	_, cancelled := ts.lastInvitation("max@example.com")
	if len(modelstest.SecretTraces(modelstest.SQLiteFiles(t, ts.store), cancelled)) == 0 {
		t.Fatal("the unsent invitation is not in the files")
	}
	admin.get(userPath(max.ID, "/delete"))
	wantStatus(t, admin.post(userPath(max.ID, "/delete"), nil), http.StatusSeeOther)
	secrets = map[string]string{"invitation": invitation, "password reset": reset, "cancelled invitation": cancelled}
	noTrace("after the invitee was deleted")

	// The delivered links still work.
	rita := ts.browser()
	wantStatus(t, rita.get("/invite/"+invitation), http.StatusOK)
	wantStatus(t, rita.post("/invite/"+invitation, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusSeeOther)
	wantStatus(t, ts.browser().get("/password/reset/"+reset), http.StatusOK)
}
