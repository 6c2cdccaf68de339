package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// ChangePasswordForm serves GET /account/password.
func (h *Handlers) ChangePasswordForm(c echo.Context) error {
	return h.render(c, http.StatusOK, "account", views.ChangePasswordPage(views.PasswordForm{}))
}

// ChangePassword serves POST /account/password. Every session of the login
// ends; this browser gets a fresh one.
func (h *Handlers) ChangePassword(c echo.Context) error {
	v := ViewerOf(c)
	err := h.Store.ChangePassword(c.Request().Context(), v, c.FormValue("current"), c.FormValue("password"), c.FormValue("confirm"),
		h.passwordAttempt(c, v.Login.Email))
	if e := tooManyError(err); e != nil {
		return h.tooMany(c, e, views.ErrorProps{ActionHref: "/password/forgot", ActionLabel: "Reset your password",
			SecondaryHref: "/account", SecondaryLabel: "Back to your account"})
	}
	if isFieldError(err) {
		return h.render(c, http.StatusUnprocessableEntity, "account", views.ChangePasswordPage(views.PasswordForm{Errors: models.ErrorFields(err)}))
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	h.Sessions.RememberDevice(c, v.Login.Email)
	if err := h.Sessions.LogIn(c, &v.Membership); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your password was changed. Other sessions were logged out."})
	return redirect(c, "/account")
}

// ForgotPasswordForm serves GET /password/forgot.
func (h *Handlers) ForgotPasswordForm(c echo.Context) error {
	return h.render(c, http.StatusOK, "", views.ForgotPasswordPage(views.PasswordForm{}))
}

// ForgotPassword serves POST /password/forgot. The answer is the same
// whether or not the address has a login. Requests have limits of their
// own (models), which never count as failed logins.
func (h *Handlers) ForgotPassword(c echo.Context) error {
	email := c.FormValue("email")
	err := h.Store.RequestPasswordReset(c.Request().Context(), email, c.RealIP())
	if e := tooManyError(err); e != nil {
		return h.tooMany(c, e, views.ErrorProps{ActionHref: "/login", ActionLabel: "Back to log in"})
	}
	if isFieldError(err) {
		return h.render(c, http.StatusUnprocessableEntity, "", views.ForgotPasswordPage(views.PasswordForm{Email: email, Errors: models.ErrorFields(err)}))
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	return h.render(c, http.StatusOK, "", views.ForgotPasswordPage(views.PasswordForm{Email: email, Sent: true}))
}

// ResetPasswordForm serves GET /password/reset/:token.
func (h *Handlers) ResetPasswordForm(c echo.Context) error {
	login, err := h.Store.FindPasswordReset(c.Request().Context(), c.Param("token"))
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "", views.ResetPasswordPage(views.PasswordForm{Login: login}))
}

// ResetPassword serves POST /password/reset/:token.
func (h *Handlers) ResetPassword(c echo.Context) error {
	ctx := c.Request().Context()
	login, err := h.Store.FindPasswordReset(ctx, c.Param("token"))
	if err != nil {
		return err
	}
	m, err := h.Store.ResetPassword(ctx, c.Param("token"), c.FormValue("password"), c.FormValue("confirm"), c.RealIP())
	if isFieldError(err) {
		return h.render(c, http.StatusUnprocessableEntity, "", views.ResetPasswordPage(views.PasswordForm{Login: login, Errors: models.ErrorFields(err)}))
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	if m == nil {
		_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your password was changed."})
		return redirect(c, "/login")
	}
	h.Sessions.RememberDevice(c, login.Email)
	if err := h.Sessions.LogIn(c, m); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your password was changed and you are logged in."})
	return redirect(c, models.HomePath(m.Type))
}
