package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"switchboard/models"
)

// lockedBuffer collects what the program writes while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// waitHTTP polls url until it answers 200; the limit catches a hang.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200 (last: %v)", url, err)
		}
	}
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// serving is the real program serving in this process.
type serving struct {
	addr   string
	stderr *lockedBuffer
	stop   func() error
}

func startServing(t *testing.T, args []string, env map[string]string) *serving {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	args = append([]string{"serve", "--addr", addr, "--db", filepath.Join(dir, "sb.db"), "--mail-dir", filepath.Join(dir, "mail")}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{addr: addr, stderr: &lockedBuffer{}}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, envFunc(env), io.Discard, s.stderr) }()
	stopped := false
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { s.stop() })
	waitHTTP(t, "http://"+addr+"/healthz")
	return s
}

// --metrics-addr and SWITCHBOARD_METRICS_ADDR; the flag wins; the console's
// own address never serves /metrics.
func TestServe_MetricsAddr(t *testing.T) {
	envAddr, flagAddr := freePort(t), freePort(t)
	s := startServing(t, nil, map[string]string{"SWITCHBOARD_METRICS_ADDR": envAddr})
	waitHTTP(t, "http://"+envAddr+"/metrics")
	if code := httpStatus("http://" + s.addr + "/metrics"); code != http.StatusNotFound {
		t.Errorf("the console's address answered /metrics with %d", code)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s = startServing(t, []string{"--metrics-addr", flagAddr}, map[string]string{"SWITCHBOARD_METRICS_ADDR": envAddr})
	waitHTTP(t, "http://"+flagAddr+"/metrics")
	if code := httpStatus("http://" + envAddr + "/metrics"); code != 0 {
		t.Errorf("the variable's address answered %d although the flag won", code)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	// Off by default.
	s = startServing(t, nil, nil)
	if !strings.Contains(s.stderr.String(), "switchboard listening") || strings.Contains(s.stderr.String(), "metrics listening") {
		t.Errorf("metrics listened without being asked:\n%s", s.stderr)
	}
}

// --log-format and SWITCHBOARD_LOG_FORMAT; the flag wins; a request's lines
// carry its ID.
func TestServe_LogFormat(t *testing.T) {
	s := startServing(t, nil, map[string]string{"SWITCHBOARD_LOG_FORMAT": "json"})
	resp, err := http.Get("http://" + s.addr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-ID")
	s.stop()
	sawRequest := false
	sc := bufio.NewScanner(strings.NewReader(s.stderr.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("SWITCHBOARD_LOG_FORMAT=json wrote a line that is not JSON: %s", sc.Text())
		}
		if line["msg"] == "request" && line["path"] == "/login" {
			sawRequest = line["request_id"] == id && id != ""
		}
	}
	if !sawRequest {
		t.Errorf("no JSON request line with request_id %q:\n%s", id, s.stderr)
	}

	s = startServing(t, []string{"--log-format", "text"}, map[string]string{"SWITCHBOARD_LOG_FORMAT": "json"})
	s.stop()
	if out := s.stderr.String(); strings.HasPrefix(out, "{") || !strings.Contains(out, "msg=\"switchboard listening\"") {
		t.Errorf("--log-format text lost to the variable:\n%s", out)
	}

	err = run(context.Background(), []string{"serve", "--log-format", "xml"}, envFunc(nil), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("--log-format xml: %v", err)
	}
}

// seedDatabase makes an SQLite database holding one job per key.
func seedDatabase(t *testing.T, path string, keys ...string) {
	t.Helper()
	s, err := models.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range keys {
		if _, _, err := s.EnqueueJob(context.Background(), models.NewJob{Kind: "marker", Key: k}); err != nil {
			t.Fatal(err)
		}
	}
}

func markers(t *testing.T, path string) []string {
	t.Helper()
	s, err := models.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var keys []string
	if err := s.DB().Model(&models.Job{}).Where("kind = ?", "marker").Order("job_key").Pluck("job_key", &keys).Error; err != nil {
		t.Fatal(err)
	}
	return keys
}

// backup takes the database from --db or DATABASE_URL; the flag wins.
func TestBackup_Command(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.db")
	seedDatabase(t, real, "a")
	var out bytes.Buffer
	env := envFunc(map[string]string{"DATABASE_URL": real})
	if err := run(context.Background(), []string{"backup", filepath.Join(dir, "one.db")}, env, &out, io.Discard); err != nil {
		t.Fatalf("backup with DATABASE_URL: %v", err)
	}
	if !strings.Contains(out.String(), "one.db") {
		t.Errorf("output: %s", out.String())
	}
	env = envFunc(map[string]string{"DATABASE_URL": filepath.Join(dir, "missing.db")})
	if err := run(context.Background(), []string{"backup", "--db", real, filepath.Join(dir, "two.db")}, env, io.Discard, io.Discard); err != nil {
		t.Fatalf("backup with --db over DATABASE_URL: %v", err)
	}
	for _, f := range []string{"one.db", "two.db"} {
		if got := markers(t, filepath.Join(dir, f)); len(got) != 1 || got[0] != "a" {
			t.Errorf("%s holds %v", f, got)
		}
	}
	if err := run(context.Background(), []string{"backup"}, envFunc(nil), io.Discard, io.Discard); err == nil {
		t.Error("backup without a file succeeded")
	}
	if err := run(context.Background(), []string{"backup", filepath.Join(dir, "one.db")}, envFunc(map[string]string{"DATABASE_URL": real}), io.Discard, io.Discard); err == nil {
		t.Error("backup overwrote an existing file")
	}
}

// The restore steps of the README, run as written: the database comes back
// as it was at the backup.
func TestBackup_RestoreAsREADMESays(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- restore steps -->\\s*```sh\\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("the README has no restore steps after <!-- restore steps -->")
	}
	steps := string(m[1])
	dir := t.TempDir()
	live := filepath.Join(dir, "switchboard.db")
	seedDatabase(t, live, "before")
	backupFile := regexp.MustCompile(`switchboard backup (\S+)`).FindStringSubmatch(string(readme))
	if backupFile == nil {
		t.Fatal("the README does not show `switchboard backup FILE`")
	}
	if err := run(context.Background(), []string{"backup", "--db", live, filepath.Join(dir, backupFile[1])}, envFunc(nil), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	seedDatabase(t, live, "after")
	cmd := exec.Command("sh", "-e", "-c", steps)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's restore steps failed: %v\n%s\n%s", err, steps, out)
	}
	if got := markers(t, live); len(got) != 1 || got[0] != "before" {
		t.Errorf("after the restore the database holds %v, want what the backup held", got)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the program once for the tests that run it as a process.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "switchboard")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// SIGTERM lets a request under way finish, hands back the email being sent
// (due at once, nothing counted against it), and exits cleanly.
func TestServe_GracefulShutdown(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "sb.db")
	s, err := models.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueEmail(context.Background(), &models.OutboxMessage{Kind: "notice", ToAddress: "ada@example.com",
		Subject: "Hello", TextBody: "Hello."}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// An SMTP server that accepts the connection and then says nothing:
	// the email stays mid-send.
	smtpL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer smtpL.Close()
	smtpConn := make(chan net.Conn, 1)
	go func() {
		if c, err := smtpL.Accept(); err == nil {
			smtpConn <- c
		}
	}()

	addr := freePort(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", db, "--smtp", "smtp://"+smtpL.Addr().String())
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitHTTP(t, "http://"+addr+"/readyz")
	var held net.Conn
	select {
	case held = <-smtpConn:
		defer held.Close()
	case <-time.After(60 * time.Second):
		t.Fatalf("the email was never sent:\n%s", stderr.String())
	}

	// A request under way: its headers are in, half its body is not.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "email=ada%40example.com&password=x"
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
		addr, len(body), body[:10])
	time.Sleep(200 * time.Millisecond)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Shutting down: no new connections, while the request under way is
	// still waited for.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err != nil {
			break
		} else {
			c.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections after SIGTERM")
		}
	}
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request under way got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode == 0 {
		t.Errorf("status %d", resp.StatusCode)
	}
	// The mail server goes away too; the send ends.
	held.Close()

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Fatalf("exit: %v\n%s", err, stderr.String())
			}
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not exit after SIGTERM:\n%s", stderr.String())
	}

	s, err = models.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var m models.OutboxMessage
	if err := s.DB().Take(&m).Error; err != nil {
		t.Fatal(err)
	}
	if m.LeaseOwner != "" || m.LeaseUntil != nil || m.Attempts != 0 || m.SentAt != nil || m.LastError != "" {
		t.Errorf("the email after shutdown: owner %q, lease %v, attempts %d, sent %v, error %q; want handed back untouched\n%s",
			m.LeaseOwner, m.LeaseUntil, m.Attempts, m.SentAt, m.LastError, stderr.String())
	}
}
