package models

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// EmailProblem says why email to a person is not getting through.
type EmailProblem struct {
	// Summary is a short reason anyone who sees the person may read
	// ("the recipient's server refused it").
	Summary string
	// Detail is the mail server's own answer, as recorded. It can name
	// servers, addresses and internals, so only Admins get it; it is
	// empty for everyone else.
	Detail   string
	Attempts int
	// Since is when the email was written.
	Since time.Time
}

// smtpReply finds an SMTP reply code (and enhanced status code) where an
// error's text quotes a server's reply: at the start or after ": " or
// ", ", e.g. "550 5.1.1 <ada@example.com>: user unknown" or "421 busy".
var smtpReply = regexp.MustCompile(`(?:^|: |, )([245])([0-9]{2})(?:[ -]([245]\.[0-9]{1,3}\.[0-9]{1,3}))?\b`)

// noise is what the transports add around a server's reply and must not
// be mistaken for one: our own "smtp host:port: " prefix and go-mail's
// lists of affected recipients and message IDs.
var noise = regexp.MustCompile(`^smtp \S+: |, affected (recipient\(s\)|message id): .*$`)

// SummarizeEmailError turns an outbox message's last error (an SMTP
// server's answer, a network error, a file error) into a short reason a
// person can read. It never repeats the raw text, which can hold internals.
func SummarizeEmailError(lastError string) string {
	e := noise.ReplaceAllString(strings.ToLower(lastError), "")
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(e, w) {
				return true
			}
		}
		return false
	}
	code, enhanced := "", ""
	if m := smtpReply.FindStringSubmatch(e); m != nil {
		code, enhanced = m[1]+m[2], m[3]
	}
	switch {
	case strings.TrimSpace(e) == "":
		return "the reason was not recorded"
	case has("mail folder", "mail file"):
		return "it could not be written to the mail folder"
	case has("compose email", "recipient: ", "not a valid address"):
		return "the recipient's address cannot be used"
	case has("smtp auth", "authentication", "auth failed") || code == "535" || code == "534":
		return "the mail server refused our login"
	case has("x509:", "tls:", "certificate", "starttls"):
		return "a secure connection to the mail server failed"
	case has("dial failed", "connection refused", "no such host", "i/o timeout", "network is unreachable",
		"connection reset", ": eof", "unexpected eof", "deadline exceeded", "dial tcp"):
		return "the mail server could not be reached"
	case has("mailbox full", "quota", "insufficient storage") || code == "452" || code == "552" || enhanced == "4.2.2" || enhanced == "5.2.2":
		return "the recipient's mailbox is full"
	case strings.HasPrefix(code, "4"):
		return "the mail server asked us to try again later"
	case has("mail from"):
		return "the mail server refused our sender address"
	case has("rcpt to", "recipient", "user unknown", "no such user", "mailbox unavailable") || enhanced == "5.1.1":
		return "the recipient's server refused it"
	case has("data"), strings.HasPrefix(code, "5"):
		return "the recipient's server refused it"
	}
	return "the email could not be delivered"
}

// emailProblemOf is the problem of a person whose newest email keeps
// failing, or nil; v decides whether the raw detail is included.
func (s *Store) emailProblemOf(ctx context.Context, v *Viewer, m *Membership) (*EmailProblem, error) {
	failing, err := s.FailingEmails(ctx, []uint{m.ID}, failingAfter)
	if err != nil {
		return nil, err
	}
	msg, ok := failing[m.ID]
	if !ok {
		return nil, nil
	}
	p := &EmailProblem{Summary: SummarizeEmailError(msg.LastError), Attempts: msg.Attempts, Since: msg.CreatedAt}
	if CanManageUsers(v.Type()) {
		p.Detail = msg.LastError
	}
	return p, nil
}
