package views

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"switchboard/models"
)

// WizardProps is one step of the create-user wizard.
type WizardProps struct {
	Step  models.Step
	Draft models.Draft
	// Check holds the errors of the step shown, if any.
	Check *models.DraftCheck
	// Companies are the account's active companies (companies step).
	Companies []models.Company
	// Chosen are the draft's companies, resolved (summary).
	Chosen []models.Company
	// Refused is set when a limit refused the last step.
	Refused Refusal
	// WorkingIn is the company the viewer works in (as the header shows it):
	// it is ticked by default on the companies step of a new draft.
	WorkingIn *models.Company

	// People are the rows of the Info step; the first is the draft's own
	// person. With one, the wizard is the one-person wizard it always was.
	People []models.Invitee
	// Many holds each row's errors (with several people).
	Many *models.InviteesCheck
	// FocusRow is the row (from 1) whose first name takes the focus: the
	// one just added.
	FocusRow int
	// Paste is the text left in the paste box, PasteLines the lines that
	// could not be read, PasteError what went wrong with it as a whole.
	Paste      string
	PasteLines []models.PastedLine
	PasteError string
	// AddError says why no row could be added.
	AddError string
}

// many tells an invitation of several people.
func (p WizardProps) many() bool { return len(p.People) > 1 }

// people are the rows, at least the draft's own person.
func (p WizardProps) people() []models.Invitee {
	if len(p.People) == 0 {
		return []models.Invitee{{FirstName: p.Draft.FirstName, LastName: p.Draft.LastName, Email: p.Draft.Email, InviteExistingLogin: p.Draft.InviteExistingLogin}}
	}
	return p.People
}

// row is row i's check, or nil.
func (p WizardProps) row(i int) *models.DraftCheck {
	if p.Many == nil || i >= len(p.Many.Rows) {
		return nil
	}
	return p.Many.Rows[i]
}

func (p WizardProps) rowErr(i int, field string) string {
	if r := p.row(i); r != nil {
		return r.Fields[field]
	}
	return ""
}

// rowFieldID is the ID of row i's field: the first row's are the
// one-person wizard's ("f-email"), the others numbered ("f-email-2").
func rowFieldID(field string, i int) string {
	if i == 0 {
		return "f-" + field
	}
	return "f-" + field + "-" + strconv.Itoa(i+1)
}

// errID is the ID of the error under a field of this ID.
func errID(fieldID string) string { return "e-" + strings.TrimPrefix(fieldID, "f-") }

// rowFieldsOf are a row's fields in page order, with their labels.
var rowFieldsOf = []struct{ name, label, typ string }{
	{"first_name", "First name", "text"}, {"last_name", "Last name", "text"}, {"email", "Email", "email"},
}

// companyChecked: the draft has the company, or, before any was chosen,
// it is the company being worked in.
func (p WizardProps) companyChecked(id uint) bool {
	if len(p.Draft.CompanyIDs) > 0 || (p.Check != nil && !p.Check.OK()) {
		return slices.Contains(p.Draft.CompanyIDs, id)
	}
	return p.WorkingIn != nil && p.WorkingIn.ID == id
}

// focusFirstField: the step's first field takes the focus, unless an
// error summary does, or a row just added.
func (p WizardProps) focusFirstField() bool {
	return (p.Check == nil || p.Check.OK()) && p.Refused.Message == "" && !p.hasErrors() && p.FocusRow <= 1
}

// focusRow: row i's first name takes the focus.
func (p WizardProps) focusRow(i int) bool {
	if p.FocusRow == 0 {
		return i == 0 && p.focusFirstField()
	}
	return i+1 == p.FocusRow && !p.hasErrors() && p.Refused.Message == ""
}

// wizardFields are the wizard's fields in page order, with the ID of the
// element an error summary's link moves to.
var wizardFields = []struct{ name, target string }{
	{"type", "f-type"}, {"first_name", "f-first_name"}, {"last_name", "f-last_name"},
	{"email", "f-email"}, {"companies", "f-companies"}, {"message", "f-message"},
}

// errorItems lists the errors of the step shown, in page order: with
// several people each row's errors, named by the row, come after the type.
func (p WizardProps) errorItems() []ErrorItem {
	var out []ErrorItem
	for _, f := range wizardFields {
		if p.many() && f.name == "first_name" {
			for i := range p.People {
				for _, rf := range rowFieldsOf {
					if msg := p.rowErr(i, rf.name); msg != "" {
						out = append(out, ErrorItem{Target: rowFieldID(rf.name, i), Message: fmt.Sprintf("Person %d: %s", i+1, msg)})
					}
				}
			}
		}
		if msg := p.err(f.name); msg != "" {
			out = append(out, ErrorItem{Target: f.target, Message: msg})
		}
		if f.name == "email" {
			if p.AddError != "" {
				out = append(out, ErrorItem{Target: "f-add", Message: p.AddError})
			}
			if p.PasteError != "" {
				out = append(out, ErrorItem{Target: "f-paste", Message: p.PasteError})
			}
			for _, l := range p.PasteLines {
				out = append(out, ErrorItem{Target: "f-paste", Message: pastedLineMessage(l)})
			}
		}
	}
	return out
}

// pastedLineMessage says what is wrong with a pasted line.
func pastedLineMessage(l models.PastedLine) string {
	return fmt.Sprintf("Pasted line %d, “%s”, %s.", l.Line, l.Text, l.Message)
}

// hasErrors: the step shown has errors to sum up.
func (p WizardProps) hasErrors() bool {
	return (p.Check != nil && !p.Check.OK()) || p.AddError != "" || p.PasteError != "" || len(p.PasteLines) > 0
}

// emailHint says what the address is for: a login, or only emails.
func emailHint(t models.UserType) string {
	if !t.CanLogIn() {
		return "They receive notification and summary emails at this address. Notification users have no login and get no invitation."
	}
	return "They sign in with this address and receive their invitation there."
}

func inviteAnywayLabel(t models.UserType) string {
	if !t.CanLogIn() {
		return "Add them anyway"
	}
	return "Invite them anyway"
}

// capitalFirst starts a sentence with a capital ("an Admin" → "An Admin").
func capitalFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (p WizardProps) err(field string) string {
	if p.Check == nil {
		return ""
	}
	return p.Check.Fields[field]
}

// wizardSteps names the steps the draft's type goes through.
func wizardSteps(d models.Draft) []wizardStep {
	var out []wizardStep
	for _, s := range d.Steps() {
		out = append(out, allWizardSteps[s-models.StepType])
	}
	return out
}

var allWizardSteps = []wizardStep{{models.StepType, "Type", "type"}, {models.StepInfo, "Info", "info"},
	{models.StepCompanies, "Companies", "companies"}, {models.StepMessage, "Message", "message"}}

type wizardStep struct {
	Step  models.Step
	Label string
	Slug  string
}

// StepSlug is the URL name of a step.
func StepSlug(s models.Step) string {
	for _, st := range allWizardSteps {
		if st.Step == s {
			return st.Slug
		}
	}
	return "type"
}

func stepAction(s models.Step) string { return "/users/new/" + StepSlug(s) }

func idString(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// nextLabel is the primary button of a step.
func nextLabel(p WizardProps) string {
	switch {
	case p.Step == models.StepCompanies && p.Draft.Type == models.Notification && p.many():
		return "Create " + strconv.Itoa(len(p.People)) + " users"
	case p.Step == models.StepCompanies && p.Draft.Type == models.Notification:
		return "Create user"
	case p.Step == models.StepMessage && p.many():
		return "Send " + strconv.Itoa(len(p.People)) + " invitations"
	case p.Step == models.StepMessage:
		return "Send invitation"
	case p.Step == models.StepType:
		return "Next: Info"
	case p.Step == models.StepInfo && p.Draft.Type.SeesAllCompanies():
		return "Next: Message"
	case p.Step == models.StepInfo:
		return "Next: Companies"
	}
	return "Next: Message"
}

// CreatedProps is the wizard's last page.
type CreatedProps struct {
	Member     models.Membership
	Companies  []models.Company
	Invitation *models.InvitationState
}

// InvitedProps is the last page of an invitation of several people.
type InvitedProps struct {
	Type             models.UserType
	Invited, Skipped []models.InviteeOutcome
	// Companies are the companies they were given (none for Admins).
	Companies []models.Company
}

func invitedTitle(p InvitedProps) string {
	if len(p.Invited) == 0 {
		return "Nobody invited"
	}
	if p.Type.CanLogIn() {
		return peopleCount(len(p.Invited)) + " invited"
	}
	return peopleCount(len(p.Invited)) + " added"
}

// invitedLede says who was invited as what.
func invitedLede(p InvitedProps) string {
	verb := "invited"
	if !p.Type.CanLogIn() {
		verb = "added"
	}
	s := fmt.Sprintf("%s %s as %s users", capitalFirst(peopleCount(len(p.Invited))), verb, p.Type.Label())
	if p.Type.CanLogIn() {
		s += "; an invitation is on its way to each"
	}
	return s + ":"
}

// personValue is a row's value of field.
func personValue(p models.Invitee, field string) string {
	switch field {
	case "first_name":
		return p.FirstName
	case "last_name":
		return p.LastName
	}
	return p.Email
}
