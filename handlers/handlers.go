// Package handlers holds the Echo handlers, one file per resource. They
// parse the request, ask models (which holds every rule), and render views.
package handlers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/notify"
	"switchboard/views"
)

// Sessions is what handlers need of the login session; web implements it.
type Sessions interface {
	// LogIn starts a fresh session for m, ending any earlier one.
	LogIn(c echo.Context, m *models.Membership) error
	// LogOut ends the current session.
	LogOut(c echo.Context) error
	// Flash queues a message for the next page.
	Flash(c echo.Context, f views.Flash) error
	// Flashes reads (and so removes) the queued messages.
	Flashes(c echo.Context) []views.Flash
	// CurrentCompany is the ID of the company the person chose to work in
	// (0 when none); it is checked against what they may see on every use.
	CurrentCompany(c echo.Context) uint
	// SetCurrentCompany remembers the company to work in.
	SetCurrentCompany(c echo.Context, id uint) error
	// KnownDevice is the device ID of this browser's known-device cookie
	// for the login email (canonical), or "" when it has no valid one.
	KnownDevice(c echo.Context, email string) string
	// RememberDevice gives this browser a fresh known-device cookie for
	// the login email (canonical), after it logged in there.
	RememberDevice(c echo.Context, email string)
}

// Telephony is what handlers need of the telephony provider; web/telephony
// implements it with Twilio.
type Telephony interface {
	// Configured: webhooks can be verified (an auth token is set).
	Configured() bool
	// CanPlaceCalls: outbound calls and recordings work.
	CanPlaceCalls() bool
	// WebhookURL is the public address of one of our webhooks.
	WebhookURL(pathAndQuery string) string
	// PlaceCall rings to, then runs twiml; from is the caller ID shown.
	PlaceCall(ctx context.Context, to, from, twiml string) (string, error)
	// Recording fetches a recording's audio with the account's credentials.
	Recording(ctx context.Context, recordingSid string) (io.ReadCloser, string, error)
}

// Handlers holds the dependencies of every handler.
type Handlers struct {
	Store *models.Store
	Calls *calls.Service
	// Notify is the notifications area.
	Notify *notify.Service
	// Telephony is the Twilio side of calls.
	Telephony Telephony
	Sessions  Sessions
	Log       *slog.Logger
	// MailQueued nudges the delivery worker after emails were written to
	// the outbox; nil when nothing delivers (tests without a worker).
	MailQueued func()
	// JobQueued nudges the job runner after a job was recorded.
	JobQueued func()
}

// Keys of values the middleware puts in the Echo context.
const (
	viewerKey = "switchboard.viewer"
	csrfKey   = "switchboard.csrf"
)

// SetViewer records the signed-in person for this request.
func SetViewer(c echo.Context, v *models.Viewer) { c.Set(viewerKey, v) }

// ViewerOf returns the signed-in person, or nil.
func ViewerOf(c echo.Context) *models.Viewer {
	v, _ := c.Get(viewerKey).(*models.Viewer)
	return v
}

// SetCSRF records the CSRF token forms of this request must carry.
func SetCSRF(c echo.Context, token string) { c.Set(csrfKey, token) }

// CSRFOf returns the token forms of this request must carry.
func CSRFOf(c echo.Context) string {
	s, _ := c.Get(csrfKey).(string)
	return s
}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a component with the page chrome, into a pooled buffer so a
// failed render never sends half a page.
func (h *Handlers) render(c echo.Context, status int, section string, component templ.Component) error {
	chrome := views.Chrome{CSRF: CSRFOf(c), Viewer: ViewerOf(c), Section: section}
	if h.Sessions != nil {
		chrome.Flashes = h.Sessions.Flashes(c)
	}
	if chrome.Viewer != nil && h.Sessions != nil {
		co, several, err := h.Store.CurrentCompany(c.Request().Context(), chrome.Viewer, h.Sessions.CurrentCompany(c))
		if err != nil {
			return err
		}
		chrome.Company, chrome.SeveralCompanies = co, several
		chrome.CompanyMatters = models.CanManageUsers(chrome.Viewer.Type())
		accounts, err := h.Store.CountAccountsOf(c.Request().Context(), chrome.Viewer)
		if err != nil {
			return err
		}
		chrome.SeveralAccounts = accounts > 1
		chrome.Zone = h.Store.Zone(chrome.Viewer)
	}
	ctx := views.WithChrome(c.Request().Context(), chrome)
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufferPool.Put(buf)
	if err := component.Render(ctx, buf); err != nil {
		return err
	}
	// The length is known: the page goes out in one piece rather than in
	// chunks, and the browser reads it in as few reads as it likes.
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// Render is render for code outside this package (the error handler).
func (h *Handlers) Render(c echo.Context, status int, component templ.Component) error {
	return h.render(c, status, "", component)
}

// redirect answers a successful POST (Post/Redirect/Get).
func redirect(c echo.Context, to string) error { return c.Redirect(http.StatusSeeOther, to) }

// passwordAttempt describes who tries the password of the login typed as
// email: this client, and its known-device cookie for that login if valid.
func (h *Handlers) passwordAttempt(c echo.Context, email string) models.PasswordAttempt {
	a := models.PasswordAttempt{Client: c.RealIP()}
	if canonical, err := models.CanonicalEmail(email); err == nil && h.Sessions != nil {
		a.Device = h.Sessions.KnownDevice(c, canonical)
	}
	return a
}

// tooMany answers an attempt refused by a limit: 429, Retry-After, and a
// page saying what happened, when to try again, and the ways forward p
// offers.
func (h *Handlers) tooMany(c echo.Context, e *models.Error, p views.ErrorProps) error {
	p.Status, p.Title, p.Message = http.StatusTooManyRequests, e.Title, e.Message
	if p.Title == "" {
		p.Title = "Too many attempts"
	}
	p.RetryAt, p.Now = e.RetryAt, h.Store.Now()
	SetRetryAfter(c, e.RetryAt, p.Now)
	return h.render(c, http.StatusTooManyRequests, "", views.ErrorPage(p))
}

// SetRetryAfter tells clients in seconds when a refused attempt may be
// made again (nothing when that is not known).
func SetRetryAfter(c echo.Context, at, now time.Time) {
	if at.IsZero() {
		return
	}
	secs := int64(math.Ceil(at.Sub(now).Seconds()))
	c.Response().Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
}

// tooManyError is err as a limit's refusal, or nil.
func tooManyError(err error) *models.Error {
	var e *models.Error
	if errors.As(err, &e) && e.Code == models.TooManyRequests {
		return e
	}
	return nil
}

// isFieldError tells a form error the page shows next to its fields.
func isFieldError(err error) bool {
	var e *models.Error
	return errors.As(err, &e) && e.Code == models.Invalid
}
