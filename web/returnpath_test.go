package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileReturnPaths must never become a Location: each is, or a browser
// turns it into, an address on another site.
var hostileReturnPaths = []string{
	"//evil.example/phish",
	"/\t/evil.example/phish",
	"/%09/evil.example/phish",
	"/\\evil.example",
	"\\/evil.example",
	"/%5Cevil.example",
	"/%2F/evil.example",
	"/%2f%2fevil.example",
	"https://evil.example",
	"https:evil.example",
	"javascript:alert(document.domain)",
	"/\r\n/evil.example",
	"/%0d%0a/evil.example",
	"/%0a/evil.example",
	"/ /evil.example",
	"/\u2215evil.example",
	"/\uFF0Fevil.example",
	"/\uFE68evil.example",
	"/\u29F5evil.example",
	"/\uFF3Cevil.example",
	"/%EF%BC%8F/evil.example",
	"evil.example",
}

// The open redirect of the review: POST /login?next=%2F%09%2Fevil.example
// answered "Location: /<TAB>/evil.example", which browsers follow to
// //evil.example. Every handler that takes a return path is driven here
// through its real route.
func TestReturnPaths_NeverLeaveTheSite(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "admin", first: "Ivy", last: "Invitee", email: "ivy@example.com"}), http.StatusSeeOther)
	ivy := ts.memberByEmail("ivy@example.com")
	resend := "/users/" + itoa(ivy.ID) + "/resend"

	for _, next := range append(hostileReturnPaths, "/users?q=ada+lovelace", "/companies") {
		safe := !strings.Contains(strings.Join(hostileReturnPaths, "\x00")+"\x00", next+"\x00")

		// GET /login?next=… puts the return path in the form's action
		// only when it is safe.
		b := ts.browser()
		p := b.get("/login?next=" + url.QueryEscape(next))
		wantStatus(t, p, http.StatusOK)
		action, _ := p.doc.Find(`form[action^="/login"]`).Attr("action")
		want := "/login"
		if safe {
			want = "/login?next=" + url.QueryEscape(next)
		}
		if action != want {
			t.Errorf("GET /login?next=%q: form action %q, want %q", next, action, want)
		}

		// POST /login?next=… redirects there only when it is safe.
		p = b.post("/login?next="+url.QueryEscape(next), url.Values{"email": {"ada@example.com"}, "password": {strongPassword}})
		want = "/users"
		if safe {
			want = next
		}
		if got := p.header.Get("Location"); p.status != http.StatusSeeOther || got != want {
			t.Errorf("POST /login?next=%q: %d, Location %q, want %q", next, p.status, got, want)
		}
		// A failed login keeps only a safe return path in its form.
		p = ts.browser().post("/login?next="+url.QueryEscape(next), url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}})
		if strings.Contains(p.body, "evil.example") {
			t.Errorf("failed login with next=%q still carries it", next)
		}

		// POST /users/:id/resend with return=… (Edit User's resend button).
		ts.clock.Advance(13 * time.Minute) // within the resend limit (five an hour)
		p = admin.post(resend, url.Values{"return": {next}})
		want = "/users"
		if safe {
			want = next
		}
		if got := p.header.Get("Location"); p.status != http.StatusSeeOther || got != want {
			t.Errorf("POST %s return=%q: %d, Location %q, want %q", resend, next, p.status, got, want)
		}
	}
}

func itoa(id uint) string { return strconv.FormatUint(uint64(id), 10) }
