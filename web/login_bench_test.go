package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// BenchmarkLoginRequest logs seeded people in through the whole server
// (CSRF, throttle, argon2id, session) without the network, one after
// another. Besides time it reports the CPU time of the process per login
// (cpu-ms/op), which other work on a shared machine disturbs far less than
// wall time: compare runs with benchstat.
func BenchmarkLoginRequest(b *testing.B) {
	ctx := context.Background()
	store := modelstest.Open(b)
	const password = "bench-correct-staple-lamp"
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: 200, Companies: 10, Password: password, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("http://switchboard.test")
	srv, err := New(ctx, Config{BaseURL: base}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	m := benchCSRFInput.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("no CSRF token on the login page: %d", rec.Code)
	}
	cookie := cookieHeader(rec.Result().Cookies())
	emails := seed.LoginEmails
	b.ReportAllocs()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	i := 0
	for b.Loop() {
		form := url.Values{"email": {emails[i%len(emails)]}, "password": {password}, "_csrf": {m[1]}}
		i++
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://switchboard.test")
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("log in: status %d: %.300s", rec.Code, rec.Body.String())
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(i), "cpu-ms/op")
}
