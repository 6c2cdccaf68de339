package models_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// SoleCompany names the people a removal would leave with no active
// company: another active company keeps them out, a disabled one does not,
// and a disabled company is nobody's sole company.
func TestSoleCompany_OnlyOtherActiveCompaniesCount(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			f := newPeopleFixture(t, dialect)
			roofing := models.Company{AccountID: f.account.ID, Name: "Roofing", Status: models.CompanyActive, TimeZone: "UTC"}
			closed := models.Company{AccountID: f.account.ID, Name: "Closed", Status: models.CompanyDisabled, TimeZone: "UTC"}
			must(t, f.store.DB().Create(&roofing).Error)
			must(t, f.store.DB().Create(&closed).Error)
			only := f.add(models.Reporting)
			two := f.add(models.Manager)
			must(t, f.store.DB().Create(&models.Assignment{MembershipID: two.ID, CompanyID: roofing.ID}).Error)
			withClosed := f.add(models.Notification)
			must(t, f.store.DB().Create(&models.Assignment{MembershipID: withClosed.ID, CompanyID: closed.ID}).Error)

			admin := f.viewer(f.add(models.Admin))
			sole, err := f.store.SoleCompany(ctx, admin, &f.company, []models.Membership{only, two, withClosed})
			must(t, err)
			if got, want := slices.Sorted(maps.Keys(sole)), []uint{only.ID, withClosed.ID}; !slices.Equal(got, want) {
				t.Errorf("sole company of %v, want %v", got, want)
			}
			if sole, err := f.store.SoleCompany(ctx, admin, &closed, []models.Membership{withClosed}); err != nil || len(sole) != 0 {
				t.Errorf("a disabled company is someone's sole company: %v, %v", sole, err)
			}
			if sole, err := f.store.SoleCompany(ctx, f.viewer(two), &f.company, []models.Membership{only}); err != nil || len(sole) != 0 {
				t.Errorf("a Manager is told who has no other company: %v, %v", sole, err)
			}
		})
	}
}
