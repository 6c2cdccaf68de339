package views

import (
	"net/url"
	"strconv"

	"switchboard/models"
)

// MemberForm is the Edit User form: what was typed and its errors.
type MemberForm struct {
	FirstName, LastName, Email string
	InvoiceEmails              bool
	Errors                     map[string]string
	// Refused is set when a limit refused the change.
	Refused Refusal
}

// EditUserProps is the Edit User page.
type EditUserProps struct {
	Detail *models.MemberDetail
	Form   MemberForm
	// Account is the account's name, for sentences about access.
	Account string
	// DeleteLosses and TypeLosses are what deleting the person, or moving
	// them to each type, takes away in the areas (ring groups…).
	DeleteLosses []string
	TypeLosses   map[models.UserType][]string
	// DisableLosses are what disabling them takes away.
	DisableLosses []string
	// CompanyLosses are what removing them from each company takes away.
	CompanyLosses map[uint][]string
	// Notifications is what the person receives (nil: not shown).
	Notifications *NotifySectionProps
}

// NewMemberForm fills the form from the person as stored.
func NewMemberForm(m models.Membership) MemberForm {
	return MemberForm{FirstName: m.FirstName, LastName: m.LastName, Email: m.Email, InvoiceEmails: m.InvoiceEmails}
}

// TypeChangeProps is a promote or demote confirmation, as a dialog on Edit
// User or as a page of its own (without JavaScript, and after an error).
type TypeChangeProps struct {
	Plan    models.TypePlan
	Account string
	// Losses are what the move takes away in the areas (ring groups…).
	Losses     []string
	Message    string
	CompanyIDs []uint
	Errors     map[string]string
}

// DeleteProps is the delete confirmation.
type DeleteProps struct {
	Member          models.Membership
	Account         string
	Self            bool
	LastActiveAdmin bool
	// Return is where Cancel leads.
	Return string
	// Losses are what deleting takes away in the areas (ring groups…).
	Losses []string
}

func (p DeleteProps) confirm() Confirm {
	return Confirm{ID: "dlg-delete", Title: "Delete " + p.Member.FullName() + "?", Action: MemberPath(p.Member.ID, "/delete"),
		Button: "Delete " + p.Member.FullName(), Cancel: p.Return, TestID: "delete-confirm", ButtonTestID: "confirm-delete"}
}

// DisableProps is the disable confirmation.
type DisableProps struct {
	Member  models.Membership
	Account string
	Self    bool
	// Losses are what disabling takes away in the areas (ring groups…).
	Losses []string
}

func (p DisableProps) confirm() Confirm {
	return Confirm{ID: "dlg-disable", Title: "Disable " + p.Member.FullName() + "?", Action: MemberPath(p.Member.ID, "/disable"),
		Button: "Disable " + p.Member.FullName(), Cancel: MemberPath(p.Member.ID, ""), TestID: "disable-confirm", ButtonTestID: "confirm-disable"}
}

// RemoveCompanyProps asks before a person loses a company: from Edit User
// (FromUser), or from the company's list of people.
type RemoveCompanyProps struct {
	Member  models.Membership
	Company models.Company
	// Losses are what losing the company takes away in the areas.
	Losses   []string
	FromUser bool
	// Sole: the company is the person's only active one.
	Sole bool
}

func (p RemoveCompanyProps) dialogID() string {
	return "dlg-remove-" + idString(p.Company.ID) + "-" + idString(p.Member.ID)
}

// page is the confirmation's own address, for browsers without
// JavaScript.
func (p RemoveCompanyProps) page() string {
	if p.FromUser {
		return MemberPath(p.Member.ID, "/companies/remove?company="+idString(p.Company.ID))
	}
	return CompanyPath(p.Company, "/users/"+idString(p.Member.ID)+"/remove")
}

func (p RemoveCompanyProps) confirm() Confirm {
	c := Confirm{ID: p.dialogID(), Title: "Remove " + p.Member.FullName() + " from " + p.Company.Name + "?",
		Button: "Remove from " + p.Company.Name, TestID: "remove-confirm", ButtonTestID: "confirm-remove"}
	if p.FromUser {
		c.Action = MemberPath(p.Member.ID, "/companies/remove")
		c.Fields = []HiddenField{{"company", idString(p.Company.ID)}}
		c.Cancel = MemberPath(p.Member.ID, "")
	} else {
		c.Action = CompanyPath(p.Company, "/users/"+idString(p.Member.ID)+"/remove")
		c.Cancel = CompanyPath(p.Company, "/users")
	}
	return c
}

func (p TypeChangeProps) confirm() Confirm {
	plan := p.Plan
	c := Confirm{ID: typeDialogID(plan.To), Title: typeChangeTitle(plan), Action: MemberPath(plan.Member.ID, "/type"),
		Fields: []HiddenField{{"to", string(plan.To)}}, Cancel: MemberPath(plan.Member.ID, ""),
		TestID: "type-change", ButtonTestID: "confirm-type", Safe: plan.Promotion()}
	if plan.Promotion() {
		c.Button = "Promote to " + plan.To.Label()
	} else {
		c.Button = "Change to " + plan.To.Label()
	}
	return c
}

// SelfConfirmProps is the second confirmation when people delete or demote
// themselves: the first form's values again, and a checkbox.
type SelfConfirmProps struct {
	Member  models.Membership
	Account string
	// Delete, or else a type change to To.
	Delete     bool
	To         models.UserType
	Message    string
	CompanyIDs []uint
	Error      string
	// LosesLogin: afterwards they cannot log in to this account.
	LosesLogin bool
}

// AuditProps is the audit log page.
type AuditProps struct {
	Page   *models.AuditPage
	Filter models.AuditFilter
	// Actions are the kinds of event offered in the filter.
	Actions []models.AuditAction
}

// MemberPath is the address of a person's pages: Edit User, or suffix
// ("/delete", "/created", …) below it.
func MemberPath(id uint, suffix string) string { return "/users/" + idString(id) + suffix }

func typeChangeAction(p models.TypePlan) string {
	if p.Promotion() {
		return MemberPath(p.Member.ID, "/promote?to="+url.QueryEscape(string(p.To)))
	}
	return MemberPath(p.Member.ID, "/demote?to="+url.QueryEscape(string(p.To)))
}

func typeDialogID(t models.UserType) string { return "dlg-type-" + string(t) }

func typeChangeTitle(p models.TypePlan) string {
	if p.Promotion() {
		return "Promote " + p.Member.FullName() + " to " + p.To.Label() + "?"
	}
	return "Change " + p.Member.FullName() + " to " + p.To.Label() + "?"
}

func typeChangeButton(p models.TypePlan) string {
	if p.Promotion() {
		return "Promote to " + p.To.Label()
	}
	return "Change to " + p.To.Label()
}

func promotions(plans []models.TypePlan) []models.TypePlan {
	var out []models.TypePlan
	for _, p := range plans {
		if p.Promotion() {
			out = append(out, p)
		}
	}
	return out
}

func demotions(plans []models.TypePlan) []models.TypePlan {
	var out []models.TypePlan
	for _, p := range plans {
		if !p.Promotion() {
			out = append(out, p)
		}
	}
	return out
}

// auditURL is the audit log with a filter and position.
func auditURL(f models.AuditFilter, after string) string {
	q := url.Values{}
	if f.Person != "" {
		q.Set("person", f.Person)
	}
	if f.Action != "" {
		q.Set("kind", f.Action)
	}
	if after != "" {
		q.Set("after", after)
	}
	if len(q) == 0 {
		return "/audit"
	}
	return "/audit?" + q.Encode()
}

func auditPersonURL(m models.Membership) string {
	return auditURL(models.AuditFilter{Person: m.Email}, "")
}

func (p AuditProps) filtered() bool { return p.Filter.Person != "" || p.Filter.Action != "" }

func selfConfirmAction(p SelfConfirmProps) string {
	if p.Delete {
		return MemberPath(p.Member.ID, "/delete")
	}
	return MemberPath(p.Member.ID, "/type")
}

func lockedBrowsers(n int) string {
	if n == 1 {
		return "One browser where they have logged in before is locked"
	}
	return strconv.Itoa(n) + " browsers where they have logged in before are locked"
}

// editableEmailHint says what changing the address does.
func editableEmailHint(m models.Membership) string {
	if !m.Type.CanLogIn() {
		return "Where " + m.FirstName + "'s notification and summary emails go; Notification users have no login. Both the old and the new address are told of a change."
	}
	return "They have not set a password yet, so a mistyped address can be corrected: the invitation goes again to the new address and the old link stops working."
}
