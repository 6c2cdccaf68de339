package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/models"
)

// refusingSMTP is a real SMTP server that answers one stage of the
// exchange with a given error.
type refusingSMTP struct {
	mail, rcpt, data *smtp.SMTPError
}

type refusingSession struct{ r *refusingSMTP }

func (s refusingSession) Mail(string, *smtp.MailOptions) error {
	if s.r.mail != nil {
		return s.r.mail
	}
	return nil
}

func (s refusingSession) Rcpt(string, *smtp.RcptOptions) error {
	if s.r.rcpt != nil {
		return s.r.rcpt
	}
	return nil
}

func (s refusingSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	if s.r.data != nil {
		return s.r.data
	}
	return nil
}

func (refusingSession) Reset()        {}
func (refusingSession) Logout() error { return nil }

func startRefusingSMTP(t *testing.T, r *refusingSMTP) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return refusingSession{r}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return l.Addr().String()
}

// The summaries are judged against the errors the real transports give,
// as the outbox records them: go-mail talking to a real SMTP server that
// refuses at each stage, a server that is not there, a wrong password, an
// untrusted certificate, and a mail folder that cannot be written.
func TestSummarizeEmailError_RealTransportErrors(t *testing.T) {
	cert, _ := testCert(t)
	closed := func() string {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		return addr
	}()
	rejectRcpt := startRefusingSMTP(t, &refusingSMTP{rcpt: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<ada@example.com>: Recipient address rejected: User unknown in virtual mailbox table"}})
	full := startRefusingSMTP(t, &refusingSMTP{rcpt: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}})
	greylist := startRefusingSMTP(t, &refusingSMTP{rcpt: &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, please try again in 300 seconds"}})
	spam := startRefusingSMTP(t, &refusingSMTP{data: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"}})
	sender := startRefusingSMTP(t, &refusingSMTP{mail: &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address rejected: not owned by user"}})
	auth := startTestSMTP(t, "127.0.0.1:0", smtpSTARTTLS, "mailer", "right", cert)
	implicit := startTestSMTP(t, "127.0.0.1:0", smtpImplicit, "", "", cert)

	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name   string
		mailer func() Mailer
		want   string
	}{
		{"recipient unknown", smtpTo(t, "smtp://"+rejectRcpt, nil), "the recipient's server refused it"},
		{"mailbox full", smtpTo(t, "smtp://"+full, nil), "the recipient's mailbox is full"},
		{"greylisted", smtpTo(t, "smtp://"+greylist, nil), "the mail server asked us to try again later"},
		{"spam", smtpTo(t, "smtp://"+spam, nil), "the recipient's server refused it"},
		{"sender refused", smtpTo(t, "smtp://"+sender, nil), "the mail server refused our sender address"},
		{"nobody listening", smtpTo(t, "smtp://"+closed, nil), "the mail server could not be reached"},
		{"no such host", smtpTo(t, "smtp://mail.invalid:2525", nil), "the mail server could not be reached"},
		{"wrong password", smtpTo(t, "smtp://mailer:wrong@"+auth.Addr, &tls.Config{InsecureSkipVerify: true}), "the mail server refused our login"},
		{"untrusted certificate", smtpTo(t, "smtps://"+implicit.Addr, nil), "a secure connection to the mail server failed"},
		{"mail folder", func() Mailer { return &FileMailer{Dir: filepath.Join(notADir, "mail")} }, "it could not be written to the mail folder"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := c.mailer().Send(ctx, testEmail(7))
			if err == nil {
				t.Fatal("sent")
			}
			if got := models.SummarizeEmailError(err.Error()); got != c.want {
				t.Errorf("error %q\nsummarised as %q, want %q", err, got, c.want)
			}
		})
	}
}

func smtpTo(t *testing.T, u string, cfg *tls.Config) func() Mailer {
	return func() Mailer {
		m, err := NewSMTPMailer(u, testFrom)
		if err != nil {
			t.Fatal(err)
		}
		m.TLSConfig = cfg
		m.Timeout = 5 * time.Second
		return m
	}
}

// An invitation that keeps failing is summarised on the users list for
// everyone who sees the person (an Admin, a Manager of their company), and
// the mail server's raw answer, which names servers and addresses, is
// shown to Admins only, on Edit User.
func TestEmailProblem_SummaryForEveryoneRawDetailForAdmins(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	ada := ts.viewerFor("ada@example.com", "Acme Calls")
	var plumbing uint
	fmt.Sscan(ts.companyID("Acme Plumbing"), &plumbing)
	ts.addMember(ada, models.Manager, "Max", "max@example.com", plumbing)
	d := models.Draft{Key: models.NewDraftKey(), Type: models.Reporting, FirstName: "Ivy", LastName: "Invitee", Email: "ivy@example.com", CompanyIDs: []uint{plumbing}}
	ivy, _, err := ts.store.CreateMember(context.Background(), ada, d, "")
	if err != nil {
		t.Fatal(err)
	}
	const raw = `smtp relay.internal.example:587: send failed: sending SMTP RCPT TO command: 550 "5.1.1 <ivy@example.com>: Recipient address rejected: User unknown in relay-7.internal"`
	var msg models.OutboxMessage
	ts.store.DB().Where("membership_id = ?", ivy.ID).Take(&msg)
	for range 3 {
		// Each failure is recorded by the worker holding the message's lease.
		ts.clock.Advance(3 * time.Minute)
		if _, err := ts.store.ClaimEmails(context.Background(), "test-worker", time.Minute, 100); err != nil {
			t.Fatal(err)
		}
		if err := ts.store.MarkEmailFailed(context.Background(), "test-worker", msg.ID, errors.New(raw)); err != nil {
			t.Fatal(err)
		}
	}
	const summary = "the recipient's server refused it"

	manager := ts.login("max@example.com", strongPassword)
	for who, b := range map[string]*browser{"admin": admin, "manager": manager} {
		p := b.get("/users")
		wantStatus(t, p, http.StatusOK)
		row := p.doc.Find(`tr[data-email="ivy@example.com"]`)
		if got := row.Find(`[data-testid="delivery-problem"]`).Text(); !strings.Contains(got, summary) {
			t.Errorf("%s's users list: problem %q, want %q", who, got, summary)
		}
		if strings.Contains(p.body, "relay-7.internal") || strings.Contains(p.body, "5.1.1") {
			t.Errorf("%s's users list shows the raw SMTP error", who)
		}
	}

	p := admin.get(userPath(ivy.ID, ""))
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`[data-testid="email-problem"] > p`); !strings.Contains(got, summary) || !strings.Contains(got, "3 attempts") {
		t.Errorf("Edit User: %q", got)
	}
	if got := p.text(`[data-testid="email-problem"] details pre`); got != strings.Join(strings.Fields(raw), " ") {
		t.Errorf("Edit User's detail for an Admin: %q", got)
	}
	// Managers have no Edit User; their one view of the person is the list.
	if p := manager.get(userPath(ivy.ID, "")); p.status == http.StatusOK || strings.Contains(p.body, "relay-7.internal") {
		t.Errorf("a Manager opened Edit User: %d", p.status)
	}
}
