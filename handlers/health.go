package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
)

// Health serves GET /healthz: 200 while the database answers.
func (h *Handlers) Health(c echo.Context) error {
	if err := h.Store.Ping(c.Request().Context()); err != nil {
		models.LoggerFrom(c.Request().Context()).Error("health check: database", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}

// Ready serves GET /readyz, for a load balancer deciding whether to send
// this server requests: 200 while the database answers and holds the
// schema this program migrated it to, 503 otherwise.
func (h *Handlers) Ready(c echo.Context) error {
	if err := h.Store.Ready(c.Request().Context()); err != nil {
		models.LoggerFrom(c.Request().Context()).Error("readiness check", "err", err)
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
