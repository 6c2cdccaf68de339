package views

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/a-h/templ"

	"switchboard/models"
)

// Mailer composes the console's emails. Links are built from the configured
// base URL only.
type Mailer struct {
	BaseURL *url.URL
}

var _ models.MailComposer = Mailer{}

// InvitationLink is the address of an invitation's set-password page.
func (m Mailer) InvitationLink(secret string) string {
	return strings.TrimSuffix(m.BaseURL.String(), "/") + "/invite/" + secret
}

// Invitation composes the email that asks a new user to set their password.
func (m Mailer) Invitation(in models.InvitationMail) (models.Mail, error) {
	link := m.InvitationLink(in.Secret)
	html, err := renderString(invitationEmail(in, link, in.InviterEmail != ""))
	if err != nil {
		return models.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\n", in.Member.FirstName)
	fmt.Fprintf(&t, "%s invited you to %s on Switchboard as %s user.\n\n", in.InviterName, in.AccountName, in.Member.Type.WithArticle())
	if in.Message != "" {
		for _, line := range strings.Split(in.Message, "\n") {
			fmt.Fprintf(&t, "> %s\n", line)
		}
		t.WriteString("\n")
	}
	subject := fmt.Sprintf("%s invited you to %s on Switchboard", in.InviterName, in.AccountName)
	if in.HasLogin {
		fmt.Fprintf(&t, "You already have a Switchboard login as %s. To join %s, open this link and log in with the password you already use:\n\n%s\n\n", in.Member.Email, in.AccountName, link)
		fmt.Fprintf(&t, "Your password and your other accounts stay as they are; you will switch between accounts from the header. The link works once and expires on %s.\n", FormatDateTime(in.ExpiresAt))
		t.WriteString("If you did not expect this email, you can ignore it.\n")
		return withReplies(subject, &t, html, in.InviterName, in.InviterEmail), nil
	}
	fmt.Fprintf(&t, "For your security nobody else can choose your password. Set it here:\n\n%s\n\n", link)
	fmt.Fprintf(&t, "The link works once and expires on %s. Your login will be %s.\n", FormatDateTime(in.ExpiresAt), in.Member.Email)
	t.WriteString("If you did not expect this email, you can ignore it.\n")
	return withReplies(subject, &t, html, in.InviterName, in.InviterEmail), nil
}

// NotificationAdded tells a Notification user what they will receive.
func (m Mailer) NotificationAdded(in models.NotificationMail) (models.Mail, error) {
	html, err := renderString(notificationEmail(in, in.InviterEmail != ""))
	if err != nil {
		return models.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\n", in.Member.FirstName)
	fmt.Fprintf(&t, "%s added you to %s on Switchboard to receive notification and summary emails for:\n\n", in.InviterName, in.AccountName)
	for _, c := range in.Companies {
		fmt.Fprintf(&t, "  - %s\n", c)
	}
	t.WriteString("\nYou do not need to do anything, and there is no login for this kind of user.\n")
	if in.InviterEmail != "" {
		fmt.Fprintf(&t, "If you did not expect this email, reply to it to let %s know.\n", in.InviterName)
	}
	return models.Mail{Subject: fmt.Sprintf("You will receive notifications from %s", in.AccountName),
		Text: t.String(), HTML: html, ReplyTo: models.MailAddress{Name: in.InviterName, Email: in.InviterEmail}}, nil
}

func renderString(c templ.Component) (string, error) {
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		return "", fmt.Errorf("render email: %w", err)
	}
	return b.String(), nil
}

// LoginLink is the address of the login page.
func (m Mailer) LoginLink() string { return strings.TrimSuffix(m.BaseURL.String(), "/") + "/login" }

// TypeChanged tells a person that their type changed and what it means.
func (m Mailer) TypeChanged(in models.TypeChangedMail) (models.Mail, error) {
	login := ""
	if in.To.CanLogIn() {
		login = m.LoginLink()
	}
	html, err := renderString(typeChangedEmail(in, login, in.ActorEmail != ""))
	if err != nil {
		return models.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\n", in.Member.FirstName)
	fmt.Fprintf(&t, "%s changed your type in %s on Switchboard from %s to %s.\n\n", in.ActorName, in.AccountName, in.From.Label(), in.To.Label())
	if len(in.Gained) > 0 {
		t.WriteString("You can now:\n")
		for _, line := range in.Gained {
			fmt.Fprintf(&t, "  - %s\n", line)
		}
		t.WriteString("\n")
	}
	if len(in.Lost) > 0 {
		t.WriteString("You can no longer:\n")
		for _, line := range in.Lost {
			fmt.Fprintf(&t, "  - %s\n", line)
		}
		t.WriteString("\n")
	}
	if login != "" {
		fmt.Fprintf(&t, "The change applies from your next page in Switchboard: %s\n", login)
	} else {
		fmt.Fprintf(&t, "You no longer log in to %s. You will keep receiving its notification and summary emails.\n", in.AccountName)
	}
	if in.ActorEmail != "" {
		fmt.Fprintf(&t, "If you have questions, reply to this email to reach %s.\n", in.ActorName)
	}
	return models.Mail{Subject: fmt.Sprintf("Your user type in %s is now %s", in.AccountName, in.To.Label()),
		Text: t.String(), HTML: html, ReplyTo: models.MailAddress{Name: in.ActorName, Email: in.ActorEmail}}, nil
}

// AddressChanged tells a Notification user's old or new address that an
// Admin changed where their notification emails go.
func (m Mailer) AddressChanged(in models.AddressChangedMail) (models.Mail, error) {
	html, err := renderString(addressChangedEmail(in, in.ActorEmail != ""))
	if err != nil {
		return models.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\n", in.Member.FirstName)
	fmt.Fprintf(&t, "%s changed the address that receives your notification and summary emails from %s on Switchboard:\n\n  from %s\n  to   %s\n\n", in.ActorName, in.AccountName, in.OldEmail, in.NewEmail)
	switch {
	case in.ToOld && in.ActorEmail != "":
		fmt.Fprintf(&t, "This address will receive no more of them. If this change is a mistake, reply to this email to reach %s, or tell another Admin of %s.\n", in.ActorName, in.AccountName)
	case in.ToOld:
		fmt.Fprintf(&t, "This address will receive no more of them. If this change is a mistake, tell %s or another Admin of %s.\n", in.ActorName, in.AccountName)
	default:
		t.WriteString("From now on they come to this address. There is no login for this kind of user; you do not need to do anything.\n")
		if in.ActorEmail != "" {
			fmt.Fprintf(&t, "Questions? Reply to this email to reach %s.\n", in.ActorName)
		}
	}
	return models.Mail{Subject: fmt.Sprintf("Your notification emails from %s go to a new address", in.AccountName), Text: t.String(), HTML: html,
		ReplyTo: models.MailAddress{Name: in.ActorName, Email: in.ActorEmail}}, nil
}

// withReplies is an invitation from inviter: replies reach them when it
// has their address (an invitation the console renewed has none).
func withReplies(subject string, t *strings.Builder, html, inviter, inviterEmail string) models.Mail {
	if inviterEmail != "" {
		fmt.Fprintf(t, "\nQuestions? Reply to this email to reach %s.\n", inviter)
	}
	return models.Mail{Subject: subject, Text: t.String(), HTML: html, ReplyTo: models.MailAddress{Name: inviter, Email: inviterEmail}}
}
