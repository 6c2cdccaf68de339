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
}

// NotificationMail tells a Notification user which companies they will get
// emails about.
type NotificationMail struct {
	Member      Membership
	InviterName string
	AccountName string
	Companies   []string
	Message     string
}

// MailComposer renders the console's emails; views implements it so that
// bodies come from templ components, and models stay free of HTML.
type MailComposer interface {
	Invitation(InvitationMail) (Mail, error)
	NotificationAdded(NotificationMail) (Mail, error)
}

// UseMail sets the composer for emails written with domain changes. It is
// called once at start, before the store serves requests.
func (s *Store) UseMail(c MailComposer) { s.mail = c }
