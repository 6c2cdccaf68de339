package views

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/models/calls"
	"switchboard/models/notify"
)

// NotifyMailer composes the notifications area's emails (call and text
// alerts, summaries). Every link is built from the configured base URL;
// a Notification user's email has none into the console, only its
// unsubscribe link, which works without logging in.
type NotifyMailer struct {
	BaseURL *url.URL
}

var _ notify.Composer = NotifyMailer{}

func (m NotifyMailer) link(path string) string {
	return strings.TrimSuffix(m.BaseURL.String(), "/") + path
}

// UnsubscribeLink is the address of an unsubscribe token's page, which
// also takes the one-click POST of RFC 8058.
func (m NotifyMailer) UnsubscribeLink(token string) string { return m.link(UnsubscribePath(token)) }

// UnsubscribePath is the path of an unsubscribe token's page.
func UnsubscribePath(token string) string { return "/unsubscribe/" + token }

// notifyFooter is what the footer of a notification email says and links.
type notifyFooter struct {
	Why         string
	Unsubscribe string
	// Settings is the person's own notifications page; empty for people
	// who do not log in.
	Settings string
}

func (m NotifyMailer) footer(to notify.Recipient, account string, why notify.Why) notifyFooter {
	what := why.Kind.Label()
	if why.Kind == notify.CallAlerts {
		what += " (" + strings.ToLower(why.Filter.Label()) + ")"
	}
	where := "for all your companies"
	if why.Company != "" {
		where = "for " + why.Company
	}
	who := why.SetBy + " set this up for you"
	switch {
	case why.SetBySelf:
		who = "you set this up yourself"
	case why.SetBy == "":
		who = "it was set up for you"
	}
	f := notifyFooter{
		Why:         fmt.Sprintf("You receive the %s %s in %s because %s.", what, where, account, who),
		Unsubscribe: m.UnsubscribeLink(why.Token),
	}
	if to.LinksIntoConsole() {
		f.Settings = m.link("/account/notifications")
	}
	return f
}

func (f notifyFooter) text() string {
	var t strings.Builder
	t.WriteString("\n-- \n")
	t.WriteString(f.Why + "\n")
	fmt.Fprintf(&t, "Unsubscribe from these emails: %s\n", f.Unsubscribe)
	if f.Settings != "" {
		fmt.Fprintf(&t, "Change what you receive: %s\n", f.Settings)
	}
	return t.String()
}

// alertView is what an alert email shows.
type alertView struct {
	Account, Title, Lede string
	Facts                []fact
	Message              string
	CallLink             string
	Footer               notifyFooter
	FirstTime            bool
}

type fact struct{ Label, Value string }

// Alert composes a call or text alert.
func (m NotifyMailer) Alert(in notify.AlertMail) (notify.Mail, error) {
	c := in.Call
	caller := calls.FormatPhone(c.CallerNumber)
	who := caller
	if c.CallerName != "" {
		who = c.CallerName + ", " + caller
	}
	number := in.Number.Name + " (" + calls.FormatPhone(in.Number.Number) + ")"
	when := c.StartedAt.In(in.To.Zone).Format("Mon Jan 2, 2006 15:04 MST")
	v := alertView{Account: in.AccountName, FirstTime: c.FirstTime}
	var subject string
	switch {
	case c.Kind == calls.KindText:
		v.Title = "Text message"
		subject = "Text from " + caller + " to " + in.Number.Name + " · " + in.Company.Name
		v.Lede = who + " texted " + number + "."
		v.Message = c.Body
	case c.Outcome == calls.OutcomeAnswered:
		v.Title = "Answered call"
		subject = "Call from " + caller + " to " + in.Number.Name + " · " + in.Company.Name + " (answered)"
		v.Lede = who + " called " + number + "."
	case c.Outcome == calls.OutcomeVoicemail:
		v.Title = "Voicemail"
		subject = "Voicemail from " + caller + " to " + in.Number.Name + " · " + in.Company.Name
		v.Lede = who + " called " + number + " and left a voicemail."
	default:
		v.Title = "Missed call"
		subject = "Missed call from " + caller + " to " + in.Number.Name + " · " + in.Company.Name
		v.Lede = who + " called " + number + " and nobody answered."
	}
	v.Facts = []fact{{"Company", in.Company.Name}, {"Tracking number", number}}
	if c.Source != "" {
		v.Facts = append(v.Facts, fact{"Source", c.Source})
	}
	v.Facts = append(v.Facts, fact{"Caller", who})
	if c.FirstTime {
		v.Facts = append(v.Facts, fact{"First-time caller", "Yes: the first call or text from this number"})
	}
	v.Facts = append(v.Facts, fact{"When", when})
	if c.Kind == calls.KindCall {
		outcome := "Missed"
		switch c.Outcome {
		case calls.OutcomeAnswered:
			outcome = "Answered"
			if c.AnsweredBy != "" {
				outcome += " by " + c.AnsweredBy
			}
		case calls.OutcomeVoicemail:
			outcome = "Voicemail left (" + calls.FormatSeconds(c.RecordingSeconds) + ")"
		}
		v.Facts = append(v.Facts, fact{"Outcome", outcome}, fact{"Duration", calls.FormatSeconds(c.Duration)})
	}
	if in.To.LinksIntoConsole() {
		v.CallLink = m.link("/calls/" + strconv.FormatUint(uint64(c.ID), 10))
	}
	v.Footer = m.footer(in.To, in.AccountName, in.Why)
	html, err := renderString(alertEmail(v))
	if err != nil {
		return notify.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "%s\n\n%s\n\n", v.Title, v.Lede)
	for _, f := range v.Facts {
		fmt.Fprintf(&t, "%s: %s\n", f.Label, f.Value)
	}
	if v.Message != "" {
		t.WriteString("\nMessage:\n")
		for _, line := range strings.Split(v.Message, "\n") {
			fmt.Fprintf(&t, "> %s\n", line)
		}
	}
	if v.CallLink != "" {
		fmt.Fprintf(&t, "\nOpen it in Switchboard: %s\n", v.CallLink)
	}
	t.WriteString(v.Footer.text())
	return notify.Mail{Subject: subject, Text: t.String(), HTML: html, Unsubscribe: v.Footer.Unsubscribe}, nil
}

// summaryView is what a summary email shows.
type summaryView struct {
	Account, Title, Period, Zone string
	Late                         string
	Stats                        []fact
	Chart                        emailChart
	Sources                      []calls.SourceCount
	Calls                        int
	// Companies are the busiest companies of an all-companies summary;
	// More says how many more there are.
	Companies  []*calls.Report
	More       int
	ReportLink string
	Footer     notifyFooter
}

// emailChart is a bar chart drawn with tables, which every mail client
// shows (no images, no SVG, no CSS heights outside table cells).
type emailChart struct {
	Title string
	Bars  []emailBar
}

type emailBar struct {
	Label               string
	Answered, Missed    int
	AnsweredH, MissedH  int
	WidthPercent, Total int
}

// chartHeight is the tallest bar, in pixels.
const chartHeight = 120

func newEmailChart(title string, days []calls.Day, label func(int, time.Time) string) emailChart {
	c := emailChart{Title: title}
	busiest := 0
	for _, d := range days {
		busiest = max(busiest, d.Total())
	}
	for i, d := range days {
		b := emailBar{Label: label(i, d.Date), Answered: d.Answered, Missed: d.Missed + d.Voicemail, Total: d.Total(),
			WidthPercent: max(1, 100/max(1, len(days)))}
		if busiest > 0 {
			b.AnsweredH = barHeight(b.Answered, busiest)
			b.MissedH = barHeight(b.Missed, busiest)
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}

func barHeight(n, busiest int) int {
	if n == 0 {
		return 0
	}
	return max(2, int(math.Round(float64(n)/float64(busiest)*chartHeight)))
}

// text draws the chart in characters, for the plain-text part.
func (c emailChart) text() string {
	var t strings.Builder
	busiest := 0
	width := 0
	for _, b := range c.Bars {
		busiest = max(busiest, b.Total)
		width = max(width, len(b.Label))
	}
	fmt.Fprintf(&t, "%s (# answered, - missed):\n", c.Title)
	for _, b := range c.Bars {
		a, m := 0, 0
		if busiest > 0 {
			a = int(math.Round(float64(b.Answered) / float64(busiest) * 30))
			m = int(math.Round(float64(b.Missed) / float64(busiest) * 30))
		}
		fmt.Fprintf(&t, "  %-*s %s%s %d\n", width, b.Label, strings.Repeat("#", a), strings.Repeat("-", m), b.Total)
	}
	return t.String()
}

// Summary composes a daily, weekly or monthly summary.
func (m NotifyMailer) Summary(in notify.SummaryMail) (notify.Mail, error) {
	r := in.Total
	p := in.Period
	about := in.Company.Name
	if in.AllCompanies {
		about = "all your companies"
	}
	v := summaryView{Account: in.AccountName, Zone: p.Location.String(), Calls: r.Calls}
	var chartTitle string
	var bars []calls.Day
	var label func(int, time.Time) string
	switch in.Kind {
	case notify.DailySummary:
		v.Title = "Daily summary of " + about
		v.Period = p.From.Format("Monday, January 2, 2006")
		chartTitle, bars = "Calls per hour", r.PerHour
		label = func(i int, t time.Time) string { return t.In(p.Location).Format("15") }
	case notify.WeeklySummary:
		v.Title = "Weekly summary of " + about
		v.Period = p.From.Format("Monday, January 2") + " to " + r.To.Format("Sunday, January 2, 2006")
		chartTitle, bars = "Calls per day", r.PerDay
		label = func(_ int, t time.Time) string { return t.Format("Mon 2") }
	default:
		v.Title = "Monthly summary of " + about
		v.Period = p.From.Format("January 2006")
		chartTitle, bars = "Calls per day", r.PerDay
		label = func(_ int, t time.Time) string { return t.Format("2") }
	}
	v.Chart = newEmailChart(chartTitle, bars, label)
	if in.Late {
		v.Late = fmt.Sprintf("This summary was due at %s and is sent late: Switchboard could not send it then.",
			in.Due.In(p.Location).Format("15:04 MST on Monday, January 2"))
	}
	v.Stats = []fact{
		{"Calls", strconv.Itoa(r.Calls)},
		{"Answered", strconv.Itoa(r.Answered) + " (" + percent(r.Answered, r.Calls) + ")"},
		{"Missed", strconv.Itoa(r.Missed+r.Voicemail) + " (" + strconv.Itoa(r.Voicemail) + " voicemail)"},
		{"First-time callers", strconv.Itoa(r.FirstTime)},
		{"Qualified leads", strconv.Itoa(r.Qualified)},
		{"Texts", strconv.Itoa(r.Texts)},
	}
	v.Sources = r.Sources[:min(5, len(r.Sources))]
	if in.AllCompanies {
		const shown = 20
		v.Companies = in.Companies[:min(shown, len(in.Companies))]
		v.More = len(in.Companies) - len(v.Companies)
	} else if in.To.LinksIntoConsole() {
		v.ReportLink = m.link(ReportPath(in.Company.ID, 30, false))
	}
	v.Footer = m.footer(in.To, in.AccountName, in.Why)
	html, err := renderString(summaryEmail(v))
	if err != nil {
		return notify.Mail{}, err
	}
	var t strings.Builder
	fmt.Fprintf(&t, "%s\n%s (%s)\n\n", v.Title, v.Period, v.Zone)
	if v.Late != "" {
		t.WriteString(v.Late + "\n\n")
	}
	for _, s := range v.Stats {
		fmt.Fprintf(&t, "%s: %s\n", s.Label, s.Value)
	}
	t.WriteString("\n" + v.Chart.text())
	if len(v.Sources) > 0 {
		t.WriteString("\nTop sources:\n")
		for _, s := range v.Sources {
			fmt.Fprintf(&t, "  %s: %d\n", s.Source, s.Calls)
		}
	}
	if len(v.Companies) > 0 {
		t.WriteString("\nBy company:\n")
		for _, c := range v.Companies {
			fmt.Fprintf(&t, "  %s: %d calls, %d answered, %d missed, %d texts\n", c.Company.Name, c.Calls, c.Answered, c.Missed+c.Voicemail, c.Texts)
		}
		if v.More > 0 {
			fmt.Fprintf(&t, "  and %d more companies\n", v.More)
		}
	}
	if v.ReportLink != "" {
		fmt.Fprintf(&t, "\nThe report in Switchboard: %s\n", v.ReportLink)
	}
	t.WriteString(v.Footer.text())
	subject := v.Title + " · " + v.Period
	if in.Late {
		subject += " (sent late)"
	}
	return notify.Mail{Subject: subject, Text: t.String(), HTML: html, Unsubscribe: v.Footer.Unsubscribe}, nil
}

// barStyle is a bar cell's inline style: its height, its colour, and no
// text line to make it taller.
func barStyle(h int, colour string) string {
	return "height:" + strconv.Itoa(h) + "px;background:" + colour + ";font-size:0;line-height:0"
}
