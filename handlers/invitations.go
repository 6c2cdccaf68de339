package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// InvitationForm serves GET /invite/:token: who invited the person to which
// account, and the set-password form.
func (h *Handlers) InvitationForm(c echo.Context) error {
	inv, err := h.Store.FindInvitation(c.Request().Context(), c.Param("token"))
	if err != nil {
		return h.deadInvitation(c, err)
	}
	return h.render(c, http.StatusOK, "", views.InvitationPage(h.invitationForm(c, inv)))
}

func (h *Handlers) invitationForm(c echo.Context, inv *models.Invitation) views.InvitationForm {
	f := views.InvitationForm{Invitation: inv, Path: c.Request().URL.Path}
	if v := ViewerOf(c); v != nil {
		if v.Login.Email != inv.Member.Email {
			f.SignedInAs = v.Login.Email
		} else {
			f.SignedIn = true
		}
	}
	return f
}

// InvitationPost serves POST /invite/:token: sets the password, activates the
// membership and logs the invitee in with a fresh session.
func (h *Handlers) InvitationPost(c echo.Context) error {
	ctx := c.Request().Context()
	inv, err := h.Store.FindInvitation(ctx, c.Param("token"))
	if err != nil {
		return h.deadInvitation(c, err)
	}
	form := h.invitationForm(c, inv)
	if form.SignedInAs != "" {
		// Someone else is logged in here: never attach this invitation
		// to them, nor silently swap who is logged in.
		return h.render(c, http.StatusConflict, "", views.InvitationPage(form))
	}
	if inv.HasLogin {
		// An existing login joins; it never gets a new password here.
		m, err := h.Store.JoinWithInvitation(ctx, ViewerOf(c), c.Param("token"), c.RealIP())
		if err != nil {
			return err
		}
		if err := h.Sessions.LogIn(c, m); err != nil {
			return err
		}
		_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "You joined " + inv.AccountName + ". Switch between your accounts from the header."})
		return redirect(c, models.HomePath(m.Type))
	}
	m, err := h.Store.AcceptInvitation(ctx, c.Param("token"), c.FormValue("password"), c.FormValue("confirm"), c.RealIP())
	if isFieldError(err) {
		form.Errors, form.Error = models.ErrorFields(err), models.ErrorMessage(err)
		return h.render(c, http.StatusUnprocessableEntity, "", views.InvitationPage(form))
	}
	if err != nil {
		return err
	}
	h.Sessions.RememberDevice(c, m.Email)
	if err := h.Sessions.LogIn(c, m); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your password is set and you are logged in."})
	return redirect(c, models.HomePath(m.Type))
}

// deadInvitation answers a link that no longer works. After one that
// expired or was replaced, the page offers "Email me a new link".
func (h *Handlers) deadInvitation(c echo.Context, err error) error {
	e, ok := err.(*models.Error)
	if !ok || !models.LinkRenewable(err) {
		return err
	}
	return h.render(c, http.StatusGone, "", views.ErrorPage(views.ErrorProps{Status: http.StatusGone, Title: e.Title, Message: e.Message,
		RenewAction: c.Request().URL.Path + "/renew", SecondaryHref: "/login", SecondaryLabel: "Go to the login page"}))
}

// RenewInvitation serves POST /invite/:token/renew: "Email me a new link".
// The answer is the same whatever the link (models.RenewInvitation); the
// new link goes only to the address the invitation was made for.
func (h *Handlers) RenewInvitation(c echo.Context) error {
	err := h.Store.RenewInvitation(c.Request().Context(), c.Param("token"), c.RealIP())
	if e := tooManyError(err); e != nil {
		return h.tooMany(c, e, views.ErrorProps{ActionHref: "/login", ActionLabel: "Go to the login page"})
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	return h.render(c, http.StatusOK, "", views.RenewSentPage())
}
