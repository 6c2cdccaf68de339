package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

func reportDays(c echo.Context) (int, error) {
	q := c.QueryParams()
	if len(q["days"]) > 1 {
		return 0, models.Errorf(models.BadRequest, "The address repeats \"days\".")
	}
	if q.Get("days") == "" {
		return 30, nil
	}
	days, err := strconv.Atoi(q.Get("days"))
	if err != nil {
		return 0, models.Errorf(models.BadRequest, "Choose a report of 30 or 90 days.")
	}
	return days, nil
}

// Report serves GET /companies/:id/reports?days=30|90.
func (h *Handlers) Report(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	days, err := reportDays(c)
	if err != nil {
		return err
	}
	r, err := h.Calls.CompanyReport(c.Request().Context(), ViewerOf(c), id, days)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "calls", views.ReportPage(views.ReportProps{Report: r, Chart: views.NewChart(r)}))
}

// ReportCSV serves GET /companies/:id/reports.csv?days=30|90: the calls of
// the period, written whole before anything is sent so an error is a page,
// not half a file.
func (h *Handlers) ReportCSV(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	days, err := reportDays(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := h.Calls.ExportCSV(c.Request().Context(), ViewerOf(c), id, days, &buf); err != nil {
		return err
	}
	name := fmt.Sprintf("calls-company-%d-last-%d-days.csv", id, days)
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
