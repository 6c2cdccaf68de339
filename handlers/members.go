package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// Edit User and what can be done to a person: promote, demote, disable,
// re-enable, delete (journeys 7 and 8). Every rule lives in models; these
// handlers read one input struct per action, call the store, and render.

// formOf reads a form and refuses fields sent more than once: a form of
// ours never repeats them, so a repeat is a forged request.
func formOf(c echo.Context, singles ...string) (url.Values, error) {
	form, err := c.FormParams()
	if err != nil {
		return nil, models.Errorf(models.BadRequest, "The form could not be read.")
	}
	for _, name := range singles {
		if len(form[name]) > 1 {
			return nil, models.Errorf(models.BadRequest, "The form sent %q more than once.", name)
		}
	}
	return form, nil
}

// typeParam reads the one "to" value of a query or form; odd values
// ("SuperAdmin", "ADMIN", " admin", repeats) are a 400.
func typeParam(values url.Values) (models.UserType, error) {
	if len(values["to"]) != 1 {
		return "", models.Errorf(models.BadRequest, "Say exactly one type to change to.")
	}
	return models.ParseUserType(values.Get("to"))
}

func companyIDs(form url.Values) ([]uint, error) {
	if len(form["company"]) > models.MaxDraftCompanies {
		return nil, models.Errorf(models.BadRequest, "Too many companies were sent.")
	}
	var ids []uint
	for _, raw := range form["company"] {
		id, err := parseID(raw)
		if err != nil {
			return nil, models.Errorf(models.BadRequest, "A company in the form is not valid.")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// refused shows a change that clashes with the account's state (the last
// Admin, a disabled person) with a way back to the person.
func (h *Handlers) refused(c echo.Context, err error, id uint) error {
	if e := tooManyError(err); e != nil {
		return h.tooMany(c, e, views.ErrorProps{ActionHref: views.MemberPath(id, ""), ActionLabel: "Back to the user"})
	}
	var e *models.Error
	if !errors.As(err, &e) || e.Code != models.Conflict {
		return err
	}
	title := e.Title
	if title == "" {
		title = "That cannot be done now"
	}
	return h.render(c, http.StatusConflict, "users", views.ErrorPage(views.ErrorProps{Status: http.StatusConflict,
		Title: title, Message: e.Message, ActionHref: views.MemberPath(id, ""), ActionLabel: "Back to the user"}))
}

// editTarget reads the :id of a /users/:id page and loads that person for
// Edit User in the viewer's scope (404 outside it).
func (h *Handlers) editTarget(c echo.Context) (*models.Viewer, uint, *models.MemberDetail, error) {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return nil, 0, nil, err
	}
	d, err := h.Store.MemberForEdit(c.Request().Context(), v, id)
	if err != nil {
		return nil, 0, nil, err
	}
	return v, id, d, nil
}

// EditUser serves GET /users/:id: Edit User.
func (h *Handlers) EditUser(c echo.Context) error {
	_, _, d, err := h.editTarget(c)
	if err != nil {
		return err
	}
	return h.renderEditUser(c, http.StatusOK, d, views.NewMemberForm(d.Member))
}

func (h *Handlers) renderEditUser(c echo.Context, status int, d *models.MemberDetail, form views.MemberForm) error {
	p := views.EditUserProps{Detail: d, Form: form, Account: ViewerOf(c).Account.Name, TypeLosses: map[models.UserType][]string{}}
	// The dialogs on the page say what deleting or demoting the person
	// takes away in the areas (ring groups…).
	ctx := c.Request().Context()
	var err error
	path := views.MemberNotificationsPath(d.Member.ID)
	if p.Notifications, err = h.notifySection(c, d.Member.ID, path, views.MemberPath(d.Member.ID, "")); err != nil {
		return err
	}
	if p.DeleteLosses, err = h.Store.DeleteLosses(ctx, &d.Member); err != nil {
		return err
	}
	if p.DisableLosses, err = h.Store.DisableLosses(ctx, &d.Member); err != nil {
		return err
	}
	p.CompanyLosses = map[uint][]string{}
	// One question per company; people with very many companies are told
	// on the company's own Remove confirmation instead.
	for i := range d.Companies[:min(len(d.Companies), 50)] {
		losses, err := h.Store.UnassignLosses(ctx, &d.Companies[i], []models.Membership{d.Member})
		if err != nil {
			return err
		}
		p.CompanyLosses[d.Companies[i].ID] = losses[d.Member.ID]
	}
	for _, plan := range d.Plans {
		if plan.Promotion() {
			continue
		}
		if p.TypeLosses[plan.To], err = h.Store.TypeChangeLosses(ctx, &d.Member, plan.To); err != nil {
			return err
		}
	}
	return h.render(c, status, "users", views.EditUserPage(p))
}

// EditUserPost serves POST /users/:id: saves names, the invoice-email
// opt-in and, for a pending invitee, a corrected address.
func (h *Handlers) EditUserPost(c echo.Context) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	form, err := formOf(c, "first_name", "last_name", "email", "invoice_emails")
	if err != nil {
		return err
	}
	in := models.MemberUpdate{FirstName: form.Get("first_name"), LastName: form.Get("last_name"),
		InvoiceEmails: form.Get("invoice_emails") == "on"}
	if _, ok := form["email"]; ok {
		email := form.Get("email")
		in.Email = &email
	}
	ctx := c.Request().Context()
	res, err := h.Store.UpdateMember(ctx, v, id, in, c.RealIP())
	tooMany := tooManyError(err)
	if isFieldError(err) || tooMany != nil {
		d, derr := h.Store.MemberForEdit(ctx, v, id)
		if derr != nil {
			return derr
		}
		typed := views.MemberForm{FirstName: in.FirstName, LastName: in.LastName, Email: d.Member.Email,
			InvoiceEmails: in.InvoiceEmails, Errors: models.ErrorFields(err)}
		if in.Email != nil {
			typed.Email = *in.Email
		}
		status := http.StatusUnprocessableEntity
		if tooMany != nil {
			// A corrected address sends an invitation, which a limit
			// refused: nothing was saved, the form keeps what was typed.
			status = http.StatusTooManyRequests
			typed.Refused = views.Refusal{Message: tooMany.Message, RetryAt: tooMany.RetryAt, Now: h.Store.Now()}
			SetRetryAfter(c, tooMany.RetryAt, typed.Refused.Now)
		}
		return h.renderEditUser(c, status, d, typed)
	}
	if err != nil {
		return err
	}
	msg := "Nothing changed."
	switch {
	case res.Reinvited:
		h.mailQueued()
		msg = "Saved. A new invitation is on its way to " + res.Member.Email + "; the link sent to the old address no longer works."
	case res.AddressChanged:
		h.mailQueued()
		msg = "Saved. " + res.Member.FirstName + "'s emails now go to " + res.Member.Email + "; the old and the new address have both been told."
	case res.Changed:
		msg = "Saved the changes to " + res.Member.FullName() + "."
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, views.MemberPath(id, ""))
}

// AddUserCompany serves POST /users/:id/companies/add.
func (h *Handlers) AddUserCompany(c echo.Context) error { return h.changeUserCompany(c, true) }

// RemoveUserCompanyForm serves GET /users/:id/companies/remove?company=N:
// the confirmation that names the person, the company and what they lose
// (Edit User without JavaScript).
func (h *Handlers) RemoveUserCompanyForm(c echo.Context) error {
	v, id, d, err := h.editTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	companyID, err := parseID(c.QueryParam("company"))
	if err != nil {
		return models.Errorf(models.BadRequest, "Choose a company.")
	}
	co, err := h.Store.FindCompany(ctx, v, companyID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(d.Companies, func(x models.Company) bool { return x.ID == co.ID }) {
		_ = h.Sessions.Flash(c, views.Flash{Kind: "info", Message: d.Member.FullName() + " does not see " + co.Name + "."})
		return redirect(c, views.MemberPath(id, ""))
	}
	losses, err := h.Store.UnassignLosses(ctx, co, []models.Membership{d.Member})
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.RemoveCompanyPage(views.RemoveCompanyProps{Member: d.Member, Company: *co, Losses: losses[d.Member.ID],
		FromUser: true, Sole: d.SoleCompany() == co.ID}))
}

// RemoveUserCompany serves POST /users/:id/companies/remove.
func (h *Handlers) RemoveUserCompany(c echo.Context) error { return h.changeUserCompany(c, false) }

func (h *Handlers) changeUserCompany(c echo.Context, add bool) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	form, err := formOf(c, "company")
	if err != nil {
		return err
	}
	companyID, err := parseID(form.Get("company"))
	if err != nil {
		return models.Errorf(models.BadRequest, "Choose a company.")
	}
	ctx := c.Request().Context()
	// Edit User is the Admins' page; Managers add and remove people on
	// the companies' own pages. The person and the company are looked up
	// in the viewer's scope before the right is asked (policy.go).
	if _, err := h.Store.FindCompany(ctx, v, companyID); err != nil {
		return err
	}
	if _, err := h.Store.EditableMember(ctx, v, id); err != nil {
		return err
	}
	var m *models.Membership
	var co *models.Company
	if add {
		m, co, err = h.Store.AssignCompany(ctx, v, id, companyID, c.RealIP())
	} else {
		m, co, err = h.Store.UnassignCompany(ctx, v, id, companyID, c.RealIP())
	}
	if err != nil {
		return h.refused(c, err, id)
	}
	msg := m.FullName() + " now sees " + co.Name + "."
	if !add {
		msg = m.FullName() + " no longer sees " + co.Name + "."
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, views.MemberPath(id, ""))
}

// TypeChangeForm serves GET /users/:id/promote?to=… and
// GET /users/:id/demote?to=…: the confirmation page behind the dialogs.
func (h *Handlers) TypeChangeForm(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	to, err := typeParam(c.QueryParams())
	if err != nil {
		return err
	}
	plan, err := h.Store.TypeChangePlan(c.Request().Context(), ViewerOf(c), id, to)
	if err != nil {
		return h.refused(c, err, id)
	}
	if promote := c.Path() == "/users/:id/promote"; plan.Promotion() != promote {
		return models.Errorf(models.BadRequest, "Moving %s to %s is not what this page does. Go back to Edit User and use its buttons.", plan.Member.FullName(), to.Label())
	}
	losses, err := h.Store.TypeChangeLosses(c.Request().Context(), &plan.Member, to)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.TypeChangePage(views.TypeChangeProps{Plan: *plan, Account: ViewerOf(c).Account.Name, Losses: losses}))
}

// ChangeType serves POST /users/:id/type: promote or demote. People who
// demote themselves confirm twice, and are logged out where they lose
// their login.
func (h *Handlers) ChangeType(c echo.Context) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	form, err := formOf(c, "to", "message", "understood", "confirming")
	if err != nil {
		return err
	}
	to, err := typeParam(form)
	if err != nil {
		return err
	}
	ids, err := companyIDs(form)
	if err != nil {
		return err
	}
	in := models.TypeChangeInput{To: to, Message: form.Get("message"), CompanyIDs: ids}
	ctx := c.Request().Context()
	self := id == v.Membership.ID
	if self && to.Rank() < v.Type().Rank() && form.Get("understood") != "yes" {
		// Ask once more, after the form itself is known to be complete.
		plan, err := h.Store.TypeChangePlan(ctx, v, id, to)
		if err != nil {
			return h.refused(c, err, id)
		}
		if fields := models.CheckTypeChangeInput(*plan, in); len(fields) > 0 {
			return h.render(c, http.StatusUnprocessableEntity, "users", views.TypeChangePage(views.TypeChangeProps{
				Plan: *plan, Account: v.Account.Name, Message: in.Message, CompanyIDs: ids, Errors: fields}))
		}
		p := views.SelfConfirmProps{Member: plan.Member, Account: v.Account.Name, To: to, Message: in.Message,
			CompanyIDs: ids, LosesLogin: plan.EndsLogin}
		return h.selfConfirm(c, form, p)
	}
	change, err := h.Store.ChangeType(ctx, v, id, in, c.RealIP())
	if isFieldError(err) {
		plan, perr := h.Store.TypeChangePlan(ctx, v, id, to)
		if perr != nil {
			return h.refused(c, perr, id)
		}
		return h.render(c, http.StatusUnprocessableEntity, "users", views.TypeChangePage(views.TypeChangeProps{
			Plan: *plan, Account: v.Account.Name, Message: in.Message, CompanyIDs: ids, Errors: models.ErrorFields(err)}))
	}
	if err != nil {
		return h.refused(c, err, id)
	}
	h.mailQueued()
	m := change.Member
	if self {
		if change.LoginEnded {
			return h.loggedOut(c, "Your type in "+v.Account.Name+" is now "+to.Label()+", so you no longer log in to it. You have been logged out.")
		}
		_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your type is now " + to.Label() + "."})
		return redirect(c, models.HomePath(to))
	}
	msg := m.FullName() + " is now " + to.WithArticle() + " user. The change applies from their next page, and they have been emailed."
	if change.Invited {
		msg = m.FullName() + " is now " + to.WithArticle() + " user. An invitation to set a password is on its way to " + m.Email + "."
	}
	if change.LoginEnded {
		msg = m.FullName() + " is now a Notification user: their login to " + v.Account.Name + " has ended and they have been emailed."
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, views.MemberPath(id, ""))
}

// selfConfirm is the second question people get before they delete or
// demote themselves; sent back without the box ticked, it says so (422).
func (h *Handlers) selfConfirm(c echo.Context, form url.Values, p views.SelfConfirmProps) error {
	status := http.StatusOK
	if form.Get("confirming") != "" {
		status = http.StatusUnprocessableEntity
		p.Error = "Tick the box to confirm, or cancel."
	}
	return h.render(c, status, "users", views.SelfConfirmPage(p))
}

// loggedOut ends the viewer's session after they removed their own access.
func (h *Handlers) loggedOut(c echo.Context, message string) error {
	if err := h.Sessions.LogOut(c); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "info", Message: message})
	return redirect(c, "/login")
}

// DisableUserForm serves GET /users/:id/disable: the confirmation that
// names the person and what they lose (Edit User without JavaScript).
func (h *Handlers) DisableUserForm(c echo.Context) error {
	v, id, d, err := h.editTarget(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if !models.CanManageUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can disable users.")
	}
	if d.LastActiveAdmin {
		return h.refused(c, models.LastAdminError(&d.Member, v.Account.Name), id)
	}
	if d.Member.Status == models.MemberDisabled {
		return redirect(c, views.MemberPath(id, ""))
	}
	losses, err := h.Store.DisableLosses(ctx, &d.Member)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.DisableUserPage(views.DisableProps{Member: d.Member, Account: v.Account.Name, Self: d.Self, Losses: losses}))
}

// DisableUser serves POST /users/:id/disable.
func (h *Handlers) DisableUser(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	m, err := h.Store.DisableMember(c.Request().Context(), ViewerOf(c), id, c.RealIP())
	if err != nil {
		return h.refused(c, err, id)
	}
	if id == ViewerOf(c).Membership.ID {
		return h.loggedOut(c, "You disabled your own user, so you have been logged out.")
	}
	// The flash offers the way back at once.
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: m.FullName() + " is disabled: they cannot log in and get no email from this account until re-enabled.",
		Undo: views.MemberPath(id, "/enable"), UndoLabel: "Re-enable " + m.FullName()})
	return redirect(c, views.MemberPath(id, ""))
}

// EnableUser serves POST /users/:id/enable.
func (h *Handlers) EnableUser(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	m, err := h.Store.EnableMember(c.Request().Context(), ViewerOf(c), id, c.RealIP())
	if err != nil {
		return h.refused(c, err, id)
	}
	msg := m.FullName() + " is enabled again."
	if m.Status == models.MemberInvited {
		msg += " They had not set a password yet: resend the invitation to give them a new link."
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, views.MemberPath(id, ""))
}

// DeleteUserForm serves GET /users/:id/delete: the confirmation that names
// the person (the trash icon, and Edit User without JavaScript).
func (h *Handlers) DeleteUserForm(c echo.Context) error {
	v, _, d, err := h.editTarget(c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if d.LastActiveAdmin {
		status = http.StatusConflict
	}
	losses, err := h.Store.DeleteLosses(c.Request().Context(), &d.Member)
	if err != nil {
		return err
	}
	return h.render(c, status, "users", views.DeleteUserPage(views.DeleteProps{Member: d.Member, Account: v.Account.Name,
		Self: d.Self, LastActiveAdmin: d.LastActiveAdmin, Return: "/users", Losses: losses}))
}

// DeleteUser serves POST /users/:id/delete. Deleting yourself asks twice
// and logs you out.
func (h *Handlers) DeleteUser(c echo.Context) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	form, err := formOf(c, "understood", "confirming")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	self := id == v.Membership.ID
	if self && form.Get("understood") != "yes" {
		d, err := h.Store.MemberForEdit(ctx, v, id)
		if err != nil {
			return err
		}
		if d.LastActiveAdmin {
			return h.refused(c, models.LastAdminError(&d.Member, v.Account.Name), id)
		}
		return h.selfConfirm(c, form, views.SelfConfirmProps{Member: d.Member, Account: v.Account.Name, Delete: true, LosesLogin: true})
	}
	m, err := h.Store.DeleteMember(ctx, v, id, c.RealIP())
	if err != nil {
		return h.refused(c, err, id)
	}
	if self {
		return h.loggedOut(c, "You deleted yourself from "+v.Account.Name+" and have been logged out.")
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: m.FullName() + " (" + m.Email + ") was deleted. The audit log keeps the history."})
	return redirect(c, "/users")
}

// ClearLoginThrottle serves POST /users/:id/login-throttle/clear: an Admin
// lifts the slow-down and locks that failed attempts put on a person's
// login (models check that they may edit the person, and record it).
func (h *Handlers) ClearLoginThrottle(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	m, _, err := h.Store.ClearLoginThrottle(c.Request().Context(), ViewerOf(c), id, c.RealIP())
	if err != nil {
		return h.refused(c, err, id)
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Logins to " + m.Email + " are no longer slowed down or locked."})
	return redirect(c, views.MemberPath(id, ""))
}
