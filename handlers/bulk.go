package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// newFormKey is a random value a form carries so that submitting it twice
// starts one job.
func newFormKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// parseIDs reads repeated ID fields; a malformed one is a bad request.
func parseIDs(values []string) ([]uint, error) {
	out := make([]uint, 0, len(values))
	for _, raw := range values {
		id, err := parseID(raw)
		if err != nil {
			return nil, models.Errorf(models.BadRequest, "One of the chosen people is not valid. Go back to the list and choose again.")
		}
		out = append(out, id)
	}
	return out, nil
}

// parseBulk reads a bulk action's form: the action, whom it is for (the
// ticked people, everyone on the page, or everyone the view matches), the
// view itself, and the action's choices.
func (h *Handlers) parseBulk(c echo.Context) (views.BulkForm, models.BulkRequest, error) {
	var f views.BulkForm
	view, err := h.parseUsersView(c)
	if err != nil {
		return f, models.BulkRequest{}, err
	}
	form, err := c.FormParams()
	if err != nil {
		return f, models.BulkRequest{}, models.Errorf(models.BadRequest, "The form could not be read.")
	}
	f.View, f.Companies = view.filter, view.companies
	f.Action = models.BulkAction(form.Get("action"))
	f.Scope = form.Get("scope")
	f.Key = form.Get("key")
	f.To = models.UserType(form.Get("to"))
	if f.IDs, err = parseIDs(form["id"]); err != nil {
		return f, models.BulkRequest{}, err
	}
	pageIDs, err := parseIDs(form["page_id"])
	if err != nil {
		return f, models.BulkRequest{}, err
	}
	if raw := form.Get("target"); raw != "" {
		if f.Target, err = parseID(raw); err != nil {
			return f, models.BulkRequest{}, models.ErrNotFound()
		}
	}
	if f.CompanyIDs, err = parseIDs(form["companies"]); err != nil {
		return f, models.BulkRequest{}, err
	}
	req := models.BulkRequest{Action: f.Action, CompanyID: f.Target, To: f.To, CompanyIDs: f.CompanyIDs, Key: f.Key, Filter: view.filter}
	switch f.Scope {
	case "all":
		req.All = true
	case "page":
		// Everyone on the page: the page's rows, as the list showed them.
		f.IDs = pageIDs
		f.Scope = "selected"
		req.IDs = pageIDs
	case "selected", "":
		f.Scope = "selected"
		req.IDs = f.IDs
	default:
		return f, req, models.Errorf(models.BadRequest, "Choose whom the action is for.")
	}
	return f, req, nil
}

// BulkConfirm serves POST /users/bulk: the list's bulk form, answered
// with a confirmation that says what will happen to how many people and
// asks for the action's choices (the company, the new type with what it
// grants and takes away). Nothing changes yet.
func (h *Handlers) BulkConfirm(c echo.Context) error {
	v := ViewerOf(c)
	f, req, err := h.parseBulk(c)
	if err != nil {
		return err
	}
	if f.Key == "" {
		f.Key = newFormKey()
	}
	f.Count, err = h.Store.PreviewBulk(c.Request().Context(), v, req)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.BulkConfirmPage(f))
}

// BulkStart serves POST /users/bulk/start: the confirmed bulk action,
// recorded as a job that a worker runs; the person is sent to its
// progress page.
func (h *Handlers) BulkStart(c echo.Context) error {
	v := ViewerOf(c)
	f, req, err := h.parseBulk(c)
	if err != nil {
		return err
	}
	job, err := h.Store.StartBulk(c.Request().Context(), v, req, c.RealIP())
	var e *models.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		f.Errors = e.Fields
		if f.Count, err = h.Store.PreviewBulk(c.Request().Context(), v, req); err != nil {
			return err
		}
		return h.render(c, http.StatusUnprocessableEntity, "users", views.BulkConfirmPage(f))
	}
	if err != nil {
		return err
	}
	if h.JobQueued != nil {
		h.JobQueued()
	}
	return c.Redirect(http.StatusSeeOther, "/users/bulk/"+strconv.FormatUint(uint64(job.ID), 10))
}

// BulkStatus serves GET /users/bulk/:id: a bulk job's progress and, once
// done, what became of each person. Only its starter sees it.
func (h *Handlers) BulkStatus(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return models.ErrNotFound()
	}
	r, err := h.Store.BulkReportOf(c.Request().Context(), ViewerOf(c), id)
	if err != nil {
		return err
	}
	if !r.Finished && !r.Failed {
		// No script needed: the browser asks again in two seconds.
		c.Response().Header().Set("Refresh", "2")
	}
	return h.render(c, http.StatusOK, "users", views.BulkStatusPage(r))
}
