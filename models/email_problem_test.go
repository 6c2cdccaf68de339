package models_test

import (
	"testing"

	"switchboard/models"
)

func TestSummarizeEmailError_ShortReasonsNeverTheRawText(t *testing.T) {
	for raw, want := range map[string]string{
		"": "the reason was not recorded",
		"smtp mail.example.com:587: send failed: sending SMTP RCPT TO command: 550 \"5.1.1 <x@y>: user unknown\", affected recipient(s): <x@y>": "the recipient's server refused it",
		// Our own prefix's port and go-mail's message ID are not replies.
		"smtp mail.example.com:587: send failed: closing SMTP DATA writer: 554 \"5.7.1 rejected\", affected message ID: <switchboard.421.1@x>": "the recipient's server refused it",
		"smtp mail.example.com:465: dial failed: dial tcp 192.0.2.1:465: i/o timeout":                                                          "the mail server could not be reached",
		"smtp mail.example.com:587: send failed: sending SMTP RCPT TO command: 421 \"4.3.0 try later\"":                                        "the mail server asked us to try again later",
		"smtp mail.example.com:587: send failed: sending SMTP RCPT TO command: 552 \"5.2.2 Quota exceeded\"":                                   "the recipient's mailbox is full",
		"smtp mail.example.com:587: dial failed: SMTP AUTH failed: 535 \"5.7.8 Authentication credentials invalid\"":                           "the mail server refused our login",
		"smtp mail.example.com:587: dial failed: STARTTLS mode set to: \"TLSMandatory\", but target host does not support STARTTLS":            "a secure connection to the mail server failed",
		"smtp mail.example.com:587: send failed: sending SMTP MAIL FROM command: 553 \"5.7.1 Sender address rejected\"":                        "the mail server refused our sender address",
		"compose email 12: recipient: invalid: Enter an email address like name@example.com.":                                                  "the recipient's address cannot be used",
		"write mail file: no space left on device":                                                                                             "it could not be written to the mail folder",
		"something nobody expected": "the email could not be delivered",
	} {
		if got := models.SummarizeEmailError(raw); got != want {
			t.Errorf("SummarizeEmailError(%q) = %q, want %q", raw, got, want)
		}
	}
}
