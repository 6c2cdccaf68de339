package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"switchboard/models"
)

var resetLink = regexp.MustCompile(`/password/reset/([A-Za-z0-9_-]{43})`)

func (ts *testServer) lastReset(email string) string {
	ts.t.Helper()
	var msg models.OutboxMessage
	if err := ts.store.DB().Where("to_address = ? AND kind = ?", email, "password_reset").Order("id DESC").Take(&msg).Error; err != nil {
		ts.t.Fatalf("no reset email to %s: %v", email, err)
	}
	m := resetLink.FindStringSubmatch(msg.TextBody)
	if m == nil {
		ts.t.Fatalf("reset email without link:\n%s", msg.TextBody)
	}
	return m[1]
}

func TestPassword_ChangeEndsOtherSessions(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	other := ts.login("ada@example.com", strongPassword)
	b.get("/account/password")
	const next = "violet-harbor-sandwich-42"
	for _, bad := range []url.Values{
		{"current": {"wrong-password-1"}, "password": {next}, "confirm": {next}},
		{"current": {strongPassword}, "password": {"password1234"}, "confirm": {"password1234"}},
		{"current": {strongPassword}, "password": {next}, "confirm": {next + "x"}},
		{"current": {strongPassword}, "password": {strongPassword}, "confirm": {strongPassword}},
	} {
		wantStatus(t, b.post("/account/password", bad), http.StatusUnprocessableEntity)
	}
	p := b.post("/account/password", url.Values{"current": {strongPassword}, "password": {next}, "confirm": {next}})
	wantStatus(t, p, http.StatusSeeOther)
	wantStatus(t, b.follow(p), http.StatusOK)               // this browser carries on
	wantStatus(t, other.get("/users"), http.StatusSeeOther) // the other is logged out
	if ts.outboxTo("ada@example.com", "password_changed") != 1 {
		t.Error("no email saying the password changed")
	}
	c := ts.browser()
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusUnauthorized)
	ts.login("ada@example.com", next)
}

func TestPassword_ForgotAndReset(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	anon := ts.browser()
	anon.get("/login")
	if anon.get("/login").doc.Find(`[data-testid="forgot"]`).Length() != 1 {
		t.Error("the login page has no forgot-password link")
	}
	anon.get("/password/forgot")
	known := anon.post("/password/forgot", url.Values{"email": {"ADA@example.com"}})
	unknown := anon.post("/password/forgot", url.Values{"email": {"nobody@example.com"}})
	wantStatus(t, known, http.StatusOK)
	wantStatus(t, unknown, http.StatusOK)
	strip := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "ADA@example.com", "X"), "nobody@example.com", "X")
	}
	if strip(known.text(`[data-testid="reset-sent"]`)) != strip(unknown.text(`[data-testid="reset-sent"]`)) {
		t.Error("the answer tells whether an address has a login")
	}
	if ts.outboxTo("nobody@example.com", "password_reset") != 0 || ts.outboxTo("ada@example.com", "password_reset") != 1 {
		t.Fatal("reset emails went to the wrong places")
	}
	secret := ts.lastReset("ada@example.com")
	page := anon.get("/password/reset/" + secret)
	wantStatus(t, page, http.StatusOK)
	if page.header.Get("Referrer-Policy") != "no-referrer" {
		t.Error("reset page may leak its token through Referer")
	}
	wantStatus(t, anon.post("/password/reset/"+secret, url.Values{"password": {"short"}, "confirm": {"short"}}), http.StatusUnprocessableEntity)
	const next = "violet-harbor-sandwich-42"
	p := anon.post("/password/reset/"+secret, url.Values{"password": {next}, "confirm": {next}})
	wantStatus(t, p, http.StatusSeeOther)
	wantStatus(t, anon.follow(p), http.StatusOK)
	wantStatus(t, b.get("/users"), http.StatusSeeOther) // the old session ended
	wantStatus(t, ts.browser().get("/password/reset/"+secret), http.StatusGone)
	wantStatus(t, ts.browser().get("/password/reset/"+strings.Repeat("a", 43)), http.StatusNotFound)
	if strings.Contains(ts.logs.String(), secret) {
		t.Error("the reset secret reached the logs")
	}

	// Links expire, and only a few are sent an hour, quietly.
	anon.get("/password/forgot")
	anon.post("/password/forgot", url.Values{"email": {"ada@example.com"}})
	expiring := ts.lastReset("ada@example.com")
	ts.clock.Advance(models.PasswordResetTTL + time.Minute)
	wantStatus(t, ts.browser().get("/password/reset/"+expiring), http.StatusGone)
	for range 5 {
		anon.post("/password/forgot", url.Values{"email": {"ada@example.com"}})
	}
	var n int64
	ts.store.DB().Model(&models.Token{}).Where("purpose = ? AND created_at > ?", models.PurposePasswordReset, ts.clock.Now().Add(-time.Hour)).Count(&n)
	if n != 3 {
		t.Errorf("%d reset links in the last hour, want the limit of 3", n)
	}
}
