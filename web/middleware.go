package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/handlers"
	"switchboard/models"
)

// securityHeaders sets the headers every response carries. The CSP allows
// nothing but our own files: no inline script or style anywhere.
func securityHeaders(https bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			// Pages that carry a token in their path must not leak it to
			// wherever a link leads; other pages tell only our own origin.
			if strings.Contains(c.Path(), ":token") {
				h.Set("Referrer-Policy", "no-referrer")
			} else {
				h.Set("Referrer-Policy", "same-origin")
			}
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
			if https {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			}
			if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
				// Logged-in pages and token pages must not be kept by
				// browsers or proxies.
				h.Set("Cache-Control", "no-store")
			}
			return next(c)
		}
	}
}

// requestLog gives the request a logger carrying its ID, in its context
// (models.LoggerFrom), so that every line logged while it is answered —
// by handlers, models or the error page — says which request it belongs
// to; then it logs one line for the request itself: never the query
// string (search terms, cursors) and never a token from the path.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			reqLog := log.With(slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
			r := c.Request()
			c.SetRequest(r.WithContext(models.ContextWithLogger(r.Context(), reqLog)))
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			path := c.Request().URL.Path
			if strings.Contains(c.Path(), ":token") {
				path = c.Path()
			}
			status := c.Response().Status
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			reqLog.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", c.Request().Method), slog.String("path", path),
				slog.Int("status", status), slog.Duration("took", time.Since(start)),
				slog.String("ip", c.RealIP()))
			return nil
		}
	}
}

// requestLogger is the logger of the request c is answering.
func requestLogger(c echo.Context) *slog.Logger {
	return models.LoggerFrom(c.Request().Context())
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfProtect guards every state-changing request with the synchronizer
// token kept in the session cookie, and refuses cross-site requests by
// Sec-Fetch-Site and Origin first. Unlike Echo's CSRF middleware it does not
// wave through requests that merely claim to be same-origin.
func csrfProtect(base *url.URL) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if isSafeMethod(r.Method) {
				return next(c)
			}
			expired := &models.Error{Code: models.Forbidden, Title: "This form has expired",
				Message: "For your security the page you sent was out of date. Go back, reload the page and try again."}
			if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
				return expired
			}
			// Browsers send "Origin: null" from no-referrer pages (the token
			// pages); the synchronizer token below still has to match. The
			// origin is compared with the configured address only, never
			// with the request's Host, which a DNS-rebinding page controls.
			if origin := r.Header.Get("Origin"); origin != "" && origin != "null" && !sameOrigin(origin, base) {
				return expired
			}
			ct, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			if ct != echo.MIMEApplicationForm && ct != echo.MIMEMultipartForm {
				return &models.Error{Code: models.BadRequest, Title: "Unsupported request",
					Message: "This address accepts only forms sent from Switchboard's pages."}
			}
			// The token is read from the body only: c.FormValue would also
			// take it from the query string, where it leaks to logs,
			// history and Referer headers.
			if err := parseFormBody(r, ct); err != nil {
				return err
			}
			want := handlers.CSRFOf(c)
			got := r.PostForm.Get("_csrf")
			if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
				return expired
			}
			return next(c)
		}
	}
}

// maxFormMemory is what a multipart form may keep in memory; the body
// limit is lower still.
const maxFormMemory = 1 << 20

// parseFormBody reads a form body into r.PostForm. A body over the limit
// keeps its 413; anything else unreadable is a 400.
func parseFormBody(r *http.Request, ct string) error {
	var err error
	if ct == echo.MIMEMultipartForm {
		err = r.ParseMultipartForm(maxFormMemory)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return nil
	}
	var tooLarge *echo.HTTPError
	if errors.As(err, &tooLarge) {
		return tooLarge
	}
	return &models.Error{Code: models.BadRequest, Title: "Unsupported request",
		Message: "The form could not be read. Go back, reload the page and try again.", Err: err}
}

// sameOrigin reports whether an Origin header names the console's own
// configured address: same scheme, host and port.
func sameOrigin(origin string, base *url.URL) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, base.Scheme) && strings.EqualFold(hostPort(u), hostPort(base))
}

// hostPort is host:port with the scheme's default port filled in.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// maxRequestID bounds a request ID taken from the client.
const maxRequestID = 64

// requestID gives every request an ID, in the response and the log line.
// A client's (or proxy's) X-Request-ID is kept only when short and plain,
// so nothing odd reaches the logs through it; otherwise a new one is made.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !plainRequestID(id) {
				id = newRequestID()
				c.Request().Header.Set(echo.HeaderXRequestID, id)
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			return next(c)
		}
	}
}

func plainRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// requireLogin sends anonymous visitors to the login page.
func requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if handlers.ViewerOf(c) != nil {
			return next(c)
		}
		if c.Request().Method == http.MethodGet {
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		return models.Errorf(models.Unauthorized, "Your session has ended. Log in again to continue.")
	}
}

// can lets through only a viewer whose type holds the capability. It is
// the route's visible gate, and answers a refusal in the order of
// models/policy.go: when the route addresses an object, inScope looks it
// up first, so one outside the viewer's scope is 404 whatever their type;
// only then is a type without the capability told 403. models checks the
// company of each object again where it reads or writes.
func can(c models.Capability, inScope ...func(echo.Context) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error {
			v := handlers.ViewerOf(ctx)
			if v == nil {
				return models.ErrNotFound()
			}
			if models.Can(v.Type(), c) {
				return next(ctx)
			}
			for _, find := range inScope {
				if err := find(ctx); err != nil {
					return err
				}
			}
			return models.ErrLacksCapability(v.Type(), c)
		}
	}
}

// only lets through people whose type allowed accepts, and answers 404 to
// everyone else: for pages that are not in their console at all.
func only(allowed func(models.UserType) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error {
			if v := handlers.ViewerOf(ctx); v == nil || !allowed(v.Type()) {
				return models.ErrNotFound()
			}
			return next(ctx)
		}
	}
}
