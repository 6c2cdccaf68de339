package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// Audit serves GET /audit: the account's audit log for Admins, newest
// first, filtered by person and kind, paged by keyset.
func (h *Handlers) Audit(c echo.Context) error {
	v := ViewerOf(c)
	if !models.CanViewAudit(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can see the audit log.")
	}
	q := c.QueryParams()
	for _, name := range []string{"person", "kind", "after"} {
		if len(q[name]) > 1 {
			return models.Errorf(models.BadRequest, "The address repeats %q.", name)
		}
	}
	filter := models.AuditFilter{Person: q.Get("person"), Action: q.Get("kind"), After: q.Get("after")}
	page, err := h.Store.FindAuditEvents(c.Request().Context(), v, filter)
	if err != nil {
		return err
	}
	filter, _ = h.Store.CleanAuditFilter(filter)
	return h.render(c, http.StatusOK, "audit", views.AuditPage(views.AuditProps{Page: page, Filter: filter, Actions: h.Store.AuditActions()}))
}
