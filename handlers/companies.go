package handlers

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// Companies serves GET /companies: Active and Disabled lists for Admins,
// the assigned companies for everyone else.
func (h *Handlers) Companies(c echo.Context) error {
	v := ViewerOf(c)
	status := models.CompanyStatus(c.QueryParam("status"))
	page, err := h.Store.ListCompanies(c.Request().Context(), v, models.CompanyFilter{
		Status: status, Query: c.QueryParam("q"), After: c.QueryParam("after"),
	})
	if err != nil {
		return err
	}
	if status == "" {
		status = models.CompanyActive
	}
	return h.render(c, http.StatusOK, "companies", views.CompaniesPage(views.CompaniesProps{Page: page, Status: status, Query: c.QueryParam("q")}))
}

// Company serves GET /companies/:id: the company's own page, linking to
// what the viewer may open there (Call Log, report, numbers, users).
func (h *Handlers) Company(c echo.Context) error {
	v := ViewerOf(c)
	co, err := h.companyParam(c)
	if err != nil {
		return err
	}
	if co.Status != models.CompanyActive {
		return models.Errorf(models.Conflict, "%s is disabled. Enable it again from the Disabled list to open it.", co.Name)
	}
	t := v.Type()
	return h.render(c, http.StatusOK, "companies", views.CompanyPage(views.CompanyPageProps{Company: *co,
		CanUsers: models.CanViewUsers(t), CanNumbers: models.Can(t, models.CapTrackingNumbers),
		CanCalls: models.Can(t, models.CapReviewCalls), CanCompanies: models.CanManageCompanies(t),
		CanNotifications: models.CanViewCompanyRecipients(t)}))
}

// NewCompany serves GET /companies/new.
func (h *Handlers) NewCompany(c echo.Context) error {
	v := ViewerOf(c)
	if !models.CanManageCompanies(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can create companies.")
	}
	// A new company counts its days where the account does, unless the
	// Admin chooses otherwise; an account without a zone keeps UTC.
	zone := v.Account.TimeZone
	if zone == "" {
		zone = "UTC"
	}
	return h.render(c, http.StatusOK, "companies", views.CompanyFormPage(views.CompanyFormProps{Zone: zone}))
}

// CreateCompany serves POST /companies.
func (h *Handlers) CreateCompany(c echo.Context) error {
	in := models.CompanyInput{Name: c.FormValue("name"), TimeZone: c.FormValue("time_zone")}
	co, err := h.Store.CreateCompany(c.Request().Context(), ViewerOf(c), in, c.RealIP())
	if isFieldError(err) {
		return h.render(c, http.StatusUnprocessableEntity, "companies", views.CompanyFormPage(views.CompanyFormProps{
			Name: in.Name, Zone: in.TimeZone, Errors: models.ErrorFields(err)}))
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: co.Name + " was created. Add people to it with Invite user."})
	return redirect(c, views.CompanyPath(*co, "/users?invite=1"))
}

// companyParam finds the company of the :id in the path that the viewer may
// see. Handlers ask it before any right, so a company outside the viewer's
// scope is 404 and a 403 only ever concerns one they see (policy.go).
func (h *Handlers) companyParam(c echo.Context) (*models.Company, error) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return nil, err
	}
	return h.Store.FindCompany(c.Request().Context(), ViewerOf(c), id)
}

// CompanyInScope answers nil when the company of the :id in the path is
// one the viewer may see, and the 404 otherwise: the scope half of a
// route's capability gate (web's can).
func (h *Handlers) CompanyInScope(c echo.Context) error {
	_, err := h.companyParam(c)
	return err
}

// EditCompany serves GET /companies/:id/edit.
func (h *Handlers) EditCompany(c echo.Context) error {
	co, err := h.companyParam(c)
	if err != nil {
		return err
	}
	if !models.CanManageCompanies(ViewerOf(c).Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can change companies.")
	}
	return h.render(c, http.StatusOK, "companies", views.CompanyFormPage(views.CompanyFormProps{Company: co, Name: co.Name, Zone: co.TimeZone}))
}

// UpdateCompany serves POST /companies/:id.
func (h *Handlers) UpdateCompany(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	in := models.CompanyInput{Name: c.FormValue("name"), TimeZone: c.FormValue("time_zone")}
	co, err := h.Store.UpdateCompany(c.Request().Context(), ViewerOf(c), id, in, c.RealIP())
	if isFieldError(err) {
		current, ferr := h.Store.FindCompany(c.Request().Context(), ViewerOf(c), id)
		if ferr != nil {
			return ferr
		}
		return h.render(c, http.StatusUnprocessableEntity, "companies", views.CompanyFormPage(views.CompanyFormProps{
			Company: current, Name: in.Name, Zone: in.TimeZone, Errors: models.ErrorFields(err)}))
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: co.Name + " was saved."})
	return redirect(c, "/companies")
}

// ConfirmDisableCompany serves GET /companies/:id/disable: who loses sight.
func (h *Handlers) ConfirmDisableCompany(c echo.Context) error {
	v := ViewerOf(c)
	co, err := h.companyParam(c)
	if err != nil {
		return err
	}
	if !models.CanManageCompanies(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can disable companies.")
	}
	if co.Status != models.CompanyActive {
		return redirect(c, "/companies?status=disabled")
	}
	people, err := h.Store.PeopleOfCompany(c.Request().Context(), v, co)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "companies", views.CompanyDisablePage(views.CompanyDisableProps{Company: *co, Losing: people.Assigned}))
}

// DisableCompany serves POST /companies/:id/disable.
func (h *Handlers) DisableCompany(c echo.Context) error {
	return h.setCompanyStatus(c, models.CompanyDisabled, " is disabled. Find it in the Disabled list to enable it again.")
}

// EnableCompany serves POST /companies/:id/enable.
func (h *Handlers) EnableCompany(c echo.Context) error {
	return h.setCompanyStatus(c, models.CompanyActive, " is active again; everyone assigned to it sees it again.")
}

func (h *Handlers) setCompanyStatus(c echo.Context, status models.CompanyStatus, message string) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	co, err := h.Store.SetCompanyStatus(c.Request().Context(), ViewerOf(c), id, status, c.RealIP())
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: co.Name + message})
	if status == models.CompanyDisabled {
		return redirect(c, "/companies")
	}
	return redirect(c, "/companies?status=disabled")
}

// CompanyUsers serves GET /companies/:id/users: everyone who can see the
// company, or (?invite=1) the people who can be added with a +.
func (h *Handlers) CompanyUsers(c echo.Context) error {
	v := ViewerOf(c)
	co, err := h.companyParam(c)
	if err != nil {
		return err
	}
	if !models.CanViewUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Your type of user cannot change who sees a company.")
	}
	if co.Status != models.CompanyActive {
		return models.Errorf(models.Conflict, "%s is disabled. Enable it again before changing its users.", co.Name)
	}
	ctx := c.Request().Context()
	props := views.CompanyUsersProps{Company: *co, Inviting: c.QueryParam("invite") == "1", Query: c.QueryParam("q")}
	if props.Inviting {
		props.Candidates, props.More, err = h.Store.CompanyCandidates(ctx, v, co, props.Query)
	} else if props.People, err = h.Store.PeopleOfCompany(ctx, v, co); err == nil {
		// Each Remove confirmation says what the person would lose, and,
		// to an Admin, whether this is their last company.
		if props.Losses, err = h.Store.UnassignLosses(ctx, co, props.People.Assigned); err == nil {
			props.Sole, err = h.Store.SoleCompany(ctx, v, co, props.People.Assigned)
		}
	}
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "companies", views.CompanyUsersPage(props))
}

// AddCompanyUser serves POST /companies/:id/users: the + of Invite user.
func (h *Handlers) AddCompanyUser(c echo.Context) error {
	companyID, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	memberID, err := parseID(c.FormValue("member"))
	if err != nil {
		return err
	}
	m, co, err := h.Store.AssignCompany(c.Request().Context(), ViewerOf(c), memberID, companyID, c.RealIP())
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: m.FullName() + " now has access to " + co.Name + "."})
	return redirect(c, views.CompanyPath(*co, "/users?invite=1"))
}

// RemoveCompanyUserForm serves GET /companies/:id/users/:member/remove:
// the confirmation that names the person and what they lose (without
// JavaScript).
func (h *Handlers) RemoveCompanyUserForm(c echo.Context) error {
	v := ViewerOf(c)
	co, err := h.companyParam(c)
	if err != nil {
		return err
	}
	if co.Status != models.CompanyActive {
		return models.Errorf(models.Conflict, "%s is disabled. Enable it again before changing its users.", co.Name)
	}
	memberID, err := parseID(c.Param("member"))
	if err != nil {
		return err
	}
	// As the removal itself does: the person is looked up in the viewer's
	// scope before any right is asked.
	ctx := c.Request().Context()
	m, err := h.Store.FindVisibleMember(ctx, v, memberID)
	if err != nil {
		return err
	}
	if !models.CanViewUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Your type of user cannot change who sees a company.")
	}
	people, err := h.Store.PeopleOfCompany(ctx, v, co)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(people.Assigned, func(x models.Membership) bool { return x.ID == m.ID }) {
		_ = h.Sessions.Flash(c, views.Flash{Kind: "info", Message: m.FullName() + " does not see " + co.Name + "."})
		return redirect(c, views.CompanyPath(*co, "/users"))
	}
	if !models.CanAssign(v.Type(), m.Type) {
		return models.Errorf(models.Forbidden, "Your type of user cannot remove %s user from a company.", m.Type.WithArticle())
	}
	losses, err := h.Store.UnassignLosses(ctx, co, []models.Membership{*m})
	if err != nil {
		return err
	}
	sole, err := h.Store.SoleCompany(ctx, v, co, []models.Membership{*m})
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "companies", views.RemoveCompanyPage(views.RemoveCompanyProps{Member: *m, Company: *co, Losses: losses[m.ID], Sole: sole[m.ID]}))
}

// RemoveCompanyUser serves POST /companies/:id/users/:member/remove.
func (h *Handlers) RemoveCompanyUser(c echo.Context) error {
	companyID, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	memberID, err := parseID(c.Param("member"))
	if err != nil {
		return err
	}
	m, co, err := h.Store.UnassignCompany(c.Request().Context(), ViewerOf(c), memberID, companyID, c.RealIP())
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: m.FullName() + " no longer has access to " + co.Name + "."})
	return redirect(c, views.CompanyPath(*co, "/users"))
}

// SwitchCompany serves GET /switch-company: the companies one may work in.
func (h *Handlers) SwitchCompany(c echo.Context) error {
	page, err := h.Store.ListCompanies(c.Request().Context(), ViewerOf(c), models.CompanyFilter{Query: c.QueryParam("q")})
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "", views.SwitchCompanyPage(views.SwitchCompanyProps{Page: page, Query: c.QueryParam("q")}))
}

// SwitchCompanyPost serves POST /switch-company.
func (h *Handlers) SwitchCompanyPost(c echo.Context) error {
	id, err := parseID(c.FormValue("company"))
	if err != nil {
		return err
	}
	co, err := h.Store.FindCompany(c.Request().Context(), ViewerOf(c), id)
	if err != nil {
		return err
	}
	if co.Status != models.CompanyActive {
		return models.ErrNotFound()
	}
	if err := h.Sessions.SetCurrentCompany(c, co.ID); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "You are now working in " + co.Name + "."})
	return redirect(c, "/")
}
