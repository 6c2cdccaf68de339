package main

// The calls area's part of `switchboard bench` (issue 16), kept apart from
// the people scenarios: --calls calls and texts over the seeded companies,
// then the Call Log's first page, a filter, a search and a call page, read
// as a Manager (the scope of a few companies in the query plan) and, for
// the first page and the search, as the Admin (the whole account).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/views"
)

// Calls scenario names, as the report shows them.
const (
	scCallsFirst       = "calls, first page (Manager)"
	scCallsFilter      = "calls, missed + first-time (Manager)"
	scCallsSearch      = "calls, number search (Manager)"
	scCallPage         = "call page (Manager)"
	scCallsFirstAdmin  = "calls, first page (Admin)"
	scCallsSearchAdmin = "calls, name search (Admin)"
)

var callsScenarioNames = []string{scCallsFirst, scCallsFilter, scCallsSearch, scCallPage, scCallsFirstAdmin, scCallsSearchAdmin}

// judgeCalls holds the calls scenarios to the target.
func judgeCalls(r *benchResult) bool {
	for _, name := range callsScenarioNames {
		if r.Scenario == name {
			r.Target = "≥5% of hello, p99 < 100ms"
			ok := r.Ratio >= 0.05 && r.P99Ms < 100 && r.Errors == 0
			r.Met = &ok
			return true
		}
	}
	return false
}

// seedCallsForBench writes the calls after the people.
func seedCallsForBench(ctx context.Context, area *calls.Service, seed *models.SeedResult, n int, stderr io.Writer) (*calls.SeedResult, float64, error) {
	start := time.Now()
	bar := progressBar{w: stderr, label: "seeding calls", unit: "calls"}
	res, err := area.SeedCalls(ctx, seed.Account.ID, seed.Companies, calls.SeedOptions{Calls: n, Days: 90, Seed: 11, Progress: bar.update})
	if err != nil {
		return nil, 0, err
	}
	took := time.Since(start).Seconds()
	bar.done(fmt.Sprintf("seeded %s calls in %.1fs", views.FormatCount(int64(n)), took))
	return res, took, nil
}

// callsBench logs in a seeded Manager with a few companies and returns the
// calls scenarios, each checked once so a broken page fails the run.
type callsBench struct {
	app            *benchClient
	manager, admin *benchSession
	reads          []callsRead
}

type callsRead struct {
	name, path, marker string
	admin              bool
}

func newCallsBench(ctx context.Context, store *models.Store, app *benchClient, admin *benchSession, seed *models.SeedResult, cs *calls.SeedResult) (*callsBench, error) {
	// The Manager with the most companies (a real Manager's scope: a few).
	var pick struct {
		ID    uint
		Email string
		N     int
	}
	err := store.DB().WithContext(ctx).Raw(`SELECT m.id, m.email, COUNT(*) AS n FROM memberships m
		JOIN assignments a ON a.membership_id = m.id JOIN companies c ON c.id = a.company_id AND c.status = 'active'
		WHERE m.account_id = ? AND m.type = ? AND m.status = ? AND m.login_id IS NOT NULL
		GROUP BY m.id, m.email ORDER BY n DESC, m.id LIMIT 1`, seed.Account.ID, models.Manager, models.MemberActive).Scan(&pick).Error
	if err != nil || pick.ID == 0 {
		return nil, fmt.Errorf("bench: no seeded Manager to read calls as: %v", err)
	}
	var companyIDs []uint
	store.DB().WithContext(ctx).Raw(`SELECT a.company_id FROM assignments a JOIN companies c ON c.id = a.company_id AND c.status = 'active'
		WHERE a.membership_id = ? ORDER BY a.company_id`, pick.ID).Scan(&companyIDs)
	mgr, err := app.login(ctx, pick.Email, benchPassword, "198.51.100.251")
	if err != nil {
		return nil, fmt.Errorf("log in as the seeded Manager: %w", err)
	}
	var callID uint
	store.DB().WithContext(ctx).Raw(`SELECT id FROM calls WHERE company_id = ? AND kind = 'call' ORDER BY started_at DESC, id DESC LIMIT 1`, companyIDs[0]).Scan(&callID)
	// The last four digits of one of the Manager's callers: what someone
	// types to find a caller again.
	number := cs.Callers[companyIDs[0]][0]
	digits := number[len(number)-4:]
	b := &callsBench{app: app, manager: mgr, admin: admin, reads: []callsRead{
		{scCallsFirst, "/calls", "call-row", false},
		{scCallsFilter, "/calls?outcome=missed&first=1", "call-row", false},
		{scCallsSearch, "/calls?q=" + url.QueryEscape(digits), "call-row", false},
		{scCallPage, "/calls/" + strconv.FormatUint(uint64(callID), 10), "call-page", false},
		{scCallsFirstAdmin, "/calls", "call-row", true},
		{scCallsSearchAdmin, "/calls?q=" + url.QueryEscape("kowalski"), "call-row", true},
	}}
	var buf bytes.Buffer
	for _, r := range b.reads {
		status, _, err := app.do(ctx, b.session(r), http.MethodGet, r.path, nil, &buf)
		if err != nil || status != http.StatusOK || !bytes.Contains(buf.Bytes(), []byte(`data-testid="`+r.marker+`"`)) {
			return nil, fmt.Errorf("%s (%s): status %d, err %v: %.300s", r.name, r.path, status, err, buf.String())
		}
	}
	return b, nil
}

// session is who reads a scenario's page: the Manager or the Admin.
func (b *callsBench) session(r callsRead) *benchSession {
	if r.admin {
		return b.admin
	}
	return b.manager
}

// op reads one calls page; an answer without its marker is an error.
func (b *callsBench) op(r callsRead) benchOp {
	marker := []byte(`data-testid="` + r.marker + `"`)
	s := b.session(r)
	return func(ctx context.Context, _, _ int, buf *bytes.Buffer) error {
		status, _, err := b.app.do(ctx, s, http.MethodGet, r.path, nil, buf)
		switch {
		case err != nil:
			return err
		case status != http.StatusOK:
			return fmt.Errorf("status %d", status)
		case !bytes.Contains(buf.Bytes(), marker):
			return errors.New("page without " + strings.Trim(string(marker), `"`))
		}
		return nil
	}
}
