package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

func TestThrottle_WindowsAndGaps(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			store := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			t0 := clock.Now()
			hit := func(l models.Limit, wantHits int, wantRefusedUntil time.Time) {
				t.Helper()
				hits, until, err := store.Hit(ctx, l, "k")
				if err != nil {
					t.Fatal(err)
				}
				if !until.Equal(wantRefusedUntil) || (until.IsZero() && hits != wantHits) {
					t.Fatalf("at +%v: hits %d refused until %v, want %d / %v", clock.Now().Sub(t0), hits, until, wantHits, wantRefusedUntil)
				}
			}
			// A rate: three an hour from the first, a minute apart.
			rate := models.Limit{Name: "rate", Max: 3, Window: time.Hour, Gap: time.Minute}
			hit(rate, 1, time.Time{})
			hit(rate, 0, t0.Add(time.Minute)) // too soon: nothing counted
			clock.Advance(time.Minute)
			hit(rate, 2, time.Time{})
			clock.Advance(time.Minute)
			hit(rate, 3, time.Time{})
			clock.Advance(time.Minute)
			hit(rate, 0, t0.Add(time.Hour)) // full until the hour from the first is over
			clock.Advance(57 * time.Minute)
			hit(rate, 1, time.Time{}) // a new window

			// Failures: forgotten after a quiet window since the last.
			clock.Advance(time.Hour)
			t1 := clock.Now()
			fails := models.Limit{Name: "fails", Max: 2, Window: 15 * time.Minute, FromLast: true}
			hit(fails, 1, time.Time{})
			clock.Advance(10 * time.Minute)
			hit(fails, 2, time.Time{})
			hit(fails, 0, t1.Add(25*time.Minute))
			clock.Advance(14 * time.Minute)
			hit(fails, 0, t1.Add(25*time.Minute)) // refused attempts do not renew it
			clock.Advance(time.Minute)
			hit(fails, 1, time.Time{})

			// A slow-down only never refuses, and its wait doubles.
			slow := models.Limit{Name: "slow", Window: time.Hour, FromLast: true, SlowAfter: 2, Step: time.Second, MaxDelay: 5 * time.Second}
			var waits []time.Duration
			for i := 1; i <= 7; i++ {
				hit(slow, i, time.Time{})
				waits = append(waits, slow.Delay(i))
			}
			if fmt.Sprint(waits) != "[0s 0s 1s 2s 4s 5s 5s]" {
				t.Errorf("waits %v", waits)
			}
		})
	}
}

// Two servers on one database count into the same counters: hits sent at
// once through both are allowed exactly Max times.
func TestThrottle_ServersShareOneCount(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			stores := modelstest.OpenServers(t, dialect, 2)
			l := models.Limit{Name: "shared", Max: 5, Window: time.Hour}
			var allowed atomic.Int32
			var wg sync.WaitGroup
			for i := range 24 {
				wg.Go(func() {
					_, until, err := stores[i%2].Hit(context.Background(), l, "one-key")
					if err != nil {
						t.Error(err)
					}
					if until.IsZero() {
						allowed.Add(1)
					}
				})
			}
			wg.Wait()
			if n := allowed.Load(); n != int32(l.Max) {
				t.Fatalf("%d of 24 hits allowed through two servers, want %d", n, l.Max)
			}
		})
	}
}

// A limit without a gap refuses only when its window is full, however
// close together hits come: two servers whose clocks differ by a few
// milliseconds (or two requests whose hits commit in the other order than
// they read the clock) must not refuse the later hit as "too soon". The
// three-server test of cmd/switchboard found this: 50 wrong passwords sent
// at once had most refused long before the 50th.
func TestThrottle_NoGapMeansNoTooSoon(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			dsn := modelstest.DSN(t, dialect)
			t0 := modelstest.NewClock().Now()
			open := func(now time.Time) *models.Store {
				s, err := models.Open(ctx, dsn, models.WithClock(func() time.Time { return now }))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			ahead, behind := open(t0.Add(40*time.Millisecond)), open(t0)
			for _, l := range []models.Limit{
				{Name: "rate", Max: 10, Window: time.Hour},
				{Name: "fails", Max: 10, Window: 15 * time.Minute, FromLast: true},
			} {
				if _, until, err := ahead.Hit(ctx, l, "k"); err != nil || !until.IsZero() {
					t.Fatalf("%s: first hit: refused until %v, %v", l.Name, until, err)
				}
				hits, until, err := behind.Hit(ctx, l, "k")
				if err != nil || !until.IsZero() || hits != 2 {
					t.Errorf("%s: a hit from a server 40ms behind: %d hits, refused until %v, %v; want counted", l.Name, hits, until, err)
				}
				// The last hit stays the latest one, whichever server
				// counted last: windows from the last hit never shrink.
				var row models.ThrottleCounter
				if err := ahead.DB().Take(&row, "bucket = ?", l.Name+":k").Error; err != nil {
					t.Fatal(err)
				}
				if want := t0.Add(40 * time.Millisecond).UnixMilli(); row.LastMS != want {
					t.Errorf("%s: last hit at %d, want the later one, %d", l.Name, row.LastMS, want)
				}
			}

			// Hits at once through two servers on the real clock: all
			// counted while the window has room.
			stores := modelstest.OpenServers(t, dialect, 2)
			l := models.Limit{Name: "burst", Max: 40, Window: time.Hour}
			var refused atomic.Int32
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					_, until, err := stores[i%2].Hit(ctx, l, "k")
					if err != nil {
						t.Error(err)
					}
					if !until.IsZero() {
						refused.Add(1)
					}
				})
			}
			wg.Wait()
			if n := refused.Load(); n != 0 {
				t.Errorf("%d of 40 hits at once refused by a limit of 40", n)
			}
		})
	}
}

// A block survives a restart of the server, and a login's slow-down is
// the same whichever server the attempts reach.
func TestThrottle_LoginLimitsAcrossServersAndRestarts(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			clock := modelstest.NewClock()
			p := models.DefaultThrottlePolicy()
			p.LoginClient.Max = 4
			var mu sync.Mutex
			var waits []time.Duration
			opts := []models.Option{models.WithClock(clock.Now), models.WithThrottlePolicy(p),
				models.WithSleep(func(_ context.Context, d time.Duration) error {
					mu.Lock()
					waits = append(waits, d)
					mu.Unlock()
					return nil
				})}
			dsn := modelstest.DSN(t, dialect)
			open := func() *models.Store {
				s, err := models.Open(ctx, dsn, opts...)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			a, b := open(), open()
			attacker := models.PasswordAttempt{Client: "203.0.113.9"}
			for i := range p.LoginClient.Max {
				s := []*models.Store{a, b}[i%2]
				if _, err := s.Authenticate(ctx, "nobody@example.com", "wrong-password-here", attacker); models.ErrorCode(err) != models.Unauthorized {
					t.Fatalf("attempt %d: %v", i, err)
				}
			}
			// Four failures for one address through two servers: the
			// fourth was slowed exactly as on one server.
			if fmt.Sprint(waits) != fmt.Sprint([]time.Duration{p.LoginAccount.Step}) {
				t.Errorf("waits %v, want one of %v", waits, p.LoginAccount.Step)
			}
			a.Close()
			b.Close()
			c := open()
			defer c.Close()
			_, err := c.Authenticate(ctx, "nobody@example.com", "wrong-password-here", attacker)
			var e *models.Error
			if models.ErrorCode(err) != models.TooManyRequests || !errorAs(err, &e) || !e.RetryAt.Equal(clock.Now().Add(p.LoginClient.Window)) {
				t.Fatalf("after a restart the address is not blocked until %v: %v", clock.Now().Add(p.LoginClient.Window), err)
			}
			// Another address is not.
			if _, err := c.Authenticate(ctx, "nobody@example.com", "wrong-password-here", models.PasswordAttempt{Client: "198.51.100.1"}); models.ErrorCode(err) != models.Unauthorized {
				t.Fatalf("another address: %v", err)
			}
			clock.Advance(p.LoginClient.Window)
			if _, err := c.Authenticate(ctx, "nobody@example.com", "wrong-password-here", attacker); models.ErrorCode(err) != models.Unauthorized {
				t.Fatalf("after the window: %v", err)
			}
		})
	}
}

func TestThrottle_IPv6CountsPerSubnet(t *testing.T) {
	ctx := context.Background()
	p := models.DefaultThrottlePolicy()
	p.LoginClient.Max = 2
	store := modelstest.Open(t, models.WithThrottlePolicy(p), models.WithSleep(func(context.Context, time.Duration) error { return nil }))
	for _, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"} {
		if _, err := store.Authenticate(ctx, "x@example.com", "wrong-password-here", models.PasswordAttempt{Client: addr}); models.ErrorCode(err) != models.Unauthorized {
			t.Fatal(err)
		}
	}
	if _, err := store.Authenticate(ctx, "x@example.com", "wrong-password-here", models.PasswordAttempt{Client: "2001:db8:1:2::77"}); models.ErrorCode(err) != models.TooManyRequests {
		t.Fatalf("a third address of the same /64: %v, want refused", err)
	}
	if _, err := store.Authenticate(ctx, "x@example.com", "wrong-password-here", models.PasswordAttempt{Client: "2001:db8:1:3::1"}); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("another /64: %v", err)
	}
}

func TestPruneThrottles_RemovesOnlySpentCounters(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			clock := modelstest.NewClock()
			store := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			p := store.ThrottlePolicy()
			t0 := clock.Now()
			mustHit(t, store, p.AccessLogin, "old")
			mustHit(t, store, p.InviteAccount, "old")
			// Many more than one batch of long-spent counters.
			var rows []models.ThrottleCounter
			for i := range 2500 {
				rows = append(rows, models.ThrottleCounter{Bucket: fmt.Sprintf("bulk:%d", i), Hits: 1,
					StartedMS: t0.Add(-72 * time.Hour).UnixMilli(), LastMS: t0.Add(-72 * time.Hour).UnixMilli()})
			}
			must(t, store.DB().CreateInBatches(rows, 500).Error)
			clock.Advance(2 * time.Hour)
			mustHit(t, store, p.AccessLogin, "recent")

			// "Older than now" still keeps what the longest window (the
			// daily invitation cap) may count.
			n, err := store.PruneThrottles(ctx, clock.Now())
			must(t, err)
			if n != 2500 {
				t.Fatalf("pruned %d, want the 2500 spent ones", n)
			}
			if got := remaining(t, store); got != "access.login:old access.login:recent invite.account:old" {
				t.Fatalf("left %q", got)
			}
			clock.Advance(23 * time.Hour)
			if n, err = store.PruneThrottles(ctx, t0); err != nil || n != 0 {
				t.Fatalf("olderThan before every hit pruned %d, %v", n, err)
			}
			if n, err = store.PruneThrottles(ctx, clock.Now()); err != nil || n != 2 {
				t.Fatalf("pruned %d, %v; want the two counters of a day ago", n, err)
			}
			if got := remaining(t, store); got != "access.login:recent" {
				t.Fatalf("left %q", got)
			}
			// A pruned counter starts again from nothing.
			if hits, _, err := store.Hit(ctx, p.InviteAccount, "old"); err != nil || hits != 1 {
				t.Fatalf("after pruning: %d hits, %v", hits, err)
			}
		})
	}
}

func mustHit(t *testing.T, store *models.Store, l models.Limit, key string) {
	t.Helper()
	if _, until, err := store.Hit(context.Background(), l, key); err != nil || !until.IsZero() {
		t.Fatalf("hit %s %s: refused until %v, %v", l.Name, key, until, err)
	}
}

func remaining(t *testing.T, store *models.Store) string {
	t.Helper()
	var keys []string
	must(t, store.DB().Model(&models.ThrottleCounter{}).Order("bucket").Pluck("bucket", &keys).Error)
	return strings.Join(keys, " ")
}

func errorAs(err error, target **models.Error) bool {
	e, ok := err.(*models.Error)
	if ok {
		*target = e
	}
	return ok
}

// loggedInAda is an account whose Admin, ada@example.com, has set her
// password, with a session of hers.
func loggedInAda(t *testing.T, store *models.Store) *models.Viewer {
	t.Helper()
	ctx := context.Background()
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	m, err := store.AcceptInvitation(ctx, bootstrap(t, store), "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
	must(t, err)
	secret, err := store.StartSession(ctx, m, "198.51.100.7", "test")
	must(t, err)
	v, err := store.LoadViewer(ctx, secret)
	must(t, err)
	return v
}

// No session holds more than one argon2id slot at a time: twelve checks
// from one session run one after another (issue 11.5), and while they
// queue, another client's login is not stuck behind them.
func TestPasswordChecks_OneAtATimePerSession(t *testing.T) {
	var mu sync.Mutex
	running, most := map[string]int{}, map[string]int{}
	hold := make(chan struct{})
	var holding sync.Once
	held := make(chan struct{})
	observe := func(keys []string, delta int) {
		mu.Lock()
		for _, k := range keys {
			running[k] += delta
			most[k] = max(most[k], running[k])
		}
		mu.Unlock()
		for _, k := range keys {
			if delta > 0 && strings.HasPrefix(k, "session:") {
				// The session's checks keep their slot until released.
				holding.Do(func() { close(held) })
				<-hold
			}
		}
	}
	store := modelstest.Open(t, models.WithArgonObserver(observe), models.WithSleep(func(context.Context, time.Duration) error { return nil }))
	v := loggedInAda(t, store)
	session := fmt.Sprintf("session:%d", v.SessionID)
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			err := store.ChangePassword(context.Background(), v, "not-the-current-one", "violet-harbor-sandwich-42", "violet-harbor-sandwich-42",
				models.PasswordAttempt{Client: "198.51.100.7"})
			if models.ErrorCode(err) != models.Invalid {
				t.Errorf("wrong current password: %v", err)
			}
		})
	}
	<-held
	// With a session's check holding its slot and eleven more waiting,
	// someone else's login still gets a slot.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := store.Authenticate(ctx, "someone@example.com", "a-password-typed-here", models.PasswordAttempt{Client: "203.0.113.50"}); models.ErrorCode(err) != models.Unauthorized {
		t.Errorf("another client's login while a session's checks queue: %v", err)
	}
	close(hold)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if most[session] != 1 || most["client:198.51.100.7"] != 1 {
		t.Fatalf("at most %d checks at once for the session and %d for its address, want 1 each (%v)", most[session], most["client:198.51.100.7"], most)
	}
	if most["client:203.0.113.50"] != 1 {
		t.Fatalf("the other client's check never ran: %v", most)
	}
}
