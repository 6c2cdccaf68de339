package notify

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// Choice is what one person receives for one company (or all of theirs):
// the controls of one row of the Notifications section.
type Choice struct {
	Calls                  CallFilter
	Texts                  bool
	Daily, Weekly, Monthly bool
}

// on tells whether the choice turns kind on, and with which filter.
func (c Choice) on(k Kind) (bool, CallFilter) {
	switch k {
	case CallAlerts:
		return c.Calls != CallsOff, c.Calls
	case TextAlerts:
		return c.Texts, ""
	case DailySummary:
		return c.Daily, ""
	case WeeklySummary:
		return c.Weekly, ""
	case MonthlySummary:
		return c.Monthly, ""
	}
	return false, ""
}

// None tells a choice that receives nothing.
func (c Choice) None() bool {
	return c.Calls == CallsOff && !c.Texts && !c.Daily && !c.Weekly && !c.Monthly
}

// Describe lists what the choice receives: "call alerts (missed calls
// only), daily summary"; "nothing" when empty.
func (c Choice) Describe() string {
	var parts []string
	for _, k := range Kinds {
		if on, f := c.on(k); on {
			if k == CallAlerts {
				parts = append(parts, k.Label()+" ("+strings.ToLower(f.Label())+")")
			} else {
				parts = append(parts, k.Label())
			}
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// DefaultChoice is what a new Notification user receives unless the wizard
// says otherwise: the daily summary, since that is why they exist.
var DefaultChoice = Choice{Daily: true}

// Choice values as the wizard carries them between its steps
// (models.Draft.Receives).
const (
	choiceTexts = "texts"
	choiceCalls = "calls:"
)

// Values writes a choice as the wizard carries it.
func (c Choice) Values() []string {
	var out []string
	if c.Calls != CallsOff {
		out = append(out, choiceCalls+string(c.Calls))
	}
	if c.Texts {
		out = append(out, choiceTexts)
	}
	for _, k := range SummaryKinds {
		if on, _ := c.on(k); on {
			out = append(out, string(k))
		}
	}
	return out
}

// ParseChoice reads the values Values writes; anything else (a value no
// form of ours sends, a repeat) is a 400.
func ParseChoice(values []string) (Choice, error) {
	var c Choice
	seen := map[string]bool{}
	bad := models.Errorf(models.BadRequest, "The form's notification choices are not valid.")
	for _, v := range values {
		if seen[v] || (strings.HasPrefix(v, choiceCalls) && c.Calls != CallsOff) {
			return Choice{}, bad
		}
		seen[v] = true
		switch {
		case strings.HasPrefix(v, choiceCalls):
			f, ok := ParseCallFilter(strings.TrimPrefix(v, choiceCalls))
			if !ok || f == CallsOff {
				return Choice{}, bad
			}
			c.Calls = f
		case v == choiceTexts:
			c.Texts = true
		case v == string(DailySummary):
			c.Daily = true
		case v == string(WeeklySummary):
			c.Weekly = true
		case v == string(MonthlySummary):
			c.Monthly = true
		default:
			return Choice{}, bad
		}
	}
	return c, nil
}

// Row is what a person receives for one company, or for all their
// companies (Company nil), as the Notifications section shows it.
type Row struct {
	Company *models.Company
	Choice  Choice
	// Subs are the stored subscriptions of the row by kind, on or off,
	// for who set each up and when the person unsubscribed.
	Subs map[Kind]Subscription
	// Decision says whether the viewer may change the row, and why.
	Decision models.NotifyDecision
}

// Key is the row's value in forms: the company's ID, or "all".
func (r Row) Key() string {
	if r.Company == nil {
		return "all"
	}
	return fmt.Sprint(r.Company.ID)
}

// Unsubscribed lists the kinds the person turned off from an email and
// has not had turned on again.
func (r Row) Unsubscribed() []Subscription {
	var out []Subscription
	for _, k := range Kinds {
		if sub, ok := r.Subs[k]; ok && !sub.Active && sub.UnsubscribedAt != nil {
			out = append(out, sub)
		}
	}
	return out
}

// SetBy lists who set up what is on, by name, once each.
func (r Row) SetBy() []string {
	var out []string
	for _, k := range Kinds {
		if sub, ok := r.Subs[k]; ok && sub.Active && sub.SetByName != "" && !slices.Contains(out, sub.SetByName) {
			out = append(out, sub.SetByName)
		}
	}
	return out
}

// Settings are a person's notifications as one viewer may see and change
// them.
type Settings struct {
	Member models.Membership
	Self   bool
	// Rows are the person's rows: all their companies first, then their
	// companies A → Z; only companies the viewer sees are named.
	Rows []Row
	// Addable are the viewer's companies the person sees that have no row
	// yet and the viewer may set; AddAll offers an "all companies" row.
	Addable []models.Company
	AddAll  bool
	// AllDecision is the verdict on an "all companies" row, for the page
	// to explain a missing AddAll.
	AllDecision models.NotifyDecision
}

// companiesFor are the active companies a person sees, as far as the
// viewer may know them: the viewer's companies that are also the person's.
func (s *Service) companiesFor(ctx context.Context, v *models.Viewer, m *models.Membership) ([]models.Company, error) {
	mine, err := s.store.VisibleCompanies(ctx, v)
	if err != nil {
		return nil, err
	}
	if m.Type.SeesAllCompanies() {
		return mine, nil
	}
	theirs, err := s.store.CompaniesOf(ctx, m)
	if err != nil {
		return nil, err
	}
	var out []models.Company
	for _, c := range mine {
		if slices.ContainsFunc(theirs, func(t models.Company) bool { return t.ID == c.ID }) {
			out = append(out, c)
		}
	}
	return out, nil
}

// decide asks the policy about one row.
func decide(v *models.Viewer, m *models.Membership, co *models.Company, companyInScope bool) models.NotifyDecision {
	in := models.NotifySetting{ActorType: v.Type(), Self: v.Membership.ID == m.ID, TargetType: m.Type,
		TargetName: m.FullName(), TargetInScope: true, AllCompanies: co == nil, CompanyInScope: companyInScope}
	if co != nil {
		in.CompanyName = co.Name
	}
	return models.CanSetNotifications(in)
}

// SettingsOf returns a person's notifications for a viewer who may see
// them: 404 for someone outside the viewer's scope, 403 for a Reporting
// user asking about someone else.
func (s *Service) SettingsOf(ctx context.Context, v *models.Viewer, memberID uint) (*Settings, error) {
	m, err := s.store.FindMember(ctx, v, memberID)
	if err != nil {
		return nil, err
	}
	self := v.Membership.ID == m.ID
	if !models.CanViewNotificationsOf(v.Type(), self) {
		return nil, &models.Error{Code: models.Forbidden, Title: "Not something you can open",
			Message: fmt.Sprintf("%s users see and set only their own notifications.", v.Type().Label())}
	}
	companies, err := s.companiesFor(ctx, v, m)
	if err != nil {
		return nil, err
	}
	var subs []Subscription
	if err := s.store.DB().WithContext(ctx).Where("membership_id = ?", m.ID).Order("id").Find(&subs).Error; err != nil {
		return nil, fmt.Errorf("subscriptions of member: %w", err)
	}
	byCompany := map[uint]map[Kind]Subscription{}
	for _, sub := range subs {
		if !sub.Active && sub.UnsubscribedAt == nil {
			continue // turned off by someone: nothing to show
		}
		if byCompany[sub.CompanyID] == nil {
			byCompany[sub.CompanyID] = map[Kind]Subscription{}
		}
		byCompany[sub.CompanyID][sub.Kind] = sub
	}
	out := &Settings{Member: *m, Self: self}
	out.AllDecision = decide(v, m, nil, false)
	if row, ok := byCompany[0]; ok {
		out.Rows = append(out.Rows, Row{Subs: row, Choice: choiceOf(row), Decision: out.AllDecision})
	} else {
		out.AddAll = out.AllDecision.Allowed
	}
	for i := range companies {
		co := &companies[i]
		d := decide(v, m, co, true)
		row, ok := byCompany[co.ID]
		if !ok {
			if d.Allowed {
				out.Addable = append(out.Addable, *co)
			}
			continue
		}
		out.Rows = append(out.Rows, Row{Company: co, Subs: row, Choice: choiceOf(row), Decision: d})
	}
	return out, nil
}

// set turns on the control of a subscription of kind k (filter: which
// calls, for call alerts).
func (c *Choice) set(k Kind, filter CallFilter) {
	switch k {
	case CallAlerts:
		c.Calls = filter
	case TextAlerts:
		c.Texts = true
	case DailySummary:
		c.Daily = true
	case WeeklySummary:
		c.Weekly = true
	case MonthlySummary:
		c.Monthly = true
	}
}

// choiceOf reads the controls of a row from its subscriptions.
func choiceOf(subs map[Kind]Subscription) Choice {
	var c Choice
	for k, sub := range subs {
		if !sub.Active {
			continue
		}
		c.set(k, sub.Filter)
	}
	return c
}

// RowInput is one row of the Notifications section as submitted.
type RowInput struct {
	// CompanyID is the company, or 0 with All for all the person's
	// companies.
	CompanyID uint
	All       bool
	Choice    Choice
}

// SaveRow sets what a person receives for one company (or all theirs),
// for a viewer the policy allows: 404 outside the viewer's scope, 403 in
// it but not theirs to set, 422 for a company the person does not see.
// The change is audited; saving what is already set changes nothing.
func (s *Service) SaveRow(ctx context.Context, v *models.Viewer, memberID uint, in RowInput, ip string) (changed bool, err error) {
	m, err := s.store.FindMember(ctx, v, memberID)
	if err != nil {
		return false, err
	}
	if !in.All {
		// Every object the request names is looked up in scope before any
		// right is asked (policy.go): the company too.
		if _, err := s.store.CompanyFor(ctx, v, models.CapEmails, in.CompanyID); err != nil {
			return false, err
		}
	}
	if !models.CanViewNotificationsOf(v.Type(), v.Membership.ID == m.ID) {
		return false, &models.Error{Code: models.Forbidden, Title: "Not something you can change",
			Message: fmt.Sprintf("%s users set only their own notifications. An Admin, or %s, can change these.", v.Type().Label(), m.FullName())}
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var co *models.Company
		if !in.All {
			// The company must be one the viewer sees (404 otherwise)…
			found, err := models.CompanyFor(tx, v, models.CapEmails, in.CompanyID)
			if err != nil {
				return err
			}
			co = found
		}
		if d := decide(v, m, co, true); !d.Allowed {
			return d.Err
		}
		if co != nil {
			// …and one the person sees: nobody receives email about a
			// company they may not see.
			sees, err := seesCompany(tx, m, co.ID)
			if err != nil {
				return err
			}
			if !sees {
				return models.FieldErrors(map[string]string{"company": fmt.Sprintf("%s does not see %s, so they cannot receive its emails. Add them to the company first.", m.FullName(), co.Name)})
			}
		}
		companyID := uint(0)
		name := ""
		if co != nil {
			companyID, name = co.ID, co.Name
		}
		var err error
		changed, err = s.setChoice(tx, *m, companyID, in.Choice, v.Actor(ip))
		if err != nil || !changed {
			return err
		}
		target := *m
		what := "all their companies"
		if name != "" {
			what = name
		}
		return s.store.Audit(tx, models.AuditRecord{AccountID: m.AccountID, Actor: v.Actor(ip), Action: "notify.updated",
			Target: &target, Detail: "Notifications for " + what + ": " + in.Choice.Describe()})
	})
	return changed, err
}

// seesCompany tells whether a person sees an active company: Admins see
// every one of their account, everyone else the ones assigned to them.
func seesCompany(tx *gorm.DB, m *models.Membership, companyID uint) (bool, error) {
	var ids []uint
	q := tx.Model(&models.Company{}).Where("id = ? AND account_id = ? AND status = ?", companyID, m.AccountID, models.CompanyActive)
	if !m.Type.SeesAllCompanies() {
		q = q.Where("EXISTS (SELECT 1 FROM assignments a WHERE a.company_id = companies.id AND a.membership_id = ?)", m.ID)
	}
	if err := q.Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, fmt.Errorf("company of member: %w", err)
	}
	return len(ids) == 1, nil
}

// setChoice makes the person's subscriptions for a company (0: all theirs)
// match the choice, inside tx, and reports whether anything changed. A
// kind turned on (again) starts now, clears an unsubscribe and names actor
// as who set it up; one turned off keeps its row and history.
func (s *Service) setChoice(tx *gorm.DB, m models.Membership, companyID uint, c Choice, actor models.Actor) (bool, error) {
	var existing []Subscription
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("membership_id = ? AND company_id = ?", m.ID, companyID).Find(&existing).Error
	if err != nil {
		return false, fmt.Errorf("subscriptions of member: %w", err)
	}
	byKind := map[Kind]Subscription{}
	for _, sub := range existing {
		byKind[sub.Kind] = sub
	}
	now := s.now()
	changed := false
	for _, k := range Kinds {
		on, filter := c.on(k)
		sub, has := byKind[k]
		switch {
		case on && !has:
			row := Subscription{AccountID: m.AccountID, MembershipID: m.ID, CompanyID: companyID, Kind: k, Filter: filter,
				Active: true, ActiveSince: now, SetByID: actor.MembershipID, SetByName: actor.Name, CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(&row).Error; err != nil {
				return false, fmt.Errorf("subscribe: %w", err)
			}
			changed = true
		case on && (!sub.Active || sub.Filter != filter):
			set := map[string]any{"filter": filter, "set_by_id": actor.MembershipID, "set_by_name": actor.Name, "updated_at": now}
			if !sub.Active {
				set["active"], set["active_since"], set["unsubscribed_at"] = true, now, nil
			}
			if err := tx.Model(&Subscription{}).Where("id = ?", sub.ID).Updates(set).Error; err != nil {
				return false, fmt.Errorf("subscribe: %w", err)
			}
			changed = true
		case !on && has && sub.Active:
			if err := tx.Model(&Subscription{}).Where("id = ?", sub.ID).
				Updates(map[string]any{"active": false, "updated_at": now}).Error; err != nil {
				return false, fmt.Errorf("unsubscribe: %w", err)
			}
			changed = true
		}
	}
	return changed, nil
}

// createHook sets up what a Notification user created by the wizard
// receives: the wizard's choice, for each of their companies.
type createHook struct{ s *Service }

func (h createHook) MemberCreated(tx *gorm.DB, m models.Membership, companies []models.Company, choices []string, actor models.Actor) error {
	if len(choices) == 0 {
		return nil
	}
	c, err := ParseChoice(choices)
	if err != nil {
		return err
	}
	for _, co := range companies {
		if _, err := h.s.setChoice(tx, m, co.ID, c, actor); err != nil {
			return err
		}
	}
	if c.None() || len(companies) == 0 {
		return nil
	}
	target := m
	return h.s.store.Audit(tx, models.AuditRecord{AccountID: m.AccountID, Actor: actor, Action: "notify.updated",
		Target: &target, Detail: "Notifications for each of their companies: " + c.Describe()})
}
