package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Mail is a composed email: subject and both bodies.
type Mail struct {
	Subject, Text, HTML string
	// ReplyTo is the person who acted, for an email that invites a reply
	// (an Admin's invitation, a change an Admin made, a request for
	// access); replies reach them, not the console's no-reply sender. The
	// other emails have none and ask for no reply.
	ReplyTo MailAddress
}

// MailAddress is a person as an email header names them.
type MailAddress struct {
	Name, Email string
}

// InvitationMail is what an invitation says. Link is built by the composer
// from the configured base URL and the secret; nothing here comes from a
// request's Host.
type InvitationMail struct {
	Member       Membership
	InviterName  string
	InviterEmail string
	AccountName  string
	Message      string
	Secret       string
	ExpiresAt    time.Time
	// HasLogin: the address already has a password (from another
	// account), so the email asks them to join by logging in with it.
	HasLogin bool
}

// NotificationMail tells a Notification user which companies they will get
// emails about.
type NotificationMail struct {
	Member       Membership
	InviterName  string
	InviterEmail string
	AccountName  string
	Companies    []string
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
	ActorEmail         string
	AccountName        string
	ToOld              bool
}

// TypeChangedMail tells a person that an Admin promoted or demoted them, and
// what they gained or lost, from the permission table.
type TypeChangedMail struct {
	Member      Membership
	ActorName   string
	ActorEmail  string
	AccountName string
	From, To    UserType
	Gained      []string
	Lost        []string
}

// UseMail sets the composer for emails written with domain changes. It is
// called once at start, before the store serves requests.
func (s *Store) UseMail(c MailComposer) { s.mail = c }

// errStaleMail: what an email built before its change's transaction says
// has changed since it was read; mailed builds it again.
var errStaleMail = errors.New("changed while its email was being written")

// mailed runs a change that sends email, with the email's body built
// before the write lock (writer.go), so that no rendering holds it:
// compose reads what the email says, outside any transaction, and renders
// it; change makes the change in one transaction, with that email, and
// returns errStaleMail when what it finds there differs from what compose
// read. Both then run again, up to three times.
func (s *Store) mailed(ctx context.Context, compose func() error, change func(tx *gorm.DB) error) error {
	if s.mail == nil {
		return errors.New("no mail composer configured")
	}
	for try := 1; ; try++ {
		if err := compose(); err != nil {
			return err
		}
		err := s.tx(ctx, change)
		if !errors.Is(err, errStaleMail) {
			return err
		}
		if try == 3 {
			return Errorf(Conflict, "This person was changed several times while we saved your change. Reload the page and try again.")
		}
	}
}

// sameForMail reports whether what an email says of a person is as it was.
func sameForMail(a, b *Membership) bool {
	return a.ID == b.ID && a.Email == b.Email && a.FirstName == b.FirstName && a.LastName == b.LastName &&
		a.Type == b.Type && a.Status == b.Status
}

// invitation is an invitation link and its email, made before the change
// that sends it, with what the email says that the change checks again.
type invitation struct {
	link     link
	mail     Mail
	by       Inviter
	email    string // the address it was written for
	hasLogin bool   // that address had a login elsewhere
}

// composeInvitation makes a link and renders the invitation of m (as they
// will be once invited) from by, with an optional message. An address
// with a login elsewhere is invited to join with the password it has,
// never to choose another; db, outside any transaction, says which.
func (s *Store) composeInvitation(db *gorm.DB, by Inviter, m Membership, message string) (*invitation, error) {
	hasLogin, err := emailHasLogin(db, m.Email)
	if err != nil {
		return nil, err
	}
	return s.composeInvitationFor(by, m, message, hasLogin)
}

// composeInvitationFor is composeInvitation for an address whose login
// elsewhere, or not, is already known (read for many at once).
func (s *Store) composeInvitationFor(by Inviter, m Membership, message string, hasLogin bool) (*invitation, error) {
	l, err := s.newLink(InvitationLinkTTL)
	if err != nil {
		return nil, err
	}
	mail, err := s.mail.Invitation(InvitationMail{Member: m, InviterName: by.Name, InviterEmail: by.Email,
		AccountName: by.AccountName, Message: message, Secret: l.secret, ExpiresAt: l.expiresAt, HasLogin: hasLogin})
	if err != nil {
		return nil, fmt.Errorf("compose invitation email: %w", err)
	}
	return &invitation{link: l, mail: mail, by: by, email: m.Email, hasLogin: hasLogin}, nil
}

// emailHasLogin tells whether an address has a login (in any account).
func emailHasLogin(db *gorm.DB, email string) (bool, error) {
	var logins int64
	if err := db.Model(&Login{}).Where("email = ?", email).Count(&logins).Error; err != nil {
		return false, fmt.Errorf("check login of invitee: %w", err)
	}
	return logins > 0, nil
}
