package calls_test

import (
	"context"
	"sync"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

// open starts a server as cmd does: the core, then the calls area.
func open(ctx context.Context, dsn string) (*models.Store, error) {
	s, err := models.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := calls.Open(ctx, s); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Servers starting at once on a fresh PostgreSQL schema, each with the
// calls area: the area's tables are migrated like the core's, one server
// at a time, so none fails (the area migrating beside another server's
// core migration deadlocked on the foreign keys between their tables, and
// two servers creating the area's tables at once collided).
func TestOpen_ServersStartingAtOnceWithTheArea(t *testing.T) {
	for round := range 3 {
		dsn := modelstest.DSN(t, "postgres")
		const servers = 5
		var wg sync.WaitGroup
		errs := make([]error, servers)
		for i := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := open(context.Background(), dsn)
				if err == nil {
					s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d, server %d: %v", round, i, err)
			}
		}
	}
}
