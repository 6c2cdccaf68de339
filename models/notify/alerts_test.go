package notify_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
	"switchboard/models/notify"
)

// TestAlerts_EachSubscriptionKind runs calls and a text through the
// webhooks and checks who gets an alert for each kind of subscription:
// every call, first-time callers, missed calls (for a company or all of
// one's companies), texts; and that nobody outside the company, disabled
// or subscribed to another company gets one, and a replayed status
// writes nothing more.
func TestAlerts_EachSubscriptionKind(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newFixture(t, dialect).seed()
			rita := f.person(f.account, models.Reporting, "Rita", f.acme)
			max := f.person(f.account, models.Manager, "Max", f.acme, f.bolt)
			nora := f.person(f.account, models.Notification, "Nora", f.acme)
			bob := f.person(f.account, models.Reporting, "Bob", f.bolt)
			dan := f.person(f.account, models.Reporting, "Dan", f.acme)
			ola := f.person(f.account, models.Reporting, "Ola", f.bolt)

			f.set(f.admin, f.admin, &f.acme, notify.Choice{Calls: notify.EveryCall})
			f.set(f.admin, rita, &f.acme, notify.Choice{Calls: notify.FirstTimeCalls})
			f.set(max, max, nil, notify.Choice{Calls: notify.MissedCalls})
			f.set(f.admin, nora, &f.acme, notify.Choice{Texts: true, Calls: notify.MissedCalls})
			f.set(f.admin, bob, &f.bolt, notify.Choice{Calls: notify.EveryCall, Texts: true})
			f.set(f.admin, dan, &f.acme, notify.Choice{Calls: notify.EveryCall})
			f.set(f.admin, ola, nil, notify.Choice{Calls: notify.EveryCall, Texts: true})
			// Dan is disabled: he keeps his settings and receives nothing.
			_, err := f.store.DisableMember(ctx, f.admin, dan.Membership.ID, "")
			must(t, err)

			f.number(f.acme, "+14155550134", "Main line", "Google Ads")
			want := func(step string, kind string, who ...*models.Viewer) {
				t.Helper()
				got := recipients(f.outbox("alert_" + kind))
				var emails []string
				for _, w := range who {
					emails = append(emails, w.Membership.Email)
				}
				slices.Sort(got)
				slices.Sort(emails)
				if !slices.Equal(got, emails) {
					t.Errorf("%s: %s alerts to %v, want %v", step, kind, got, emails)
				}
				must(t, f.store.DB().Where("kind LIKE ?", "alert_%").Delete(&models.OutboxMessage{}).Error)
			}

			// A first-time caller, answered.
			first := f.call("+14155550134", "+12025550123", calls.OutcomeAnswered)
			want("first call", "calls", f.admin, rita)
			// The same caller again, missed with a voicemail.
			f.call("+14155550134", "+12025550123", calls.OutcomeVoicemail)
			want("second call", "calls", f.admin, max, nora)
			// A replayed final status changes nothing and writes nothing.
			must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: first, Status: "completed", Duration: "60", From: "+12025550123", To: "+14155550134"}))
			want("replayed status", "calls")
			// A text.
			_, err = f.calls.IncomingText(ctx, calls.TextParams{Sid: f.sid("SM"), From: "+12025550199", To: "+14155550134", Body: "Are you open <today>?"})
			must(t, err)
			texts := f.outbox("alert_texts")
			want("text", "texts", nora)
			if len(texts) == 1 {
				m := texts[0]
				if !strings.Contains(m.TextBody, "Are you open <today>?") || strings.Contains(m.HTMLBody, "<today>") {
					t.Errorf("text alert body: %q / %q", m.TextBody, m.HTMLBody)
				}
				// Nora has no login: nothing links into the console, only the
				// unsubscribe link does.
				for _, body := range []string{m.TextBody, m.HTMLBody} {
					if strings.Count(body, "https://switchboard.example/") != strings.Count(body, "https://switchboard.example/unsubscribe/") {
						t.Errorf("a Notification user's email links into the console:\n%s", body)
					}
				}
				if m.FromName != "Acme Calls" || !strings.HasPrefix(m.Unsubscribe, "https://switchboard.example/unsubscribe/") {
					t.Errorf("text alert from %q, unsubscribe %q", m.FromName, m.Unsubscribe)
				}
			}
		})
	}
}

// TestAlerts_Content checks what a call alert says and links.
func TestAlerts_Content(t *testing.T) {
	f := newFixture(t, "sqlite").seed()
	rita := f.person(f.account, models.Reporting, "Rita", f.acme)
	f.set(rita, rita, &f.acme, notify.Choice{Calls: notify.EveryCall})
	f.number(f.acme, "+14155550134", "Main line", "Google Ads")
	sid := f.call("+14155550134", "+12025550123", calls.OutcomeMissed)
	var c calls.Call
	must(t, f.store.DB().Where("sid = ?", sid).Take(&c).Error)
	ms := f.outbox("alert_calls")
	if len(ms) != 1 {
		t.Fatalf("%d alerts", len(ms))
	}
	m := ms[0]
	for _, want := range []string{"Missed call", "Acme Plumbing", "Main line", "(415) 555-0134", "Google Ads", "(202) 555-0123",
		"First-time caller", "Missed", "1:00", "https://switchboard.example/calls/" + itoa(c.ID),
		"because you set this up yourself", "https://switchboard.example/account/notifications"} {
		if !strings.Contains(m.TextBody, want) {
			t.Errorf("alert text lacks %q:\n%s", want, m.TextBody)
		}
	}
	if m.Subject != "Missed call from (202) 555-0123 to Main line · Acme Plumbing" {
		t.Errorf("subject %q", m.Subject)
	}
	if !strings.Contains(m.HTMLBody, `href="https://switchboard.example/calls/`+itoa(c.ID)+`"`) {
		t.Errorf("alert HTML has no link to the call")
	}
}
