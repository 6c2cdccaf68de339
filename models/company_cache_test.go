package models_test

import (
	"context"
	"path/filepath"
	"testing"

	"switchboard/models"
)

func companyNames(t *testing.T, store *models.Store, v *models.Viewer) []string {
	t.Helper()
	cs, err := store.VisibleCompanies(context.Background(), v)
	must(t, err)
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// TestVisibleCompanies_CacheFollowsChanges changes companies through a
// second store on the same database, as another server would, and expects
// the first store's cached list to follow at once.
func TestVisibleCompanies_CacheFollowsChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	ctx := context.Background()
	a, err := models.Open(ctx, path)
	must(t, err)
	defer a.Close()
	b, err := models.Open(ctx, path)
	must(t, err)
	defer b.Close()
	f := newUsersFixture(t, a, 4)
	want := func(names ...string) {
		t.Helper()
		got := companyNames(t, a, f.admin)
		if len(got) != len(names) {
			t.Fatalf("companies %v, want %v", got, names)
		}
		for i := range names {
			if got[i] != names[i] {
				t.Fatalf("companies %v, want %v", got, names)
			}
		}
	}
	want("Alpha Plumbing", "Beta Roofing", "Gamma Dental")
	want("Alpha Plumbing", "Beta Roofing", "Gamma Dental") // from the cache
	db := b.DB()
	must(t, db.Create(&models.Company{AccountID: f.account.ID, Name: "Aardvark Pest", Status: models.CompanyActive, TimeZone: "UTC"}).Error)
	want("Aardvark Pest", "Alpha Plumbing", "Beta Roofing", "Gamma Dental")
	must(t, db.Model(&models.Company{}).Where("id = ?", f.companies[1].ID).Update("name", "Zeta Roofing").Error)
	want("Aardvark Pest", "Alpha Plumbing", "Gamma Dental", "Zeta Roofing")
	must(t, db.Model(&models.Company{}).Where("id = ?", f.companies[0].ID).Update("status", models.CompanyDisabled).Error)
	must(t, db.Model(&models.Company{}).Where("id = ?", f.companies[3].ID).Update("status", models.CompanyActive).Error)
	want("Aardvark Pest", "Delta Legal", "Gamma Dental", "Zeta Roofing")
	must(t, db.Delete(&models.Company{}, f.companies[2].ID).Error)
	want("Aardvark Pest", "Delta Legal", "Zeta Roofing")

	// The users list names companies from the same cache.
	p, err := a.FindUsers(ctx, f.admin, models.UserFilter{CompanyID: f.companies[3].ID})
	must(t, err)
	for _, r := range p.Rows {
		found := false
		for _, n := range r.Companies {
			found = found || n == "Delta Legal"
		}
		if !found {
			t.Errorf("%s: companies %v lack Delta Legal", r.Email, r.Companies)
		}
	}
}
