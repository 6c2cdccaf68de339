package notify

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"switchboard/models"
)

// Recipient of a company's emails, as the company's page lists them.
type CompanyRecipient struct {
	Member models.Membership
	// Choice is what they receive for the company itself; All what they
	// receive for all their companies (which includes this one).
	Choice Choice
	All    Choice
	// CanOpen: the viewer may open the person's notifications.
	CanOpen bool
}

// CompanyRecipients lists who receives what for a company: the active
// people who see it and have something on for it or for all their
// companies, A → Z; and the first of those who see it and receive nothing
// about it (Others, of OthersTotal), so someone can be set up. Admins see it, and Managers for their companies; the
// company must be in the viewer's scope (404), and a Reporting user is
// refused (403).
func (s *Service) CompanyRecipients(ctx context.Context, v *models.Viewer, companyID uint) (*CompanyNotifications, error) {
	co, err := s.store.CompanyFor(ctx, v, models.CapEmails, companyID)
	if err != nil {
		return nil, err
	}
	if !models.CanViewCompanyRecipients(v.Type()) {
		return nil, &models.Error{Code: models.Forbidden, Title: "Not something your type of user can open",
			Message: fmt.Sprintf("%s users see only their own notifications. Admins and the company's Managers see who receives what.", v.Type().Label())}
	}
	var rows []struct {
		Subscription
		FirstName, LastName, Email string
		Type                       models.UserType
		Status                     models.MemberStatus
	}
	err = s.store.DB().WithContext(ctx).Table("notify_subscriptions AS s").
		Select("s.*, m.first_name, m.last_name, m.email, m.type, m.status").
		Joins("JOIN memberships m ON m.id = s.membership_id").
		Where("s.account_id = ? AND s.company_id IN ? AND s.active = ? AND m.status = ?", co.AccountID, []uint{0, co.ID}, true, models.MemberActive).
		Where("(m.type = ? OR EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = m.id AND a.company_id = ?))", models.Admin, co.ID).
		Order("m.sort_name, m.id, s.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("recipients of company: %w", err)
	}
	var out []CompanyRecipient
	index := map[uint]int{}
	for _, r := range rows {
		i, ok := index[r.MembershipID]
		if !ok {
			i = len(out)
			index[r.MembershipID] = i
			m := models.Membership{ID: r.MembershipID, AccountID: r.AccountID, FirstName: r.FirstName, LastName: r.LastName,
				Email: r.Email, Type: r.Type, Status: r.Status}
			out = append(out, CompanyRecipient{Member: m,
				CanOpen: models.CanViewNotificationsOf(v.Type(), m.ID == v.Membership.ID)})
		}
		c := &out[i].Choice
		if r.CompanyID == 0 {
			c = &out[i].All
		}
		c.set(r.Kind, r.Filter)
	}
	res := &CompanyNotifications{Company: *co, Recipients: out}
	// Everyone else who sees the company: its people and the Admins.
	others := s.store.DB().WithContext(ctx).Model(&models.Membership{}).
		Where("memberships.account_id = ? AND memberships.status = ?", co.AccountID, models.MemberActive).
		Where("(memberships.type = ? OR EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = memberships.id AND a.company_id = ?))", models.Admin, co.ID)
	if len(index) > 0 {
		ids := make([]uint, 0, len(index))
		for id := range index {
			ids = append(ids, id)
		}
		others = others.Where("memberships.id NOT IN ?", ids)
	}
	var total int64
	if err := others.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return nil, fmt.Errorf("people of company: %w", err)
	}
	res.OthersTotal = int(total)
	if err := others.Order("memberships.sort_name, memberships.id").Limit(maxOthers).Find(&res.Others).Error; err != nil {
		return nil, fmt.Errorf("people of company: %w", err)
	}
	return res, nil
}

// maxOthers bounds the people listed as receiving nothing.
const maxOthers = 100

// CompanyNotifications is who receives what for a company.
type CompanyNotifications struct {
	Company    models.Company
	Recipients []CompanyRecipient
	// Others are people who see the company and receive nothing about
	// it, A → Z, at most a hundred of OthersTotal.
	Others      []models.Membership
	OthersTotal int
}
