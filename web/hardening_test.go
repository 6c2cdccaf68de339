package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The CSRF token counts only in the form body. In the query string it
// would leak to logs, history and Referer headers, and c.FormValue reads
// both.
func TestCSRF_TokenOnlyInTheQueryStringIsRefused(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	b.get("/users")
	token := b.csrf
	for _, path := range []string{"/logout?_csrf=" + url.QueryEscape(token), "/companies?_csrf=" + url.QueryEscape(token)} {
		form := url.Values{"name": {"Query Token Co"}, "time_zone": {"UTC"}} // and no _csrf
		req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		wantStatus(t, b.do(req), http.StatusForbidden)
	}
	var n int64
	ts.store.DB().Table("companies").Where("name = ?", "Query Token Co").Count(&n)
	if n != 0 {
		t.Error("a company was created with the token in the query string only")
	}
	// The same token in the body works, and the session survived.
	wantStatus(t, b.post("/companies", url.Values{"_csrf": {token}, "name": {"Body Token Co"}, "time_zone": {"UTC"}}), http.StatusSeeOther)
	// A multipart form carries it in the body too.
	body := "--XX\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n" + token + "\r\n--XX--\r\n"
	req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/logout", strings.NewReader(body))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=XX")
	wantStatus(t, b.do(req), http.StatusSeeOther)
}

// The Origin header is compared with the configured base URL only: a page
// on evil.example that rebinds its DNS to this server sends Host and
// Origin both evil.example, and must be refused.
func TestCSRF_OriginIsComparedWithTheBaseURLNotTheHost(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	b.get("/companies/new")
	token := b.csrf
	post := func(host, origin, name string) *page {
		form := url.Values{"_csrf": {token}, "name": {name}, "time_zone": {"UTC"}}
		req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/companies", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if host != "" {
			req.Host = host
		}
		req.Header.Set("Origin", origin)
		return b.do(req)
	}
	base := ts.base.Scheme + "://" + ts.base.Host
	for _, c := range []struct{ host, origin string }{
		{"evil.example", "http://evil.example"},
		{"evil.example:" + ts.base.Port(), "http://evil.example:" + ts.base.Port()},
		{"", "https://" + ts.base.Host}, // same host, other scheme
		{"", "http://" + ts.base.Hostname()},
		{"", base + "/path"},
		{"", "http://user@" + ts.base.Host},
		{"", "garbage"},
	} {
		wantStatus(t, post(c.host, c.origin, "Rebound Co"), http.StatusForbidden)
	}
	var n int64
	ts.store.DB().Table("companies").Where("name = ?", "Rebound Co").Count(&n)
	if n != 0 {
		t.Error("a company was created from a foreign origin")
	}
	wantStatus(t, post("", base, "Own Origin Co"), http.StatusSeeOther)
	wantStatus(t, post("", strings.ToUpper(base), "Own Origin Co 2"), http.StatusSeeOther)
}

// A client's X-Request-ID is kept when short and plain; anything else is
// replaced by a generated one, in the response and in the log line.
func TestRequestID_ClientValueKeptOnlyWhenPlain(t *testing.T) {
	ts := newTestServer(t)
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, c := range []struct {
		sent string
		keep bool
	}{
		{"", false},
		{"abc-123.XYZ_9", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"a b", false},
		{"<script>alert(1)</script>", false},
		{"id\" level=ERROR msg=forged", false},
		{"ünï", false},
		{"a;b", false},
		{"../../etc", false},
	} {
		req, _ := http.NewRequest(http.MethodGet, ts.srv.URL+"/healthz", nil)
		if c.sent != "" {
			req.Header.Set("X-Request-ID", c.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-ID")
		switch {
		case c.keep && got != c.sent:
			t.Errorf("sent %q, answered %q; want it kept", c.sent, got)
		case !c.keep && (got == c.sent || !generated.MatchString(got)):
			t.Errorf("sent %q, answered %q; want a generated one", c.sent, got)
		}
		if !strings.Contains(ts.logs.String(), got) {
			t.Errorf("the log has no line with request ID %q", got)
		}
		if !c.keep && c.sent != "" && strings.Contains(ts.logs.String(), c.sent) {
			t.Errorf("the log carries the refused ID %q", c.sent)
		}
	}
}
