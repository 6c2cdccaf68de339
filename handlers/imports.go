package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/views"
)

// ImportUploadLimit is the most a request to POST /users/import may carry:
// the largest file allowed and the rest of the form. The route's own body
// limit (web/routes.go) uses it; a file over models.MaxImportBytes within
// it gets the page's own error.
const ImportUploadLimit = "6M"

// ImportForm serves GET /users/import: the upload form and recent imports.
func (h *Handlers) ImportForm(c echo.Context) error {
	return h.importStart(c, http.StatusOK, "")
}

func (h *Handlers) importStart(c echo.Context, status int, msg string) error {
	recent, err := h.Store.LatestImports(c.Request().Context(), ViewerOf(c), 10)
	if err != nil {
		return err
	}
	return h.render(c, status, "users", views.ImportStartPage(views.ImportStartProps{Error: msg, Recent: recent}))
}

// ImportTemplate serves GET /users/import/template.csv: the columns an
// import reads, which are also what the users list exports.
func (h *Handlers) ImportTemplate(c echo.Context) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(models.MemberCSVHeader)
	_ = w.Write([]string{"Jane", "Doe", "jane.doe@example.com", "Reporting", "", "Acme; Beta Dental", "", "", ""})
	w.Flush()
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="switchboard-users-template.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

// ImportUpload serves POST /users/import: it stores the file's rows and
// shows their preview.
func (h *Handlers) ImportUpload(c echo.Context) error {
	fh, err := c.FormFile("file")
	if err != nil {
		if errors.Is(err, http.ErrMissingFile) {
			return h.importStart(c, http.StatusUnprocessableEntity, "Choose a CSV file to upload.")
		}
		return models.Errorf(models.BadRequest, "The upload could not be read. Try again.")
	}
	if fh.Size > models.MaxImportBytes {
		return h.importStart(c, http.StatusRequestEntityTooLarge,
			"The file is larger than "+strconv.Itoa(models.MaxImportBytes>>20)+" MB. Split it into smaller files.")
	}
	f, err := fh.Open()
	if err != nil {
		return models.Errorf(models.BadRequest, "The upload could not be read. Try again.")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, models.MaxImportBytes+1))
	if err != nil {
		return models.Errorf(models.BadRequest, "The upload could not be read. Try again.")
	}
	imp, err := h.Store.CreateImport(c.Request().Context(), ViewerOf(c), fh.Filename, data)
	var e *models.Error
	if errors.As(err, &e) && (e.Code == models.Invalid || e.Code == models.TooLarge) {
		status := http.StatusUnprocessableEntity
		if e.Code == models.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		return h.importStart(c, status, e.Message)
	}
	if err != nil {
		return err
	}
	return redirect(c, views.ImportPath(imp.ID))
}

// importParam finds the import of the :id in the path, in the viewer's
// account (404 otherwise).
func (h *Handlers) importParam(c echo.Context) (*models.Import, error) {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return nil, err
	}
	return h.Store.FindImport(c.Request().Context(), ViewerOf(c), id)
}

// Import serves GET /users/import/:id: the mapping and preview of a draft,
// the progress of an import under way, or its results.
func (h *Handlers) Import(c echo.Context) error {
	imp, err := h.importParam(c)
	if err != nil {
		return err
	}
	show := models.RowKind(c.QueryParam("show"))
	if show != "" && !contains(models.RowKinds, show) {
		return models.Errorf(models.BadRequest, "There is no such list of rows.")
	}
	return h.importPage(c, http.StatusOK, imp, nil, show)
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (h *Handlers) importPage(c echo.Context, status int, imp *models.Import, fields map[string]string, show models.RowKind) error {
	ctx := c.Request().Context()
	var p *models.ImportPreview
	var err error
	if imp.State == models.ImportImporting {
		p, err = h.Store.ImportProgressOf(ctx, imp)
	} else {
		p, err = h.Store.PreviewImport(ctx, ViewerOf(c), imp)
	}
	if err != nil {
		return err
	}
	if imp.State != models.ImportDraft {
		show = ""
	}
	return h.render(c, status, "users", views.ImportPage(views.ImportProps{Preview: p, Errors: fields, Show: show}))
}

// ImportPost serves POST /users/import/:id: it saves the choices of the
// preview form and shows the preview again, or, with action=import,
// starts the import.
func (h *Handlers) ImportPost(c echo.Context) error {
	imp, err := h.importParam(c)
	if err != nil {
		return err
	}
	if imp.State != models.ImportDraft {
		return redirect(c, views.ImportPath(imp.ID)) // a double submit
	}
	in, err := importChoiceForm(c, imp)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v := ViewerOf(c)
	err = h.Store.SaveImportChoice(ctx, v, imp, in)
	if isFieldError(err) {
		return h.importPage(c, http.StatusUnprocessableEntity, imp, models.ErrorFields(err), "")
	}
	if err != nil {
		return err
	}
	if c.FormValue("action") != "import" {
		return redirect(c, views.ImportPath(imp.ID))
	}
	err = h.Store.StartImport(ctx, v, imp, c.RealIP())
	var e *models.Error
	if errors.As(err, &e) && e.Code == models.Invalid {
		return h.importPage(c, http.StatusUnprocessableEntity, imp, map[string]string{"form": e.Message}, "")
	}
	if err != nil {
		return err
	}
	if h.JobQueued != nil {
		h.JobQueued()
	}
	return redirect(c, views.ImportPath(imp.ID))
}

// importChoiceForm reads the preview form. Anything no form of ours
// produces is 400.
func importChoiceForm(c echo.Context, imp *models.Import) (models.ImportChoice, error) {
	bad := models.Errorf(models.BadRequest, "This form is incomplete. Reload the page and try again.")
	form, err := c.FormParams()
	if err != nil {
		return models.ImportChoice{}, bad
	}
	st := imp.Choices()
	st.Columns = map[models.ImportField]int{}
	for _, f := range models.ImportFields {
		vals := form["col_"+string(f)]
		if len(vals) != 1 {
			return models.ImportChoice{}, bad
		}
		if vals[0] == "" {
			continue
		}
		n, err := strconv.Atoi(vals[0])
		if err != nil {
			return models.ImportChoice{}, bad
		}
		st.Columns[f] = n
	}
	keys, types := form["role_key"], form["role_type"]
	if len(keys) != len(types) {
		return models.ImportChoice{}, bad
	}
	roles := map[string]models.UserType{}
	for i, k := range keys {
		roles[k] = models.UserType(types[i])
	}
	// Roles of the file not on the form (a column just remapped) keep
	// their default; the next preview lists them.
	st.Roles = roles
	st.OneCompanyID = 0
	switch form.Get("company_mode") {
	case "column":
	case "one":
		id, err := parseID(form.Get("one_company"))
		if err != nil {
			return models.ImportChoice{}, models.FieldErrors(map[string]string{"one_company": "Choose the company for everyone."})
		}
		st.OneCompanyID = id
	default:
		return models.ImportChoice{}, bad
	}
	st.CreateCompanies = form.Get("create_companies") == "1"
	switch form.Get("existing") {
	case "", "skip":
		st.UpdateExisting = false
	case "update":
		st.UpdateExisting = true
	default:
		return models.ImportChoice{}, bad
	}
	st.Message = form.Get("message")
	in := models.ImportChoice{Settings: st}
	for _, s := range form["own_company"] {
		id, err := parseID(s)
		if err != nil {
			return models.ImportChoice{}, bad
		}
		in.OwnCompany = append(in.OwnCompany, id)
	}
	return in, nil
}

// ImportOutcomes serves GET /users/import/:id/outcomes.csv: every row and
// what came of it.
func (h *Handlers) ImportOutcomes(c echo.Context) error {
	imp, err := h.importParam(c)
	if err != nil {
		return err
	}
	if imp.RowsPrunedAt != nil {
		return models.Errorf(models.Gone, "The outcome of each row of this import was deleted 30 days after it finished.")
	}
	p, err := h.Store.PreviewImport(c.Request().Context(), ViewerOf(c), imp)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := models.WriteImportOutcomes(&b, p); err != nil {
		return err
	}
	name := strings.TrimSuffix(strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, imp.FileName), ".csv")
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`-outcomes.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}
