package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// LoginForm serves GET /login.
func (h *Handlers) LoginForm(c echo.Context) error {
	if v := ViewerOf(c); v != nil {
		return redirect(c, models.HomePath(v.Type()))
	}
	return h.render(c, http.StatusOK, "", views.LoginPage(views.LoginForm{Next: returnPath(c.QueryParam("next"), "")}))
}

// LoginPost serves POST /login. Every failure gives the same message and
// status; repeated failures per address and per client are slowed, then refused.
func (h *Handlers) LoginPost(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	keys := map[string]string{"ip": c.RealIP()}
	if canonical, err := models.CanonicalEmail(email); err == nil {
		keys["email"] = canonical
	}
	delay, blockedUntil := h.Throttle.Attempt(keys)
	if !blockedUntil.IsZero() {
		h.Store.ThrottleRefused("login")
		wait := time.Until(blockedUntil).Round(time.Minute)
		if wait < time.Minute {
			wait = time.Minute
		}
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(time.Until(blockedUntil).Seconds())+1))
		return &models.Error{Code: models.TooManyRequests, Title: "Too many login attempts",
			Message: fmt.Sprintf("For your security, logging in is paused after several failed attempts. Try again in about %d minutes, or ask an Admin to check your login.", int(wait.Minutes()))}
	}
	if delay > 0 {
		h.Sleep(delay)
	}
	m, err := h.Store.Authenticate(c.Request().Context(), email, password)
	if models.ErrorCode(err) == models.Unauthorized {
		return h.render(c, http.StatusUnauthorized, "", views.LoginPage(views.LoginForm{Email: email, Error: models.ErrorMessage(err), Next: returnPath(c.QueryParam("next"), "")}))
	}
	if err != nil {
		return err
	}
	h.Throttle.Succeed(keys)
	if err := h.Sessions.LogIn(c, m); err != nil {
		return err
	}
	return redirect(c, returnPath(c.QueryParam("next"), models.HomePath(m.Type)))
}

// Logout serves POST /logout.
func (h *Handlers) Logout(c echo.Context) error {
	if err := h.Sessions.LogOut(c); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "You have logged out."})
	return redirect(c, "/login")
}
