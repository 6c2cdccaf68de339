package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_ImportPhoneWagonTeam carries journey 14: an Admin uploads a
// PhoneWagon export with a Campaign Monitor, accepts the company offered
// for the Campaign Monitor's numbers, imports; the Campaign Monitor opens
// the invitation .eml, sets a password and sees only that company.
func TestBrowser_ImportPhoneWagonTeam(t *testing.T) {
	ctx := newChrome(t)
	mailDir := t.TempDir()
	ts := newTestServer(t, withMailDir(mailDir))
	ts.setupAccount("ada@example.com")
	file := filepath.Join(t.TempDir(), "phonewagon-users.csv")
	export := "First Name,Last Name,Email Address,Role,Company\r\n" +
		"Cara,Manager,cara@example.com,Company Manager,Acme Plumbing\r\n" +
		"Cam,Monitor,cam@example.com,Campaign Monitor,Acme Plumbing\r\n"
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}

	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", "ada@example.com")
	fill(t, ctx, "password", strongPassword)
	submit(t, ctx, `form[action^="/login"] button[type="submit"]`)
	visit(t, ctx, ts, "/users/import")
	step(t, ctx, "choose the file", chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{file}))
	submit(t, ctx, `[data-testid="upload"]`)
	if got := textOf(t, ctx, `[data-testid="roles"]`); !strings.Contains(got, "campaign monitor") {
		t.Fatalf("role table: %q", got)
	}
	screenshot(t, ctx, "import-preview")
	if got := textOf(t, ctx, `[data-testid="campaign-monitors"]`); !strings.Contains(got, "Create a company for Cam Monitor’s numbers") {
		t.Fatalf("offer: %q", got)
	}
	click(t, ctx, `[data-testid="campaign-monitors"] input[type="checkbox"]`)
	submit(t, ctx, `[data-testid="update-preview"]`)
	if got := textOf(t, ctx, `[data-testid="rows"]`); !strings.Contains(got, "Cam Monitor's numbers") {
		t.Fatalf("preview after accepting: %q", got)
	}
	step(t, ctx, "type a message", chromedp.SendKeys(chromedp.ID("f-message"), "Welcome from PhoneWagon"))
	submit(t, ctx, `[data-testid="start-import"]`)
	waitFor(t, ctx, `[data-testid="import-progress"]`)
	if ran, err := ts.app.Jobs.RunOne(context.Background()); !ran || err != nil {
		t.Fatalf("import job: %v %v", ran, err)
	}
	// The progress page reloads itself until the import is done.
	waitFor(t, ctx, `[data-testid="import-results"]`)
	if got := textOf(t, ctx, `[data-testid="outcome-invited"]`); got != "Invited: 2" {
		t.Fatalf("results: %q", got)
	}
	screenshot(t, ctx, "import-results")
	submit(t, ctx, `header form[action="/logout"] button`)

	if sent, failed, err := ts.app.Delivery.RunOnce(context.Background()); err != nil || failed != 0 || sent < 2 {
		t.Fatalf("delivery: sent %d failed %d err %v", sent, failed, err)
	}
	link := invitationLinkFromMailDir(t, mailDir, "cam@example.com")
	visit(t, ctx, ts, strings.TrimPrefix(link, ts.base.String()))
	fill(t, ctx, "password", strongPassword)
	fill(t, ctx, "confirm", strongPassword)
	submit(t, ctx, `form button.button-primary`)
	waitFor(t, ctx, `[data-testid="my-companies"]`)
	if got := textOf(t, ctx, `[data-testid="my-companies"]`); !strings.Contains(got, "Cam Monitor's numbers") || strings.Contains(got, "Acme Plumbing") {
		t.Errorf("Cam sees companies %q; want only their own", got)
	}
}
