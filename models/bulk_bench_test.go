package models_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// countingWriter counts what an export writes and throws it away.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)

// peakHeap samples the heap in use while fn runs and returns its peak
// above what was in use before.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak.Load()
}

// BenchmarkExportUsers times an Admin's export of the whole account (and a
// Manager's of theirs) at bench scale (SWITCHBOARD_BENCH_MEMBERS, default
// 100,000 people, 1,000 companies), with the rows written and the peak
// heap above the start reported.
func BenchmarkExportUsers(b *testing.B) {
	store := modelstest.OpenDialect(b, benchDialect())
	ctx := context.Background()
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: benchMembers(b), Companies: 1000, Password: "bench-correct-staple-lamp", Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	viewers, err := benchViewers(ctx, store, seed)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []benchViewer{viewers[0], viewers[len(viewers)-2]} {
		b.Run(v.Name, func(b *testing.B) {
			b.ReportAllocs()
			var w countingWriter
			var peak uint64
			for b.Loop() {
				w = countingWriter{}
				peak = max(peak, peakHeap(func() {
					if err := store.ExportUsers(ctx, v.Viewer, models.UserFilter{}, time.UTC, &w); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(w.n)/1e6, "MB-written")
			b.ReportMetric(float64(peak)/1e6, "MB-peak-heap")
		})
	}
}

// BenchmarkBulkAddCompany times adding 1,000 people to a company as one
// bulk job, from the request to the last person, each through the single
// action with its audit event (a fresh company every iteration).
func BenchmarkBulkAddCompany(b *testing.B) {
	store := modelstest.OpenDialect(b, benchDialect())
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	ctx := context.Background()
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: max(benchMembers(b), 5000), Companies: 1000, Password: "bench-correct-staple-lamp", Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	admin := &models.Viewer{Membership: seed.Admin, Account: seed.Account}
	var ids []uint
	if err := store.DB().Model(&models.Membership{}).Where("account_id = ? AND type = ?", seed.Account.ID, models.Reporting).
		Order("id").Limit(1000).Pluck("id", &ids).Error; err != nil {
		b.Fatal(err)
	}
	var companies []models.Company
	for _, c := range seed.Companies {
		if c.Status == models.CompanyActive {
			companies = append(companies, c)
		}
	}
	b.ReportAllocs()
	i := 0
	var report *models.BulkReport
	for b.Loop() {
		c := companies[i%len(companies)]
		i++
		job, err := store.StartBulk(ctx, admin, models.BulkRequest{Action: models.BulkAddCompany, CompanyID: c.ID, IDs: ids, Key: fmt.Sprintf("bench-%d", i)}, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := store.RunBulk(ctx, job, nil); err != nil {
			b.Fatal(err)
		}
		if report, err = store.BulkReportOf(ctx, admin, job.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(report.Applied), "added")
}
