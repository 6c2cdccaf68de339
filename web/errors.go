package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/views"
)

// statusOf maps the application's error codes to HTTP statuses.
var statusOf = map[models.Code]int{
	models.Invalid:         http.StatusUnprocessableEntity,
	models.BadRequest:      http.StatusBadRequest,
	models.NotFound:        http.StatusNotFound,
	models.Forbidden:       http.StatusForbidden,
	models.Conflict:        http.StatusConflict,
	models.Gone:            http.StatusGone,
	models.TooManyRequests: http.StatusTooManyRequests,
	models.Unauthorized:    http.StatusUnauthorized,
	models.TooLarge:        http.StatusRequestEntityTooLarge,
	models.Internal:        http.StatusInternalServerError,
}

// defaultTitles name each status for a person, when the error has no title.
var defaultTitles = map[int]string{
	http.StatusBadRequest:            "That request was not understood",
	http.StatusUnauthorized:          "Please log in",
	http.StatusForbidden:             "You do not have access to this",
	http.StatusNotFound:              "Page not found",
	http.StatusMethodNotAllowed:      "That action is not available here",
	http.StatusConflict:              "That clashes with a recent change",
	http.StatusGone:                  "This link no longer works",
	http.StatusRequestEntityTooLarge: "That was too much to send",
	http.StatusUnprocessableEntity:   "Please check what you entered",
	http.StatusTooManyRequests:       "Too many attempts",
	http.StatusInternalServerError:   "Something went wrong",
	http.StatusServiceUnavailable:    "Switchboard is busy",
}

var defaultMessages = map[int]string{
	http.StatusBadRequest:            "The page sent something we could not read. Go back and try again.",
	http.StatusNotFound:              "We could not find that. It may have been removed, or it is not yours to see.",
	http.StatusMethodNotAllowed:      "Go back to the page you came from and use its buttons.",
	http.StatusRequestEntityTooLarge: "The form was larger than Switchboard accepts. Shorten the text and try again.",
	http.StatusTooManyRequests:       "Please wait a few minutes before trying again.",
	http.StatusInternalServerError:   "Something went wrong on our side. Please try again in a moment.",
}

// errorHandler turns any error into a friendly page with the right status.
// Internals go to the log, never to the page.
func errorHandler(h *handlers.Handlers) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := views.ErrorProps{Status: http.StatusInternalServerError}
		var appErr *models.Error
		var httpErr *echo.HTTPError
		switch {
		case errors.As(err, &appErr):
			p.Status = statusOf[appErr.Code]
			p.Title = appErr.Title
			if appErr.Code != models.Internal {
				p.Message = appErr.Message
			}
			if !appErr.RetryAt.IsZero() {
				p.RetryAt, p.Now = appErr.RetryAt, h.Store.Now()
				handlers.SetRetryAfter(c, p.RetryAt, p.Now)
			}
		case errors.As(err, &httpErr):
			p.Status = httpErr.Code
		}
		if p.Status == 0 || p.Status >= 500 {
			requestLogger(c).Error("request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
			if p.Status == 0 {
				p.Status = http.StatusInternalServerError
			}
			p.Message = ""
		}
		if p.Title == "" {
			p.Title = defaultTitles[p.Status]
			if p.Title == "" {
				p.Title = http.StatusText(p.Status)
			}
		}
		if p.Message == "" {
			p.Message = defaultMessages[p.Status]
		}
		switch p.Status {
		case http.StatusUnauthorized:
			p.ActionHref, p.ActionLabel = "/login", "Log in"
		case http.StatusGone, http.StatusNotFound, http.StatusForbidden, http.StatusConflict:
			p.ActionHref, p.ActionLabel = "/", "Go to your home page"
			if handlers.ViewerOf(c) == nil {
				p.ActionHref, p.ActionLabel = "/login", "Go to the login page"
			}
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(p.Status)
			return
		}
		if rerr := h.Render(c, p.Status, views.ErrorPage(p)); rerr != nil {
			requestLogger(c).Error("render error page", "err", rerr)
			_ = c.String(p.Status, p.Title)
		}
	}
}
