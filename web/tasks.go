package web

import (
	"context"
	"fmt"
	"time"

	"switchboard/models"
	"switchboard/models/notify"
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
		{"prune-import-rows", at(3, 40), s.store.PruneImportRows},
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

// registerNotifyTasks runs the summary emails every quarter of an hour (on
// the quarter, four hourly tasks), so that 08:00 in a zone a half or
// quarter hour off UTC is on time too. Each run writes what has come due
// and was not written yet, once per recipient and period whichever server
// runs it (models/notify).
func (s *Server) registerNotifyTasks(n *notify.Service) {
	for _, minute := range []int{0, 15, 30, 45} {
		name := fmt.Sprintf("notify-summaries-%02d", minute)
		s.Scheduler.Register(Task{Name: name, Schedule: models.Schedule{Every: models.Hourly, At: time.Duration(minute) * time.Minute},
			Run: func(ctx context.Context, run ScheduledRun) error {
				res, err := n.SendDueSummaries(ctx)
				if res.Due > 0 || err != nil {
					s.log.Info("summary emails", "task", name, "period", run.Period, "due", res.Due, "enqueued", res.Enqueued, "late", res.Late)
				}
				if res.Enqueued > 0 {
					s.Wake()
				}
				return err
			}})
	}
}
