package models_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// watchedMailer renders emails as the server does, and notes which were
// rendered while a transaction was under way (holding the write lock).
type watchedMailer struct {
	views.Mailer
	store    *models.Store
	mu       sync.Mutex
	rendered map[string]int
	locked   []string
	// meanwhile, if set, runs once after the next invitation is rendered:
	// a change that lands between an email and its transaction.
	meanwhile func()
}

func (w *watchedMailer) saw(kind string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.rendered[kind]++
	if w.store.Writing() {
		w.locked = append(w.locked, kind)
	}
}

func (w *watchedMailer) Invitation(m models.InvitationMail) (models.Mail, error) {
	w.saw("invitation")
	mail, err := w.Mailer.Invitation(m)
	if f := w.meanwhile; f != nil {
		w.meanwhile = nil
		f()
	}
	return mail, err
}

func (w *watchedMailer) NotificationAdded(m models.NotificationMail) (models.Mail, error) {
	w.saw("notification added")
	return w.Mailer.NotificationAdded(m)
}

func (w *watchedMailer) TypeChanged(m models.TypeChangedMail) (models.Mail, error) {
	w.saw("type changed")
	return w.Mailer.TypeChanged(m)
}

func (w *watchedMailer) AccessRequested(m models.AccessMail) (models.Mail, error) {
	w.saw("access requested")
	return w.Mailer.AccessRequested(m)
}

func (w *watchedMailer) AccessGranted(m models.AccessMail) (models.Mail, error) {
	w.saw("access granted")
	return w.Mailer.AccessGranted(m)
}

func (w *watchedMailer) AccessDeclined(m models.AccessMail) (models.Mail, error) {
	w.saw("access declined")
	return w.Mailer.AccessDeclined(m)
}

func (w *watchedMailer) PasswordChanged(m models.PasswordChangedMail) (models.Mail, error) {
	w.saw("password changed")
	return w.Mailer.PasswordChanged(m)
}

func (w *watchedMailer) PasswordReset(m models.PasswordResetMail) (models.Mail, error) {
	w.saw("password reset")
	return w.Mailer.PasswordReset(m)
}

func (w *watchedMailer) AddressChanged(m models.AddressChangedMail) (models.Mail, error) {
	w.saw("address changed")
	return w.Mailer.AddressChanged(m)
}

// TestMail_BuiltBeforeTheWriteLock makes every change that sends email
// and checks that each email was rendered, and none while a transaction
// was under way, on both databases.
func TestMail_BuiltBeforeTheWriteLock(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			mailer := &watchedMailer{Mailer: views.Mailer{BaseURL: mustURL("https://switchboard.example")}, store: store, rendered: map[string]int{}}
			store.UseMail(mailer)
			ctx := context.Background()
			db := store.DB()
			ada := adminViewer(t, store)
			company := models.Company{AccountID: ada.Account.ID, Name: "Plumbing", Status: models.CompanyActive, TimeZone: "UTC"}
			must(t, db.Create(&company).Error)

			create := func(typ models.UserType, email string) *models.Membership {
				t.Helper()
				m, created, err := store.CreateMember(ctx, ada, models.Draft{Key: models.NewDraftKey(), Type: typ, FirstName: "New",
					LastName: string(typ), Email: email, CompanyIDs: []uint{company.ID}, Message: "Welcome"}, "")
				if err != nil || !created {
					t.Fatalf("create %s: %v", typ, err)
				}
				return m
			}
			rita := create(models.Reporting, "rita@example.com")
			nell := create(models.Notification, "nell@example.com")
			// A resend an hour after the first link; a corrected address.
			must(t, db.Model(&models.Token{}).Where("membership_id = ?", rita.ID).Update("created_at", time.Now().Add(-2*time.Hour)).Error)
			// and the invitation limits' counts with it.
			must(t, db.Where("1 = 1").Delete(&models.ThrottleCounter{}).Error)
			if _, err := store.ResendInvitation(ctx, ada, rita.ID, ""); err != nil {
				t.Fatalf("resend: %v", err)
			}
			corrected := "rita.r@example.com"
			if _, err := store.UpdateMember(ctx, ada, rita.ID, models.MemberUpdate{FirstName: "Rita", LastName: "R", Email: &corrected}, ""); err != nil {
				t.Fatalf("correct the address: %v", err)
			}
			// A Notification user's address changed: both addresses told.
			moved := "nell.n@example.com"
			if _, err := store.UpdateMember(ctx, ada, nell.ID, models.MemberUpdate{FirstName: "New", LastName: "notification", Email: &moved}, ""); err != nil {
				t.Fatalf("change a Notification user's address: %v", err)
			}
			// "Email me a new link" from Rita's first, replaced, link.
			var first models.OutboxMessage
			must(t, db.Where("membership_id = ? AND kind = ?", rita.ID, "invitation").Order("id").Take(&first).Error)
			_, link, ok := strings.Cut(first.TextBody, "/invite/")
			if !ok {
				t.Fatalf("no link in the invitation: %q", first.TextBody)
			}
			must(t, db.Where("1 = 1").Delete(&models.ThrottleCounter{}).Error)
			must(t, store.RenewInvitation(ctx, strings.Fields(link)[0], "192.0.2.1"))
			var renewed int64
			must(t, db.Model(&models.AuditEvent{}).Where("action = ?", "invitation.renewed").Count(&renewed).Error)
			if renewed != 1 {
				t.Errorf("%d renewals recorded, want 1", renewed)
			}
			// A Notification user promoted (invited), a Reporting user
			// promoted (told).
			if _, err := store.ChangeType(ctx, ada, nell.ID, models.TypeChangeInput{To: models.Reporting, CompanyIDs: []uint{company.ID}}, ""); err != nil {
				t.Fatalf("promote a Notification user: %v", err)
			}
			active := models.Membership{AccountID: ada.Account.ID, FirstName: "Rob", LastName: "Active", Email: "rob@example.com",
				SortName: "rob active", Type: models.Reporting, Status: models.MemberActive}
			must(t, db.Create(&active).Error)
			must(t, db.Create(&models.Assignment{MembershipID: active.ID, CompanyID: company.ID}).Error)
			if _, err := store.ChangeType(ctx, ada, active.ID, models.TypeChangeInput{To: models.Manager, CompanyIDs: []uint{company.ID}}, ""); err != nil {
				t.Fatalf("promote a Reporting user: %v", err)
			}

			// Access to another account: asked, declined, asked, granted.
			secret, err := store.Bootstrap(ctx, models.AccountInput{AccountName: "Beta", Email: "bea@example.com", FirstName: "Bea", LastName: "Beta"})
			must(t, err)
			bea, err := store.AcceptInvitation(ctx, secret, "correct-staple-lamp-orbit", "correct-staple-lamp-orbit", "")
			must(t, err)
			beta, err := store.FindAccount(ctx, bea.AccountID)
			must(t, err)
			beaV := &models.Viewer{Membership: *bea, Account: *beta}
			// Asked with a mistyped number, then corrected: the new number
			// is a new request, and its Admins are told.
			req, err := store.RequestAccess(ctx, ada, models.AccessRequestInput{Number: "0000000000"}, "")
			must(t, err)
			req, err = store.CorrectAccessRequest(ctx, ada, req.ID, models.AccessRequestInput{Number: beta.Number, Share: models.ShareAccount}, "")
			if err != nil || req.AccountID == nil {
				t.Fatalf("correct the request: %+v %v", req, err)
			}
			if _, err := store.DeclineAccess(ctx, beaV, req.ID, ""); err != nil {
				t.Fatalf("decline: %v", err)
			}
			req, err = store.RequestAccess(ctx, ada, models.AccessRequestInput{Number: beta.Number}, "")
			must(t, err)
			if _, err := store.GrantAccess(ctx, beaV, req.ID, models.GrantInput{Type: models.Admin}, ""); err != nil {
				t.Fatalf("grant: %v", err)
			}

			// Passwords: changed, and a reset asked for.
			must(t, store.ChangePassword(ctx, ada, "correct-staple-lamp-orbit", "another-staple-lamp-orbit", "another-staple-lamp-orbit", models.PasswordAttempt{}))
			must(t, store.RequestPasswordReset(ctx, ada.Login.Email, ""))

			for _, kind := range []string{"invitation", "notification added", "type changed", "access requested", "access granted",
				"access declined", "password changed", "password reset", "address changed"} {
				if mailer.rendered[kind] == 0 {
					t.Errorf("no %s email was rendered", kind)
				}
			}
			if len(mailer.locked) > 0 {
				t.Errorf("rendered while a transaction was under way: %v", mailer.locked)
			}
		})
	}
}

// TestMail_BuiltAgainWhenThePersonChangedMeanwhile: an invitation built
// before its transaction, for a person renamed before the transaction
// runs, is built again, so the email names them as they are.
func TestMail_BuiltAgainWhenThePersonChangedMeanwhile(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			store := modelstest.OpenDialect(t, dialect)
			mailer := &watchedMailer{Mailer: views.Mailer{BaseURL: mustURL("https://switchboard.example")}, store: store, rendered: map[string]int{}}
			store.UseMail(mailer)
			ctx := context.Background()
			db := store.DB()
			ada := adminViewer(t, store)
			company := models.Company{AccountID: ada.Account.ID, Name: "Plumbing", Status: models.CompanyActive, TimeZone: "UTC"}
			must(t, db.Create(&company).Error)
			rita, _, err := store.CreateMember(ctx, ada, models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, FirstName: "Rita",
				LastName: "Old", Email: "rita@example.com", CompanyIDs: []uint{company.ID}}, "")
			must(t, err)
			must(t, db.Model(&models.Token{}).Where("membership_id = ?", rita.ID).Update("created_at", time.Now().Add(-2*time.Hour)).Error)
			// and the invitation limits' counts with it.
			must(t, db.Where("1 = 1").Delete(&models.ThrottleCounter{}).Error)
			before := mailer.rendered["invitation"]
			mailer.meanwhile = func() {
				if _, err := store.UpdateMember(ctx, ada, rita.ID, models.MemberUpdate{FirstName: "Reta", LastName: "Renamed"}, ""); err != nil {
					t.Errorf("rename meanwhile: %v", err)
				}
			}
			if _, err := store.ResendInvitation(ctx, ada, rita.ID, ""); err != nil {
				t.Fatalf("resend: %v", err)
			}
			if got := mailer.rendered["invitation"] - before; got != 2 {
				t.Errorf("the invitation was rendered %d times, want twice (once again after the rename)", got)
			}
			var last models.OutboxMessage
			must(t, db.Where("membership_id = ? AND kind = ?", rita.ID, "invitation").Order("id DESC").Take(&last).Error)
			if last.ToName != "Reta Renamed" || !strings.Contains(last.TextBody, "Hello Reta,") {
				t.Errorf("the invitation sent is to %q and says %.80q", last.ToName, last.TextBody)
			}
		})
	}
}
