package web

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"switchboard/models"
)

// replyPattern finds an email asking for a reply, in any wording.
var replyPattern = regexp.MustCompile(`(?i)\breply\b|\brespond\b|\bwrite back\b|contact (them|us)`)

// TestEmails_ReplyToThePersonWhoActed writes every kind of email through
// the console's routes. The ones that invite a reply carry Reply-To the
// person who acted (the inviting or deciding Admin, or the person asking
// for access) and say that a reply reaches them; the others ask for no
// reply at all, since the sender's address reads nothing. Every body is a
// whole HTML document (and goes to the HTML checker with the rest of this
// package's emails).
func TestEmails_ReplyToThePersonWhoActed(t *testing.T) {
	ts := newTestServer(t)
	short := func(seed string, _ int) string {
		return strings.TrimRightFunc(seed, func(r rune) bool { return !unicode.IsLetter(r) })
	}
	first := writeEveryEmail(t, ts, short)
	ada := first + " " + short("Ŵïłłïåmš-Ŷøŕķ", 0)
	rhea := short("Rhéä-", 0) + " " + short("Rëqüëstër-", 0)

	// Who a reply reaches, by kind; "" for the kinds that ask for none.
	wantReplyTo := map[string]models.MailAddress{
		"invitation":         {Name: ada, Email: "ada@example.com"},
		"notification_added": {Name: ada, Email: "ada@example.com"},
		"type_changed":       {Name: ada, Email: "ada@example.com"},
		"address_changed":    {Name: ada, Email: "ada@example.com"},
		"access_requested":   {Name: rhea, Email: "rhea@example.com"},
		"access_granted":     {Name: ada, Email: "ada@example.com"},
		"access_declined":    {},
		"password_changed":   {},
		"password_reset":     {},
		"login_throttled":    {},
	}
	for _, kind := range emailKinds {
		want, known := wantReplyTo[kind]
		if !known {
			t.Errorf("%s: say whether this kind of email invites a reply", kind)
			continue
		}
		var msgs []models.OutboxMessage
		if err := ts.store.DB().Where("kind = ?", kind).Order("id").Find(&msgs).Error; err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			t.Errorf("no %s email was written", kind)
			continue
		}
		for _, m := range msgs {
			if got := (models.MailAddress{Name: m.ReplyToName, Email: m.ReplyToAddress}); got != want {
				t.Errorf("%s: Reply-To %+v, want %+v", kind, got, want)
			}
			if !isHTMLDocument(m.HTMLBody) {
				t.Errorf("%s: the HTML body is not a whole document: %.80q", kind, m.HTMLBody)
			}
			asks := replyPattern.MatchString(m.TextBody) || replyPattern.MatchString(m.HTMLBody)
			if want.Email == "" && asks {
				t.Errorf("%s has no Reply-To but asks for a reply: %q", kind, replyPattern.FindString(m.TextBody+m.HTMLBody))
			}
			if want.Email != "" && !strings.Contains(m.TextBody, "reply to") && !strings.Contains(m.TextBody, "Reply to") {
				t.Errorf("%s: Reply-To is set but the email does not say a reply reaches %s:\n%s", kind, want.Name, m.TextBody)
			}

			// The sent message carries the header.
			msg, err := composeEmail(DefaultFrom(ts.base), m)
			if err != nil {
				t.Fatalf("%s: compose: %v", kind, err)
			}
			var raw bytes.Buffer
			if _, err := msg.WriteTo(&raw); err != nil {
				t.Fatal(err)
			}
			sent := parseEmail(t, raw.Bytes())
			list, _ := sent.Header.AddressList("Reply-To")
			switch {
			case want.Email == "" && len(list) != 0:
				t.Errorf("%s: sent with Reply-To %v", kind, list)
			case want.Email != "" && (len(list) != 1 || list[0].Address != want.Email || list[0].Name != want.Name):
				t.Errorf("%s: sent with Reply-To %v, want %s <%s>", kind, list, want.Name, want.Email)
			}
		}
	}
}
