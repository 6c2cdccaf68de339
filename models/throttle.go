package models

import (
	"sync"
	"time"
)

// ThrottleRule says when repeated failures for one key are slowed down and
// when they are refused for a while.
type ThrottleRule struct {
	Window     time.Duration // failures older than this are forgotten
	SlowAfter  int           // from this many failures, each attempt waits
	Step       time.Duration // added wait per failure past SlowAfter
	MaxDelay   time.Duration
	BlockAfter int           // from this many failures, attempts are refused
	BlockFor   time.Duration // for this long after the last failure
}

// LoginThrottle counts failed logins per email and per client address.
// It lives in memory: a restart forgets it, which is acceptable for a
// single-process console and keeps the login path free of writes.
type LoginThrottle struct {
	mu      sync.Mutex
	now     func() time.Time
	rules   map[string]ThrottleRule
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	last     time.Time
}

// DefaultThrottleRules: per address of the account holder, then per client.
func DefaultThrottleRules() map[string]ThrottleRule {
	return map[string]ThrottleRule{
		"email": {Window: 15 * time.Minute, SlowAfter: 3, Step: 500 * time.Millisecond, MaxDelay: 3 * time.Second, BlockAfter: 10, BlockFor: 15 * time.Minute},
		"ip":    {Window: 15 * time.Minute, SlowAfter: 10, Step: 250 * time.Millisecond, MaxDelay: 3 * time.Second, BlockAfter: 50, BlockFor: 15 * time.Minute},
	}
}

// NewLoginThrottle builds a throttle; kinds not in rules are not throttled.
func NewLoginThrottle(rules map[string]ThrottleRule, now func() time.Time) *LoginThrottle {
	if now == nil {
		now = time.Now
	}
	return &LoginThrottle{now: now, rules: rules, entries: map[string]*throttleEntry{}}
}

// checkLocked returns how long to wait before trying the keys, and until
// when they are refused (zero when they are not). keys maps a kind to its key.
func (t *LoginThrottle) checkLocked(keys map[string]string) (delay time.Duration, blockedUntil time.Time) {
	now := t.now()
	for kind, key := range keys {
		rule, ok := t.rules[kind]
		e := t.entries[kind+":"+key]
		if !ok || e == nil || now.Sub(e.last) > max(rule.Window, rule.BlockFor) {
			continue
		}
		if e.failures >= rule.BlockAfter {
			if until := e.last.Add(rule.BlockFor); until.After(now) && until.After(blockedUntil) {
				blockedUntil = until
			}
			continue
		}
		if e.failures >= rule.SlowAfter {
			d := min(rule.Step*time.Duration(e.failures-rule.SlowAfter+1), rule.MaxDelay)
			delay = max(delay, d)
		}
	}
	return delay, blockedUntil
}

// Attempt counts an attempt before its password is checked, so that many
// attempts sent at once cannot all pass the check before any failure is
// recorded. It returns how long to wait, or until when the keys are refused
// (then nothing is counted). A successful attempt is taken back with
// Succeed.
func (t *LoginThrottle) Attempt(keys map[string]string) (delay time.Duration, blockedUntil time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delay, blockedUntil = t.checkLocked(keys)
	if blockedUntil.IsZero() {
		t.failLocked(keys)
	}
	return delay, blockedUntil
}

// failLocked records a failed attempt for every key.
func (t *LoginThrottle) failLocked(keys map[string]string) {
	now := t.now()
	if len(t.entries) > 100_000 {
		t.pruneLocked(now)
	}
	for kind, key := range keys {
		rule, ok := t.rules[kind]
		if !ok {
			continue
		}
		e := t.entries[kind+":"+key]
		if e == nil || now.Sub(e.last) > max(rule.Window, rule.BlockFor) {
			e = &throttleEntry{}
			t.entries[kind+":"+key] = e
		}
		e.failures++
		e.last = now
	}
}

// Succeed takes back an attempt that turned out right: the account's
// failures are forgotten, and the client's count loses this one attempt
// (not all of them, or one good login would wipe a client's record).
func (t *LoginThrottle) Succeed(keys map[string]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for kind, key := range keys {
		if kind != "ip" {
			delete(t.entries, kind+":"+key)
			continue
		}
		if e := t.entries[kind+":"+key]; e != nil && e.failures > 0 {
			e.failures--
		}
	}
}

func (t *LoginThrottle) pruneLocked(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.last) > time.Hour {
			delete(t.entries, k)
		}
	}
}
