package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/twiml"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/views"
)

// The Call Log, a call's page and what people do on it (tag, note, mark
// qualified, call back, play the recording). models/calls asks the policy
// for every call: the call's company must be the viewer's for the right in
// question, otherwise 404.

// logFilter reads the Call Log's query; repeated parameters are refused.
func logFilter(q url.Values, companyID uint) (calls.LogFilter, error) {
	for name, values := range q {
		if len(values) > 1 {
			return calls.LogFilter{}, models.Errorf(models.BadRequest, "The address repeats %q.", name)
		}
	}
	f := calls.LogFilter{CompanyID: companyID, From: q.Get("from"), To: q.Get("to"), Outcome: calls.Outcome(q.Get("outcome")),
		FirstTime: q.Get("first") == "1", Qualified: q.Get("qualified") == "1", Source: q.Get("source"), Query: q.Get("q"), After: q.Get("after")}
	for name, dest := range map[string]*uint{"tag": &f.TagID, "number": &f.NumberID} {
		if raw := q.Get(name); raw != "" {
			id, err := parseID(raw)
			if err != nil {
				return f, models.Errorf(models.BadRequest, "That %s is not known.", name)
			}
			*dest = id
		}
	}
	return f, nil
}

// CallLog serves GET /calls: every company where the viewer reviews calls.
func (h *Handlers) CallLog(c echo.Context) error { return h.callLog(c, 0) }

// CompanyCallLog serves GET /companies/:id/calls.
func (h *Handlers) CompanyCallLog(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	return h.callLog(c, id)
}

func (h *Handlers) callLog(c echo.Context, companyID uint) error {
	f, err := logFilter(c.QueryParams(), companyID)
	if err != nil {
		return err
	}
	page, err := h.Calls.FindCalls(c.Request().Context(), ViewerOf(c), f)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "calls", views.CallLogPage(views.CallLogProps{Page: page, Telephony: h.telephonyInfo()}))
}

func callID(c echo.Context) (uint, error) { return parseID(c.Param("id")) }

// CallInScope answers nil when the call of the :id in the path is one the
// viewer may see, and the 404 otherwise: the scope half of a route's
// capability gate (web's can).
func (h *Handlers) CallInScope(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	_, err = h.Calls.FindCall(c.Request().Context(), ViewerOf(c), id)
	return err
}

// Call serves GET /calls/:id (?edit=NOTE edits one's own note).
func (h *Handlers) Call(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	p := views.CallPageProps{}
	if raw := c.QueryParam("edit"); raw != "" {
		if p.EditingNote, err = parseID(raw); err != nil {
			return err
		}
	}
	return h.renderCall(c, http.StatusOK, id, p)
}

func (h *Handlers) renderCall(c echo.Context, status int, id uint, p views.CallPageProps) error {
	v := ViewerOf(c)
	ctx := c.Request().Context()
	d, err := h.Calls.FindCall(ctx, v, id)
	if err != nil {
		return err
	}
	phone, err := h.Calls.MyPhone(ctx, v)
	if err != nil {
		return err
	}
	p.Detail, p.HasPhone, p.Telephony = d, phone != "", h.telephonyInfo()
	// The call's company is the viewer's (FindCall checked it), so the
	// type's rights are the rights here.
	p.CanClassify = models.Can(v.Type(), models.CapClassifyCalls)
	p.CanCallBack = models.Can(v.Type(), models.CapTakeCalls)
	return h.render(c, status, "calls", views.CallPage(p))
}

// classified redirects back to the call after a change, or shows the page
// again with the form's error.
func (h *Handlers) classified(c echo.Context, id uint, err error, p views.CallPageProps, message string) error {
	if isFieldError(err) {
		p.Errors = models.ErrorFields(err)
		return h.renderCall(c, http.StatusUnprocessableEntity, id, p)
	}
	if err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: message})
	return redirect(c, views.CallPath(id, ""))
}

// AddCallTag serves POST /calls/:id/tags.
func (h *Handlers) AddCallTag(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	form, err := formOf(c, "tag")
	if err != nil {
		return err
	}
	tag, err := h.Calls.AddTag(c.Request().Context(), ViewerOf(c), id, form.Get("tag"), c.RealIP())
	msg := ""
	if err == nil {
		msg = "Tagged “" + tag.Name + "”."
	}
	return h.classified(c, id, err, views.CallPageProps{TagInput: form.Get("tag")}, msg)
}

// RemoveCallTag serves POST /calls/:id/tags/:tag/remove.
func (h *Handlers) RemoveCallTag(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	tagID, err := parseID(c.Param("tag"))
	if err != nil {
		return err
	}
	err = h.Calls.RemoveTag(c.Request().Context(), ViewerOf(c), id, tagID, c.RealIP())
	return h.classified(c, id, err, views.CallPageProps{}, "The tag was removed.")
}

// AddCallNote serves POST /calls/:id/notes.
func (h *Handlers) AddCallNote(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	form, err := formOf(c, "note")
	if err != nil {
		return err
	}
	_, err = h.Calls.AddNote(c.Request().Context(), ViewerOf(c), id, form.Get("note"), c.RealIP())
	return h.classified(c, id, err, views.CallPageProps{NoteInput: form.Get("note")}, "Your note was saved.")
}

// EditCallNote serves POST /calls/:id/notes/:note (one's own note).
func (h *Handlers) EditCallNote(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	noteID, err := parseID(c.Param("note"))
	if err != nil {
		return err
	}
	form, err := formOf(c, "note")
	if err != nil {
		return err
	}
	_, err = h.Calls.EditNote(c.Request().Context(), ViewerOf(c), id, noteID, form.Get("note"), c.RealIP())
	return h.classified(c, id, err, views.CallPageProps{NoteInput: form.Get("note"), EditingNote: noteID}, "Your note was saved.")
}

// SetCallQualified serves POST /calls/:id/qualified (qualified=yes|no).
func (h *Handlers) SetCallQualified(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	form, err := formOf(c, "qualified")
	if err != nil {
		return err
	}
	var qualified bool
	switch form.Get("qualified") {
	case "yes":
		qualified = true
	case "no":
	default:
		return models.Errorf(models.BadRequest, "Say yes or no.")
	}
	err = h.Calls.SetQualified(c.Request().Context(), ViewerOf(c), id, qualified, c.RealIP())
	msg := "Marked as a qualified lead."
	if !qualified {
		msg = "No longer marked as a qualified lead."
	}
	return h.classified(c, id, err, views.CallPageProps{}, msg)
}

// CallBack serves POST /calls/:id/call-back: Twilio rings the viewer's own
// phone, and when they answer, calls the caller from the tracking number.
func (h *Handlers) CallBack(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	v := ViewerOf(c)
	ctx := c.Request().Context()
	cb, err := h.Calls.PrepareCallBack(ctx, v, id)
	if err != nil {
		return err
	}
	if !h.Telephony.CanPlaceCalls() {
		return &models.Error{Code: models.Conflict, Title: "Telephony is not configured",
			Message: "Calling back needs Twilio. Ask whoever runs Switchboard to set --twilio-account-sid and --twilio-auth-token."}
	}
	bridge, err := twiml.Voice([]twiml.Element{
		say("Connecting you to " + spokenNumber(cb.CallerPhone) + "."),
		twiml.VoiceDial{CallerId: cb.From, InnerElements: []twiml.Element{twiml.VoiceNumber{PhoneNumber: cb.CallerPhone}}},
	})
	if err != nil {
		return err
	}
	sid, err := h.Telephony.PlaceCall(ctx, cb.PersonPhone, cb.From, bridge)
	if err != nil {
		h.Log.Error("call back", "call", id, "err", err)
		return &models.Error{Code: models.Conflict, Title: "The call could not be placed",
			Message: "Twilio did not accept the call. Check the numbers and try again in a moment.", Err: err}
	}
	if err := h.Calls.RecordCallBack(ctx, v, id, sid, c.RealIP()); err != nil {
		return err
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: "Your phone " + calls.FormatPhone(cb.PersonPhone) + " is ringing. Answer it to be connected to " + calls.FormatPhone(cb.CallerPhone) + "."})
	return redirect(c, views.CallPath(id, ""))
}

// spokenNumber spaces a number's digits so the voice reads them one by one.
func spokenNumber(e164 string) string {
	return strings.Join(strings.Split(strings.TrimPrefix(e164, "+"), ""), " ")
}

// CallRecording serves GET /calls/:id/recording: the recording, fetched
// from Twilio with the account's credentials (which never reach the
// browser), for people who may review the call.
func (h *Handlers) CallRecording(c echo.Context) error {
	id, err := callID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sid, err := h.Calls.RecordingOf(ctx, ViewerOf(c), id)
	if err != nil {
		return err
	}
	body, contentType, err := h.Telephony.Recording(ctx, sid)
	if err != nil {
		h.Log.Error("fetch recording", "call", id, "err", err)
		return &models.Error{Code: models.Conflict, Title: "The recording is not available",
			Message: "Twilio did not send the recording. Try again in a moment.", Err: err}
	}
	defer body.Close()
	c.Response().Header().Set(echo.HeaderContentType, contentType)
	c.Response().Header().Set("Cache-Control", "private, no-store")
	c.Response().Header().Set("Content-Disposition", `inline; filename="call-`+c.Param("id")+`.mp3"`)
	c.Response().WriteHeader(http.StatusOK)
	if _, err := io.Copy(c.Response(), body); err != nil && !errors.Is(err, io.EOF) {
		h.Log.Warn("stream recording", "call", id, "err", err)
	}
	return nil
}
