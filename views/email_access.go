package views

import (
	"fmt"
	"strings"

	"switchboard/models"
)

func (m Mailer) link(path string) string { return strings.TrimSuffix(m.BaseURL.String(), "/") + path }

// AccessRequested tells an Admin that someone asked to join their account.
func (m Mailer) AccessRequested(in models.AccessMail) (models.Mail, error) {
	link := m.link("/access-requests/incoming")
	html, err := renderString(accessRequestedEmail(in, link))
	if err != nil {
		return models.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\n", in.To.FirstName)
	fmt.Fprintf(&t, "%s (%s) asked for access to %s on Switchboard. They already have a login for another account.\n\n", in.Request.RequesterName(), in.Request.RequesterEmail, in.AccountName)
	if in.Request.Note != "" {
		for _, line := range strings.Split(in.Request.Note, "\n") {
			fmt.Fprintf(&t, "> %s\n", line)
		}
		t.WriteString("\n")
	}
	fmt.Fprintf(&t, "You choose their type and companies when you grant it, or decline it:\n\n%s\n\nIf you do not know this person, decline the request. To ask them about it first, reply to this email.\n", link)
	return models.Mail{Subject: fmt.Sprintf("%s asked for access to %s", in.Request.RequesterName(), in.AccountName), Text: t.String(), HTML: html,
		ReplyTo: models.MailAddress{Name: in.Request.RequesterName(), Email: in.Request.RequesterEmail}}, nil
}

// AccessGranted tells the requester they are in.
func (m Mailer) AccessGranted(in models.AccessMail) (models.Mail, error) {
	link := m.link("/login")
	html, err := renderString(accessDecidedEmail(in, true, link, in.ActorEmail != ""))
	if err != nil {
		return models.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "Hello %s,\n\n%s granted your request: you now have access to %s as %s user.\n\n", in.Request.FirstName, in.ActorName, in.AccountName, in.Type.WithArticle())
	if len(in.Companies) > 0 {
		t.WriteString("Companies:\n")
		for _, c := range in.Companies {
			fmt.Fprintf(&t, "  - %s\n", c)
		}
		t.WriteString("\n")
	}
	fmt.Fprintf(&t, "Log in with your usual password and switch to %s from the header:\n%s\n", in.AccountName, link)
	if in.ActorEmail != "" {
		fmt.Fprintf(&t, "\nQuestions about your access? Reply to this email to reach %s.\n", in.ActorName)
	}
	return models.Mail{Subject: "Your access to " + in.AccountName + " was granted", Text: t.String(), HTML: html,
		ReplyTo: models.MailAddress{Name: in.ActorName, Email: in.ActorEmail}}, nil
}

// AccessDeclined tells the requester no.
func (m Mailer) AccessDeclined(in models.AccessMail) (models.Mail, error) {
	html, err := renderString(accessDecidedEmail(in, false, "", false))
	if err != nil {
		return models.Mail{}, err
	}
	// The requester is not told the Admin's address, and this email asks
	// for no reply: the sender reads nothing.
	text := fmt.Sprintf("Hello %s,\n\n%s declined your request for access to %s. If you think this is a mistake, check with whoever gave you the account number.\n",
		in.Request.FirstName, in.ActorName, in.AccountName)
	return models.Mail{Subject: "Your request for access to " + in.AccountName, Text: text, HTML: html}, nil
}
