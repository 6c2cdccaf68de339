package notify_test

import (
	"context"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/notify"
)

// subOf reads a person's subscription of a kind for a company (0: all).
func (f *fixture) subOf(v *models.Viewer, companyID uint, kind notify.Kind) notify.Subscription {
	f.t.Helper()
	var s notify.Subscription
	must(f.t, f.store.DB().Where("membership_id = ? AND company_id = ? AND kind = ?", v.Membership.ID, companyID, kind).Take(&s).Error)
	return s
}

func (f *fixture) auditCount(action string) int64 {
	f.t.Helper()
	var n int64
	must(f.t, f.store.DB().Model(&models.AuditEvent{}).Where("action = ?", action).Count(&n).Error)
	return n
}

// TestUnsubscribe_ValidTamperedReused: a link turns off exactly its
// subscription, once, audited as the person's doing; a tampered link
// (each part changed, cut, overlong, another key's) is not found; using
// it again changes nothing and says when it was done.
func TestUnsubscribe_ValidTamperedReused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite").seed()
	nora := f.person(f.account, models.Notification, "Nora", f.acme)
	f.set(f.admin, nora, &f.acme, notify.Choice{Daily: true, Weekly: true})
	daily := f.subOf(nora, f.acme.ID, notify.DailySummary)
	weekly := f.subOf(nora, f.acme.ID, notify.WeeklySummary)
	token := f.notify.Token(daily)

	info, err := f.notify.UnsubscribeInfo(ctx, token)
	must(t, err)
	if info.Done || info.Already || info.What() != "the daily summary of Acme Plumbing" || info.Member.Email != nora.Membership.Email {
		t.Errorf("info before: %+v %q", info, info.What())
	}
	if !f.subOf(nora, f.acme.ID, notify.DailySummary).Active {
		t.Fatal("reading the link's page unsubscribed")
	}

	// Tampered links: not found, and nothing changes.
	parts := strings.SplitN(token, "-", 3)
	idPart, kindPart, macPart := parts[0], parts[1], parts[2]
	other := newFixtureOn(t, f.store, f.clock) // same key: it is in the database
	if other.notify.Token(daily) != token {
		t.Error("a second server signs differently")
	}
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"another subscription": itoa(weekly.ID) + "-" + kindPart + "-" + macPart,
		"another kind":         idPart + "-weekly-" + macPart,
		"changed MAC":          idPart + "-" + kindPart + "-" + flip(macPart),
		"cut":                  token[:len(token)-3],
		"overlong":             token + strings.Repeat("A", 10000),
		"empty":                "",
		"zero ID":              "0-" + kindPart + "-" + macPart,
		"leading zero":         "0" + token,
		"padding":              token + "=",
		"upper-cased":          strings.ToUpper(token),
		"not UTF-8":            "\xff\xfe",
	} {
		if _, err := f.notify.Unsubscribe(ctx, bad, "", false); models.ErrorCode(err) != models.NotFound {
			t.Errorf("%s: %v, want not found", name, err)
		}
		if _, err := f.notify.UnsubscribeInfo(ctx, bad); models.ErrorCode(err) != models.NotFound {
			t.Errorf("%s (page): %v, want not found", name, err)
		}
	}
	if !f.subOf(nora, f.acme.ID, notify.DailySummary).Active || !f.subOf(nora, f.acme.ID, notify.WeeklySummary).Active {
		t.Fatal("a tampered link changed something")
	}

	// The real one, by one-click.
	u, err := f.notify.Unsubscribe(ctx, token, "203.0.113.9", true)
	must(t, err)
	if !u.Done || u.Already {
		t.Errorf("first use: %+v", u)
	}
	after := f.subOf(nora, f.acme.ID, notify.DailySummary)
	if after.Active || after.UnsubscribedAt == nil || !f.subOf(nora, f.acme.ID, notify.WeeklySummary).Active {
		t.Errorf("after unsubscribing: daily %+v; the weekly must stay on", after)
	}
	var ev models.AuditEvent
	must(t, f.store.DB().Where("action = ?", "notify.unsubscribed").Take(&ev).Error)
	if ev.ActorID == nil || *ev.ActorID != nora.Membership.ID || ev.IP != "203.0.113.9" ||
		!strings.Contains(ev.Detail, "daily summary of Acme Plumbing with their mail program's unsubscribe button") {
		t.Errorf("audit: %+v", ev)
	}
	// Used again: nothing more, and it says when.
	u, err = f.notify.Unsubscribe(ctx, token, "", false)
	must(t, err)
	if !u.Already || !u.Done || !u.At.Equal(*after.UnsubscribedAt) || f.auditCount("notify.unsubscribed") != 1 {
		t.Errorf("second use: %+v, %d audit events", u, f.auditCount("notify.unsubscribed"))
	}
	// The Admin sees it, and can turn it on again; the old link still
	// works (it is the same email's link).
	s, err := f.notify.SettingsOf(ctx, f.admin, nora.Membership.ID)
	must(t, err)
	if len(s.Rows) != 1 || len(s.Rows[0].Unsubscribed()) != 1 || s.Rows[0].Choice.Daily || !s.Rows[0].Choice.Weekly {
		t.Errorf("settings after unsubscribe: %+v", s.Rows)
	}
	f.set(f.admin, nora, &f.acme, notify.Choice{Daily: true, Weekly: true})
	if on := f.subOf(nora, f.acme.ID, notify.DailySummary); !on.Active || on.UnsubscribedAt != nil {
		t.Errorf("turned on again: %+v", on)
	}
	if u, err := f.notify.Unsubscribe(ctx, token, "", false); err != nil || u.Already {
		t.Errorf("the old link after re-enabling: %+v %v", u, err)
	}
	// A deleted person's link: gone.
	_, err = f.store.DeleteMember(ctx, f.admin, nora.Membership.ID, "")
	must(t, err)
	if _, err := f.notify.Unsubscribe(ctx, token, "", false); models.ErrorCode(err) != models.Gone {
		t.Errorf("link of a deleted person: %v, want gone", err)
	}
}

// Every token the server makes verifies, whatever its MAC holds (base64url
// has "-" and "_", and "-" also separates the token's parts).
func TestUnsubscribe_EveryTokenVerifies(t *testing.T) {
	f := newFixture(t, "sqlite")
	dashes := 0
	for id := uint(1); id <= 3000; id++ {
		for _, k := range notify.Kinds {
			tok := f.notify.Token(notify.Subscription{ID: id, Kind: k})
			if strings.Count(tok, "-") > 2 {
				dashes++
			}
			if !f.notify.ValidToken(tok) {
				t.Fatalf("token %q does not verify", tok)
			}
		}
	}
	if dashes == 0 {
		t.Fatal("no MAC held a dash: the test proves nothing")
	}
}
