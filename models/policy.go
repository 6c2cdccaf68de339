package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// UserType is the one type each member of an account has.
type UserType string

const (
	Admin        UserType = "admin"
	Manager      UserType = "manager"
	Reporting    UserType = "reporting"
	Notification UserType = "notification"
)

// UserTypes lists the types from most to least access; the order is used
// for promotion (higher) and demotion (lower) and for display.
var UserTypes = []UserType{Admin, Manager, Reporting, Notification}

// ParseUserType accepts exactly the canonical value of a type. Anything else
// (case changes, padding, "SuperAdmin") is refused rather than guessed.
func ParseUserType(s string) (UserType, error) {
	for _, t := range UserTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", Errorf(BadRequest, "%q is not a user type.", s)
}

// Label is the name people see.
func (t UserType) Label() string {
	switch t {
	case Admin:
		return "Admin"
	case Manager:
		return "Manager"
	case Reporting:
		return "Reporting"
	case Notification:
		return "Notification"
	}
	return string(t)
}

// WithArticle is the label with its indefinite article, for sentences:
// "an Admin", "a Manager". Every sentence that names a type after "a"
// uses it, so none puts "a" before "Admin" (views/article_test.go checks).
func (t UserType) WithArticle() string {
	label := t.Label()
	if label == "" {
		return label
	}
	switch label[0] {
	case 'A', 'E', 'I', 'O', 'U':
		return "an " + label
	}
	return "a " + label
}

// Summary is one sentence saying what the type is for.
func (t UserType) Summary() string {
	switch t {
	case Admin:
		return "Unrestricted access to the whole account, every company, billing and users."
	case Manager:
		return "Full access to the companies assigned to them, without billing or user management."
	case Reporting:
		return "Reviews calls and reports and works leads in the companies assigned to them."
	case Notification:
		return "Receives notification and summary emails only. Cannot log in."
	}
	return ""
}

// Rank orders types by access: higher is more.
func (t UserType) Rank() int {
	for i, u := range UserTypes {
		if u == t {
			return len(UserTypes) - i
		}
	}
	return 0
}

// CanLogIn: Notification users only receive emails.
func (t UserType) CanLogIn() bool { return t != Notification && t.Rank() > 0 }

// SeesAllCompanies: Admins have unrestricted access to the whole account;
// everyone else sees only the companies assigned to them.
func (t UserType) SeesAllCompanies() bool { return t == Admin }

// Capability is one row of the permission matrix.
type Capability int

const (
	CapEmails Capability = iota
	CapReviewCalls
	CapTakeCalls
	CapClassifyCalls
	CapIntegrations
	CapTrackingNumbers
	CapManageUsers
	CapManageCompanies
	CapWhiteLabel
	CapBilling
	CapBulkEnablement
	CapCloseAccount
)

// capabilityRow is the matrix of seed 000_5aa6475ea823308d.txt, the one
// place where the rights of each type are written down. Every handler and
// every page that explains a type asks this table.
type capabilityRow struct {
	cap     Capability
	label   string
	allowed map[UserType]bool
}

var matrix = []capabilityRow{
	{CapEmails, "Receive and respond to notification and summary emails", allow(Admin, Manager, Reporting, Notification)},
	{CapReviewCalls, "Review call recordings, reports and Lead Center", allow(Admin, Manager, Reporting)},
	{CapTakeCalls, "Receive calls and place outbound calls from the Call Log and Lead Center", allow(Admin, Manager, Reporting)},
	{CapClassifyCalls, "Tag calls, make notes and mark calls as qualified leads", allow(Admin, Manager, Reporting)},
	{CapIntegrations, "Set up and disable integrations", allow(Admin, Manager)},
	{CapTrackingNumbers, "Create, edit or disable tracking numbers and call flows", allow(Admin, Manager)},
	{CapManageUsers, "Create or disable users of equal or lesser access", allow(Admin)},
	{CapManageCompanies, "Create and disable companies", allow(Admin)},
	{CapWhiteLabel, "Activate and edit white-label settings", allow(Admin)},
	{CapBilling, "View invoices, update the credit card or change the pricing plan", allow(Admin)},
	{CapBulkEnablement, "Use the \u201cBulk Enablement\u201d tools", allow(Admin)},
	{CapCloseAccount, "Close or pause the account", allow(Admin)},
}

func allow(types ...UserType) map[UserType]bool {
	m := make(map[UserType]bool, len(types))
	for _, t := range types {
		m[t] = true
	}
	return m
}

// Can reports whether a type holds a capability.
func Can(t UserType, c Capability) bool {
	for _, row := range matrix {
		if row.cap == c {
			return row.allowed[t]
		}
	}
	panic(fmt.Sprintf("models: capability %d is not in the matrix", c))
}

// CapabilityLine is a row of the matrix as pages show it.
type CapabilityLine struct {
	Capability Capability
	Label      string
	Allowed    map[UserType]bool
}

// Matrix returns the whole permission table, in the seed's order.
func Matrix() []CapabilityLine {
	lines := make([]CapabilityLine, len(matrix))
	for i, row := range matrix {
		allowed := make(map[UserType]bool, len(row.allowed))
		for k, v := range row.allowed {
			allowed[k] = v
		}
		lines[i] = CapabilityLine{Capability: row.cap, Label: row.label, Allowed: allowed}
	}
	return lines
}

// CapabilitiesOf lists the labels of what a type may do.
func CapabilitiesOf(t UserType) []string {
	var out []string
	for _, row := range matrix {
		if row.allowed[t] {
			out = append(out, row.label)
		}
	}
	return out
}

// Gained lists what moving from one type to another adds; Lost what it takes away.
func Gained(from, to UserType) []string { return diff(to, from) }
func Lost(from, to UserType) []string   { return diff(from, to) }

func diff(has, without UserType) []string {
	var out []string
	for _, row := range matrix {
		if row.allowed[has] && !row.allowed[without] {
			out = append(out, row.label)
		}
	}
	if !has.SeesAllCompanies() || without.SeesAllCompanies() {
		return out
	}
	return append([]string{"See every company in the account, not only assigned ones"}, out...)
}

// Scope, and 404 versus 403: the one rule every handler and store method
// follows.
//
// A person's scope is what they may know exists. For an Admin it is their
// whole account: every company (disabled ones too), every person, the
// access requests to the account. For everyone else it is the active
// companies assigned to them (visibleCompanies) and the people
// visibleMemberSQL names: the Admins, themselves, and whoever shares one of
// those companies; access requests to the account are in Admins' scope
// only. Everyone's scope also holds their own login's accounts and the
// access requests they made. Another account is in nobody's scope.
//
// Nothing outside a person's scope appears on any page they can open: a
// users list row names and counts only the viewer's companies
// (companiesInView), filters and the header offer only theirs, and "Invite
// user" lists only people they already see.
//
// A request is answered in this order:
//  1. A request no form of ours produces (a malformed ID or form, a
//     repeated field) is 400, whatever it names.
//  2. Every object the request addresses (the IDs in its path, the company
//     a list is filtered by, the person or company a form adds, removes or
//     switches to) is looked up by (account, id) within the viewer's scope.
//     Anything not found there is 404, exactly as if it did not exist.
//  3. Only then is the right asked. A type that lacks it gets 403: the
//     object is one the viewer already sees, so the answer says nothing
//     new. Pages that address no object (a list, a create form) answer 403
//     to a type without the right.
//  4. Choices inside a form the viewer may use (the companies picked in the
//     wizard, a type change or a grant) are input: one outside scope is
//     refused next to its field (422), as a company disabled meanwhile is.

// Console permissions: what a signed-in member may do in this console. They
// derive from the matrix so there is still only one table.

// CanViewUsers: the users list. Managers see it scoped to their companies,
// because they add and remove people on them (CanAssign); the matrix has
// no row of its own for reading the list.
func CanViewUsers(t UserType) bool { return CanManageUsers(t) || CanAssign(t, Reporting) }

// CanManageUsers: create, promote, demote, disable and delete people.
func CanManageUsers(t UserType) bool { return Can(t, CapManageUsers) }

// CanImportMembers: import people from a CSV file (/users/import), which
// creates users, and, when the Admin chooses, companies. It is the
// "Bulk Enablement" row of the matrix, held by Admins only. Unlike the
// other user pages it is answered 404 to everyone else, as the issue asks:
// the page is not in their console at all.
func CanImportMembers(t UserType) bool {
	return Can(t, CapBulkEnablement) && CanManageUsers(t) && CanManageCompanies(t)
}

// CanManageCompanies: create, rename, disable and enable companies.
func CanManageCompanies(t UserType) bool { return Can(t, CapManageCompanies) }

// HomePath is where a member lands after logging in: Admins on the users
// list; everyone else on the home page, which says what they can do on
// their companies, with the links to do it.
func HomePath(t UserType) string {
	if CanManageUsers(t) {
		return "/users"
	}
	return "/"
}

// CanAssign reports whether a member of type actor may add a member of type
// target to a company, or remove them from it. Admins assign anyone but
// Admins (who see every company anyway); Managers add and remove existing
// Reporting and Notification users on their own companies.
func CanAssign(actor, target UserType) bool {
	switch actor {
	case Admin:
		return target != Admin
	case Manager:
		return target == Reporting || target == Notification
	}
	return false
}

// AssignableTypes lists the types of people actor may add to companies and
// remove from them, in UserTypes order; none for a type that may do neither.
func AssignableTypes(actor UserType) []UserType {
	var out []UserType
	for _, t := range UserTypes {
		if CanAssign(actor, t) {
			out = append(out, t)
		}
	}
	return out
}

// People management (issue 5): who may edit, promote, demote, disable and
// delete whom. Everything here derives from the matrix above.

// CanEditMember: the Edit User page and everything on it (names, type,
// status, deletion). Only Admins create or disable users, so only they edit
// them; Managers add and remove people on companies through CanAssign.
func CanEditMember(actor UserType) bool { return CanManageUsers(actor) }

// CanChangeType reports whether actor may move a person from one type to
// another: Admins may set any type (they create users "of equal or lesser
// access", and Admin is the top), and a move must change something.
func CanChangeType(actor, from, to UserType) bool {
	return CanManageUsers(actor) && from.Rank() > 0 && to.Rank() > 0 && from != to
}

// CanViewAudit: the audit log of the account.
func CanViewAudit(t UserType) bool { return CanManageUsers(t) }

// CanEditAccount: renaming the account and setting its time zone are an
// Admin's, like its users.
func CanEditAccount(t UserType) bool { return CanManageUsers(t) }

// GetsInvoiceEmails: the invoice-email opt-in exists only for the types
// that see billing.
func GetsInvoiceEmails(t UserType) bool { return Can(t, CapBilling) }

// HigherTypes lists the types above t, nearest first: the promotions.
func HigherTypes(t UserType) []UserType {
	var out []UserType
	for i := len(UserTypes) - 1; i >= 0; i-- {
		if UserTypes[i].Rank() > t.Rank() {
			out = append(out, UserTypes[i])
		}
	}
	return out
}

// LowerTypes lists the types below t, nearest first: the demotions.
func LowerTypes(t UserType) []UserType {
	var out []UserType
	for _, u := range UserTypes {
		if u.Rank() < t.Rank() {
			out = append(out, u)
		}
	}
	return out
}

// Company-aware rights: the matrix says what a type may do; where it may
// do it is the companies it sees. An Admin holds a capability in every
// active company of the account; everyone else only in the active
// companies assigned to them. Areas ask these, never their own rule. They
// follow the order above: a company outside the viewer's scope (another
// account's, an unassigned or disabled one) is 404 whatever the type; one
// in scope, for a type without the capability, is 403.

// CompanyFor returns the company when the viewer holds capability c in it:
// ErrNotFound when the company is outside the viewer's scope, Forbidden
// when it is in scope but the viewer's type lacks c.
//
// It asks no query while the company cache holds (VisibleCompanies); inside
// a transaction, use the package's CompanyFor, which reads the rows.
func (s *Store) CompanyFor(ctx context.Context, v *Viewer, c Capability, companyID uint) (*Company, error) {
	if v == nil || companyID == 0 {
		return nil, ErrNotFound()
	}
	list, err := s.VisibleCompanies(ctx, v)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(list, func(co Company) bool { return co.ID == companyID })
	if i < 0 {
		return nil, ErrNotFound()
	}
	if !Can(v.Type(), c) {
		return nil, ErrLacksCapability(v.Type(), c)
	}
	co := list[i]
	return &co, nil
}

// CompanyFor is Store.CompanyFor inside a transaction (an area checks the
// right again where it writes).
func CompanyFor(db *gorm.DB, v *Viewer, c Capability, companyID uint) (*Company, error) {
	if v == nil || companyID == 0 {
		return nil, ErrNotFound()
	}
	var co Company
	err := visibleCompanies(db, v).Where("companies.id = ? AND companies.status = ?", companyID, CompanyActive).Take(&co).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find company: %w", err)
	}
	if !Can(v.Type(), c) {
		return nil, ErrLacksCapability(v.Type(), c)
	}
	return &co, nil
}

// ErrLacksCapability is the 403 of a type without a capability, asked
// about something the viewer may see.
func ErrLacksCapability(t UserType, c Capability) *Error {
	label := CapabilityLabel(c)
	return &Error{Code: Forbidden, Title: "Not something your type of user can do",
		Message: fmt.Sprintf("%s users cannot %s. An Admin of the account can do it, or change your type.",
			t.Label(), strings.ToLower(label[:1])+label[1:])}
}

// CapabilityLabel is the matrix's wording of a capability.
func CapabilityLabel(c Capability) string {
	for _, row := range matrix {
		if row.cap == c {
			return row.label
		}
	}
	panic(fmt.Sprintf("models: capability %d is not in the matrix", c))
}

// CapabilityScope is every company where a viewer holds a capability.
type CapabilityScope struct {
	AccountID uint
	// Companies are the active companies in scope, A → Z. Like Inactive,
	// it may be shared with other requests (ScopeOf): read, never change.
	Companies []Company
	// WholeAccount: the viewer is an Admin, so Companies are every active
	// company of the account and a query may start from the account
	// (leaving out Inactive, its disabled companies) instead of listing them.
	WholeAccount bool
	Inactive     []uint
	// rank is each company's place in Companies, when ScopeOf has it at
	// hand (the cached list's; shared: read, never change).
	rank map[uint]int
}

// Company is the scope's company with this id, or nil.
func (sc *CapabilityScope) Company(id uint) *Company {
	if sc.rank != nil {
		if r, ok := sc.rank[id]; ok {
			return &sc.Companies[r]
		}
		return nil
	}
	for i := range sc.Companies {
		if sc.Companies[i].ID == id {
			return &sc.Companies[i]
		}
	}
	return nil
}

// Has reports whether a company is in the scope.
func (sc *CapabilityScope) Has(companyID uint) bool {
	return slices.ContainsFunc(sc.Companies, func(c Company) bool { return c.ID == companyID })
}

// IDs lists the companies of the scope.
func (sc *CapabilityScope) IDs() []uint {
	ids := make([]uint, len(sc.Companies))
	for i, c := range sc.Companies {
		ids[i] = c.ID
	}
	return ids
}

// ScopeOf returns where the viewer holds capability c; an empty scope for
// a type without it.
func (s *Store) ScopeOf(ctx context.Context, v *Viewer, c Capability) (*CapabilityScope, error) {
	sc := &CapabilityScope{AccountID: v.Account.ID}
	if !Can(v.Type(), c) {
		return sc, nil
	}
	// Both lists come from the company cache and the viewer's snapshot
	// (VisibleCompanies): every Call Log page asks.
	companies, err := s.VisibleCompanies(ctx, v)
	if err != nil {
		return nil, err
	}
	sc.Companies = companies
	if v.Type().SeesAllCompanies() {
		sc.WholeAccount = true
		if sc.Inactive, err = s.inactiveCompanies(ctx, v); err != nil {
			return nil, err
		}
		sc.rank = s.companyRanks(v.Account.ID, companies)
	}
	return sc, nil
}

// PeopleWhoCan returns those of ids who may exercise capability c in a
// company of the account now: active, of a type that holds c, and Admins or
// assigned to the company (which must be active). Areas ask it for people
// as CompanyFor is asked for the viewer (a ring group takes only people who
// may take the company's calls), inside their own transaction.
func PeopleWhoCan(db *gorm.DB, accountID, companyID uint, c Capability, ids []uint) ([]Membership, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var types []UserType
	for _, t := range UserTypes {
		if Can(t, c) {
			types = append(types, t)
		}
	}
	var out []Membership
	err := db.Joins("JOIN companies ON companies.id = ? AND companies.account_id = memberships.account_id AND companies.status = ?", companyID, CompanyActive).
		Where("memberships.account_id = ? AND memberships.id IN ? AND memberships.status = ? AND memberships.type IN ?", accountID, ids, MemberActive, types).
		Where("(memberships.type = ? OR EXISTS (SELECT 1 FROM assignments a WHERE a.membership_id = memberships.id AND a.company_id = companies.id))", Admin).
		Order("memberships.sort_name, memberships.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("people who can: %w", err)
	}
	return out, nil
}
