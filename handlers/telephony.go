package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/twiml"

	"switchboard/models"
	"switchboard/models/calls"
)

// Twilio's webhooks (the web layer has checked each one's signature before
// it gets here). They answer TwiML, Twilio's XML of what to do next, and
// hand what Twilio said to models/calls, which keeps every webhook
// idempotent and order-free.

// Telephony webhook paths, as routes.go registers them and TwiML names them.
const (
	VoicePath     = "/telephony/voice"
	DialPath      = "/telephony/dial"
	WhisperPath   = "/telephony/whisper"
	StatusPath    = "/telephony/status"
	RecordingPath = "/telephony/recording"
	DonePath      = "/telephony/done"
	SMSPath       = "/telephony/sms"
)

// What callers hear from the console itself.
const (
	sayUnavailable = "We're sorry. The number you have called is not in service. Goodbye."
	sayVoicemail   = "Sorry, nobody can take your call right now. Please leave a message after the tone, and hang up when you are done."
	voice          = "Polly.Joanna"
	maxVoicemail   = "180"
)

func (h *Handlers) twiml(c echo.Context, verbs []twiml.Element) error {
	xml, err := twiml.Voice(verbs)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/xml; charset=utf-8", []byte(xml))
}

func say(text string) twiml.VoiceSay { return twiml.VoiceSay{Message: text, Voice: voice} }

// voicemailVerbs take a message; its recording arrives on the recording
// callback marked as a voicemail.
func (h *Handlers) voicemailVerbs() []twiml.Element {
	return []twiml.Element{
		say(sayVoicemail),
		twiml.VoiceRecord{Action: h.Telephony.WebhookURL(DonePath), MaxLength: maxVoicemail, PlayBeep: "true",
			RecordingStatusCallback: h.Telephony.WebhookURL(RecordingPath + "?voicemail=1")},
	}
}

// Voice serves POST /telephony/voice: a call to a tracking number. It is
// logged in this request, then the flow answers: greeting, the ring group
// or outside number (each answerer hears the whisper), voicemail when
// nobody answers. An unknown or disabled number hears a polite message.
func (h *Handlers) Voice(c echo.Context) error {
	f := c.Request().PostForm
	r, err := h.Calls.IncomingCall(c.Request().Context(), calls.CallParams{
		Sid: f.Get("CallSid"), From: f.Get("From"), To: f.Get("To"), CallerName: f.Get("CallerName")})
	if err != nil {
		return webhookError(c, err)
	}
	switch {
	case r.Unavailable:
		return h.twiml(c, []twiml.Element{say(sayUnavailable), twiml.VoiceHangup{}})
	case r.Done:
		return h.twiml(c, []twiml.Element{twiml.VoiceHangup{}})
	}
	flow := r.Number.Flow
	var verbs []twiml.Element
	if flow.Greeting != "" {
		verbs = append(verbs, say(flow.Greeting))
	}
	if len(r.Dial) == 0 {
		return h.twiml(c, append(verbs, h.voicemailVerbs()...))
	}
	whisper := h.Telephony.WebhookURL(WhisperPath + "?call=" + r.Call.Sid)
	dial := twiml.VoiceDial{
		Action:         h.Telephony.WebhookURL(DialPath),
		Timeout:        strconv.Itoa(flow.Timeout),
		AnswerOnBridge: "true",
	}
	if flow.RingMode == calls.RingInOrder {
		dial.Sequential = "true"
	}
	if flow.Record {
		dial.Record = "record-from-answer-dual"
		dial.RecordingStatusCallback = h.Telephony.WebhookURL(RecordingPath)
	}
	for _, phone := range r.Dial {
		dial.InnerElements = append(dial.InnerElements, twiml.VoiceNumber{PhoneNumber: phone, Url: whisper})
	}
	return h.twiml(c, append(verbs, dial))
}

// Dial serves POST /telephony/dial, the <Dial> action: answered calls end
// there; unanswered ones go to voicemail when the flow says so.
func (h *Handlers) Dial(c echo.Context) error {
	f := c.Request().PostForm
	_, _, voicemail, err := h.Calls.DialResult(c.Request().Context(), calls.DialParams{Sid: f.Get("CallSid"),
		From: f.Get("From"), To: f.Get("To"), DialStatus: f.Get("DialCallStatus"), DialDuration: f.Get("DialCallDuration")})
	if err != nil {
		return webhookError(c, err)
	}
	if voicemail {
		return h.twiml(c, h.voicemailVerbs())
	}
	return h.twiml(c, []twiml.Element{twiml.VoiceHangup{}})
}

// Whisper serves POST /telephony/whisper: said to whoever answers, before
// the caller is connected; it also records who answered.
func (h *Handlers) Whisper(c echo.Context) error {
	text, err := h.Calls.Answering(c.Request().Context(), c.QueryParam("call"), c.Request().PostForm.Get("To"))
	if err != nil {
		return webhookError(c, err)
	}
	if text == "" {
		return h.twiml(c, nil)
	}
	return h.twiml(c, []twiml.Element{say(text)})
}

// Status serves POST /telephony/status, the call status callback.
func (h *Handlers) Status(c echo.Context) error {
	f := c.Request().PostForm
	err := h.Calls.CallStatus(c.Request().Context(), calls.StatusParams{Sid: f.Get("CallSid"), Status: f.Get("CallStatus"),
		Duration: f.Get("CallDuration"), From: f.Get("From"), To: f.Get("To")})
	if err != nil {
		return webhookError(c, err)
	}
	h.mailQueued() // the call's alerts, if it ended
	return c.NoContent(http.StatusNoContent)
}

// Recording serves POST /telephony/recording, the recording status
// callback (?voicemail=1 for messages left after nobody answered).
func (h *Handlers) Recording(c echo.Context) error {
	f := c.Request().PostForm
	err := h.Calls.Recording(c.Request().Context(), calls.RecordingParams{CallSid: f.Get("CallSid"),
		RecordingSid: f.Get("RecordingSid"), Status: f.Get("RecordingStatus"), Duration: f.Get("RecordingDuration"),
		Voicemail: c.QueryParam("voicemail") == "1"})
	if err != nil {
		return webhookError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// Done serves POST /telephony/done, where a voicemail recording ends.
func (h *Handlers) Done(c echo.Context) error {
	return h.twiml(c, []twiml.Element{twiml.VoiceHangup{}})
}

// SMS serves POST /telephony/sms: a text to a tracking number is logged;
// nothing is sent back.
func (h *Handlers) SMS(c echo.Context) error {
	f := c.Request().PostForm
	if _, err := h.Calls.IncomingText(c.Request().Context(), calls.TextParams{Sid: f.Get("MessageSid"),
		From: f.Get("From"), To: f.Get("To"), Body: f.Get("Body")}); err != nil {
		return webhookError(c, err)
	}
	h.mailQueued() // the text's alerts
	xml, err := twiml.Messages(nil)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/xml; charset=utf-8", []byte(xml))
}

// webhookError answers Twilio in plain text: 400 for what it sent wrong,
// the error handler (logged, 500) for our failures.
func webhookError(c echo.Context, err error) error {
	if models.ErrorCode(err) == models.BadRequest {
		return c.String(http.StatusBadRequest, models.ErrorMessage(err)+"\n")
	}
	return err
}
