package models_test

import (
	"context"
	"sync"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

func adminViewer(t testing.TB, store *models.Store) *models.Viewer {
	t.Helper()
	secret := bootstrap(t, store)
	m, err := store.AcceptInvitation(context.Background(), secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := store.FindAccount(context.Background(), m.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	var login models.Login
	if err := store.DB().Take(&login, "id = ?", *m.LoginID).Error; err != nil {
		t.Fatal(err)
	}
	return &models.Viewer{Membership: *m, Account: *acct, Login: login}
}

func TestCreateMember_ConcurrentSubmits(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			v := adminViewer(t, store)
			ctx := context.Background()

			// The same draft submitted eight times at once: one person.
			d := models.Draft{Key: models.NewDraftKey(), Type: models.Admin, FirstName: "Al", LastName: "Second", Email: "al@example.com"}
			var wg sync.WaitGroup
			ids := make([]uint, 8)
			errs := make([]error, 8)
			for i := range ids {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := store.CreateMember(ctx, v, d, "")
					errs[i] = err
					if m != nil {
						ids[i] = m.ID
					}
				}()
			}
			wg.Wait()
			for i := range ids {
				if errs[i] != nil || ids[i] != ids[0] {
					t.Fatalf("submit %d: id %d err %v; want the same person every time", i, ids[i], errs[i])
				}
			}
			// Two different drafts for one address: one wins, one is told.
			d1 := models.Draft{Key: models.NewDraftKey(), Type: models.Admin, FirstName: "Bo", LastName: "One", Email: "bo@example.com"}
			d2 := d1
			d2.Key = models.NewDraftKey()
			var ok, refused int
			var mu sync.Mutex
			for _, d := range []models.Draft{d1, d2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, created, err := store.CreateMember(ctx, v, d, "")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && created:
						ok++
					case models.ErrorCode(err) == models.Invalid:
						refused++
					default:
						t.Errorf("unexpected: created=%v err=%v", created, err)
					}
				}()
			}
			wg.Wait()
			var members, mails int64
			store.DB().Model(&models.Membership{}).Where("email IN ?", []string{"al@example.com", "bo@example.com"}).Count(&members)
			store.DB().Model(&models.OutboxMessage{}).Where("to_address IN ?", []string{"al@example.com", "bo@example.com"}).Count(&mails)
			if ok != 1 || refused != 1 || members != 2 || mails != 2 {
				t.Fatalf("ok=%d refused=%d members=%d mails=%d; want 1, 1, 2, 2", ok, refused, members, mails)
			}
		})
	}
}

// A company disabled between the last check and the write is not assigned:
// the write refuses, and nothing is half-written.
func TestCreateMember_CompanyDisabledAtTheLastMoment(t *testing.T) {
	store := modelstest.Open(t)
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	v := adminViewer(t, store)
	ctx := context.Background()
	var co models.Company
	store.DB().Where("account_id = ?", v.Account.ID).Take(&co)
	d := models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, FirstName: "Rae", LastName: "Late", Email: "rae@example.com", CompanyIDs: []uint{co.ID}}
	check, err := store.CheckDraft(ctx, v, d, d.LastStep())
	if err != nil || !check.OK() {
		t.Fatalf("check: %+v %v", check, err)
	}
	store.DB().Model(&models.Company{}).Where("id = ?", co.ID).Update("status", models.CompanyDisabled)
	_, _, err = store.CreateCheckedMember(ctx, v, d, check, "")
	if models.ErrorFields(err)["companies"] == "" {
		t.Fatalf("err = %v, want a companies field error", err)
	}
	var n int64
	store.DB().Model(&models.Membership{}).Where("email = ?", "rae@example.com").Count(&n)
	var mails int64
	store.DB().Model(&models.OutboxMessage{}).Where("to_address = ?", "rae@example.com").Count(&mails)
	if n != 0 || mails != 0 {
		t.Fatalf("%d members and %d emails written", n, mails)
	}
}
