package calls

import (
	"context"
	"slices"
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
	plan := func(q *logQuery, build func() (string, []any)) string {
		sql, args := build()
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
			[]string{"COVERING INDEX idx_calls_company_walk"}, []string{"TEMP B-TREE"}},
		{"a Manager's three companies", &logQuery{f: LogFilter{Limit: 50, Outcome: OutcomeMissed, FirstTime: true}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies}},
			[]string{"COVERING INDEX idx_calls_company_walk"}, []string{"SEARCH calls USING INDEX"}},
		{"the whole account", &logQuery{f: LogFilter{Limit: 50, Qualified: true, Outcome: OutcomeAnswered, FirstTime: true}, after: after, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true, Inactive: []uint{9}}},
			[]string{"COVERING INDEX idx_calls_account_walk"}, []string{"TEMP B-TREE", "SEARCH calls USING INDEX"}},
		{"a tag across the account", &logQuery{f: LogFilter{Limit: 50, TagID: 4}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true}},
			[]string{"idx_call_tags_tag_time"}, []string{"TEMP B-TREE"}},
		{"a search across the account", &logQuery{f: LogFilter{Limit: 50}, search: []string{"r:4310", "d:0134"}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true}},
			[]string{"idx_caller_terms_term", "COVERING INDEX idx_calls_caller_walk"}, nil},
		{"a search in one company", &logQuery{f: LogFilter{Limit: 50}, search: []string{"w:smith"}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies[:1]}},
			[]string{"caller_terms", "COVERING INDEX idx_calls_caller_walk"}, nil},
		{"a number in a Manager's companies", &logQuery{f: LogFilter{Limit: 50}, search: []string{"d:6648", "n:6648", "r:8466"}, scope: &models.CapabilityScope{AccountID: 1, Companies: companies}},
			[]string{"caller_terms_1 (company_id=? AND term>? AND term<?)", "COVERING INDEX idx_calls_caller_walk"}, []string{"(company_id=?)"}},
		{"a common word across the account", &logQuery{f: LogFilter{Limit: 50}, search: []string{"w:smith"}, commonSearch: true, scope: &models.CapabilityScope{AccountID: 1, Companies: companies, WholeAccount: true}},
			[]string{"COVERING INDEX idx_calls_account_walk", "COVERING INDEX idx_caller_terms_caller_term"}, []string{"TEMP B-TREE", "SEARCH calls USING INDEX"}},
		{"a common word in a Manager's companies", &logQuery{f: LogFilter{Limit: 50, Outcome: OutcomeMissed}, search: []string{"w:smith"}, commonSearch: true, scope: &models.CapabilityScope{AccountID: 1, Companies: companies}},
			[]string{"COVERING INDEX idx_calls_company_walk", "COVERING INDEX idx_caller_terms_caller_term"}, []string{"SEARCH calls USING INDEX"}},
	}
	// How many callers a search finds (commonSearch): a range per
	// company and term, not every term of each company.
	found, args := foundCallers("1", []string{"d:6648", "n:6648", "r:8466"}, []uint{1, 2, 3})
	var rows []struct {
		ID, Parent, Notused int
		Detail              string
	}
	if err := db.Raw("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM ("+found+" LIMIT 300) AS found", args...).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r.Detail, "(company_id=?)") || strings.HasPrefix(r.Detail, "SCAN t") {
			t.Errorf("counting found callers walks every term of a company: %s", r.Detail)
		}
	}
	for _, c := range cases {
		p := plan(c.q, c.q.build)
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
		// The page's statement walks the same way, then reads each of its
		// rows by primary key: the call, its number and its tags.
		page := plan(c.q, c.q.page)
		t.Logf("%s, the page:\n%s", c.name, page)
		for _, w := range append(slices.Clone(c.want), "SEARCH calls USING INTEGER PRIMARY KEY", "SEARCH n USING INTEGER PRIMARY KEY",
			"SEARCH call_tags USING COVERING INDEX sqlite_autoindex_call_tags_1 (call_id=?)") {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page's plan does not use %s:\n%s", c.name, w, page)
			}
		}
		for _, line := range strings.Split(page, "\n") {
			// Scanning a co-routine (the walk, a company's branch) is
			// reading its rows; scanning a table is not allowed.
			if strings.HasPrefix(line, "SCAN ") && line != "SCAN page" && !strings.HasPrefix(line, "SCAN b") {
				t.Errorf("%s: the page's plan scans a table: %s\n%s", c.name, line, page)
			}
		}
	}
}
