package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

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
	return h.renderStep(c, http.StatusOK, models.StepType, models.Draft{Key: models.NewDraftKey()}, nil, nil)
}

// NewUserStep serves POST /users/new/:step. It checks everything gathered
// up to that step (so no step can be skipped), then shows the next step, the
// previous one ("Back", keeping what was typed), or the first step that needs
// correcting. After the last step it creates the person, or the people of
// an invitation of several (manyStep). On the Info step, "add", "paste"
// and "remove:N" change the rows of people (editPeople).
func (h *Handlers) NewUserStep(c echo.Context) error {
	v := ViewerOf(c)
	if !models.CanManageUsers(v.Type()) {
		return models.Errorf(models.Forbidden, "Only Admins can create users.")
	}
	step, ok := wizardSteps[c.Param("step")]
	if !ok {
		return models.ErrNotFound()
	}
	d, people, err := draftFromForm(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	switch goTo := c.FormValue("go"); {
	case goTo == "back":
		return h.renderStep(c, http.StatusOK, d.PrevStep(step), d, people, nil)
	case strings.HasPrefix(goTo, "to:"):
		// A step already done, chosen in the stepper: shown as typed,
		// like Back, and checked again when the person moves on.
		to, ok := wizardSteps[strings.TrimPrefix(goTo, "to:")]
		if !ok || to >= step || !d.HasStep(to) {
			return models.Errorf(models.BadRequest, "That step cannot be opened from here.")
		}
		return h.renderStep(c, http.StatusOK, to, d, people, nil)
	case goTo == "add" || goTo == "paste" || strings.HasPrefix(goTo, "remove:") ||
		(step == models.StepInfo && strings.TrimSpace(c.FormValue("paste")) != ""):
		// Next with addresses pasted but not added adds them first, so
		// that nothing typed is silently dropped.
		if step != models.StepInfo {
			return models.Errorf(models.BadRequest, "People are added on the Info step.")
		}
		return h.editPeople(c, d, people, goTo)
	}
	if len(people) > 1 {
		return h.manyStep(c, step, d, people)
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
		return h.renderStep(c, http.StatusUnprocessableEntity, check.Invalid, d, people, check)
	}
	if step < d.LastStep() {
		return h.renderStep(c, http.StatusOK, d.NextStep(step), withDefaultReceives(d, step), people, check)
	}
	m, _, err := h.Store.CreateCheckedMember(ctx, v, d, check, c.RealIP())
	if e := tooManyError(err); e != nil {
		// The account's daily invitation cap: nothing was written, and
		// the last step is shown again, as typed, with when to retry.
		SetRetryAfter(c, e.RetryAt, h.Store.Now())
		return h.renderWizard(c, http.StatusTooManyRequests, views.WizardProps{Step: step, Draft: d, People: people, Check: check,
			Refused: views.Refusal{Message: e.Message, RetryAt: e.RetryAt, Now: h.Store.Now()}})
	}
	if isFieldError(err) {
		// Lost a race at the last moment: the address was just taken, or a
		// company just disabled. Show the step that needs correcting.
		step := models.StepInfo
		if _, companies := models.ErrorFields(err)["companies"]; companies {
			step = models.StepCompanies
		}
		check := &models.DraftCheck{Invalid: step, Fields: models.ErrorFields(err)}
		return h.renderStep(c, http.StatusUnprocessableEntity, step, d, people, check)
	}
	if err != nil {
		return err
	}
	h.mailQueued()
	return redirect(c, views.MemberPath(m.ID, "/created"))
}

// withDefaultReceives gives a Notification user going on to the companies
// step what they exist for, the daily summary, unless changed.
func withDefaultReceives(d models.Draft, from models.Step) models.Draft {
	if d.NextStep(from) == models.StepCompanies && d.Type == models.Notification && len(d.Receives) == 0 {
		d.Receives = notify.DefaultChoice.Values()
	}
	return d
}

// manyStep is NewUserStep for an invitation of several people: each row
// checked with its own errors, and at the end each valid person invited,
// the others skipped with the reason (models.CreateInvitees).
func (h *Handlers) manyStep(c echo.Context, step models.Step, d models.Draft, people []models.Invitee) error {
	v := ViewerOf(c)
	ctx := c.Request().Context()
	if step < d.LastStep() {
		mc, err := h.Store.CheckInvitees(ctx, v, d, people, step)
		if err != nil {
			return err
		}
		if !mc.OK() {
			return h.renderWizard(c, http.StatusUnprocessableEntity, views.WizardProps{Step: mc.Shared.Invalid, Draft: d, People: people, Check: mc.Shared, Many: mc})
		}
		return h.renderWizard(c, http.StatusOK, views.WizardProps{Step: d.NextStep(step), Draft: withDefaultReceives(d, step), People: people, Check: mc.Shared, Many: mc})
	}
	res, err := h.Store.CreateInvitees(ctx, v, d, people, c.RealIP())
	if err != nil {
		return err
	}
	if res.Check != nil {
		// A shared choice needs correcting (a company just disabled):
		// nobody was invited.
		return h.renderWizard(c, http.StatusUnprocessableEntity, views.WizardProps{Step: res.Check.Shared.Invalid, Draft: d, People: people, Check: res.Check.Shared, Many: res.Check})
	}
	status := http.StatusOK
	if len(res.Invited) > 0 {
		h.mailQueued()
	} else if retry := firstRetry(res.Skipped); !retry.IsZero() {
		SetRetryAfter(c, retry, h.Store.Now())
		status = http.StatusTooManyRequests
	} else {
		status = http.StatusConflict
	}
	companies := []models.Company(nil)
	if !d.Type.SeesAllCompanies() {
		companies = res.Companies
	}
	return h.render(c, status, "users", views.InvitedPage(views.InvitedProps{Type: d.Type, Invited: res.Invited, Skipped: res.Skipped, Companies: companies}))
}

func firstRetry(skipped []models.InviteeOutcome) time.Time {
	for _, s := range skipped {
		if !s.RetryAt.IsZero() {
			return s.RetryAt
		}
	}
	return time.Time{}
}

// maxPasteBytes bounds the pasted text: 50 people's lines with room to spare.
const maxPasteBytes = 64 << 10

// editPeople serves the Info step's own buttons: add a row, remove one,
// or fill rows from pasted addresses. Nothing is checked but the rows'
// count and the pasted lines; the rows are checked when going on.
func (h *Handlers) editPeople(c echo.Context, d models.Draft, people []models.Invitee, goTo string) error {
	props := views.WizardProps{Step: models.StepInfo}
	status := http.StatusOK
	switch {
	case goTo == "add":
		if len(people) >= models.MaxInvitees {
			props.AddError = fmt.Sprintf("One invitation holds up to %d people. To invite more, send this one first, or import them from a CSV file.", models.MaxInvitees)
			status = http.StatusUnprocessableEntity
			break
		}
		people = append(people, models.Invitee{})
		props.FocusRow = len(people)
	case strings.HasPrefix(goTo, "remove:"):
		n, err := strconv.Atoi(strings.TrimPrefix(goTo, "remove:"))
		if err != nil || n < 1 || n > len(people) || len(people) == 1 {
			return models.Errorf(models.BadRequest, "That person is not in the form.")
		}
		people = slices.Delete(people, n-1, n)
	default: // paste
		text := c.FormValue("paste")
		if len(text) > maxPasteBytes {
			return models.Errorf(models.BadRequest, "That is more text than one invitation can take. Import a CSV file instead.")
		}
		found, bad := models.ParsePastedPeople(text)
		kept := slices.DeleteFunc(slices.Clone(people), models.Invitee.Blank)
		room := models.MaxInvitees - len(kept)
		var left []string
		if len(found) > room {
			for _, p := range found[room:] {
				left = append(left, p.Email)
			}
			props.PasteError = fmt.Sprintf("One invitation holds up to %d people, so the last %d addresses were not added. Send this invitation first, or import a CSV file.", models.MaxInvitees, len(found)-room)
			found = found[:room]
		}
		if len(found) == 0 && len(bad) == 0 && props.PasteError == "" {
			props.PasteError = "Paste at least one email address, one a line."
		}
		if len(found) > 0 {
			props.FocusRow = len(kept) + 1
			people = append(kept, found...)
		}
		for _, b := range bad {
			left = append(left, b.Text)
		}
		props.PasteLines, props.Paste = bad, strings.Join(left, "\n")
		if props.PasteError != "" || len(bad) > 0 {
			status = http.StatusUnprocessableEntity
		}
	}
	d = firstPerson(d, people)
	props.Draft, props.People = d, people
	return h.renderWizard(c, status, props)
}

func (h *Handlers) renderStep(c echo.Context, status int, step models.Step, d models.Draft, people []models.Invitee, check *models.DraftCheck) error {
	return h.renderWizard(c, status, views.WizardProps{Step: step, Draft: d, People: people, Check: check})
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

// draftFromForm reads the wizard's fields: the shared choices, and the
// rows of people (first_name, last_name and email, once a row, in order;
// the draft's own person is the first row). Values are checked by models;
// here only the shape is: one value per single field, as many of each
// row field, numeric company IDs.
func draftFromForm(c echo.Context) (models.Draft, []models.Invitee, error) {
	form, err := formOf(c, "key", "type", "message", "invoice_emails", "go", "existing_login", "paste")
	if err != nil {
		return models.Draft{}, nil, err
	}
	d := models.Draft{
		Key: form.Get("key"), Type: models.UserType(form.Get("type")),
		Message: form.Get("message"), InvoiceEmails: form.Get("invoice_emails") == "on",
	}
	if !models.ValidDraftKey(d.Key) {
		return d, nil, models.Errorf(models.BadRequest, "This form is incomplete. Start again from the first step.")
	}
	people, err := peopleFromForm(form)
	if err != nil {
		return d, nil, err
	}
	d = firstPerson(d, people)
	d.CompanyIDs, err = companyIDs(form)
	if err != nil {
		return d, nil, err
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
			return d, nil, err
		}
	}
	return d, people, nil
}

// peopleFromForm reads the rows of people. A form without any (the type
// step's) has one empty row. "existing_login=invite" is the one-person
// form's "invite them anyway"; with several rows each such row's address
// is sent as existing_login_for, so that a changed address, or a removed
// row, takes its choice with it.
func peopleFromForm(form url.Values) ([]models.Invitee, error) {
	first, last, email := form["first_name"], form["last_name"], form["email"]
	n := len(email)
	if len(first) != n || len(last) != n {
		return nil, models.Errorf(models.BadRequest, "This form is incomplete. Start again from the first step.")
	}
	if n > models.MaxInvitees {
		return nil, models.Errorf(models.BadRequest, "One invitation holds up to %d people.", models.MaxInvitees)
	}
	if n == 0 {
		first, last, email, n = []string{""}, []string{""}, []string{""}, 1
	}
	if len(form["existing_login_for"]) > models.MaxInvitees {
		return nil, models.Errorf(models.BadRequest, "This form is incomplete. Start again from the first step.")
	}
	joining := map[string]bool{}
	for _, addr := range form["existing_login_for"] {
		joining[sameAddress(addr)] = true
	}
	people := make([]models.Invitee, n)
	for i := range people {
		people[i] = models.Invitee{FirstName: first[i], LastName: last[i], Email: email[i],
			InviteExistingLogin: (i == 0 && form.Get("existing_login") == "invite") || joining[sameAddress(email[i])]}
	}
	return people, nil
}

// sameAddress is what two typings of an address compare by.
func sameAddress(addr string) string {
	if canonical, err := models.CanonicalEmail(addr); err == nil {
		return canonical
	}
	return strings.TrimSpace(addr)
}

// firstPerson makes the first row the draft's own person, as the
// one-person wizard has it.
func firstPerson(d models.Draft, people []models.Invitee) models.Draft {
	if len(people) == 0 {
		people = []models.Invitee{{}}
	}
	p := people[0]
	d.FirstName, d.LastName, d.Email, d.InviteExistingLogin = p.FirstName, p.LastName, p.Email, p.InviteExistingLogin
	return d
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
