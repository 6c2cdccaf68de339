package views_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/notify"
	"switchboard/views"
)

func summaryFor(t *testing.T, to notify.Recipient) (notify.Mail, notify.SummaryMail) {
	t.Helper()
	chicago, _ := time.LoadLocation("America/Chicago")
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, chicago) // 25 hours: the clocks go back
	r := &calls.Report{Company: models.Company{ID: 7, Name: `Acme <script>alert(1)</script>`}, Days: 1, From: from, To: from,
		Calls: 6, Answered: 3, Missed: 2, Voicemail: 1, Texts: 2, FirstTime: 4, Qualified: 1,
		Sources: []calls.SourceCount{{Source: `"><img src=x onerror=alert(1)>`, Calls: 6}}}
	r.PerDay = []calls.Day{{Date: from, Answered: 3, Missed: 2, Voicemail: 1}}
	for h := from; h.Before(from.AddDate(0, 0, 1)); h = h.Add(time.Hour) {
		d := calls.Day{Date: h.In(chicago)}
		if h.In(chicago).Hour() == 9 {
			d.Answered, d.Missed = 3, 2
		}
		if h.In(chicago).Hour() == 14 {
			d.Voicemail = 1
		}
		r.PerHour = append(r.PerHour, d)
	}
	in := notify.SummaryMail{To: to, AccountName: "Acme Calls", Kind: notify.DailySummary,
		Period: calls.Period{Location: chicago, From: from, Days: 1, Hourly: true}, Zone: chicago,
		Total: r, Company: r.Company, Due: time.Date(2026, 11, 2, 8, 0, 0, 0, chicago),
		Why: notify.Why{Kind: notify.DailySummary, Company: r.Company.Name, SetBy: "Ada Admin", Token: "7-daily-AAAAAAAAAAAAAAAAAAAAAA"}}
	base, _ := url.Parse("https://switchboard.example")
	m, err := views.NotifyMailer{BaseURL: base}.Summary(in)
	if err != nil {
		t.Fatal(err)
	}
	return m, in
}

// A summary's bar chart is table cells with heights and colours (no image,
// no SVG, no script), one per hour of a 25-hour day; everything people
// typed is escaped; a Notification user's email links nowhere in the
// console.
func TestSummaryEmail_ChartOfTablesEscapedNoConsoleLinks(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	m, _ := summaryFor(t, notify.Recipient{MemberID: 3, FirstName: "Nora", LastName: "N", Email: "nora@example.com", Type: models.Notification, Zone: chicago})
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(m.HTML))
	if err != nil {
		t.Fatal(err)
	}
	chart := doc.Find(`table[data-chart="bars"]`)
	if chart.Length() != 1 {
		t.Fatal("no chart table")
	}
	if n := chart.Find("tr").First().Children().Length(); n != 25 {
		t.Errorf("%d bars, want one per hour of a 25-hour day", n)
	}
	bars := chart.Find(`td[bgcolor]`)
	if bars.Length() != 3 {
		t.Errorf("%d coloured cells, want 3 (answered and missed at 09:00, voicemail at 14:00)", bars.Length())
	}
	bars.Each(func(_ int, s *goquery.Selection) {
		style, _ := s.Attr("style")
		height, _ := s.Attr("height")
		if !strings.HasPrefix(style, "height:"+height+"px;background:#") || strings.Contains(style, "ZgotmplZ") {
			t.Errorf("bar cell style %q height %q", style, height)
		}
	})
	if doc.Find("img, svg, script, link, style").Length() != 0 {
		t.Error("the email has an image, SVG, script or stylesheet")
	}
	for _, bad := range []string{"<script>alert", `"><img`} {
		if strings.Contains(m.HTML, bad) {
			t.Errorf("HTML holds %q unescaped", bad)
		}
	}
	doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("href")
		if !strings.HasPrefix(href, "https://switchboard.example/unsubscribe/") {
			t.Errorf("a Notification user's summary links to %s", href)
		}
	})
	if m.Unsubscribe != "https://switchboard.example/unsubscribe/7-daily-AAAAAAAAAAAAAAAAAAAAAA" {
		t.Errorf("unsubscribe %q", m.Unsubscribe)
	}
	for _, want := range []string{"Daily summary of Acme <script>alert(1)</script>", "Sunday, November 1, 2026",
		"Calls: 6", "Answered: 3 (50%)", "Missed: 3 (1 voicemail)", "First-time callers: 4", "Qualified leads: 1",
		"Texts: 2", "because Ada Admin set this up for you", "Unsubscribe from these emails: https://switchboard.example/unsubscribe/"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "/account/notifications") {
		t.Error("a Notification user's summary links to the console's settings")
	}
	t.Logf("HTML %d bytes, text %d bytes", len(m.HTML), len(m.Text))
	if len(m.HTML) > 24<<10 {
		t.Errorf("the HTML is %d bytes", len(m.HTML))
	}
}

// People who log in get the report's link and their settings' link.
func TestSummaryEmail_LinksForPeopleWhoLogIn(t *testing.T) {
	m, _ := summaryFor(t, notify.Recipient{MemberID: 4, FirstName: "Rita", LastName: "R", Email: "rita@example.com", Type: models.Reporting, Zone: time.UTC})
	for _, want := range []string{"https://switchboard.example/companies/7/reports", "https://switchboard.example/account/notifications"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
			t.Errorf("summary for a Reporting user lacks %s", want)
		}
	}
}
