package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/models/notify"
	"switchboard/views"
)

// steps by their URL name.
var wizardSteps = map[string]models.Step{
	"type": models.StepType, "info": models.StepInfo, "companies": models.StepCompanies, "message": models.StepMessage,
}

// NewUser serves GET /users/new: the wizard's first step, with a fresh
// idempotency key.
func (h *Handlers) NewUser(c echo.Context) error {
	v := ViewerOf(c)
	if !models.CanManageUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can create users.")
	}
	return h.renderStep(c, http.StatusOK, models.StepType, models.Draft{Key: models.NewDraftKey()}, nil)
}

// NewUserStep serves POST /users/new/:step. It checks everything gathered
// up to that step (so no step can be skipped), then shows the next step, the
// previous one ("Back", keeping what was typed), or the first step that needs
// correcting. After the last step it creates the person.
func (h *Handlers) NewUserStep(c echo.Context) error {
	v := ViewerOf(c)
	if !models.CanManageUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can create users.")
	}
	step, ok := wizardSteps[c.Param("step")]
	if !ok {
		return models.ErrNotFound()
	}
	d, err := draftFromForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	switch goTo := c.FormValue("go"); {
	case goTo == "back":
		return h.renderStep(c, http.StatusOK, d.PrevStep(step), d, nil)
	case strings.HasPrefix(goTo, "to:"):
		// A step already done, chosen in the stepper: shown as typed,
		// like Back, and checked again when the person moves on.
		to, ok := wizardSteps[strings.TrimPrefix(goTo, "to:")]
		if !ok || to >= step || !d.HasStep(to) {
			return models.Errorf(models.BadRequest, "That step cannot be opened from here.")
		}
		return h.renderStep(c, http.StatusOK, to, d, nil)
	}
	check, err := h.Store.CheckDraft(ctx, v, d, step)
	if err != nil {
		return err
	}
	if check.Created != nil {
		// A reload or a second click of the last step: already done.
		return redirect(c, views.MemberPath(check.Created.ID, "/created"))
	}
	if !check.OK() {
		return h.renderStep(c, http.StatusUnprocessableEntity, check.Invalid, d, check)
	}
	if step < d.LastStep() {
		next := d.NextStep(step)
		if next == models.StepCompanies && d.Type == models.Notification && len(d.Receives) == 0 {
			// What a Notification user exists for, unless changed.
			d.Receives = notify.DefaultChoice.Values()
		}
		return h.renderStep(c, http.StatusOK, next, d, check)
	}
	m, _, err := h.Store.CreateCheckedMember(ctx, v, d, check, c.RealIP())
	if e := tooManyError(err); e != nil {
		// The account's daily invitation cap: nothing was written, and
		// the last step is shown again, as typed, with when to retry.
		SetRetryAfter(c, e.RetryAt, h.Store.Now())
		return h.renderRefusedStep(c, step, d, check, e)
	}
	if isFieldError(err) {
		// Lost a race at the last moment: the address was just taken, or a
		// company just disabled. Show the step that needs correcting.
		step := models.StepInfo
		if _, companies := models.ErrorFields(err)["companies"]; companies {
			step = models.StepCompanies
		}
		check := &models.DraftCheck{Invalid: step, Fields: models.ErrorFields(err)}
		return h.renderStep(c, http.StatusUnprocessableEntity, step, d, check)
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	return redirect(c, views.MemberPath(m.ID, "/created"))
}

func (h *Handlers) renderStep(c echo.Context, status int, step models.Step, d models.Draft, check *models.DraftCheck) error {
	return h.renderWizard(c, status, views.WizardProps{Step: step, Draft: d, Check: check})
}

// renderRefusedStep shows a step again after a limit refused it (429).
func (h *Handlers) renderRefusedStep(c echo.Context, step models.Step, d models.Draft, check *models.DraftCheck, e *models.Error) error {
	return h.renderWizard(c, http.StatusTooManyRequests, views.WizardProps{Step: step, Draft: d, Check: check,
		Refused: views.Refusal{Message: e.Message, RetryAt: e.RetryAt, Now: h.Store.Now()}})
}

func (h *Handlers) renderWizard(c echo.Context, status int, props views.WizardProps) error {
	v := ViewerOf(c)
	ctx := c.Request().Context()
	step, d, check := props.Step, props.Draft, props.Check
	if step == models.StepCompanies && !d.Type.SeesAllCompanies() {
		companies, err := h.Store.VisibleCompanies(ctx, v)
		if err != nil {
			return err
		}
		props.Companies = companies
		if props.WorkingIn, err = h.workingIn(c); err != nil {
			return err
		}
	}
	if step == models.StepMessage && !d.Type.SeesAllCompanies() {
		// The companies chosen, as the check of the steps before found them
		// (checked again when coming back to this step).
		if check == nil || !check.OK() {
			var err error
			if check, err = h.Store.CheckDraft(ctx, v, d, models.StepCompanies); err != nil {
				return err
			}
		}
		props.Chosen = check.Companies
	}
	return h.render(c, status, "users", views.WizardPage(props))
}

// workingIn is the company the viewer works in, as the header shows it
// (the one chosen there, else the first they see), or nil.
func (h *Handlers) workingIn(c echo.Context) (*models.Company, error) {
	co, _, err := h.Store.CurrentCompany(c.Request().Context(), ViewerOf(c), h.Sessions.CurrentCompany(c))
	return co, err
}

// draftFromForm reads the wizard's fields. Values are checked by models;
// here only the shape is: one value per single field, numeric company IDs.
func draftFromForm(c echo.Context) (models.Draft, error) {
	form, err := formOf(c, "key", "type", "first_name", "last_name", "email", "message", "invoice_emails", "go", "existing_login")
	if err != nil {
		return models.Draft{}, err
	}
	d := models.Draft{
		Key: form.Get("key"), Type: models.UserType(form.Get("type")),
		FirstName: form.Get("first_name"), LastName: form.Get("last_name"), Email: form.Get("email"),
		Message: form.Get("message"), InvoiceEmails: form.Get("invoice_emails") == "on",
		InviteExistingLogin: form.Get("existing_login") == "invite",
	}
	if !models.ValidDraftKey(d.Key) {
		return d, models.Errorf(models.BadRequest, "This form is incomplete. Start again from the first step.")
	}
	d.CompanyIDs, err = companyIDs(form)
	if err != nil {
		return d, err
	}
	// What a Notification user receives (the companies step's choice);
	// "" is its "no call alerts". Other types set theirs afterwards.
	if d.Type == models.Notification {
		for _, v := range form["receives"] {
			if v != "" {
				d.Receives = append(d.Receives, v)
			}
		}
		if _, err := notify.ParseChoice(d.Receives); err != nil {
			return d, err
		}
	}
	return d, nil
}

// parseID accepts only plain decimal IDs ("1 OR 1=1", "-1", "0x1" and
// twenty digits are not IDs).
func parseID(raw string) (uint, error) {
	if raw == "" || len(raw) > 10 {
		return 0, models.ErrNotFound()
	}
	for _, r := range raw {
		if r < '0' || r > '9' {
			return 0, models.ErrNotFound()
		}
	}
	n, err := strconv.ParseUint(raw, 10, 32)
	if err != nil || n == 0 {
		return 0, models.ErrNotFound()
	}
	return uint(n), nil
}

// UserCreated serves GET /users/:id/created: the wizard's last page, with
// next steps.
func (h *Handlers) UserCreated(c echo.Context) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	m, err := h.Store.FindMember(ctx, v, id)
	if err != nil {
		return err
	}
	if !models.CanManageUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can create users.")
	}
	companies, err := h.Store.CompaniesOf(ctx, m)
	if err != nil {
		return err
	}
	inv, err := h.Store.InvitationStateOf(ctx, m)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "users", views.CreatedPage(views.CreatedProps{Member: *m, Companies: companies, Invitation: inv}))
}

// ResendInvitation serves POST /users/:id/resend.
func (h *Handlers) ResendInvitation(c echo.Context) error {
	v := ViewerOf(c)
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	m, err := h.Store.ResendInvitation(c.Request().Context(), v, id, c.RealIP())
	if err != nil {
		return h.refused(c, err, id)
	}
	h.mailQueued()
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "A new invitation is on its way to " + m.Email + ". The earlier link no longer works."})
	return redirect(c, returnPath(c.FormValue("return"), "/users"))
}

// HelpRequestAccess serves GET /help/request-access.
func (h *Handlers) HelpRequestAccess(c echo.Context) error {
	return h.render(c, http.StatusOK, "", views.HelpRequestAccessPage())
}

func (h *Handlers) mailQueued() {
	if h.MailQueued != nil {
		h.MailQueued()
	}
}
