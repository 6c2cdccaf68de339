package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

var benchScenarios = append(append(append([]string{}, listScenarios...), callsScenarioNames...), scWizard, scLogin)

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
	args := []string{"bench", "--members", "300", "--companies", "20", "--calls", "3000", "--duration", "1s", "--conns", "2", "--writers", "2"}

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
	if err := run(context.Background(), append(args, "--only", "own first page"), getenv, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	table := stdout.String()
	for _, want := range []string{"scenario", "req/s", "p50", "p99", "errors", "vs hello", "hello (bare Echo)", scScopedFirst, "peak RSS", "database size", "request log"} {
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
