package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"switchboard/models/modelstest"
	"testing"
)

var benchScenarios = append(append(append([]string{}, listScenarios...), callsScenarioNames...), scImport, scWizard, scLogin)

// TestBench_TinyRun runs the whole benchmark at a tiny scale, as JSON and
// as a table: every scenario runs against the real server and none fails.
// It asserts nothing about speed.
func TestBench_TinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server under load for a few seconds")
	}
	getenv := func(string) string { return "" }
	// A second per scenario: enough for a few argon2id logins even when the
	// other test packages keep both cores busy.
	args := []string{"bench", "--members", "300", "--companies", "20", "--calls", "3000", "--duration", "1s", "--conns", "2", "--writers", "2",
		"--import-rows", "200"}

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), append(args, "--json"), getenv, &stdout, &stderr); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, stderr.String())
	}
	var rep benchReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("bench --json printed no report: %v\n%s", err, stdout.String())
	}
	if rep.Hello.Requests == 0 || rep.Hello.Errors != 0 || rep.Hello.Ratio != 1 {
		t.Errorf("hello baseline: %+v", rep.Hello)
	}
	if s := rep.StaticPage; s.Scenario != scStatic || s.Requests == 0 || s.Errors != 0 || s.Ratio <= 0 || rep.NoCache {
		t.Errorf("static page baseline: %+v (no cache: %v)", s, rep.NoCache)
	}
	got := map[string]benchResult{}
	for _, r := range rep.Scenarios {
		got[r.Scenario] = r
	}
	for _, name := range benchScenarios {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("no %q in the report", name)
		case r.Requests == 0 || r.Errors != 0:
			t.Errorf("%s: %d requests, %d errors (first: %s)", name, r.Requests, r.Errors, r.FirstError)
		case r.Ratio <= 0 || r.P50Ms <= 0 || r.P99Ms < r.P50Ms:
			t.Errorf("%s: ratio %v, p50 %v, p99 %v", name, r.Ratio, r.P50Ms, r.P99Ms)
		}
	}
	if got[scHotPage].Matches != 300 {
		t.Errorf("the first page showed a total of %d, want everyone (300)", got[scHotPage].Matches)
	}
	for _, name := range []string{scHotEdited, scSearchEdited} {
		if e := got[name].Edits; e == nil || e.Done == 0 || e.Failed != 0 {
			t.Errorf("%s: the second Admin's edits: %+v", name, e)
		}
	}
	if rep.LogLines < rep.Hello.Requests/100 || rep.LogLines == 0 || rep.LogErrors != 0 {
		t.Errorf("request log: %d lines, %d errors (first: %s)", rep.LogLines, rep.LogErrors, rep.FirstLogError)
	}
	if rep.PeakRSSBytes <= 0 || rep.DatabaseBytes <= 0 || rep.Members != 300 {
		t.Errorf("peak RSS %d, database %d bytes, members %d", rep.PeakRSSBytes, rep.DatabaseBytes, rep.Members)
	}

	stdout.Reset()
	if err := run(context.Background(), append(args, "--only", "own first page", "--no-cache"), getenv, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	table := stdout.String()
	for _, want := range []string{"scenario", "req/s", "p50", "p99", "errors", "vs hello", "hello (bare Echo)", scStatic, scScopedFirst,
		"no page cache", "peak RSS", "database size", "request log"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	for _, other := range []string{scHotPage, scDeep, scWizard, scLogin} {
		if strings.Contains(table, other) {
			t.Errorf("--only \"own first page\" also ran %q:\n%s", other, table)
		}
	}
}

func TestBench_RefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--members", "3"}, {"--conns", "0"}, {"--duration", "0s"}, {"extra"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append([]string{"bench"}, args...), func(string) string { return "" }, &out, &errOut); err == nil {
			t.Errorf("bench %v: no error", args)
		}
	}
}

// TestBench_OnPostgreSQL runs bench's PostgreSQL path (--db postgres://):
// seeding, sign-ins and a scenario on a throwaway schema.
func TestBench_OnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds and runs the server on PostgreSQL")
	}
	dsn := modelstest.PostgresURL(t)
	args := []string{"bench", "--db", dsn, "--members", "300", "--companies", "20", "--calls", "0", "--duration", "1s",
		"--conns", "2", "--writers", "2", "--only", "own first page", "--json"}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("bench --db postgres://: %v\n%s", err, stderr.String())
	}
	var rep benchReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("bench --json printed no report: %v\n%s", err, stdout.String())
	}
	if len(rep.Scenarios) != 1 || rep.Scenarios[0].Scenario != scScopedFirst {
		t.Fatalf("scenarios: %+v", rep.Scenarios)
	}
	if r := rep.Scenarios[0]; r.Requests == 0 || r.Errors != 0 {
		t.Errorf("%s: %d requests, %d errors (first: %s)", r.Scenario, r.Requests, r.Errors, r.FirstError)
	}
	if rep.Members != 300 || rep.DatabaseBytes <= 0 {
		t.Errorf("members %d, database %d bytes", rep.Members, rep.DatabaseBytes)
	}
}

// TestBench_ImportWhileReading runs the import scenario alone (--only) on
// both databases: the Admin imports a file through the real pages while
// the list is read, every row is invited, and the report gives the list's
// figures during the import and the import's duration.
func TestBench_ImportWhileReading(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds and runs the server")
	}
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			args := []string{"bench", "--members", "300", "--companies", "20", "--calls", "0", "--duration", "1s",
				"--conns", "2", "--writers", "2", "--import-rows", "500", "--only", "during an import"}
			if dialect == "postgres" {
				args = append(args, "--db", modelstest.PostgresURL(t))
			}
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), append(args, "--json"), func(string) string { return "" }, &stdout, &stderr); err != nil {
				t.Fatalf("bench: %v\n%s", err, stderr.String())
			}
			var rep benchReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("bench --json printed no report: %v\n%s", err, stdout.String())
			}
			if len(rep.Scenarios) != 1 || rep.Scenarios[0].Scenario != scImport {
				t.Fatalf("scenarios: %+v", rep.Scenarios)
			}
			r := rep.Scenarios[0]
			if r.Requests == 0 || r.Errors != 0 || r.Ratio <= 0 || r.Target == "" || r.Met == nil {
				t.Errorf("the list during the import: %+v", r)
			}
			if i := r.Import; i == nil || i.Rows != 500 || i.Invited != 500 || i.Seconds <= 0 || i.FirstError != "" {
				t.Errorf("the import: %+v", i)
			}
			if rep.LogErrors != 0 {
				t.Errorf("request log: %d errors (first: %s)", rep.LogErrors, rep.FirstLogError)
			}
			var table bytes.Buffer
			printReport(&table, &rep)
			if !strings.Contains(table.String(), "the Admin imported 500 people in") {
				t.Errorf("the table does not report the import:\n%s", table.String())
			}
		})
	}
}
