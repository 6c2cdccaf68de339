package web

import (
	"context"

	"switchboard/models"
)

// registerBulk lets the job runner do the users list's bulk actions
// (models/bulk.go). A run stopped anywhere (a restart, a lost lease) is
// run again from the people not yet done.
func (s *Server) registerBulk() {
	s.Jobs.Register(models.BulkJobKind, JobKind{
		Run: func(ctx context.Context, run *JobRun) error {
			return s.store.RunBulk(ctx, &run.Job, func(done, total int) error { return run.Progress(ctx, done, total) })
		},
	})
}
