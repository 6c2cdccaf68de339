package views

import (
	"fmt"

	"switchboard/models"
)

// PasswordChanged tells a person their password changed.
func (m Mailer) PasswordChanged(in models.PasswordChangedMail) (models.Mail, error) {
	reset := m.link("/password/forgot")
	html, err := renderString(passwordChangedEmail(in, reset))
	if err != nil {
		return models.Mail{}, err
	}
	text := fmt.Sprintf("Hello %s,\n\nThe password of your Switchboard login %s was changed on %s, and every session was logged out.\n\n"+
		"If you did not do this, choose a new password now and tell an Admin of your account:\n%s\n", in.FirstName, in.Email, FormatDateTime(in.When), reset)
	return models.Mail{Subject: "Your Switchboard password was changed", Text: text, HTML: html}, nil
}

// PasswordReset carries a link to choose a new password.
func (m Mailer) PasswordReset(in models.PasswordResetMail) (models.Mail, error) {
	link := m.link("/password/reset/" + in.Secret)
	html, err := renderString(passwordResetEmail(in, link))
	if err != nil {
		return models.Mail{}, err
	}
	text := fmt.Sprintf("Hello %s,\n\nSomeone asked to reset the password of your Switchboard login %s. If it was you, choose a new password here:\n\n%s\n\n"+
		"The link works once and expires on %s. If you did not ask for it, ignore this email: your password stays as it is.\n",
		in.FirstName, in.Email, link, FormatDateTime(in.ExpiresAt))
	return models.Mail{Subject: "Reset your Switchboard password", Text: text, HTML: html}, nil
}

// LoginThrottled tells a person that logins to their address are slowed
// down after failed attempts, once per episode.
func (m Mailer) LoginThrottled(in models.LoginThrottledMail) (models.Mail, error) {
	reset := m.link("/password/forgot")
	html, err := renderString(loginThrottledEmail(in, reset))
	if err != nil {
		return models.Mail{}, err
	}
	text := fmt.Sprintf("Hello %s,\n\nSomeone has typed a wrong password for your Switchboard login %s %d times since %s. "+
		"To protect it, further attempts from browsers where you have not logged in before now wait a little longer each time.\n\n"+
		"You can still log in as usual from a browser where you have logged in before. If these attempts were not yours, "+
		"your password has not been given away, and there is nothing you need to do.\n\n"+
		"If you have forgotten your password, choose a new one here (it also ends the slow-down):\n%s\n",
		in.FirstName, in.Email, in.Failures, FormatDateTime(in.Since), reset)
	return models.Mail{Subject: "Failed attempts to log in to your Switchboard login", Text: text, HTML: html}, nil
}
