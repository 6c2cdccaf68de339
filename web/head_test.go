package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStatic_FilesButNoFolderListings(t *testing.T) {
	ts := newTestServer(t)
	b := ts.browser()
	for _, path := range []string{"/static/", "/static", "/static/screenshots/", "/static/.", "/static/..%2f", "/static/nope.css"} {
		p := b.get(path)
		wantStatus(t, p, http.StatusNotFound)
		if strings.Contains(p.body, `href="app.css"`) || strings.Contains(p.body, `href="users.png"`) {
			t.Errorf("%s lists the files", path)
		}
	}
	for _, path := range []string{"/static/app.css", "/static/app.js", "/static/icons.svg"} {
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		if !strings.Contains(p.header.Get("Cache-Control"), "max-age") {
			t.Errorf("%s: Cache-Control %q", path, p.header.Get("Cache-Control"))
		}
	}
}

// rawHEAD sends a HEAD request on a connection of its own and returns the
// status and whatever came after the headers (Go's client would hide a
// body sent in answer to HEAD).
func rawHEAD(t *testing.T, ts *testServer, path, cookie string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.base.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := "HEAD " + path + " HTTP/1.1\r\nHost: " + ts.base.Host + "\r\nConnection: close\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, &http.Request{Method: http.MethodHead})
	if err != nil {
		t.Fatalf("HEAD %s: %v", path, err)
	}
	rest, _ := io.ReadAll(r)
	return resp.StatusCode, string(rest)
}

// Every GET route answers HEAD with the same status and no body, for the
// anonymous and for an Admin. The walk covers routes added later.
func TestHEAD_EveryGetRouteAnswersLikeGet(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	id := itoa(ts.memberByEmail("ada@example.com").ID)
	paths := 0
	for _, r := range ts.app.Echo.Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		path := strings.NewReplacer(":token", strings.Repeat("a", 43), ":id", id, ":member", id, "*", "app.css").Replace(r.Path)
		for _, who := range []struct {
			name string
			b    *browser
		}{{"anonymous", ts.browser()}, {"admin", admin}} {
			get := who.b.get(path)
			var cookies []string
			for _, c := range who.b.client.Jar.Cookies(ts.base) {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			status, rest := rawHEAD(t, ts, path, strings.Join(cookies, "; "))
			if status != get.status {
				t.Errorf("%s: HEAD %s answered %d, GET %d", who.name, path, status, get.status)
			}
			if rest != "" {
				t.Errorf("%s: HEAD %s sent a body of %d bytes", who.name, path, len(rest))
			}
		}
		paths++
	}
	if paths < 20 {
		t.Fatalf("walked only %d GET routes", paths)
	}
	// A route that takes no GET still refuses HEAD.
	if status, _ := rawHEAD(t, ts, "/logout", ""); status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD /logout: %d, want 405", status)
	}
}
