package main

// The import's part of `switchboard bench` (issue 18): an Admin imports a
// CSV file of --import-rows people (10,000: the largest file allowed)
// through the real pages, upload, preview and confirmation, while --conns
// connections read the Admin's first page of the users list; the import
// runs as the server's background job. The report gives the list's
// requests a second and p99 during the import, as a scenario line, and how
// long the import took, from the upload to its last row.

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/models"
	"switchboard/views"
	"switchboard/web"
)

// scImport is the list read while an import runs.
const scImport = "Admin, first page during an import"

// maxImportSeconds is issue 18's target for 10,000 rows.
const maxImportSeconds = 20

// importResult is the import's side of the import scenario.
type importResult struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	// Invited counts the rows the import invited.
	Invited    int    `json:"invited"`
	FirstError string `json:"first_error,omitempty"`
}

// importScenario reads the list with conns connections while the Admin
// imports rows people, until the import is done.
func (w *benchWorld) importScenario(ctx context.Context, app *benchClient, store *models.Store, jobs *web.Jobs, conns, rows int, stderr io.Writer) benchResult {
	fmt.Fprintf(stderr, "running %-42s", scImport+"…")
	list := w.listOp(app, scHotPage, []*benchSession{w.admin}, false)
	// The list's requests are not cut off when the import ends: drive
	// stops asking, and the ones under way finish as they would.
	op := func(ctx context.Context, worker, i int, buf *bytes.Buffer) error {
		return list(context.WithoutCancel(ctx), worker, i, buf)
	}
	readCtx, importDone := context.WithCancel(ctx)
	results := make(chan benchResult, 1)
	go func() { results <- drive(readCtx, scImport, conns, time.Hour, op) }()
	// drive warms up for a second before it measures.
	sleep(ctx, 1100*time.Millisecond)
	// The server's job worker runs the import, as serve's does; the
	// other scenarios run without it.
	jobsCtx, stopJobs := context.WithCancel(ctx)
	jobsDone := make(chan struct{})
	go func() { defer close(jobsDone); jobs.Run(jobsCtx) }()
	imp := &importResult{Rows: rows}
	began := time.Now()
	invited, err := w.runImport(ctx, app, store, rows)
	imp.Seconds = time.Since(began).Seconds()
	stopJobs()
	<-jobsDone
	imp.Invited = invited
	if err != nil {
		imp.FirstError = err.Error()
	}
	importDone()
	r := <-results
	r.Import = imp
	fmt.Fprintf(stderr, " %9.0f req/s, import %.1fs\n", r.PerSec, imp.Seconds)
	return r
}

// runImport uploads a file of rows new people as the Admin, starts its
// import as the preview page's form would, and waits for the job to
// finish. It returns how many rows it invited.
func (w *benchWorld) runImport(ctx context.Context, app *benchClient, store *models.Store, rows int) (int, error) {
	var companies []models.Company
	for _, c := range w.seed.Companies {
		// A name with the separator would read as two companies.
		if c.Status == models.CompanyActive && !strings.Contains(c.Name, models.CompanySeparator) {
			companies = append(companies, c)
		}
	}
	if len(companies) == 0 {
		return 0, errors.New("no active company to import people into")
	}
	var file bytes.Buffer
	cw := csv.NewWriter(&file)
	_ = cw.Write([]string{"First name", "Last name", "Email", "Type", "Companies"})
	stamp := time.Now().UnixNano()
	for i := range rows {
		t := "Reporting"
		if i%4 == 0 {
			t = "Manager"
		}
		_ = cw.Write([]string{"Imported" + strconv.Itoa(i), "Person", fmt.Sprintf("imported%d.%d@import.example", stamp, i), t,
			companies[i%len(companies)].Name})
	}
	cw.Flush()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", w.admin.csrf)
	fw, _ := mw.CreateFormFile("file", "team.csv")
	_, _ = fw.Write(file.Bytes())
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.base+"/users/import", &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Cookie", w.admin.cookie)
	resp, err := app.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return 0, fmt.Errorf("upload answered %d: %.300s", resp.StatusCode, page)
	}
	path := resp.Header.Get("Location")
	id, err := strconv.ParseUint(strings.TrimPrefix(path, "/users/import/"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("upload went to %q", path)
	}
	// The preview page, as the Admin reads it before confirming.
	var buf bytes.Buffer
	if status, _, err := app.do(ctx, w.admin, http.MethodGet, path, nil, &buf); err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("preview: status %d, %v", status, err)
	}
	form := url.Values{"_csrf": {w.admin.csrf}, "action": {"import"}, "company_mode": {"column"}, "existing": {"skip"},
		"col_first_name": {"0"}, "col_last_name": {"1"}, "col_full_name": {""}, "col_email": {"2"}, "col_role": {"3"}, "col_companies": {"4"},
		"role_key": {"manager", "reporting"}, "role_type": {"manager", "reporting"}}
	if status, _, err := app.do(ctx, w.admin, http.MethodPost, path, form, &buf); err != nil || status != http.StatusSeeOther {
		return 0, fmt.Errorf("start: status %d, %v: %.300s", status, err, buf.String())
	}
	// A job that stops making progress (it failed, and waits to be tried
	// again) ends the scenario.
	var done int64
	moved := time.Now()
	for {
		var imp models.Import
		if err := store.DB().WithContext(ctx).Take(&imp, id).Error; err != nil {
			return 0, err
		}
		if imp.State == models.ImportDone {
			break
		}
		var now int64
		if err := store.DB().WithContext(ctx).Model(&models.ImportRow{}).Where("import_id = ? AND outcome <> ''", id).Count(&now).Error; err != nil {
			return 0, err
		}
		if now != done {
			done, moved = now, time.Now()
		} else if time.Since(moved) > time.Minute {
			return int(done), fmt.Errorf("the import stopped at %d of %d rows", done, rows)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var invited int64
	if err := store.DB().WithContext(ctx).Model(&models.ImportRow{}).Where("import_id = ? AND outcome = ?", id, models.OutcomeInvited).
		Count(&invited).Error; err != nil {
		return 0, err
	}
	if int(invited) != rows {
		return int(invited), fmt.Errorf("the import invited %d of %d people", invited, rows)
	}
	return int(invited), nil
}

// judgeImport holds the list read during an import to the first page's
// target, and the import to issue 18's: every row invited, 10,000 in
// 20 s.
func judgeImport(r *benchResult) bool {
	if r.Scenario != scImport {
		return false
	}
	limit := maxImportSeconds * float64(r.Import.Rows) / float64(models.MaxImportRows)
	r.Target = fmt.Sprintf("≥%.0f%% of hello, p99 < %dms; import < %.0fs", 100*minHotPageRatio, maxListP99Ms, limit)
	ok := r.Ratio >= minHotPageRatio && r.P99Ms < maxListP99Ms && r.Errors == 0 &&
		r.Import.FirstError == "" && r.Import.Seconds < limit
	r.Met = &ok
	return true
}

// importLine is the report's line on the import of the import scenario.
func importLine(r benchResult) string {
	i := r.Import
	line := fmt.Sprintf("during %s the Admin imported %s people in %.1fs (%.0f a second)", r.Scenario,
		views.FormatCount(int64(i.Invited)), i.Seconds, float64(i.Invited)/i.Seconds)
	if i.FirstError != "" {
		line += "\n  the import failed: " + i.FirstError
	}
	return line
}
