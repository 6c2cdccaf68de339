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
	var companies []Company
	if err := s.db.WithContext(ctx).Where("account_id = ? AND status = ?", v.Account.ID, CompanyActive).
		Order("name, id").Find(&companies).Error; err != nil {
		return nil, err
	}
	return s.findUsers(ctx, v, f, companies)
}
