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
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/models/calls"
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
	// Throttle rules for logins; nil means the defaults.
	ThrottleRules map[string]models.ThrottleRule
	// Sleep is used to slow down repeated failed logins; nil means time.Sleep.
	Sleep func(time.Duration)
	// Mailer carries the outbox's email; nil means no delivery worker.
	Mailer Mailer
	// Calls is the calls area (cmd opens it and registers it on the store).
	Calls *calls.Service
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
	// Delivery is the outbox worker (nil without a Mailer); the caller
	// runs it, and Wake nudges it.
	Delivery *Delivery
	twilio   *telephony.Twilio
	// webhooks are the routes verified by signature instead of a session
	// (webhooks.go).
	webhooks map[string]bool
}

// New wires the router, middleware and handlers around a store.
func New(ctx context.Context, cfg Config, store *models.Store, log *slog.Logger) (*Server, error) {
	if cfg.BaseURL == nil {
		return nil, errors.New("web: base URL is required")
	}
	if cfg.Calls == nil {
		return nil, errors.New("web: the calls area is required")
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
	rules := cfg.ThrottleRules
	if rules == nil {
		rules = models.DefaultThrottleRules()
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = time.Sleep
	}
	h := &handlers.Handlers{
		Store: store, Sessions: sessions, Log: log, Sleep: sleep,
		Throttle: models.NewLoginThrottle(rules, store.Now),
		Calls:    cfg.Calls, Telephony: tw,
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Echo's default RealIP believes any X-Forwarded-For; only configured
	// proxies may speak for the client.
	if len(cfg.TrustedProxies) > 0 {
		var opts []echo.TrustOption
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.HTTPErrorHandler = errorHandler(h, log)

	store.UseMail(views.Mailer{BaseURL: cfg.BaseURL})
	s := &Server{Echo: e, store: store, log: log, https: https, twilio: tw, webhooks: map[string]bool{}}
	h.MailQueued = s.Wake
	if cfg.Mailer != nil {
		s.Delivery = &Delivery{Store: store, Mailer: cfg.Mailer, Log: log}
	}
	e.Use(
		middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}),
		middleware.RequestID(),
		requestLog(log),
		securityHeaders(https),
		middleware.BodyLimit("256K"),
		skipFor(s.isWebhook, sessions.middleware),
		skipFor(s.isWebhook, csrfProtect(cfg.BaseURL)),
	)
	s.routes(e, h)
	return s, nil
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

// Wake tells the delivery worker that email was just enqueued.
func (s *Server) Wake() {
	if s.Delivery != nil {
		s.Delivery.Wake()
	}
}

// Handler is the server as an http.Handler (for tests and the benchmark).
func (s *Server) Handler() http.Handler { return s.Echo }

// Serve answers on l until ctx ends, then shuts down gracefully, letting
// requests under way finish.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.Echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func staticHandler(files fs.FS) http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Files are embedded in the binary, so they change only with it.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}
