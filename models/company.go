package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"
)

// CompanyFilter is what the companies list asks for.
type CompanyFilter struct {
	Status CompanyStatus
	Query  string
	After  string // cursor: the last row of the previous page
	Limit  int
}

// CompanyRow is one line of the companies list.
type CompanyRow struct {
	Company
	// People is how many non-Admin people are assigned to it.
	People int
}

// CompanyPage is one page of companies with the tab counts.
type CompanyPage struct {
	Rows       []CompanyRow
	Active     int64
	Disabled   int64
	NextCursor string
}

// visibleCompanies scopes a query on companies to what the viewer may see:
// the whole account for Admins (disabled ones included, for their Disabled
// list); assigned, active companies for everyone else.
func visibleCompanies(q *gorm.DB, v *Viewer) *gorm.DB {
	q = q.Where("companies.account_id = ?", v.Account.ID)
	if v.Type().SeesAllCompanies() {
		return q
	}
	return q.Where("companies.status = ? AND EXISTS (SELECT 1 FROM assignments a WHERE a.company_id = companies.id AND a.membership_id = ?)",
		CompanyActive, v.Membership.ID)
}

// ListCompanies returns a page of the companies the viewer may see.
func (s *Store) ListCompanies(ctx context.Context, v *Viewer, f CompanyFilter) (*CompanyPage, error) {
	if f.Status == "" {
		f.Status = CompanyActive
	}
	if f.Status != CompanyActive && f.Status != CompanyDisabled {
		return nil, Errorf(BadRequest, "That list is not known.")
	}
	if f.Status == CompanyDisabled && !CanManageCompanies(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins see disabled companies.")
	}
	f.Query = strings.TrimSpace(f.Query)
	if utf8.RuneCountInString(f.Query) > MaxSearchLength || !utf8.ValidString(f.Query) {
		return nil, Errorf(BadRequest, "Search for at most %d characters.", MaxSearchLength)
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	db := s.db.WithContext(ctx)
	base := func() *gorm.DB {
		q := visibleCompanies(db.Model(&Company{}), v)
		if f.Query != "" {
			q = q.Where("LOWER(companies.name) LIKE ? ESCAPE '\\'", "%"+escapeLike(strings.ToLower(f.Query))+"%")
		}
		return q
	}
	page := &CompanyPage{}
	var counts []struct {
		Status CompanyStatus
		N      int64
	}
	if err := base().Select("companies.status, COUNT(*) AS n").Group("companies.status").Scan(&counts).Error; err != nil {
		return nil, fmt.Errorf("count companies: %w", err)
	}
	for _, c := range counts {
		if c.Status == CompanyActive {
			page.Active = c.N
		} else {
			page.Disabled = c.N
		}
	}
	q := base().Where("companies.status = ?", f.Status)
	if f.After != "" {
		c, err := decodeCursor(f.After)
		if err != nil {
			return nil, err
		}
		q = q.Where("(companies.name, companies.id) > (?, ?)", c.key, c.id)
	}
	var companies []Company
	if err := q.Order("companies.name, companies.id").Limit(f.Limit + 1).Find(&companies).Error; err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	if len(companies) > f.Limit {
		companies = companies[:f.Limit]
		last := companies[len(companies)-1]
		page.NextCursor = encodeCursor(cursor{key: last.Name, id: last.ID})
	}
	page.Rows = make([]CompanyRow, len(companies))
	index := make(map[uint]int, len(companies))
	ids := make([]uint, len(companies))
	for i, c := range companies {
		page.Rows[i] = CompanyRow{Company: c}
		index[c.ID] = i
		ids[i] = c.ID
	}
	if len(ids) > 0 {
		var people []struct {
			CompanyID uint
			N         int
		}
		err := db.Table("assignments").Select("company_id, COUNT(*) AS n").Where("company_id IN ?", ids).
			Group("company_id").Scan(&people).Error
		if err != nil {
			return nil, fmt.Errorf("count people of companies: %w", err)
		}
		for _, p := range people {
			page.Rows[index[p.CompanyID]].People = p.N
		}
	}
	return page, nil
}

// CompanyInput is the create and edit form of a company.
type CompanyInput struct {
	Name, TimeZone string
}

func (s *Store) cleanCompany(tx *gorm.DB, accountID, selfID uint, in CompanyInput) (CompanyInput, error) {
	fields := map[string]string{}
	var err error
	if in.Name, err = CleanName(in.Name, "Company name", MaxCompanyLength); err != nil {
		fields["name"] = ErrorMessage(err)
	}
	if in.TimeZone, err = CleanTimeZone(in.TimeZone); err != nil {
		fields["time_zone"] = ErrorMessage(err)
	}
	if fields["name"] == "" {
		var n int64
		err := tx.Model(&Company{}).Where("account_id = ? AND id <> ? AND LOWER(name) = ?", accountID, selfID, strings.ToLower(in.Name)).Count(&n).Error
		if err != nil {
			return in, fmt.Errorf("check company name: %w", err)
		}
		if n > 0 {
			fields["name"] = "Another company of this account already has that name (it may be in the Disabled list)."
		}
	}
	if len(fields) > 0 {
		return in, FieldErrors(fields)
	}
	return in, nil
}

// CreateCompany adds a company to the viewer's account (Admins).
func (s *Store) CreateCompany(ctx context.Context, v *Viewer, in CompanyInput, ip string) (*Company, error) {
	if !CanManageCompanies(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins can create companies.")
	}
	var c Company
	err := s.tx(ctx, func(tx *gorm.DB) error {
		clean, err := s.cleanCompany(tx, v.Account.ID, 0, in)
		if err != nil {
			return err
		}
		now := s.Now()
		c = Company{AccountID: v.Account.ID, Name: clean.Name, TimeZone: clean.TimeZone, Status: CompanyActive, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&c).Error; err != nil {
			return fmt.Errorf("create company: %w", err)
		}
		return s.audit(tx, v.Account.ID, v.Actor(ip), "company.created", nil, fmt.Sprintf("%s (%s)", c.Name, c.TimeZone))
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// FindCompany returns a company the viewer may see; another account's, an
// unassigned one or a disabled one (for non-Admins) is the same 404.
func (s *Store) FindCompany(ctx context.Context, v *Viewer, id uint) (*Company, error) {
	return findCompany(s.db.WithContext(ctx), v, id)
}

func findCompany(tx *gorm.DB, v *Viewer, id uint) (*Company, error) {
	var c Company
	err := visibleCompanies(tx, v).Where("companies.id = ?", id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find company: %w", err)
	}
	return &c, nil
}

// UpdateCompany renames a company or changes its time zone (Admins).
func (s *Store) UpdateCompany(ctx context.Context, v *Viewer, id uint, in CompanyInput, ip string) (*Company, error) {
	if err := s.companyRight(ctx, v, id, "change companies"); err != nil {
		return nil, err
	}
	var c *Company
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if c, err = s.companyForUpdate(tx, v, id); err != nil {
			return err
		}
		clean, err := s.cleanCompany(tx, v.Account.ID, c.ID, in)
		if err != nil {
			return err
		}
		if clean.Name == c.Name && clean.TimeZone == c.TimeZone {
			return nil
		}
		detail := c.Name
		if clean.Name != c.Name {
			detail += " renamed " + clean.Name
		}
		if clean.TimeZone != c.TimeZone {
			detail += "; time zone " + c.TimeZone + " → " + clean.TimeZone
		}
		c.Name, c.TimeZone, c.UpdatedAt = clean.Name, clean.TimeZone, s.Now()
		if err := tx.Model(c).Updates(map[string]any{"name": c.Name, "time_zone": c.TimeZone, "updated_at": c.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("update company: %w", err)
		}
		return s.audit(tx, v.Account.ID, v.Actor(ip), "company.updated", nil, detail)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// companyRight answers a change to a company by someone who may not manage
// companies: 404 when the company is not theirs to see, 403 when it is
// (policy.go). nil means the viewer may manage companies.
func (s *Store) companyRight(ctx context.Context, v *Viewer, id uint, what string) error {
	if CanManageCompanies(v.Type()) {
		return nil
	}
	if _, err := s.FindCompany(ctx, v, id); err != nil {
		return err
	}
	return Errorf(Forbidden, "Only Admins can %s.", what)
}

// companyForUpdate loads a company of the account inside a change made by
// someone who may manage companies (companyRight).
func (s *Store) companyForUpdate(tx *gorm.DB, v *Viewer, id uint) (*Company, error) {
	var c Company
	err := tx.Where("account_id = ? AND id = ?", v.Account.ID, id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find company: %w", err)
	}
	return &c, nil
}

// SetCompanyStatus disables or re-enables a company (Admins). Assignments
// are kept, so re-enabling gives everyone their access back.
func (s *Store) SetCompanyStatus(ctx context.Context, v *Viewer, id uint, status CompanyStatus, ip string) (*Company, error) {
	if err := s.companyRight(ctx, v, id, "disable and enable companies"); err != nil {
		return nil, err
	}
	if status != CompanyActive && status != CompanyDisabled {
		return nil, Errorf(BadRequest, "That status is not known.")
	}
	var c *Company
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		if c, err = s.companyForUpdate(tx, v, id); err != nil {
			return err
		}
		if c.Status == status {
			return nil
		}
		c.Status, c.UpdatedAt = status, s.Now()
		if err := tx.Model(c).Updates(map[string]any{"status": status, "updated_at": c.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("change company status: %w", err)
		}
		action := "company.disabled"
		if status == CompanyActive {
			action = "company.enabled"
		}
		return s.audit(tx, v.Account.ID, v.Actor(ip), action, nil, c.Name)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// CompanyPeople is everyone who can see a company.
type CompanyPeople struct {
	Admins   []Membership // see every company
	Assigned []Membership // assigned to this one
}

// PeopleOfCompany lists who can see a company the viewer may see.
func (s *Store) PeopleOfCompany(ctx context.Context, v *Viewer, c *Company) (*CompanyPeople, error) {
	db := s.db.WithContext(ctx)
	p := &CompanyPeople{}
	if err := db.Where("account_id = ? AND type = ? AND status <> ?", v.Account.ID, Admin, MemberDisabled).
		Order("sort_name, id").Find(&p.Admins).Error; err != nil {
		return nil, fmt.Errorf("admins of company: %w", err)
	}
	err := db.Joins("JOIN assignments a ON a.membership_id = memberships.id").
		Where("a.company_id = ? AND memberships.account_id = ?", c.ID, v.Account.ID).
		Order("memberships.sort_name, memberships.id").Find(&p.Assigned).Error
	if err != nil {
		return nil, fmt.Errorf("people of company: %w", err)
	}
	return p, nil
}

// SoleCompany reports, of people assigned to the active company co, those
// for whom it is the only active company: removing them from it leaves them
// seeing, and receiving, nothing until they are added to another. The
// confirmations say so to viewers who see every company; a Manager is not
// told whether someone has companies outside his own.
func (s *Store) SoleCompany(ctx context.Context, v *Viewer, co *Company, members []Membership) (map[uint]bool, error) {
	sole := map[uint]bool{}
	if len(members) == 0 || co.Status != CompanyActive || !v.Type().SeesAllCompanies() {
		return sole, nil
	}
	ids := make([]uint, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	var rows []struct {
		MembershipID uint
		Others       int
	}
	err := s.db.WithContext(ctx).Model(&Assignment{}).
		Select("assignments.membership_id, COUNT(*) AS others").
		Joins("JOIN companies c ON c.id = assignments.company_id AND c.status = ?", CompanyActive).
		Where("assignments.membership_id IN ? AND assignments.company_id <> ?", ids, co.ID).
		Group("assignments.membership_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("other companies of members: %w", err)
	}
	for _, id := range ids {
		sole[id] = true
	}
	for _, r := range rows {
		if r.Others > 0 {
			delete(sole, r.MembershipID)
		}
	}
	return sole, nil
}

// MaxCandidates bounds the "Invite user" list; a search narrows it.
const MaxCandidates = 100

// CompanyCandidates lists people not yet on the company whom the viewer may
// see and add, optionally searched by name or email.
func (s *Store) CompanyCandidates(ctx context.Context, v *Viewer, c *Company, query string) ([]Membership, bool, error) {
	query = strings.TrimSpace(query)
	if utf8.RuneCountInString(query) > MaxSearchLength || !utf8.ValidString(query) {
		return nil, false, Errorf(BadRequest, "Search for at most %d characters.", MaxSearchLength)
	}
	types := AssignableTypes(v.Type())
	if len(types) == 0 {
		return nil, false, Errorf(Forbidden, "Your type of user cannot add people to companies.")
	}
	// Only people the viewer already sees elsewhere (visibleMembers): a
	// Manager is offered the Reporting and Notification people of his other
	// companies, never the rest of the account.
	q := visibleMembers(s.db.WithContext(ctx), v).Where("memberships.type IN ?", types).
		Where("NOT EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = memberships.id AND a.company_id = ?)", c.ID)
	if query != "" {
		pattern := escapeLike(strings.ToLower(query))
		q = q.Where(`(memberships.sort_name LIKE ? ESCAPE '\' OR memberships.email LIKE ? ESCAPE '\')`, "%"+pattern+"%", pattern+"%")
	}
	var out []Membership
	if err := q.Order("memberships.sort_name, memberships.id").Limit(MaxCandidates + 1).Find(&out).Error; err != nil {
		return nil, false, fmt.Errorf("candidates for company: %w", err)
	}
	more := len(out) > MaxCandidates
	if more {
		out = out[:MaxCandidates]
	}
	return out, more, nil
}

// CurrentCompany resolves the company a person is working in: the preferred
// one when they may still see it, otherwise the first they may see (nil
// when none). several tells whether there is another to switch to.
func (s *Store) CurrentCompany(ctx context.Context, v *Viewer, preferred uint) (current *Company, several bool, err error) {
	// Every page asks this: the list comes from the cache and the
	// viewer's snapshot (VisibleCompanies), with no query of its own.
	list, err := s.VisibleCompanies(ctx, v)
	if err != nil || len(list) == 0 {
		return nil, false, err
	}
	current = &list[0]
	for i := range list {
		if list[i].ID == preferred {
			current = &list[i]
			break
		}
	}
	// An Admin's list is shared between requests: the caller gets a copy.
	c := *current
	return &c, len(list) > 1, nil
}
