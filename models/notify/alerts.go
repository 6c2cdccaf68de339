package notify

import (
	"fmt"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/calls"
)

// Call and text alerts are written by the webhook that records the call's
// end or the text's arrival, in its transaction (calls.CompletionHook): a
// few indexed reads, one render per recipient and the outbox rows. The
// delivery worker sends them within seconds.

// alertRow is a subscription that may want an alert, with its person.
type alertRow struct {
	SubID        uint
	Kind         Kind
	Filter       CallFilter
	CompanyID    uint
	SetByID      *uint
	SetByName    string
	MembershipID uint
	FirstName    string
	LastName     string
	Email        string
	Type         models.UserType
	LoginZone    string
}

// wants tells whether the subscription asks for an alert about c.
func (r alertRow) wants(c calls.Call) bool {
	if r.Kind == TextAlerts {
		return c.Kind == calls.KindText
	}
	if c.Kind != calls.KindCall {
		return false
	}
	switch r.Filter {
	case EveryCall:
		return true
	case FirstTimeCalls:
		return c.FirstTime
	case MissedCalls:
		return c.Outcome != calls.OutcomeAnswered
	}
	return false
}

// CallCompleted writes the alerts of a call that has just ended or a text
// that has just arrived: one email to each active person who sees the
// company and subscribed to it, for the company or all their companies
// (one email each, whichever of their subscriptions asks for it first).
// Register it with calls.Service.OnCompleted.
func (s *Service) CallCompleted(tx *gorm.DB, ev calls.Completed) error {
	kind := CallAlerts
	if ev.Call.Kind == calls.KindText {
		kind = TextAlerts
	}
	if ev.Company.Status != models.CompanyActive {
		return nil
	}
	var rows []alertRow
	err := tx.Table("notify_subscriptions AS s").
		Select("s.id AS sub_id, s.kind, s.filter, s.company_id, s.set_by_id, s.set_by_name, s.membership_id, "+
			"m.first_name, m.last_name, m.email, m.type, COALESCE(l.time_zone, '') AS login_zone").
		Joins("JOIN memberships m ON m.id = s.membership_id").
		Joins("LEFT JOIN logins l ON l.id = m.login_id").
		Where("s.account_id = ? AND s.kind = ? AND s.company_id IN ? AND s.active = ? AND m.status = ?",
			ev.Call.AccountID, kind, []uint{0, ev.Company.ID}, true, models.MemberActive).
		Where("(m.type = ? OR EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = m.id AND a.company_id = ?))",
			models.Admin, ev.Company.ID).
		// A person's subscription for the company comes before their
		// "all companies" one.
		Order("s.membership_id, s.company_id DESC").Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("alert recipients: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	var account models.Account
	if err := tx.Where("id = ?", ev.Call.AccountID).Take(&account).Error; err != nil {
		return fmt.Errorf("account of call: %w", err)
	}
	if account.Status != models.AccountActive {
		return nil
	}
	var out []*models.OutboxMessage
	done := map[uint]bool{}
	for _, r := range rows {
		if done[r.MembershipID] || !r.wants(ev.Call) {
			continue
		}
		done[r.MembershipID] = true
		to := Recipient{MemberID: r.MembershipID, FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Type: r.Type,
			Zone: s.store.ZoneOf(&models.Login{TimeZone: r.LoginZone}, &account)}
		company := ""
		if r.CompanyID != 0 {
			company = ev.Company.Name
		}
		sub := Subscription{ID: r.SubID, Kind: r.Kind, MembershipID: r.MembershipID, SetByID: r.SetByID}
		why := Why{Kind: r.Kind, Filter: r.Filter, Company: company, SetBy: r.SetByName, SetBySelf: sub.SetBySelf(), Token: s.Token(sub)}
		mail, err := s.mail.Alert(AlertMail{To: to, AccountName: account.Name, Call: ev.Call, Number: ev.Number, Company: ev.Company, Why: why})
		if err != nil {
			return fmt.Errorf("compose alert: %w", err)
		}
		out = append(out, message(account, to, "alert_"+string(kind), mail))
	}
	return s.store.EnqueueEmailsTx(tx, out)
}

// message is the outbox row of a notification email: from the account's
// name, with its one-click unsubscribe.
func message(account models.Account, to Recipient, kind string, mail Mail) *models.OutboxMessage {
	accountID, memberID := account.ID, to.MemberID
	return &models.OutboxMessage{AccountID: &accountID, MembershipID: &memberID, Kind: kind,
		ToAddress: to.Email, ToName: to.Name(), Subject: mail.Subject, TextBody: mail.Text, HTMLBody: mail.HTML,
		FromName: account.Name, Unsubscribe: mail.Unsubscribe}
}
