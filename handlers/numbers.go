package handlers

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/views"
)

// A company's tracking numbers and their call flows (Admins and the
// company's Managers; models/calls asks the policy, 404 for anyone else).

// telephonyInfo says whether calls can arrive, with the addresses to paste
// into Twilio.
func (h *Handlers) telephonyInfo() views.TelephonyInfo {
	return views.TelephonyInfo{Configured: h.Telephony.Configured(), CanPlaceCalls: h.Telephony.CanPlaceCalls(),
		VoiceURL: h.Telephony.WebhookURL(VoicePath), StatusURL: h.Telephony.WebhookURL(StatusPath), SMSURL: h.Telephony.WebhookURL(SMSPath)}
}

func companyAndNumber(c echo.Context) (uint, uint, error) {
	companyID, err := parseID(c.Param("id"))
	if err != nil {
		return 0, 0, err
	}
	numberID, err := parseID(c.Param("number"))
	if err != nil {
		return 0, 0, err
	}
	return companyID, numberID, nil
}

// Numbers serves GET /companies/:id/numbers.
func (h *Handlers) Numbers(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	return h.renderNumbers(c, http.StatusOK, id, views.NumberForm{})
}

func (h *Handlers) renderNumbers(c echo.Context, status int, companyID uint, form views.NumberForm) error {
	co, rows, err := h.Calls.Numbers(c.Request().Context(), ViewerOf(c), companyID)
	if err != nil {
		return err
	}
	return h.render(c, status, "companies", views.NumbersPage(views.NumbersProps{Company: *co, Rows: rows, Form: form, Telephony: h.telephonyInfo()}))
}

func numberInput(c echo.Context) (calls.NumberInput, error) {
	form, err := formOf(c, "number", "name", "source")
	if err != nil {
		return calls.NumberInput{}, err
	}
	return calls.NumberInput{Number: form.Get("number"), Name: form.Get("name"), Source: form.Get("source")}, nil
}

// CreateNumber serves POST /companies/:id/numbers.
func (h *Handlers) CreateNumber(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	in, err := numberInput(c)
	if err != nil {
		return err
	}
	n, err := h.Calls.CreateNumber(c.Request().Context(), ViewerOf(c), id, in, c.RealIP())
	if isFieldError(err) {
		return h.renderNumbers(c, http.StatusUnprocessableEntity, id, views.NumberForm{Number: in.Number, Name: in.Name, Source: in.Source, Errors: models.ErrorFields(err)})
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: n.Name + " (" + calls.FormatPhone(n.Number) + ") was added. Its calls go to voicemail until you set its call flow."})
	return redirect(c, views.NumberPath(id, n.ID, "/flow"))
}

// EditNumber serves GET /companies/:id/numbers/:number.
func (h *Handlers) EditNumber(c echo.Context) error {
	companyID, numberID, err := companyAndNumber(c)
	if err != nil {
		return err
	}
	co, n, err := h.Calls.FindNumber(c.Request().Context(), ViewerOf(c), companyID, numberID)
	if err != nil {
		return err
	}
	form := views.NumberForm{Number: calls.FormatPhone(n.Number), Name: n.Name, Source: n.Source}
	return h.render(c, http.StatusOK, "companies", views.NumberEditPage(views.NumberEditProps{Company: *co, Number: *n, Form: form}))
}

// UpdateNumber serves POST /companies/:id/numbers/:number.
func (h *Handlers) UpdateNumber(c echo.Context) error {
	companyID, numberID, err := companyAndNumber(c)
	if err != nil {
		return err
	}
	in, err := numberInput(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	n, err := h.Calls.UpdateNumber(ctx, ViewerOf(c), companyID, numberID, in, c.RealIP())
	if isFieldError(err) {
		co, current, ferr := h.Calls.FindNumber(ctx, ViewerOf(c), companyID, numberID)
		if ferr != nil {
			return ferr
		}
		return h.render(c, http.StatusUnprocessableEntity, "companies", views.NumberEditPage(views.NumberEditProps{Company: *co, Number: *current,
			Form: views.NumberForm{Number: in.Number, Name: in.Name, Source: in.Source, Errors: models.ErrorFields(err)}}))
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: n.Name + " was saved."})
	return redirect(c, "/companies/"+c.Param("id")+"/numbers")
}

// DisableNumber serves POST /companies/:id/numbers/:number/disable.
func (h *Handlers) DisableNumber(c echo.Context) error {
	return h.setNumberStatus(c, calls.NumberDisabled, " is disabled: callers hear that it is not in service.")
}

// DisableNumberForm serves GET /companies/:id/numbers/:number/disable: the
// confirmation (without JavaScript).
func (h *Handlers) DisableNumberForm(c echo.Context) error {
	companyID, numberID, err := companyAndNumber(c)
	if err != nil {
		return err
	}
	co, n, err := h.Calls.FindNumber(c.Request().Context(), ViewerOf(c), companyID, numberID)
	if err != nil {
		return err
	}
	if n.Status != calls.NumberActive {
		return redirect(c, views.CompanyPath(*co, "/numbers"))
	}
	return h.render(c, http.StatusOK, "companies", views.DisableNumberPage(*co, n.TrackingNumber))
}

// EnableNumber serves POST /companies/:id/numbers/:number/enable.
func (h *Handlers) EnableNumber(c echo.Context) error {
	return h.setNumberStatus(c, calls.NumberActive, " takes calls again.")
}

func (h *Handlers) setNumberStatus(c echo.Context, status calls.NumberStatus, message string) error {
	companyID, numberID, err := companyAndNumber(c)
	if err != nil {
		return err
	}
	n, err := h.Calls.SetNumberStatus(c.Request().Context(), ViewerOf(c), companyID, numberID, status, c.RealIP())
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: n.Name + message})
	return redirect(c, "/companies/"+c.Param("id")+"/numbers")
}

// Flow serves GET /companies/:id/numbers/:number/flow: the call flow editor.
func (h *Handlers) Flow(c echo.Context) error {
	companyID, numberID, err := companyAndNumber(c)
	if err != nil {
		return err
	}
	return h.renderFlow(c, http.StatusOK, companyID, numberID, nil)
}

func (h *Handlers) renderFlow(c echo.Context, status int, companyID, numberID uint, typed *views.FlowForm) error {
	ctx := c.Request().Context()
	v := ViewerOf(c)
	co, n, err := h.Calls.FindNumber(ctx, v, companyID, numberID)
	if err != nil {
		return err
	}
	cands, err := h.Calls.RingGroupCandidates(ctx, v, co)
	if err != nil {
		return err
	}
	form := views.NewFlowForm(*n)
	if typed != nil {
		form = *typed
	}
	return h.render(c, status, "companies", views.FlowPage(views.FlowProps{Company: *co, Number: *n, Candidates: cands, Form: form}))
}

// SaveFlow serves POST /companies/:id/numbers/:number/flow.
func (h *Handlers) SaveFlow(c echo.Context) error {
	companyID, numberID, err := companyAndNumber(c)
	if err != nil {
		return err
	}
	form, err := formOf(c, "greeting", "whisper", "record", "destination", "forward_to", "ring_mode", "timeout", "voicemail")
	if err != nil {
		return err
	}
	in := calls.FlowInput{Greeting: form.Get("greeting"), Whisper: form.Get("whisper"), Record: form.Get("record") == "on",
		Destination: calls.Destination(form.Get("destination")), ForwardTo: form.Get("forward_to"),
		RingMode: calls.RingMode(form.Get("ring_mode")), Voicemail: form.Get("voicemail") == "on"}
	timeout := form.Get("timeout")
	in.Timeout, err = strconv.Atoi(timeout)
	if err != nil {
		in.Timeout = -1
	}
	if len(form["ring"]) > calls.MaxRingGroup*2 {
		return models.Errorf(models.BadRequest, "The ring group in the form is not valid.")
	}
	// The people ticked, in the order typed next to them (ties keep the
	// page's order).
	type ring struct {
		id    uint
		order int
	}
	var rings []ring
	for _, raw := range form["ring"] {
		id, err := parseID(raw)
		if err != nil {
			return models.Errorf(models.BadRequest, "The ring group in the form is not valid.")
		}
		order, err := strconv.Atoi(form.Get("order_" + raw))
		if err != nil || order < 1 || order > 99 {
			order = 99
		}
		rings = append(rings, ring{id, order})
	}
	slices.SortStableFunc(rings, func(a, b ring) int { return a.order - b.order })
	for _, r := range rings {
		in.RingGroup = append(in.RingGroup, r.id)
	}
	if in.Destination != calls.ToRingGroup {
		// The ticked people stay ticked on the page but only a ring group
		// rings them.
		in.RingGroup = nil
	}
	_, err = h.Calls.UpdateFlow(c.Request().Context(), ViewerOf(c), companyID, numberID, in, c.RealIP())
	if isFieldError(err) {
		typed := views.FlowForm{FlowInput: in, Timeout: timeout, Errors: models.ErrorFields(err)}
		for _, r := range rings {
			if !slices.Contains(typed.RingGroup, r.id) {
				typed.RingGroup = append(typed.RingGroup, r.id)
			}
		}
		if in.Timeout < 0 {
			typed.Errors["timeout"] = "Type the number of seconds, for example 20."
		}
		return h.renderFlow(c, http.StatusUnprocessableEntity, companyID, numberID, &typed)
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "The call flow was saved. It applies to the next call."})
	return redirect(c, "/companies/"+c.Param("id")+"/numbers")
}
