package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func enqueueTestEmail(t *testing.T, store *models.Store, to string) models.OutboxMessage {
	t.Helper()
	m := testEmail(0)
	m.ToAddress = to
	if err := store.EnqueueEmail(context.Background(), &m); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return m
}

func loadTestEmail(t *testing.T, store *models.Store, id uint) models.OutboxMessage {
	t.Helper()
	var m models.OutboxMessage
	if err := store.DB().First(&m, id).Error; err != nil {
		t.Fatalf("load outbox message %d: %v", id, err)
	}
	return m
}

// freeAddr returns a 127.0.0.1 address with nothing listening on it.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestDelivery_WaitsForSMTPServerAndDeliversOnce(t *testing.T) {
	clock := modelstest.NewClock()
	store := modelstest.Open(t, models.WithClock(clock.Now))
	addr := freeAddr(t) // the mail server is down
	mailer, err := NewSMTPMailer("smtp://"+addr, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	d := &Delivery{Store: store, Mailer: mailer, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	msg := enqueueTestEmail(t, store, "ada.lovelace@example.com")

	sent, failed, err := d.RunOnce(ctx)
	if err != nil || sent != 0 || failed != 1 {
		t.Fatalf("server down: sent %d, failed %d, err %v; want one failure", sent, failed, err)
	}
	got := loadTestEmail(t, store, msg.ID)
	if got.Attempts != 1 || got.LastError == "" || got.SentAt != nil || !got.NextAttemptAt.After(clock.Now()) {
		t.Fatalf("after the failure: attempts %d, last error %q, sent %v, next attempt %v (now %v)",
			got.Attempts, got.LastError, got.SentAt, got.NextAttemptAt, clock.Now())
	}
	line := logs.String()
	for _, want := range []string{"outbox_id=" + strconv.FormatUint(uint64(msg.ID), 10), "to_domain=example.com", "attempt=1", "err="} {
		if !strings.Contains(line, want) {
			t.Errorf("failure log lacks %q: %s", want, line)
		}
	}
	for _, secret := range []string{"ada.lovelace@", testSecretLink, "Bob invited you"} {
		if strings.Contains(line, secret) {
			t.Errorf("failure log contains %q: %s", secret, line)
		}
	}

	// Not due yet: nothing is tried.
	if sent, failed, err := d.RunOnce(ctx); sent != 0 || failed != 0 || err != nil {
		t.Fatalf("before the retry time: sent %d, failed %d, err %v", sent, failed, err)
	}

	clock.Advance(models.EmailRetryDelay(1))
	srv := startTestSMTP(t, addr, smtpPlain, "", "", nil) // back, on the same port
	sent, failed, err = d.RunOnce(ctx)
	if err != nil || sent != 1 || failed != 0 {
		t.Fatalf("server back: sent %d, failed %d, err %v; want one sent", sent, failed, err)
	}
	got = loadTestEmail(t, store, msg.ID)
	if got.SentAt == nil || got.Attempts != 2 || got.LastError != "" {
		t.Errorf("after delivery: sent %v, attempts %d, last error %q", got.SentAt, got.Attempts, got.LastError)
	}
	clock.Advance(24 * time.Hour)
	if sent, failed, err := d.RunOnce(ctx); sent != 0 || failed != 0 || err != nil {
		t.Errorf("after delivery: sent %d, failed %d, err %v; want nothing to do", sent, failed, err)
	}
	received := srv.messages()
	if len(received) != 1 {
		t.Fatalf("server received %d messages, want exactly 1", len(received))
	}
	// The message as it was queued: once sent, the stored body of an
	// invitation no longer holds its link.
	checkDelivered(t, received[0], msg)
	if strings.Contains(got.TextBody, testSecretLink) || strings.Contains(got.HTMLBody, testSecretLink) {
		t.Error("the sent invitation's link is still stored in the outbox")
	}
}

// recordingMailer stands in for a transport where only the worker's
// behaviour is under test.
type recordingMailer struct {
	mu   sync.Mutex
	sent []uint
	fail map[string]error // by recipient
	got  chan uint
}

func (r *recordingMailer) Send(_ context.Context, m models.OutboxMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail[m.ToAddress]; err != nil {
		return err
	}
	r.sent = append(r.sent, m.ID)
	if r.got != nil {
		r.got <- m.ID
	}
	return nil
}

func TestDelivery_OneFailureDoesNotHoldUpTheRest(t *testing.T) {
	clock := modelstest.NewClock()
	store := modelstest.Open(t, models.WithClock(clock.Now))
	mailer := &recordingMailer{fail: map[string]error{
		"bounce@example.org": errors.New("550 5.1.1 <bounce@example.org>: no such user"),
	}}
	var logs syncBuffer
	d := &Delivery{Store: store, Mailer: mailer, Log: slog.New(slog.NewTextHandler(&logs, nil)), Batch: 2}
	a := enqueueTestEmail(t, store, "a@example.com")
	bounce := enqueueTestEmail(t, store, "bounce@example.org")
	c := enqueueTestEmail(t, store, "c@example.com")

	ctx := context.Background()
	if sent, failed, err := d.RunOnce(ctx); sent != 1 || failed != 1 || err != nil {
		t.Fatalf("first batch: sent %d, failed %d, err %v", sent, failed, err)
	}
	if sent, failed, err := d.RunOnce(ctx); sent != 1 || failed != 0 || err != nil {
		t.Fatalf("second batch: sent %d, failed %d, err %v", sent, failed, err)
	}
	if len(mailer.sent) != 2 || mailer.sent[0] != a.ID || mailer.sent[1] != c.ID {
		t.Errorf("sent %v, want [%d %d]", mailer.sent, a.ID, c.ID)
	}
	got := loadTestEmail(t, store, bounce.ID)
	if got.Attempts != 1 || !strings.Contains(got.LastError, "no such user") {
		t.Errorf("bounce: attempts %d, last error %q", got.Attempts, got.LastError)
	}
	// The server's answer repeats the address; the log must not.
	if line := logs.String(); strings.Contains(line, "bounce@") || !strings.Contains(line, "no such user") {
		t.Errorf("log: %s", line)
	}
}

func TestDelivery_RunSendsAtStartAndOnWake(t *testing.T) {
	store := modelstest.Open(t, models.WithClock(modelstest.NewClock().Now))
	mailer := &recordingMailer{got: make(chan uint, 10)}
	// An interval far longer than the test: only the first pass and Wake
	// can deliver.
	d := &Delivery{Store: store, Mailer: mailer, Log: slog.New(slog.DiscardHandler), Interval: time.Hour}
	waitSent := func(want uint, what string) {
		t.Helper()
		select {
		case id := <-mailer.got:
			if id != want {
				t.Fatalf("%s: sent %d, want %d", what, id, want)
			}
		case <-time.After(20 * time.Second): // a hang, not a speed check
			t.Fatalf("%s: message %d was never sent", what, want)
		}
	}
	first := enqueueTestEmail(t, store, "first@example.com")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	waitSent(first.ID, "left from before the start")

	second := enqueueTestEmail(t, store, "second@example.com")
	d.Wake()
	waitSent(second.ID, "after Wake")

	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := loadTestEmail(t, store, second.ID); got.SentAt == nil {
		t.Error("the woken delivery was not recorded")
	}
}

func TestDelivery_WakeNeverBlocks(t *testing.T) {
	d := &Delivery{}
	for range 5 {
		d.Wake() // nobody is running: the nudges collapse into one
	}
	var s Server
	s.Wake() // a server without a worker ignores it
}
