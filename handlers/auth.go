package handlers

import (
	"net/http"
	"strings"

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
// status. Failed attempts slow further ones down (per login) or have them
// refused for a while (per client address, or per browser for one that
// has logged in as that person before): models decide, and a refusal gets
// a page that says when to try again and how to reset the password.
func (h *Handlers) LoginPost(c echo.Context) error {
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	m, err := h.Store.Authenticate(c.Request().Context(), email, password, h.passwordAttempt(c, email))
	if models.ErrorCode(err) == models.Unauthorized {
		return h.render(c, http.StatusUnauthorized, "", views.LoginPage(views.LoginForm{Email: email, Error: models.ErrorMessage(err), Next: returnPath(c.QueryParam("next"), "")}))
	}
	if e := tooManyError(err); e != nil {
		return h.tooMany(c, e, views.ErrorProps{ActionHref: "/password/forgot", ActionLabel: "Reset your password",
			SecondaryHref: "/login", SecondaryLabel: "Back to log in"})
	}
	if err != nil {
		return err
	}
	// The address as stored is the login's canonical one.
	h.Sessions.RememberDevice(c, m.Email)
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
