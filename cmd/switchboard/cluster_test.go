package main

// A cluster is the deployment of the README's "Running more than one
// instance", built from real parts: several `switchboard serve` processes
// of the real binary on one PostgreSQL database, every one with the same
// --base-url and --trusted-proxies, behind a load balancer that spreads
// requests round-robin and tells each instance the client's address in
// X-Forwarded-For, delivering through one SMTP server that records every
// message it accepts.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/emersion/go-smtp"
	_ "github.com/jackc/pgx/v5/stdlib" // the test's own look into the shared database
)

// mailed is one message the mailbox accepted.
type mailed struct {
	to        string
	messageID string
	subject   string
	raw       []byte
	at        time.Time
	// held: after accepting it (250), the mailbox held the session before
	// its sender could hear anything else, so the sender was still in
	// the middle of sending it.
	held bool
}

// outboxID is the outbox row a message came from, read from its Message-ID
// (<switchboard.ID.NANOS@domain>, web/mail.go), or 0.
func (m mailed) outboxID() int64 {
	sm := regexp.MustCompile(`^<switchboard\.(\d+)\.\d+@`).FindStringSubmatch(m.messageID)
	if sm == nil {
		return 0
	}
	id, _ := strconv.ParseInt(sm[1], 10, 64)
	return id
}

// mailbox is a real SMTP server that records every message it accepts.
type mailbox struct {
	addr string

	mu       sync.Mutex
	messages []mailed
	// holdFor is an address whose first message is held (see mailed.held)
	// until release is closed; held receives it.
	holdFor  string
	holdUsed bool
	held     chan mailed
	release  chan struct{}
	once     sync.Once
}

func startMailbox(t testing.TB) *mailbox {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	box := &mailbox{addr: l.Addr().String(), held: make(chan mailed, 1), release: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailboxSession{box: box}, nil
	}))
	srv.Domain = "mail.example.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(l) }()
	t.Cleanup(func() {
		box.releaseHeld() // a held session would keep Close waiting
		srv.Close()
		<-done
	})
	return box
}

// holdFirstTo makes the mailbox hold the first message to addr.
func (b *mailbox) holdFirstTo(addr string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holdFor = addr
}

func (b *mailbox) releaseHeld() { b.once.Do(func() { close(b.release) }) }

// record keeps m and says whether its session is to be held.
func (b *mailbox) record(m mailed) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holdFor != "" && m.to == b.holdFor && !b.holdUsed {
		b.holdUsed, m.held = true, true
		b.held <- m
	}
	b.messages = append(b.messages, m)
	return m.held
}

func (b *mailbox) all() []mailed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mailed(nil), b.messages...)
}

// waitFor waits until n messages to addr whose subject contains subject
// have arrived, and returns them in the order they arrived.
func (b *mailbox) waitFor(t testing.TB, addr, subject string, n int, within time.Duration) []mailed {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []mailed
		for _, m := range b.all() {
			if m.to == addr && strings.Contains(m.subject, subject) {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of %d emails to %s about %q have arrived", within, len(got), n, addr, subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type mailboxSession struct {
	box  *mailbox
	to   []string
	hold bool
}

func (s *mailboxSession) Mail(string, *smtp.MailOptions) error { s.to = nil; return nil }
func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, strings.ToLower(to))
	return nil
}

func (s *mailboxSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("unreadable message: %w", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	s.hold = s.box.record(mailed{to: strings.Join(s.to, ","), messageID: msg.Header.Get("Message-Id"),
		subject: subject, raw: raw, at: time.Now()})
	return nil
}

// Reset runs after the answer to DATA has been written (and on RSET): a
// held message's session waits here, so its sender has heard "250
// accepted" and is waiting for the answer to its next command.
func (s *mailboxSession) Reset() {
	if s.hold {
		s.hold = false
		<-s.box.release
	}
	s.to = nil
}

func (s *mailboxSession) Logout() error { return nil }

// The balancer's headers. pinHeader and clientHeader are the test's
// instructions to it, removed before the request goes on; servedByHeader
// tells the test which instance answered.
const (
	pinHeader      = "X-Test-Instance"
	clientHeader   = "X-Test-Client"
	servedByHeader = "X-Test-Served-By"
)

// anyInstance lets the balancer choose.
const anyInstance = -1

// balancer is the load balancer in front of the instances: round-robin over
// those that are up, and X-Forwarded-For set to the client's address, as
// Caddy's or nginx's reverse proxy would do. Its own address is the
// instances' --base-url; its address towards them, 127.0.0.1, is their
// --trusted-proxies.
type balancer struct {
	url   string
	proxy *httputil.ReverseProxy
	// errors is what the proxy logged: failures to reach an instance or
	// to relay its answer.
	errors lockedBuffer

	mu       sync.Mutex
	backends []string
	up       []bool
	next     int
	served   []int
}

type backendKey struct{}

func startBalancer(t testing.TB, backends []string) *balancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{url: "http://" + l.Addr().String(), backends: backends,
		up: make([]bool, len(backends)), served: make([]int, len(backends))}
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := pr.In.Context().Value(backendKey{}).(int)
			pr.SetURL(&url.URL{Scheme: "http", Host: b.backends[i]})
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Del(pinHeader)
			pr.Out.Header.Del(clientHeader)
			pr.Out.Header.Set("X-Forwarded-For", pr.In.Header.Get(clientHeader))
		},
		ErrorLog: log.New(&b.errors, "", 0),
	}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return b
}

func (b *balancer) setUp(i int, up bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.up[i] = up
}

// pick is the instance a request goes to: the pinned one, or the next one
// up in turn.
func (b *balancer) pick(pin string) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if pin != "" {
		i, err := strconv.Atoi(pin)
		if err != nil || i < 0 || i >= len(b.up) || !b.up[i] {
			return 0, false
		}
		b.served[i]++
		return i, true
	}
	for range b.up {
		i := b.next
		b.next = (b.next + 1) % len(b.up)
		if b.up[i] {
			b.served[i]++
			return i, true
		}
	}
	return 0, false
}

// requests is how many requests each instance was sent.
func (b *balancer) requests() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.served)
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i, ok := b.pick(r.Header.Get(pinHeader))
	if !ok {
		http.Error(w, "no instance is up", http.StatusBadGateway)
		return
	}
	// The request is read whole before it is passed on: Go's HTTP/1 server
	// closes a request body once the response starts, and the proxy may
	// still be finishing its copy of it then (golang/go#40747), which cuts
	// the answer short. Forms are small; nginx buffers them too.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	w.Header().Set(servedByHeader, strconv.Itoa(i))
	b.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), backendKey{}, i)))
}

// instance is one `switchboard serve` process.
type instance struct {
	n             int
	addr, metrics string
	// flags and env are its own, beyond what every instance gets.
	flags, env []string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	err    error
}

func (in *instance) running() bool {
	if in.cmd == nil {
		return false
	}
	select {
	case <-in.exited:
		return false
	default:
		return true
	}
}

// cluster is the instances, their database, balancer and mailbox.
type cluster struct {
	t     testing.TB
	bin   string
	dsn   string
	lb    *balancer
	mail  *mailbox
	nodes []*instance
	// db is the test's own connection to the shared database.
	db *sql.DB
}

// newCluster prepares n instances on the PostgreSQL database dsn; start
// them with start. config gives each its own flags and environment.
func newCluster(t testing.TB, dsn string, n int, config func(in *instance)) *cluster {
	t.Helper()
	c := &cluster{t: t, bin: binary(t), dsn: dsn, mail: startMailbox(t)}
	ports := freePorts(t, 2*n)
	addrs := make([]string, n)
	for i := range n {
		c.nodes = append(c.nodes, &instance{n: i, addr: ports[2*i], metrics: ports[2*i+1]})
		addrs[i] = c.nodes[i].addr
		if config != nil {
			config(c.nodes[i])
		}
	}
	c.lb = startBalancer(t, addrs)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	c.db = db
	t.Cleanup(func() {
		c.mail.releaseHeld()
		c.stopAll()
		db.Close()
	})
	return c
}

// env is what every instance is given, as the README's example gives it:
// the shared settings in the environment, each its own --addr and
// --metrics-addr.
func (c *cluster) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + c.dsn,
		"SWITCHBOARD_BASE_URL=" + c.lb.url,
		"SWITCHBOARD_TRUSTED_PROXIES=127.0.0.1/32",
		"SMTP_URL=smtp://" + c.mail.addr,
	}
}

// bootstrap creates an account with `switchboard bootstrap` and returns
// the path of its first Admin's set-password link.
func (c *cluster) bootstrap(account, email, first, last string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, "bootstrap", "--account", account, "--email", email, "--first", first, "--last", last)
	cmd.Env = c.env()
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("bootstrap %s: %v\n%s", account, err, out)
	}
	link, err := url.Parse(lastLine(string(out)))
	if err != nil || !strings.HasPrefix(link.String(), c.lb.url+"/invite/") {
		c.t.Fatalf("bootstrap printed %q, want a link on the balancer's address %s", lastLine(string(out)), c.lb.url)
	}
	return link.Path
}

// startAll starts every instance at once, as an orchestrator would, and
// waits until each is ready.
func (c *cluster) startAll() {
	c.t.Helper()
	var wg sync.WaitGroup
	for _, in := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.launch(in) }()
	}
	wg.Wait()
	for _, in := range c.nodes {
		c.waitReady(in)
	}
}

// start starts instance i (again) and waits until it is ready.
func (c *cluster) start(i int) {
	c.t.Helper()
	c.launch(c.nodes[i])
	c.waitReady(c.nodes[i])
}

func (c *cluster) launch(in *instance) {
	args := append([]string{"serve", "--addr", in.addr, "--metrics-addr", in.metrics}, in.flags...)
	in.cmd = exec.Command(c.bin, args...)
	in.cmd.Env = append(c.env(), in.env...)
	in.stderr = &lockedBuffer{}
	in.cmd.Stderr = in.stderr
	in.exited = make(chan struct{})
	if in.err = in.cmd.Start(); in.err != nil {
		close(in.exited)
		return
	}
	go func() { in.err = in.cmd.Wait(); close(in.exited) }()
}

func (c *cluster) waitReady(in *instance) {
	c.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-in.exited:
			c.t.Fatalf("instance %d exited before it was ready: %v\n%s", in.n, in.err, in.stderr)
		default:
		}
		if httpStatus("http://"+in.addr+"/readyz") == http.StatusOK {
			c.lb.setUp(in.n, true)
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("instance %d was not ready within a minute:\n%s", in.n, in.stderr)
		}
	}
}

// kill ends instance i with SIGKILL: no shutdown, no handing back. The
// balancer stops sending it requests first, as its health check would.
func (c *cluster) kill(i int) {
	c.t.Helper()
	in := c.nodes[i]
	c.lb.setUp(i, false)
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-in.exited
}

// stopAll stops the running instances as an orchestrator would (SIGTERM),
// and says so when one does not exit cleanly.
func (c *cluster) stopAll() {
	for _, in := range c.nodes {
		if !in.running() {
			continue
		}
		c.lb.setUp(in.n, false)
		in.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.exited:
			if in.err != nil {
				c.t.Errorf("instance %d did not stop cleanly: %v\n%s", in.n, in.err, tail(in.stderr.String(), 4000))
			}
		case <-time.After(30 * time.Second):
			in.cmd.Process.Kill()
			<-in.exited
			c.t.Errorf("instance %d did not stop within 30s of SIGTERM", in.n)
		}
	}
	if c.t.Failed() || c.lb.errors.String() != "" {
		c.t.Logf("the balancer logged:\n%s", c.lb.errors.String())
		for _, in := range c.nodes {
			if in.stderr != nil {
				c.t.Logf("instance %d (%s) logged:\n%s", in.n, in.addr, tail(in.stderr.String(), 6000))
			}
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// instanceOfOwner is the instance whose process holds a lease, from its
// owner string (host:pid:random/claim, web/jobs.go), or -1.
func (c *cluster) instanceOfOwner(owner string) int {
	parts := strings.Split(owner, ":")
	if len(parts) < 3 {
		return -1
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil {
		return -1
	}
	for _, in := range c.nodes {
		if in.running() && in.cmd.Process.Pid == pid {
			return in.n
		}
	}
	return -1
}

// counter reads the sum of a counter's samples whose labels contain
// labels ("" for all) from instance i's /metrics; 0 when it has none.
func (c *cluster) counter(i int, name, labels string) float64 {
	c.t.Helper()
	resp, err := http.Get("http://" + c.nodes[i].metrics + "/metrics")
	if err != nil {
		c.t.Fatalf("metrics of instance %d: %v", i, err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !strings.Contains(line, labels) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			c.t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// counterAll is counter summed over the running instances.
func (c *cluster) counterAll(name, labels string) float64 {
	var sum float64
	for _, in := range c.nodes {
		if in.running() {
			sum += c.counter(in.n, name, labels)
		}
	}
	return sum
}

// browser is a person's browser behind the balancer: a cookie jar, the
// last CSRF token its pages carried, and the address it comes from.
type browser struct {
	t      testing.TB
	lb     *balancer
	ip     string
	client *http.Client

	mu   sync.Mutex
	csrf string
}

func (c *cluster) browser(ip string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: c.t, lb: c.lb, ip: ip, client: &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// reply is an answer, with its parsed page, the instance that gave it and
// how long it took.
type reply struct {
	status   int
	header   http.Header
	body     string
	doc      *goquery.Document
	instance int
	took     time.Duration
}

func (r *reply) location() string { return r.header.Get("Location") }

func (r *reply) text(selector string) string {
	return strings.Join(strings.Fields(r.doc.Find(selector).Text()), " ")
}

// try sends a request to instance on (or anyInstance); a form is posted
// with the last CSRF token seen unless it has its own. Safe to call from
// several goroutines.
func (b *browser) try(method string, on int, path string, form url.Values) (*reply, error) {
	var body io.Reader
	if form != nil {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if _, ok := f["_csrf"]; !ok {
			b.mu.Lock()
			f.Set("_csrf", b.csrf)
			b.mu.Unlock()
		}
		body = strings.NewReader(f.Encode())
	}
	req, err := http.NewRequest(method, b.lb.url+path, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set(clientHeader, b.ip)
	if on != anyInstance {
		req.Header.Set(pinHeader, strconv.Itoa(on))
	}
	start := time.Now()
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	served, err := strconv.Atoi(resp.Header.Get(servedByHeader))
	if err != nil {
		return nil, fmt.Errorf("%s %s: the balancer did not answer: %d %s", method, path, resp.StatusCode, raw)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if tok, ok := doc.Find(`input[name="_csrf"]`).First().Attr("value"); ok {
		b.mu.Lock()
		b.csrf = tok
		b.mu.Unlock()
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: string(raw), doc: doc, instance: served, took: took}, nil
}

func (b *browser) must(method string, on int, path string, form url.Values) *reply {
	b.t.Helper()
	r, err := b.try(method, on, path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

func (b *browser) get(path string) *reply { return b.must(http.MethodGet, anyInstance, path, nil) }
func (b *browser) getOn(i int, path string) *reply {
	return b.must(http.MethodGet, i, path, nil)
}
func (b *browser) post(path string, form url.Values) *reply {
	return b.must(http.MethodPost, anyInstance, path, form)
}
func (b *browser) postOn(i int, path string, form url.Values) *reply {
	return b.must(http.MethodPost, i, path, form)
}

// expect fails the test unless r has status want.
func expect(t testing.TB, r *reply, want int, what string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s (on instance %d): status %d, want %d\n%.800s", what, r.instance, r.status, want, r.body)
	}
}
