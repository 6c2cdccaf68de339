package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models/modelstest"
)

// BenchmarkServe_WizardAcrossInstances measures what gives first as
// instances are added: eight Admins' browsers create people with the
// wizard (five requests each, spread round-robin by the balancer) through
// 1, 2, 4 and 8 `switchboard serve` processes on one PostgreSQL database,
// in one account (every creation raises the same counters) and in eight.
// Beside people/s it reports what the database saw, sampled every 10ms
// from pg_stat_activity: the connections of each instance, and the share
// of busy connections that were waiting for a row lock held by another
// transaction (the -v log names the statements that waited). Every email
// is then delivered, and duplicates counted.
//
//	go test ./cmd/switchboard -run '^$' -bench WizardAcrossInstances -benchtime 400x -v
func BenchmarkServe_WizardAcrossInstances(b *testing.B) {
	for _, sc := range []struct{ instances, writers, accounts int }{
		{1, 8, 1}, {2, 8, 1}, {4, 8, 1}, {8, 8, 1}, {2, 8, 8},
	} {
		b.Run(fmt.Sprintf("instances=%d/writers=%d/accounts=%d", sc.instances, sc.writers, sc.accounts), func(b *testing.B) {
			benchWizard(b, sc.instances, sc.writers, sc.accounts)
		})
	}
}

func benchWizard(b *testing.B, instances, writers, accounts int) {
	dsn := modelstest.PostgresURL(b)
	tag := make([]byte, 4)
	rand.Read(tag)
	app := "sbbench" + hex.EncodeToString(tag) + "-"
	c := newCluster(b, dsn, instances, func(in *instance) {
		in.env = []string{"DATABASE_URL=" + withApplicationName(b, dsn, fmt.Sprint(app, in.n))}
		in.flags = []string{"--invitations-per-day", "100000000"}
	})
	links := make([]string, accounts)
	for a := range links {
		links[a] = c.bootstrap(fmt.Sprintf("Account %d", a), fmt.Sprintf("admin%d@example.com", a), "Admin", fmt.Sprint(a))
	}
	c.startAll()
	for a, l := range links {
		c.browser(fmt.Sprintf("198.51.100.%d", 200+a)).setPassword(l)
	}
	type writer struct {
		b       *browser
		company string
	}
	ws := make([]writer, writers)
	for w := range ws {
		admin := fmt.Sprintf("admin%d@example.com", w%accounts)
		ws[w].b = c.browser(fmt.Sprintf("198.51.100.%d", w+1))
		ws[w].b.logIn(admin)
		if err := c.db.QueryRow(`SELECT c.id FROM companies c JOIN memberships m ON m.account_id = c.account_id WHERE m.email = $1`, admin).
			Scan(&ws[w].company); err != nil {
			b.Fatal(err)
		}
	}

	ctx, stop := context.WithCancel(context.Background())
	s := &dbSampler{app: app}
	sampled := make(chan struct{})
	go func() { defer close(sampled); s.run(ctx, b, c) }()

	var next, failed atomic.Int64
	var mu sync.Mutex
	var took []time.Duration
	var firstErr error
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				d, err := w.b.tryCreate(person{typ: "reporting", first: "Bench", last: fmt.Sprint(n),
					email: fmt.Sprintf("bench%d@example.com", n)}, w.company)
				mu.Lock()
				if err != nil {
					failed.Add(1)
					if firstErr == nil {
						firstErr = err
					}
				} else {
					took = append(took, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	<-sampled
	if firstErr != nil {
		b.Logf("first error: %v", firstErr)
	}

	// Every email goes out, once.
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var unsent int
		if err := c.db.QueryRow(`SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL`).Scan(&unsent); err != nil {
			b.Fatal(err)
		}
		if unsent == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d emails unsent three minutes after the run", unsent)
		}
	}
	seen := map[string]int{}
	dups := 0
	for _, m := range c.mail.all() {
		if seen[m.messageID]++; seen[m.messageID] > 1 {
			dups++
		}
	}

	slices.Sort(took)
	pct := func(p float64) float64 {
		if len(took) == 0 {
			return 0
		}
		return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "people/s")
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(failed.Load()), "errors")
	b.ReportMetric(float64(dups), "dup-emails")
	b.ReportMetric(s.lockShare(), "lockwait-%")
	b.ReportMetric(float64(s.peakPerInstance), "conns/inst")
	b.ReportMetric(float64(s.peakTotal), "conns")
	b.ReportMetric(0, "ns/op") // people/s says it better
	b.Logf("%d people in %v; lock waits by statement: %s; idle connections per instance after: %v",
		b.N, elapsed.Round(time.Millisecond), s.waitsByStatement(), s.idleAfter(b, c))
}

// withApplicationName names a connection string's connections, so that
// pg_stat_activity tells each instance's apart.
func withApplicationName(t testing.TB, dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// tryCreate runs the wizard for p in company, safe from any goroutine, and
// returns how long its last step took.
func (b *browser) tryCreate(p person, company string) (time.Duration, error) {
	r, err := b.try(http.MethodGet, anyInstance, "/users/new", nil)
	if err != nil {
		return 0, err
	}
	key, _ := r.doc.Find(`input[name="key"]`).Attr("value")
	form := url.Values{"key": {key}, "type": {p.typ}, "first_name": {p.first}, "last_name": {p.last},
		"email": {p.email}, "message": {""}, "company": {company}}
	for _, step := range []string{"type", "info", "companies", "message"} {
		r, err := b.try(http.MethodPost, anyInstance, "/users/new/"+step, form)
		if err != nil {
			return 0, err
		}
		want := http.StatusOK
		if step == "message" {
			want = http.StatusSeeOther
		}
		if r.status != want {
			return 0, fmt.Errorf("step %s on instance %d: %d %.300s", step, r.instance, r.status, r.body)
		}
		if step == "message" {
			return r.took, nil
		}
	}
	panic("unreachable")
}

// dbSampler watches the instances' connections in pg_stat_activity.
type dbSampler struct {
	app string

	samples, active, waiting int
	byStatement              map[string]int
	peakPerInstance          int
	peakTotal                int
}

func (s *dbSampler) run(ctx context.Context, t testing.TB, c *cluster) {
	s.byStatement = map[string]int{}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rows, err := c.db.QueryContext(ctx, `SELECT application_name, coalesce(state, ''), coalesce(wait_event_type, ''), left(query, 120)
			FROM pg_stat_activity WHERE application_name LIKE $1`, s.app+"%")
		if err != nil {
			if ctx.Err() == nil {
				t.Error(err)
			}
			return
		}
		perInstance := map[string]int{}
		total := 0
		for rows.Next() {
			var app, state, wait, query string
			if err := rows.Scan(&app, &state, &wait, &query); err != nil {
				t.Error(err)
			}
			perInstance[app]++
			total++
			if state != "active" {
				continue
			}
			s.active++
			if wait == "Lock" {
				s.waiting++
				s.byStatement[statementClass(query)]++
			}
		}
		rows.Close()
		s.samples++
		s.peakTotal = max(s.peakTotal, total)
		for _, n := range perInstance {
			s.peakPerInstance = max(s.peakPerInstance, n)
		}
	}
}

// statementClass names a statement by its first words.
func statementClass(q string) string {
	f := strings.Fields(strings.ToLower(q))
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// lockShare is the share of busy connections that were waiting for a lock.
func (s *dbSampler) lockShare() float64 {
	if s.active == 0 {
		return 0
	}
	return 100 * float64(s.waiting) / float64(s.active)
}

func (s *dbSampler) waitsByStatement() string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range s.byStatement {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var parts []string
	for _, e := range all {
		parts = append(parts, fmt.Sprintf("%q %d", e.k, e.v))
	}
	return fmt.Sprintf("%d of %d busy-connection samples waited (%s)", s.waiting, s.active, strings.Join(parts, ", "))
}

// idleAfter is how many connections each instance keeps open once the
// run is over.
func (s *dbSampler) idleAfter(t testing.TB, c *cluster) []int {
	out := make([]int, len(c.nodes))
	for i := range c.nodes {
		if err := c.db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, fmt.Sprint(s.app, i)).Scan(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
