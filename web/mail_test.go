package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// testSMTP is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that keeps
// what it receives. With a user set it requires AUTH PLAIN.
type testSMTP struct {
	Addr       string
	User, Pass string
	received   chan receivedMail

	mu   sync.Mutex
	all  []receivedMail
	srv  *smtp.Server
	done chan struct{}
}

type receivedMail struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

type smtpMode int

const (
	smtpPlain    smtpMode = iota // no TLS at all
	smtpSTARTTLS                 // plain, offering STARTTLS
	smtpImplicit                 // TLS from the first byte (smtps)
)

// startTestSMTP listens on addr ("127.0.0.1:0" for any port) until the test
// ends or stop is called.
func startTestSMTP(t *testing.T, addr string, mode smtpMode, user, pass string, cert *tls.Certificate) *testSMTP {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("smtp listen on %s: %v", addr, err)
	}
	ts := &testSMTP{Addr: l.Addr().String(), User: user, Pass: pass, received: make(chan receivedMail, 100), done: make(chan struct{})}
	ts.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSMTPSession{srv: ts, conn: c}, nil
	}))
	ts.srv.Domain = "localhost"
	ts.srv.AllowInsecureAuth = true // PLAIN on a plain connection, as to a local dev server
	ts.srv.ErrorLog = log.New(io.Discard, "", 0)
	ts.srv.ReadTimeout, ts.srv.WriteTimeout = 30*time.Second, 30*time.Second
	switch mode {
	case smtpSTARTTLS:
		ts.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	case smtpImplicit:
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{*cert}})
	}
	go func() { defer close(ts.done); ts.srv.Serve(l) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testSMTP) stop() {
	ts.srv.Close()
	<-ts.done
}

func (ts *testSMTP) messages() []receivedMail {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]receivedMail(nil), ts.all...)
}

type testSMTPSession struct {
	srv  *testSMTP
	conn *smtp.Conn
	user string
	cur  receivedMail
}

func (s *testSMTPSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *testSMTPSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.User || pass != s.srv.Pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *testSMTPSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.User != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = receivedMail{From: from, User: s.user}
	return nil
}

func (s *testSMTPSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *testSMTPSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	_, s.cur.TLS = s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.all = append(s.srv.all, s.cur)
	s.srv.mu.Unlock()
	s.srv.received <- s.cur
	return nil
}

func (s *testSMTPSession) Reset()        { s.cur = receivedMail{} }
func (s *testSMTPSession) Logout() error { return nil }

// testCert is a self-signed certificate for 127.0.0.1 and the pool that
// trusts it.
func testCert(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchboard test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// parsedEmail is a received message taken apart as a mail client would.
type parsedEmail struct {
	Header      mail.Header
	To          []*mail.Address
	From        *mail.Address
	Subject     string
	ContentType string
	Text, HTML  string
}

func parseEmail(t *testing.T, raw []byte) parsedEmail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	p := parsedEmail{Header: msg.Header}
	if p.To, err = msg.Header.AddressList("To"); err != nil {
		t.Fatalf("To: %v", err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From: %v, %v", from, err)
	}
	p.From = from[0]
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p.ContentType = mediaType
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.Text = readPart(t, msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return p
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		body := readPart(t, part, part.Header.Get("Content-Transfer-Encoding"))
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.Text = body
		case "text/html":
			p.HTML = body
		default:
			t.Fatalf("unexpected part %s", ct)
		}
	}
}

// readPart decodes a body; multipart's reader already undoes
// quoted-printable and drops its header.
func readPart(t *testing.T, r io.Reader, encoding string) string {
	t.Helper()
	if strings.EqualFold(encoding, "base64") {
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read part: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

const testSecretLink = "https://switchboard.example/invite/Zx9_secret-Token"

func testEmail(id uint) models.OutboxMessage {
	return models.OutboxMessage{
		ID: id, Kind: "invitation", ToAddress: "ada@example.com", ToName: "Ada Lovelace",
		Subject:   "Ada, you're invited to Acme — set your password",
		TextBody:  "Bob invited you to Acme.\n\nSet your password: " + testSecretLink + ".\n",
		HTMLBody:  `<p>Bob invited you to Acme.</p><p><a href="` + testSecretLink + `">Set your password</a></p>`,
		CreatedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
	}
}

const testFrom = "Switchboard <no-reply@switchboard.example>"

// checkDelivered asserts what a recipient's mail client would see.
func checkDelivered(t *testing.T, got receivedMail, want models.OutboxMessage) parsedEmail {
	t.Helper()
	if got.From != "no-reply@switchboard.example" || len(got.To) != 1 || got.To[0] != want.ToAddress {
		t.Errorf("envelope from %q to %v", got.From, got.To)
	}
	p := parseEmail(t, got.Data)
	if len(p.To) != 1 || p.To[0].Address != want.ToAddress || p.To[0].Name != want.ToName {
		t.Errorf("To = %v", p.To)
	}
	if p.From.Address != "no-reply@switchboard.example" || p.From.Name != "Switchboard" {
		t.Errorf("From = %v", p.From)
	}
	if p.Subject != want.Subject {
		t.Errorf("Subject = %q, want %q", p.Subject, want.Subject)
	}
	if p.ContentType != "multipart/alternative" {
		t.Errorf("Content-Type = %q, want multipart/alternative", p.ContentType)
	}
	if p.Text != want.TextBody {
		t.Errorf("text part = %q, want %q", p.Text, want.TextBody)
	}
	if p.HTML != want.HTMLBody {
		t.Errorf("HTML part = %q, want %q", p.HTML, want.HTMLBody)
	}
	if id := p.Header.Get("Message-ID"); !regexp.MustCompile(`^<switchboard\.\d+\.\d+@switchboard\.example>$`).MatchString(id) {
		t.Errorf("Message-ID = %q", id)
	}
	if d, err := p.Header.Date(); err != nil || !d.Equal(want.CreatedAt) {
		t.Errorf("Date = %v, %v; want %v", d, err, want.CreatedAt)
	}
	return p
}

func TestSMTPMailer_DeliversMultipartOverRealSMTP(t *testing.T) {
	cert, pool := testCert(t)
	cases := []struct {
		name    string
		mode    smtpMode
		scheme  string
		user    string
		pass    string
		wantTLS bool
	}{
		{"plain without auth", smtpPlain, "smtp", "", "", false},
		{"plain with auth to a local server", smtpPlain, "smtp", "dev", "pw", false},
		{"STARTTLS with auth", smtpSTARTTLS, "smtp", "mailer", "p@ss:w/rd", true},
		{"implicit TLS with auth", smtpImplicit, "smtps", "mailer", "s3cret", true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startTestSMTP(t, "127.0.0.1:0", tc.mode, tc.user, tc.pass, cert)
			u := tc.scheme + "://" + srv.Addr
			if tc.user != "" {
				u = tc.scheme + "://" + url.UserPassword(tc.user, tc.pass).String() + "@" + srv.Addr
			}
			m, err := NewSMTPMailer(u, testFrom)
			if err != nil {
				t.Fatal(err)
			}
			m.TLSConfig = &tls.Config{RootCAs: pool}
			msg := testEmail(uint(i + 1))
			if err := m.Send(context.Background(), msg); err != nil {
				t.Fatalf("send: %v", err)
			}
			got := srv.messages()
			if len(got) != 1 {
				t.Fatalf("server received %d messages, want 1", len(got))
			}
			if got[0].TLS != tc.wantTLS || got[0].User != tc.user {
				t.Errorf("TLS %v (want %v), user %q (want %q)", got[0].TLS, tc.wantTLS, got[0].User, tc.user)
			}
			checkDelivered(t, got[0], msg)
		})
	}
}

// hangUpSMTP is an SMTP server that accepts one message ("250" after its
// data) and then closes the connection without answering anything else,
// as a server restarting or a dropped connection would. It reports the
// messages it accepted.
func hangUpSMTP(t *testing.T) (addr string, accepted chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	accepted = make(chan string, 10)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				say := func(line string) { io.WriteString(conn, line+"\r\n") }
				say("220 hangup.example ESMTP")
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
					case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
						say("250-hangup.example")
						say("250 8BITMIME")
					case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), strings.HasPrefix(cmd, "NOOP"):
						say("250 OK")
					case cmd == "DATA":
						say("354 go ahead")
						var data strings.Builder
						for {
							l, err := r.ReadString('\n')
							if err != nil {
								return
							}
							if l == ".\r\n" {
								break
							}
							data.WriteString(l)
						}
						say("250 2.0.0 accepted")
						accepted <- data.String()
						return // and hang up: no answer to RSET or QUIT
					default:
						say("502 not here")
					}
				}
			}()
		}
	}()
	return l.Addr().String(), accepted
}

// A message the server accepted is sent, whatever happens on the
// connection afterwards: trying it again would deliver it twice.
func TestSMTPMailer_AcceptedThenHungUpIsSent(t *testing.T) {
	addr, accepted := hangUpSMTP(t)
	m, err := NewSMTPMailer("smtp://"+addr, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m.Timeout = 5 * time.Second
	if err := m.Send(context.Background(), testEmail(1)); err != nil {
		t.Errorf("the server accepted the message and hung up; Send says %v, so it would be sent again", err)
	}
	if len(accepted) != 1 {
		t.Errorf("the server accepted %d messages", len(accepted))
	}
	// A server that hangs up before accepting is a failure, retried.
	m, _ = NewSMTPMailer("smtp://"+closedAddr(t), testFrom)
	if err := m.Send(context.Background(), testEmail(2)); err == nil {
		t.Error("nothing listens, yet Send succeeded")
	}
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSMTPMailer_WrongPasswordFails(t *testing.T) {
	cert, pool := testCert(t)
	srv := startTestSMTP(t, "127.0.0.1:0", smtpSTARTTLS, "mailer", "right", cert)
	m, err := NewSMTPMailer("smtp://mailer:wrong@"+srv.Addr, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m.TLSConfig = &tls.Config{RootCAs: pool}
	if err := m.Send(context.Background(), testEmail(1)); err == nil {
		t.Fatal("sent with a wrong password")
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestNewSMTPMailer_ParsesURL(t *testing.T) {
	good := []struct {
		url        string
		addr       string
		implicit   bool
		user, pass string
	}{
		{"smtp://mail.example.com", "mail.example.com:587", false, "", ""},
		{"smtps://mail.example.com", "mail.example.com:465", true, "", ""},
		{"smtp://u:p@mail.example.com:2525", "mail.example.com:2525", false, "u", "p"},
		{"smtp://apikey:p%40ss%3Aw%2Frd@127.0.0.1:1025/", "127.0.0.1:1025", false, "apikey", "p@ss:w/rd"},
	}
	for _, tc := range good {
		m, err := NewSMTPMailer(tc.url, testFrom)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if m.Addr() != tc.addr || m.implicitTLS != tc.implicit || m.user != tc.user || m.pass != tc.pass {
			t.Errorf("%s: addr %s, implicit TLS %v, user %q, pass %q", tc.url, m.Addr(), m.implicitTLS, m.user, m.pass)
		}
	}
	for _, bad := range []string{
		"http://u:s3cret@mail.example.com", "smtp://u:s3cret@", "smtp://u:s3cret@mail.example.com:0",
		"smtp://u:s3cret@mail.example.com:99999", "smtp://u:s3cret@mail.example.com/inbox",
		"smtp://u:s3cret@mail.example.com?tls=off", "smtp://u:s3cret@mail example.com", "mail.example.com",
		"smtp:u:s3cret@mail.example.com",
	} {
		_, err := NewSMTPMailer(bad, testFrom)
		if err == nil {
			t.Errorf("%s: accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error repeats the password: %v", bad, err)
		}
	}
	if _, err := NewSMTPMailer("smtp://mail.example.com", "Switchboard <no-reply@example.com>\r\nBcc: eve@example.com"); err == nil {
		t.Error("a sender with a line break was accepted")
	}
}

func TestNewMailer_PicksTransport(t *testing.T) {
	if m, err := NewMailer("smtp://mail.example.com", "mail", testFrom, nil); err != nil {
		t.Error(err)
	} else if _, ok := m.(*SMTPMailer); !ok {
		t.Errorf("with an SMTP URL: %T", m)
	}
	dir := t.TempDir()
	if m, err := NewMailer("", dir, testFrom, nil); err != nil {
		t.Error(err)
	} else if f, ok := m.(*FileMailer); !ok || f.Dir != dir || f.From != testFrom {
		t.Errorf("with a folder: %#v", m)
	}
	if _, err := NewMailer("", "", testFrom, nil); err == nil {
		t.Error("no transport at all was accepted")
	}
	if _, err := NewMailer("", dir, "not an address", nil); err == nil {
		t.Error("a bad sender was accepted")
	}
}

func TestDefaultFrom(t *testing.T) {
	for base, want := range map[string]string{
		"https://Console.Example.com": "Switchboard <no-reply@console.example.com>",
		"http://127.0.0.1:8080":       "Switchboard <no-reply@127.0.0.1>",
		"http://[::1]:8080":           "Switchboard <no-reply@localhost>",
	} {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		got := DefaultFrom(u)
		if got != want {
			t.Errorf("DefaultFrom(%s) = %q, want %q", base, got, want)
		}
		if _, err := mail.ParseAddress(got); err != nil {
			t.Errorf("DefaultFrom(%s) = %q does not parse: %v", base, got, err)
		}
	}
}

func TestFileMailer_WritesEMLAndLogsLink(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail") // not there yet
	var logs syncBuffer
	f := &FileMailer{Dir: dir, Log: slog.New(slog.NewTextHandler(&logs, nil)), From: testFrom}
	msg := testEmail(42)
	if err := f.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || !regexp.MustCompile(`^\d{8}T\d{6}Z-42\.eml$`).MatchString(entries[0].Name()) {
		t.Fatalf("mail folder holds %v, want one <UTC time>-42.eml", entries)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("mail folder mode %v, %v; want 0700", info.Mode().Perm(), err)
	}
	path := filepath.Join(dir, entries[0].Name())
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, receivedMail{From: "no-reply@switchboard.example", To: []string{"ada@example.com"}, Data: raw}, msg)

	line := logs.String()
	for _, want := range []string{"email written", "file=" + path, "to=ada@example.com"} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}
	// The link, without the full stop of the sentence it ends.
	if m := regexp.MustCompile(`link=(\S+)`).FindStringSubmatch(line); m == nil || m[1] != testSecretLink {
		t.Errorf("log %q: want link=%s", line, testSecretLink)
	}
}

func TestFirstLink(t *testing.T) {
	for text, want := range map[string]string{
		"Open https://a.example/x/y?z=1.":           "https://a.example/x/y?z=1",
		"(see http://a.example/p) or https://b.ex":  "http://a.example/p",
		"no link here, just ftp://a.example":        "",
		"<https://a.example/invite/abc>":            "https://a.example/invite/abc",
		"Link:\nhttps://a.example/invite/abc\nThen": "https://a.example/invite/abc",
	} {
		if got := firstLink(text); got != want {
			t.Errorf("firstLink(%q) = %q, want %q", text, got, want)
		}
	}
}

// A line break in a subject, a recipient's name or address must never reach
// a header: the outbox refuses it, and the mailers refuse it again in case
// a message got in some other way.
func TestMail_LineBreaksNeverReachAHeader(t *testing.T) {
	cert, _ := testCert(t)
	srv := startTestSMTP(t, "127.0.0.1:0", smtpPlain, "", "", cert)
	smtpMailer, err := NewSMTPMailer("smtp://"+srv.Addr, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fileMailer := &FileMailer{Dir: dir, Log: slog.New(slog.DiscardHandler), From: testFrom}
	store := modelstest.Open(t)

	cases := []struct {
		name string
		edit func(m *models.OutboxMessage)
	}{
		{"CRLF in subject", func(m *models.OutboxMessage) { m.Subject = "Hello\r\nBcc: eve@example.com" }},
		{"LF in subject", func(m *models.OutboxMessage) { m.Subject = "Hello\nBcc: eve@example.com" }},
		{"CR in subject", func(m *models.OutboxMessage) { m.Subject = "Hello\rBcc: eve@example.com" }},
		{"CRLF in recipient name", func(m *models.OutboxMessage) { m.ToName = "Ada\r\nBcc: eve@example.com" }},
		{"LF in recipient name", func(m *models.OutboxMessage) { m.ToName = "Ada\n\n<html>" }},
		{"CRLF in recipient", func(m *models.OutboxMessage) { m.ToAddress = "ada@example.com\r\nBcc: eve@example.com" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := testEmail(7)
			msg.ID = 0
			tc.edit(&msg)
			if err := store.EnqueueEmail(context.Background(), &msg); err == nil {
				t.Error("the outbox accepted it")
			}
			msg.ID = 7
			if err := smtpMailer.Send(context.Background(), msg); err == nil {
				t.Error("the SMTP mailer sent it")
			}
			if err := fileMailer.Send(context.Background(), msg); err == nil {
				t.Error("the file mailer wrote it")
			}
		})
	}
	var n int64
	if err := store.DB().Model(&models.OutboxMessage{}).Count(&n).Error; err != nil || n != 0 {
		t.Errorf("outbox holds %d messages (%v), want none", n, err)
	}
	if got := srv.messages(); len(got) != 0 {
		t.Errorf("the SMTP server received %d messages", len(got))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the mail folder holds %v", entries)
	}
}
