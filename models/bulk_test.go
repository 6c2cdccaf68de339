package models_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
	"switchboard/views"
)

// bulkFixture is an account of n people (usersFixture) whose store can
// send invitations.
func bulkFixture(t *testing.T, dialect string, n int) *usersFixture {
	t.Helper()
	store := modelstest.OpenDialect(t, dialect)
	store.UseMail(views.Mailer{BaseURL: mustURL("https://switchboard.example")})
	return newUsersFixture(t, store, n)
}

// runBulk starts a bulk action and runs its job to the end.
func runBulk(t *testing.T, f *usersFixture, v *models.Viewer, req models.BulkRequest) *models.BulkReport {
	t.Helper()
	ctx := context.Background()
	if req.Key == "" {
		req.Key = fmt.Sprintf("key-%s-%d", req.Action, len(req.IDs))
	}
	job, err := f.store.StartBulk(ctx, v, req, "203.0.113.9")
	must(t, err)
	must(t, f.store.RunBulk(ctx, job, nil))
	r, err := f.store.BulkReportOf(ctx, v, job.ID)
	must(t, err)
	return r
}

func countEvents(t *testing.T, f *usersFixture, action string, member uint) int64 {
	t.Helper()
	var n int64
	must(t, f.store.DB().Model(&models.AuditEvent{}).Where("action = ? AND target_id = ?", action, member).Count(&n).Error)
	return n
}

// TestBulk_IDORTable: a bulk request that names anyone outside the
// viewer's scope, or a company outside it, changes nothing and answers
// 404; a right the viewer lacks answers 403 for people in scope.
func TestBulk_IDORTable(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := bulkFixture(t, dialect, 24)
			db := f.store.DB()
			// A Manager of company 1 only.
			mgr := f.members[1]
			must(t, db.Where("membership_id = ?", mgr.ID).Delete(&models.Assignment{}).Error)
			must(t, db.Create(&models.Assignment{MembershipID: mgr.ID, CompanyID: f.companies[1].ID}).Error)
			must(t, db.Model(&models.Membership{}).Where("id = ?", mgr.ID).Updates(map[string]any{"type": models.Manager, "status": models.MemberActive}).Error)
			must(t, db.Take(&mgr, mgr.ID).Error)
			manager := &models.Viewer{Membership: mgr, Account: f.account}
			var inScope, outside []uint
			for _, m := range f.members[2:] {
				var n int64
				must(t, db.Model(&models.Assignment{}).Where("membership_id = ? AND company_id = ?", m.ID, f.companies[1].ID).Count(&n).Error)
				if (m.Type == models.Reporting || m.Type == models.Notification) && n > 0 {
					inScope = append(inScope, m.ID)
				} else if n == 0 && m.Type != models.Admin {
					outside = append(outside, m.ID)
				}
			}
			if len(inScope) == 0 || len(outside) == 0 {
				t.Fatalf("fixture: %d in scope, %d outside", len(inScope), len(outside))
			}
			var other models.Account
			must(t, db.Where("id <> ?", f.account.ID).Take(&other).Error)
			var foreigner models.Membership
			must(t, db.Where("account_id = ?", other.ID).Take(&foreigner).Error)
			cases := []struct {
				name string
				v    *models.Viewer
				req  models.BulkRequest
				want models.Code
			}{
				{"manager names someone outside his companies", manager, models.BulkRequest{Action: models.BulkRemoveCompany, CompanyID: f.companies[1].ID, IDs: append([]uint{inScope[0]}, outside[0])}, models.NotFound},
				{"manager, a company not his", manager, models.BulkRequest{Action: models.BulkAddCompany, CompanyID: f.companies[0].ID, IDs: inScope[:1]}, models.NotFound},
				{"manager disables people in his scope", manager, models.BulkRequest{Action: models.BulkDisable, IDs: inScope}, models.Forbidden},
				{"manager deletes someone outside", manager, models.BulkRequest{Action: models.BulkDelete, IDs: outside[:1]}, models.NotFound},
				{"admin names another account's person", f.admin, models.BulkRequest{Action: models.BulkDelete, IDs: []uint{inScope[0], foreigner.ID}}, models.NotFound},
				{"admin names no one", f.admin, models.BulkRequest{Action: models.BulkDisable}, models.Invalid},
				{"admin, an unknown action", f.admin, models.BulkRequest{Action: "explode", IDs: inScope}, models.BadRequest},
				{"admin, a disabled company", f.admin, models.BulkRequest{Action: models.BulkAddCompany, CompanyID: f.companies[3].ID, IDs: inScope}, models.NotFound},
			}
			var jobsBefore int64
			must(t, db.Model(&models.Job{}).Count(&jobsBefore).Error)
			for _, c := range cases {
				c.req.Key = "k-" + c.name[:8]
				_, err := f.store.StartBulk(context.Background(), c.v, c.req, "")
				var e *models.Error
				if !errors.As(err, &e) || e.Code != c.want {
					t.Errorf("%s: %v, want code %v", c.name, err, c.want)
				}
			}
			var jobsAfter int64
			must(t, db.Model(&models.Job{}).Count(&jobsAfter).Error)
			if jobsAfter != jobsBefore {
				t.Errorf("%d jobs recorded by refused requests", jobsAfter-jobsBefore)
			}
			// What the Manager may do, he does: remove his Reporting users
			// from his company.
			r := runBulk(t, f, manager, models.BulkRequest{Action: models.BulkRemoveCompany, CompanyID: f.companies[1].ID, IDs: inScope})
			if r.Applied != len(inScope) {
				t.Errorf("the Manager's own bulk removal: %s", r.Summary())
			}
		})
	}
}

// TestBulk_NeverTakesTheLastAdmin: disabling, deleting or demoting every
// Admin at once leaves one, who is reported as skipped.
func TestBulk_NeverTakesTheLastAdmin(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			for _, action := range []models.BulkAction{models.BulkDisable, models.BulkDelete, models.BulkChangeType} {
				f := bulkFixture(t, dialect, 12)
				db := f.store.DB()
				var admins []uint
				must(t, db.Model(&models.Membership{}).Where("account_id = ? AND type = ?", f.account.ID, models.Admin).
					Update("status", models.MemberActive).Error)
				must(t, db.Model(&models.Membership{}).Where("account_id = ? AND type = ?", f.account.ID, models.Admin).Order("id").Pluck("id", &admins).Error)
				if len(admins) < 3 {
					t.Fatalf("fixture has %d Admins", len(admins))
				}
				req := models.BulkRequest{Action: action, IDs: admins, Key: "all-admins"}
				if action == models.BulkChangeType {
					req.To, req.CompanyIDs = models.Reporting, []uint{f.companies[0].ID}
				}
				r := runBulk(t, f, f.admin, req)
				var active int64
				must(t, db.Model(&models.Membership{}).Where("account_id = ? AND type = ? AND status = ?", f.account.ID, models.Admin, models.MemberActive).Count(&active).Error)
				if active != 1 {
					t.Errorf("%s of every Admin leaves %d active Admins, want 1 (%s)", action, active, r.Summary())
				}
				if r.Applied != len(admins)-1 || len(r.Skipped) != 1 || r.Skipped[0].Reason != "the account needs an active admin" {
					t.Errorf("%s: %s", action, r.Summary())
				}
			}
		})
	}
}

// TestBulk_KilledAndRestartedAppliesEachOnce: a job stopped after its
// first batch and run again (as after a restart) resends each invitation
// once, writes one audit event per person, and reports everyone.
func TestBulk_KilledAndRestartedAppliesEachOnce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := bulkFixture(t, dialect, 1000) // 250 invitees
			ctx := context.Background()
			db := f.store.DB()
			var invitees []uint
			must(t, db.Model(&models.Membership{}).Where("account_id = ? AND status = ? AND type <> ?", f.account.ID, models.MemberInvited, models.Notification).
				Order("id").Pluck("id", &invitees).Error)
			active := f.members[5].ID // resending to an active person is skipped
			job, err := f.store.StartBulk(ctx, f.admin, models.BulkRequest{Action: models.BulkResend, IDs: append(invitees, active), Key: "resend-all"}, "")
			must(t, err)
			// A second submit of the same form is the same job.
			again, err := f.store.StartBulk(ctx, f.admin, models.BulkRequest{Action: models.BulkResend, IDs: invitees, Key: "resend-all"}, "")
			must(t, err)
			if again.ID != job.ID {
				t.Fatalf("a double submit started job %d beside %d", again.ID, job.ID)
			}
			killed := errors.New("killed")
			err = f.store.RunBulk(ctx, job, func(done, total int) error { return killed })
			if !errors.Is(err, killed) {
				t.Fatalf("the first run ended with %v", err)
			}
			mid, err := f.store.BulkReportOf(ctx, f.admin, job.ID)
			must(t, err)
			if mid.Done == 0 || mid.Remaining == 0 {
				t.Fatalf("the first run did not stop mid-way: %s", mid.Summary())
			}
			// The restart: the job as a new worker claims it.
			var reloaded models.Job
			must(t, db.Take(&reloaded, job.ID).Error)
			must(t, f.store.RunBulk(ctx, &reloaded, nil))
			r, err := f.store.BulkReportOf(ctx, f.admin, job.ID)
			must(t, err)
			if r.Applied != len(invitees) || r.Remaining != 0 || len(r.Skipped) != 1 || r.Skipped[0].Reason != "already active" {
				t.Errorf("after the restart: %s", r.Summary())
			}
			for _, id := range invitees {
				if n := countEvents(t, f, "invitation.resent", id); n != 1 {
					t.Fatalf("person %d: %d resend events, want 1", id, n)
				}
				var links int64
				must(t, db.Model(&models.Token{}).Where("membership_id = ? AND purpose = ? AND revoked_at IS NULL AND used_at IS NULL", id, models.PurposeInvitation).Count(&links).Error)
				if links != 1 {
					t.Fatalf("person %d has %d live links, want 1", id, links)
				}
			}
			want := fmt.Sprintf("%d resent, 1 skipped: already active", len(invitees))
			if r.Summary() != want {
				t.Errorf("summary %q, want %q", r.Summary(), want)
			}
		})
	}
}

// TestBulk_AllMatchingAddsToACompany: "all N matching" names everyone the
// view matches, as the list counts them, and each is added once.
func TestBulk_AllMatchingAddsToACompany(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := bulkFixture(t, dialect, 80)
			ctx := context.Background()
			view := models.UserFilter{Type: models.Reporting}
			page, err := f.store.FindUsers(ctx, f.admin, view)
			must(t, err)
			n, err := f.store.PreviewBulk(ctx, f.admin, models.BulkRequest{Action: models.BulkAddCompany, All: true, Filter: view})
			must(t, err)
			if int64(n) != page.Total {
				t.Fatalf("all matching is %d people, the list counts %d", n, page.Total)
			}
			target := f.companies[2]
			var already int64
			must(t, f.store.DB().Model(&models.Assignment{}).Joins("JOIN memberships m ON m.id = assignments.membership_id").
				Where("m.type = ? AND assignments.company_id = ?", models.Reporting, target.ID).Count(&already).Error)
			r := runBulk(t, f, f.admin, models.BulkRequest{Action: models.BulkAddCompany, CompanyID: target.ID, All: true, Filter: view})
			after, err := f.store.FindUsers(ctx, f.admin, models.UserFilter{Type: models.Reporting, CompanyID: target.ID})
			must(t, err)
			if after.Total != page.Total {
				t.Errorf("after adding all %d Reporting users, %d are in %s", page.Total, after.Total, target.Name)
			}
			if int64(r.Applied) != page.Total-already || (already > 0 && (len(r.Skipped) != 1 || int64(r.Skipped[0].Count) != already)) {
				t.Errorf("summary %q (%d were already in)", r.Summary(), already)
			}
		})
	}
}
