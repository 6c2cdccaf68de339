package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/models/calls"
	"switchboard/models/notify"
)

// emlMessage is an .eml file of the mail folder, read as a mail client
// would.
type emlMessage struct {
	file    string
	header  mail.Header
	text    string
	subject string
}

// emailsTo reads the .eml files to addr whose subject contains subject,
// oldest first.
func emailsTo(t *testing.T, dir, addr, subject string) []emlMessage {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	var out []emlMessage
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
		dec := new(mime.WordDecoder)
		subj, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
		if strings.Contains(msg.Header.Get("To"), addr) && strings.Contains(subj, subject) {
			out = append(out, emlMessage{file: f, header: msg.Header, text: textPart(t, msg), subject: subj})
		}
		raw.Close()
	}
	return out
}

// runScheduled ticks the scheduler at the test server's clock and runs
// every job that falls due, as a server's background workers would.
func runScheduled(t *testing.T, ts *testServer) {
	t.Helper()
	ctx := context.Background()
	if err := ts.app.Scheduler.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		ran, err := ts.app.Jobs.RunOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// TestBrowser_NotificationJourney carries journey 13 in a real browser:
// an Admin creates a Notification user for two companies with a daily
// summary (the companies step's default) and call alerts; a call
// arrives and its alert is delivered as an .eml; the next morning's
// summaries are delivered once each; the email's unsubscribe link,
// opened without logging in, stops that summary, and the Admin sees it on
// Edit User.
func TestBrowser_NotificationJourney(t *testing.T) {
	ctx := newChrome(t)
	mailDir := t.TempDir()
	ts := newTestServer(t, withTwilio("http://127.0.0.1:1"), func(c *Config) {
		c.Mailer = &FileMailer{Dir: mailDir, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), From: testFrom}
	})
	ts.setupAccount("ada@example.com") // Acme Plumbing, America/Chicago
	acme := ts.companyID("Acme Plumbing")
	bolt := ts.addCompany("Bolt Roofing") // UTC
	deliver := func() {
		t.Helper()
		if _, failed, err := ts.app.Delivery.RunOnce(context.Background()); err != nil || failed != 0 {
			t.Fatalf("delivery: %d failed, %v", failed, err)
		}
	}

	// The wizard: Notification → info → companies, where the daily
	// summary is already chosen; call alerts are added.
	browserLogin(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/users/new")
	click(t, ctx, `[data-testid="type-notification"]`)
	submit(t, ctx, `.wizard-actions .button-primary`)
	fill(t, ctx, "first_name", "Nora")
	fill(t, ctx, "last_name", "Notes")
	fill(t, ctx, "email", "nora@example.com")
	submit(t, ctx, `.wizard-actions .button-primary`)
	tick(t, ctx, `input[name="company"][value="`+acme+`"]`)
	tick(t, ctx, `input[name="company"][value="`+bolt+`"]`)
	if !stepValue(t, ctx, "read the daily default", chromedp.JavascriptAttribute[bool](chromedp.CSS(`[data-testid="receives-daily"]`), "checked")) {
		t.Error("the daily summary is not chosen by default")
	}
	choose(t, ctx, "receives-calls", "calls:all")
	screenshot(t, ctx, "notify-wizard-companies")
	submit(t, ctx, `.wizard-actions .button-primary`)
	if got := textOf(t, ctx, `[data-testid="created"]`); !strings.Contains(got, "Nora Notes was added as a Notification user") {
		t.Fatalf("created page: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="setup-notifications"]`); got != "Change what they receive" {
		t.Errorf("next step %q", got)
	}
	nora := ts.memberByEmail("nora@example.com")

	// A call to Acme's number ends: its alert is written with it.
	admin := ts.viewerFor("ada@example.com", "Acme Calls")
	var acmeID uint
	fmt.Sscan(acme, &acmeID)
	if _, err := ts.calls.CreateNumber(context.Background(), admin, acmeID, calls.NumberInput{Number: "+14155550134", Name: "Main line", Source: "Google Ads"}, ""); err != nil {
		t.Fatal(err)
	}
	sid := "CA0000000000000000000000000000b0b0"
	call := func(extra ...string) url.Values {
		v := url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	ts.webhook("/telephony/voice", call(), testToken)
	ts.webhook("/telephony/dial", call("DialCallStatus", "no-answer"), testToken)
	ts.webhook("/telephony/status", call("CallStatus", "completed", "CallDuration", "24"), testToken)
	deliver()
	alerts := emailsTo(t, mailDir, "nora@example.com", "Missed call from (202) 555-0123")
	if len(alerts) != 1 {
		t.Fatalf("%d alert emails to Nora", len(alerts))
	}
	alert := alerts[0]
	if from := alert.header.Get("From"); !strings.HasPrefix(from, `"Acme Calls"`) && !strings.HasPrefix(from, "Acme Calls") {
		t.Errorf("alert from %q", from)
	}
	if !strings.HasPrefix(alert.header.Get("List-Unsubscribe"), "<"+ts.base.String()+"/unsubscribe/") {
		t.Errorf("List-Unsubscribe %q", alert.header.Get("List-Unsubscribe"))
	}
	if strings.Count(alert.text, ts.base.String()) != strings.Count(alert.text, ts.base.String()+"/unsubscribe/") {
		t.Errorf("a Notification user's alert links into the console:\n%s", alert.text)
	}

	// The next morning: 08:00 in Chicago (Acme) and in UTC (Bolt) have
	// both passed. The scheduler's runs write each summary once.
	ts.clock.Advance(24*time.Hour + 5*time.Hour + 5*time.Minute) // Nov 24, 14:05 UTC = 08:05 CST
	runScheduled(t, ts)
	runScheduled(t, ts)
	deliver()
	summaries := emailsTo(t, mailDir, "nora@example.com", "Daily summary")
	if len(summaries) != 2 {
		t.Fatalf("%d summary emails, want one per company", len(summaries))
	}
	var acmeSummary emlMessage
	for _, s := range summaries {
		if strings.Contains(s.subject, "Acme Plumbing") {
			acmeSummary = s
		}
	}
	if !strings.Contains(acmeSummary.text, "Calls: 1") || !strings.Contains(acmeSummary.text, "Monday, November 23, 2026") ||
		!strings.Contains(acmeSummary.text, "Ada Admin set this up for you") {
		t.Errorf("Acme's summary:\n%s", acmeSummary.text)
	}
	ts.clock.Advance(30 * time.Minute)
	runScheduled(t, ts)
	deliver()
	if n := len(emailsTo(t, mailDir, "nora@example.com", "Daily summary")); n != 2 {
		t.Errorf("after another run: %d summaries, want still 2", n)
	}

	// The unsubscribe link of Acme's summary, opened without logging in.
	browserLogout(t, ctx, ts)
	link := strings.Trim(acmeSummary.header.Get("List-Unsubscribe"), "<>")
	if !strings.Contains(acmeSummary.text, link) {
		t.Errorf("the footer's link is not the header's %s", link)
	}
	visit(t, ctx, ts, strings.TrimPrefix(link, ts.base.String()))
	if got := textOf(t, ctx, "main"); !strings.Contains(got, "Stop sending the daily summary of Acme Plumbing to nora@example.com?") {
		t.Errorf("unsubscribe page: %q", got)
	}
	screenshot(t, ctx, "notify-unsubscribe")
	submit(t, ctx, `[data-testid="unsubscribe-confirm"]`)
	if got := textOf(t, ctx, `[data-testid="unsubscribe-done"]`); !strings.Contains(got, "no longer receives the daily summary of Acme Plumbing") {
		t.Errorf("after unsubscribing: %q", got)
	}

	// The next day only Bolt's summary comes.
	ts.clock.Advance(24 * time.Hour)
	runScheduled(t, ts)
	deliver()
	all := emailsTo(t, mailDir, "nora@example.com", "Daily summary")
	acmeCount := 0
	for _, s := range all {
		if strings.Contains(s.subject, "Acme Plumbing") {
			acmeCount++
		}
	}
	if len(all) != 3 || acmeCount != 1 {
		t.Errorf("after unsubscribing: %d summaries, %d of Acme; want 3 and 1", len(all), acmeCount)
	}

	// The Admin sees it on Edit User.
	browserLogin(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, userPath(nora.ID, ""))
	if got := textOf(t, ctx, `[data-testid="notify-unsubscribed"]`); !strings.HasPrefix(got, "Daily summary: unsubscribed on Nov 24, 2026") {
		t.Errorf("Edit User says %q", got)
	}
	screenshot(t, ctx, "notify-edit-user")
}

// TestBrowser_NotificationPagesFit opens every notification page at the
// widths of a desktop, a small laptop and a phone: none scrolls sideways,
// and each row's controls, reason and Save button stay inside the page.
func TestBrowser_NotificationPagesFit(t *testing.T) {
	ctx := newChrome(t)
	w := newNotifyWorld(t)
	ts := w.ts
	wantStatus(t, w.admin.post(userPath(w.nora.ID, "/notifications"), rowForm(w.acme, "first_time", "daily", "texts")), http.StatusSeeOther)
	wantStatus(t, w.admin.post(userPath(w.nora.ID, "/notifications"), rowForm("all", "off", "weekly", "monthly")), http.StatusSeeOther)
	wantStatus(t, w.admin.post("/account/notifications", rowForm(w.bolt, "missed", "daily")), http.StatusSeeOther)
	var daily notify.Subscription
	if err := ts.store.DB().Where("membership_id = ? AND kind = ?", w.nora.ID, notify.DailySummary).Take(&daily).Error; err != nil {
		t.Fatal(err)
	}
	unsubscribe := "/unsubscribe/" + ts.app.notify.Token(daily)

	browserLogin(t, ctx, ts, "ada@example.com")
	pages := []struct{ name, path string }{
		{"own", "/account/notifications"},
		{"edit-user", userPath(w.nora.ID, "")},
		{"member", userPath(w.nora.ID, "/notifications")},
		{"company", "/companies/" + w.acme + "/notifications"},
		{"unsubscribe", unsubscribe},
	}
	for _, width := range []int64{1280, 1024, 390} {
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 1400))
		for _, pg := range pages {
			if resp := visit(t, ctx, ts, pg.path); resp.Status != http.StatusOK {
				t.Fatalf("%s: status %d", pg.path, resp.Status)
			}
			overflow := stepValue(t, ctx, "measure "+pg.name, chromedp.Evaluate[string](`(() => {
				const d = document.documentElement;
				if (d.scrollWidth > d.clientWidth + 1) return "the page scrolls sideways (" + d.scrollWidth + " > " + d.clientWidth + ")";
				for (const el of document.querySelectorAll(".notify-row select, .notify-row button, .notify-row label, .notify-row p, table")) {
					const r = el.getBoundingClientRect();
					if (r.right > d.clientWidth + 1) return (el.dataset.testid || el.tagName) + " ends at " + Math.round(r.right) + "px";
				}
				return "";
			})()`))
			if overflow != "" {
				t.Errorf("%s at %dpx: %s", pg.name, width, overflow)
			}
			screenshot(t, ctx, fmt.Sprintf("notify-%s-%d", pg.name, width))
		}
	}
}
