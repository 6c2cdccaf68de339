package models

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// What a viewer may see (policy.go, "Scope, and 404 versus 403"), as
// queries: visibleCompanies (company.go) for companies, visibleMembers for
// people, companiesInView for the companies a page may name about others.

// visibleMembers scopes a query on memberships to the people the viewer may
// see: the whole account for an Admin, visibleMemberSQL for anyone else.
func visibleMembers(q *gorm.DB, v *Viewer) *gorm.DB {
	q = q.Where("memberships.account_id = ?", v.Account.ID)
	if v.Type().SeesAllCompanies() {
		return q
	}
	sql, vars := visibleMemberSQL(v)
	return q.Where(sql, vars...)
}

// findVisibleMember returns a person the viewer may see; anyone else, of
// this account or another, is the same 404 as someone who does not exist.
// FindVisibleMember is the person with this id when the viewer's scope
// holds them, and 404 otherwise: the lookup that comes before any right
// is asked.
func (s *Store) FindVisibleMember(ctx context.Context, v *Viewer, id uint) (*Membership, error) {
	return findVisibleMember(s.db.WithContext(ctx), v, id)
}

func findVisibleMember(tx *gorm.DB, v *Viewer, id uint) (*Membership, error) {
	var m Membership
	err := visibleMembers(tx, v).Where("memberships.id = ?", id).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find member: %w", err)
	}
	return &m, nil
}

// companiesInView are the companies a page may name or count to the viewer
// when it describes other people (a users list row's "2 Acme Corp, Acme
// West"): for an Admin the account's active companies, from the cache at
// version; for anyone else only their own active companies, so that a
// person's other companies are neither named nor counted.
func (s *Store) companiesInView(ctx context.Context, v *Viewer, version int64) ([]Company, error) {
	if v.Type().SeesAllCompanies() {
		return s.activeCompaniesAt(ctx, v.Account.ID, version)
	}
	return s.VisibleCompanies(ctx, v)
}
