package models

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
)

// The people core knows nothing of the areas built around it (calls,
// notifications, integrations, billing): they import it, never the
// reverse. Where a change to a person must change an area (a person
// deleted, disabled, demoted or removed from a company leaves the ring
// groups they answered), the core calls the hooks that the areas register
// on the Store at start-up (cmd wires them), inside the transaction of the
// change, so the change and its consequences commit or roll back together.
// The confirmation pages ask the same hooks what the person would lose.

// AccessChange is a change that may take access away from a person: what
// they will be after it. Areas ask Keeps rather than reading the fields, so
// the rule of who sees what stays in the core.
type AccessChange struct {
	AccountID uint
	// Member is the person as they are before the change.
	Member Membership
	// Removed: the person leaves the account (deleted, left).
	Removed bool
	// Type and Status are theirs after the change.
	Type   UserType
	Status MemberStatus
	// AllCompanies: they see every company afterwards (Admins); otherwise
	// Companies are the companies they keep.
	AllCompanies bool
	Companies    []uint
	// Reason says what happened, for the areas' audit details:
	// "deleted", "disabled", "changed to Notification", "removed from Acme"…
	Reason string
}

// Keeps reports whether the person still holds capability c in the
// company after the change.
func (a AccessChange) Keeps(c Capability, companyID uint) bool {
	if a.Removed || a.Status == MemberDisabled || !Can(a.Type, c) {
		return false
	}
	return a.AllCompanies || slices.Contains(a.Companies, companyID)
}

// AccessHook is what an area registers to follow changes to people.
type AccessHook interface {
	// AccessLosses lists, per person, what each change would take away in
	// the area, in sentences for a confirmation ("Stops answering: Main
	// line (Acme)"). It only reads.
	AccessLosses(ctx context.Context, db *gorm.DB, changes []AccessChange) (map[uint][]string, error)
	// AccessLost brings the area in line with a change, inside the
	// change's transaction; an error rolls the whole change back.
	AccessLost(tx *gorm.DB, change AccessChange, actor Actor) error
}

// Area is what one area registers at start-up.
type Area struct {
	Name string
	// AuditActions are the kinds of audit event the area records, for the
	// audit log's labels and filter.
	AuditActions []AuditAction
	// Access follows changes to people; nil when the area needs nothing.
	Access AccessHook
	// Created is told of each person the wizard creates; nil when the
	// area needs nothing.
	Created CreateHook
}

// CreateHook is what an area registers to set itself up for a new person:
// the wizard carries the area's own choices for them (Draft.Receives: what
// a Notification user receives), which the core passes on without reading.
type CreateHook interface {
	// MemberCreated runs inside the transaction that creates the person,
	// with their companies and the choices; an error rolls the whole
	// creation back.
	MemberCreated(tx *gorm.DB, m Membership, companies []Company, choices []string, actor Actor) error
}

// areaRegistry holds the areas of one Store. Areas register before the
// server starts and the list is only read afterwards.
type areaRegistry struct {
	areas []Area
}

// RegisterArea adds an area's hooks and vocabulary. Call it at start-up,
// before the store serves requests.
func (s *Store) RegisterArea(a Area) {
	s.areas.areas = append(s.areas.areas, a)
}

// accessLost tells every area of a change, inside its transaction.
func (s *Store) accessLost(tx *gorm.DB, change AccessChange, actor Actor) error {
	for _, a := range s.areas.areas {
		if a.Access == nil {
			continue
		}
		if err := a.Access.AccessLost(tx, change, actor); err != nil {
			return fmt.Errorf("%s: %w", a.Name, err)
		}
	}
	return nil
}

// memberCreated tells every area of a new person, inside the transaction
// that creates them.
func (s *Store) memberCreated(tx *gorm.DB, m Membership, companies []Company, choices []string, actor Actor) error {
	for _, a := range s.areas.areas {
		if a.Created == nil {
			continue
		}
		if err := a.Created.MemberCreated(tx, m, companies, choices, actor); err != nil {
			return fmt.Errorf("%s: %w", a.Name, err)
		}
	}
	return nil
}

// AccessLosses asks every area what the changes would take away, merged
// per person in the order the areas registered.
func (s *Store) AccessLosses(ctx context.Context, changes []AccessChange) (map[uint][]string, error) {
	out := map[uint][]string{}
	if len(changes) == 0 {
		return out, nil
	}
	db := s.db.WithContext(ctx)
	for _, a := range s.areas.areas {
		if a.Access == nil {
			continue
		}
		losses, err := a.Access.AccessLosses(ctx, db, changes)
		if err != nil {
			return nil, fmt.Errorf("%s: losses: %w", a.Name, err)
		}
		for id, lines := range losses {
			out[id] = append(out[id], lines...)
		}
	}
	return out, nil
}

// assignedCompanyIDs are the companies a person is assigned to now.
func assignedCompanyIDs(db *gorm.DB, memberID uint) ([]uint, error) {
	var ids []uint
	if err := db.Model(&Assignment{}).Where("membership_id = ?", memberID).Pluck("company_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("companies of member: %w", err)
	}
	return ids, nil
}

// removalChange is a person leaving the account.
func removalChange(m *Membership, reason string) AccessChange {
	return AccessChange{AccountID: m.AccountID, Member: *m, Removed: true, Type: m.Type, Status: m.Status, Reason: reason}
}

// disableChange is a person disabled.
func disableChange(m *Membership) AccessChange {
	return AccessChange{AccountID: m.AccountID, Member: *m, Type: m.Type, Status: MemberDisabled, Reason: "disabled"}
}

// typeChange is a person moved to another type, keeping companies (the
// chosen ones when an Admin becomes company-scoped).
func typeChange(db *gorm.DB, m *Membership, to UserType, chosen []uint) (AccessChange, error) {
	c := AccessChange{AccountID: m.AccountID, Member: *m, Type: to, Status: m.Status,
		Reason: "changed to " + to.Label(), AllCompanies: to.SeesAllCompanies()}
	switch {
	case c.AllCompanies:
	case m.Type.SeesAllCompanies():
		c.Companies = chosen
	default:
		ids, err := assignedCompanyIDs(db, m.ID)
		if err != nil {
			return c, err
		}
		c.Companies = ids
	}
	return c, nil
}

// unassignChange is a person taken off one company.
func unassignChange(db *gorm.DB, m *Membership, co *Company) (AccessChange, error) {
	ids, err := assignedCompanyIDs(db, m.ID)
	if err != nil {
		return AccessChange{}, err
	}
	ids = slices.DeleteFunc(ids, func(id uint) bool { return id == co.ID })
	return AccessChange{AccountID: m.AccountID, Member: *m, Type: m.Type, Status: m.Status,
		AllCompanies: m.Type.SeesAllCompanies(), Companies: ids, Reason: "removed from " + co.Name}, nil
}

// DeleteLosses lists what deleting a person would take away in the areas.
func (s *Store) DeleteLosses(ctx context.Context, m *Membership) ([]string, error) {
	losses, err := s.AccessLosses(ctx, []AccessChange{removalChange(m, "deleted")})
	return losses[m.ID], err
}

// DisableLosses lists what disabling a person would take away.
func (s *Store) DisableLosses(ctx context.Context, m *Membership) ([]string, error) {
	losses, err := s.AccessLosses(ctx, []AccessChange{disableChange(m)})
	return losses[m.ID], err
}

// TypeChangeLosses lists what moving a person to another type would take
// away. For an Admin moving to a company-scoped type the companies are not
// chosen yet, so everything tied to a company is listed.
func (s *Store) TypeChangeLosses(ctx context.Context, m *Membership, to UserType) ([]string, error) {
	c, err := typeChange(s.db.WithContext(ctx), m, to, nil)
	if err != nil {
		return nil, err
	}
	losses, err := s.AccessLosses(ctx, []AccessChange{c})
	return losses[m.ID], err
}

// UnassignLosses lists, per person, what taking the company away from each
// of them would take away.
func (s *Store) UnassignLosses(ctx context.Context, co *Company, members []Membership) (map[uint][]string, error) {
	if len(members) == 0 {
		return map[uint][]string{}, nil
	}
	ids := make([]uint, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	var rows []Assignment
	if err := s.db.WithContext(ctx).Where("membership_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("companies of members: %w", err)
	}
	kept := map[uint][]uint{}
	for _, r := range rows {
		if r.CompanyID != co.ID {
			kept[r.MembershipID] = append(kept[r.MembershipID], r.CompanyID)
		}
	}
	changes := make([]AccessChange, len(members))
	for i, m := range members {
		changes[i] = AccessChange{AccountID: m.AccountID, Member: m, Type: m.Type, Status: m.Status,
			AllCompanies: m.Type.SeesAllCompanies(), Companies: kept[m.ID], Reason: "removed from " + co.Name}
	}
	return s.AccessLosses(ctx, changes)
}
