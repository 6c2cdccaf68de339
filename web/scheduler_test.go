package web

import (
	"context"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// runsRecorder is a task body that records its runs.
type runsRecorder struct {
	mu   sync.Mutex
	runs []ScheduledRun
}

func (r *runsRecorder) run(_ context.Context, run ScheduledRun) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, run)
	return nil
}

func (r *runsRecorder) periods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, run := range r.runs {
		out = append(out, run.Period)
	}
	return out
}

// scheduled is one server's scheduler and job runner.
type scheduled struct {
	s    *Scheduler
	jobs *Jobs
}

// schedulerOn gives a store a scheduler and a job runner with one task.
func schedulerOn(store *models.Store, task Task) scheduled {
	jobs := &Jobs{Store: store, Log: quietLog}
	s := &Scheduler{Store: store, Jobs: jobs, Log: quietLog}
	s.Register(task)
	return scheduled{s, jobs}
}

// tickAndRun is one scheduler tick and as many job runs as there is work,
// on each server in turn.
func tickAndRun(t *testing.T, servers ...scheduled) {
	t.Helper()
	ctx := context.Background()
	for _, srv := range servers {
		if err := srv.s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, srv := range servers {
		for {
			ran, err := srv.jobs.RunOne(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ran {
				break
			}
		}
	}
}

// Two servers tick through two days: the task runs once a day, on one of them.
func TestScheduler_OncePerPeriodAcrossServers(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock() // 2026-11-23 09:00 UTC
			stores := modelstest.OpenServers(t, dialect, 2, models.WithClock(clock.Now))
			var rec runsRecorder
			task := Task{Name: "digest", Schedule: models.Schedule{Every: models.Daily, At: 10 * time.Hour}, Run: rec.run}
			a, b := schedulerOn(stores[0], task), schedulerOn(stores[1], task)
			for range 2 * 24 * 6 { // ten-minute ticks for two days
				tickAndRun(t, a, b)
				clock.Advance(10 * time.Minute)
			}
			// The first tick (09:00) ran the 22nd's, late; then the 23rd's
			// and the 24th's at 10:00.
			want := []string{"2026-11-22", "2026-11-23", "2026-11-24"}
			if got := rec.periods(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Fatalf("runs %v, want %v", got, want)
			}
			if !rec.runs[0].Late || rec.runs[1].Late || rec.runs[2].Late {
				t.Errorf("late flags: %v %v %v, want only the first", rec.runs[0].Late, rec.runs[1].Late, rec.runs[2].Late)
			}
			if !rec.runs[1].Due.Equal(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)) {
				t.Errorf("the 23rd's run was due %v", rec.runs[1].Due)
			}
		})
	}
}

// After three days down, a task runs once, for today, marked late — unless
// it asks to catch up, and then each missed day runs once, oldest first.
func TestScheduler_AfterDowntime(t *testing.T) {
	for _, c := range []struct {
		catchUp int
		want    []string
	}{
		{0, []string{"2026-11-23", "2026-11-26"}},
		{5, []string{"2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"}},
		{1, []string{"2026-11-23", "2026-11-25", "2026-11-26"}},
	} {
		clock := modelstest.NewClock() // 2026-11-23 09:00 UTC
		store := modelstest.Open(t, models.WithClock(clock.Now))
		var rec runsRecorder
		srv := schedulerOn(store, Task{Name: "summary", Schedule: models.Schedule{Every: models.Daily, At: 8 * time.Hour},
			Run: rec.run, CatchUp: c.catchUp})
		tickAndRun(t, srv)
		clock.Advance(3*24*time.Hour + 4*time.Hour) // back on the 26th at 13:00
		// A new process: it remembers nothing of the last one.
		srv = schedulerOn(store, Task{Name: "summary", Schedule: models.Schedule{Every: models.Daily, At: 8 * time.Hour},
			Run: rec.run, CatchUp: c.catchUp})
		tickAndRun(t, srv)
		tickAndRun(t, srv)
		got := rec.periods()
		if len(got) != len(c.want) {
			t.Fatalf("catch up %d: runs %v, want %v", c.catchUp, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("catch up %d: runs %v, want %v", c.catchUp, got, c.want)
			}
			if i > 0 && !rec.runs[i].Late {
				t.Errorf("catch up %d: the run for %s is not marked late", c.catchUp, got[i])
			}
		}
	}
}

// A failing run is retried by the job runner, for the same period.
func TestScheduler_FailedRunIsRetried(t *testing.T) {
	clock := modelstest.NewClock()
	store := modelstest.Open(t, models.WithClock(clock.Now))
	var rec runsRecorder
	fail := true
	srv := schedulerOn(store, Task{Name: "prune", Schedule: models.Schedule{Every: models.Hourly},
		Run: func(ctx context.Context, run ScheduledRun) error {
			if fail {
				fail = false
				return context.DeadlineExceeded
			}
			return rec.run(ctx, run)
		}})
	tickAndRun(t, srv)
	if len(rec.periods()) != 0 {
		t.Fatal("the failing run was recorded")
	}
	clock.Advance(models.EmailRetryDelay(1))
	tickAndRun(t, srv)
	if got := rec.periods(); len(got) != 1 || got[0] != "2026-11-23T09Z" {
		t.Errorf("runs %v, want the 09:00 hour once", got)
	}
}

// The console's own tasks are registered and run.
func TestServer_RegistersCleanupTasks(t *testing.T) {
	ts := newTestServer(t)
	if err := ts.app.Scheduler.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	for {
		ran, err := ts.app.Jobs.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			break
		}
	}
	for _, name := range []string{"prune-sessions", "prune-tokens", "prune-sent-emails", "prune-jobs", "prune-throttles"} {
		var j models.Job
		if err := ts.store.DB().Where("kind = ?", "task:"+name).Take(&j).Error; err != nil || j.State != models.JobDone {
			t.Errorf("task %s: %+v, %v", name, j, err)
		}
	}
}
