package web

import (
	"context"
	"time"

	"switchboard/models"
)

// registerTasks registers the console's periodic work with the scheduler.
// Expired invitations have no effect to apply (the users list works out
// "Invitation expired" when it reads them), so nothing runs for them.
// Expired access requests read as expired at once too; a task records
// them as such.
func (s *Server) registerTasks() {
	hourly := models.Schedule{Every: models.Hourly}
	// Daily clean-ups run at night in UTC, a few minutes apart.
	at := func(h, m int) models.Schedule {
		return models.Schedule{Every: models.Daily, At: time.Duration(h)*time.Hour + time.Duration(m)*time.Minute}
	}
	for _, t := range []struct {
		name  string
		when  models.Schedule
		prune func(context.Context) (int64, error)
	}{
		{"prune-sessions", hourly, s.store.PruneSessions},
		{"prune-tokens", at(3, 10), s.store.PruneTokens},
		{"prune-sent-emails", at(3, 20), s.store.PruneSentEmails},
		{"prune-jobs", at(3, 30), s.store.PruneJobs},
		// Requests already read as expired after 30 days; this records it,
		// so that counts of waiting requests stay right.
		{"expire-access-requests", hourly, s.store.ExpireAccessRequests},
		// PruneThrottles keeps whatever is still counting, so "now" is
		// as old as it may be asked.
		{"prune-throttles", hourly, func(ctx context.Context) (int64, error) {
			return s.store.PruneThrottles(ctx, s.store.Now())
		}},
	} {
		s.Scheduler.Register(Task{Name: t.name, Schedule: t.when, Run: func(ctx context.Context, run ScheduledRun) error {
			n, err := t.prune(ctx)
			if err == nil {
				s.log.Info("pruned", "task", t.name, "period", run.Period, "rows", n)
			}
			return err
		}})
	}
}
