package views

import (
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
// error summary does.
func (p WizardProps) focusFirstField() bool {
	return (p.Check == nil || p.Check.OK()) && p.Refused.Message == ""
}

// wizardFields are the wizard's fields in page order, with the ID of the
// element an error summary's link moves to.
var wizardFields = []struct{ name, target string }{
	{"type", "f-type"}, {"first_name", "f-first_name"}, {"last_name", "f-last_name"},
	{"email", "f-email"}, {"companies", "f-companies"}, {"message", "f-message"},
}

// errorItems lists the errors of the step shown, in page order.
func (p WizardProps) errorItems() []ErrorItem {
	var out []ErrorItem
	for _, f := range wizardFields {
		if msg := p.err(f.name); msg != "" {
			out = append(out, ErrorItem{Target: f.target, Message: msg})
		}
	}
	return out
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
	case p.Step == models.StepCompanies && p.Draft.Type == models.Notification:
		return "Create user"
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
