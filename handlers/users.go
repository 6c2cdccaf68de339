package handlers

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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

// usersView is the view of the users list a URL asks for: the filter,
// checked, and the companies the viewer may filter by.
type usersView struct {
	filter    models.UserFilter
	companies []models.Company
}

// parseUsersView reads the view of the list from the query string. A
// company the viewer may not see is answered as one that does not exist.
func (h *Handlers) parseUsersView(c echo.Context) (usersView, error) {
	v := ViewerOf(c)
	filter := models.UserFilter{
		Query: c.QueryParam("q"), Type: models.UserType(c.QueryParam("type")),
		Status: models.ListStatus(c.QueryParam("status")), Sort: c.QueryParam("sort"), Dir: c.QueryParam("dir"),
		After: c.QueryParam("after"), Before: c.QueryParam("before"),
	}
	if raw := c.QueryParam("size"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil {
			return usersView{}, models.Errorf(models.BadRequest, "A page shows 25, 50 or 100 people.")
		}
		filter.Size = n
	}
	filter, err := models.CleanUserFilter(filter)
	if err != nil {
		return usersView{}, err
	}
	companies, err := h.Store.VisibleCompanies(c.Request().Context(), v)
	if err != nil {
		return usersView{}, err
	}
	// The company filtered by is looked up in scope before the right is
	// asked: 404 for one the viewer cannot see (policy.go).
	if raw := c.QueryParam("company"); raw != "" {
		id, err := parseID(raw)
		if err != nil || !slices.ContainsFunc(companies, func(co models.Company) bool { return co.ID == id }) {
			return usersView{}, models.ErrNotFound()
		}
		filter.CompanyID = id
	}
	if !models.CanViewUsers(v.Type()) {
		return usersView{}, models.Errorf(models.Forbidden, "Your type of user cannot see the users list.")
	}
	return usersView{filter: filter, companies: companies}, nil
}

// Users serves GET /users: the people of the account the viewer may see,
// searched, filtered, sorted both ways and paged by keyset, 25, 50 or 100
// at a time; the URL holds the whole view.
func (h *Handlers) Users(c echo.Context) error {
	v := ViewerOf(c)
	view, err := h.parseUsersView(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	incoming, err := h.Store.CountIncomingAccessRequests(ctx, v)
	if err != nil {
		return err
	}
	props := views.UsersProps{Filter: view.filter, Companies: view.companies, Now: h.Store.Now(), Zone: h.Store.Zone(v),
		IncomingRequests: incoming, BulkKey: newFormKey()}
	props.Page, props.Rows, err = h.Store.UserList(ctx, v, view.filter, func(page *models.UserPage) (string, error) {
		rows := props
		rows.Page = page
		return views.UserRowsHTML(v, rows)
	})
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.UsersPage(props))
}

// UsersCompanyPicker serves GET /users/company: the company filter of the
// list as a page of its own, for accounts with more companies than a
// select holds comfortably. It lists the companies the viewer may see
// whose name contains "find" (typing filters the list at once with
// script; without it the search is submitted), each a link to the list
// with the rest of the view kept.
func (h *Handlers) UsersCompanyPicker(c echo.Context) error {
	view, err := h.parseUsersView(c)
	if err != nil {
		return err
	}
	find := strings.TrimSpace(c.QueryParam("find"))
	if len(find) > models.MaxSearchLength {
		return models.Errorf(models.BadRequest, "Search for at most %d characters.", models.MaxSearchLength)
	}
	shown := view.companies
	if find != "" {
		needle := strings.ToLower(find)
		shown = nil
		for _, co := range view.companies {
			if strings.Contains(strings.ToLower(co.Name), needle) {
				shown = append(shown, co)
			}
		}
	}
	return h.render(c, http.StatusOK, "users", views.CompanyPickerPage(views.CompanyPickerProps{
		Filter: view.filter, Companies: shown, Total: len(view.companies), Find: find,
	}))
}

// ExportUsers serves GET /users/export.csv: every person of the view (its
// filters, search and order, not just one page) as CSV, written as it is
// read. A Manager's export holds only the people they may see.
func (h *Handlers) ExportUsers(c echo.Context) error {
	view, err := h.parseUsersView(c)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set(echo.HeaderContentDisposition, `attachment; filename="users-`+h.Store.Now().UTC().Format("2006-01-02")+`.csv"`)
	res.Header().Set("X-Content-Type-Options", "nosniff")
	res.WriteHeader(http.StatusOK)
	if err := h.Store.ExportUsers(c.Request().Context(), ViewerOf(c), view.filter, time.UTC, res); err != nil {
		// The status is sent: end the response without its final chunk,
		// so the download fails instead of ending short.
		if h.Log != nil {
			h.Log.Error("export users", "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}
