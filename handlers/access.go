package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// Account serves GET /account: Account Settings (for Admins the account's
// name, time zone, number and incoming requests; for everyone their own
// time zone, accounts, requesting access, leaving).
func (h *Handlers) Account(c echo.Context) error {
	return h.renderAccount(c, http.StatusOK, nil)
}

// renderAccount draws Account settings; typed adjusts the forms after an
// error.
func (h *Handlers) renderAccount(c echo.Context, status int, typed func(*views.AccountProps)) error {
	v := ViewerOf(c)
	ctx := c.Request().Context()
	accounts, err := h.Store.AccountsOf(ctx, v)
	if err != nil {
		return err
	}
	last, err := h.Store.IsLastActiveAdmin(ctx, v)
	if err != nil {
		return err
	}
	p := views.AccountProps{Accounts: accounts, LastAdmin: last,
		Settings:   views.AccountSettingsForm{Name: v.Account.Name, TimeZone: v.Account.TimeZone},
		MyTimeZone: v.Login.TimeZone, Now: h.Store.Now()}
	if models.CanManageUsers(v.Type()) {
		if p.Incoming, err = h.Store.IncomingAccessRequests(ctx, v); err != nil {
			return err
		}
	}
	if p.Phone, err = h.phoneProps(c); err != nil {
		return err
	}
	if typed != nil {
		typed(&p)
	}
	return h.render(c, status, "account", views.AccountPage(p))
}

// UpdateAccountSettings serves POST /account/settings (Admins): the
// account's name and time zone.
func (h *Handlers) UpdateAccountSettings(c echo.Context) error {
	in := models.AccountSettingsInput{Name: c.FormValue("account_name"), TimeZone: c.FormValue("time_zone")}
	changed, err := h.Store.UpdateAccountSettings(c.Request().Context(), ViewerOf(c), in, c.RealIP())
	if isFieldError(err) {
		return h.renderAccount(c, http.StatusUnprocessableEntity, func(p *views.AccountProps) {
			p.Settings = views.AccountSettingsForm{Name: in.Name, TimeZone: in.TimeZone, Errors: models.ErrorFields(err)}
		})
	}
	if err != nil {
		return err
	}
	msg := "Nothing changed."
	if changed {
		msg = "Saved the account's settings."
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, "/account")
}

// SetMyTimeZone serves POST /account/time-zone: the zone the person reads
// times in, in every account of their login.
func (h *Handlers) SetMyTimeZone(c echo.Context) error {
	zone := c.FormValue("my_time_zone")
	err := h.Store.SetLoginTimeZone(c.Request().Context(), ViewerOf(c), zone)
	if isFieldError(err) {
		return h.renderAccount(c, http.StatusUnprocessableEntity, func(p *views.AccountProps) {
			p.MyTimeZone, p.MyTimeZoneError = zone, models.ErrorFields(err)["my_time_zone"]
		})
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Saved. Times are now shown in your chosen time zone."})
	return redirect(c, "/account#time-zone")
}

// AccessRequests serves GET /access-requests: the request form and one's
// own requests.
func (h *Handlers) AccessRequests(c echo.Context) error {
	return h.renderAccessRequests(c, http.StatusOK, views.AccessRequestsProps{})
}

func (h *Handlers) renderAccessRequests(c echo.Context, status int, p views.AccessRequestsProps) error {
	v := ViewerOf(c)
	if !models.CanRequestAccess(v.Type()) {
		return models.Errorf(models.Forbidden, "Your type of user cannot request access to other accounts.")
	}
	ctx := c.Request().Context()
	mine, err := h.Store.MyAccessRequests(ctx, v)
	if err != nil {
		return err
	}
	if p.Companies, err = h.Store.VisibleCompanies(ctx, v); err != nil {
		return err
	}
	p.Mine, p.Now = mine, h.Store.Now()
	return h.render(c, status, "account", views.AccessRequestsPage(p))
}

// EditAccessRequest serves GET /access-requests/:id/edit: correct the
// number or the note of one's own pending request.
func (h *Handlers) EditAccessRequest(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	r, err := h.Store.FindMyAccessRequest(c.Request().Context(), ViewerOf(c), id)
	if err != nil {
		return err
	}
	return h.renderAccessRequests(c, http.StatusOK, views.AccessRequestsProps{Editing: r, Number: r.Number, Note: r.Note,
		Share: shareOf(r)})
}

// CorrectAccessRequest serves POST /access-requests/:id.
func (h *Handlers) CorrectAccessRequest(c echo.Context) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := h.Store.FindMyAccessRequest(ctx, v, id)
	if err != nil {
		return err
	}
	in := models.AccessRequestInput{Number: c.FormValue("number"), Note: c.FormValue("note"), Share: c.FormValue("share")}
	_, err = h.Store.CorrectAccessRequest(ctx, v, id, in, c.RealIP())
	if isFieldError(err) {
		return h.renderAccessRequests(c, http.StatusUnprocessableEntity, views.AccessRequestsProps{Editing: r,
			Number: in.Number, Note: in.Note, Share: in.Share, Errors: models.ErrorFields(err)})
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your request was corrected. If the number belongs to an account you are not part of yet, its Admins see the request as it is now."})
	return redirect(c, "/access-requests")
}

// shareOf is the form value of what a request shared. A company is named,
// not kept by ID, so a correction asks again.
func shareOf(r *models.AccessRequest) string {
	if r.FromAccount != "" && r.FromCompany == "" {
		return models.ShareAccount
	}
	return ""
}

// RequestAccess serves POST /access-requests. Whatever the number, the
// answer is the same, so account numbers cannot be probed.
func (h *Handlers) RequestAccess(c echo.Context) error {
	in := models.AccessRequestInput{Number: c.FormValue("number"), Note: c.FormValue("note"), Share: c.FormValue("share")}
	_, err := h.Store.RequestAccess(c.Request().Context(), ViewerOf(c), in, c.RealIP())
	if isFieldError(err) {
		return h.renderAccessRequests(c, http.StatusUnprocessableEntity, views.AccessRequestsProps{
			Number: in.Number, Note: in.Note, Share: in.Share, Errors: models.ErrorFields(err)})
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your request was sent. If the number belongs to an account you are not part of yet, its Admins are told by email, and you will hear back when one of them decides."})
	return redirect(c, "/access-requests")
}

// WithdrawAccessRequest serves POST /access-requests/:id/withdraw.
func (h *Handlers) WithdrawAccessRequest(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := h.Store.WithdrawAccessRequest(c.Request().Context(), ViewerOf(c), id); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your request was withdrawn."})
	return redirect(c, "/access-requests")
}

// IncomingAccessRequests serves GET /access-requests/incoming (Admins).
func (h *Handlers) IncomingAccessRequests(c echo.Context) error {
	reqs, err := h.Store.IncomingAccessRequests(c.Request().Context(), ViewerOf(c))
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.IncomingRequestsPage(views.IncomingProps{Requests: reqs}))
}

// ConfirmDecline serves GET /access-requests/:id/decline: the confirmation
// of a decline, naming the person.
func (h *Handlers) ConfirmDecline(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	r, err := h.Store.FindIncomingAccessRequest(c.Request().Context(), ViewerOf(c), id)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.ConfirmDeclinePage(*r))
}

// GrantForm serves GET /access-requests/:id/grant.
func (h *Handlers) GrantForm(c echo.Context) error {
	p := views.GrantProps{Type: models.Reporting}
	// The company the Admin works in is ticked for them.
	co, err := h.workingIn(c)
	if err != nil {
		return err
	}
	if co != nil {
		p.CompanyIDs = []uint{co.ID}
	}
	return h.renderGrant(c, http.StatusOK, p, nil)
}

func (h *Handlers) renderGrant(c echo.Context, status int, p views.GrantProps, fields map[string]string) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := h.Store.FindIncomingAccessRequest(ctx, v, id)
	if err != nil {
		return err
	}
	companies, err := h.Store.VisibleCompanies(ctx, v)
	if err != nil {
		return err
	}
	p.Request, p.Companies, p.Errors = *r, companies, fields
	return h.render(c, status, "users", views.GrantPage(p))
}

// Grant serves POST /access-requests/:id/grant.
func (h *Handlers) Grant(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	form, err := formOf(c, "type")
	if err != nil {
		return err
	}
	in := models.GrantInput{Type: models.UserType(form.Get("type"))}
	if in.CompanyIDs, err = companyIDs(form); err != nil {
		return err
	}
	m, err := h.Store.GrantAccess(c.Request().Context(), ViewerOf(c), id, in, c.RealIP())
	if isFieldError(err) {
		return h.renderGrant(c, http.StatusUnprocessableEntity, views.GrantProps{Type: in.Type, CompanyIDs: in.CompanyIDs}, models.ErrorFields(err))
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: m.FullName() + " now has access as " + m.Type.WithArticle() + " user, and has been told by email."})
	return redirect(c, "/access-requests/incoming")
}

// Decline serves POST /access-requests/:id/decline.
func (h *Handlers) Decline(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	r, err := h.Store.DeclineAccess(c.Request().Context(), ViewerOf(c), id, c.RealIP())
	if err != nil {
		return err
	}
	h.mailQueued()
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: r.RequesterName() + "'s request was declined; they have been told by email."})
	return redirect(c, "/access-requests/incoming")
}

// SwitchAccount serves GET /switch-account.
func (h *Handlers) SwitchAccount(c echo.Context) error {
	accounts, err := h.Store.AccountsOf(c.Request().Context(), ViewerOf(c))
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "account", views.SwitchAccountPage(accounts))
}

// SwitchAccountPost serves POST /switch-account: the session moves to another
// of the login's memberships; everything after follows that account.
func (h *Handlers) SwitchAccountPost(c echo.Context) error {
	id, err := parseID(c.FormValue("membership"))
	if err != nil {
		return err
	}
	choice, err := h.Store.SwitchAccount(c.Request().Context(), ViewerOf(c), id)
	if err != nil {
		return err
	}
	if err := h.Sessions.SetCurrentCompany(c, 0); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "You are now working in " + choice.Account.Name + "."})
	return redirect(c, models.HomePath(choice.Membership.Type))
}

// ConfirmLeave serves GET /account/leave.
func (h *Handlers) ConfirmLeave(c echo.Context) error {
	v := ViewerOf(c)
	losses, err := h.Store.DeleteLosses(c.Request().Context(), &v.Membership)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "account", views.LeaveAccountPage(losses))
}

// Leave serves POST /account/leave.
func (h *Handlers) Leave(c echo.Context) error {
	v := ViewerOf(c)
	next, err := h.Store.LeaveAccount(c.Request().Context(), v, c.RealIP())
	if err != nil {
		return err
	}
	if next == nil {
		if err := h.Sessions.LogOut(c); err != nil {
			return err
		}
		_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "You left " + v.Account.Name + ". You have no other account, so your login was removed."})
		return redirect(c, "/login")
	}
	if err := h.Sessions.SetCurrentCompany(c, 0); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "You left " + v.Account.Name + "."})
	return redirect(c, models.HomePath(next.Type))
}
