package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

var quietLog = slog.New(slog.DiscardHandler)

func loadJob(t *testing.T, s *models.Store, kind, key string) *models.Job {
	t.Helper()
	j, err := s.FindJob(context.Background(), kind, key)
	if err != nil {
		t.Fatalf("find job %s/%s: %v", kind, key, err)
	}
	return j
}

// waitFor polls cond until it holds; the limit catches a hang, it is not a
// speed check.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

func TestJobs_DoneRetriedGivenUp(t *testing.T) {
	clock := modelstest.NewClock()
	store := modelstest.Open(t, models.WithClock(clock.Now))
	ctx := context.Background()
	failures := map[string]int{"flaky": 1, "broken": 99}
	var tries sync.Map
	jobs := &Jobs{Store: store, Log: quietLog}
	jobs.Register("import", JobKind{
		MaxAttempts: 3,
		Backoff:     func(n int) time.Duration { return time.Duration(n) * time.Minute },
		Run: func(ctx context.Context, job *JobRun) error {
			n, _ := tries.LoadOrStore(job.Key, new(atomic.Int64))
			try := n.(*atomic.Int64).Add(1)
			if err := job.Progress(ctx, 1, 2); err != nil {
				return err
			}
			if int(try) <= failures[job.Key] {
				return fmt.Errorf("row %d is not CSV", try)
			}
			return job.Progress(ctx, 2, 2)
		},
	})
	for _, key := range []string{"ok", "flaky", "broken"} {
		if _, _, err := store.EnqueueJob(ctx, models.NewJob{Kind: "import", Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	// A kind this server does not know is left for one that does.
	if _, _, err := store.EnqueueJob(ctx, models.NewJob{Kind: "invoice", Key: "2026-11"}); err != nil {
		t.Fatal(err)
	}
	runAll := func() int {
		n := 0
		for {
			ran, err := jobs.RunOne(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ran {
				return n
			}
			n++
		}
	}
	if n := runAll(); n != 3 {
		t.Fatalf("first round ran %d jobs, want 3", n)
	}
	if j := loadJob(t, store, "import", "ok"); j.State != models.JobDone || j.Done != 2 || j.Total != 2 || j.FinishedAt == nil {
		t.Errorf("ok: %+v", j)
	}
	flaky := loadJob(t, store, "import", "flaky")
	if flaky.State != models.JobQueued || flaky.Attempts != 1 || flaky.LastError != "row 1 is not CSV" ||
		!flaky.RunAt.Equal(clock.Now().Add(time.Minute)) || flaky.Done != 1 || flaky.LeaseOwner != "" {
		t.Errorf("flaky after one failure: %+v", flaky)
	}
	clock.Advance(time.Minute)
	if n := runAll(); n != 2 {
		t.Fatalf("second round ran %d jobs, want 2", n)
	}
	if j := loadJob(t, store, "import", "flaky"); j.State != models.JobDone || j.Attempts != 1 {
		t.Errorf("flaky after the retry: %+v", j)
	}
	clock.Advance(2 * time.Minute)
	if n := runAll(); n != 1 {
		t.Fatalf("third round ran %d jobs, want 1", n)
	}
	if j := loadJob(t, store, "import", "broken"); j.State != models.JobFailed || j.Attempts != 3 {
		t.Errorf("broken after three failures: %+v, want failed", j)
	}
	clock.Advance(24 * time.Hour)
	if n := runAll(); n != 0 {
		t.Errorf("%d jobs ran after everything was done or given up", n)
	}
	if j := loadJob(t, store, "invoice", "2026-11"); j.State != models.JobQueued || j.Attempts != 0 {
		t.Errorf("a job of an unknown kind was touched: %+v", j)
	}
}

// A server that stops hands its running job back: another server takes it
// at once, with nothing counted against it.
func TestJobs_HandBackOnShutdown(t *testing.T) {
	stores := modelstest.OpenServers(t, "sqlite", 2)
	started := make(chan struct{}, 1)
	first := &Jobs{Store: stores[0], Log: quietLog, Interval: time.Hour}
	first.Register("export", JobKind{Run: func(ctx context.Context, job *JobRun) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}})
	if _, _, err := stores[0].EnqueueJob(context.Background(), models.NewJob{Kind: "export", Key: "all"}); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); first.Run(ctx) }()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the job never started")
	}
	stop()
	<-done
	if j := loadJob(t, stores[1], "export", "all"); j.LeaseOwner != "" || j.LeaseUntil != nil || j.Attempts != 0 || j.State != models.JobQueued {
		t.Fatalf("after shutdown: %+v, want handed back", j)
	}
	second := &Jobs{Store: stores[1], Log: quietLog}
	ran := false
	second.Register("export", JobKind{Run: func(ctx context.Context, job *JobRun) error { ran = true; return nil }})
	if ok, err := second.RunOne(context.Background()); !ok || err != nil || !ran {
		t.Fatalf("the other server: ran %v, %v", ok, err)
	}
}

// A worker whose lease was taken over stops its run and leaves the job to
// the new holder.
func TestJobs_LostLeaseStopsTheRun(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	if _, _, err := store.EnqueueJob(ctx, models.NewJob{Kind: "export", Key: "all"}); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	jobs := &Jobs{Store: store, Log: quietLog, Lease: 300 * time.Millisecond}
	jobs.Register("export", JobKind{Run: func(ctx context.Context, job *JobRun) error {
		// Another server takes the job over (as after a long pause of this one).
		if err := store.DB().Exec("UPDATE jobs SET lease_owner = 'thief' WHERE id = ?", job.ID).Error; err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			stopped <- ctx.Err()
		case <-time.After(30 * time.Second):
			stopped <- errors.New("never stopped")
		}
		return errors.New("interrupted")
	}})
	if ran, err := jobs.RunOne(ctx); !ran || err != nil {
		t.Fatalf("RunOne: %v, %v", ran, err)
	}
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Fatalf("the run was not stopped: %v", err)
	}
	if j := loadJob(t, store, "export", "all"); j.LeaseOwner != "thief" || j.Attempts != 0 || j.LastError != "" {
		t.Errorf("the lost job was changed: %+v", j)
	}
}

// Two servers, each with its delivery worker, on one database and one SMTP
// server: every message arrives exactly once.
func TestDelivery_TwoServersSendEachOnce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			stores := modelstest.OpenServers(t, dialect, 2)
			srv := startTestSMTP(t, "127.0.0.1:0", smtpPlain, "", "", nil)
			const n = 30
			for i := range n {
				enqueueTestEmail(t, stores[i%2], fmt.Sprintf("person%d@example.com", i))
			}
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i, s := range stores {
				mailer, err := NewSMTPMailer("smtp://"+srv.Addr, testFrom)
				if err != nil {
					t.Fatal(err)
				}
				d := &Delivery{Store: s, Mailer: mailer, Log: quietLog, Batch: 4, Owner: fmt.Sprint("server-", i)}
				wg.Add(1)
				go func() { defer wg.Done(); d.Run(ctx) }()
			}
			waitUntil(t, "every message sent", func() bool {
				unsent, _, err := stores[0].OutboxBacklog(context.Background())
				return err == nil && unsent == 0
			})
			stop()
			wg.Wait()
			got := srv.messages()
			ids := map[string]int{}
			for _, m := range got {
				msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
				if err != nil {
					t.Fatal(err)
				}
				ids[msg.Header.Get("Message-Id")]++
			}
			if len(got) != n || len(ids) != n {
				t.Errorf("the SMTP server received %d messages with %d Message-IDs, want %d and %d", len(got), len(ids), n, n)
			}
		})
	}
}

// A server that dies mid-send leaves its lease to run out; another server
// then sends the message, under the same Message-ID.
func TestDelivery_DeadServersLeaseRunsOut(t *testing.T) {
	clock := modelstest.NewClock()
	stores := modelstest.OpenServers(t, "sqlite", 2, models.WithClock(clock.Now))
	msg := enqueueTestEmail(t, stores[0], "ada@example.com")
	ctx := context.Background()
	// The first server claims the message and dies before recording anything.
	if got, err := stores[0].ClaimEmails(ctx, "dead", 2*time.Minute, 10); err != nil || len(got) != 1 {
		t.Fatalf("claim: %v, %v", got, err)
	}
	mailer := &recordingMailer{}
	d := &Delivery{Store: stores[1], Mailer: mailer, Log: quietLog}
	if sent, _, err := d.RunOnce(ctx); sent != 0 || err != nil {
		t.Fatalf("while the lease runs: sent %d, %v", sent, err)
	}
	clock.Advance(2 * time.Minute)
	if sent, _, err := d.RunOnce(ctx); sent != 1 || err != nil || len(mailer.sent) != 1 || mailer.sent[0] != msg.ID {
		t.Fatalf("after the lease ran out: sent %d (%v), %v", sent, mailer.sent, err)
	}
}

// blockingMailer holds every send until its context ends, like an SMTP
// server that stopped answering.
type blockingMailer struct{ started chan uint }

func (b *blockingMailer) Send(ctx context.Context, m models.OutboxMessage) error {
	b.started <- m.ID
	<-ctx.Done()
	return ctx.Err()
}

// A server stopping mid-send hands the message back, due at once for the
// next server, with no failed attempt counted.
func TestDelivery_HandBackOnShutdown(t *testing.T) {
	store := modelstest.Open(t)
	first := enqueueTestEmail(t, store, "first@example.com")
	second := enqueueTestEmail(t, store, "second@example.com")
	mailer := &blockingMailer{started: make(chan uint, 2)}
	d := &Delivery{Store: store, Mailer: mailer, Log: quietLog}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	<-mailer.started
	stop()
	<-done
	for _, m := range []models.OutboxMessage{first, second} {
		got := loadTestEmail(t, store, m.ID)
		if got.LeaseOwner != "" || got.LeaseUntil != nil || got.Attempts != 0 || got.SentAt != nil || got.LastError != "" {
			t.Errorf("message %d after shutdown: owner %q, lease %v, attempts %d, error %q",
				m.ID, got.LeaseOwner, got.LeaseUntil, got.Attempts, got.LastError)
		}
	}
	if due, err := store.ClaimEmails(context.Background(), "next", time.Minute, 10); err != nil || len(due) != 2 {
		t.Errorf("the next server claims %d messages (%v), want both", len(due), err)
	}
}
