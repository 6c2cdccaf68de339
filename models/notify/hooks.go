package notify

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"switchboard/models"
)

// accessHook follows changes to people: a person removed from a company
// (or moved to a type that loses it) stops receiving its emails, in the
// same transaction; a deleted person's subscriptions go with them (and the
// cascade would take them anyway); a disabled person keeps theirs, which
// wait: nothing is sent to a disabled person, and re-enabling them brings
// their emails back. The confirmation pages list what stops.
type accessHook struct{ s *Service }

// activeSub is an active subscription with its company's name.
type activeSub struct {
	ID           uint
	MembershipID uint
	CompanyID    uint
	Kind         Kind
	CompanyName  string
}

func (a activeSub) label() string { return Describe(a.Kind, a.CompanyName, "their") }

func activeSubsOf(db *gorm.DB, memberIDs []uint) ([]activeSub, error) {
	var out []activeSub
	err := db.Table("notify_subscriptions AS s").
		Select("s.id, s.membership_id, s.company_id, s.kind, COALESCE(c.name, '') AS company_name").
		Joins("LEFT JOIN companies c ON c.id = s.company_id").
		Where("s.membership_id IN ? AND s.active = ?", memberIDs, true).
		Order("s.company_id, s.id").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("subscriptions of people: %w", err)
	}
	return out, nil
}

// ends tells whether a change ends a subscription: everything when the
// person leaves, a company's when they no longer see it. "All their
// companies" follows them wherever they stay.
func ends(c models.AccessChange, sub activeSub) bool {
	if c.Removed {
		return true
	}
	if c.Status == models.MemberDisabled || sub.CompanyID == 0 {
		return false
	}
	return !c.Keeps(models.CapEmails, sub.CompanyID)
}

// AccessLosses lists what each person would stop receiving.
func (h accessHook) AccessLosses(_ context.Context, db *gorm.DB, changes []models.AccessChange) (map[uint][]string, error) {
	ids := make([]uint, len(changes))
	byMember := map[uint]models.AccessChange{}
	for i, c := range changes {
		ids[i] = c.Member.ID
		byMember[c.Member.ID] = c
	}
	subs, err := activeSubsOf(db, ids)
	if err != nil {
		return nil, err
	}
	ended, paused := map[uint][]string{}, map[uint][]string{}
	for _, sub := range subs {
		c := byMember[sub.MembershipID]
		switch {
		case ends(c, sub):
			ended[sub.MembershipID] = append(ended[sub.MembershipID], sub.label())
		case !c.Removed && c.Status == models.MemberDisabled:
			paused[sub.MembershipID] = append(paused[sub.MembershipID], sub.label())
		}
	}
	out := map[uint][]string{}
	for id, labels := range ended {
		out[id] = append(out[id], "Stops receiving: "+strings.Join(labels, "; "))
	}
	for id, labels := range paused {
		out[id] = append(out[id], "Receives nothing while disabled (resumes if re-enabled): "+strings.Join(labels, "; "))
	}
	return out, nil
}

// AccessLost ends the subscriptions the change takes away (and the
// history of the companies it takes away), with one audit event saying
// which were on.
func (h accessHook) AccessLost(tx *gorm.DB, c models.AccessChange, actor models.Actor) error {
	if c.Removed {
		// The person's row goes, and the cascade takes theirs; their
		// deletion is the event.
		return nil
	}
	if c.Status == models.MemberDisabled {
		return nil
	}
	var companies []uint
	if err := tx.Model(&Subscription{}).Where("membership_id = ? AND company_id <> 0", c.Member.ID).
		Distinct().Pluck("company_id", &companies).Error; err != nil {
		return fmt.Errorf("subscriptions of member: %w", err)
	}
	var lost []uint
	for _, id := range companies {
		if !c.Keeps(models.CapEmails, id) {
			lost = append(lost, id)
		}
	}
	if len(lost) == 0 {
		return nil
	}
	subs, err := activeSubsOf(tx, []uint{c.Member.ID})
	if err != nil {
		return err
	}
	var labels []string
	for _, sub := range subs {
		if ends(c, sub) {
			labels = append(labels, sub.label())
		}
	}
	if err := tx.Where("membership_id = ? AND company_id IN ?", c.Member.ID, lost).Delete(&Subscription{}).Error; err != nil {
		return fmt.Errorf("end subscriptions: %w", err)
	}
	if len(labels) == 0 {
		return nil
	}
	target := c.Member
	return h.s.store.Audit(tx, models.AuditRecord{AccountID: c.AccountID, Actor: actor, Action: "notify.ended",
		Target: &target, Detail: "Stopped receiving " + strings.Join(labels, "; ") + ": " + c.Reason})
}
