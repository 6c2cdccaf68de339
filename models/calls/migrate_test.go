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

// A database of an earlier version has the narrower indexes the Call Log
// walked before: starting the area drops them (the wider ones replace
// them), on both databases, and a second start finds nothing to do.
func TestOpen_DropsReplacedIndexes(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			if _, err := calls.Open(ctx, store); err != nil {
				t.Fatal(err)
			}
			db := store.DB()
			old := map[string]string{
				"idx_calls_account_time":     "CREATE INDEX idx_calls_account_time ON calls(account_id, started_at, id)",
				"idx_calls_company_time":     "CREATE INDEX idx_calls_company_time ON calls(company_id, started_at, id)",
				"idx_calls_caller_time":      "CREATE INDEX idx_calls_caller_time ON calls(caller_id, started_at, id)",
				"idx_caller_terms_caller_id": "CREATE INDEX idx_caller_terms_caller_id ON caller_terms(caller_id)",
			}
			tables := map[string]string{"idx_caller_terms_caller_id": "caller_terms"}
			table := func(name string) string {
				if t, ok := tables[name]; ok {
					return t
				}
				return "calls"
			}
			for name, ddl := range old {
				if err := db.Exec(ddl).Error; err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			for range 2 {
				if _, err := calls.Open(ctx, store); err != nil {
					t.Fatal(err)
				}
				m := db.Migrator()
				for name := range old {
					if m.HasIndex(table(name), name) {
						t.Errorf("%s is still there", name)
					}
				}
				for _, name := range []string{"idx_calls_account_walk", "idx_calls_company_walk", "idx_calls_caller_walk"} {
					if !m.HasIndex("calls", name) {
						t.Errorf("%s is missing", name)
					}
				}
				if !m.HasIndex("caller_terms", "idx_caller_terms_caller_term") {
					t.Error("idx_caller_terms_caller_term is missing")
				}
			}
		})
	}
}
