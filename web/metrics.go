package web

import (
	"context"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/models"
)

// Metrics is what a running server tells Prometheus. It has a registry of
// its own (nothing is registered globally), and is served only on the
// separate --metrics-addr listener, never on the public one.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	emails   *prometheus.CounterVec
	jobs     *prometheus.CounterVec
	throttle *prometheus.CounterVec
	// routes are the registered route patterns: the only values the route
	// label takes, whatever paths clients ask for.
	routes map[string]bool
}

// unmatchedRoute labels requests that matched no route.
const unmatchedRoute = "unmatched"

// NewMetrics registers the server's metrics, the Go runtime's and the
// process's, the database pools' and the queues', which are read from the
// database at each scrape.
func NewMetrics(store *models.Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_email_deliveries_total",
			Help: "Attempts to deliver an email from the outbox, by result (sent, failed).",
		}, []string{"result"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_jobs_finished_total",
			Help: "Job runs that ended, by kind and result (done, retry, failed, lost, handed back).",
		}, []string{"kind", "result"}),
		throttle: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_throttle_refusals_total",
			Help: "Attempts refused by a throttle or rate limit, by kind.",
		}, []string{"kind"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.emails, m.jobs, m.throttle,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
		buildInfo(),
		&queueCollector{store: store},
	)
	for name, pool := range store.Pools() {
		m.registry.MustRegister(collectors.NewDBStatsCollector(pool, name))
	}
	store.OnThrottleRefused(m.throttleRefused)
	return m
}

// buildInfo is switchboard_build_info: always 1, labelled with the
// program's version and VCS revision as the Go toolchain recorded them.
func buildInfo() prometheus.Collector {
	version, revision, modified := "unknown", "unknown", "false"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "switchboard_build_info",
		Help:        "Always 1; the labels say which build of Switchboard is running.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "modified": modified},
	})
	g.Set(1)
	return g
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		// A failing database query loses its own metrics, not the others.
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	})
}

// knownMethods bound the method label: anything else is "other".
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// middleware counts and times each request under its route pattern
// (Echo's c.Path(), never the path asked for, which would let any client
// make a new series per URL). It runs outside the request log, which has
// already turned an error into its response, so the status is final.
func (m *Metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if !m.routes[route] {
			route = unmatchedRoute
		}
		method := c.Request().Method
		if !knownMethods[method] {
			method = "other"
		}
		status := c.Response().Status
		m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
		m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

// knowRoutes records the route patterns of e, after they are registered.
func (m *Metrics) knowRoutes(e *echo.Echo) {
	m.routes = map[string]bool{}
	for _, r := range e.Routes() {
		m.routes[r.Path] = true
	}
}

// The methods below are how workers and throttles report; each is safe on
// a nil *Metrics, so tests may build workers without one.

func (m *Metrics) emailDelivered(result string) {
	if m != nil {
		m.emails.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) jobFinished(kind, result string) {
	if m != nil {
		m.jobs.WithLabelValues(kind, result).Inc()
	}
}

func (m *Metrics) throttleRefused(kind string) {
	if m != nil {
		m.throttle.WithLabelValues(kind).Inc()
	}
}

// queueCollector reads the depth of the outbox and of the job queue from
// the database at each scrape, so every server reports the shared queues
// as they are, not as it last saw them.
type queueCollector struct {
	store *models.Store
}

var (
	outboxUnsentDesc = prometheus.NewDesc("switchboard_outbox_unsent",
		"Emails in the outbox not yet sent (due now or waiting to be retried).", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("switchboard_outbox_oldest_due_age_seconds",
		"How long the email that has been due longest has waited; 0 when none is due.", nil, nil)
	jobsQueuedDesc = prometheus.NewDesc("switchboard_jobs_queued",
		"Jobs waiting, running or waiting to be retried, by kind.", []string{"kind"}, nil)
)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxUnsentDesc
	ch <- outboxOldestDesc
	ch <- jobsQueuedDesc
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unsent, oldest, err := q.store.OutboxBacklog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxUnsentDesc, err)
	} else {
		age := 0.0
		if !oldest.IsZero() {
			age = q.store.Now().Sub(oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(outboxUnsentDesc, prometheus.GaugeValue, float64(unsent))
		ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, age)
	}
	queued, err := q.store.QueuedJobs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsQueuedDesc, err)
		return
	}
	for kind, n := range queued {
		ch <- prometheus.MustNewConstMetric(jobsQueuedDesc, prometheus.GaugeValue, float64(n), kind)
	}
}
