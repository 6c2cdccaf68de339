package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// recordingHook is an area that writes a row for every change it is told
// of (so a rollback shows), and fails when asked to.
type recordingHook struct {
	company uint
	mu      sync.Mutex
	changes []models.AccessChange
	fail    bool
}

func (h *recordingHook) AccessLosses(_ context.Context, _ *gorm.DB, changes []models.AccessChange) (map[uint][]string, error) {
	out := map[uint][]string{}
	for _, c := range changes {
		out[c.Member.ID] = append(out[c.Member.ID], fmt.Sprintf("%s: takes calls in company? %v", c.Reason, c.Keeps(models.CapTakeCalls, h.company)))
	}
	return out, nil
}

func (h *recordingHook) AccessLost(tx *gorm.DB, c models.AccessChange, actor models.Actor) error {
	h.mu.Lock()
	h.changes = append(h.changes, c)
	fail := h.fail
	h.mu.Unlock()
	if err := tx.Create(&models.Secret{Name: fmt.Sprintf("hook-%d-%d", c.Member.ID, len(h.changes)), Value: []byte(c.Reason)}).Error; err != nil {
		return err
	}
	if fail {
		return errors.New("the area refused")
	}
	return nil
}

// Every core path that takes access away from a person calls the areas'
// hook inside its transaction with what the person keeps, and a failing
// hook rolls the whole change back.
func TestAccessHook_EveryPathCallsItInsideTheTransaction(t *testing.T) {
	type path struct {
		name string
		// target is the type of the person changed
		target models.UserType
		run    func(f *peopleFixture, admin *models.Viewer, m models.Membership) error
		// keeps: whether the person still takes calls in the fixture's company
		keeps   bool
		removed bool
		reason  string
		// unchanged reports whether the person is as before (after a rollback)
		unchanged func(f *peopleFixture, m models.Membership) bool
	}
	ctx := context.Background()
	stillThere := func(f *peopleFixture, m models.Membership) bool {
		var got models.Membership
		if err := f.store.DB().Where("id = ?", m.ID).Take(&got).Error; err != nil {
			return false
		}
		var n int64
		f.store.DB().Model(&models.Assignment{}).Where("membership_id = ?", m.ID).Count(&n)
		wantAssigned := int64(1)
		if m.Type.SeesAllCompanies() {
			wantAssigned = 0
		}
		return got.Type == m.Type && got.Status == m.Status && n == wantAssigned
	}
	paths := []path{
		{"delete", models.Reporting, func(f *peopleFixture, a *models.Viewer, m models.Membership) error {
			_, err := f.store.DeleteMember(ctx, a, m.ID, "")
			return err
		}, false, true, "deleted", stillThere},
		{"disable", models.Manager, func(f *peopleFixture, a *models.Viewer, m models.Membership) error {
			_, err := f.store.DisableMember(ctx, a, m.ID, "")
			return err
		}, false, false, "disabled", stillThere},
		{"demote to Notification", models.Reporting, func(f *peopleFixture, a *models.Viewer, m models.Membership) error {
			_, err := f.store.ChangeType(ctx, a, m.ID, models.TypeChangeInput{To: models.Notification}, "")
			return err
		}, false, false, "changed to Notification", stillThere},
		{"demote Manager to Reporting", models.Manager, func(f *peopleFixture, a *models.Viewer, m models.Membership) error {
			_, err := f.store.ChangeType(ctx, a, m.ID, models.TypeChangeInput{To: models.Reporting}, "")
			return err
		}, true, false, "changed to Reporting", stillThere},
		{"demote Admin to Manager of another company", models.Admin, func(f *peopleFixture, a *models.Viewer, m models.Membership) error {
			other := models.Company{AccountID: f.account.ID, Name: "Roofing", Status: models.CompanyActive, TimeZone: "UTC"}
			must(f.t, f.store.DB().Create(&other).Error)
			_, err := f.store.ChangeType(ctx, a, m.ID, models.TypeChangeInput{To: models.Manager, CompanyIDs: []uint{other.ID}}, "")
			return err
		}, false, false, "changed to Manager", stillThere},
		{"remove from the company", models.Reporting, func(f *peopleFixture, a *models.Viewer, m models.Membership) error {
			_, _, err := f.store.UnassignCompany(ctx, a, m.ID, f.company.ID, "")
			return err
		}, false, false, "removed from Plumbing", stillThere},
		{"leave the account", models.Reporting, func(f *peopleFixture, _ *models.Viewer, m models.Membership) error {
			login := models.Login{}
			must(f.t, f.store.DB().Where("id = ?", *m.LoginID).Take(&login).Error)
			v := f.viewer(m)
			v.Login = login
			_, err := f.store.LeaveAccount(ctx, v, "")
			return err
		}, false, true, "left the account", stillThere},
	}
	for _, dialect := range modelstest.Dialects(t) {
		for _, p := range paths {
			for _, fail := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/failing=%v", dialect, p.name, fail), func(t *testing.T) {
					f := newPeopleFixture(t, dialect)
					hook := &recordingHook{fail: fail, company: f.company.ID}
					f.store.RegisterArea(models.Area{Name: "test area", Access: hook})
					admin := f.add(models.Admin)
					f.add(models.Admin)
					m := f.add(p.target)
					err := p.run(f, f.viewer(admin), m)
					if len(hook.changes) != 1 {
						t.Fatalf("hook called %d times (err %v), want once", len(hook.changes), err)
					}
					c := hook.changes[0]
					if c.Member.ID != m.ID || c.AccountID != f.account.ID || c.Reason != p.reason || c.Removed != p.removed {
						t.Errorf("change = %+v", c)
					}
					if got := c.Keeps(models.CapTakeCalls, f.company.ID); got != p.keeps {
						t.Errorf("Keeps(take calls, company) = %v, want %v", got, p.keeps)
					}
					var hookRows int64
					f.store.DB().Model(&models.Secret{}).Where("name LIKE 'hook-%'").Count(&hookRows)
					if fail {
						if err == nil {
							t.Fatal("a failing hook did not fail the change")
						}
						if !p.unchanged(f, m) {
							t.Error("the change was written although the hook failed")
						}
						if hookRows != 0 {
							t.Error("the hook's own write survived the rollback")
						}
						return
					}
					if err != nil {
						t.Fatalf("change: %v", err)
					}
					if p.unchanged(f, m) {
						t.Error("the change was not written")
					}
					if hookRows != 1 {
						t.Errorf("the hook's write: %d rows, want 1 (same transaction, committed)", hookRows)
					}
				})
			}
		}
	}
}

// The confirmation pages ask the hooks what a change would take away,
// without writing anything.
func TestAccessLosses_AskTheAreasWithoutWriting(t *testing.T) {
	ctx := context.Background()
	f := newPeopleFixture(t, "sqlite")
	hook := &recordingHook{company: f.company.ID}
	f.store.RegisterArea(models.Area{Name: "test area", Access: hook})
	m := f.add(models.Reporting)
	del, err := f.store.DeleteLosses(ctx, &m)
	if err != nil || len(del) != 1 || del[0] != "deleted: takes calls in company? false" {
		t.Errorf("delete losses = %q, %v", del, err)
	}
	demote, err := f.store.TypeChangeLosses(ctx, &m, models.Notification)
	if err != nil || len(demote) != 1 || demote[0] != "changed to Notification: takes calls in company? false" {
		t.Errorf("demote losses = %q, %v", demote, err)
	}
	promote, err := f.store.TypeChangeLosses(ctx, &m, models.Manager)
	if err != nil || len(promote) != 1 || promote[0] != "changed to Manager: takes calls in company? true" {
		t.Errorf("promote losses = %q, %v", promote, err)
	}
	un, err := f.store.UnassignLosses(ctx, &f.company, []models.Membership{m})
	if err != nil || len(un[m.ID]) != 1 {
		t.Errorf("unassign losses = %v, %v", un, err)
	}
	if len(hook.changes) != 0 {
		t.Errorf("asking for losses applied %d changes", len(hook.changes))
	}
}

// The company-aware policy: the matrix row decides, within the companies a
// person sees; anything else is the same 404.
func TestCompanyFor_MatrixRowWithinOnesCompanies(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newPeopleFixture(t, dialect)
			other := models.Company{AccountID: f.account.ID, Name: "Roofing", Status: models.CompanyActive, TimeZone: "UTC"}
			must(t, f.store.DB().Create(&other).Error)
			off := models.Company{AccountID: f.account.ID, Name: "Closed", Status: models.CompanyDisabled, TimeZone: "UTC"}
			must(t, f.store.DB().Create(&off).Error)
			foreignAccount := models.Account{Number: "2000000009", Name: "Beta", Status: models.AccountActive}
			must(t, f.store.DB().Create(&foreignAccount).Error)
			foreign := models.Company{AccountID: foreignAccount.ID, Name: "Beta Co", Status: models.CompanyActive, TimeZone: "UTC"}
			must(t, f.store.DB().Create(&foreign).Error)
			admin, manager, reporting, nora := f.add(models.Admin), f.add(models.Manager), f.add(models.Reporting), f.add(models.Notification)
			disabled := f.add(models.Reporting)
			must(t, f.store.DB().Model(&models.Membership{}).Where("id = ?", disabled.ID).Update("status", models.MemberDisabled).Error)
			// want is what CompanyFor answers when it refuses: 404 outside
			// the viewer's scope, 403 for a company they see without the
			// capability (policy.go).
			type row struct {
				who     models.Membership
				cap     models.Capability
				company models.Company
				ok      bool
				want    models.Code
			}
			for _, r := range []row{
				{admin, models.CapTrackingNumbers, f.company, true, ""},
				{admin, models.CapTrackingNumbers, other, true, ""},
				{admin, models.CapTrackingNumbers, off, false, models.NotFound},
				{admin, models.CapTrackingNumbers, foreign, false, models.NotFound},
				{manager, models.CapTrackingNumbers, f.company, true, ""},
				{manager, models.CapTrackingNumbers, other, false, models.NotFound},
				{reporting, models.CapReviewCalls, f.company, true, ""},
				{reporting, models.CapClassifyCalls, f.company, true, ""},
				{reporting, models.CapTrackingNumbers, f.company, false, models.Forbidden},
				{reporting, models.CapReviewCalls, foreign, false, models.NotFound},
				{nora, models.CapReviewCalls, f.company, false, models.Forbidden},
			} {
				co, err := f.store.CompanyFor(ctx, f.viewer(r.who), r.cap, r.company.ID)
				if r.ok && (err != nil || co.ID != r.company.ID) {
					t.Errorf("%s, capability %d, %s: %v", r.who.Type, r.cap, r.company.Name, err)
				}
				if !r.ok && models.ErrorCode(err) != r.want {
					t.Errorf("%s, capability %d, %s: %v, want %s", r.who.Type, r.cap, r.company.Name, err, r.want)
				}
			}
			sc, err := f.store.ScopeOf(ctx, f.viewer(admin), models.CapReviewCalls)
			must(t, err)
			if !sc.WholeAccount || len(sc.Companies) != 2 || len(sc.Inactive) != 1 || sc.Inactive[0] != off.ID {
				t.Errorf("Admin's scope = %+v", sc)
			}
			sc, err = f.store.ScopeOf(ctx, f.viewer(reporting), models.CapReviewCalls)
			must(t, err)
			if sc.WholeAccount || len(sc.Companies) != 1 || !sc.Has(f.company.ID) || sc.Has(other.ID) {
				t.Errorf("Reporting's scope = %+v", sc)
			}
			if sc, _ := f.store.ScopeOf(ctx, f.viewer(nora), models.CapReviewCalls); len(sc.Companies) != 0 {
				t.Errorf("a Notification user's scope = %+v", sc)
			}
			people, err := models.PeopleWhoCan(f.store.DB(), f.account.ID, f.company.ID, models.CapTakeCalls,
				[]uint{admin.ID, manager.ID, reporting.ID, nora.ID, disabled.ID})
			must(t, err)
			var got []uint
			for _, p := range people {
				got = append(got, p.ID)
			}
			if fmt.Sprint(got) != fmt.Sprint([]uint{admin.ID, manager.ID, reporting.ID}) {
				t.Errorf("people who can take calls = %v, want the Admin, the Manager and the Reporting user", got)
			}
			if people, _ := models.PeopleWhoCan(f.store.DB(), f.account.ID, other.ID, models.CapTakeCalls, []uint{manager.ID, admin.ID}); len(people) != 1 || people[0].ID != admin.ID {
				t.Errorf("people who can take another company's calls = %v", people)
			}
		})
	}
}
