package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// SetupForm serves GET /setup/:token, the first-start page printed on an
// empty database.
func (h *Handlers) SetupForm(c echo.Context) error {
	if err := h.Store.CheckSetupLink(c.Request().Context(), c.Param("token")); err != nil {
		return setupLinkError(err)
	}
	return h.render(c, http.StatusOK, "", views.SetupPage(views.SetupForm{TimeZone: "America/New_York"}))
}

// SetupPost serves POST /setup/:token: creates the account, its first company
// and its first Admin, then logs that Admin in.
func (h *Handlers) SetupPost(c echo.Context) error {
	in := models.SetupInput{
		AccountName: c.FormValue("account_name"), CompanyName: c.FormValue("company_name"),
		TimeZone: c.FormValue("time_zone"), FirstName: c.FormValue("first_name"),
		LastName: c.FormValue("last_name"), Email: c.FormValue("email"),
		Password: c.FormValue("password"), Confirm: c.FormValue("confirm"),
	}
	m, err := h.Store.CompleteSetup(c.Request().Context(), c.Param("token"), in)
	if isFieldError(err) {
		form := views.SetupForm{AccountName: in.AccountName, CompanyName: in.CompanyName, TimeZone: in.TimeZone,
			FirstName: in.FirstName, LastName: in.LastName, Email: in.Email,
			Errors: models.ErrorFields(err), Error: models.ErrorMessage(err)}
		return h.render(c, http.StatusUnprocessableEntity, "", views.SetupPage(form))
	}
	if err != nil {
		return setupLinkError(err)
	}
	h.Sessions.RememberDevice(c, m.Email)
	if err := h.Sessions.LogIn(c, m); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your account is ready. Welcome to Switchboard."})
	return redirect(c, models.HomePath(m.Type))
}

// setupLinkError explains a dead first-start link: after setup the way in is
// the login page.
func setupLinkError(err error) error {
	e, ok := err.(*models.Error)
	if !ok || (e.Code != models.Gone && e.Code != models.NotFound) {
		return err
	}
	out := *e
	out.Title = "This setup link no longer works"
	out.Message = "Switchboard is set up only once, and this link has been used or replaced. Log in with the Admin account, or restart the server on an empty database to get a new link."
	return &out
}
