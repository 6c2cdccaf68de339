package web

import (
	"crypto/subtle"
	"log/slog"
	"mime"
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

// requestLog logs one line per request: never the query string (search
// terms, cursors) and never a token from the path.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
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
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", c.Request().Method), slog.String("path", path),
				slog.Int("status", status), slog.Duration("took", time.Since(start)),
				slog.String("ip", c.RealIP()), slog.String("id", c.Response().Header().Get(echo.HeaderXRequestID)))
			return nil
		}
	}
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
			// pages); the synchronizer token below still has to match.
			if origin := r.Header.Get("Origin"); origin != "" && origin != "null" {
				u, err := url.Parse(origin)
				if err != nil || (u.Host != r.Host && u.Host != base.Host) {
					return expired
				}
			}
			ct, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			if ct != echo.MIMEApplicationForm && ct != echo.MIMEMultipartForm {
				return &models.Error{Code: models.BadRequest, Title: "Unsupported request",
					Message: "This address accepts only forms sent from Switchboard's pages."}
			}
			want := handlers.CSRFOf(c)
			got := c.FormValue("_csrf")
			if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
				return expired
			}
			return next(c)
		}
	}
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

// can lets through only a viewer whose type holds the capability (404
// otherwise: outside a person's rights is the same as nothing there). It
// is the route's visible gate; models checks the company of each object.
func can(c models.Capability) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ctx echo.Context) error {
			v := handlers.ViewerOf(ctx)
			if v == nil || !models.Can(v.Type(), c) {
				return models.ErrNotFound()
			}
			return next(ctx)
		}
	}
}
