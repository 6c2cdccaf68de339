package models

import (
	"context"
)

// PrefixRange is prefixRange, for tests outside the package.
var PrefixRange = prefixRange

// FindUsersUncached reads a users list page from the database alone.
func (s *Store) FindUsersUncached(ctx context.Context, v *Viewer, f UserFilter) (*UserPage, error) {
	f, err := CleanUserFilter(f)
	if err != nil {
		return nil, err
	}
	// The companies the rows may name (companiesInView), read afresh.
	var companies []Company
	if !v.Type().SeesAllCompanies() {
		companies, err = s.VisibleCompanies(ctx, v)
	} else {
		err = s.db.WithContext(ctx).Where("account_id = ? AND status = ?", v.Account.ID, CompanyActive).
			Order("name, id").Find(&companies).Error
	}
	if err != nil {
		return nil, err
	}
	return s.findUsers(ctx, v, f, companies)
}

// ClaimSQL is claimSQL, for tests outside the package.
func ClaimSQL(dialect string, q Queue, where string) string { return claimSQL(dialect, q, where) }
