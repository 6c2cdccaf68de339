package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"switchboard/models"
)

// Scheduled work runs once per period across every server, decided by the
// database: each run of a task is a job whose key is the period
// ("task:prune-sessions" / "2026-11-23"). Every server's scheduler
// enqueues the current period's job; the unique (kind, key) makes that one
// row however many try, and the job's lease makes one server run it. The
// job mechanism then gives the run what a lock alone would not: a server
// that dies mid-run leaves the lease to expire and another finishes it, a
// failure is retried with backoff, and the jobs table is the history of
// runs. An advisory lock with a last-run row would do the deciding too, but
// only on PostgreSQL, held on one connection for the whole run, with the
// retrying and resuming still to write.
//
// After downtime a task runs once, for the latest period, marked late (not
// once per missed period), unless it asks for CatchUp.

// Task is periodic work.
type Task struct {
	// Name is the task's stable name; its runs are jobs of kind "task:"+Name.
	Name     string
	Schedule models.Schedule
	// Run does one period's work. It may be run again for the same period
	// if a server died during it, so it must be safe to repeat.
	Run func(ctx context.Context, run ScheduledRun) error
	// CatchUp is how many missed periods before the latest are run after
	// downtime, oldest first; zero runs only the latest.
	CatchUp int
}

// ScheduledRun is one run of a task.
type ScheduledRun struct {
	Task string
	// Period is the key of the period run ("2026-11-23").
	Period string
	// Due is when the period's run was due.
	Due time.Time
	// Late is true when the run was enqueued well after Due: the servers
	// were down or busy when it fell due.
	Late bool
}

// lateAfter is how long after its time a run counts as late: more than a
// scheduler tick or two can explain.
const lateAfter = 5 * time.Minute

// taskKindPrefix starts the job kind of every task.
const taskKindPrefix = "task:"

// Scheduler enqueues the runs of its tasks as they fall due; Jobs runs them.
type Scheduler struct {
	Store *models.Store
	Jobs  *Jobs
	Log   *slog.Logger
	// Interval between looks at the clock; zero means a minute.
	Interval time.Duration

	mu    sync.Mutex
	tasks []Task
	// enqueued is the latest period each task has enqueued from this
	// server, so that a tick asks the database only when a period starts.
	enqueued map[string]string
}

// taskPayload is a run's job payload.
type taskPayload struct {
	Due  time.Time `json:"due"`
	Late bool      `json:"late"`
}

// Register adds a task; its runs become jobs that j runs. It is called
// before Run.
func (s *Scheduler) Register(t Task) {
	if t.Name == "" || len(taskKindPrefix+t.Name) > 40 || t.Run == nil || t.CatchUp < 0 {
		panic(fmt.Sprintf("web: task %q: a name of up to %d bytes and a Run are required", t.Name, 40-len(taskKindPrefix)))
	}
	limit := map[models.Period]time.Duration{
		models.Hourly: time.Hour, models.Daily: 24 * time.Hour, models.Weekly: 7 * 24 * time.Hour, models.Monthly: 28 * 24 * time.Hour,
	}[t.Schedule.Every]
	if limit == 0 || t.Schedule.At < 0 || t.Schedule.At >= limit {
		panic(fmt.Sprintf("web: task %q: a %s schedule needs 0 <= At < %v", t.Name, t.Schedule.Every, limit))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tasks = append(s.tasks, t)
	log := s.log()
	s.Jobs.Register(taskKindPrefix+t.Name, JobKind{
		MaxAttempts: 5,
		Run: func(ctx context.Context, job *JobRun) error {
			var p taskPayload
			if err := job.Decode(&p); err != nil {
				return err
			}
			run := ScheduledRun{Task: t.Name, Period: job.Key, Due: p.Due, Late: p.Late}
			start := time.Now()
			err := t.Run(ctx, run)
			if err == nil {
				log.Info("scheduled task done", "task", t.Name, "period", run.Period, "late", run.Late, "took", time.Since(start))
			}
			return err
		},
	})
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Tick enqueues the runs that have fallen due, and wakes the job runner
// when it did.
func (s *Scheduler) Tick(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enqueued == nil {
		s.enqueued = map[string]string{}
	}
	now := s.Store.Now()
	var errs []error
	woke := false
	for _, t := range s.tasks {
		at, key := t.Schedule.Last(now)
		if s.enqueued[t.Name] == key {
			continue
		}
		made, err := s.enqueue(ctx, t, now, at, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("task %s: %w", t.Name, err))
			continue
		}
		s.enqueued[t.Name] = key
		woke = woke || made
	}
	if woke {
		s.Jobs.Wake()
	}
	return errors.Join(errs...)
}

// enqueue makes the job of the period ending at at, and of the missed
// periods before it the task asks to catch up, oldest first.
func (s *Scheduler) enqueue(ctx context.Context, t Task, now, at time.Time, key string) (made bool, err error) {
	kind := taskKindPrefix + t.Name
	type period struct {
		at  time.Time
		key string
	}
	runs := []period{{at, key}}
	if t.CatchUp > 0 {
		// Walk back to the last period that ran (or was enqueued); a task
		// that never ran has nothing to catch up.
		var missed []period
		found := false
		for p := (period{at, key}); len(missed) < t.CatchUp; {
			p.at, p.key = t.Schedule.Previous(p.at)
			if _, err := s.Store.FindJob(ctx, kind, p.key); err == nil {
				found = true
				break
			} else if models.ErrorCode(err) != models.NotFound {
				return false, err
			}
			missed = append(missed, p)
		}
		if !found && len(missed) == t.CatchUp {
			// Nothing within reach ran: run them only if the task ever ran.
			if found, err = s.Store.HasJobs(ctx, kind); err != nil {
				return false, err
			}
		}
		if found {
			slices.Reverse(missed)
			runs = append(missed, runs...)
		}
	}
	for _, p := range runs {
		late := now.Sub(p.at) > lateAfter
		_, created, err := s.Store.EnqueueJob(ctx, models.NewJob{
			Kind: kind, Key: p.key, Payload: taskPayload{Due: p.at, Late: late}, RunAt: now,
		})
		if err != nil {
			return made, err
		}
		if created {
			made = true
			if late {
				s.log().Warn("scheduled task late", "task", t.Name, "period", p.key, "due", p.at, "late_by", now.Sub(p.at).Round(time.Second))
			}
		}
	}
	return made, nil
}

// Run ticks until ctx ends, starting at once so that a server that was down
// catches up as soon as it is back.
func (s *Scheduler) Run(ctx context.Context) {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
