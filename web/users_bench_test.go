package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// BenchmarkUsersRequest serves the users list to a signed-in Admin through
// the whole server (middleware, session, CSRF, queries, templates) without
// the network, at the scale of `switchboard bench` (100,000 people and
// 1,000 companies; SWITCHBOARD_BENCH_MEMBERS changes the people). It shows
// in review what one page costs the server; nothing here fails on time.
func BenchmarkUsersRequest(b *testing.B) {
	members := 100000
	if s := os.Getenv("SWITCHBOARD_BENCH_MEMBERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 {
			b.Fatalf("SWITCHBOARD_BENCH_MEMBERS=%q: want a number ≥ 100", s)
		}
		members = n
	}
	ctx := context.Background()
	store := modelstest.Open(b)
	const password = "bench-correct-staple-lamp"
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: members, Companies: 1000, Password: password, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("http://switchboard.test")
	srv, err := New(ctx, Config{BaseURL: base}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	cookie := benchLogin(b, h, seed.Admin.Email, password)

	deep, err := store.CursorAt(ctx, seed.Account.ID, models.UserFilter{Sort: models.SortByName}, members*9/10)
	if err != nil {
		b.Fatal(err)
	}
	first, last := models.SeedName(0)
	paths := []struct{ name, path string }{
		{"first-page", "/users"},
		{"deep-page", "/users?after=" + url.QueryEscape(deep)},
		{"name-search", "/users?q=ander"},
		{"email-prefix", "/users?q=" + url.QueryEscape(strings.ToLower(first)+"."+strings.ToLower(last[:3]))},
		{"company", "/users?company=" + strconv.FormatUint(uint64(seed.Companies[len(seed.Companies)/2].ID), 10)},
		{"type-status", "/users?type=reporting&status=active"},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			size := 0
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="user-row"`) {
					b.Fatalf("%s: status %d: %.300s", p.path, rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}

var benchCSRFInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// benchLogin logs in through the form the way a browser does and returns
// the Cookie header of the session.
func benchLogin(b *testing.B, h http.Handler, email, password string) string {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	m := benchCSRFInput.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("no CSRF token on the login page: %d", rec.Code)
	}
	cookie := cookieHeader(rec.Result().Cookies())
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {m[1]}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://switchboard.test")
	req.Header.Set("Cookie", cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("log in: status %d: %.300s", rec.Code, rec.Body.String())
	}
	return cookieHeader(rec.Result().Cookies())
}

func cookieHeader(cookies []*http.Cookie) string {
	parts := make([]string, len(cookies))
	for i, c := range cookies {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}
