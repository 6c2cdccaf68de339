package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

// testServer is the real router on a real SQLite file behind httptest.
type testServer struct {
	t     *testing.T
	store *models.Store
	srv   *httptest.Server
	clock *modelstest.Clock
	base  *url.URL
	logs  *syncBuffer
	app   *Server
	calls *calls.Service

	mu     sync.Mutex
	sleeps []time.Duration
}

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

type serverOption func(*Config)

// withMailDir delivers the server's emails as .eml files into dir, as
// serve's --mail-dir does, so a test can open what a person received.
func withMailDir(dir string) serverOption {
	return func(c *Config) { c.Mailer = &FileMailer{Dir: dir, Log: slog.New(slog.DiscardHandler)} }
}

func newTestServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	return newTestServerWithStore(t, nil, opts...)
}

// newTestServerWithStore is newTestServer with options for its store.
func newTestServerWithStore(t *testing.T, storeOpts []models.Option, opts ...serverOption) *testServer {
	t.Helper()
	clock := modelstest.NewClock()
	ts := &testServer{t: t, clock: clock, logs: &syncBuffer{}}
	// Slowed-down password checks are recorded, not waited for.
	storeOpts = append([]models.Option{models.WithClock(clock.Now), models.WithSleep(func(_ context.Context, d time.Duration) error {
		ts.mu.Lock()
		ts.sleeps = append(ts.sleeps, d)
		ts.mu.Unlock()
		return nil
	})}, storeOpts...)
	ts.store = modelstest.Open(t, storeOpts...)
	ts.srv = httptest.NewUnstartedServer(nil)
	ts.base, _ = url.Parse("http://" + ts.srv.Listener.Addr().String())
	cfg := Config{BaseURL: ts.base}
	for _, o := range opts {
		o(&cfg)
	}
	area, err := calls.Open(context.Background(), ts.store)
	if err != nil {
		t.Fatalf("open calls: %v", err)
	}
	ts.store.RegisterArea(area.Area())
	ts.calls = area
	cfg.Calls = area
	// Wired here as cmd wires it, so that a test building a second server
	// on this store can pass the same one (New would register another).
	n, err := OpenNotify(context.Background(), ts.store, area, cfg.BaseURL)
	if err != nil {
		t.Fatalf("open notifications: %v", err)
	}
	cfg.Notify = n
	log := slog.New(slog.NewTextHandler(ts.logs, nil))
	s, err := New(context.Background(), cfg, ts.store, log)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	ts.app = s
	ts.srv.Config.Handler = s.Handler()
	ts.srv.Start()
	t.Cleanup(ts.srv.Close)
	// Registered last so it runs first, while the database is open.
	t.Cleanup(func() { collectEmails(t, ts.store) })
	return ts
}

// browser is an HTTP client with a cookie jar that remembers the last CSRF
// token it saw in a form, as a person's browser would.
type browser struct {
	t      *testing.T
	ts     *testServer
	client *http.Client
	// csrf is the last token seen; tests that send requests from several
	// goroutines share it, hence the lock.
	mu   sync.Mutex
	csrf string
}

func (ts *testServer) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: ts.t, ts: ts, client: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// page is a response with its parsed HTML.
type page struct {
	status int
	header http.Header
	body   string
	doc    *goquery.Document
}

func (p *page) text(selector string) string {
	return strings.Join(strings.Fields(p.doc.Find(selector).Text()), " ")
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(raw)))
	if err != nil {
		b.t.Fatalf("parse %s: %v", req.URL, err)
	}
	if tok, ok := doc.Find(`input[name="_csrf"]`).First().Attr("value"); ok {
		b.mu.Lock()
		b.csrf = tok
		b.mu.Unlock()
	}
	return &page{status: resp.StatusCode, header: resp.Header, body: string(raw), doc: doc}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.ts.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form with the last CSRF token seen, unless the form sets one.
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	form = cloneValues(form)
	if _, ok := form["_csrf"]; !ok {
		b.mu.Lock()
		form.Set("_csrf", b.csrf)
		b.mu.Unlock()
	}
	req, _ := http.NewRequest(http.MethodPost, b.ts.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow fetches the Location of a redirect.
func (b *browser) follow(p *page) *page {
	b.t.Helper()
	loc := p.header.Get("Location")
	if loc == "" {
		b.t.Fatalf("expected a redirect, got %d: %s", p.status, p.body)
	}
	u, _ := url.Parse(loc)
	return b.get(u.RequestURI())
}

func wantStatus(t *testing.T, p *page, want int) {
	t.Helper()
	if p.status != want {
		t.Fatalf("status = %d, want %d; body: %.600s", p.status, want, p.body)
	}
}

// strongPassword passes the password rules.
const strongPassword = "correct-staple-lamp-orbit"

// setupAccount runs first start through the browser and returns the
// logged-in first Admin.
func (ts *testServer) setupAccount(email string) *browser {
	ts.t.Helper()
	secret, err := ts.store.IssueSetupLink(context.Background())
	if err != nil || secret == "" {
		ts.t.Fatalf("issue setup link: %q %v", secret, err)
	}
	b := ts.browser()
	wantStatus(ts.t, b.get("/setup/"+secret), http.StatusOK)
	p := b.post("/setup/"+secret, url.Values{
		"account_name": {"Acme Calls"}, "company_name": {"Acme Plumbing"}, "time_zone": {"America/Chicago"},
		"first_name": {"Ada"}, "last_name": {"Admin"}, "email": {email},
		"password": {strongPassword}, "confirm": {strongPassword},
	})
	wantStatus(ts.t, p, http.StatusSeeOther)
	b.follow(p) // as a browser does; it also picks up the new CSRF token
	return b
}

// login logs a new browser in and checks it worked.
func (ts *testServer) login(email, password string) *browser {
	ts.t.Helper()
	b := ts.browser()
	b.get("/login")
	p := b.post("/login", url.Values{"email": {email}, "password": {password}})
	if p.status != http.StatusSeeOther {
		ts.t.Fatalf("login %s: status %d: %.400s", email, p.status, p.body)
	}
	b.follow(p) // as a browser does; it also picks up the new CSRF token
	return b
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// takeSleeps returns the waits of slowed-down password checks so far and
// forgets them.
func (ts *testServer) takeSleeps() []time.Duration {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := ts.sleeps
	ts.sleeps = nil
	return out
}
