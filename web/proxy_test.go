package web

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"switchboard/models"
)

func trustProxies(cidrs ...string) serverOption {
	return func(cfg *Config) {
		for _, c := range cidrs {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				panic(err)
			}
			cfg.TrustedProxies = append(cfg.TrustedProxies, n)
		}
	}
}

// postFrom posts a form as b would, with an X-Forwarded-For header.
func (b *browser) postFrom(forwardedFor, path string, form url.Values) *page {
	b.t.Helper()
	form = cloneValues(form)
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.ts.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", forwardedFor)
	return b.do(req)
}

// The test's client is at 127.0.0.1. With --trusted-proxies naming other
// addresses, a loopback peer is a client like any other: its
// X-Forwarded-For is not believed for the session's address, the audit
// log's address or the per-address throttle. With loopback listed, the
// same header is believed, so the header itself is read correctly.
func TestTrustedProxies_OnlyListedPeersMaySpeakForTheClient(t *testing.T) {
	for _, c := range []struct {
		name    string
		proxies []string
		want    string
	}{
		{"loopback not listed", []string{"192.0.2.0/24", "10.0.0.0/8", "fd00::/8"}, "127.0.0.1"},
		{"loopback listed", []string{"127.0.0.1/32"}, "203.0.113.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newTestServer(t, trustProxies(c.proxies...))
			ts.setupAccount("ada@example.com")
			b := ts.browser()
			b.get("/login")
			p := b.postFrom("203.0.113.9", "/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
			wantStatus(t, p, http.StatusSeeOther)
			b.follow(p)
			var sess models.Session
			if err := ts.store.DB().Order("id DESC").Take(&sess).Error; err != nil {
				t.Fatal(err)
			}
			if sess.IP != c.want {
				t.Errorf("session address %q, want %q", sess.IP, c.want)
			}

			b.get("/companies/new")
			wantStatus(t, b.postFrom("203.0.113.9", "/companies", url.Values{"name": {"Proxy Test Co"}, "time_zone": {"UTC"}}), http.StatusSeeOther)
			var ev models.AuditEvent
			if err := ts.store.DB().Where("action = ?", "company.created").Order("id DESC").Take(&ev).Error; err != nil {
				t.Fatal(err)
			}
			if ev.IP != c.want {
				t.Errorf("audit log address %q, want %q", ev.IP, c.want)
			}
		})
	}
}

func TestTrustedProxies_UnlistedLoopbackPeerIsThrottledAsItself(t *testing.T) {
	ts := newTestServer(t, trustProxies("192.0.2.0/24"))
	limit := ts.store.ThrottlePolicy().LoginClient.Max
	b := ts.browser()
	b.get("/login")
	var last *page
	for i := 0; i <= limit; i++ {
		// A new address each time, and a new claimed client address: only
		// the real peer can add up.
		last = b.postFrom("203.0.113."+strconv.Itoa(i%250), "/login",
			url.Values{"email": {"x" + strconv.Itoa(i) + "@example.com"}, "password": {"whatever-password"}})
	}
	wantStatus(t, last, http.StatusTooManyRequests)
}
