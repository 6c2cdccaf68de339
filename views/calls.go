package views

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
)

// TelephonyInfo says whether calls can arrive and where Twilio must send
// them.
type TelephonyInfo struct {
	// Configured: an auth token is set, so webhooks are verified and taken.
	Configured bool
	// CanPlaceCalls: an account SID too, for Call back and recordings.
	CanPlaceCalls bool
	VoiceURL      string
	StatusURL     string
	SMSURL        string
}

// CompanyPageProps is a company's own page.
type CompanyPageProps struct {
	Company      models.Company
	CanUsers     bool
	CanNumbers   bool
	CanCalls     bool
	CanCompanies bool
	// CanNotifications: who receives what for the company (issue 17).
	CanNotifications bool
}

// NumberForm is the create and edit form of a tracking number.
type NumberForm struct {
	Number, Name, Source string
	Errors               map[string]string
}

// NumbersProps is a company's numbers page.
type NumbersProps struct {
	Company   models.Company
	Rows      []calls.NumberRow
	Form      NumberForm
	Telephony TelephonyInfo
}

// NumberEditProps is the edit page of one number.
type NumberEditProps struct {
	Company models.Company
	Number  calls.NumberRow
	Form    NumberForm
}

// FlowForm is the call flow editor's state: what is stored or was typed.
type FlowForm struct {
	calls.FlowInput
	Timeout string
	Errors  map[string]string
}

// NewFlowForm fills the editor from a number.
func NewFlowForm(n calls.NumberRow) FlowForm {
	f := FlowForm{FlowInput: calls.FlowInput{Greeting: n.Flow.Greeting, Whisper: n.Flow.Whisper, Record: n.Flow.Record,
		Destination: n.Flow.Destination, ForwardTo: n.Flow.ForwardTo, RingMode: n.Flow.RingMode, Voicemail: n.Flow.Voicemail},
		Timeout: strconv.Itoa(n.Flow.Timeout)}
	if f.ForwardTo != "" {
		f.ForwardTo = calls.FormatPhone(f.ForwardTo)
	}
	for _, m := range n.RingGroup {
		f.RingGroup = append(f.RingGroup, m.ID)
	}
	return f
}

// FlowProps is the call flow editor.
type FlowProps struct {
	Company    models.Company
	Number     calls.NumberRow
	Candidates []calls.Candidate
	Form       FlowForm
}

// ringPosition is the 1-based place of a person in the ring group, 0 when
// not in it.
func (p FlowProps) ringPosition(id uint) int {
	return slices.Index(p.Form.RingGroup, id) + 1
}

// NumberPath is the address of a number's pages.
func NumberPath(companyID, numberID uint, suffix string) string {
	return "/companies/" + idString(companyID) + "/numbers/" + idString(numberID) + suffix
}

// CallLogProps is the Call Log, one company's or across the viewer's.
type CallLogProps struct {
	Page      *calls.LogPage
	Telephony TelephonyInfo
}

// logBase is the log's address without a query.
func (p CallLogProps) logBase() string {
	if p.Page.Company != nil {
		return CompanyPath(*p.Page.Company, "/calls")
	}
	return "/calls"
}

// LogURL is the log with a filter and a position.
func LogURL(base string, f calls.LogFilter, after string) string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("from", f.From)
	set("to", f.To)
	set("outcome", string(f.Outcome))
	if f.FirstTime {
		q.Set("first", "1")
	}
	if f.Qualified {
		q.Set("qualified", "1")
	}
	if f.TagID != 0 {
		q.Set("tag", idString(f.TagID))
	}
	if f.NumberID != 0 {
		q.Set("number", idString(f.NumberID))
	}
	set("source", f.Source)
	set("q", f.Query)
	set("after", after)
	if len(q) == 0 {
		return base
	}
	return base + "?" + q.Encode()
}

// CallPath is the address of a call's page.
func CallPath(id uint, suffix string) string { return "/calls/" + idString(id) + suffix }

// OutcomeLabel names an outcome for people.
func OutcomeLabel(o calls.Outcome) string {
	switch o {
	case calls.OutcomeAnswered:
		return "Answered"
	case calls.OutcomeMissed:
		return "Missed"
	case calls.OutcomeVoicemail:
		return "Voicemail"
	case calls.OutcomeText:
		return "Text"
	}
	return "In progress"
}

// Outcomes offered in the Call Log's filter.
var Outcomes = []calls.Outcome{calls.OutcomeAnswered, calls.OutcomeMissed, calls.OutcomeVoicemail, calls.OutcomeText}

// FormatLocal writes a time in a zone: "Nov 23, 2026 3:04 PM CST".
func FormatLocal(t time.Time) string { return t.Format("Jan 2, 2006 3:04 PM MST") }

// CallPageProps is a call's page.
type CallPageProps struct {
	Detail *calls.CallDetail
	// CanClassify: tag, note, mark qualified.
	CanClassify bool
	// CanCallBack: may place the company's calls; HasPhone: has a phone of
	// their own to be rung first.
	CanCallBack bool
	HasPhone    bool
	Telephony   TelephonyInfo
	TagInput    string
	NoteInput   string
	Errors      map[string]string
	// EditingNote is the note being edited (0: none).
	EditingNote uint
}

// ownNote: only a note's author edits it.
func ownNote(n calls.Note, v *models.Viewer) bool {
	return v != nil && n.AuthorID != nil && *n.AuthorID == v.Membership.ID
}

// ReportProps is a company's report.
type ReportProps struct {
	Report *calls.Report
	Chart  Chart
}

// Chart is the report's bar chart, laid out on the server.
type Chart struct {
	Width, Height int
	Bars          []ChartBar
	// Ticks are the horizontal guide lines with their values.
	Ticks []ChartTick
	// Labels are the dates written under some bars.
	Labels []ChartLabel
	Title  string
	Desc   string
}

// ChartBar is one day: missed stacked on answered.
type ChartBar struct {
	X, W                 float64
	AnsweredY, AnsweredH float64
	MissedY, MissedH     float64
	Title                string
}

// ChartTick is a guide line.
type ChartTick struct {
	Y     float64
	Value int
}

// ChartLabel is a date under the chart.
type ChartLabel struct {
	X    float64
	Text string
}

// NewChart lays the report out as bars: answered calls at the bottom, the
// rest (missed and voicemail) on top, one bar per day.
func NewChart(r *calls.Report) Chart {
	const width, height, left, right, bottom, top = 900.0, 280.0, 40.0, 30.0, 30.0, 10.0
	c := Chart{Width: int(width), Height: int(height),
		Title: fmt.Sprintf("Calls per day, last %d days", r.Days),
		Desc: fmt.Sprintf("%d calls from %s to %s: %d answered, %d missed, %d to voicemail. The busiest day had %d.",
			r.Calls, r.From.Format("Jan 2"), r.To.Format("Jan 2"), r.Answered, r.Missed, r.Voicemail, r.Busiest)}
	scale := max(r.Busiest, 4)
	// Round the scale up to a multiple of 4 so the ticks are whole numbers.
	scale = (scale + 3) / 4 * 4
	plotH := height - bottom - top
	step := (width - left - right) / float64(max(len(r.PerDay), 1))
	for i := 0; i <= 4; i++ {
		v := scale * i / 4
		c.Ticks = append(c.Ticks, ChartTick{Y: top + plotH - plotH*float64(v)/float64(scale), Value: v})
	}
	every := 7
	if len(r.PerDay) > 40 {
		every = 14
	}
	for i, d := range r.PerDay {
		x := left + float64(i)*step
		answered := float64(d.Answered) / float64(scale) * plotH
		missed := float64(d.Missed+d.Voicemail) / float64(scale) * plotH
		base := top + plotH
		c.Bars = append(c.Bars, ChartBar{X: x + step*0.15, W: step * 0.7,
			AnsweredY: base - answered, AnsweredH: answered, MissedY: base - answered - missed, MissedH: missed,
			Title: fmt.Sprintf("%s: %d answered, %d missed, %d voicemail", d.Date.Format("Mon Jan 2"), d.Answered, d.Missed, d.Voicemail)})
		if (len(r.PerDay)-1-i)%every == 0 {
			c.Labels = append(c.Labels, ChartLabel{X: x + step/2, Text: d.Date.Format("Jan 2")})
		}
	}
	return c
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// ReportPath is a company's report for a period.
func ReportPath(companyID uint, days int, csv bool) string {
	p := "/companies/" + idString(companyID) + "/reports"
	if csv {
		p += ".csv"
	}
	return p + "?days=" + strconv.Itoa(days)
}

func percent(part, whole int) string {
	if whole == 0 {
		return "—"
	}
	return strconv.Itoa(int(float64(part)*100/float64(whole)+0.5)) + "%"
}

func formErrorSummary(errors map[string]string) string {
	if len(errors) == 0 {
		return ""
	}
	return "Please correct the fields marked below."
}

// orderValue is a candidate's place in the order field: their position in
// the ring group, or after everyone when not in it.
func orderValue(position, index int) string {
	if position > 0 {
		return strconv.Itoa(position)
	}
	return strconv.Itoa(index + 1)
}

func callLogTitle(p CallLogProps) string {
	if p.Page.Company != nil {
		return "Call Log of " + p.Page.Company.Name
	}
	return "Call Log"
}

func companyOf(r calls.LogRow) models.Company {
	return models.Company{ID: r.CompanyID, Name: r.CompanyName}
}

// callCount says how many calls and texts a caller made.
func callCount(n int64) string {
	if n == 1 {
		return "1 call or text"
	}
	return FormatCount(n) + " calls and texts"
}
