// Package web is the server: configuration, router, middleware, sessions,
// error pages and the embedding of static files.
package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/notify"
	"switchboard/views"
	"switchboard/web/outbound"
	"switchboard/web/telephony"
)

// Config is everything the server is told from the command line.
type Config struct {
	BaseURL *url.URL
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed; with
	// none, the client address is the TCP peer and headers are ignored.
	TrustedProxies []*net.IPNet
	// Mailer carries the outbox's email; nil means no delivery worker.
	Mailer Mailer
	// Calls is the calls area (cmd opens it and registers it on the store).
	Calls *calls.Service
	// Notify is the notifications area (cmd opens it and registers it on
	// the store and the calls area).
	Notify *notify.Service
	// Twilio is the telephony account; empty values leave it unconfigured.
	Twilio telephony.Config
	// OutboundAllow lists private ranges outgoing requests may reach.
	OutboundAllow []netip.Prefix
}

// Server is the console's HTTP side.
type Server struct {
	Echo  *echo.Echo
	store *models.Store
	log   *slog.Logger
	https bool
	// Delivery is the outbox worker (nil without a Mailer); Wake nudges it.
	Delivery *Delivery
	// Jobs runs background jobs, Scheduler enqueues the periodic ones.
	// RunBackground runs them and Delivery until the server stops.
	Jobs      *Jobs
	Scheduler *Scheduler
	// Metrics is what /metrics serves, on its own listener (ServeMetrics).
	Metrics *Metrics
	twilio  *telephony.Twilio
	// webhooks are the routes verified by signature instead of a session
	// (webhooks.go): Twilio's, and signedLinks, the POSTs of signed links
	// in emails (unsubscribe).
	webhooks    map[string]bool
	signedLinks map[string]bool
	// notify is the notifications area, for the tests.
	notify *notify.Service
}

// New wires the router, middleware and handlers around a store.
func New(ctx context.Context, cfg Config, store *models.Store, log *slog.Logger) (*Server, error) {
	if cfg.BaseURL == nil {
		return nil, errors.New("web: base URL is required")
	}
	if cfg.Calls == nil {
		return nil, errors.New("web: the calls area is required")
	}
	if cfg.Notify == nil {
		// Callers that wire only the calls area (the benchmark, tests)
		// get the notifications area wired here, as cmd wires it. It
		// registers hooks on the store and the calls area: a second
		// server on the same store must be given this one.
		n, err := OpenNotify(ctx, store, cfg.Calls, cfg.BaseURL)
		if err != nil {
			return nil, err
		}
		cfg.Notify = n
	}
	out := outbound.New(outbound.Config{Allow: cfg.OutboundAllow})
	tw, err := telephony.New(cfg.Twilio, cfg.BaseURL, out)
	if err != nil {
		return nil, err
	}
	https := cfg.BaseURL.Scheme == "https"
	sessions, err := newSessionManager(ctx, store, https)
	if err != nil {
		return nil, err
	}
	h := &handlers.Handlers{Store: store, Sessions: sessions, Log: log, Calls: cfg.Calls, Notify: cfg.Notify, Telephony: tw}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Echo's default RealIP believes any X-Forwarded-For; only configured
	// proxies may speak for the client. Its X-Forwarded-For extractor also
	// trusts every loopback, link-local and private peer unless told not
	// to, which would let anyone on the same machine or network forge the
	// address that throttles, sessions and the audit log record.
	if len(cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.HTTPErrorHandler = errorHandler(h)

	store.UseMail(views.Mailer{BaseURL: cfg.BaseURL})
	metrics := NewMetrics(store)
	owner := workerID()
	jobs := &Jobs{Store: store, Log: log, Metrics: metrics, Owner: owner}
	s := &Server{Echo: e, store: store, log: log, https: https, Metrics: metrics, Jobs: jobs,
		Scheduler: &Scheduler{Store: store, Jobs: jobs, Log: log},
		twilio:    tw, webhooks: map[string]bool{}, signedLinks: map[string]bool{}, notify: cfg.Notify}
	h.MailQueued = s.Wake
	h.JobQueued = jobs.Wake
	if cfg.Mailer != nil {
		s.Delivery = &Delivery{Store: store, Mailer: cfg.Mailer, Log: log, Metrics: metrics, Owner: owner}
	}
	s.registerTasks()
	s.registerBulk()
	s.registerImports()
	s.registerNotifyTasks(cfg.Notify)
	e.Use(
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}),
		metrics.middleware,
		requestID(),
		requestLog(log),
		securityHeaders(https),
		// Uploads of an import may be larger (handlers.ImportUploadLimit).
		skipFor(isImportUpload, middleware.BodyLimit("256K")),
		skipFor(func(c echo.Context) bool { return !isImportUpload(c) }, middleware.BodyLimit(handlers.ImportUploadLimit)),
		skipFor(s.isWebhook, sessions.middleware),
		skipFor(s.isWebhook, csrfProtect(cfg.BaseURL)),
	)
	s.routes(e, h)
	metrics.knowRoutes(e)
	return s, nil
}

// OpenNotify opens the notifications area, its emails composed with links
// to base, and registers it on the people core (its hooks on people) and
// on the calls area (alerts when calls end). Call it once per store, at
// start-up.
func OpenNotify(ctx context.Context, store *models.Store, callsArea *calls.Service, base *url.URL) (*notify.Service, error) {
	n, err := notify.Open(ctx, store, callsArea, views.NotifyMailer{BaseURL: base})
	if err != nil {
		return nil, err
	}
	store.RegisterArea(n.Area())
	callsArea.OnCompleted(n.CallCompleted)
	return n, nil
}

// RunBackground runs the server's background workers (email delivery,
// jobs, the scheduler) until ctx ends, and returns once each has stopped
// and handed back the work it had claimed but not finished.
func (s *Server) RunBackground(ctx context.Context) {
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){s.Jobs.Run, s.Scheduler.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	if s.Delivery != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.Delivery.Run(ctx) }()
	}
	wg.Wait()
}

// ServeMetrics answers GET /metrics on l until ctx ends. It is a listener
// of its own (--metrics-addr), so that the metrics are never public by
// accident through the console's address.
func (s *Server) ServeMetrics(ctx context.Context, l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	return serveUntil(ctx, l, &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	})
}

// skipFor runs a middleware except where skip says so (the signed
// webhooks, for the session and CSRF middleware).
func skipFor(skip func(echo.Context) bool, mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		wrapped := mw(next)
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			return wrapped(c)
		}
	}
}

// isImportUpload tells the upload of an import's file.
func isImportUpload(c echo.Context) bool {
	r := c.Request()
	return r.Method == http.MethodPost && r.URL.Path == "/users/import"
}

// registerImports runs the imports people confirm (models/imports.go).
// A run that stops half-way (the server stopped, the lease was lost) is
// taken up again by the next, which carries on from the rows done.
func (s *Server) registerImports() {
	s.Jobs.Register(models.ImportJobKind, JobKind{Run: func(ctx context.Context, run *JobRun) error {
		var p models.ImportJob
		if err := run.Decode(&p); err != nil {
			return err
		}
		return s.store.RunImport(ctx, p.ImportID, func(done, total int) error {
			s.Wake() // the invitations of the chunk just written
			return run.Progress(ctx, done, total)
		})
	}})
}

// Wake tells the delivery worker that email was just enqueued.
func (s *Server) Wake() {
	if s.Delivery != nil {
		s.Delivery.Wake()
	}
}

// Handler is the server as an http.Handler (for tests and the benchmark).
func (s *Server) Handler() http.Handler { return answerHEAD(s.Echo) }

// Serve answers on l until ctx ends, then shuts down gracefully, letting
// requests under way finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return serveUntil(ctx, l, srv)
}

// serveUntil serves on l until ctx ends, then shuts down gracefully: it
// stops accepting, and waits (up to shutdownTimeout) for the requests under
// way to be answered.
func serveUntil(ctx context.Context, l net.Listener, srv *http.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdownTimeout bounds the wait for requests under way at shutdown.
const shutdownTimeout = 15 * time.Second

// staticFiles serves GET /static/*: the embedded files, and never a
// listing of a folder (nobody needs one, and it tells what is there).
func staticFiles(files fs.FS) echo.HandlerFunc {
	fileServer := http.StripPrefix("/static/", http.FileServerFS(files))
	return func(c echo.Context) error {
		name := c.Param("*")
		if fi, err := fs.Stat(files, name); err != nil || fi.IsDir() {
			return echo.ErrNotFound
		}
		// Files are embedded in the binary, so they change only with it.
		c.Response().Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

// answerHEAD answers a HEAD request as the GET of the same address would
// be answered, without the body, so that every page answers HEAD (uptime
// monitors use it) without each route registering it. Echo routes by the
// method of the request it was given, so the handler sees a GET copy; the
// body is dropped here.
func answerHEAD(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		get := r.WithContext(r.Context())
		get.Method = http.MethodGet
		h.ServeHTTP(headWriter{w}, get)
	})
}

// headWriter passes on the status and headers of a response and drops its
// body.
type headWriter struct{ http.ResponseWriter }

func (w headWriter) Write(p []byte) (int, error) { return len(p), nil }
