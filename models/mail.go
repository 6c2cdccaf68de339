package models

import "time"

// Mail is a composed email: subject and both bodies.
type Mail struct {
	Subject, Text, HTML string
}

// InvitationMail is what an invitation says. Link is built by the composer
// from the configured base URL and the secret; nothing here comes from a
// request's Host.
type InvitationMail struct {
	Member      Membership
	InviterName string
	AccountName string
	Message     string
	Secret      string
	ExpiresAt   time.Time
	// HasLogin: the address already has a password (from another
	// account), so the email asks them to join by logging in with it.
	HasLogin bool
}

// NotificationMail tells a Notification user which companies they will get
// emails about.
type NotificationMail struct {
	Member      Membership
	InviterName string
	AccountName string
	Companies   []string
}

// MailComposer renders the console's emails; views implements it so that
// bodies come from templ components, and models stay free of HTML.
type MailComposer interface {
	Invitation(InvitationMail) (Mail, error)
	NotificationAdded(NotificationMail) (Mail, error)
	TypeChanged(TypeChangedMail) (Mail, error)
	AccessRequested(AccessMail) (Mail, error)
	AccessGranted(AccessMail) (Mail, error)
	AccessDeclined(AccessMail) (Mail, error)
	PasswordChanged(PasswordChangedMail) (Mail, error)
	PasswordReset(PasswordResetMail) (Mail, error)
	LoginThrottled(LoginThrottledMail) (Mail, error)
	AddressChanged(AddressChangedMail) (Mail, error)
}

// AddressChangedMail tells a Notification user's old and new address that
// an Admin changed where their emails go. ToOld says which one reads it.
type AddressChangedMail struct {
	Member             Membership
	OldEmail, NewEmail string
	ActorName          string
	AccountName        string
	ToOld              bool
}

// TypeChangedMail tells a person that an Admin promoted or demoted them, and
// what they gained or lost, from the permission table.
type TypeChangedMail struct {
	Member      Membership
	ActorName   string
	AccountName string
	From, To    UserType
	Gained      []string
	Lost        []string
}

// UseMail sets the composer for emails written with domain changes. It is
// called once at start, before the store serves requests.
func (s *Store) UseMail(c MailComposer) { s.mail = c }
