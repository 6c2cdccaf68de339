package models_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// peopleFixture is an account with one company and people written straight
// to the database, for the rules of promote, demote, disable and delete.
type peopleFixture struct {
	t       *testing.T
	store   *models.Store
	account models.Account
	company models.Company
	n       int
}

func newPeopleFixture(t *testing.T, dialect string) *peopleFixture {
	t.Helper()
	store := modelstest.OpenDialect(t, dialect)
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	f := &peopleFixture{t: t, store: store, account: models.Account{Number: "2000000001", Name: "Acme", Status: models.AccountActive}}
	must(t, store.DB().Create(&f.account).Error)
	f.company = models.Company{AccountID: f.account.ID, Name: "Plumbing", Status: models.CompanyActive, TimeZone: "UTC"}
	must(t, store.DB().Create(&f.company).Error)
	return f
}

// add writes an active member of a type, with a login for login types and
// the fixture's company for company-scoped ones.
func (f *peopleFixture) add(typ models.UserType) models.Membership {
	f.t.Helper()
	f.n++
	email := fmt.Sprintf("%s%d@example.com", typ, f.n)
	m := models.Membership{AccountID: f.account.ID, FirstName: typ.Label(), LastName: fmt.Sprint(f.n), Email: email,
		SortName: fmt.Sprintf("%s %d", typ, f.n), Type: typ, Status: models.MemberActive}
	if typ.CanLogIn() {
		login := models.Login{Email: email, PasswordHash: "x"}
		must(f.t, f.store.DB().Create(&login).Error)
		m.LoginID = &login.ID
	}
	must(f.t, f.store.DB().Create(&m).Error)
	if !typ.SeesAllCompanies() {
		must(f.t, f.store.DB().Create(&models.Assignment{MembershipID: m.ID, CompanyID: f.company.ID}).Error)
	}
	return m
}

func (f *peopleFixture) viewer(m models.Membership) *models.Viewer {
	return &models.Viewer{Membership: m, Account: f.account}
}

func (f *peopleFixture) activeAdmins() int64 {
	var n int64
	must(f.t, f.store.DB().Model(&models.Membership{}).
		Where("account_id = ? AND type = ? AND status = ?", f.account.ID, models.Admin, models.MemberActive).Count(&n).Error)
	return n
}

func TestChangeType_TwoAdminsDemotingEachOtherLeaveOne(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			for round := range 5 {
				f := newPeopleFixture(t, dialect)
				a, b := f.add(models.Admin), f.add(models.Admin)
				in := models.TypeChangeInput{To: models.Manager, CompanyIDs: []uint{f.company.ID}}
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, pair := range [][2]models.Membership{{a, b}, {b, a}} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, errs[i] = f.store.ChangeType(context.Background(), f.viewer(pair[0]), pair[1].ID, in, "")
					}()
				}
				wg.Wait()
				if n := f.activeAdmins(); n != 1 {
					t.Fatalf("round %d: %d active Admins left (errors %v), want exactly 1", round, n, errs)
				}
				ok := 0
				for _, err := range errs {
					switch code := models.ErrorCode(err); {
					case err == nil:
						ok++
					case code != models.Conflict && code != models.Forbidden:
						t.Fatalf("round %d: unexpected error %v", round, err)
					}
				}
				if ok != 1 {
					t.Fatalf("round %d: %d demotions succeeded, want 1 (%v)", round, ok, errs)
				}
			}
		})
	}
}

func TestDeleteMember_ParallelDeletesOfAdminsLeaveOne(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			for _, mode := range []string{"same actor", "different actors", "everyone deletes the next"} {
				t.Run(mode, func(t *testing.T) {
					f := newPeopleFixture(t, dialect)
					admins := make([]models.Membership, 21)
					for i := range admins {
						admins[i] = f.add(models.Admin)
					}
					type job struct{ actor, target models.Membership }
					var jobs []job
					switch mode {
					case "same actor":
						for _, target := range admins[1:] {
							jobs = append(jobs, job{admins[0], target})
						}
					case "different actors":
						for i := 1; i < len(admins); i++ {
							jobs = append(jobs, job{admins[i-1], admins[i]})
						}
					default:
						for i := range admins {
							jobs = append(jobs, job{admins[i], admins[(i+1)%len(admins)]})
						}
					}
					var wg sync.WaitGroup
					errs := make([]error, len(jobs))
					for i, j := range jobs {
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, errs[i] = f.store.DeleteMember(context.Background(), f.viewer(j.actor), j.target.ID, "")
						}()
					}
					wg.Wait()
					for _, err := range errs {
						if code := models.ErrorCode(err); err != nil && code != models.Conflict && code != models.Forbidden && code != models.NotFound {
							t.Fatalf("unexpected error: %v", err)
						}
					}
					n := f.activeAdmins()
					if n < 1 {
						t.Fatalf("no active Admin left (errors %v)", errs)
					}
					if mode == "same actor" && n != 1 {
						t.Errorf("%d Admins left, want 1: every delete by the remaining Admin should succeed (%v)", n, errs)
					}
				})
			}
		})
	}
}

func TestLastAdminRule_EveryPath(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newPeopleFixture(t, dialect)
			ada := f.add(models.Admin)
			v := f.viewer(ada)
			ctx := context.Background()
			// An invited Admin does not count as an active one.
			invited := models.Membership{AccountID: f.account.ID, FirstName: "Ivy", LastName: "Invited", Email: "ivy@example.com",
				SortName: "ivy invited", Type: models.Admin, Status: models.MemberInvited}
			must(t, f.store.DB().Create(&invited).Error)
			checks := map[string]func() error{
				"delete":  func() error { _, err := f.store.DeleteMember(ctx, v, ada.ID, ""); return err },
				"disable": func() error { _, err := f.store.DisableMember(ctx, v, ada.ID, ""); return err },
				"demote": func() error {
					_, err := f.store.ChangeType(ctx, v, ada.ID, models.TypeChangeInput{To: models.Reporting, CompanyIDs: []uint{f.company.ID}}, "")
					return err
				},
				"demote to notification": func() error {
					_, err := f.store.ChangeType(ctx, v, ada.ID, models.TypeChangeInput{To: models.Notification, CompanyIDs: []uint{f.company.ID}}, "")
					return err
				},
			}
			for name, check := range checks {
				err := check()
				if models.ErrorCode(err) != models.Conflict {
					t.Fatalf("%s: err %v, want a conflict", name, err)
				}
				want := "Admin 1 is the last active Admin of Acme; make someone else an Admin first."
				if models.ErrorMessage(err) != want {
					t.Errorf("%s: message %q, want %q", name, models.ErrorMessage(err), want)
				}
			}
			// The invited Admin can go: it leaves the active one.
			if _, err := f.store.DeleteMember(ctx, v, invited.ID, ""); err != nil {
				t.Fatalf("delete the invited Admin: %v", err)
			}
			// With a second active Admin, the first can be demoted.
			bea := f.add(models.Admin)
			if _, err := f.store.ChangeType(ctx, v, ada.ID, models.TypeChangeInput{To: models.Manager, CompanyIDs: []uint{f.company.ID}}, ""); err != nil {
				t.Fatalf("demote with another Admin: %v", err)
			}
			// Ada is no Admin any more, so she can do nothing to Bea.
			if _, err := f.store.DeleteMember(ctx, v, bea.ID, ""); models.ErrorCode(err) != models.Forbidden {
				t.Fatalf("a demoted Admin's stale viewer deleted someone: %v", err)
			}
			if f.activeAdmins() != 1 {
				t.Fatal("want Bea as the one active Admin")
			}
		})
	}
}

func TestChangeType_WhatEachMoveDoes(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newPeopleFixture(t, dialect)
			ada := f.add(models.Admin)
			v := f.viewer(ada)
			ctx := context.Background()
			db := f.store.DB()

			// Notification → Manager: invited, with a link and the message.
			nora := f.add(models.Notification)
			ch, err := f.store.ChangeType(ctx, v, nora.ID, models.TypeChangeInput{To: models.Manager, Message: "Welcome to the team"}, "10.0.0.1")
			if err != nil || !ch.Invited || ch.Member.Status != models.MemberInvited {
				t.Fatalf("promote notification: %+v %v", ch, err)
			}
			var msg models.OutboxMessage
			must(t, db.Where("membership_id = ?", nora.ID).Order("id DESC").Take(&msg).Error)
			if msg.Kind != "invitation" || !strings.Contains(msg.TextBody, "Welcome to the team") || !strings.Contains(msg.TextBody, "as a Manager user") {
				t.Errorf("promotion email %s: %s", msg.Kind, msg.TextBody)
			}
			var ev models.AuditEvent
			must(t, db.Where("action = ? AND target_id = ?", "member.promoted", nora.ID).Take(&ev).Error)
			if ev.Detail != "Notification → Manager; invitation sent" || ev.IP != "10.0.0.1" || ev.ActorName != "Admin 1" {
				t.Errorf("audit event %+v", ev)
			}

			// Reporting → Notification: login ended, sessions gone, emailed.
			rex := f.add(models.Reporting)
			must(t, db.Create(&models.Session{Hash: "h-rex", LoginID: *rex.LoginID, MembershipID: rex.ID, LastSeenAt: f.store.Now(), ExpiresAt: f.store.Now()}).Error)
			ch, err = f.store.ChangeType(ctx, v, rex.ID, models.TypeChangeInput{To: models.Notification}, "")
			if err != nil || !ch.LoginEnded {
				t.Fatalf("demote to notification: %+v %v", ch, err)
			}
			var after models.Membership
			must(t, db.Take(&after, rex.ID).Error)
			var sessions, logins int64
			db.Model(&models.Session{}).Where("membership_id = ?", rex.ID).Count(&sessions)
			db.Model(&models.Login{}).Where("id = ?", *rex.LoginID).Count(&logins)
			if after.LoginID != nil || after.Status != models.MemberActive || after.Type != models.Notification || sessions != 0 || logins != 0 {
				t.Errorf("after demotion: %+v sessions=%d logins=%d", after, sessions, logins)
			}
			msg = models.OutboxMessage{}
			must(t, db.Where("membership_id = ?", rex.ID).Order("id DESC").Take(&msg).Error)
			if msg.Kind != "type_changed" || !strings.Contains(msg.TextBody, "from Reporting to Notification") || !strings.Contains(msg.TextBody, "no longer log in") {
				t.Errorf("demotion email %s: %s", msg.Kind, msg.TextBody)
			}

			// Manager → Admin: assignments go; Admin → Reporting needs companies.
			max := f.add(models.Manager)
			if _, err := f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: models.Admin}, ""); err != nil {
				t.Fatal(err)
			}
			var assigned int64
			db.Model(&models.Assignment{}).Where("membership_id = ?", max.ID).Count(&assigned)
			if assigned != 0 {
				t.Errorf("a new Admin kept %d assignments", assigned)
			}
			_, err = f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: models.Reporting}, "")
			if models.ErrorCode(err) != models.Invalid || models.ErrorFields(err)["companies"] == "" {
				t.Fatalf("demote an Admin without companies: %v", err)
			}
			other := models.Company{AccountID: f.account.ID + 1000, Name: "Elsewhere", Status: models.CompanyActive, TimeZone: "UTC"}
			otherAccount := models.Account{ID: f.account.ID + 1000, Number: "2000000002", Name: "Other", Status: models.AccountActive}
			must(t, db.Create(&otherAccount).Error)
			must(t, db.Create(&other).Error)
			_, err = f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: models.Reporting, CompanyIDs: []uint{other.ID}}, "")
			if models.ErrorCode(err) != models.Invalid {
				t.Fatalf("demote an Admin onto another account's company: %v", err)
			}
			if _, err := f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: models.Reporting, CompanyIDs: []uint{f.company.ID}}, ""); err != nil {
				t.Fatal(err)
			}
			db.Model(&models.Assignment{}).Where("membership_id = ? AND company_id = ?", max.ID, f.company.ID).Count(&assigned)
			if assigned != 1 {
				t.Error("the demoted Admin did not get the chosen company")
			}

			// Odd types, the same type, and a disabled person.
			for _, to := range []models.UserType{"SuperAdmin", "ADMIN", " admin", "admin\x00", ""} {
				if _, err := f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: to}, ""); models.ErrorCode(err) != models.BadRequest {
					t.Errorf("type %q: %v", to, err)
				}
			}
			if _, err := f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: models.Reporting}, ""); models.ErrorCode(err) != models.Conflict {
				t.Errorf("same type: %v", err)
			}
			if _, err := f.store.DisableMember(ctx, v, max.ID, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.ChangeType(ctx, v, max.ID, models.TypeChangeInput{To: models.Manager}, ""); models.ErrorCode(err) != models.Conflict {
				t.Errorf("type change of a disabled person: %v", err)
			}
		})
	}
}

func TestDisableEnableDelete(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newPeopleFixture(t, dialect)
			ada := f.add(models.Admin)
			v := f.viewer(ada)
			ctx := context.Background()
			db := f.store.DB()

			rex := f.add(models.Reporting)
			must(t, db.Create(&models.Session{Hash: "h-rex", LoginID: *rex.LoginID, MembershipID: rex.ID, LastSeenAt: f.store.Now(), ExpiresAt: f.store.Now()}).Error)
			must(t, f.store.EnqueueEmail(ctx, &models.OutboxMessage{AccountID: &f.account.ID, MembershipID: &rex.ID, Kind: "summary",
				ToAddress: rex.Email, Subject: "Daily summary", TextBody: "calls"}))
			if _, err := f.store.DisableMember(ctx, v, rex.ID, ""); err != nil {
				t.Fatal(err)
			}
			var pending, sessions int64
			db.Model(&models.OutboxMessage{}).Where("membership_id = ? AND sent_at IS NULL", rex.ID).Count(&pending)
			db.Model(&models.Session{}).Where("membership_id = ?", rex.ID).Count(&sessions)
			if pending != 0 || sessions != 0 {
				t.Errorf("disabled person keeps %d pending emails and %d sessions", pending, sessions)
			}
			if _, err := f.store.DisableMember(ctx, v, rex.ID, ""); models.ErrorCode(err) != models.Conflict {
				t.Errorf("disable twice: %v", err)
			}
			m, err := f.store.EnableMember(ctx, v, rex.ID, "")
			if err != nil || m.Status != models.MemberActive {
				t.Fatalf("enable: %+v %v", m, err)
			}

			// Delete: the row, its login, assignments and sessions go; the
			// audit history stays; the address is free again.
			must(t, db.Create(&models.Session{Hash: "h-rex2", LoginID: *rex.LoginID, MembershipID: rex.ID, LastSeenAt: f.store.Now(), ExpiresAt: f.store.Now()}).Error)
			if _, err := f.store.DeleteMember(ctx, v, rex.ID, ""); err != nil {
				t.Fatal(err)
			}
			var members, logins, assignments int64
			db.Model(&models.Membership{}).Where("id = ?", rex.ID).Count(&members)
			db.Model(&models.Login{}).Where("email = ?", rex.Email).Count(&logins)
			db.Model(&models.Assignment{}).Where("membership_id = ?", rex.ID).Count(&assignments)
			db.Model(&models.Session{}).Where("membership_id = ?", rex.ID).Count(&sessions)
			if members+logins+assignments+sessions != 0 {
				t.Errorf("after delete: members=%d logins=%d assignments=%d sessions=%d", members, logins, assignments, sessions)
			}
			var events []models.AuditEvent
			db.Where("target_id = ?", rex.ID).Order("id").Find(&events)
			if len(events) != 3 || events[2].Action != "member.deleted" || !strings.Contains(events[2].TargetName, rex.Email) {
				t.Errorf("audit history after delete: %+v", events)
			}
			if _, err := f.store.DeleteMember(ctx, v, rex.ID, ""); models.ErrorCode(err) != models.NotFound {
				t.Errorf("delete twice: %v", err)
			}

			// A login shared with another account stays.
			other := models.Account{Number: "2000000003", Name: "Other", Status: models.AccountActive}
			must(t, db.Create(&other).Error)
			max := f.add(models.Manager)
			must(t, db.Create(&models.Membership{AccountID: other.ID, LoginID: max.LoginID, FirstName: "Max", LastName: "Elsewhere",
				Email: max.Email, SortName: "max elsewhere", Type: models.Admin, Status: models.MemberActive}).Error)
			if _, err := f.store.DeleteMember(ctx, v, max.ID, ""); err != nil {
				t.Fatal(err)
			}
			db.Model(&models.Login{}).Where("id = ?", *max.LoginID).Count(&logins)
			if logins != 1 {
				t.Error("deleting a person here deleted their login to another account")
			}

			// Another account's person is not found, whatever the action.
			var stranger models.Membership
			must(t, db.Where("account_id = ?", other.ID).Take(&stranger).Error)
			for name, err := range map[string]error{
				"delete":  second(f.store.DeleteMember(ctx, v, stranger.ID, "")),
				"disable": second(f.store.DisableMember(ctx, v, stranger.ID, "")),
				"enable":  second(f.store.EnableMember(ctx, v, stranger.ID, "")),
				"type":    second(f.store.ChangeType(ctx, v, stranger.ID, models.TypeChangeInput{To: models.Reporting}, "")),
				"edit":    second(f.store.MemberForEdit(ctx, v, stranger.ID)),
			} {
				if models.ErrorCode(err) != models.NotFound {
					t.Errorf("%s another account's person: %v", name, err)
				}
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestPolicy_TypeMoves(t *testing.T) {
	if got := fmt.Sprint(models.HigherTypes(models.Reporting)); got != "[manager admin]" {
		t.Errorf("above Reporting: %s", got)
	}
	if got := fmt.Sprint(models.LowerTypes(models.Admin)); got != "[manager reporting notification]" {
		t.Errorf("below Admin: %s", got)
	}
	for _, actor := range models.UserTypes {
		for _, from := range models.UserTypes {
			for _, to := range models.UserTypes {
				want := actor == models.Admin && from != to
				if got := models.CanChangeType(actor, from, to); got != want {
					t.Errorf("CanChangeType(%s, %s, %s) = %v", actor, from, to, got)
				}
			}
		}
		if models.CanEditMember(actor) != (actor == models.Admin) || models.CanViewAudit(actor) != (actor == models.Admin) {
			t.Errorf("%s: edit/audit rights wrong", actor)
		}
	}
	if models.CanChangeType(models.Admin, models.Reporting, "SuperAdmin") {
		t.Error("a move to an unknown type is allowed")
	}
	p := models.PlanTypeChange(models.Membership{Type: models.Admin}, models.Notification)
	if !p.NeedsCompanies || !p.EndsLogin || p.SendsInvitation || p.Promotion() {
		t.Errorf("Admin → Notification plan %+v", p)
	}
	p = models.PlanTypeChange(models.Membership{Type: models.Notification}, models.Admin)
	if !p.SendsInvitation || !p.DropsCompanies || !p.Promotion() || p.NeedsCompanies {
		t.Errorf("Notification → Admin plan %+v", p)
	}
}
