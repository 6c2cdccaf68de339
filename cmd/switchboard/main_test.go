package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// TestMain lets a test start this very binary as the real program: with
// SWITCHBOARD_TEST_MAIN=1 it runs main (which exits) instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHBOARD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is stdout or stderr of a program tests read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a fake environment for run's getenv.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// freeAddr is a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts finds n different loopback addresses nothing listens on, for
// servers the tests start as their own processes and must name in advance.
// The ports come from below the kernel's ephemeral range (32768 and up on
// Linux): an address picked with port 0 is free only until it is closed,
// and then any parallel test's outgoing connection or port-0 listener can
// be given it before the server binds it (a CI run failed so). Nothing is
// handed a port below that range unless it asks for it by number. All are
// held until the last is found, so none comes up twice.
func freePorts(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for tries := 0; len(out) < n; tries++ {
		if tries == 1000 {
			t.Fatalf("found only %d free loopback ports of %d", len(out), n)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err != nil {
			continue
		}
		defer l.Close()
		out = append(out, l.Addr().String())
	}
	return out
}

// counts is how many accounts, companies, memberships and logins a
// database holds.
type counts struct{ accounts, companies, memberships, logins int64 }

func countRows(t *testing.T, db string) counts {
	t.Helper()
	store, err := models.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	defer store.Close()
	var c counts
	for _, q := range []struct {
		model any
		n     *int64
	}{{&models.Account{}, &c.accounts}, {&models.Company{}, &c.companies}, {&models.Membership{}, &c.memberships}, {&models.Login{}, &c.logins}} {
		if err := store.DB().Model(q.model).Count(q.n).Error; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// bootstrapCmd runs `switchboard bootstrap` and returns its output.
func bootstrapCmd(t *testing.T, db string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"bootstrap", "--db", db}, args...), env(nil), &out, &errOut)
	return out.String(), errOut.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// server is a running `switchboard serve`.
type server struct {
	t      *testing.T
	addr   string
	stdout *syncBuffer
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
	client *http.Client
}

// startServe starts `switchboard serve` with args and environment, and waits
// until addr answers /healthz.
func startServe(t *testing.T, addr string, vars map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	jar, _ := cookiejar.New(nil)
	s := &server{t: t, addr: addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1),
		client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	go func() { s.done <- run(ctx, append([]string{"serve"}, args...), env(vars), s.stdout, s.stderr) }()
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("serve stopped before answering on %s: %v\n%s", addr, err, s.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /healthz on %s within a minute:\n%s", addr, s.stderr.String())
		}
	}
}

// stop shuts the server down and checks that it stopped cleanly.
func (s *server) stop() {
	s.t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("serve returned %v\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		s.t.Error("serve did not stop within 30s of its context ending")
	}
}

// get fetches a path and returns status and body, remembering cookies.
func (s *server) get(path string) (int, string) {
	s.t.Helper()
	resp, err := s.client.Get("http://" + s.addr + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// submit fetches the form at path and posts it back with its CSRF token
// and the given fields, as a browser would.
func (s *server) submit(path string, form url.Values, header http.Header) *http.Response {
	s.t.Helper()
	status, body := s.get(path)
	token := inputValue(csrfInput, []byte(body))
	if status != http.StatusOK || token == "" {
		s.t.Fatalf("GET %s: status %d, no form:\n%.500s", path, status, body)
	}
	form.Set("_csrf", token)
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

const testPassword = "correct-staple-lamp-orbit"

// TestBootstrap_PrintsAWorkingSetPasswordLink is the contract of the
// bootstrap command: success, the link as the last line of stdout, built
// from --base-url, and a link that gets the new Admin in.
func TestBootstrap_PrintsAWorkingSetPasswordLink(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sb.db")
	out, errOut, err := bootstrapCmd(t, db, "--account", "Acme Calls", "--email", "Ada@Example.com",
		"--first", "Ada", "--last", "Lovelace", "--time-zone", "Europe/London", "--base-url", "https://console.example.test/")
	if err != nil {
		t.Fatalf("bootstrap: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	link := lastLine(out)
	if !regexp.MustCompile(`^https://console\.example\.test/invite/[A-Za-z0-9_-]{43}$`).MatchString(link) {
		t.Fatalf("last line of stdout is %q, want a set-password link on the --base-url\n%s", link, out)
	}
	if !strings.Contains(out, "7 days") || strings.Contains(out, "h0m0s") {
		t.Errorf("bootstrap should say how long the link works, in words:\n%s", out)
	}
	if got := countRows(t, db); got != (counts{accounts: 1, companies: 1, memberships: 1, logins: 0}) {
		t.Errorf("after bootstrap: %+v", got)
	}

	addr := freeAddr(t)
	s := startServe(t, addr, nil, "--db", db, "--addr", addr, "--mail-dir", t.TempDir())
	if strings.Contains(s.stdout.String(), "/setup/") {
		t.Errorf("serve printed a setup link although the database has an account:\n%s", s.stdout.String())
	}
	u, _ := url.Parse(link)
	status, body := s.get(u.Path)
	if status != http.StatusOK || !strings.Contains(body, "Acme Calls") {
		t.Fatalf("GET the printed link: status %d\n%.600s", status, body)
	}
	resp := s.submit(u.Path, url.Values{"password": {testPassword}, "confirm": {testPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setting the password: status %d", resp.StatusCode)
	}
	status, body = s.get("/users")
	if status != http.StatusOK || !strings.Contains(body, "ada@example.com") || !strings.Contains(body, "Log out") {
		t.Fatalf("after setting the password, /users: status %d\n%.600s", status, body)
	}
	s.stop()

	// The Admin now has a login: bootstrapping that address again is
	// refused, by name, and writes nothing.
	before := countRows(t, db)
	out, _, err = bootstrapCmd(t, db, "--account", "Acme Calls", "--email", "ada@example.com", "--first", "Ada", "--last", "Lovelace")
	if err == nil || !strings.Contains(err.Error(), "ada@example.com") || !strings.Contains(err.Error(), "login") {
		t.Errorf("bootstrap for an address with a login: err %v, want a refusal naming the address", err)
	}
	if out != "" {
		t.Errorf("a refused bootstrap printed %q", out)
	}
	if after := countRows(t, db); after != before {
		t.Errorf("a refused bootstrap wrote: %+v, then %+v", before, after)
	}
}

// An operator who lost the link (or met the old bug that never printed
// it) runs the same command again: a new link for the same account, not a
// second account, and the old link stops working.
func TestBootstrap_RunAgainReplacesTheLinkInsteadOfASecondAccount(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sb.db")
	args := []string{"--account", "Acme Calls", "--email", "ada@example.com", "--first", "Ada", "--last", "Lovelace", "--base-url", "http://sb.example.test"}
	first, _, err := bootstrapCmd(t, db, args...)
	if err != nil {
		t.Fatal(err)
	}
	before := countRows(t, db)
	second, _, err := bootstrapCmd(t, db, args...)
	if err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	if after := countRows(t, db); after != before {
		t.Errorf("running bootstrap again created rows: %+v, then %+v", before, after)
	}
	if !strings.Contains(second, "already exists") || lastLine(second) == lastLine(first) {
		t.Errorf("second run printed:\n%s", second)
	}
	addr := freeAddr(t)
	s := startServe(t, addr, nil, "--db", db, "--addr", addr, "--mail-dir", t.TempDir())
	old, _ := url.Parse(lastLine(first))
	if status, _ := s.get(old.Path); status != http.StatusGone {
		t.Errorf("the replaced link answers %d, want 410", status)
	}
	fresh, _ := url.Parse(lastLine(second))
	if status, _ := s.get(fresh.Path); status != http.StatusOK {
		t.Errorf("the new link answers %d, want 200", status)
	}
}

func TestBootstrap_RefusesBadInputAndWritesNothing(t *testing.T) {
	ok := map[string]string{"--account": "Acme Calls", "--email": "ada@example.com", "--first": "Ada", "--last": "Lovelace"}
	for _, c := range []struct {
		name   string
		change map[string]string
		want   []string
	}{
		{"no account", map[string]string{"--account": ""}, []string{"missing --account"}},
		{"no email, no names", map[string]string{"--email": "", "--first": "", "--last": ""}, []string{"--email", "--first", "--last"}},
		{"blank account", map[string]string{"--account": "   "}, []string{"missing --account"}},
		{"bad email", map[string]string{"--email": "ada@"}, []string{"--email:", "email address"}},
		{"display name", map[string]string{"--email": "Ada <ada@example.com>"}, []string{"--email:"}},
		{"long first name", map[string]string{"--first": strings.Repeat("a", models.MaxNameLength+1)}, []string{"--first:", "at most 100"}},
		{"long account", map[string]string{"--account": strings.Repeat("a", models.MaxCompanyLength+1)}, []string{"--account:", "at most 120"}},
		{"unknown time zone", map[string]string{"--time-zone": "Mars/Olympus"}, []string{"--time-zone:"}},
		{"control character", map[string]string{"--last": "Love\x00lace"}, []string{"--last:"}},
		{"bad base URL", map[string]string{"--base-url": "ftp://x"}, []string{"--base-url"}},
		{"extra argument", map[string]string{"extra": ""}, []string{`unexpected argument "extra"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "sb.db")
			args := []string{}
			for k, v := range ok {
				if nv, changed := c.change[k]; changed {
					v = nv
				}
				args = append(args, k, v)
			}
			for k, v := range c.change {
				if _, known := ok[k]; !known {
					if strings.HasPrefix(k, "--") {
						args = append(args, k, v)
					} else {
						args = append(args, k)
					}
				}
			}
			out, _, err := bootstrapCmd(t, db, args...)
			if err == nil {
				t.Fatalf("bootstrap %q succeeded:\n%s", args, out)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if out != "" {
				t.Errorf("printed %q", out)
			}
			if _, statErr := os.Stat(db); statErr == nil {
				if got := countRows(t, db); got != (counts{}) {
					t.Errorf("wrote %+v", got)
				}
			}
		})
	}
}

// TestMain_ExitStatus runs the real binary: 0 on success, not 0 on failure.
func TestMain_ExitStatus(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sb.db")
	for _, c := range []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"bootstrap", "--db", db, "--account", "Acme", "--email", "ada@example.com", "--first", "Ada", "--last", "L", "--base-url", "http://sb.example.test"}, 0, "http://sb.example.test/invite/", ""},
		{[]string{"bootstrap", "--db", db, "--account", "Beta", "--email", "ada@example.com"}, 1, "", "missing --first, --last"},
		{[]string{"bootstrap", "--db", db, "--account", "Beta", "--email", "nope", "--first", "A", "--last", "B"}, 1, "", "--email:"},
		{[]string{"frobnicate"}, 1, "", `unknown command "frobnicate"`},
		{[]string{"help"}, 0, "Usage: switchboard", ""},
		{[]string{"bootstrap", "-h"}, 0, "", "-account"},
	} {
		cmd := exec.Command(os.Args[0], c.args...)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_MAIN=1")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if code != c.wantCode || !strings.Contains(out.String(), c.wantOut) || !strings.Contains(errOut.String(), c.wantErr) {
			t.Errorf("switchboard %q: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				c.args, code, out.String(), errOut.String(), c.wantCode, c.wantOut, c.wantErr)
		}
		if c.wantCode == 0 && c.wantOut == "http://sb.example.test/invite/" && !strings.HasPrefix(lastLine(out.String()), c.wantOut) {
			t.Errorf("the link is not the last line:\n%s", out.String())
		}
	}
}

// TestServe_SetupLinkOnlyOnAnEmptyDatabase: the first start prints a
// working one-time link, in words people use; a database with an account
// prints none.
func TestServe_SetupLinkOnlyOnAnEmptyDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sb.db")
	addr := freeAddr(t)
	s := startServe(t, addr, nil, "--db", db, "--addr", addr, "--mail-dir", dir)
	out := s.stdout.String()
	link := regexp.MustCompile(`http://` + regexp.QuoteMeta(addr) + `/setup/[A-Za-z0-9_-]{43}`).FindString(out)
	if link == "" || !strings.Contains(out, "valid for 24 hours") || strings.Contains(out, "24h0m0s") {
		t.Fatalf("serve on an empty database printed:\n%s", out)
	}
	u, _ := url.Parse(link)
	if status, _ := s.get(u.Path); status != http.StatusOK {
		t.Errorf("the setup link answers %d", status)
	}
	resp := s.submit(u.Path, url.Values{"account_name": {"Acme Calls"}, "company_name": {"Acme Plumbing"}, "time_zone": {"UTC"},
		"first_name": {"Ada"}, "last_name": {"Admin"}, "email": {"ada@example.com"}, "password": {testPassword}, "confirm": {testPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: status %d", resp.StatusCode)
	}
	s.stop()

	again := startServe(t, addr, nil, "--db", db, "--addr", addr, "--mail-dir", dir)
	if out := again.stdout.String(); strings.Contains(out, "/setup/") {
		t.Errorf("serve on a set-up database printed a setup link:\n%s", out)
	}
}

func TestServe_RefusesBadSettings(t *testing.T) {
	for _, args := range [][]string{
		{"--base-url", "javascript:alert(1)"},
		{"--trusted-proxies", "10.0.0.0/33"},
		{"--smtp", "http://mail.example.test"},
		{"--addr", "127.0.0.1:99999"},
		{"stray"},
	} {
		var out, errOut bytes.Buffer
		db := filepath.Join(t.TempDir(), "sb.db")
		// Were it to start, it would serve until the deadline and then
		// return nil.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := run(ctx, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, args...), env(nil), &out, &errOut); err == nil {
			t.Errorf("serve %q started", args)
		}
		cancel()
	}
}

// withAccount makes a database with an account whose Admin ada@example.com
// has testPassword.
func withAccount(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	store, err := models.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	secret, err := store.IssueSetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CompleteSetup(ctx, secret, models.SetupInput{AccountName: "Acme Calls", CompanyName: "Acme Plumbing", TimeZone: "UTC",
		FirstName: "Ada", LastName: "Admin", Email: "ada@example.com", Password: testPassword, Confirm: testPassword}); err != nil {
		t.Fatal(err)
	}
}

// askForReset makes the server write an email (a password reset link).
func (s *server) askForReset() {
	s.t.Helper()
	resp := s.submit("/password/forgot", url.Values{"email": {"ada@example.com"}}, nil)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("forgot password: status %d", resp.StatusCode)
	}
}

// waitForEML waits for an .eml file in dir and returns its text.
func waitForEML(t *testing.T, dir string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) > 0 {
			raw, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			return emailText(t, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no .eml file appeared in %s", dir)
	return ""
}

// emailText is the plain-text part of a message, decoded.
func emailText(t *testing.T, raw []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse email: %v", err)
	}
	mediaType, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	decode := func(r io.Reader, enc string) string {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, _ := io.ReadAll(r)
		return string(b)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return decode(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/plain") {
			return decode(part, "") // multipart's reader undoes quoted-printable
		}
	}
}

// smtpSink is a real SMTP server that keeps what it receives.
type smtpSink struct {
	addr     string
	received chan []byte
}

func startSMTP(t *testing.T) *smtpSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &smtpSink{addr: l.Addr().String(), received: make(chan []byte, 10)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sink}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return sink
}

type sinkSession struct{ sink *smtpSink }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err == nil {
		s.sink.received <- b
	}
	return err
}
func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

// TestServe_EachSettingFromFlagOrEnvironment checks every setting of the
// contract both ways: the environment variable works, and a flag given
// on the command line wins over it. Each is judged by its effect.
func TestServe_EachSettingFromFlagOrEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server a dozen times")
	}
	t.Run("addr", func(t *testing.T) {
		envAddr, flagAddr := freeAddr(t), freeAddr(t)
		dir := t.TempDir()
		s := startServe(t, envAddr, map[string]string{"SWITCHBOARD_ADDR": envAddr}, "--db", filepath.Join(dir, "a.db"), "--mail-dir", dir)
		s.stop()
		startServe(t, flagAddr, map[string]string{"SWITCHBOARD_ADDR": envAddr}, "--addr", flagAddr, "--db", filepath.Join(dir, "a.db"), "--mail-dir", dir)
		if resp, err := http.Get("http://" + envAddr + "/healthz"); err == nil {
			resp.Body.Close()
			t.Errorf("the server also answers on the environment's address %s", envAddr)
		}
	})

	t.Run("db", func(t *testing.T) {
		dir := t.TempDir()
		envDB, flagDB := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
		addr := freeAddr(t)
		startServe(t, addr, map[string]string{"DATABASE_URL": envDB}, "--addr", addr, "--mail-dir", dir).stop()
		if _, err := os.Stat(envDB); err != nil {
			t.Errorf("DATABASE_URL: %v", err)
		}
		os.Remove(envDB)
		startServe(t, addr, map[string]string{"DATABASE_URL": envDB}, "--addr", addr, "--db", flagDB, "--mail-dir", dir).stop()
		if _, err := os.Stat(flagDB); err != nil {
			t.Errorf("--db: %v", err)
		}
		if _, err := os.Stat(envDB); err == nil {
			t.Error("--db was given, yet DATABASE_URL's file was created")
		}
	})

	t.Run("db postgres", func(t *testing.T) {
		dsn := modelstest.PostgresURL(t)
		dir := t.TempDir()
		addr := freeAddr(t)
		vars := map[string]string{"DATABASE_URL": dsn}
		setupLinks := func() int64 {
			store, err := models.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var n int64
			store.DB().Model(&models.Token{}).Where("purpose = ?", models.PurposeSetup).Count(&n)
			return n
		}
		// The environment alone: PostgreSQL, where first start leaves its
		// setup link.
		s := startServe(t, addr, vars, "--addr", addr, "--mail-dir", dir)
		s.stop()
		if !strings.Contains(s.stdout.String(), "/setup/") || setupLinks() != 1 {
			t.Fatalf("DATABASE_URL=postgres://…: printed\n%s\nand the schema holds %d setup links", s.stdout.String(), setupLinks())
		}
		// A flag wins: an SQLite file, and PostgreSQL is left alone (a
		// second first start there would have issued another link).
		file := filepath.Join(dir, "flag.db")
		startServe(t, addr, vars, "--addr", addr, "--db", file, "--mail-dir", dir).stop()
		if _, err := os.Stat(file); err != nil {
			t.Errorf("--db: %v", err)
		}
		if n := setupLinks(); n != 1 {
			t.Errorf("--db was given, yet the PostgreSQL schema was used too (%d setup links)", n)
		}
	})

	t.Run("base-url", func(t *testing.T) {
		dir := t.TempDir()
		addr := freeAddr(t)
		vars := map[string]string{"SWITCHBOARD_BASE_URL": "http://env.example.test"}
		s := startServe(t, addr, vars, "--addr", addr, "--db", filepath.Join(dir, "1.db"), "--mail-dir", dir)
		s.stop()
		if out := s.stdout.String(); !strings.Contains(out, "http://env.example.test/setup/") {
			t.Errorf("SWITCHBOARD_BASE_URL: printed\n%s", out)
		}
		s = startServe(t, addr, vars, "--addr", addr, "--db", filepath.Join(dir, "2.db"), "--mail-dir", dir, "--base-url", "https://flag.example.test/")
		s.stop()
		if out := s.stdout.String(); !strings.Contains(out, "https://flag.example.test/setup/") || strings.Contains(out, "env.example.test") {
			t.Errorf("--base-url: printed\n%s", out)
		}
	})

	t.Run("mail-dir", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "sb.db")
		withAccount(t, db)
		envDir, flagDir := filepath.Join(dir, "env-mail"), filepath.Join(dir, "flag-mail")
		addr := freeAddr(t)
		vars := map[string]string{"SWITCHBOARD_MAIL_DIR": envDir}
		s := startServe(t, addr, vars, "--addr", addr, "--db", db, "--base-url", "http://mail.example.test")
		s.askForReset()
		if text := waitForEML(t, envDir); !strings.Contains(text, "http://mail.example.test/password/reset/") {
			t.Errorf("the email's link is not on the base URL:\n%s", text)
		}
		s.stop()
		os.RemoveAll(envDir)
		s = startServe(t, addr, vars, "--addr", addr, "--db", db, "--mail-dir", flagDir)
		s.askForReset()
		if text := waitForEML(t, flagDir); !strings.Contains(text, "http://"+addr+"/password/reset/") {
			t.Errorf("without --base-url the email's link should be on http://ADDR:\n%s", text)
		}
		s.stop()
		if _, err := os.Stat(envDir); err == nil {
			t.Error("--mail-dir was given, yet mail went to SWITCHBOARD_MAIL_DIR too")
		}
	})

	t.Run("smtp", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "sb.db")
		withAccount(t, db)
		envSMTP, flagSMTP := startSMTP(t), startSMTP(t)
		addr := freeAddr(t)
		vars := map[string]string{"SMTP_URL": "smtp://" + envSMTP.addr, "SWITCHBOARD_MAIL_DIR": filepath.Join(dir, "mail")}
		s := startServe(t, addr, vars, "--addr", addr, "--db", db)
		s.askForReset()
		select {
		case raw := <-envSMTP.received:
			if text := emailText(t, raw); !strings.Contains(text, "/password/reset/") {
				t.Errorf("SMTP_URL: unexpected email:\n%s", text)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("SMTP_URL: nothing delivered")
		}
		s.stop()
		s = startServe(t, addr, vars, "--addr", addr, "--db", db, "--smtp", "smtp://"+flagSMTP.addr)
		s.askForReset()
		select {
		case <-flagSMTP.received:
		case <-time.After(30 * time.Second):
			t.Fatal("--smtp: nothing delivered")
		}
		s.stop()
		select {
		case <-envSMTP.received:
			t.Error("--smtp was given, yet SMTP_URL's server got mail too")
		default:
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml")); len(files) > 0 {
			t.Error("with SMTP configured, mail was also written to the mail folder")
		}
	})

	t.Run("trusted-proxies", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "sb.db")
		withAccount(t, db)
		addr := freeAddr(t)
		vars := map[string]string{"SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.1/32"}
		// This test's client is at 127.0.0.1: the environment's list
		// makes it a proxy whose X-Forwarded-For is believed; the flag's
		// list does not, whatever the environment says.
		for _, c := range []struct {
			args   []string
			wantIP string
		}{
			{nil, "203.0.113.9"},
			{[]string{"--trusted-proxies", "192.0.2.0/24"}, "127.0.0.1"},
		} {
			s := startServe(t, addr, vars, append([]string{"--addr", addr, "--db", db, "--mail-dir", dir}, c.args...)...)
			resp := s.submit("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}},
				http.Header{"X-Forwarded-For": {"203.0.113.9"}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: status %d", resp.StatusCode)
			}
			s.stop()
			if got := lastSessionIP(t, db); got != c.wantIP {
				t.Errorf("trusted proxies %v (env %s): the session's address is %q, want %q", c.args, vars["SWITCHBOARD_TRUSTED_PROXIES"], got, c.wantIP)
			}
		}
	})
}

func lastSessionIP(t *testing.T, db string) string {
	t.Helper()
	store, err := models.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var s models.Session
	if err := store.DB().Order("id DESC").Take(&s).Error; err != nil {
		t.Fatalf("no session: %v", err)
	}
	return s.IP
}
