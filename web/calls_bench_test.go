package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

// BenchmarkCallLogRequest serves the Call Log and a call's page to the
// seeded Admin through the whole server without the network
// (SWITCHBOARD_BENCH_CALLS calls over 1,000 companies; 100,000 by default),
// for comparing changes by time and allocations with benchstat. Nothing
// here fails on time; `switchboard bench` measures a million calls.
func BenchmarkCallLogRequest(b *testing.B) {
	n := 100000
	if s := os.Getenv("SWITCHBOARD_BENCH_CALLS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("SWITCHBOARD_BENCH_CALLS=%q: want a number ≥ 1000", s)
		}
		n = v
	}
	ctx := context.Background()
	store := modelstest.Open(b)
	const password = "bench-correct-staple-lamp"
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: 2000, Companies: 1000, Password: password, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	area, err := calls.Open(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	store.RegisterArea(area.Area())
	if _, err := area.SeedCalls(ctx, seed.Account.ID, seed.Companies, calls.SeedOptions{Calls: n, Seed: 11}); err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("http://switchboard.test")
	srv, err := New(ctx, Config{BaseURL: base, Calls: area}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	cookie := benchLogin(b, h, seed.Admin.Email, password)
	var company, call uint
	store.DB().Raw("SELECT company_id, id FROM calls ORDER BY started_at DESC, id DESC LIMIT 1").Row().Scan(&company, &call)
	paths := []struct{ name, path, marker string }{
		{"log-first-page", "/calls", "call-row"},
		{"log-one-company", "/companies/" + strconv.FormatUint(uint64(company), 10) + "/calls", "call-row"},
		{"log-missed-first-time", "/calls?outcome=missed&first=1", "call-row"},
		{"log-name-search", "/calls?q=nguyen", "call-row"},
		{"call-page", "/calls/" + strconv.FormatUint(uint64(call), 10), "call-page"},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.Header.Set("Cookie", cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="`+p.marker+`"`) {
					b.Fatalf("%s: status %d: %.300s", p.path, rec.Code, rec.Body.String())
				}
			}
		})
	}
}
