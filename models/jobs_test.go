package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func enqueueJobs(t *testing.T, s *models.Store, kind string, n int) []uint {
	t.Helper()
	ids := make([]uint, n)
	for i := range ids {
		j, created, err := s.EnqueueJob(context.Background(), models.NewJob{Kind: kind, Key: fmt.Sprint(i), Payload: map[string]int{"n": i}})
		if err != nil || !created {
			t.Fatalf("enqueue %s %d: created %v, %v", kind, i, created, err)
		}
		ids[i] = j.ID
	}
	return ids
}

// Many workers on two servers claim from the same queues at once, each
// round a few rows: no row is ever held by two of them, and every row is
// claimed. Run on PostgreSQL, this is what SKIP LOCKED is for.
func TestClaim_NeverTheSameRowTwice(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			stores := modelstest.OpenServers(t, dialect, 2)
			ctx := context.Background()
			const rows, workers = 120, 12
			enqueueJobs(t, stores[0], "export", rows)
			enqueueJobs(t, stores[0], "other", 5) // a kind nobody claims
			for i := range rows {
				if err := stores[1].EnqueueEmail(ctx, outboxMessage(fmt.Sprintf("p%d@example.com", i), "Hello")); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range []models.Queue{models.JobQueue, models.OutboxQueue} {
				var mu sync.Mutex
				owners := map[uint][]string{}
				var wg sync.WaitGroup
				for w := range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						s := stores[w%2]
						owner := fmt.Sprintf("worker-%d", w)
						for {
							var ids []uint
							if q == models.JobQueue {
								jobs, err := s.ClaimJobs(ctx, owner, []string{"export"}, time.Hour, 3)
								if err != nil {
									t.Error(err)
									return
								}
								for _, j := range jobs {
									if j.Kind != "export" || j.LeaseOwner != owner {
										t.Errorf("%s claimed job %d of kind %q, held by %q", owner, j.ID, j.Kind, j.LeaseOwner)
									}
									ids = append(ids, j.ID)
								}
							} else {
								msgs, err := s.ClaimEmails(ctx, owner, time.Hour, 3)
								if err != nil {
									t.Error(err)
									return
								}
								for _, m := range msgs {
									ids = append(ids, m.ID)
								}
							}
							if len(ids) == 0 {
								return
							}
							mu.Lock()
							for _, id := range ids {
								owners[id] = append(owners[id], owner)
							}
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if len(owners) != rows {
					t.Errorf("%s: %d rows claimed, want %d", q, len(owners), rows)
				}
				for id, o := range owners {
					if len(o) != 1 {
						t.Errorf("%s: row %d claimed by %v", q, id, o)
					}
				}
			}
		})
	}
}

func TestClaim_ExpiredLeaseIsClaimedAgain(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			stores := modelstest.OpenServers(t, dialect, 2, models.WithClock(clock.Now))
			a, b := stores[0], stores[1]
			ctx := context.Background()
			id := enqueueJobs(t, a, "export", 1)[0]
			kinds := []string{"export"}

			got, err := a.ClaimJobs(ctx, "a", kinds, time.Minute, 10)
			if err != nil || len(got) != 1 || got[0].ID != id {
				t.Fatalf("a claims: %v, %v", got, err)
			}
			if !got[0].Running(clock.Now()) || got[0].LeaseUntil == nil || !got[0].LeaseUntil.Equal(clock.Now().Add(time.Minute)) {
				t.Errorf("claimed job: running %v, lease until %v", got[0].Running(clock.Now()), got[0].LeaseUntil)
			}
			// Heartbeats keep it: b finds nothing while a's lease runs.
			clock.Advance(50 * time.Second)
			if held, err := a.ExtendLeases(ctx, models.JobQueue, "a", []uint{id}, time.Minute); err != nil || len(held) != 1 {
				t.Fatalf("a extends: %v, %v", held, err)
			}
			clock.Advance(50 * time.Second)
			if got, err := b.ClaimJobs(ctx, "b", kinds, time.Minute, 10); err != nil || len(got) != 0 {
				t.Fatalf("b claims a held job: %v, %v", got, err)
			}
			// a dies: its lease runs out, and b takes the job over.
			clock.Advance(10*time.Second + time.Nanosecond)
			got, err = b.ClaimJobs(ctx, "b", kinds, time.Minute, 10)
			if err != nil || len(got) != 1 || got[0].ID != id || got[0].LeaseOwner != "b" {
				t.Fatalf("b claims the expired job: %v, %v", got, err)
			}
			// a, back from the dead, can neither keep nor fail it.
			if held, err := a.ExtendLeases(ctx, models.JobQueue, "a", []uint{id}, time.Minute); err != nil || len(held) != 0 {
				t.Errorf("a extends a lost lease: held %v, %v", held, err)
			}
			if err := a.FailJob(ctx, "a", id, errors.New("late"), clock.Now()); !errors.Is(err, models.ErrLeaseLost) {
				t.Errorf("a fails a lost job: %v, want ErrLeaseLost", err)
			}
			if err := a.JobProgress(ctx, "a", id, 1, 2); !errors.Is(err, models.ErrLeaseLost) {
				t.Errorf("a records progress of a lost job: %v, want ErrLeaseLost", err)
			}
			if err := b.JobProgress(ctx, "b", id, 1, 2); err != nil {
				t.Fatal(err)
			}
			j, err := a.FindJob(ctx, "export", "0")
			if err != nil || j.LeaseOwner != "b" || j.Attempts != 0 || j.Done != 1 || j.Total != 2 {
				t.Errorf("job after the takeover: %+v, %v", j, err)
			}
		})
	}
}

func TestReleaseLeases_ClaimableAtOnce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			stores := modelstest.OpenServers(t, dialect, 2, models.WithClock(clock.Now))
			a, b := stores[0], stores[1]
			ctx := context.Background()
			m := outboxMessage("ada@example.com", "Welcome")
			if err := a.EnqueueEmail(ctx, m); err != nil {
				t.Fatal(err)
			}
			if got, err := a.ClaimEmails(ctx, "a", time.Hour, 5); err != nil || len(got) != 1 {
				t.Fatalf("a claims: %v, %v", got, err)
			}
			// Someone else's release changes nothing.
			if err := b.ReleaseLeases(ctx, models.OutboxQueue, "b", []uint{m.ID}); err != nil {
				t.Fatal(err)
			}
			if got, err := b.ClaimEmails(ctx, "b", time.Hour, 5); err != nil || len(got) != 0 {
				t.Fatalf("b claims a held message: %v, %v", got, err)
			}
			// a stops and hands it back: b has it at the same instant,
			// with nothing counted against it.
			if err := a.ReleaseLeases(ctx, models.OutboxQueue, "a", []uint{m.ID}); err != nil {
				t.Fatal(err)
			}
			got, err := b.ClaimEmails(ctx, "b", time.Hour, 5)
			if err != nil || len(got) != 1 || got[0].ID != m.ID || got[0].LeaseOwner != "b" || got[0].Attempts != 0 {
				t.Fatalf("b claims the released message: %+v, %v", got, err)
			}
			// Sending ends the lease; the message is never due again.
			if err := b.MarkEmailSent(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			if sent := loadOutbox(t, a, m.ID); sent.LeaseOwner != "" || sent.LeaseUntil != nil || sent.SentAt == nil {
				t.Errorf("sent message: owner %q, lease %v, sent %v", sent.LeaseOwner, sent.LeaseUntil, sent.SentAt)
			}
			clock.Advance(2 * time.Hour)
			if got, err := a.ClaimEmails(ctx, "a", time.Hour, 5); err != nil || len(got) != 0 {
				t.Errorf("a sent message was claimed again: %v, %v", got, err)
			}
		})
	}
}

// Enqueueing the same work twice, even from two servers at once, makes one
// job; a different key makes another.
func TestEnqueueJob_IdempotentByKey(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			stores := modelstest.OpenServers(t, dialect, 2)
			ctx := context.Background()
			first, created, err := stores[0].EnqueueJob(ctx, models.NewJob{Kind: "import", Key: "form-1", Payload: map[string]string{"file": "a.csv"}})
			if err != nil || !created {
				t.Fatalf("first enqueue: created %v, %v", created, err)
			}
			again, created, err := stores[1].EnqueueJob(ctx, models.NewJob{Kind: "import", Key: "form-1", Payload: map[string]string{"file": "b.csv"}})
			if err != nil || created || again.ID != first.ID || again.Payload != `{"file":"a.csv"}` {
				t.Fatalf("second enqueue: %+v, created %v, %v; want the first job unchanged", again, created, err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			made := 0
			for i := range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, created, err := stores[i%2].EnqueueJob(ctx, models.NewJob{Kind: "import", Key: "form-2"})
					if err != nil {
						t.Error(err)
					}
					if created {
						mu.Lock()
						made++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			var n int64
			stores[0].DB().Model(&models.Job{}).Where("kind = ? AND job_key = ?", "import", "form-2").Count(&n)
			if made != 1 || n != 1 {
				t.Errorf("ten enqueues at once: %d said created, %d rows; want 1 and 1", made, n)
			}
			if _, _, err := stores[0].EnqueueJob(ctx, models.NewJob{Kind: "import"}); err == nil {
				t.Error("a job without a key was enqueued")
			}
			// Done is done: the same key later still finds the same job.
			jobs, err := stores[0].ClaimJobs(ctx, "w", []string{"import"}, time.Minute, 10)
			if err != nil || len(jobs) != 2 {
				t.Fatalf("claim: %v, %v", jobs, err)
			}
			if err := stores[0].CompleteJob(ctx, first.ID); err != nil {
				t.Fatal(err)
			}
			if j, created, err := stores[1].EnqueueJob(ctx, models.NewJob{Kind: "import", Key: "form-1"}); err != nil || created || j.State != models.JobDone {
				t.Errorf("enqueue after done: %+v, created %v, %v", j, created, err)
			}
		})
	}
}

func TestFailJob_RetriesThenGivesUp(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			id := enqueueJobs(t, s, "webhook", 1)[0]
			claim := func() []models.Job {
				t.Helper()
				jobs, err := s.ClaimJobs(ctx, "w", []string{"webhook"}, time.Minute, 1)
				if err != nil {
					t.Fatal(err)
				}
				return jobs
			}
			if len(claim()) != 1 {
				t.Fatal("the new job is not due")
			}
			if err := s.FailJob(ctx, "w", id, errors.New("502 from the receiver"), clock.Now().Add(5*time.Minute)); err != nil {
				t.Fatal(err)
			}
			clock.Advance(5*time.Minute - time.Second)
			if len(claim()) != 0 {
				t.Fatal("a failed job was due before its retry time")
			}
			clock.Advance(time.Second)
			jobs := claim()
			if len(jobs) != 1 || jobs[0].Attempts != 1 || jobs[0].LastError != "502 from the receiver" {
				t.Fatalf("at the retry time: %+v", jobs)
			}
			var payload struct{ N int }
			if err := jobs[0].Decode(&payload); err != nil || payload.N != 0 {
				t.Errorf("payload: %+v, %v", payload, err)
			}
			if err := s.FailJob(ctx, "w", id, errors.New("502 again"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			clock.Advance(24 * time.Hour)
			if len(claim()) != 0 {
				t.Error("a job given up on was claimed")
			}
			j, err := s.FindJob(ctx, "webhook", "0")
			if err != nil || j.State != models.JobFailed || j.Attempts != 2 || j.FinishedAt == nil || j.LeaseOwner != "" {
				t.Errorf("given up: %+v, %v", j, err)
			}
			if err := s.CompleteJob(ctx, id); err != nil {
				t.Fatal(err)
			}
			if j, _ := s.FindJob(ctx, "webhook", "0"); j.State != models.JobFailed {
				t.Errorf("completing a failed job changed it to %s", j.State)
			}
			if _, err := s.FindJob(ctx, "webhook", "nope"); models.ErrorCode(err) != models.NotFound {
				t.Errorf("missing job: %v", err)
			}
		})
	}
}
