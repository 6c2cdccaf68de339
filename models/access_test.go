package models_test

import (
	"context"
	"sync"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

func TestAccessRequest_OneDecisionWhenAdminsActAtOnce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
			ctx := context.Background()
			requester := adminViewer(t, store) // Ada, Admin of "Acme"
			secret, err := store.Bootstrap(ctx, models.AccountInput{AccountName: "Beta", Email: "bea@example.com", FirstName: "Bea", LastName: "Beta"})
			if err != nil {
				t.Fatal(err)
			}
			bea, err := store.AcceptInvitation(ctx, secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
			if err != nil {
				t.Fatal(err)
			}
			beta, _ := store.FindAccount(ctx, bea.AccountID)
			admin := &models.Viewer{Membership: *bea, Account: *beta}
			store.DB().Take(&admin.Login, "id = ?", *bea.LoginID)
			for round := range 3 {
				req, err := store.RequestAccess(ctx, requester, models.AccessRequestInput{Number: beta.Number}, "")
				if err != nil || req.AccountID == nil {
					t.Fatalf("round %d: request %+v %v", round, req, err)
				}
				var wg sync.WaitGroup
				results := make([]error, 3)
				wg.Add(3)
				go func() {
					defer wg.Done()
					_, results[0] = store.GrantAccess(ctx, admin, req.ID, models.GrantInput{Type: models.Admin}, "")
				}()
				go func() {
					defer wg.Done()
					_, results[1] = store.GrantAccess(ctx, admin, req.ID, models.GrantInput{Type: models.Admin}, "")
				}()
				go func() {
					defer wg.Done()
					_, results[2] = store.DeclineAccess(ctx, admin, req.ID, "")
				}()
				wg.Wait()
				ok := 0
				for _, err := range results {
					switch models.ErrorCode(err) {
					case models.Conflict:
					default:
						if err != nil {
							t.Fatalf("round %d: unexpected %v", round, err)
						}
						ok++
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d decisions succeeded, want 1 (%v)", round, ok, results)
				}
				// Undo a grant so the next round can ask again.
				store.DB().Where("account_id = ? AND email = ?", beta.ID, requester.Login.Email).Delete(&models.Membership{})
			}
		})
	}
}
