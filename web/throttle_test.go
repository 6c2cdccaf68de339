package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/views"
)

// withoutKnownDevice is a browser holding only b's session: the same
// person, logged in, in a browser that never logged in as them.
func (b *browser) withoutKnownDevice() *browser {
	c := b.ts.browser()
	var keep []*http.Cookie
	for _, ck := range b.client.Jar.Cookies(b.ts.base) {
		if !strings.HasPrefix(ck.Name, "sb_device_") {
			keep = append(keep, ck)
		}
	}
	c.client.Jar.SetCookies(b.ts.base, keep)
	c.csrf = b.csrf
	return c
}

// The current password of /account/password goes through the login
// throttle (issue 11.5): from Ada's own browser, wrong guesses lock that
// browser; from a browser that never logged in as her, they slow down.
func TestPassword_CurrentPasswordIsThrottled(t *testing.T) {
	const next = "violet-harbor-sandwich-42"
	guess := func(b *browser, i int) *page {
		return b.post("/account/password", url.Values{"current": {fmt.Sprintf("guess-number-%d", i)}, "password": {next}, "confirm": {next}})
	}
	t.Run("known browser", func(t *testing.T) {
		ts := newTestServer(t)
		b := ts.setupAccount("ada@example.com")
		limit := ts.store.ThrottlePolicy().LoginDevice
		b.get("/account/password")
		wrong, refused := 0, 0
		for i := range 30 {
			switch p := guess(b, i); p.status {
			case http.StatusUnprocessableEntity:
				wrong++
			case http.StatusTooManyRequests:
				refused++
				if p.doc.Find(`a[href="/password/forgot"]`).Length() != 1 || p.header.Get("Retry-After") == "" {
					t.Fatal("the refusal has no way forward or no time")
				}
			default:
				t.Fatalf("guess %d: status %d", i, p.status)
			}
		}
		if wrong != limit.Max || refused != 30-limit.Max {
			t.Fatalf("%d guesses checked and %d refused, want %d and %d", wrong, refused, limit.Max, 30-limit.Max)
		}
		// Even the right one now waits for the lock to end.
		wantStatus(t, b.post("/account/password", url.Values{"current": {strongPassword}, "password": {next}, "confirm": {next}}), http.StatusTooManyRequests)
		ts.clock.Advance(limit.Window)
		wantStatus(t, b.post("/account/password", url.Values{"current": {strongPassword}, "password": {next}, "confirm": {next}}), http.StatusSeeOther)
	})
	t.Run("browser new to her", func(t *testing.T) {
		ts := newTestServer(t)
		b := ts.setupAccount("ada@example.com").withoutKnownDevice()
		rule := ts.store.ThrottlePolicy().LoginAccount
		b.get("/account/password")
		for i := range 30 {
			wantStatus(t, guess(b, i), http.StatusUnprocessableEntity)
		}
		waits := ts.takeSleeps()
		if len(waits) != 30-rule.SlowAfter || waits[0] != rule.Step || waits[len(waits)-1] != rule.MaxDelay {
			t.Fatalf("30 wrong guesses waited %v; want %d waits from %v up to %v", waits, 30-rule.SlowAfter, rule.Step, rule.MaxDelay)
		}
		if n := ts.outboxTo("ada@example.com", "login_throttled"); n != 1 {
			t.Errorf("%d emails about the failed attempts, want 1", n)
		}
	})
}

// An Admin sees on Edit User that a person's login is throttled (how many
// failures, since when, the current wait, locked browsers) and lifts it:
// a POST with the CSRF token, recorded in the audit log, refused to
// anyone who may not edit the person.
func TestEditUser_ShowsAndLiftsALoginThrottle(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "manager", first: "Max", last: "Manager", email: "max@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	_, secret := ts.lastInvitation("max@example.com")
	maxHome := ts.browser()
	maxHome.get("/invite/" + secret)
	wantStatus(t, maxHome.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusSeeOther)
	maxHome.post("/logout", nil)
	// Max, logged in elsewhere too (before the failures: a good login from
	// a browser new to him forgets them).
	maxOther := ts.login("max@example.com", strongPassword)
	var max models.Membership
	must(t, ts.store.DB().Where("email = ?", "max@example.com").Take(&max).Error)
	edit := fmt.Sprintf("/users/%d", max.ID)

	if admin.get(edit).doc.Find(`[data-testid="login-throttle"]`).Length() != 0 {
		t.Fatal("a throttle section for a login nobody has failed on")
	}
	policy := ts.store.ThrottlePolicy()
	since := ts.clock.Now()
	attacker := ts.browser()
	attacker.get("/login")
	for i := range 6 {
		ts.clock.Advance(time.Minute)
		attacker.post("/login", url.Values{"email": {"max@example.com"}, "password": {fmt.Sprintf("wrong-%d-password", i)}})
	}
	maxHome.get("/login")
	for i := range policy.LoginDevice.Max {
		maxHome.post("/login", url.Values{"email": {"max@example.com"}, "password": {fmt.Sprintf("typo-%d-password", i)}})
	}
	page := admin.get(edit)
	slowed := page.text(`[data-testid="login-throttle-slowed"]`)
	for _, want := range []string{"6 failed attempts", views.FormatDateTimeIn(since.Add(time.Minute), ts.store.Location("America/Chicago")), "waits " + fmt.Sprint(int(policy.LoginAccount.Delay(7)/time.Second)) + " seconds"} {
		if !strings.Contains(slowed, want) {
			t.Errorf("the throttle section says %q, without %q", slowed, want)
		}
	}
	if locked := page.text(`[data-testid="login-throttle-locked"]`); !strings.HasPrefix(locked, "One browser") {
		t.Errorf("locked browsers: %q", locked)
	}

	// Someone who may not edit Max cannot lift it; Max is a Manager and
	// may not touch Ada's either.
	// Max is in his own scope, so he is told he may not (403), not that
	// he does not exist (404); see "Scope, and 404 versus 403" in policy.go.
	wantStatus(t, maxOther.post(fmt.Sprintf("/users/%d/login-throttle/clear", max.ID), nil), http.StatusForbidden)
	wantStatus(t, admin.post("/users/999999/login-throttle/clear", nil), http.StatusNotFound)
	var left int64
	ts.store.DB().Model(&models.ThrottleCounter{}).Where("subject = ?", "max@example.com").Count(&left)
	if left == 0 {
		t.Fatal("the refused requests lifted the throttle")
	}

	p := admin.post(fmt.Sprintf("/users/%d/login-throttle/clear", max.ID), nil)
	wantStatus(t, p, http.StatusSeeOther)
	after := admin.follow(p)
	if !strings.Contains(after.text(".flash"), "max@example.com are no longer slowed down") {
		t.Errorf("flash %q", after.text(".flash"))
	}
	if after.doc.Find(`[data-testid="login-throttle"]`).Length() != 0 {
		t.Error("the throttle section is still shown")
	}
	var ev models.AuditEvent
	if err := ts.store.DB().Where("action = ?", "login.throttle_cleared").Take(&ev).Error; err != nil || !strings.Contains(ev.Detail, "6 failed attempts") {
		t.Errorf("audit event %+v, %v", ev, err)
	}
	if events := after.text(`[data-testid="member-events"]`); !strings.Contains(events, "Login slow-down lifted") {
		t.Errorf("Edit User's recent activity does not show the lifting: %q", events)
	}
	// Max's own browser is unlocked, and nobody waits.
	ts.takeSleeps()
	maxHome.get("/login")
	wantStatus(t, maxHome.post("/login", url.Values{"email": {"max@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
	stranger := ts.browser()
	stranger.get("/login")
	wantStatus(t, stranger.post("/login", url.Values{"email": {"max@example.com"}, "password": {"one-more-wrong-one"}}), http.StatusUnauthorized)
	if got := ts.takeSleeps(); len(got) != 0 {
		t.Errorf("after lifting, attempts still wait %v", got)
	}
}

// The invitation limit cannot be dodged by correcting the address back and
// forth (issue 11.10: 8 invitations in 3 s): every path counts against the
// same limit per person, and a refusal writes nothing.
func TestInvitations_AddressFlipIsLimited(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	limit := ts.store.ThrottlePolicy().InvitePerson
	wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Pat", last: "Pending", email: "pat@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	var pat models.Membership
	must(t, ts.store.DB().Where("email = ?", "pat@example.com").Take(&pat).Error)
	edit := fmt.Sprintf("/users/%d", pat.ID)
	resend := edit + "/resend"
	// A resend moments after the wizard's invitation is refused...
	p := admin.post(resend, nil)
	wantStatus(t, p, http.StatusTooManyRequests)
	if p.doc.Find(`[data-testid="retry-at"] time`).Length() != 1 || p.doc.Find(`a[href="`+edit+`"]`).Length() == 0 {
		t.Error("the refused resend does not say when, or has no way back to the person")
	}
	// ...and so, after the limit, is flipping the address.
	invitations := func() (tokens, emails int64) {
		ts.store.DB().Model(&models.Token{}).Where("membership_id = ? AND purpose = ?", pat.ID, models.PurposeInvitation).Count(&tokens)
		ts.store.DB().Model(&models.OutboxMessage{}).Where("membership_id = ? AND kind = ?", pat.ID, "invitation").Count(&emails)
		return
	}
	addresses := []string{"pat.other@example.com", "pat@example.com"}
	sent := 1 // the wizard's
	for i := 0; ; i++ {
		ts.clock.Advance(5 * time.Second)
		admin.get(edit)
		to := addresses[i%2]
		p = admin.post(edit, url.Values{"first_name": {"Pat"}, "last_name": {"Pending"}, "email": {to}})
		if p.status != http.StatusSeeOther {
			break
		}
		sent++
		if sent > 20 {
			t.Fatal("the address flips are never refused")
		}
	}
	wantStatus(t, p, http.StatusTooManyRequests)
	if sent != limit.Max {
		t.Errorf("%d invitations went out before the refusal, want %d", sent, limit.Max)
	}
	if msg := p.text(`.field-error`); !strings.Contains(msg, "invitations in the last hour") {
		t.Errorf("the email field says %q", msg)
	}
	if p.doc.Find(`[data-testid="refusal"] time[datetime]`).Length() != 1 || p.header.Get("Retry-After") == "" {
		t.Error("the refusal does not say when to try again")
	}
	tokens, emails := invitations()
	var now models.Membership
	must(t, ts.store.DB().Take(&now, pat.ID).Error)
	if tokens != int64(limit.Max) || now.Email != addresses[(sent)%2] {
		t.Errorf("after the refusal: %d links, %d emails, address %s; want %d links and the address unchanged", tokens, emails, now.Email, limit.Max)
	}
	// An hour after the first, a correction goes out again.
	ts.clock.Advance(time.Hour)
	admin.get(edit)
	wantStatus(t, admin.post(edit, url.Values{"first_name": {"Pat"}, "last_name": {"Pending"}, "email": {"pat@example.com"}}), http.StatusSeeOther)
}

// Even an Admin cannot send more invitations in a day than the account's
// cap, by any path; the refusal keeps the wizard's answers and says when.
func TestInvitations_DailyCapPerAccount(t *testing.T) {
	ts := newTestServerWithStore(t, []models.Option{models.WithInvitationsPerDay(2)})
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	for _, name := range []string{"one", "two"} {
		wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: name, email: "rita." + name + "@example.com",
			companies: []string{plumbing}}), http.StatusSeeOther)
	}
	var before int64
	ts.store.DB().Model(&models.Membership{}).Count(&before)
	p := admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Three", email: "rita.three@example.com",
		message: "Welcome!", companies: []string{plumbing}})
	wantStatus(t, p, http.StatusTooManyRequests)
	if !strings.Contains(p.text(`[data-testid="refusal"]`), "2 invitations in the last 24 hours") ||
		p.doc.Find(`[data-testid="refusal"] time[datetime]`).Length() != 1 {
		t.Errorf("refusal: %q", p.text(`[data-testid="refusal"]`))
	}
	if v, _ := p.doc.Find(`input[name="email"]`).Attr("value"); v != "rita.three@example.com" {
		t.Errorf("the wizard lost what was typed: email %q", v)
	}
	var after int64
	ts.store.DB().Model(&models.Membership{}).Count(&after)
	if after != before || ts.outboxTo("rita.three@example.com", "invitation") != 0 {
		t.Fatal("the refused invitation wrote something")
	}
	// Promoting a Notification user sends an invitation too: refused.
	wantStatus(t, admin.createUser(wizardInput{typ: "notification", first: "Nora", last: "Notified", email: "nora@example.com",
		companies: []string{plumbing}}), http.StatusSeeOther)
	var nora models.Membership
	must(t, ts.store.DB().Where("email = ?", "nora@example.com").Take(&nora).Error)
	admin.get(fmt.Sprintf("/users/%d", nora.ID))
	p = admin.post(fmt.Sprintf("/users/%d/type", nora.ID), url.Values{"to": {"reporting"}})
	wantStatus(t, p, http.StatusTooManyRequests)
	must(t, ts.store.DB().Take(&nora, nora.ID).Error)
	if nora.Type != models.Notification {
		t.Errorf("the refused promotion changed the type to %s", nora.Type)
	}
	// A day after the first, invitations go out again.
	ts.clock.Advance(24 * time.Hour)
	admin = ts.login("ada@example.com", strongPassword) // the session has ended meanwhile
	wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Three", email: "rita.three@example.com",
		companies: []string{plumbing}}), http.StatusSeeOther)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Another account's Admin gets the same 404 as for an ID that does not
// exist, and lifts nothing.
func TestEditUser_LiftingAThrottleOfAnotherAccountIs404(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	attacker := ts.browser()
	attacker.get("/login")
	for i := range 5 {
		attacker.post("/login", url.Values{"email": {"rita@example.com"}, "password": {fmt.Sprintf("wrong-%d-password", i)}})
	}
	var rita models.Membership
	must(t, ts.store.DB().Where("email = ?", "rita@example.com").Take(&rita).Error)
	bea := ts.login("bea@example.com", strongPassword)
	wantStatus(t, bea.post(fmt.Sprintf("/users/%d/login-throttle/clear", rita.ID), nil), http.StatusNotFound)
	var n int64
	ts.store.DB().Model(&models.ThrottleCounter{}).Where("subject = ?", "rita@example.com").Count(&n)
	if n == 0 {
		t.Fatal("another account's Admin lifted Rita's throttle")
	}
	// Rita's own Admin sees it.
	ada := ts.login("ada@example.com", strongPassword)
	if ada.get(fmt.Sprintf("/users/%d", rita.ID)).doc.Find(`[data-testid="login-throttle"]`).Length() != 1 {
		t.Error("Rita's Admin does not see her throttled login")
	}
}
