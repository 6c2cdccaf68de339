package calls

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// The Call Log's queries are written for particular indexes; SQLite's plan
// shows whether it uses them (PostgreSQL picks by statistics, so its plans
// are measured by the benchmark with --db postgres://… instead). A walk that
// needs no sort reads one page's worth of rows however many calls exist.
func TestCallLog_PlansUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	store := modelstest.Open(t)
	if _, err := Open(ctx, store); err != nil {
		t.Fatal(err)
	}
	db := store.DB()
	companies := []models.Company{{ID: 1, TimeZone: "UTC"}, {ID: 2, TimeZone: "America/Chicago"}, {ID: 3, TimeZone: "UTC"}}
	after := &logCursor{at: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), id: 500}
	plan := func(q *logQuery) string {
		sql, args := q.build()
		var rows []struct {
			ID, Parent, Notused int
			Detail              string
		}
		if err := db.Raw("EXPLAIN QUERY PLAN "+sql, args...).Scan(&rows).Error; err != nil {
			t.Fatalf("explain: %v\n%s", err, sql)
		}
		var lines []string
		for _, r := range rows {
			lines = append(lines, r.Detail)
		}
		return strings.Join(lines, "\n")
	}
	cases := []struct {
		name    string
		q       *logQuery
		want    []string
		notWant []string
	}{
		{"one company", &logQuery{f: LogFilter{Limit: 50}, after: after, scope: &models.CapabilityScope{AccountID: 1, Companies: companies[:1]}},
			[]string{"idx_calls_company_time"}, []string{"TEMP B-TREE"}},
		{"a Manager's three companies", &logQuery{f: LogFilter{Limit: 50, Outcome: OutcomeMissed}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies}},
			[]string{"idx_calls_company_time"}, nil},
		{"the whole account", &logQuery{f: LogFilter{Limit: 50, Qualified: true}, after: after, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true, Inactive: []uint{9}}},
			[]string{"idx_calls_account_time"}, []string{"TEMP B-TREE"}},
		{"a tag across the account", &logQuery{f: LogFilter{Limit: 50, TagID: 4}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true}},
			[]string{"idx_call_tags_tag_time"}, []string{"TEMP B-TREE"}},
		{"a search across the account", &logQuery{f: LogFilter{Limit: 50}, search: []string{"r:4310", "d:0134"}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true}},
			[]string{"idx_caller_terms_term", "idx_calls_caller_time"}, nil},
		{"a search in one company", &logQuery{f: LogFilter{Limit: 50}, search: []string{"w:smith"}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies[:1]}},
			[]string{"caller_terms", "idx_calls_caller_time"}, nil},
		{"a common word across the account", &logQuery{f: LogFilter{Limit: 50}, search: []string{"w:smith"}, commonSearch: true, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true}},
			[]string{"idx_calls_account_time", "idx_caller_terms_caller_id"}, []string{"TEMP B-TREE"}},
	}
	for _, c := range cases {
		p := plan(c.q)
		t.Logf("%s:\n%s", c.name, p)
		for _, w := range c.want {
			if !strings.Contains(p, w) {
				t.Errorf("%s: the plan does not use %s:\n%s", c.name, w, p)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(p, w) {
				t.Errorf("%s: the plan has %s:\n%s", c.name, w, p)
			}
		}
	}
}
