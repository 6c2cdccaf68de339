package models

// Background work is rows in the database, claimed with a lease. One
// mechanism serves every kind of it (the outbox now; scheduled tasks,
// summary emails, bulk actions, imports, outgoing webhooks and invoices as
// they come), so that each is run once across instances, retried with
// backoff, idempotent by key and resumed after a restart:
//
//   - A worker claims due rows by writing its owner string and a lease
//     expiry on them, in one statement that skips rows another worker has
//     locked (FOR UPDATE SKIP LOCKED on PostgreSQL; on SQLite every write
//     goes through one writer, so the statement is atomic anyway).
//   - While it works it extends the lease (a heartbeat). A worker that dies
//     stops extending it; when the lease expires the row is due again and
//     another worker claims it: at-least-once.
//   - It finishes the row (done, or failed with a time to retry), or hands
//     it back on shutdown (the lease is released, so another instance takes
//     it at once). Everything but "done" is conditional on still holding
//     the lease, so a worker that lost its lease cannot undo the work of
//     the one that took it over.
//
// Two tables are queues: jobs, and the outbox. Outbox messages are not
// jobs: they were there first, the users list reads their attempts and
// errors, and a job row beside every email would double the writes of the
// wizard, which is at the writer's limit. They carry the same lease columns
// and are claimed, extended and released by the same code below.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Queue names a table of leased work.
type Queue string

const (
	// JobQueue is the jobs table.
	JobQueue Queue = "jobs"
	// OutboxQueue is the outbox: email waiting to be delivered.
	OutboxQueue Queue = "outbox_messages"
)

// columns returns the queue's table, the column saying when a row may next
// be tried, and the condition of rows not yet finished.
func (q Queue) columns() (table, due, open string) {
	switch q {
	case JobQueue:
		return "jobs", "run_at", "state = 'queued'"
	case OutboxQueue:
		return "outbox_messages", "next_attempt_at", "sent_at IS NULL"
	}
	panic("models: unknown queue " + string(q))
}

// maxLeaseOwner is the size of the lease_owner columns.
const maxLeaseOwner = 64

// ErrLeaseLost answers a change to a row whose lease the caller no longer
// holds: it expired and another worker claimed the row, or the row is
// finished or gone.
var ErrLeaseLost = errors.New("the lease on this work was lost")

func checkLease(owner string, lease time.Duration) error {
	if owner == "" || len(owner) > maxLeaseOwner {
		return fmt.Errorf("lease owner must be 1 to %d bytes", maxLeaseOwner)
	}
	if lease <= 0 {
		return errors.New("lease must be positive")
	}
	return nil
}

// claim leases up to limit due, unfinished, unleased rows of q to owner
// until now+lease, the longest waiting first, and returns their IDs. where
// narrows the rows (with its arguments), or is "".
func (s *Store) claim(ctx context.Context, q Queue, owner string, lease time.Duration, limit int, where string, args ...any) ([]uint, error) {
	if err := checkLease(owner, lease); err != nil {
		return nil, fmt.Errorf("claim %s: %w", q, err)
	}
	if limit <= 0 {
		return nil, nil
	}
	now := s.Now()
	vars := append([]any{owner, now.Add(lease), now, now}, args...)
	vars = append(vars, limit)
	var ids []uint
	err := s.tx(ctx, func(tx *gorm.DB) error {
		ids = ids[:0]
		return tx.Raw(claimSQL(s.Dialect, q, where), vars...).Scan(&ids).Error
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s: %w", q, err)
	}
	return ids, nil
}

// claimSQL is the statement of claim: its parameters are the owner, the
// lease's end, now twice, where's arguments and the limit.
func claimSQL(dialect string, q Queue, where string) string {
	table, due, open := q.columns()
	pick := `SELECT id FROM ` + table + ` WHERE ` + open + ` AND ` + due + ` <= ? AND (lease_until IS NULL OR lease_until <= ?)`
	if where != "" {
		pick += " AND " + where
	}
	pick += ` ORDER BY ` + due + `, id LIMIT ?`
	if dialect == "postgres" {
		// Rows another worker is claiming right now are passed over rather
		// than waited for; a row claimed and committed meanwhile fails the
		// lease condition when PostgreSQL checks it again under the lock.
		pick += ` FOR UPDATE SKIP LOCKED`
	}
	return `UPDATE ` + table + ` SET lease_owner = ?, lease_until = ? WHERE id IN (` + pick + `) RETURNING id`
}

// ExtendLeases is the heartbeat of a worker: it moves the lease on each of
// ids that owner still holds to now+lease, and returns those it still
// holds. The others were lost (see ErrLeaseLost) and must be left alone.
func (s *Store) ExtendLeases(ctx context.Context, q Queue, owner string, ids []uint, lease time.Duration) ([]uint, error) {
	if err := checkLease(owner, lease); err != nil {
		return nil, fmt.Errorf("extend leases: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	table, _, open := q.columns()
	var held []uint
	err := s.tx(ctx, func(tx *gorm.DB) error {
		held = held[:0]
		return tx.Raw(`UPDATE `+table+` SET lease_until = ? WHERE id IN ? AND lease_owner = ? AND `+open+` RETURNING id`,
			s.Now().Add(lease), ids, owner).Scan(&held).Error
	})
	if err != nil {
		return nil, fmt.Errorf("extend leases on %s: %w", q, err)
	}
	return held, nil
}

// ReleaseLeases hands back the rows of ids that owner holds, unchanged
// otherwise: they are due again at once, for any worker. A worker calls it
// for what it claimed but did not finish when it stops.
func (s *Store) ReleaseLeases(ctx context.Context, q Queue, owner string, ids []uint) error {
	if len(ids) == 0 {
		return nil
	}
	table, _, _ := q.columns()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE `+table+` SET lease_owner = '', lease_until = NULL WHERE id IN ? AND lease_owner = ?`, ids, owner).Error
	})
	if err != nil {
		return fmt.Errorf("release leases on %s: %w", q, err)
	}
	return nil
}

// JobState is where a job stands. A queued job is waiting for its run_at,
// running (leased), or waiting to be retried after a failure.
type JobState string

const (
	JobQueued JobState = "queued"
	JobDone   JobState = "done"
	// JobFailed: given up after the attempts its kind allows.
	JobFailed JobState = "failed"
)

// Column sizes of Job that are checked before writing.
const (
	maxJobKind = 40
	maxJobKey  = 200
	maxJobErr  = 1000
)

// Job is one piece of background work of some kind. Kind and Key make it
// unique: enqueueing the same work twice finds the job already there.
type Job struct {
	ID   uint   `gorm:"primaryKey"`
	Kind string `gorm:"size:40;not null;uniqueIndex:idx_jobs_kind_key,priority:1"`
	// Key says which work of its kind this is ("2026-11-23" for a daily
	// task, a form's idempotency key for a bulk action).
	Key       string   `gorm:"column:job_key;size:200;not null;uniqueIndex:idx_jobs_kind_key,priority:2"`
	AccountID *uint    `gorm:"index"`
	Account   *Account `gorm:"constraint:OnDelete:CASCADE"`
	// CreatedByID is the membership that started the job, who may follow
	// its progress; not a foreign key, so the job outlives their deletion.
	CreatedByID *uint
	// Payload is the kind's own JSON.
	Payload    string    `gorm:"type:text;not null"`
	State      JobState  `gorm:"size:16;not null;index:idx_jobs_due,priority:1"`
	RunAt      time.Time `gorm:"not null;index:idx_jobs_due,priority:2"`
	Attempts   int       `gorm:"not null;default:0"`
	LastError  string    `gorm:"size:1000;not null;default:''"`
	LeaseOwner string    `gorm:"size:64;not null;default:''"`
	LeaseUntil *time.Time
	// Done of Total is the progress the job reports; what each item came
	// to is the kind's business.
	Done       int `gorm:"not null;default:0"`
	Total      int `gorm:"not null;default:0"`
	CreatedAt  time.Time
	FinishedAt *time.Time
}

// Decode reads the job's payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal([]byte(j.Payload), v); err != nil {
		return fmt.Errorf("job %d (%s) payload: %w", j.ID, j.Kind, err)
	}
	return nil
}

// Running tells whether a worker holds the job at now.
func (j *Job) Running(now time.Time) bool {
	return j.State == JobQueued && j.LeaseUntil != nil && now.Before(*j.LeaseUntil)
}

// NewJob is what enqueueing a job takes.
type NewJob struct {
	Kind, Key              string
	AccountID, CreatedByID *uint
	// Payload is encoded as JSON; nil gives {}.
	Payload any
	// RunAt is when the job is due; the zero time means now.
	RunAt time.Time
}

// EnqueueJobTx records a job inside tx, the transaction of the change that
// asks for it, so both are written or neither. When a job of the same kind
// and key exists (whatever its state), nothing is written and that job is
// returned with created false. Area packages call it in their own
// transactions; the core calls it in its.
func (s *Store) EnqueueJobTx(tx *gorm.DB, in NewJob) (job *Job, created bool, err error) {
	switch {
	case in.Kind == "" || len(in.Kind) > maxJobKind || strings.TrimSpace(in.Kind) != in.Kind:
		return nil, false, fmt.Errorf("enqueue job: kind %q must be 1 to %d bytes", in.Kind, maxJobKind)
	case in.Key == "" || len(in.Key) > maxJobKey:
		return nil, false, fmt.Errorf("enqueue %s job: key must be 1 to %d bytes", in.Kind, maxJobKey)
	}
	payload := []byte("{}")
	if in.Payload != nil {
		if payload, err = json.Marshal(in.Payload); err != nil {
			return nil, false, fmt.Errorf("enqueue %s job: payload: %w", in.Kind, err)
		}
	}
	now := s.Now()
	runAt := in.RunAt.UTC()
	if in.RunAt.IsZero() {
		runAt = now
	}
	j := &Job{Kind: in.Kind, Key: in.Key, AccountID: in.AccountID, CreatedByID: in.CreatedByID,
		Payload: string(payload), State: JobQueued, RunAt: runAt, CreatedAt: now}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(j)
	if res.Error != nil {
		return nil, false, fmt.Errorf("enqueue %s job: %w", in.Kind, res.Error)
	}
	if res.RowsAffected == 1 {
		return j, true, nil
	}
	var existing Job
	if err := tx.Where("kind = ? AND job_key = ?", in.Kind, in.Key).Take(&existing).Error; err != nil {
		return nil, false, fmt.Errorf("enqueue %s job: find the existing one: %w", in.Kind, err)
	}
	return &existing, false, nil
}

// EnqueueJob records a job in a transaction of its own (see EnqueueJobTx).
func (s *Store) EnqueueJob(ctx context.Context, in NewJob) (job *Job, created bool, err error) {
	err = s.tx(ctx, func(tx *gorm.DB) error {
		job, created, err = s.EnqueueJobTx(tx, in)
		return err
	})
	return job, created, err
}

// ClaimJobs leases up to limit due jobs of the given kinds to owner, the
// longest waiting first. A worker claims only the kinds it knows how to
// run, so an older server beside a newer one leaves the new kinds alone.
func (s *Store) ClaimJobs(ctx context.Context, owner string, kinds []string, lease time.Duration, limit int) ([]Job, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	ids, err := s.claim(ctx, JobQueue, owner, lease, limit, "kind IN ?", kinds)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var jobs []Job
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Order("run_at, id").Find(&jobs).Error; err != nil {
		return nil, fmt.Errorf("load claimed jobs: %w", err)
	}
	return jobs, nil
}

// JobProgress records that owner's job has done of total items.
func (s *Store) JobProgress(ctx context.Context, owner string, id uint, done, total int) error {
	return s.updateHeldJob(ctx, owner, id, "record progress of", map[string]any{"done": done, "total": total})
}

// CompleteJob marks a job done. Work that was done is recorded even by a
// worker that lost its lease meanwhile: it is true, and the worker that
// took the job over then finds it finished.
func (s *Store) CompleteJob(ctx context.Context, id uint) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Job{}).Where("id = ? AND state = ?", id, JobQueued).Updates(map[string]any{
			"state": JobDone, "finished_at": now, "last_error": "", "lease_owner": "", "lease_until": nil,
		}).Error
	})
	if err != nil {
		return fmt.Errorf("complete job %d: %w", id, err)
	}
	return nil
}

// FailJob records a failed attempt of owner's job: it is tried again at
// retryAt, or, when retryAt is the zero time, given up (JobFailed).
func (s *Store) FailJob(ctx context.Context, owner string, id uint, cause error, retryAt time.Time) error {
	text := "unknown error"
	if cause != nil {
		text = truncateText(cause.Error(), maxJobErr)
	}
	set := map[string]any{
		"attempts": gorm.Expr("attempts + 1"), "last_error": text, "lease_owner": "", "lease_until": nil,
	}
	if retryAt.IsZero() {
		set["state"], set["finished_at"] = JobFailed, s.Now()
	} else {
		set["run_at"] = retryAt.UTC()
	}
	return s.updateHeldJob(ctx, owner, id, "record failure of", set)
}

func (s *Store) updateHeldJob(ctx context.Context, owner string, id uint, what string, set map[string]any) error {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Job{}).Where("id = ? AND lease_owner = ? AND state = ?", id, owner, JobQueued).Updates(set)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return fmt.Errorf("%s job %d: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s job %d: %w", what, id, ErrLeaseLost)
	}
	return nil
}

// FindJob returns the job of a kind and key, for following its progress.
func (s *Store) FindJob(ctx context.Context, kind, key string) (*Job, error) {
	var j Job
	err := s.db.WithContext(ctx).Where("kind = ? AND job_key = ?", kind, key).Take(&j).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find %s job: %w", kind, err)
	}
	return &j, nil
}

// HasJobs tells whether any job of kind exists, in any state.
func (s *Store) HasJobs(ctx context.Context, kind string) (bool, error) {
	var ids []uint
	if err := s.db.WithContext(ctx).Model(&Job{}).Where("kind = ?", kind).Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, fmt.Errorf("find %s jobs: %w", kind, err)
	}
	return len(ids) > 0, nil
}

// QueuedJobs counts the queued jobs of each kind, for the metrics.
func (s *Store) QueuedJobs(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		Kind string
		N    int64
	}
	err := s.db.WithContext(ctx).Model(&Job{}).Select("kind, COUNT(*) AS n").
		Where("state = ?", JobQueued).Group("kind").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count queued jobs: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Kind] = r.N
	}
	return out, nil
}
