package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/models"
)

// scrape reads the metrics as Prometheus would.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestMetrics_RoutesQueuesAndHooks(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")
	b.get("/users/12345")        // a route with a parameter
	b.get("/no/such/page/98765") // no route
	ts.browser().get("/users")   // a redirect to the login page
	enqueueTestEmail(t, ts.store, "due@example.com")
	ts.clock.Advance(90 * time.Second)
	if _, _, err := ts.store.EnqueueJob(context.Background(), models.NewJob{Kind: "export", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	ts.store.ThrottleRefused("login_address")
	ts.store.ThrottleRefused("login_address")
	(&Delivery{Metrics: ts.app.Metrics}).Metrics.emailDelivered("failed")

	text := scrape(t, ts.app)
	for _, want := range []string{
		`switchboard_http_requests_total{method="GET",route="/users/:id",status="404"} 1`,
		`switchboard_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`switchboard_http_requests_total{method="GET",route="/users",status="303"} 1`,
		`switchboard_http_request_duration_seconds_bucket{method="GET",route="/users/:id",le="+Inf"} 1`,
		`switchboard_jobs_queued{kind="export"} 1`,
		`switchboard_outbox_oldest_due_age_seconds 90`,
		`switchboard_throttle_refusals_total{kind="login_address"} 2`,
		`switchboard_email_deliveries_total{result="failed"} 1`,
		`go_sql_max_open_connections{db_name="main"}`,
		`go_sql_max_open_connections{db_name="writer"} 1`,
		`switchboard_build_info{`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The outbox holds the setup's emails and the one enqueued above.
	if !strings.Contains(text, "switchboard_outbox_unsent ") || strings.Contains(text, "switchboard_outbox_unsent 0\n") {
		t.Errorf("outbox depth missing or zero")
	}
	for _, raw := range []string{"12345", "98765", "/no/such"} {
		if strings.Contains(text, raw) {
			t.Errorf("a requested path reached the metrics: %q", raw)
		}
	}
	// Never on the console's own address.
	if p := ts.browser().get("/metrics"); p.status != http.StatusNotFound {
		t.Errorf("GET /metrics on the console answered %d", p.status)
	}
}

// ServeMetrics answers on its own listener.
func TestServeMetrics_OwnListener(t *testing.T) {
	ts := newTestServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.app.ServeMetrics(ctx, l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "switchboard_build_info") {
		t.Errorf("metrics listener: %d\n%.300s", resp.StatusCode, body)
	}
	if resp, err := http.Get("http://" + l.Addr().String() + "/users"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the metrics listener serves the console: %v %v", resp, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("ServeMetrics: %v", err)
	}
}

func TestReadyz(t *testing.T) {
	ts := newTestServer(t)
	if p := ts.browser().get("/readyz"); p.status != http.StatusOK {
		t.Fatalf("/readyz: %d", p.status)
	}
	if err := ts.store.DB().Exec("DELETE FROM schema_migrations").Error; err != nil {
		t.Fatal(err)
	}
	if p := ts.browser().get("/readyz"); p.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz without this program's schema: %d, want 503", p.status)
	}
	ts.store.Close()
	for _, path := range []string{"/readyz", "/healthz"} {
		if p := ts.browser().get(path); p.status != http.StatusServiceUnavailable {
			t.Errorf("%s with the database closed: %d, want 503", path, p.status)
		}
	}
}

// Every line logged while a request is answered carries its request ID:
// here the health check's own error and the request line.
func TestRequestLog_IDOnEveryLine(t *testing.T) {
	ts := newTestServer(t)
	var logs syncBuffer
	app, err := New(context.Background(), Config{BaseURL: ts.base, Calls: ts.calls, Notify: ts.app.notify}, ts.store, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts.store.Close()
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	id := rec.Header().Get("X-Request-ID")
	if rec.Code != http.StatusServiceUnavailable || id == "" {
		t.Fatalf("/healthz: %d, request ID %q", rec.Code, id)
	}
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %s", sc.Text())
		}
		if line["request_id"] != id {
			t.Errorf("line without the request's ID %s: %s", id, sc.Text())
		}
		msgs = append(msgs, line["msg"].(string))
	}
	if strings.Join(msgs, ",") != "health check: database,request" {
		t.Errorf("logged %v, want the handler's error and the request line", msgs)
	}
}

// A login refused by the throttle is counted, by the limit that refused it.
func TestMetrics_CountsLoginRefusals(t *testing.T) {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	b := ts.browser()
	b.get("/login")
	for i := range ts.store.ThrottlePolicy().LoginClient.Max + 2 {
		b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprint("wrong-password-", i)}})
	}
	if text := scrape(t, ts.app); !strings.Contains(text, `switchboard_throttle_refusals_total{kind="login.client"} 2`) {
		t.Errorf("refusals not counted:\n%s", grepLines(text, "throttle"))
	}
}

func grepLines(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
