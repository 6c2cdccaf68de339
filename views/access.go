package views

import (
	"context"
	"strings"
	"time"

	"switchboard/models"
)

// AccountProps is the Account Settings page.
type AccountProps struct {
	Accounts []models.AccountChoice
	// LastAdmin: leaving is refused; the page says why up front.
	LastAdmin bool
	// Incoming are the requests waiting for the account's Admins (Admins).
	Incoming []models.AccessRequest
	Phone    PhoneProps
	// Settings is the account's name and time zone form (Admins).
	Settings AccountSettingsForm
	// MyTimeZone is the login's own zone ("" follows the account's).
	MyTimeZone, MyTimeZoneError string
	Now                         time.Time
}

// AccountSettingsForm is what an Admin sets of the account.
type AccountSettingsForm struct {
	Name, TimeZone string
	Errors         map[string]string
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
	Number, Note, Share string
	Errors              map[string]string
	Mine                []models.AccessRequest
	// Editing is the pending request being corrected (nil: a new one).
	Editing *models.AccessRequest
	// Companies are the requester's own, which they may name.
	Companies []models.Company
	Now       time.Time
}

// shareCompany is the form value naming one of the requester's companies.
func shareCompany(id uint) string { return models.ShareCompanyPrefix + idString(id) }

// requestFrom says where a requester comes from, as much as they shared.
func requestFrom(r models.AccessRequest) string {
	switch {
	case r.FromCompany != "":
		return "From " + r.FromAccount + " · " + r.FromCompany
	case r.FromAccount != "":
		return "From " + r.FromAccount
	}
	return "Did not say which account they come from"
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
	case models.AccessExpired:
		return "Expired"
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

func accessRequestsTitle(p AccessRequestsProps) string {
	if p.Editing != nil {
		return "Correct your request"
	}
	return "Request access to another account"
}

func accessRequestAction(p AccessRequestsProps) string {
	if p.Editing != nil {
		return "/access-requests/" + idString(p.Editing.ID)
	}
	return "/access-requests"
}

// accountZoneName names the account's zone, which a login follows unless
// it chose its own.
func accountZoneName(ctx context.Context) string {
	if z := viewer(ctx).Account.TimeZone; z != "" {
		return z
	}
	return "UTC"
}

// assignableLabel names the types a person may add to companies:
// "Reporting and Notification".
func assignableLabel(t models.UserType) string {
	var labels []string
	for _, a := range models.AssignableTypes(t) {
		labels = append(labels, a.Label())
	}
	switch len(labels) {
	case 0:
		return ""
	case 1:
		return labels[0]
	}
	return strings.Join(labels[:len(labels)-1], ", ") + " and " + labels[len(labels)-1]
}
