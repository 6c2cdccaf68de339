package calls

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// accessHook keeps ring groups to people who may take the company's calls:
// when the people core deletes, disables or demotes a person, or takes a
// company away from them, it calls AccessLost inside that change's
// transaction, and its confirmation pages ask AccessLosses first.
type accessHook struct{ s *Service }

// ringEntry is one ring group a person answers.
type ringEntry struct {
	MembershipID uint
	NumberID     uint
	CompanyID    uint
	NumberName   string
	CompanyName  string
}

func (e ringEntry) label() string { return e.NumberName + " (" + e.CompanyName + ")" }

func ringEntriesOf(db *gorm.DB, memberIDs []uint) ([]ringEntry, error) {
	var out []ringEntry
	err := db.Table("ring_group_members AS r").
		Select("r.membership_id, r.number_id, n.company_id, n.name AS number_name, c.name AS company_name").
		Joins("JOIN tracking_numbers n ON n.id = r.number_id").
		Joins("JOIN companies c ON c.id = n.company_id").
		Where("r.membership_id IN ?", memberIDs).
		Order("c.name, n.name, n.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("ring groups of people: %w", err)
	}
	return out, nil
}

// AccessLosses lists the ring groups each person would stop answering.
func (h accessHook) AccessLosses(_ context.Context, db *gorm.DB, changes []models.AccessChange) (map[uint][]string, error) {
	ids := make([]uint, len(changes))
	byMember := map[uint]models.AccessChange{}
	for i, c := range changes {
		ids[i] = c.Member.ID
		byMember[c.Member.ID] = c
	}
	entries, err := ringEntriesOf(db, ids)
	if err != nil {
		return nil, err
	}
	lost := map[uint][]string{}
	for _, e := range entries {
		if !byMember[e.MembershipID].Keeps(models.CapTakeCalls, e.CompanyID) {
			lost[e.MembershipID] = append(lost[e.MembershipID], e.label())
		}
	}
	out := map[uint][]string{}
	for id, labels := range lost {
		out[id] = []string{"Stops answering calls to " + strings.Join(labels, ", ")}
	}
	return out, nil
}

// AccessLost takes the person out of every ring group of a company where
// they can no longer take calls.
func (h accessHook) AccessLost(tx *gorm.DB, c models.AccessChange, actor models.Actor) error {
	keep := func(companyID uint) bool { return c.Keeps(models.CapTakeCalls, companyID) }
	_, err := h.s.leaveRingGroups(tx, c.Member, keep, actor, c.Reason)
	return err
}

// leaveRingGroups removes a person from the ring groups of the companies
// keep says no to (all of them when keep is nil), with an audit event per
// number, and returns the numbers left. A ring group left empty makes its
// flow fall back to voicemail; the numbers page flags it.
func (s *Service) leaveRingGroups(tx *gorm.DB, m models.Membership, keep func(companyID uint) bool, actor models.Actor, reason string) ([]string, error) {
	entries, err := ringEntriesOf(tx, []uint{m.ID})
	if err != nil {
		return nil, err
	}
	var left []string
	for _, e := range entries {
		if keep != nil && keep(e.CompanyID) {
			continue
		}
		res := tx.Where("number_id = ? AND membership_id = ?", e.NumberID, m.ID).Delete(&RingGroupMember{})
		if res.Error != nil {
			return nil, fmt.Errorf("leave ring group: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			continue
		}
		var remaining int64
		if err := tx.Model(&RingGroupMember{}).Where("number_id = ?", e.NumberID).Count(&remaining).Error; err != nil {
			return nil, fmt.Errorf("count ring group: %w", err)
		}
		detail := "Left the ring group of " + e.label() + ": " + reason
		if remaining == 0 {
			detail += "; the ring group is empty, so its calls go to voicemail"
		}
		target := m
		if err := s.store.Audit(tx, models.AuditRecord{AccountID: m.AccountID, Actor: actor, Action: "ring_group.left",
			Target: &target, Detail: detail}); err != nil {
			return nil, err
		}
		left = append(left, e.label())
	}
	return left, nil
}
