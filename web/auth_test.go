package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"switchboard/models"
)

func TestLogin_SuccessRenewsSession(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")

	b := ts.browser()
	b.get("/login")
	before := b.cookie()
	p := b.post("/login", url.Values{"email": {"ADA@example.com "}, "password": {strongPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/users" {
		t.Errorf("login redirects to %q, want /users", loc)
	}
	if after := b.cookie(); after == "" || after == before {
		t.Error("login did not issue a new session cookie")
	}
	wantStatus(t, b.get("/users"), http.StatusOK)
}

func TestLogin_FailuresAllLookTheSame(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	// A pending invitee (no password yet) and a disabled member.
	if _, err := ts.store.Bootstrap(context.Background(), models.AccountInput{AccountName: "Other", Email: "pending@example.com", FirstName: "Pat", LastName: "Pending"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", strongPassword},
		{"wrong password", "ada@example.com", "wrong-password-here"},
		{"pending invitee", "pending@example.com", strongPassword},
		{"malformed email", "not an email", strongPassword},
		{"empty", "", ""},
	}
	var firstMsg string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ts.browser()
			b.get("/login")
			p := b.post("/login", url.Values{"email": {c.email}, "password": {c.password}})
			wantStatus(t, p, http.StatusUnauthorized)
			msg := p.text(".form-error")
			if firstMsg == "" {
				firstMsg = msg
			}
			if msg == "" || msg != firstMsg {
				t.Errorf("message %q differs from %q", msg, firstMsg)
			}
		})
	}

	// A disabled member gets the same answer.
	ts.store.DB().Model(&models.Membership{}).Where("email = ?", "ada@example.com").Update("status", models.MemberDisabled)
	b := ts.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
	wantStatus(t, p, http.StatusUnauthorized)
	if p.text(".form-error") != firstMsg {
		t.Errorf("disabled member message %q", p.text(".form-error"))
	}
}

// Failed logins for one address slow further attempts down, exponentially,
// and never refuse one: the right password still works (issue 11.4; until
// then ten failures locked the person out for 15 minutes). The person is
// emailed once when it starts.
func TestLogin_FailuresSlowTheAccountDownButNeverLockIt(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	policy := ts.store.ThrottlePolicy()
	rule := policy.LoginAccount
	// Every test browser is 127.0.0.1, whose own (smaller) slow-down adds
	// up too: an attempt waits the longer of the two.
	wait := func(hit int) time.Duration { return max(rule.Delay(hit), policy.LoginClient.Delay(hit)) }
	attacker := ts.browser()
	attacker.get("/login")
	// More than the ten that used to lock the person out.
	const failures = 15
	for i := range failures {
		p := attacker.post("/login", url.Values{"email": {"ADA@example.com"}, "password": {fmt.Sprintf("wrong-password-%d", i)}})
		wantStatus(t, p, http.StatusUnauthorized)
	}
	var want []time.Duration
	for hit := 1; hit <= failures; hit++ {
		if d := wait(hit); d > 0 {
			want = append(want, d)
		}
	}
	if got := ts.takeSleeps(); !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	if want[0] != rule.Step || want[1] != 2*rule.Step || want[len(want)-1] != rule.MaxDelay {
		t.Fatalf("the waits %v do not double from %v up to %v", want, rule.Step, rule.MaxDelay)
	}
	if n := ts.outboxTo("ada@example.com", "login_throttled"); n != 1 {
		t.Errorf("%d emails about the failed attempts, want exactly 1 per episode", n)
	}
	// The right password, from another browser that never logged in as
	// Ada, waits its turn and gets in.
	fresh := ts.browser()
	fresh.get("/login")
	p := fresh.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	if got := ts.takeSleeps(); len(got) != 1 || got[0] != rule.MaxDelay {
		t.Errorf("the right password waited %v, want one wait of %v", got, rule.MaxDelay)
	}
	// A success from a browser new to Ada forgets her failures: the next
	// attempt waits only what its address's failures ask.
	attacker.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-again"}})
	if got, want := ts.takeSleeps(), policy.LoginClient.Delay(failures+1); len(got) != 1 || got[0] != want {
		t.Errorf("after a good login, the next failure waited %v, want only the address's %v", got, want)
	}
}

// A browser where the person logged in before (the known-device cookie) is
// neither slowed by failures elsewhere nor blocked with the address it
// shares with an attacker; a browser without it is.
func TestLogin_KnownDeviceIsNotSlowedOrBlockedByFailuresElsewhere(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	home := ts.login("ada@example.com", strongPassword)
	home.post("/logout", nil)
	limit := ts.store.ThrottlePolicy().LoginClient
	attacker := ts.browser()
	attacker.get("/login")
	for i := range limit.Max {
		p := attacker.post("/login", url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprintf("wrong-password-%d", i)}})
		wantStatus(t, p, http.StatusUnauthorized)
	}
	// The address (every test browser is 127.0.0.1) is now refused...
	wantStatus(t, attacker.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusTooManyRequests)
	stranger := ts.browser()
	stranger.get("/login")
	wantStatus(t, stranger.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusTooManyRequests)
	// A forged cookie (its signature altered) is no cookie.
	forged := ts.browser()
	for _, c := range home.client.Jar.Cookies(ts.base) {
		if strings.HasPrefix(c.Name, "sb_device_") {
			c.Value = c.Value[:len(c.Value)-2] + "AA"
		}
		forged.client.Jar.SetCookies(ts.base, []*http.Cookie{c})
	}
	forged.get("/login")
	wantStatus(t, forged.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusTooManyRequests)
	// ...but Ada's own browser logs in at once, unslowed.
	ts.takeSleeps()
	home.get("/login")
	wantStatus(t, home.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
	if got := ts.takeSleeps(); len(got) != 0 {
		t.Errorf("the known browser waited %v", got)
	}
	// The cookie is Ada's only: for another login the same browser is a
	// stranger.
	home.post("/logout", nil)
	home.get("/login")
	wantStatus(t, home.post("/login", url.Values{"email": {"bob@example.com"}, "password": {strongPassword}}), http.StatusTooManyRequests)
}

// A known browser's own failures lock that browser (and only it) for a
// while; a forged or altered cookie counts for nothing.
func TestLogin_KnownDeviceLockedByItsOwnFailures(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	home := ts.login("ada@example.com", strongPassword)
	home.post("/logout", nil)
	limit := ts.store.ThrottlePolicy().LoginDevice
	home.get("/login")
	for i := range limit.Max {
		wantStatus(t, home.post("/login", url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprintf("wrong-password-%d", i)}}), http.StatusUnauthorized)
	}
	if got := ts.takeSleeps(); len(got) != 0 {
		t.Errorf("a known browser's failures were slowed down %v; they lock it instead", got)
	}
	p := home.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
	wantStatus(t, p, http.StatusTooManyRequests)
	if !strings.Contains(p.text(".lede"), "this browser") {
		t.Errorf("the lock does not say it is this browser's: %q", p.text(".lede"))
	}
	// Elsewhere, and for the address they share, nothing was counted.
	other := ts.browser()
	other.get("/login")
	wantStatus(t, other.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
	if got := ts.takeSleeps(); len(got) != 0 {
		t.Errorf("the other browser waited %v", got)
	}
	// An altered cookie is no cookie: that browser is a stranger, slowed
	// by nothing yet and not locked.
	forged := ts.browser()
	var cookies []*http.Cookie
	for _, c := range home.client.Jar.Cookies(ts.base) {
		if strings.HasPrefix(c.Name, "sb_device_") {
			c.Value = strings.Replace(c.Value, ".", "x.", 1)
		}
		cookies = append(cookies, c)
	}
	forged.client.Jar.SetCookies(ts.base, cookies)
	forged.get("/login")
	wantStatus(t, forged.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
	// The lock ends after its window.
	ts.clock.Advance(limit.Window + time.Second)
	home.get("/login")
	wantStatus(t, home.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
}

// The known-device cookie: signed, long-lived, HttpOnly, SameSite=Lax, and
// Secure when the console is served over HTTPS.
func TestLogin_KnownDeviceCookieFlags(t *testing.T) {
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) {
				u := *c.BaseURL
				u.Scheme = scheme
				c.BaseURL = &u
			})
			ts.setupAccount("ada@example.com")
			b := ts.browser()
			b.get("/login")
			p := b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
			wantStatus(t, p, http.StatusSeeOther)
			var device *http.Cookie
			for _, c := range (&http.Response{Header: p.header}).Cookies() {
				if strings.HasPrefix(c.Name, "sb_device_") {
					device = c
				}
			}
			if device == nil {
				t.Fatal("no known-device cookie after a login")
			}
			if !device.HttpOnly || device.SameSite != http.SameSiteLaxMode || device.Path != "/" ||
				device.MaxAge < 180*24*3600 || device.Secure != (scheme == "https") {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Path %q MaxAge %d Secure %v", device.Name, device.HttpOnly,
					device.SameSite, device.Path, device.MaxAge, device.Secure)
			}
			if strings.Contains(device.Name+device.Value, "ada") {
				t.Errorf("the cookie shows whose it is: %s=%s", device.Name, device.Value)
			}
		})
	}
}

func TestLogin_ThrottledPerClientAddress(t *testing.T) {
	ts := newTestServer(t)
	limit := ts.store.ThrottlePolicy().LoginClient
	b := ts.browser()
	b.get("/login")
	for i := 0; i < limit.Max; i++ {
		// A different address each time: only the client address adds up.
		b.post("/login", url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "password": {"whatever-password"}})
	}
	p := b.post("/login", url.Values{"email": {"fresh@example.com"}, "password": {"whatever-password"}})
	wantStatus(t, p, http.StatusTooManyRequests)
	// The page says when, links to the password reset and has no dead end.
	if p.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if p.doc.Find(`a[href="/password/forgot"]`).Length() != 1 {
		t.Error("the 429 page has no link to reset the password")
	}
	at, ok := p.doc.Find(`[data-testid="retry-at"] time[datetime]`).Attr("datetime")
	when, err := time.Parse(time.RFC3339, at)
	if !ok || err != nil || !when.Equal(ts.clock.Now().Add(limit.Window).Truncate(time.Second)) {
		t.Errorf("retry time %q (%v), want %v", at, err, ts.clock.Now().Add(limit.Window))
	}
	if text := p.text(`[data-testid="retry-at"]`); !strings.Contains(text, "UTC") || !strings.Contains(text, "in about 15 minutes") {
		t.Errorf("retry text %q does not name the zone and how long", text)
	}
	if strings.Contains(strings.ToLower(p.body), "check your login") {
		t.Error("the page still sends people to an Admin screen for the address block")
	}
}

func TestLogin_SpoofedForwardedForIsIgnored(t *testing.T) {
	ts := newTestServer(t)
	limit := ts.store.ThrottlePolicy().LoginClient
	b := ts.browser()
	b.get("/login")
	for i := 0; i <= limit.Max; i++ {
		form := url.Values{"email": {fmt.Sprintf("x%d@example.com", i)}, "password": {"whatever-password"}, "_csrf": {b.csrf}}
		req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		p := b.do(req)
		if i == limit.Max {
			wantStatus(t, p, http.StatusTooManyRequests)
		}
	}
}

// Asking for password resets (issue 11.3) has its own limit, and never
// counts as a failed login: 50 requests for made-up addresses from one
// address leave that address's correct login working.
func TestForgotPassword_RequestsNeverBlockALogin(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	limit := ts.store.ThrottlePolicy().ResetClient
	anon := ts.browser()
	anon.get("/password/forgot")
	refused := 0
	for i := range 50 {
		p := anon.post("/password/forgot", url.Values{"email": {fmt.Sprintf("made-up-%d@example.com", i)}})
		switch p.status {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			refused++
			if p.header.Get("Retry-After") == "" || p.doc.Find(`[data-testid="retry-at"]`).Length() != 1 {
				t.Fatal("the refusal does not say when to try again")
			}
		default:
			t.Fatalf("request %d: status %d", i, p.status)
		}
	}
	if refused != 50-limit.Max {
		t.Errorf("%d of 50 reset requests refused, want %d", refused, 50-limit.Max)
	}
	b := ts.browser()
	b.get("/login")
	wantStatus(t, b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
	if got := ts.takeSleeps(); len(got) != 0 {
		t.Errorf("the login after the reset requests waited %v", got)
	}
}

func TestLogout_CopiedCookieIsRefusedAfterwards(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	wantStatus(t, b.get("/users"), http.StatusOK)

	thief := ts.browser()
	thief.client.Jar.SetCookies(ts.base, b.client.Jar.Cookies(ts.base))
	wantStatus(t, thief.get("/users"), http.StatusOK)

	wantStatus(t, b.post("/logout", nil), http.StatusSeeOther)
	p := thief.get("/users")
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Errorf("copied cookie after logout redirects to %q, want the login page", loc)
	}
}

func TestSession_TamperedCookieMeansLoggedOut(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	for _, value := range []string{"garbage", b.cookie() + "x", strings.Repeat("A", 3000), "%%%"} {
		c := ts.browser()
		c.client.Jar.SetCookies(ts.base, []*http.Cookie{{Name: cookieName, Value: value, Path: "/"}})
		p := c.get("/users")
		wantStatus(t, p, http.StatusSeeOther)
		wantStatus(t, c.get("/login"), http.StatusOK)
	}
}

func TestSession_EndsWhenMemberDisabledOrPasswordChanges(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	wantStatus(t, b.get("/users"), http.StatusOK)
	ts.clock.Advance(time.Second)
	ts.store.DB().Model(&models.Login{}).Where("email = ?", "ada@example.com").Update("password_changed_at", ts.clock.Now())
	wantStatus(t, b.get("/users"), http.StatusSeeOther)

	c := ts.login("ada@example.com", strongPassword)
	wantStatus(t, c.get("/users"), http.StatusOK)
	ts.store.DB().Model(&models.Membership{}).Where("email = ?", "ada@example.com").Update("status", models.MemberDisabled)
	wantStatus(t, c.get("/users"), http.StatusSeeOther)
}

func TestSession_IdleTimeout(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	wantStatus(t, b.get("/users"), http.StatusOK)
	ts.clock.Advance(models.IdleTimeout + time.Minute)
	wantStatus(t, b.get("/users"), http.StatusSeeOther)
}

func TestLogin_NextStaysOnThisSite(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	for next, want := range map[string]string{
		"/users?q=ada":         "/users?q=ada",
		"//evil.example/":      "/users",
		"https://evil.example": "/users",
		"/\\evil.example":      "/users",
	} {
		b := ts.browser()
		b.get("/login")
		p := b.post("/login?next="+url.QueryEscape(next), url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
		if got := p.header.Get("Location"); got != want {
			t.Errorf("next=%q redirects to %q, want %q", next, got, want)
		}
	}
}

func TestPages_RequireLogin(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	for _, path := range []string{"/", "/users"} {
		p := b.get(path)
		wantStatus(t, p, http.StatusSeeOther)
		if loc := p.header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("%s redirects to %q", path, loc)
		}
	}
}

func (b *browser) cookie() string {
	for _, c := range b.client.Jar.Cookies(b.ts.base) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// Attempts sent at once are counted before their passwords are checked, so
// they cannot all slip under the limit: of 60 at once from one address,
// exactly the address's limit are checked.
func TestLogin_ParallelAttemptsAreThrottled(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	limit := ts.store.ThrottlePolicy().LoginClient
	b := ts.browser()
	b.get("/login")
	n := limit.Max + 10
	statuses := make(chan int, n)
	for range n {
		go func() {
			statuses <- b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-x"}}).status
		}()
	}
	refused := 0
	for range n {
		if <-statuses == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != n-limit.Max {
		t.Fatalf("%d of %d parallel attempts refused, want %d", refused, n, n-limit.Max)
	}
}

// A good login does not wipe a client's record of failures.
func TestLogin_SuccessForgivesOnlyItself(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	limit := ts.store.ThrottlePolicy().LoginClient
	b := ts.browser()
	b.get("/login")
	for i := 0; i < limit.Max-1; i++ {
		b.post("/login", url.Values{"email": {fmt.Sprintf("u%d@example.com", i)}, "password": {"whatever-password"}})
	}
	ts.login("ada@example.com", strongPassword) // same client address, a browser new to Ada
	b.get("/login")
	b.post("/login", url.Values{"email": {"last@example.com"}, "password": {"whatever-password"}})
	wantStatus(t, b.post("/login", url.Values{"email": {"next@example.com"}, "password": {"whatever-password"}}), http.StatusTooManyRequests)
}

// Logging in again in the same browser ends the earlier session: a copy of
// the old cookie no longer works.
func TestLogin_NewLoginEndsTheEarlierSession(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	b := ts.login("ada@example.com", strongPassword)
	old := ts.browser()
	old.client.Jar.SetCookies(ts.base, b.client.Jar.Cookies(ts.base))
	wantStatus(t, old.get("/users"), http.StatusOK)

	b.get("/login")
	b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
	wantStatus(t, b.get("/users"), http.StatusOK)
	wantStatus(t, old.get("/users"), http.StatusSeeOther)
}
