package web

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_WizardInvitationJourney carries journeys 4 and 5: an Admin
// creates a Reporting user through the wizard, the invitation is delivered
// as an .eml file, and the invitee sets a password through its link and sees
// only their companies. A Notification user's wizard ends at companies.
func TestBrowser_WizardInvitationJourney(t *testing.T) {
	ctx := newChrome(t)
	mailDir := t.TempDir()
	ts := newTestServer(t, withMailDir(mailDir))
	ts.setupAccount("ada@example.com")
	ts.addCompany("Hidden Roofing")
	plumbing := ts.companyID("Acme Plumbing")

	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", "ada@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	waitFor(t, ctx, `[data-testid="create-user"]`)
	submit(t, ctx, `[data-testid="create-user"]`)

	// Type → Info → Companies → Message.
	click(t, ctx, `[data-testid="type-reporting"]`)
	screenshot(t, ctx, "wizard-type")
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="type-explained"] p`); !strings.Contains(got, "Adding a Reporting user") {
		t.Errorf("info step explains %q", got)
	}
	screenshot(t, ctx, "wizard-info")
	fill(t, ctx, "first_name", "Rita")
	fill(t, ctx, "last_name", "Reports")
	fill(t, ctx, "email", "rita@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)
	tick(t, ctx, `input[name="company"][value="`+plumbing+`"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	step(t, ctx, "type a message", chromedp.SendKeys(chromedp.ID("f-message"), "Welcome to the team!"))
	if got := textOf(t, ctx, `[data-testid="summary"]`); !strings.Contains(got, "rita@example.com") || !strings.Contains(got, "Acme Plumbing") {
		t.Errorf("summary = %q", got)
	}
	screenshot(t, ctx, "wizard-message")
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="created"]`); !strings.Contains(got, "Rita Reports was added as a Reporting user") {
		t.Fatalf("created page: %q", got)
	}

	// A Notification user's wizard ends at the companies step.
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-notification"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	fill(t, ctx, "first_name", "Nora")
	fill(t, ctx, "last_name", "Notes")
	fill(t, ctx, "email", "nora@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)
	tick(t, ctx, `input[name="company"][value="`+plumbing+`"]`)
	if got := textOf(t, ctx, `.wizard-actions .button-primary`); got != "Create user" {
		t.Errorf("Notification companies step button = %q", got)
	}
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="created"]`); !strings.Contains(got, "Nora Notes was added as a Notification user") {
		t.Fatalf("created page: %q", got)
	}
	submit(t, ctx, `header form[action="/logout"] button`)

	// The worker delivers the invitation; the link is read from the .eml.
	if sent, failed, err := ts.app.Delivery.RunOnce(context.Background()); err != nil || failed != 0 || sent != 2 {
		t.Fatalf("delivery: sent %d failed %d err %v", sent, failed, err)
	}
	link := invitationLinkFromMailDir(t, mailDir, "rita@example.com")
	if !strings.HasPrefix(link, ts.base.String()+"/invite/") {
		t.Fatalf("link %q is not on the configured base", link)
	}
	visit(t, ctx, ts, strings.TrimPrefix(link, ts.base.String()))
	if got := textOf(t, ctx, `[data-testid="invitation-lede"]`); got != "Ada Admin invited you to Acme Calls on Switchboard." {
		t.Errorf("invitation page: %q", got)
	}
	fill(t, ctx, "password", strongPassword)
	fill(t, ctx, "confirm", strongPassword)
	submit(t, ctx, `form button.button-primary`)
	waitFor(t, ctx, `[data-testid="my-companies"]`)
	if got := textOf(t, ctx, `[data-testid="my-companies"]`); !strings.Contains(got, "Acme Plumbing") || strings.Contains(got, "Hidden Roofing") {
		t.Errorf("Rita sees companies %q", got)
	}
	// The name is in the header's title below 1440 pixels.
	if got := stepValue(t, ctx, "who is signed in", chromedp.Evaluate[string](`document.querySelector('[data-testid="whoami"]').textContent.trim()`)); got != "Rita Reports" {
		t.Errorf("signed in as %q", got)
	}

	// She logs out and in again with her own password.
	submit(t, ctx, `header form[action="/logout"] button`)
	fill(t, ctx, "email", "rita@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	waitFor(t, ctx, `[data-testid="my-companies"]`)
}

// invitationLinkFromMailDir finds the email to addr among the .eml files and
// returns the set-password link from its text part.
func invitationLinkFromMailDir(t *testing.T, dir, addr string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, f := range files {
		raw, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(raw)
		if err != nil {
			raw.Close()
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(msg.Header.Get("To"), addr) {
			raw.Close()
			continue
		}
		text := textPart(t, msg)
		raw.Close()
		if m := inviteLink.FindString(text); m != "" {
			return m
		}
		t.Fatalf("email to %s has no link:\n%s", addr, text)
	}
	t.Fatalf("no email to %s in %s (%d files)", addr, dir, len(files))
	return ""
}

func textPart(t *testing.T, msg *mail.Message) string {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		b, _ := io.ReadAll(msg.Body)
		return string(b)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(p) // multipart decodes quoted-printable
			return string(b)
		}
	}
}
