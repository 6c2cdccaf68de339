package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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

func TestLogin_ThrottledPerEmailThenRefused(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	rule := models.DefaultThrottleRules()["email"]
	b := ts.browser()
	b.get("/login")
	for i := 0; i < rule.BlockAfter; i++ {
		p := b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-" + string(rune('a'+i))}})
		wantStatus(t, p, http.StatusUnauthorized)
	}
	ts.mu.Lock()
	slowed := len(ts.sleeps)
	ts.mu.Unlock()
	if want := rule.BlockAfter - rule.SlowAfter; slowed != want {
		t.Errorf("%d attempts were slowed down, want %d", slowed, want)
	}
	// Now even the right password is refused for a while, with a clear page.
	p := b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
	wantStatus(t, p, http.StatusTooManyRequests)
	if !strings.Contains(p.text("h1"), "Too many login attempts") || p.header.Get("Retry-After") == "" {
		t.Errorf("429 page: h1 %q, Retry-After %q", p.text("h1"), p.header.Get("Retry-After"))
	}
	// Another address from the same client is not locked out yet.
	other := b.post("/login", url.Values{"email": {"bob@example.com"}, "password": {strongPassword}})
	wantStatus(t, other, http.StatusUnauthorized)

	ts.clock.Advance(rule.BlockFor + time.Minute)
	wantStatus(t, b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusSeeOther)
}

func TestLogin_ThrottledPerClientAddress(t *testing.T) {
	ts := newTestServer(t)
	rule := models.DefaultThrottleRules()["ip"]
	b := ts.browser()
	b.get("/login")
	for i := 0; i < rule.BlockAfter; i++ {
		// A different address each time: only the client address adds up.
		b.post("/login", url.Values{"email": {"user" + time.Duration(i).String() + "@example.com"}, "password": {"whatever-password"}})
	}
	p := b.post("/login", url.Values{"email": {"fresh@example.com"}, "password": {"whatever-password"}})
	wantStatus(t, p, http.StatusTooManyRequests)
}

func TestLogin_SpoofedForwardedForIsIgnored(t *testing.T) {
	ts := newTestServer(t)
	rule := models.DefaultThrottleRules()["ip"]
	b := ts.browser()
	b.get("/login")
	for i := 0; i <= rule.BlockAfter; i++ {
		form := url.Values{"email": {"x" + time.Duration(i).String() + "@example.com"}, "password": {"whatever-password"}, "_csrf": {b.csrf}}
		req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "203.0.113."+time.Duration(i).String())
		p := b.do(req)
		if i == rule.BlockAfter {
			wantStatus(t, p, http.StatusTooManyRequests)
		}
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
// they cannot all slip under the limit.
func TestLogin_ParallelAttemptsAreThrottled(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	rule := models.DefaultThrottleRules()["email"]
	b := ts.browser()
	b.get("/login")
	const n = 40
	statuses := make(chan int, n)
	for i := 0; i < n; i++ {
		go func() {
			statuses <- b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-x"}}).status
		}()
	}
	refused := 0
	for i := 0; i < n; i++ {
		if <-statuses == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused < n-rule.BlockAfter {
		t.Fatalf("%d of %d parallel attempts refused, want at least %d", refused, n, n-rule.BlockAfter)
	}
}

// A good login does not wipe a client's record of failures.
func TestLogin_SuccessForgivesOnlyItself(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	rule := models.DefaultThrottleRules()["ip"]
	b := ts.browser()
	b.get("/login")
	for i := 0; i < rule.BlockAfter-1; i++ {
		b.post("/login", url.Values{"email": {fmt.Sprintf("u%d@example.com", i)}, "password": {"whatever-password"}})
	}
	c := ts.login("ada@example.com", strongPassword) // same client address
	_ = c
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
