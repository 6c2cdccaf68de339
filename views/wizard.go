package views

import (
	"strconv"

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
}

func (p WizardProps) err(field string) string {
	if p.Check == nil {
		return ""
	}
	return p.Check.Fields[field]
}

// wizardSteps names the steps the draft's type goes through.
func wizardSteps(t models.UserType) []wizardStep {
	steps := []wizardStep{{models.StepType, "Type", "type"}, {models.StepInfo, "Info", "info"}, {models.StepCompanies, "Companies", "companies"}}
	if t != models.Notification {
		steps = append(steps, wizardStep{models.StepMessage, "Message", "message"})
	}
	return steps
}

type wizardStep struct {
	Step  models.Step
	Label string
	Slug  string
}

// StepSlug is the URL name of a step.
func StepSlug(s models.Step) string {
	for _, st := range wizardSteps("") {
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
