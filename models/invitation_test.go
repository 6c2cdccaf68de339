package models_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

func bootstrap(t testing.TB, store *models.Store) string {
	t.Helper()
	secret, err := store.Bootstrap(context.Background(), models.AccountInput{
		AccountName: "Acme", Email: "Ada@Example.com", FirstName: "Ada", LastName: "Admin"})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func TestTokens_OnlyTheHashIsStored(t *testing.T) {
	store := modelstest.Open(t)
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	v := adminViewer(t, store)
	ctx := context.Background()
	m, _, err := store.CreateMember(ctx, v, models.Draft{Key: models.NewDraftKey(), Type: models.Admin,
		FirstName: "Al", LastName: "Second", Email: "al@example.com"}, "")
	if err != nil {
		t.Fatal(err)
	}
	var msg models.OutboxMessage
	if err := store.DB().Where("membership_id = ? AND kind = ?", m.ID, "invitation").Take(&msg).Error; err != nil {
		t.Fatal(err)
	}
	secret := regexp.MustCompile(`/invite/([A-Za-z0-9_-]{43})`).FindStringSubmatch(msg.TextBody)
	if secret == nil {
		t.Fatalf("no link in the invitation:\n%s", msg.TextBody)
	}
	// Once delivered, no table holds the working secret.
	if err := store.MarkEmailSent(ctx, msg.ID); err != nil {
		t.Fatal(err)
	}
	for table, cols := range map[string][]string{
		"tokens": {"hash"}, "outbox_messages": {"text_body", "html_body", "subject"},
		"audit_events": {"detail", "target_name"}, "sessions": {"hash"},
	} {
		for _, col := range cols {
			var n int64
			if err := store.DB().Raw("SELECT COUNT(*) FROM "+table+" WHERE "+col+" LIKE ?", "%"+secret[1]+"%").Scan(&n).Error; err != nil {
				t.Fatalf("search %s.%s: %v", table, col, err)
			}
			if n != 0 {
				t.Errorf("%s.%s holds the secret", table, col)
			}
		}
	}
	var tok models.Token
	if err := store.DB().Where("membership_id = ?", m.ID).Take(&tok).Error; err != nil || len(tok.Hash) != 64 {
		t.Fatalf("token row: %+v %v", tok, err)
	}
}

func TestInvitation_SingleUseUnderConcurrency(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			secret := bootstrap(t, store)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, gone := 0, 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := store.AcceptInvitation(context.Background(), secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "127.0.0.1")
					mu.Lock()
					defer mu.Unlock()
					switch models.ErrorCode(err) {
					case "":
						ok++
					case models.Gone, models.Conflict:
						gone++
					default:
						if err != nil {
							t.Errorf("unexpected error: %v", err)
						} else {
							ok++
						}
					}
				}()
			}
			wg.Wait()
			var logins int64
			store.DB().Model(&models.Login{}).Count(&logins)
			if ok != 1 || logins != 1 {
				t.Fatalf("%d successes, %d logins; want 1 and 1", ok, logins)
			}
		})
	}
}

func TestInvitation_LinkStates(t *testing.T) {
	clock := modelstest.NewClock()
	store := modelstest.Open(t, models.WithClock(clock.Now))
	ctx := context.Background()
	secret := bootstrap(t, store)

	inv, err := store.FindInvitation(ctx, secret)
	if err != nil || inv.AccountName != "Acme" || inv.Member.Email != "ada@example.com" {
		t.Fatalf("FindInvitation = %+v, %v", inv, err)
	}
	for _, bad := range []string{"", "x", secret[:42], secret + "A", strings.ToUpper(secret), strings.Repeat("A", 10000), "\xff\xfe" + secret[2:]} {
		if _, err := store.FindInvitation(ctx, bad); models.ErrorCode(err) != models.NotFound {
			t.Errorf("malformed link %.20q: %v, want not found", bad, err)
		}
	}
	// Weak password: refused, nothing changes, the link still works.
	if _, err := store.AcceptInvitation(ctx, secret, "password1234", "password1234", ""); models.ErrorCode(err) != models.Invalid {
		t.Fatalf("weak password: %v", err)
	}
	clock.Advance(models.InvitationLinkTTL + time.Second)
	if _, err := store.FindInvitation(ctx, secret); models.ErrorCode(err) != models.Gone || !strings.Contains(err.(*models.Error).Title, "expired") {
		t.Fatalf("expired link: %v", err)
	}
	if _, err := store.AcceptInvitation(ctx, secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", ""); models.ErrorCode(err) != models.Gone {
		t.Fatalf("accepting an expired link: %v", err)
	}
}

func TestAuthenticate_OnlyActiveMembersWithLogin(t *testing.T) {
	store := modelstest.Open(t)
	ctx := context.Background()
	secret := bootstrap(t, store)
	if _, err := store.Authenticate(ctx, "ada@example.com", "correct-staple-lamp-orbit", models.PasswordAttempt{}); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("pending invitee logged in: %v", err)
	}
	m, err := store.AcceptInvitation(ctx, secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
	if err != nil || m.Status != models.MemberActive {
		t.Fatalf("accept: %+v %v", m, err)
	}
	if got, err := store.Authenticate(ctx, " ADA@example.com", "correct-staple-lamp-orbit", models.PasswordAttempt{}); err != nil || got.ID != m.ID {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if _, err := store.Authenticate(ctx, "ada@example.com", "Correct-staple-lamp-orbit", models.PasswordAttempt{}); models.ErrorCode(err) != models.Unauthorized {
		t.Fatalf("wrong password: %v", err)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
