package views

import (
	"strings"

	"switchboard/models"
)

// AccountProps is the Account Settings page.
type AccountProps struct {
	Accounts []models.AccountChoice
	// LastAdmin: leaving is refused; the page says why up front.
	LastAdmin bool
	Incoming  int64
	Phone     PhoneProps
}

// PhoneProps is the "Your phone" part of Account settings: the number a
// person answers calls on.
type PhoneProps struct {
	// TakesCalls: the person's type takes calls, so they may set one.
	TakesCalls bool
	// Phone is the stored number, formatted; Input what was typed.
	Phone, Input, Error string
	// Answering are the ring groups they answer.
	Answering []string
}

// AccessRequestsProps is the requester's page: the form and their requests.
type AccessRequestsProps struct {
	Number, Note string
	Errors       map[string]string
	Mine         []models.AccessRequest
}

// IncomingProps lists requests to the Admin's account.
type IncomingProps struct {
	Requests []models.AccessRequest
}

// GrantProps is the grant form: a type and companies, as in the wizard.
type GrantProps struct {
	Request    models.AccessRequest
	Type       models.UserType
	CompanyIDs []uint
	Companies  []models.Company
	Errors     map[string]string
}

func accessStatusLabel(s models.AccessStatus) string {
	switch s {
	case models.AccessPending:
		return "Waiting for the account's Admins"
	case models.AccessGranted:
		return "Granted"
	case models.AccessDeclined:
		return "Declined"
	case models.AccessWithdrawn:
		return "Withdrawn"
	}
	return string(s)
}

func phoneValue(p PhoneProps) string {
	if p.Input != "" || p.Error != "" {
		return p.Input
	}
	return p.Phone
}

func joinComma(items []string) string { return strings.Join(items, ", ") }
