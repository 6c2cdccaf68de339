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
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/views"
)

// Config is everything the server is told from the command line.
type Config struct {
	BaseURL *url.URL
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed; with
	// none, the client address is the TCP peer and headers are ignored.
	TrustedProxies []*net.IPNet
	// Mailer carries the outbox's email; nil means no delivery worker.
	Mailer Mailer
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
}

// New wires the router, middleware and handlers around a store.
func New(ctx context.Context, cfg Config, store *models.Store, log *slog.Logger) (*Server, error) {
	if cfg.BaseURL == nil {
		return nil, errors.New("web: base URL is required")
	}
	https := cfg.BaseURL.Scheme == "https"
	sessions, err := newSessionManager(ctx, store, https)
	if err != nil {
		return nil, err
	}
	h := &handlers.Handlers{Store: store, Sessions: sessions, Log: log}
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
	s := &Server{Echo: e, store: store, log: log, https: https}
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
		sessions.middleware,
		csrfProtect(cfg.BaseURL),
	)
	s.routes(e, h)
	return s, nil
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
