package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/models"
)

// This file runs the background work that models keeps as leased rows
// (models/jobs.go): the workers that claim jobs, keep their leases alive
// while they run, and finish them or hand them back.

// workerID names this process in lease_owner columns: its host, its
// process ID and a random part, so that two processes on one host, or one
// restarted with the same ID, never pass for each other.
func workerID() string {
	host, _ := os.Hostname()
	if len(host) > 24 {
		host = host[:24]
	}
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// claimOwners hands out one owner string per claim: the worker's ID and a
// sequence number. A row claimed again by the same process after its lease
// ran out is then not mistaken for the earlier claim.
type claimOwners struct {
	once sync.Once
	base string
	seq  atomic.Uint64
}

func (c *claimOwners) next(base string) string {
	c.once.Do(func() {
		c.base = base
		if c.base == "" {
			c.base = workerID()
		}
	})
	return c.base + "/" + strconv.FormatUint(c.seq.Add(1), 10)
}

// releaseTimeout bounds handing back or finishing work. It runs even while
// the worker is stopping: work finished just before shutdown must be
// recorded, and work not finished handed back, or the next server waits
// for the lease to run out.
const releaseTimeout = 10 * time.Second

// leaseHolder keeps the leases of claimed rows alive while a worker works
// through them: every third of the lease it extends those not yet
// finished. A row whose lease was lost (the heartbeat came too late and
// another worker took it) is dropped and reported to lost.
type leaseHolder struct {
	store *models.Store
	queue models.Queue
	owner string
	lease time.Duration
	lost  func(id uint)
	log   *slog.Logger

	mu   sync.Mutex
	held map[uint]bool
	stop chan struct{}
	done chan struct{}
}

func holdLeases(store *models.Store, q models.Queue, owner string, lease time.Duration, ids []uint, lost func(uint), log *slog.Logger) *leaseHolder {
	h := &leaseHolder{store: store, queue: q, owner: owner, lease: lease, lost: lost, log: log,
		held: make(map[uint]bool, len(ids)), stop: make(chan struct{}), done: make(chan struct{})}
	for _, id := range ids {
		h.held[id] = true
	}
	go h.beat()
	return h
}

func (h *leaseHolder) beat() {
	defer close(h.done)
	t := time.NewTicker(h.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ids := h.ids()
		if len(ids) == 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.lease/3)
		held, err := h.store.ExtendLeases(ctx, h.queue, h.owner, ids, h.lease)
		cancel()
		if err != nil {
			// Two thirds of the lease are left: the next beat tries again.
			h.log.Warn("extend leases", "queue", string(h.queue), "err", err)
			continue
		}
		for _, id := range ids {
			if slices.Contains(held, id) {
				continue
			}
			h.mu.Lock()
			delete(h.held, id)
			h.mu.Unlock()
			h.log.Warn("lease lost: another worker has taken the work over", "queue", string(h.queue), "id", id)
			if h.lost != nil {
				h.lost(id)
			}
		}
	}
}

func (h *leaseHolder) ids() []uint {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]uint, 0, len(h.held))
	for id := range h.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// holds tells whether the row's lease is still ours.
func (h *leaseHolder) holds(id uint) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held[id]
}

// finished stops extending a row that was finished (done or failed).
func (h *leaseHolder) finished(id uint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.held, id)
}

// release stops the heartbeat and hands back every row not finished.
func (h *leaseHolder) release(ctx context.Context) error {
	close(h.stop)
	<-h.done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	return h.store.ReleaseLeases(ctx, h.queue, h.owner, h.ids())
}

// JobKind says how jobs of one kind are done.
type JobKind struct {
	// Run does one job and returns nil when it is done, or an error to
	// have it tried again later. Its context ends when the server stops or
	// the job's lease is lost; Run should then return soon: the job is
	// handed back, and another worker runs it again from the start, so a
	// kind with many items records which are done in its own tables.
	Run func(ctx context.Context, job *JobRun) error
	// MaxAttempts is how many failed attempts are allowed before the job is
	// given up (marked failed); zero means 10.
	MaxAttempts int
	// Backoff is the wait after the n-th failed attempt; nil means
	// models.EmailRetryDelay (30 s, 1, 2, 5, 10, 30 min, then hourly).
	Backoff func(attempts int) time.Duration
}

// JobRun is one run of a job: the job as it was claimed, and the way to
// record its progress.
type JobRun struct {
	models.Job
	store *models.Store
	owner string
}

// Progress records that done of total items are done, for whoever follows
// the job. It fails with models.ErrLeaseLost once another worker has it.
func (r *JobRun) Progress(ctx context.Context, done, total int) error {
	return r.store.JobProgress(ctx, r.owner, r.ID, done, total)
}

// Jobs runs the queued jobs of the kinds registered with it, a few at a
// time, on every server: the claim decides which server runs which.
type Jobs struct {
	Store   *models.Store
	Log     *slog.Logger
	Metrics *Metrics
	// Owner names this process in leases; empty means workerID().
	Owner string
	// Lease is how long a claim lasts without a heartbeat; zero means 2 min.
	Lease time.Duration
	// Interval between looks for due jobs; zero means 5 s.
	Interval time.Duration
	// Workers is how many jobs run at once; zero means 2.
	Workers int

	kinds  map[string]JobKind
	owners claimOwners
	once   sync.Once
	wake   chan struct{}
}

// Register makes the runner claim jobs of kind. It is called before Run.
func (j *Jobs) Register(kind string, k JobKind) {
	if k.Run == nil {
		panic("web: job kind " + kind + " has no Run")
	}
	if j.kinds == nil {
		j.kinds = map[string]JobKind{}
	}
	if _, dup := j.kinds[kind]; dup {
		panic("web: job kind " + kind + " registered twice")
	}
	j.kinds[kind] = k
}

func (j *Jobs) wakeChan() chan struct{} {
	j.once.Do(func() { j.wake = make(chan struct{}, 1) })
	return j.wake
}

// Wake nudges the runner to look for due jobs now; it never blocks.
func (j *Jobs) Wake() {
	select {
	case j.wakeChan() <- struct{}{}:
	default:
	}
}

func (j *Jobs) log() *slog.Logger {
	if j.Log == nil {
		return slog.Default()
	}
	return j.Log
}

func (j *Jobs) lease() time.Duration {
	if j.Lease <= 0 {
		return 2 * time.Minute
	}
	return j.Lease
}

// Run runs jobs until ctx ends, then waits for the jobs under way, which
// are handed back unless they finished.
func (j *Jobs) Run(ctx context.Context) {
	interval := j.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	workers := j.Workers
	if workers <= 0 {
		workers = 2
	}
	wake := j.wakeChan()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(interval)
			defer timer.Stop()
			for {
				ran, err := j.RunOne(ctx)
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					j.log().Error("jobs", "err", err)
				}
				if ran && err == nil {
					continue // there may be more
				}
				timer.Reset(interval)
				select {
				case <-ctx.Done():
					return
				case <-wake:
				case <-timer.C:
				}
			}
		}()
	}
	wg.Wait()
}

// RunOne claims one due job and runs it. ran is false when none was due.
func (j *Jobs) RunOne(ctx context.Context) (ran bool, err error) {
	kinds := make([]string, 0, len(j.kinds))
	for k := range j.kinds {
		kinds = append(kinds, k)
	}
	owner := j.owners.next(j.Owner)
	claimed, err := j.Store.ClaimJobs(ctx, owner, kinds, j.lease(), 1)
	if err != nil || len(claimed) == 0 {
		return false, err
	}
	job := claimed[0]
	kind := j.kinds[job.Kind]
	log := j.log().With("job_id", job.ID, "kind", job.Kind, "key", job.Key, "attempt", job.Attempts+1)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var lost atomic.Bool
	hold := holdLeases(j.Store, models.JobQueue, owner, j.lease(), []uint{job.ID},
		func(uint) { lost.Store(true); cancel() }, log)
	start := time.Now()
	runErr := runJob(runCtx, kind.Run, &JobRun{Job: job, store: j.Store, owner: owner})

	finishCtx, done := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer done()
	result := "done"
	switch {
	case runErr == nil:
		hold.finished(job.ID)
		err = j.Store.CompleteJob(finishCtx, job.ID)
		log.Info("job done", "took", time.Since(start))
	case lost.Load():
		result = "lost"
	case ctx.Err() != nil:
		// Stopping is not the job's failure: hand it back, uncounted.
		result = "handed back"
	default:
		hold.finished(job.ID)
		attempts := job.Attempts + 1
		retryAt := time.Time{}
		if max := kind.MaxAttempts; attempts < max || (max <= 0 && attempts < 10) {
			backoff := kind.Backoff
			if backoff == nil {
				backoff = models.EmailRetryDelay
			}
			retryAt = j.Store.Now().Add(backoff(attempts))
			result = "retry"
			log.Warn("job failed; will retry", "retry_at", retryAt, "err", runErr)
		} else {
			result = "failed"
			log.Error("job failed; giving up", "err", runErr)
		}
		err = j.Store.FailJob(finishCtx, owner, job.ID, runErr, retryAt)
	}
	if rerr := hold.release(ctx); err == nil {
		err = rerr
	}
	j.Metrics.jobFinished(job.Kind, result)
	if errors.Is(err, models.ErrLeaseLost) {
		err = nil // another worker has the job; it decides
	}
	return true, err
}

// runJob runs one job, turning a panic into its failure.
func runJob(ctx context.Context, run func(context.Context, *JobRun) error, job *JobRun) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return run(ctx, job)
}
