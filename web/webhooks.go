package web

import (
	"errors"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/web/telephony"
)

// Twilio's webhooks are not pages: no session, no cookie, no CSRF token.
// Each one is verified by its X-Twilio-Signature before anything else
// (verifyTwilio), and that is the only reason csrfProtect and the session
// let it through: a route is exempt only when registered here, which also
// puts the signature check in front of it.

// twilioWebhook registers a POST route that Twilio calls.
func (s *Server) twilioWebhook(e *echo.Echo, path string, h echo.HandlerFunc) {
	s.webhooks[path] = true
	e.POST(path, h, s.verifyTwilio)
}

// isWebhook tells csrfProtect and the session middleware which routes are
// signature-verified: Twilio's webhooks and signed email links.
func (s *Server) isWebhook(c echo.Context) bool {
	return c.Request().Method == http.MethodPost && (s.webhooks[c.Path()] || s.signedLinks[c.Path()])
}

// Signed email links (the one-click unsubscribe of RFC 8058) are POSTed by
// mail programs, with no session and no CSRF token, which they cannot
// have. What stands in for both is the token in the path: an HMAC only this
// server makes, naming the one thing the link does (models/notify). It is
// checked first (verifySignedLink), so a POST without a valid one never
// reaches the handler, with or without a session's token; and the link
// does nothing but turn off the email it came in.

// signedLink registers a POST route whose :token is verified by valid.
func (s *Server) signedLink(e *echo.Echo, path string, valid func(string) bool, h echo.HandlerFunc) {
	s.signedLinks[path] = true
	e.POST(path, h, verifySignedLink(valid))
}

// verifySignedLink answers 404 (as for a link that never existed) to a
// request whose :token does not verify.
func verifySignedLink(valid func(string) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !valid(c.Param("token")) {
				return &models.Error{Code: models.NotFound, Title: "This link is not valid",
					Message: "Check that the whole address from the email was opened. Links are sometimes cut when copied, or broken across lines."}
			}
			return next(c)
		}
	}
}

// verifyTwilio refuses (403, with a log line) any request without a valid
// signature over the public URL from --base-url and the body's parameters.
func (s *Server) verifyTwilio(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ct, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
		var err error
		if ct != echo.MIMEApplicationForm {
			err = errors.New("not a form")
		} else if err = r.ParseForm(); err == nil {
			err = s.twilio.Verify(r, r.PostForm)
		}
		if err != nil {
			what := "telephony webhook refused"
			if errors.Is(err, telephony.ErrNotConfigured) {
				what = "telephony webhook refused: set --twilio-auth-token to accept Twilio's webhooks"
			}
			s.log.Warn(what, "path", r.URL.Path, "ip", c.RealIP(), "reason", err.Error())
			return c.String(http.StatusForbidden, "Forbidden: this address accepts only requests signed by Twilio.\n")
		}
		return next(c)
	}
}
