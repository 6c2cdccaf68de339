package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Health serves GET /healthz: 200 while the database answers.
func (h *Handlers) Health(c echo.Context) error {
	if err := h.Store.Ping(c.Request().Context()); err != nil {
		h.Log.Error("health check: database", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}
