package models

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// Every throttle and rate limit of the console is counted here, in the
// database: several servers on one database enforce the same limits as
// one, and a restart forgets nothing. A counter is one row per key
// ("login.client:203.0.113.7"), and counting a hit is one conditional
// upsert that also says whether the hit was allowed: two servers counting
// at once cannot both slip under a limit (PostgreSQL locks the row for the
// upsert; SQLite has one writer), and a refused hit writes nothing.
//
// Times are Unix milliseconds: plain integers compare the same on both
// databases and need no parsing.

// ThrottleCounter is one counter. Subject is the login (canonical email) a
// login counter slows down or locks, shown to Admins on Edit User and
// cleared by them; it is empty for counters of an address, a person's
// invitations or an account.
type ThrottleCounter struct {
	Bucket     string `gorm:"primaryKey;size:300"`
	Subject    string `gorm:"size:254;not null;default:'';index"`
	Hits       int    `gorm:"not null"`
	StartedMS  int64  `gorm:"column:started_ms;not null"`
	LastMS     int64  `gorm:"column:last_ms;not null;index"`
	NotifiedMS *int64 `gorm:"column:notified_ms"`
}

// Limit is one rule: how many hits a key may count in a window, how close
// together, and how long an attempt waits once it has failed several times.
type Limit struct {
	// Name prefixes the keys of its counters.
	Name string
	// Max hits are allowed in a window; a hit beyond is refused. Zero
	// never refuses (a slow-down only).
	Max int
	// Window is how long hits count: from the first hit (a rate: "five an
	// hour"), or, with FromLast, until a quiet Window after the last one
	// (failures, forgotten once they stop).
	Window   time.Duration
	FromLast bool
	// Gap is the least time between two hits (zero: any).
	Gap time.Duration
	// From SlowAfter earlier hits in the window, an attempt first waits
	// Step, doubled with every further hit, up to MaxDelay.
	SlowAfter int
	Step      time.Duration
	MaxDelay  time.Duration
}

func (l Limit) key(k string) string { return l.Name + ":" + k }

// Delay is how long an attempt waits when it is hit number hits of its window.
func (l Limit) Delay(hits int) time.Duration {
	earlier := hits - 1
	if l.SlowAfter <= 0 || earlier < l.SlowAfter {
		return 0
	}
	doublings := min(earlier-l.SlowAfter, 30)
	return min(l.Step<<doublings, l.MaxDelay)
}

// ThrottlePolicy holds every limit of the console.
type ThrottlePolicy struct {
	// Failed password checks (login, current password), per login: they
	// slow further attempts down, exponentially, and never refuse one, so
	// nobody can lock a person out by typing their address.
	LoginAccount Limit
	// ... per client address: slowed, then refused for a while.
	LoginClient Limit
	// ... per browser where the person has logged in before (known-device
	// cookie): failures elsewhere do not touch it; its own lock it.
	LoginDevice Limit
	// Password reset requests, per client address (refused with a page)
	// and per login (quietly: the page answers the same either way).
	ResetClient Limit
	ResetLogin  Limit
	// Invitations, whatever sends them, per person and per account.
	InvitePerson  Limit
	InviteAccount Limit
	// InviteImport is the account's limit on invitations sent by imports
	// (models/imports.go), counted instead of InviteAccount: the largest
	// file may be imported twice a day.
	InviteImport Limit
	// Requests for access to another account, per login.
	AccessLogin Limit
	// "Email me a new link" from a dead invitation link, per client
	// address. Counted before the link is even looked up, so a refusal
	// says nothing about the link; the invitee's own limits
	// (InvitePerson, InviteAccount) then apply quietly.
	RenewClient Limit
}

// DefaultInvitationsPerDay is how many invitations an account may send in
// 24 hours unless the server is told otherwise.
const DefaultInvitationsPerDay = 1000

// DefaultThrottlePolicy is the console's limits.
func DefaultThrottlePolicy() ThrottlePolicy {
	return ThrottlePolicy{
		LoginAccount: Limit{Name: "login.account", Window: time.Hour, FromLast: true,
			SlowAfter: 3, Step: time.Second, MaxDelay: 20 * time.Second},
		LoginClient: Limit{Name: "login.client", Max: 50, Window: 15 * time.Minute, FromLast: true,
			SlowAfter: 10, Step: 250 * time.Millisecond, MaxDelay: 3 * time.Second},
		LoginDevice:   Limit{Name: "login.device", Max: 10, Window: 15 * time.Minute, FromLast: true},
		ResetClient:   Limit{Name: "reset.client", Max: 20, Window: time.Hour},
		ResetLogin:    Limit{Name: "reset.login", Max: 3, Window: time.Hour},
		InvitePerson:  Limit{Name: "invite.person", Max: 5, Window: time.Hour, Gap: time.Minute},
		InviteAccount: Limit{Name: "invite.account", Max: DefaultInvitationsPerDay, Window: 24 * time.Hour},
		InviteImport:  Limit{Name: "invite.import", Max: 2 * MaxImportRows, Window: 24 * time.Hour},
		AccessLogin:   Limit{Name: "access.login", Max: 5, Window: time.Hour},
		RenewClient:   Limit{Name: "renew.client", Max: 10, Window: time.Hour},
	}
}

// longestWindow is the longest any counter of p counts for: a counter
// untouched for longer is spent, whatever its limit.
func (p ThrottlePolicy) longestWindow() time.Duration {
	var w time.Duration
	for _, l := range []Limit{p.LoginAccount, p.LoginClient, p.LoginDevice, p.ResetClient, p.ResetLogin,
		p.InvitePerson, p.InviteAccount, p.InviteImport, p.AccessLogin, p.RenewClient} {
		w = max(w, l.Window)
	}
	return w
}

// WithThrottlePolicy replaces the limits (tests; the benchmark).
func WithThrottlePolicy(p ThrottlePolicy) Option { return func(s *Store) { s.limits = p } }

// WithInvitationsPerDay sets how many invitations an account may send in 24 hours.
func WithInvitationsPerDay(n int) Option {
	return func(s *Store) { s.limits.InviteAccount.Max = n }
}

// ThrottlePolicy returns the limits the store enforces.
func (s *Store) ThrottlePolicy() ThrottlePolicy { return s.limits }

// counter is a counter's state after a hit.
type counter struct {
	hits     int
	started  time.Time
	notified bool
}

// refusal says why a hit was refused and when it would be allowed.
type refusal struct {
	until time.Time
	// full: the window holds Max hits; otherwise the last hit was less
	// than Gap ago.
	full bool
}

// hitSQL counts a hit unless the limit refuses it. The window restarts
// when the counter's anchor (its first or last hit) is older than it. Its
// parameters, numbered: 1 the key, 2 the subject, 3 now, 4 "expired before",
// 5 the limit, 6 "gap before". (Numbered parameters are written $n on
// PostgreSQL and ?n on SQLite; the statement is otherwise the same.)
//
// "Now" is each server's clock when it counts, and hits commit in any
// order: the counter may already hold a hit later than this one's now
// (another server's clock is ahead, or a request that read the clock after
// this one committed first). So the last hit only ever moves forward, and
// a hit that no gap applies to is never compared with it.
func hitSQL(dialect, anchor string) string {
	arg := func(n int) string {
		if dialect == "postgres" {
			return "$" + strconv.Itoa(n)
		}
		return "?" + strconv.Itoa(n)
	}
	expired := "throttle_counters." + anchor + " <= " + arg(4)
	return `INSERT INTO throttle_counters (bucket, subject, hits, started_ms, last_ms) VALUES (` + arg(1) + `, ` + arg(2) + `, 1, ` + arg(3) + `, ` + arg(3) + `)
ON CONFLICT (bucket) DO UPDATE SET
	hits = CASE WHEN ` + expired + ` THEN 1 ELSE throttle_counters.hits + 1 END,
	started_ms = CASE WHEN ` + expired + ` THEN excluded.started_ms ELSE throttle_counters.started_ms END,
	notified_ms = CASE WHEN ` + expired + ` THEN NULL ELSE throttle_counters.notified_ms END,
	last_ms = CASE WHEN excluded.last_ms > throttle_counters.last_ms THEN excluded.last_ms ELSE throttle_counters.last_ms END
WHERE ` + expired + ` OR (throttle_counters.hits < ` + arg(5) + ` AND throttle_counters.last_ms <= ` + arg(6) + `)
RETURNING hits, started_ms, notified_ms`
}

// throttleStatements are the statements of a hit, in the store's dialect.
type throttleStatements struct {
	hitFromFirst, hitFromLast string
}

func newThrottleStatements(dialect string) throttleStatements {
	return throttleStatements{hitFromFirst: hitSQL(dialect, "started_ms"), hitFromLast: hitSQL(dialect, "last_ms")}
}

// hit counts one hit of key under l inside tx. A refused hit writes
// nothing and returns why. gap false lets this hit come sooner than l.Gap
// after the last (it still counts towards Max). The statement runs
// straight on the transaction's connection, prepared once: it is on the
// path of every login and invitation, and GORM's statement building cost
// more than the database's work.
func (s *Store) hit(tx *gorm.DB, l Limit, key, subject string, gap bool) (counter, *refusal, error) {
	now := s.Now()
	nowMS := now.UnixMilli()
	limit := l.Max
	if limit <= 0 {
		limit = math.MaxInt32
	}
	gapBefore := int64(math.MaxInt64) // no gap: any last hit will do
	if gap && l.Gap > 0 {
		gapBefore = now.Add(-l.Gap).UnixMilli()
	}
	q := s.throttleSQL.hitFromFirst
	if l.FromLast {
		q = s.throttleSQL.hitFromLast
	}
	bucket := l.key(key)
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, q,
		bucket, subject, nowMS, now.Add(-l.Window).UnixMilli(), limit, gapBefore)
	if err != nil {
		return counter{}, nil, fmt.Errorf("count %s: %w", l.Name, err)
	}
	var c counter
	var started int64
	var notified sql.NullInt64
	found := rows.Next()
	if found {
		err = rows.Scan(&c.hits, &started, &notified)
	}
	if err == nil {
		err = rows.Err()
	}
	rows.Close()
	if err != nil {
		return counter{}, nil, fmt.Errorf("count %s: %w", l.Name, err)
	}
	if found {
		c.started, c.notified = time.UnixMilli(started).UTC(), notified.Valid
		return c, nil, nil
	}
	// Refused: count it for the metrics, and say until when.
	s.ThrottleRefused(l.Name)
	var row ThrottleCounter
	if err := tx.Take(&row, "bucket = ?", bucket).Error; err != nil {
		return counter{}, nil, fmt.Errorf("read %s: %w", l.Name, err)
	}
	anchor := row.StartedMS
	if l.FromLast {
		anchor = row.LastMS
	}
	r := &refusal{full: row.Hits >= limit, until: time.UnixMilli(anchor).Add(l.Window).UTC()}
	if !r.full {
		r.until = time.UnixMilli(row.LastMS).Add(l.Gap).UTC()
	}
	return counter{hits: row.Hits, started: time.UnixMilli(row.StartedMS).UTC()}, r, nil
}

// takeBack removes one hit of key (an attempt that turned out right).
func (s *Store) takeBack(tx *gorm.DB, l Limit, key string) error {
	if _, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context,
		"UPDATE throttle_counters SET hits = hits - 1 WHERE bucket = "+bindVar(s.Dialect, 1)+" AND hits > 0", l.key(key)); err != nil {
		return fmt.Errorf("take back %s: %w", l.Name, err)
	}
	return nil
}

// forget deletes the counter of key.
func (s *Store) forget(tx *gorm.DB, l Limit, key string) error {
	if _, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context,
		"DELETE FROM throttle_counters WHERE bucket = "+bindVar(s.Dialect, 1), l.key(key)); err != nil {
		return fmt.Errorf("forget %s: %w", l.Name, err)
	}
	return nil
}

// PruneThrottles deletes the counters whose last hit is before olderThan
// and returns how many went. A counter still counting is kept whatever
// olderThan says: only those untouched for longer than the longest window
// of any limit can go, so pruning never lifts a limit early. Meant to run
// periodically (the scheduler calls it).
func (s *Store) PruneThrottles(ctx context.Context, olderThan time.Time) (int64, error) {
	cutoff := min(olderThan.UnixMilli(), s.Now().Add(-s.limits.longestWindow()).UnixMilli())
	return s.pruneInBatches(ctx, "throttle_counters", "bucket", "last_ms < ?", cutoff)
}

// clientKey is the key of a client address: IPv4 as it is, IPv6 by its
// /64, the block one subscriber usually holds (counting each address of it
// apart would give them 2^64 tries).
func clientKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil {
		return truncateText(addr, 64)
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func idKey(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// tooMany builds the 429 answer of a refused hit.
func tooMany(title, message string, r *refusal) *Error {
	return &Error{Code: TooManyRequests, Title: title, Message: message, RetryAt: r.until}
}

// sleep waits d, or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait holds a slowed-down password check back for d.
func (s *Store) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return s.sleep(ctx, d)
}

// WithSleep replaces how a slowed-down password check waits (tests record
// the waits instead of sitting through them).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *Store) { s.sleep = sleep }
}
