package models

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Known devices (OWASP's "device cookie" pattern): a browser where a person
// has logged in receives a cookie, signed with a server key, naming their
// login. A login attempt that presents it is counted against that browser
// alone: failures from elsewhere neither slow it down nor block it, and its
// own failures lock it (LoginDevice). Without it, attempts are slowed per
// login and blocked per client address.

// DeviceCookieLifetime is how long a browser stays known after its last
// successful login (each one issues a fresh cookie).
const DeviceCookieLifetime = 365 * 24 * time.Hour

// KnownDevices issues and checks known-device cookies.
type KnownDevices struct {
	key []byte
	now func() time.Time
}

// KnownDevices returns the issuer of known-device cookies, with its key
// from the database (the same on every server, kept across restarts).
func (s *Store) KnownDevices(ctx context.Context) (*KnownDevices, error) {
	key, err := s.SecretKey(ctx, "known-device", 32)
	if err != nil {
		return nil, err
	}
	return &KnownDevices{key: key, now: s.Now}, nil
}

func (k *KnownDevices) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, k.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// CookieName is the name of the cookie that marks a browser known for the
// login email (canonical). Each login has its own, so a browser two people
// use knows both; the name is a keyed hash, so it does not say whose it is.
func (k *KnownDevices) CookieName(email string) string {
	return "sb_device_" + hex.EncodeToString(k.mac("name", email)[:8])
}

// Issue returns a new cookie value for the login email: a random device ID
// and the time of issue, signed together with the login.
func (k *KnownDevices) Issue(email string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	issued := strconv.FormatInt(k.now().Unix(), 10)
	return id + "." + issued + "." + base64.RawURLEncoding.EncodeToString(k.mac("device", email, id, issued))
}

// Verify returns the device ID of a cookie value issued for the login
// email, or "" when it is not one: forged, garbled, issued for another
// login, or older than DeviceCookieLifetime.
func (k *KnownDevices) Verify(email, value string) string {
	if email == "" || len(value) > 200 {
		return ""
	}
	id, rest, ok := strings.Cut(value, ".")
	if !ok {
		return ""
	}
	issued, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, k.mac("device", email, id, issued)) {
		return ""
	}
	at, err := strconv.ParseInt(issued, 10, 64)
	if err != nil || k.now().Sub(time.Unix(at, 0)) > DeviceCookieLifetime {
		return ""
	}
	return id
}
