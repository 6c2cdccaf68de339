package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/views"
)

const (
	cookieName = "switchboard"
	sidKey     = "sid"
	csrfKey    = "csrf"
	flashKey   = "flash"
	companyKey = "company"
)

// sessionManager keeps only a session secret and the CSRF token in the
// gorilla cookie (signed and encrypted); the session itself is a database row,
// so logout, password changes and removals end it on the next request.
type sessionManager struct {
	cookies *sessions.CookieStore
	store   *models.Store
	// devices signs the known-device cookies (models/device.go).
	devices *models.KnownDevices
	secure  bool
}

func newSessionManager(ctx context.Context, store *models.Store, secure bool) (*sessionManager, error) {
	hashKey, err := store.SecretKey(ctx, "cookie-hash", 64)
	if err != nil {
		return nil, fmt.Errorf("cookie keys: %w", err)
	}
	blockKey, err := store.SecretKey(ctx, "cookie-block", 32)
	if err != nil {
		return nil, fmt.Errorf("cookie keys: %w", err)
	}
	cs := sessions.NewCookieStore(hashKey, blockKey)
	for _, codec := range cs.Codecs {
		if sc, ok := codec.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(cookieSerializer{})
		}
	}
	// gorilla's defaults are unsafe (script-readable, SameSite=None, 30
	// days). The cookie lives for the browser session; the server row
	// decides the real lifetime.
	cs.Options = &sessions.Options{Path: "/", MaxAge: 0, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	cs.MaxAge(0)
	devices, err := store.KnownDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("known-device key: %w", err)
	}
	return &sessionManager{cookies: cs, store: store, devices: devices, secure: secure}, nil
}

// KnownDevice is the device ID of this browser's known-device cookie for
// the login email, or "" when it has no valid one.
func (m *sessionManager) KnownDevice(c echo.Context, email string) string {
	ck, err := c.Cookie(m.devices.CookieName(email))
	if err != nil {
		return ""
	}
	return m.devices.Verify(email, ck.Value)
}

// RememberDevice gives this browser a fresh known-device cookie for the
// login email: long-lived, out of reach of scripts, sent on same-site
// requests and top-level navigations only, over HTTPS only when served so.
func (m *sessionManager) RememberDevice(c echo.Context, email string) {
	c.SetCookie(&http.Cookie{Name: m.devices.CookieName(email), Value: m.devices.Issue(email), Path: "/",
		MaxAge: int(models.DeviceCookieLifetime / time.Second), HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
}

// session returns the cookie session; a tampered or stale cookie decodes
// to an empty one, which simply means "logged out".
func (m *sessionManager) session(c echo.Context) *sessions.Session {
	if s, ok := c.Get("switchboard.cookie").(*sessions.Session); ok {
		return s
	}
	s, err := m.cookies.Get(c.Request(), cookieName)
	if err != nil {
		s = sessions.NewSession(m.cookies, cookieName)
		s.Options = m.cookies.Options
		s.IsNew = true
	}
	c.Set("switchboard.cookie", s)
	return s
}

func (m *sessionManager) save(c echo.Context, s *sessions.Session) error {
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("save session cookie: %w", err)
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// middleware loads the viewer and makes sure the browser holds a CSRF token.
func (m *sessionManager) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		s := m.session(c)
		dirty := false
		token, _ := s.Values[csrfKey].(string)
		if token == "" {
			token = randomToken()
			s.Values[csrfKey] = token
			dirty = true
		}
		handlers.SetCSRF(c, token)
		if sid, ok := s.Values[sidKey].(string); ok && sid != "" {
			v, err := m.store.LoadViewer(c.Request().Context(), sid)
			switch {
			case err == nil:
				handlers.SetViewer(c, v)
			case models.ErrorCode(err) == models.Unauthorized:
				delete(s.Values, sidKey)
				dirty = true
			default:
				return err
			}
		}
		if dirty {
			if err := m.save(c, s); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// LogIn starts a new server session with a new secret and a new CSRF token.
func (m *sessionManager) LogIn(c echo.Context, member *models.Membership) error {
	s := m.session(c)
	ctx := c.Request().Context()
	if old, ok := s.Values[sidKey].(string); ok {
		if err := m.store.EndSession(ctx, old); err != nil {
			return err
		}
	}
	secret, err := m.store.StartSession(ctx, member, c.RealIP(), c.Request().UserAgent())
	if err != nil {
		return err
	}
	s.Values[sidKey] = secret
	s.Values[csrfKey] = randomToken()
	return m.save(c, s)
}

// LogOut ends the server session and rotates the CSRF token.
func (m *sessionManager) LogOut(c echo.Context) error {
	s := m.session(c)
	if sid, ok := s.Values[sidKey].(string); ok {
		if err := m.store.EndSession(c.Request().Context(), sid); err != nil {
			return err
		}
	}
	delete(s.Values, sidKey)
	s.Values[csrfKey] = randomToken()
	return m.save(c, s)
}

// Flash queues a message for the next page.
func (m *sessionManager) Flash(c echo.Context, f views.Flash) error {
	s := m.session(c)
	s.AddFlash(strings.Join([]string{f.Kind, f.Message, f.Undo, f.UndoLabel}, "\x00"), flashKey)
	return m.save(c, s)
}

// Flashes reads the queued messages once.
func (m *sessionManager) Flashes(c echo.Context) []views.Flash {
	s := m.session(c)
	raw := s.Flashes(flashKey)
	if len(raw) == 0 {
		return nil
	}
	_ = m.save(c, s)
	out := make([]views.Flash, 0, len(raw))
	for _, r := range raw {
		str, _ := r.(string)
		parts := strings.Split(str, "\x00")
		if len(parts) < 2 {
			continue
		}
		f := views.Flash{Kind: parts[0], Message: parts[1]}
		if len(parts) == 4 {
			f.Undo, f.UndoLabel = parts[2], parts[3]
		}
		out = append(out, f)
	}
	return out
}

// CurrentCompany is the company the person chose to work in, or 0.
func (m *sessionManager) CurrentCompany(c echo.Context) uint {
	id, _ := m.session(c).Values[companyKey].(uint)
	return id
}

// SetCurrentCompany remembers the company to work in.
func (m *sessionManager) SetCurrentCompany(c echo.Context, id uint) error {
	s := m.session(c)
	s.Values[companyKey] = id
	return m.save(c, s)
}
