package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// memberOfAccount loads a person of the viewer's account, for changes only
// Admins make (their scope is the whole account); anyone else's lookups go
// through findVisibleMember.
func (s *Store) memberOfAccount(tx *gorm.DB, v *Viewer, memberID uint) (*Membership, error) {
	var m Membership
	err := tx.Where("account_id = ? AND id = ?", v.Account.ID, memberID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find member: %w", err)
	}
	return &m, nil
}

// assignCompanies gives a new member their companies in batched inserts and
// returns the companies' names, for the audit detail. The companies were
// checked before the transaction; they are checked again inside it, so one
// disabled in between is not assigned.
func assignCompanies(tx *gorm.DB, m *Membership, companies []Company, now time.Time) ([]string, error) {
	if len(companies) == 0 {
		return nil, nil
	}
	rows := make([]Assignment, len(companies))
	names := make([]string, len(companies))
	ids := make([]uint, len(companies))
	for i, c := range companies {
		rows[i] = Assignment{MembershipID: m.ID, CompanyID: c.ID, CreatedAt: now}
		names[i] = c.Name
		ids[i] = c.ID
	}
	var active int64
	if err := tx.Model(&Company{}).Where("account_id = ? AND status = ? AND id IN ?", m.AccountID, CompanyActive, ids).
		Count(&active).Error; err != nil {
		return nil, fmt.Errorf("check companies: %w", err)
	}
	if active != int64(len(ids)) {
		return nil, FieldErrors(map[string]string{"companies": "One of the chosen companies was disabled a moment ago. Check the list and choose again."})
	}
	if err := tx.CreateInBatches(rows, 200).Error; err != nil {
		return nil, fmt.Errorf("assign companies: %w", err)
	}
	return names, nil
}

// AssignCompany gives a member sight of a company. Adding someone who is
// already there is not an error.
func (s *Store) AssignCompany(ctx context.Context, v *Viewer, memberID, companyID uint, ip string) (*Membership, *Company, error) {
	return s.changeAssignment(ctx, v, memberID, companyID, ip, true)
}

// UnassignCompany takes a company away from a member.
func (s *Store) UnassignCompany(ctx context.Context, v *Viewer, memberID, companyID uint, ip string) (*Membership, *Company, error) {
	return s.changeAssignment(ctx, v, memberID, companyID, ip, false)
}

func (s *Store) changeAssignment(ctx context.Context, v *Viewer, memberID, companyID uint, ip string, add bool) (*Membership, *Company, error) {
	var m *Membership
	var c *Company
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Both the company and the person are looked up in the viewer's
		// scope before any right is asked (policy.go): a Manager naming
		// someone he cannot see elsewhere gets 404, even by a forged form.
		var err error
		if c, err = findCompany(tx, v, companyID); err != nil {
			return err
		}
		if m, err = findVisibleMember(tx, v, memberID); err != nil {
			return err
		}
		switch {
		case len(AssignableTypes(v.Type())) == 0:
			return Errorf(Forbidden, "Your type of user cannot add people to companies or remove them.")
		case c.Status != CompanyActive:
			// Only Admins see disabled companies.
			return Errorf(Conflict, "%s is disabled. Enable it again before changing its users.", c.Name)
		case m.Type == Admin:
			return Errorf(Conflict, "%s is an Admin and already sees every company.", m.FullName())
		case !CanAssign(v.Type(), m.Type):
			return Errorf(Forbidden, "As a %s you can add and remove only Reporting and Notification users.", v.Type().Label())
		}
		if add {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).
				Create(&Assignment{MembershipID: m.ID, CompanyID: c.ID, CreatedAt: s.Now()})
			if res.Error != nil {
				return fmt.Errorf("assign company: %w", res.Error)
			}
			if res.RowsAffected == 0 {
				return nil
			}
			return s.audit(tx, v.Account.ID, v.Actor(ip), "company.user_added", m, "Added to "+c.Name)
		}
		res := tx.Where("membership_id = ? AND company_id = ?", m.ID, c.ID).Delete(&Assignment{})
		if res.Error != nil {
			return fmt.Errorf("unassign company: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil
		}
		if err := s.audit(tx, v.Account.ID, v.Actor(ip), "company.user_removed", m, "Removed from "+c.Name); err != nil {
			return err
		}
		// The areas drop what the person did in that company (ring
		// groups…), in this transaction.
		change, err := unassignChange(tx, m, c)
		if err != nil {
			return err
		}
		return s.accessLost(tx, change, v.Actor(ip))
	})
	if err != nil {
		return nil, nil, err
	}
	return m, c, nil
}
