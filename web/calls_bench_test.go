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
// seeded Admin and to the Manager with the most companies (the scenarios of
// `switchboard bench`) through the whole server without the network
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
	cs, err := area.SeedCalls(ctx, seed.Account.ID, seed.Companies, calls.SeedOptions{Calls: n, Seed: 11})
	if err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("http://switchboard.test")
	srv, err := New(ctx, Config{BaseURL: base, Calls: area}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	admin := benchLogin(b, h, seed.Admin.Email, password)
	// The Manager with the most companies, as `switchboard bench` reads
	// the log: a real Manager's scope, applied in the plan.
	var mgr struct {
		ID    uint
		Email string
		N     int
	}
	store.DB().Raw(`SELECT m.id, m.email, COUNT(*) AS n FROM memberships m
		JOIN assignments a ON a.membership_id = m.id JOIN companies c ON c.id = a.company_id AND c.status = 'active'
		WHERE m.account_id = ? AND m.type = ? AND m.status = ? AND m.login_id IS NOT NULL
		GROUP BY m.id, m.email ORDER BY n DESC, m.id LIMIT 1`, seed.Account.ID, models.Manager, models.MemberActive).Scan(&mgr)
	if mgr.ID == 0 {
		b.Fatal("no seeded Manager")
	}
	manager := benchLogin(b, h, mgr.Email, password)
	var mgrCompany uint
	store.DB().Raw(`SELECT a.company_id FROM assignments a JOIN companies c ON c.id = a.company_id AND c.status = 'active'
		WHERE a.membership_id = ? ORDER BY a.company_id LIMIT 1`, mgr.ID).Scan(&mgrCompany)
	var mgrCall uint
	store.DB().Raw(`SELECT id FROM calls WHERE company_id = ? AND kind = 'call' ORDER BY started_at DESC, id DESC LIMIT 1`, mgrCompany).Scan(&mgrCall)
	number := cs.Callers[mgrCompany][0]
	digits := number[len(number)-4:]
	var company, call uint
	store.DB().Raw("SELECT company_id, id FROM calls ORDER BY started_at DESC, id DESC LIMIT 1").Row().Scan(&company, &call)
	paths := []struct{ name, cookie, path, marker string }{
		{"manager-first-page", manager, "/calls", "call-row"},
		{"manager-missed-first-time", manager, "/calls?outcome=missed&first=1", "call-row"},
		{"manager-number-search", manager, "/calls?q=" + digits, "call-row"},
		{"manager-call-page", manager, "/calls/" + strconv.FormatUint(uint64(mgrCall), 10), "call-page"},
		{"log-first-page", admin, "/calls", "call-row"},
		{"log-one-company", admin, "/companies/" + strconv.FormatUint(uint64(company), 10) + "/calls", "call-row"},
		{"log-missed-first-time", admin, "/calls?outcome=missed&first=1", "call-row"},
		{"log-name-search", admin, "/calls?q=nguyen", "call-row"},
		{"log-name-search-kowalski", admin, "/calls?q=kowalski", "call-row"},
		{"call-page", admin, "/calls/" + strconv.FormatUint(uint64(call), 10), "call-page"},
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				req.Header.Set("Cookie", p.cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="`+p.marker+`"`) {
					b.Fatalf("%s: status %d: %.300s", p.path, rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
