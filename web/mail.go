package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"switchboard/models"
)

// Mailer hands one email to whatever carries it further. An error means the
// message was not accepted and will be tried again later.
type Mailer interface {
	Send(ctx context.Context, m models.OutboxMessage) error
}

// SMTPTimeout bounds each step of an SMTP exchange (dial, each command),
// so one unresponsive server cannot hold the delivery worker.
const SMTPTimeout = 15 * time.Second

// NewMailer picks the transport the command line asked for: SMTP when
// smtpURL is set, otherwise .eml files in mailDir. from is the sender
// address ("Name <addr>"); see DefaultFrom.
func NewMailer(smtpURL, mailDir, from string, log *slog.Logger) (Mailer, error) {
	if from == "" {
		from = DefaultFrom(nil)
	}
	if _, err := parseFrom(from); err != nil {
		return nil, err
	}
	switch {
	case smtpURL != "":
		return NewSMTPMailer(smtpURL, from)
	case mailDir != "":
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return &FileMailer{Dir: mailDir, Log: log, From: from}, nil
	}
	return nil, errors.New("mail: no way to deliver email: give an SMTP URL or a mail folder")
}

// DefaultFrom is the sender when none is configured: no-reply at the host
// of the public address, which is where replies would be expected to go.
func DefaultFrom(base *url.URL) string {
	host := "localhost"
	if base != nil && base.Hostname() != "" && !strings.Contains(base.Hostname(), ":") {
		host = strings.ToLower(base.Hostname())
	}
	return "Switchboard <no-reply@" + host + ">"
}

func parseFrom(from string) (*mail.Address, error) {
	if err := models.CheckHeaderValue("sender", from); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	return a, nil
}

// SMTPMailer sends through an SMTP server: smtp://user:pass@host:port
// (port 587 by default; STARTTLS whenever the server offers it) or
// smtps://user:pass@host:port (TLS from the first byte; port 465 by default).
// Credentials are only ever sent over TLS or to the local machine.
type SMTPMailer struct {
	From string
	// TLSConfig replaces the system defaults, e.g. to trust a private CA.
	TLSConfig *tls.Config
	// Timeout bounds each step of the exchange; zero means SMTPTimeout.
	Timeout time.Duration

	host        string
	port        int
	implicitTLS bool
	user, pass  string
}

// NewSMTPMailer parses an smtp:// or smtps:// URL. Errors never repeat the
// password.
func NewSMTPMailer(rawURL, from string) (*SMTPMailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error quotes the whole input, password included.
		return nil, errors.New("mail: the SMTP URL is not a valid URL; want smtp://user:pass@host:port")
	}
	if u.Opaque != "" {
		// "smtp:user:pass@host" parses as opaque, and Redacted keeps it whole.
		return nil, errors.New("mail: the SMTP URL must start with smtp:// or smtps://")
	}
	m := &SMTPMailer{From: from, host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		m.port = 587
	case "smtps":
		m.port, m.implicitTLS = 465, true
	default:
		return nil, fmt.Errorf("mail: SMTP URL %s: want smtp:// or smtps://", u.Redacted())
	}
	if m.host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("mail: SMTP URL %s: want smtp://user:pass@host:port", u.Redacted())
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL %s: bad port", u.Redacted())
		}
		m.port = n
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	if _, err := parseFrom(from); err != nil {
		return nil, err
	}
	return m, nil
}

// Addr is host:port of the server, for logs.
func (s *SMTPMailer) Addr() string {
	return fmt.Sprintf("%s:%d", s.host, s.port)
}

// Send delivers m in one SMTP session of its own.
func (s *SMTPMailer) Send(ctx context.Context, m models.OutboxMessage) error {
	msg, err := composeEmail(s.From, m)
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = SMTPTimeout
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(timeout)}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.TLSConfig != nil {
		cfg := s.TLSConfig.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = s.host
		}
		opts = append(opts, gomail.WithTLSConfig(cfg))
	}
	if s.user != "" {
		// PLAIN and LOGIN refuse to run over a plain connection to another
		// machine, so a server without STARTTLS never sees the password.
		opts = append(opts, gomail.WithUsername(s.user), gomail.WithPassword(s.pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin, gomail.SMTPAuthCramMD5))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", s.Addr(), err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server answered 250 to the message's data: it has it.
			// What failed came after (RSET, QUIT, a connection dropped),
			// and sending again would deliver it twice.
			return nil
		}
		return fmt.Errorf("smtp %s: %w", s.Addr(), err)
	}
	return nil
}

// FileMailer is the transport without SMTP: each email becomes an .eml file
// in Dir, and its first link is logged so a developer can follow it. The
// link is a secret; this transport is for development only.
type FileMailer struct {
	Dir  string
	Log  *slog.Logger
	From string
}

// Send writes m to Dir as <UTC time>-<id>.eml. The file appears whole or
// not at all: it is written under a temporary name and renamed.
func (f *FileMailer) Send(ctx context.Context, m models.OutboxMessage) error {
	from := f.From
	if from == "" {
		from = DefaultFrom(nil)
	}
	msg, err := composeEmail(from, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return fmt.Errorf("mail folder: %w", err)
	}
	// Not named *.eml until it is whole: whoever watches the folder for
	// *.eml (a developer's tool, a test) never reads half a message.
	tmp, err := os.CreateTemp(f.Dir, ".writing-*.tmp")
	if err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename this finds nothing
	if _, err := msg.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write mail file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	name := filepath.Join(f.Dir, fmt.Sprintf("%s-%d.eml", time.Now().UTC().Format("20060102T150405Z"), m.ID))
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write mail file: %w", err)
	}
	log := f.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "email written", "file", name, "to", m.ToAddress, "subject", m.Subject, "link", firstLink(m.TextBody))
	return nil
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"']+`)

// firstLink finds the first web address in a text body, without the
// punctuation of the sentence it ends.
func firstLink(text string) string {
	return strings.TrimRight(linkPattern.FindString(text), ".,;:!?)]")
}

// composeEmail builds the RFC 5322 message for m: multipart/alternative
// when there is an HTML body. It refuses any header value with a line break
// even though the outbox does too, because a header is the one place where
// such a value turns into an injection.
func composeEmail(from string, m models.OutboxMessage) (*gomail.Msg, error) {
	sender, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ label, value string }{
		{"recipient", m.ToAddress}, {"recipient name", m.ToName}, {"subject", m.Subject},
		{"reply-to", m.ReplyToAddress}, {"reply-to name", m.ReplyToName},
	} {
		if err := models.CheckHeaderValue(f.label, f.value); err != nil {
			return nil, fmt.Errorf("compose email %d: %w", m.ID, err)
		}
	}
	to, err := models.CanonicalEmail(m.ToAddress)
	if err != nil {
		return nil, fmt.Errorf("compose email %d: recipient: %w", m.ID, err)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(sender)
	msg.ToMailAddress(&mail.Address{Name: m.ToName, Address: to})
	msg.Subject(m.Subject)
	// Emails that invite a reply name the person who acted: a reply
	// reaches them rather than the sender, which reads nothing.
	if m.ReplyToAddress != "" {
		replyTo, err := models.CanonicalEmail(m.ReplyToAddress)
		if err != nil {
			return nil, fmt.Errorf("compose email %d: reply-to: %w", m.ID, err)
		}
		msg.ReplyToMailAddress(&mail.Address{Name: m.ReplyToName, Address: replyTo})
	}
	// The same message keeps the same ID on every attempt, so a receiver
	// can recognise the duplicate that at-least-once delivery may produce.
	// The Date is when the change was made, which is what the email
	// reports, however long delivery took.
	date := m.CreatedAt
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetMessageIDWithValue(fmt.Sprintf("switchboard.%d.%d@%s", m.ID, date.UnixNano(), domainOf(sender.Address)))
	msg.SetDateWithValue(date)
	// RFC 3834: no out-of-office replies to a robot.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.TextBody)
	if m.HTMLBody != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTMLBody)
	}
	return msg, nil
}

// domainOf is the domain of an address. It is all the logs say about a
// recipient: enough to spot a failing mail provider, without writing
// people's addresses to the log.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}
