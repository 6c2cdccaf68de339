package models

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

const (
	MinPasswordLength = 12
	MaxPasswordLength = 128
)

// Argon2id parameters: the OWASP minimum (19 MiB, two passes, one lane).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// HashPassword returns an argon2id hash in the PHC string format, so the
// parameters travel with the hash and can be raised later.
func HashPassword(password string) (string, error) {
	var h string
	var err error
	withArgonSlot(func() { h, err = hashPassword(password) })
	return h, err
}

func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argonKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword compares a password with a stored hash in constant time.
// A malformed hash never matches.
func CheckPassword(hash, password string) bool {
	var ok bool
	withArgonSlot(func() { ok = checkPassword(hash, password) })
	return ok
}

func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || mem > 1<<20 || iter > 10 || threads == 0 {
		return false
	}
	got := argonKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// argonSlots bounds the argon2id computations running at once. Each holds
// its memory (19 MiB) until it finishes; more at once than there are cores
// only take turns on the CPU while memory grows with every login waiting (32
// logins at once took the server past 1 GiB). Waiting for a slot costs the
// same time and no memory. The limit is process-wide because cores and
// memory are.
var argonSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// withArgonSlot runs fn, one argon2id computation, in a slot.
func withArgonSlot(fn func()) {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	fn()
}

func argonKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

// clientGate lets each client run one argon2id computation at a time. A
// client is a session and a client address: a check for a client already
// computing one waits for it before it may take a slot, so twelve loops
// from one session queue behind each other instead of filling every slot
// and making everyone else's login wait for them. It is per server, like
// the slots (it guards this process's cores); the throttle in the database
// is what limits attempts across servers.
type clientGate struct {
	mu   sync.Mutex
	held map[string]*gateEntry
}

type gateEntry struct {
	turn chan struct{} // holds a value while the key is in use
	refs int           // holders and waiters, so the entry goes when unused
}

// acquire takes every key, in a fixed order (two callers sharing two keys
// must not each hold one and wait for the other), waiting in line for
// each. It returns the release, or ctx's error having taken nothing.
func (g *clientGate) acquire(ctx context.Context, keys []string) (func(), error) {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	taken := make([]*gateEntry, 0, len(keys))
	release := func() {
		for i := len(taken) - 1; i >= 0; i-- {
			<-taken[i].turn
		}
		g.mu.Lock()
		for _, k := range keys {
			g.unref(k)
		}
		g.mu.Unlock()
	}
	g.mu.Lock()
	entries := make([]*gateEntry, len(keys))
	for i, k := range keys {
		e := g.held[k]
		if e == nil {
			e = &gateEntry{turn: make(chan struct{}, 1)}
			g.held[k] = e
		}
		e.refs++
		entries[i] = e
	}
	g.mu.Unlock()
	for _, e := range entries {
		select {
		case e.turn <- struct{}{}:
			taken = append(taken, e)
		case <-ctx.Done():
			release()
			return nil, ctx.Err()
		}
	}
	return release, nil
}

func (g *clientGate) unref(k string) {
	if e := g.held[k]; e != nil {
		if e.refs--; e.refs == 0 {
			delete(g.held, k)
		}
	}
}

// passwordWork runs fn, one argon2id computation for the clients named by
// keys: after their earlier computations, then in a slot.
func (s *Store) passwordWork(ctx context.Context, keys []string, fn func()) error {
	release, err := s.gate.acquire(ctx, keys)
	if err != nil {
		return err
	}
	defer release()
	// A client that has gone away stops waiting for a slot.
	select {
	case argonSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-argonSlots }()
	if s.observeArgon != nil {
		s.observeArgon(keys, 1)
		defer s.observeArgon(keys, -1)
	}
	fn()
	return nil
}

// WithArgonObserver calls observe with a client's keys and +1 when one of
// its argon2id computations starts (holding a slot), -1 when it ends, so
// tests can see how many run at once for one client.
func WithArgonObserver(observe func(keys []string, delta int)) Option {
	return func(s *Store) { s.observeArgon = observe }
}

// checkPassword is CheckPassword for a client.
func (s *Store) checkPassword(ctx context.Context, keys []string, hash, password string) (bool, error) {
	var ok bool
	err := s.passwordWork(ctx, keys, func() { ok = checkPassword(hash, password) })
	return ok, err
}

// hashPassword is HashPassword for a client.
func (s *Store) hashPassword(ctx context.Context, keys []string, password string) (string, error) {
	var h string
	var herr error
	if err := s.passwordWork(ctx, keys, func() { h, herr = hashPassword(password) }); err != nil {
		return "", err
	}
	return h, herr
}

// dummyHash is checked against when a login does not exist, so that an
// unknown address takes as long to refuse as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("switchboard-dummy-password")
	if err != nil {
		panic(err)
	}
	return h
})

// spendPasswordCheck does the work of one password check for a client and
// discards it.
func (s *Store) spendPasswordCheck(ctx context.Context, keys []string, password string) error {
	_, err := s.checkPassword(ctx, keys, dummyHash(), password)
	return err
}

//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			m[strings.ToLower(w)] = true
		}
	}
	return m
})

// ValidatePassword checks a new password as typed twice. Passwords are
// compared exactly as typed (no trimming or normalising), any Unicode allowed.
// It returns field errors keyed "password" and "confirm".
func ValidatePassword(password, confirm string) error {
	fields := map[string]string{}
	n := utf8.RuneCountInString(password)
	switch {
	case !utf8.ValidString(password):
		fields["password"] = "The password contains characters we cannot read."
	case n < MinPasswordLength:
		fields["password"] = fmt.Sprintf("Use at least %d characters; a few unrelated words make a strong one.", MinPasswordLength)
	case n > MaxPasswordLength:
		fields["password"] = fmt.Sprintf("Use at most %d characters.", MaxPasswordLength)
	case isCommonPassword(password):
		fields["password"] = "That password is too common and easy to guess. Choose another."
	case password != confirm:
		fields["confirm"] = "The two passwords do not match."
	}
	if len(fields) > 0 {
		return FieldErrors(fields)
	}
	return nil
}

func isCommonPassword(p string) bool {
	lower := strings.ToLower(p)
	if commonPasswords()[lower] {
		return true
	}
	// One character repeated, or a run of consecutive characters
	// ("aaaaaaaaaaaa", "123456789012", "abcdefghijkl"), is as weak as a listed one.
	runes := []rune(lower)
	same, ascending, descending := true, true, true
	for i := 1; i < len(runes); i++ {
		d := runes[i] - runes[i-1]
		same = same && d == 0
		ascending = ascending && (d == 1 || (runes[i-1] == '9' && runes[i] == '0'))
		descending = descending && d == -1
	}
	return same || ascending || descending
}
