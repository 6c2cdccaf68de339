package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Every state-changing route must refuse a request without the session's
// CSRF token, with a wrong one, and any cross-site request. The walk covers
// routes added later without anyone remembering to list them here.
func TestCSRF_EveryNonGetRouteRefusesBadTokens(t *testing.T) {
	// Telephony is configured, so a refused webhook is refused for its
	// signature, not for want of a token to check it with.
	ts := newTestServer(t, withTwilio("http://127.0.0.1:1"))
	b := ts.setupAccount("ada@example.com")
	b.get("/users")
	good := b.csrf

	routes, webhooks, signed := 0, 0, 0
	for _, r := range ts.app.Echo.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(r.Method, "echo_") {
			continue
		}
		routes++
		path := strings.NewReplacer(":token", strings.Repeat("a", 43), ":id", "1", ":number", "1", ":note", "1", ":tag", "1", ":member", "1", "*", "x").Replace(r.Path)
		if ts.app.webhooks[r.Path] {
			// Twilio's webhooks skip the CSRF check only because their
			// signature is checked first: without a valid one they are
			// refused even with the session's own token.
			webhooks++
			for name, sig := range map[string]string{"unsigned": "", "bad signature": "bm90IGEgc2lnbmF0dXJl"} {
				form := url.Values{"CallSid": {"CA00000000000000000000000000000001"}, "_csrf": {good}}
				req, _ := http.NewRequest(r.Method, ts.srv.URL+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if sig != "" {
					req.Header.Set("X-Twilio-Signature", sig)
				}
				if p := b.do(req); p.status != http.StatusForbidden {
					t.Errorf("%s %s (%s, with the session's CSRF token): status %d, want 403", r.Method, r.Path, name, p.status)
				}
			}
			continue
		}
		if ts.app.signedLinks[r.Path] {
			// Signed email links (the one-click unsubscribe) skip the
			// CSRF check only because their token's signature is checked
			// first: a token that does not verify is refused, even with
			// the session's CSRF token (TestUnsubscribe_OverHTTP shows a
			// valid one working without any).
			signed++
			for name, form := range map[string]url.Values{
				"with the session's token": {"_csrf": {good}, "List-Unsubscribe": {"One-Click"}},
				"one-click, no token":      {"List-Unsubscribe": {"One-Click"}},
			} {
				req, _ := http.NewRequest(r.Method, ts.srv.URL+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if p := b.do(req); p.status != http.StatusNotFound {
					t.Errorf("%s %s (unsigned, %s): status %d, want 404", r.Method, r.Path, name, p.status)
				}
			}
			continue
		}
		cases := []struct {
			name   string
			token  string
			header map[string]string
		}{
			{"missing token", "", nil},
			{"wrong token", strings.Repeat("b", len(good)), nil},
			{"cross-site with the right token", good, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"foreign origin with the right token", good, map[string]string{"Origin": "https://evil.example"}},
		}
		for _, c := range cases {
			form := url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}
			if c.token != "" {
				form.Set("_csrf", c.token)
			}
			req, _ := http.NewRequest(r.Method, ts.srv.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			p := b.do(req)
			if p.status != http.StatusForbidden {
				t.Errorf("%s %s (%s): status %d, want 403", r.Method, r.Path, c.name, p.status)
			}
		}
	}
	if routes < 4 {
		t.Fatalf("walked only %d state-changing routes", routes)
	}
	if webhooks != len(ts.app.webhooks) || webhooks < 3 {
		t.Errorf("walked %d webhook routes of %d registered", webhooks, len(ts.app.webhooks))
	}
	if signed != len(ts.app.signedLinks) || signed < 1 {
		t.Errorf("walked %d signed-link routes of %d registered", signed, len(ts.app.signedLinks))
	}
	// The session survived all of that and the real token still works.
	b.csrf = good
	wantStatus(t, b.post("/logout", nil), http.StatusSeeOther)
}

func TestForms_RefuseNonFormBodies(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	b.get("/login")
	req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/login", strings.NewReader(`{"email":"a@b.c","_csrf":"`+b.csrf+`"}`))
	req.Header.Set("Content-Type", "application/json")
	wantStatus(t, b.do(req), http.StatusBadRequest)

	big := url.Values{"email": {strings.Repeat("a", 1<<20)}, "_csrf": {b.csrf}}
	req, _ = http.NewRequest(http.MethodPost, ts.srv.URL+"/login", strings.NewReader(big.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p := b.do(req)
	wantStatus(t, p, http.StatusRequestEntityTooLarge)
	if strings.Contains(p.body, "goroutine") {
		t.Error("413 page shows internals")
	}
}

func TestHeaders_SecurityAndCaching(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	p := b.get("/users")
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	} {
		if got := p.header.Get(name); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// A first visit is answered with the cookie (it carries the CSRF token).
	first := ts.browser().get("/login")
	var session *http.Cookie
	for _, c := range (&http.Response{Header: http.Header{"Set-Cookie": first.header.Values("Set-Cookie")}}).Cookies() {
		if c.Name == cookieName {
			session = c
		}
	}
	if session == nil {
		t.Fatal("a first visit set no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge != 0 || !session.Expires.IsZero() {
		t.Errorf("session cookie: HttpOnly=%v SameSite=%v MaxAge=%d Expires=%v; want HttpOnly, Lax, a browser-session cookie",
			session.HttpOnly, session.SameSite, session.MaxAge, session.Expires)
	}
	s := b.get("/static/app.css")
	wantStatus(t, s, http.StatusOK)
	if strings.Contains(s.header.Get("Cache-Control"), "no-store") {
		t.Error("static files should be cacheable")
	}
}

func TestErrors_FriendlyPagesWithStatus(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	for path, want := range map[string]int{
		"/no-such-page":                         http.StatusNotFound,
		"/setup/short":                          http.StatusNotFound,
		"/invite/" + strings.Repeat("x", 10000): http.StatusNotFound,
		"/invite/%ff%fe":                        http.StatusNotFound,
	} {
		p := b.get(path)
		wantStatus(t, p, want)
		if p.doc.Find("h1").Length() != 1 || p.doc.Find("title").Length() != 1 {
			t.Errorf("%s: error page without one h1 and a title", path)
		}
		if strings.Contains(p.body, "goroutine") || strings.Contains(p.body, ".go:") {
			t.Errorf("%s: error page shows internals", path)
		}
	}
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t)
	wantStatus(t, ts.browser().get("/healthz"), http.StatusOK)
	ts.store.Close()
	wantStatus(t, ts.browser().get("/healthz"), http.StatusServiceUnavailable)
}
