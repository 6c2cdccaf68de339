package models_test

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"syscall"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// BenchmarkCreateMember is the wizard's final step without HTTP: eight
// writers at once (like `switchboard bench --writers 8`) each create a
// Reporting user with three companies, an invitation link, its email and
// audit events, in an account of SWITCHBOARD_BENCH_MEMBERS people (100,000
// unless set). It shows what the write path costs; it fails on nothing
// but errors.
func BenchmarkCreateMember(b *testing.B) {
	// The benchmark invites more people than an account may in a day.
	store := modelstest.Open(b, models.WithInvitationsPerDay(math.MaxInt32))
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	ctx := context.Background()
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: benchMembers(b), Companies: 1000, Password: "bench-correct-staple-lamp", Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	admin := &models.Viewer{Membership: seed.Admin, Account: seed.Account}
	var active []uint
	for _, c := range seed.Companies {
		if c.Status == models.CompanyActive {
			active = append(active, c.ID)
		}
	}
	var n atomic.Int64
	b.SetParallelism(4) // 8 writers on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			d := models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, FirstName: "Bench", LastName: fmt.Sprintf("Writer %d", i),
				Email: fmt.Sprintf("bench.writer.%d@bench.example.com", i), Message: "Welcome aboard!",
				CompanyIDs: []uint{active[i%len(active)], active[(i*7)%len(active)], active[(i*13)%len(active)]}}
			if _, created, err := store.CreateMember(ctx, admin, d, ""); err != nil || !created {
				b.Fatalf("create member %d: created %v, err %v", i, created, err)
			}
		}
	})
}

// processCPU is the CPU time the process has used, in nanoseconds: on a
// shared machine, a steadier measure of work than the time between.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
