package handlers

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// Home serves GET /: the signed-in person's companies and rights.
func (h *Handlers) Home(c echo.Context) error {
	v := ViewerOf(c)
	companies, err := h.Store.VisibleCompanies(c.Request().Context(), v)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "home", views.HomePage(views.HomeProps{Companies: companies}))
}

// Users serves GET /users: the people of the account the viewer may see,
// searched, filtered, sorted both ways and paged by keyset, 25, 50 or 100
// at a time; the URL holds the whole view.
func (h *Handlers) Users(c echo.Context) error {
	v := ViewerOf(c)
	ctx := c.Request().Context()
	filter := models.UserFilter{
		Query: c.QueryParam("q"), Type: models.UserType(c.QueryParam("type")),
		Status: models.ListStatus(c.QueryParam("status")), Sort: c.QueryParam("sort"), Dir: c.QueryParam("dir"),
		After: c.QueryParam("after"), Before: c.QueryParam("before"),
	}
	if raw := c.QueryParam("size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return models.Errorf(models.BadRequest, "A page shows 25, 50 or 100 people.")
		}
		filter.Size = n
	}
	filter, err := models.CleanUserFilter(filter)
	if err != nil {
		return err
	}
	companies, err := h.Store.VisibleCompanies(ctx, v)
	if err != nil {
		return err
	}
	// The company filtered by is looked up in scope before the right is
	// asked: 404 for one the viewer cannot see (policy.go).
	if raw := c.QueryParam("company"); raw != "" {
		id, err := parseID(raw)
		if err != nil || !slices.ContainsFunc(companies, func(co models.Company) bool { return co.ID == id }) {
			return models.ErrNotFound()
		}
		filter.CompanyID = id
	}
	if !models.CanViewUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Your type of user cannot see the users list.")
	}
	page, err := h.Store.FindUsers(ctx, v, filter)
	if err != nil {
		return err
	}
	incoming, err := h.Store.CountIncomingAccessRequests(ctx, v)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.UsersPage(views.UsersProps{
		Page: page, Filter: filter, Companies: companies, Now: h.Store.Now(), Zone: h.Store.Zone(ViewerOf(c)), IncomingRequests: incoming,
	}))
}
