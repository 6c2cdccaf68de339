package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// benchClient talks to one server over a bounded pool of keep-alive
// connections. Sessions (the people signed in) are separate: one client
// serves many of them.
type benchClient struct {
	base      string
	transport *http.Transport
	client    *http.Client
}

func newBenchClient(base string, conns int) *benchClient {
	t := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		// Pages are 50-100 KB; read them in big pieces as a browser
		// does, not 4 KB at a time, so the load generator's own reads
		// (which share the cores) cost the ratio less.
		ReadBufferSize: 64 << 10,
	}
	return &benchClient{base: base, transport: t, client: &http.Client{Transport: t, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *benchClient) close() { b.transport.CloseIdleConnections() }

// benchSession is one signed-in person: their cookie and CSRF token.
type benchSession struct {
	email  string
	cookie string
	csrf   string
}

var (
	csrfInput = regexp.MustCompile(`<input[^>]*name="_csrf"[^>]*>`)
	keyInput  = regexp.MustCompile(`<input[^>]*name="key"[^>]*>`)
	valueAttr = regexp.MustCompile(`value="([^"]*)"`)
)

// inputValue finds the value of a form field in a page.
func inputValue(re *regexp.Regexp, body []byte) string {
	tag := re.Find(body)
	if tag == nil {
		return ""
	}
	if m := valueAttr.FindSubmatch(tag); m != nil {
		return string(m[1])
	}
	return ""
}

// login signs in like a browser: the form first (for its CSRF token and
// cookie), then the POST; the session keeps the cookie and the token of
// the users list. client, when set, is the address the bench's trusted
// proxy says the request came from.
func (b *benchClient) login(ctx context.Context, email, password, client string) (*benchSession, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: b.transport, Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, err := browserLogin(ctx, c, b.base, email, password, client)
	if err != nil {
		return nil, err
	}
	if status != http.StatusSeeOther {
		return nil, fmt.Errorf("login of %s answered %d", email, status)
	}
	u, _ := url.Parse(b.base)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	s := &benchSession{email: email, cookie: strings.Join(parts, "; ")}
	var buf bytes.Buffer
	status, _, err = b.do(ctx, s, http.MethodGet, "/users", nil, &buf)
	if err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("users list after the login of %s: status %d, err %v", email, status, err)
	}
	if s.csrf = inputValue(csrfInput, buf.Bytes()); s.csrf == "" {
		return nil, fmt.Errorf("no CSRF token on the users list of %s", email)
	}
	return s, nil
}

// browserLogin is GET /login then POST /login with the scraped token.
func browserLogin(ctx context.Context, c *http.Client, base, email, password, client string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	token := inputValue(csrfInput, body)
	if token == "" {
		return 0, fmt.Errorf("no CSRF token on the login page (status %d)", resp.StatusCode)
	}
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {token}}
	timed(ctx)
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	resp, err = c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// do sends one request as session s (nil: anonymous), reads the whole
// answer into buf and returns its status and Location.
func (b *benchClient) do(ctx context.Context, s *benchSession, method, path string, form url.Values, buf *bytes.Buffer) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if s != nil {
		req.Header.Set("Cookie", s.cookie)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// benchOp is one timed operation of a worker; i counts the worker's
// operations, buf is the worker's own.
type benchOp func(ctx context.Context, worker, i int, buf *bytes.Buffer) error

// Operations that first do untimed preparation (fetching a form) call timed
// where the timed part starts; otherwise the whole operation is timed.
type timerKey struct{}

type opTimer struct{ start time.Time }

func timed(ctx context.Context) {
	if t, ok := ctx.Value(timerKey{}).(*opTimer); ok {
		t.start = time.Now()
	}
}

// drive runs op on conns workers for d (after a short warm-up that is not
// counted) and summarises throughput and latency.
func drive(ctx context.Context, name string, conns int, d time.Duration, op benchOp) benchResult {
	warm := min(d/10, time.Second)
	type worker struct {
		lat    []time.Duration
		errors int64
		first  string
	}
	workers := make([]worker, conns)
	var stop atomic.Bool
	var measuring atomic.Bool
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := &workers[w]
			me.lat = make([]time.Duration, 0, 4096)
			var buf bytes.Buffer
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				t := &opTimer{}
				opCtx := context.WithValue(ctx, timerKey{}, t)
				began := time.Now()
				err := op(opCtx, w, i, &buf)
				end := time.Now()
				if !measuring.Load() || stop.Load() {
					continue
				}
				if t.start.IsZero() {
					t.start = began
				}
				me.lat = append(me.lat, end.Sub(t.start))
				if err != nil {
					me.errors++
					if me.first == "" {
						me.first = err.Error()
					}
				}
			}
		}()
	}
	sleep(ctx, warm)
	measuring.Store(true)
	began, cpu0 := time.Now(), cpuTime()
	sleep(ctx, d)
	stop.Store(true)
	elapsed, cpu := time.Since(began), cpuTime()-cpu0
	wg.Wait()

	r := benchResult{Scenario: name, Conns: conns, CPU: cpu.Seconds() / elapsed.Seconds()}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat...)
		r.Errors += w.errors
		if r.FirstError == "" {
			r.FirstError = w.first
		}
	}
	r.Requests = int64(len(all))
	r.PerSec = float64(r.Requests) / elapsed.Seconds()
	slices.Sort(all)
	r.P50Ms = percentile(all, 0.50)
	r.P99Ms = percentile(all, 0.99)
	return r
}

// cpuTime is the CPU time the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// resetPeakRSS starts the resident-memory high-water mark again from the
// current size (Linux 4.0 and later; elsewhere it does nothing).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's resident-memory high-water mark (Linux), which
// includes the server, the load generator and SQLite's page cache.
func peakRSS() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

var errNoRows = errors.New("page without user rows or empty state")
