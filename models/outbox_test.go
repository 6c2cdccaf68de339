package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"switchboard/models"
	"switchboard/models/modelstest"
)

func outboxMessage(to, subject string) *models.OutboxMessage {
	return &models.OutboxMessage{
		Kind: "invitation", ToAddress: to, ToName: "Ada Lovelace", Subject: subject,
		TextBody: "Open https://switchboard.example/invite/secret to join.",
		HTMLBody: `<p><a href="https://switchboard.example/invite/secret">Join</a></p>`,
	}
}

func loadOutbox(t *testing.T, s *models.Store, id uint) models.OutboxMessage {
	t.Helper()
	var m models.OutboxMessage
	if err := s.DB().First(&m, id).Error; err != nil {
		t.Fatalf("load outbox message %d: %v", id, err)
	}
	return m
}

func countOutbox(t *testing.T, s *models.Store) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Model(&models.OutboxMessage{}).Count(&n).Error; err != nil {
		t.Fatalf("count outbox: %v", err)
	}
	return n
}

func TestEnqueueEmail_RefusesUnsafeHeaders(t *testing.T) {
	cases := []struct {
		name string
		edit func(m *models.OutboxMessage)
	}{
		{"LF in subject", func(m *models.OutboxMessage) { m.Subject = "Welcome\nBcc: eve@example.com" }},
		{"CR in subject", func(m *models.OutboxMessage) { m.Subject = "Welcome\rBcc: eve@example.com" }},
		{"CRLF in subject", func(m *models.OutboxMessage) { m.Subject = "Welcome\r\n\r\n<html>" }},
		{"CRLF in recipient name", func(m *models.OutboxMessage) { m.ToName = "Ada\r\nBcc: eve@example.com" }},
		{"LF in recipient name", func(m *models.OutboxMessage) { m.ToName = "Ada\nLovelace" }},
		{"NUL in recipient name", func(m *models.OutboxMessage) { m.ToName = "Ada\x00" }},
		{"CRLF in recipient", func(m *models.OutboxMessage) { m.ToAddress = "ada@example.com\r\nBcc: eve@example.com" }},
		{"trailing LF in recipient", func(m *models.OutboxMessage) { m.ToAddress = "ada@example.com\n" }},
		{"display name as recipient", func(m *models.OutboxMessage) { m.ToAddress = "Ada <ada@example.com>" }},
		{"two recipients", func(m *models.OutboxMessage) { m.ToAddress = "ada@example.com, eve@example.com" }},
		{"no recipient", func(m *models.OutboxMessage) { m.ToAddress = "" }},
		{"invalid UTF-8 subject", func(m *models.OutboxMessage) { m.Subject = "Welcome \xff" }},
		{"empty subject", func(m *models.OutboxMessage) { m.Subject = "  " }},
		{"no text body", func(m *models.OutboxMessage) { m.TextBody = "" }},
		{"no kind", func(m *models.OutboxMessage) { m.Kind = "" }},
	}
	for _, dialect := range modelstest.Dialects(t) {
		s := modelstest.OpenDialect(t, dialect)
		for _, tc := range cases {
			t.Run(dialect+"/"+tc.name, func(t *testing.T) {
				m := outboxMessage("ada@example.com", "Welcome")
				tc.edit(m)
				err := s.EnqueueEmail(context.Background(), m)
				if err == nil {
					t.Fatalf("enqueued %+v", m)
				}
				if code := models.ErrorCode(err); code != models.Invalid {
					t.Errorf("error code = %s (%v), want %s", code, err, models.Invalid)
				}
				if n := countOutbox(t, s); n != 0 {
					t.Errorf("outbox holds %d messages, want none", n)
				}
			})
		}
	}
}

func TestEnqueueEmail_DueAtOnceWithCanonicalRecipient(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			m := outboxMessage("  Ada.Lovelace@Example.COM ", "Welcome")
			m.Attempts, m.LastError = 7, "left over" // enqueue always starts afresh
			if err := s.EnqueueEmail(ctx, m); err != nil {
				t.Fatal(err)
			}
			got := loadOutbox(t, s, m.ID)
			if got.ToAddress != "ada.lovelace@example.com" {
				t.Errorf("to = %q, want the canonical address", got.ToAddress)
			}
			if !got.NextAttemptAt.Equal(clock.Now()) || !got.CreatedAt.Equal(clock.Now()) {
				t.Errorf("next attempt %v, created %v; want both %v", got.NextAttemptAt, got.CreatedAt, clock.Now())
			}
			if got.Attempts != 0 || got.LastError != "" || got.SentAt != nil {
				t.Errorf("attempts %d, last error %q, sent %v; want a fresh message", got.Attempts, got.LastError, got.SentAt)
			}
			if due := dueIDs(t, s, 10); len(due) != 1 || due[0] != m.ID {
				t.Fatalf("due = %v; want the new message", due)
			}
		})
	}
}

func TestClaimEmails_OldestFirst(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			ids := map[string]uint{}
			for _, name := range []string{"first", "second", "failed", "sent", "third"} {
				m := outboxMessage(name+"@example.com", "Hello "+name)
				if err := s.EnqueueEmail(ctx, m); err != nil {
					t.Fatal(err)
				}
				ids[name] = m.ID
				clock.Advance(time.Second)
			}
			// "failed" waits 30s from now; "sent" is done.
			claimed := claimIDs(t, s, "worker", 10)
			// Only the worker holding a message's lease records its failure.
			if err := s.MarkEmailFailed(ctx, "other", ids["failed"], errors.New("421 try later")); !errors.Is(err, models.ErrLeaseLost) {
				t.Fatalf("a failure reported without the lease: %v, want ErrLeaseLost", err)
			}
			if err := s.MarkEmailFailed(ctx, "worker", ids["failed"], errors.New("421 try later")); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkEmailSent(ctx, ids["sent"]); err != nil {
				t.Fatal(err)
			}
			if err := s.ReleaseLeases(ctx, models.OutboxQueue, "worker", claimed); err != nil {
				t.Fatal(err)
			}
			// Enqueued last but due now: a message in the future must not be
			// returned, one enqueued at this instant must.
			late := outboxMessage("late@example.com", "Hello late")
			if err := s.EnqueueEmail(ctx, late); err != nil {
				t.Fatal(err)
			}
			ids["late"] = late.ID

			want := []uint{ids["first"], ids["second"], ids["third"], ids["late"]}
			if got := dueIDs(t, s, 10); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("due = %v, want %v", got, want)
			}
			if got := dueIDs(t, s, 2); fmt.Sprint(got) != fmt.Sprint(want[:2]) {
				t.Errorf("due with limit 2 = %v, want %v", got, want[:2])
			}
			clock.Advance(30 * time.Second)
			want = []uint{ids["first"], ids["second"], ids["third"], ids["late"], ids["failed"]}
			if got := dueIDs(t, s, 10); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("due after the retry delay = %v, want %v", got, want)
			}
		})
	}
}

// dueIDs lists what a delivery worker would be given now, without keeping
// it: the messages are claimed and handed back at once.
func dueIDs(t *testing.T, s *models.Store, limit int) []uint {
	t.Helper()
	ids := claimIDs(t, s, "peek", limit)
	if err := s.ReleaseLeases(context.Background(), models.OutboxQueue, "peek", ids); err != nil {
		t.Fatal(err)
	}
	return ids
}

// claimIDs claims what is due for owner, as a delivery worker does.
func claimIDs(t *testing.T, s *models.Store, owner string, limit int) []uint {
	t.Helper()
	due, err := s.ClaimEmails(context.Background(), owner, time.Minute, limit)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint
	for _, m := range due {
		ids = append(ids, m.ID)
	}
	return ids
}

// The worker claims due mail every few seconds for ever: the claim must be
// served by idx_outbox_due, without scanning or sorting the table.
func TestClaimEmails_UsesDueIndex(t *testing.T) {
	s := modelstest.Open(t)
	now := time.Now()
	var plan []struct{ Detail string }
	if err := s.DB().Raw("EXPLAIN QUERY PLAN "+models.ClaimSQL("sqlite", models.OutboxQueue, ""), "w", now, now, now, 50).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, p := range plan {
		details = append(details, p.Detail)
	}
	text := strings.Join(details, "; ")
	if !strings.Contains(text, "idx_outbox_due") || strings.Contains(text, "TEMP B-TREE") || strings.Contains(text, "SCAN outbox_messages") {
		t.Errorf("plan of the claim is %q; want idx_outbox_due, no scan and no sort", text)
	}
}

func TestMarkEmailFailed_BacksOffAndNeverGivesUp(t *testing.T) {
	schedule := []time.Duration{
		30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		time.Hour, time.Hour, time.Hour,
	}
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			m := outboxMessage("ada@example.com", "Welcome")
			if err := s.EnqueueEmail(ctx, m); err != nil {
				t.Fatal(err)
			}
			const failures = 50
			for i := 1; i <= failures; i++ {
				if got := claimIDs(t, s, "worker", 10); len(got) != 1 {
					t.Fatalf("before failure %d: claimed %v, want the message", i, got)
				}
				cause := fmt.Errorf("dial tcp: connection refused (%d)", i)
				if err := s.MarkEmailFailed(ctx, "worker", m.ID, cause); err != nil {
					t.Fatal(err)
				}
				got := loadOutbox(t, s, m.ID)
				want := time.Hour
				if i <= len(schedule) {
					want = schedule[i-1]
				}
				if d := got.NextAttemptAt.Sub(clock.Now()); d != want {
					t.Fatalf("after failure %d: next attempt in %v, want %v", i, d, want)
				}
				if got.Attempts != i || got.LastError != cause.Error() || got.SentAt != nil {
					t.Fatalf("after failure %d: attempts %d, last error %q, sent %v", i, got.Attempts, got.LastError, got.SentAt)
				}
				// Not due a moment before its time, due at its time.
				clock.Advance(want - time.Second)
				if got := dueIDs(t, s, 10); len(got) != 0 {
					t.Fatalf("after failure %d: due %v a second early", i, got)
				}
				clock.Advance(time.Second)
			}
			if n := countOutbox(t, s); n != 1 {
				t.Fatalf("outbox holds %d messages after %d failures, want 1", n, failures)
			}
			if err := s.MarkEmailSent(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			if got := loadOutbox(t, s, m.ID); got.Attempts != failures+1 || got.LastError != "" || got.SentAt == nil {
				t.Errorf("finally sent: attempts %d, last error %q, sent %v", got.Attempts, got.LastError, got.SentAt)
			}
		})
	}
}

func TestEmailRetryDelay(t *testing.T) {
	for attempts, want := range map[int]time.Duration{
		0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 5 * time.Minute,
		5: 10 * time.Minute, 6: 30 * time.Minute, 7: time.Hour, 1000: time.Hour,
	} {
		if got := models.EmailRetryDelay(attempts); got != want {
			t.Errorf("EmailRetryDelay(%d) = %v, want %v", attempts, got, want)
		}
	}
}

func TestMarkEmailFailed_KeepsErrorWithinColumn(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			s := modelstest.OpenDialect(t, dialect)
			ctx := context.Background()
			m := outboxMessage("ada@example.com", "Welcome")
			if err := s.EnqueueEmail(ctx, m); err != nil {
				t.Fatal(err)
			}
			long := "554 " + strings.Repeat("é", 3000) + "\xff"
			claimIDs(t, s, "worker", 1)
			if err := s.MarkEmailFailed(ctx, "worker", m.ID, errors.New(long)); err != nil {
				t.Fatal(err)
			}
			got := loadOutbox(t, s, m.ID).LastError
			if n := utf8.RuneCountInString(got); n != 1000 || !utf8.ValidString(got) || !strings.HasPrefix(got, "554 éé") {
				t.Errorf("last error has %d characters (valid UTF-8: %v): %.20q…", n, utf8.ValidString(got), got)
			}
			if err := s.MarkEmailFailed(ctx, "worker", 999999, errors.New("x")); models.ErrorCode(err) != models.NotFound {
				t.Errorf("failing a missing message: %v, want not found", err)
			}
		})
	}
}

func TestMarkEmailSent_Idempotent(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			m := outboxMessage("ada@example.com", "Welcome")
			if err := s.EnqueueEmail(ctx, m); err != nil {
				t.Fatal(err)
			}
			claimIDs(t, s, "worker", 1)
			if err := s.MarkEmailFailed(ctx, "worker", m.ID, errors.New("timeout")); err != nil {
				t.Fatal(err)
			}
			clock.Advance(time.Minute)
			sentAt := clock.Now()
			if err := s.MarkEmailSent(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			// A second report of the same delivery, and a stale failure
			// report, change nothing.
			clock.Advance(time.Minute)
			if err := s.MarkEmailSent(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkEmailFailed(ctx, "worker", m.ID, errors.New("late failure")); err != nil {
				t.Fatal(err)
			}
			got := loadOutbox(t, s, m.ID)
			if got.SentAt == nil || !got.SentAt.Equal(sentAt) || got.Attempts != 2 || got.LastError != "" {
				t.Errorf("sent %v (want %v), attempts %d (want 2), last error %q", got.SentAt, sentAt, got.Attempts, got.LastError)
			}
			if due := dueIDs(t, s, 10); len(due) != 0 {
				t.Errorf("a sent message is due again: %v", due)
			}
		})
	}
}

func TestFailingEmails_NewestFailingPerMembership(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := modelstest.NewClock()
			s := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
			ctx := context.Background()
			// enqueue writes a message for member and fails it n times.
			enqueue := func(member uint, subject string, failures int, sent bool) uint {
				t.Helper()
				m := outboxMessage(fmt.Sprintf("m%d@example.com", member), subject)
				m.MembershipID = &member
				if err := s.EnqueueEmail(ctx, m); err != nil {
					t.Fatal(err)
				}
				for i := 1; i <= failures; i++ {
					// Failures in quick succession: the test holds the lease
					// a worker would hold at each retry time.
					if err := s.DB().Exec("UPDATE outbox_messages SET lease_owner = 'worker' WHERE id = ?", m.ID).Error; err != nil {
						t.Fatal(err)
					}
					if err := s.MarkEmailFailed(ctx, "worker", m.ID, fmt.Errorf("550 %s failure %d", subject, i)); err != nil {
						t.Fatal(err)
					}
				}
				if sent {
					if err := s.MarkEmailSent(ctx, m.ID); err != nil {
						t.Fatal(err)
					}
				}
				clock.Advance(time.Minute)
				return m.ID
			}
			enqueue(1, "old invitation", 5, false)
			newest := enqueue(1, "new invitation", 3, false)
			enqueue(2, "invitation", 2, false) // fewer failures than asked about
			enqueue(3, "invitation", 4, true)  // failed, then got through
			four := enqueue(4, "invitation", 3, false)
			enqueue(5, "invitation", 9, false) // not asked about

			got, err := s.FailingEmails(ctx, []uint{1, 2, 3, 4, 6}, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[1].ID != newest || got[4].ID != four {
				t.Fatalf("failing = %v; want member 1 → %d and member 4 → %d", got, newest, four)
			}
			if got[1].LastError != "550 new invitation failure 3" || got[1].Attempts != 3 {
				t.Errorf("member 1: attempts %d, last error %q", got[1].Attempts, got[1].LastError)
			}
			if got[1].TextBody != "" {
				t.Error("FailingEmails loaded the body, which holds a secret link the list never needs")
			}
			if got, err := s.FailingEmails(ctx, nil, 1); err != nil || len(got) != 0 {
				t.Errorf("no memberships: %v, %v", got, err)
			}
			// More IDs than one IN list holds.
			many := make([]uint, 1200)
			for i := range many {
				many[i] = uint(i + 1)
			}
			if got, err := s.FailingEmails(ctx, many, 3); err != nil || len(got) != 3 {
				t.Errorf("1200 memberships: %d results, %v; want 3", len(got), err)
			}
		})
	}
}
