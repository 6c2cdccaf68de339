package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

// BenchmarkUsersRequest serves one users-list question through the whole
// server (middleware, session, CSRF, queries, templates, the request log)
// without the network, for each kind of viewer and each kind of question,
// at the scale of `switchboard bench`: 100,000 people and 1,000 companies
// (SWITCHBOARD_BENCH_MEMBERS changes the people;
// SWITCHBOARD_BENCH_DIALECT=postgres asks PostgreSQL). Every request reads the
// database: the store has no page cache. It shows what one request costs the
// server; nothing here fails on time.
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
	dialect := "sqlite"
	if d := os.Getenv("SWITCHBOARD_BENCH_DIALECT"); d != "" {
		dialect = d
	}
	// Without the list's page cache: every request answers its question
	// from the database, as one asked for the first time does.
	store := modelstest.OpenDialect(b, dialect, models.WithoutListCache())
	const password = "bench-correct-staple-lamp"
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: members, Companies: 1000, Password: password, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("http://switchboard.test")
	area, err := calls.Open(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	store.RegisterArea(area.Area())
	srv, err := New(ctx, Config{BaseURL: base, Calls: area}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	var active []uint
	for _, c := range seed.Companies {
		if c.Status == models.CompanyActive {
			active = append(active, c.ID)
		}
	}
	type viewer struct {
		name, cookie string
		company      uint
	}
	viewers := []viewer{{"admin", benchLogin(b, h, seed.Admin.Email, password), active[len(active)/2]}}
	// Managers with 1, 5 and 50 companies (Reporting users have no users
	// list; models' BenchmarkFindUsers asks as them too).
	for i, n := range []int{1, 5, 50} {
		m := seed.Managers[i]
		companies := make([]uint, n)
		for j := range companies {
			companies[j] = active[(i*97+j*19)%len(active)]
		}
		if err := models.SetCompanies(ctx, store, m.ID, companies); err != nil {
			b.Fatal(err)
		}
		viewers = append(viewers, viewer{fmt.Sprintf("manager-%d", n), benchLogin(b, h, m.Email, password), companies[n/2]})
	}
	deep, err := store.CursorAt(ctx, seed.Account.ID, models.UserFilter{}, members*9/10)
	if err != nil {
		b.Fatal(err)
	}
	questions := []struct{ name, query string }{
		{"first-page", ""},
		{"deep-page", "after=" + url.QueryEscape(deep)},
		{"company", "company=%d"},
		{"search-name", "q=ander"},
		{"search-domain", "q=acmeplumbing"},
		{"search-common", "q=son"},
		{"search-letter", "q=e"},
		{"search-type", "q=son&type=manager"},
		{"type-status", "type=reporting&status=active"},
		{"expired", "status=expired"},
		{"email-desc", "sort=email&dir=desc"},
		{"by-type", "sort=type"},
		{"invited-asc", "sort=invited&dir=asc"},
		{"size-100", "sort=active&size=100"},
	}
	for _, v := range viewers {
		for _, q := range questions {
			path := "/users?" + q.query
			if strings.Contains(q.query, "%d") {
				path = fmt.Sprintf("/users?"+q.query, v.company)
			}
			b.Run(v.name+"/"+q.name, func(b *testing.B) {
				b.ReportAllocs()
				size := 0
				cpu := processCPU()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.Header.Set("Cookie", v.cookie)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: status %d: %.300s", path, rec.Code, rec.Body.String())
					}
					size = rec.Body.Len()
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(size), "bytes/page")
			})
		}
	}
}

// processCPU is the CPU time the process has used, user and system. Per
// request, it is what the request costs the server whatever else shares
// the machine, where ns/op (wall time) grows with the machine's load.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
		b.Fatalf("log in as %s: status %d: %.300s", email, rec.Code, rec.Body.String())
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
