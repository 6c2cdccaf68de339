package calls

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/models"
)

// ReportDays are the periods a report covers.
var ReportDays = []int{30, 90}

// Day is one day of the report, in the company's time zone.
type Day struct {
	Date                        time.Time
	Answered, Missed, Voicemail int
}

// Total is every call of the day.
func (d Day) Total() int { return d.Answered + d.Missed + d.Voicemail }

// SourceCount is a line of "top sources".
type SourceCount struct {
	Source string
	Calls  int
}

// Report is a company's calls over a period.
type Report struct {
	Company   models.Company
	Days      int
	From, To  time.Time // first and last day, in the company's time zone
	PerDay    []Day
	Calls     int
	Answered  int
	Missed    int
	Voicemail int
	Texts     int
	// FirstTime callers and Qualified leads among the calls.
	FirstTime int
	Qualified int
	Sources   []SourceCount
	// Busiest is the largest daily total, the chart's scale.
	Busiest int
}

// maxReportCalls bounds the rows a report reads (a company taking more
// than this in 90 days is far beyond any we serve).
const maxReportCalls = 500000

// CompanyReport summarises a company's last days (30 or 90) for people who
// review its calls. Days are counted in the company's time zone.
func (s *Service) CompanyReport(ctx context.Context, v *models.Viewer, companyID uint, days int) (*Report, error) {
	if !slices.Contains(ReportDays, days) {
		return nil, models.Errorf(models.BadRequest, "Choose a report of 30 or 90 days.")
	}
	co, err := s.store.CompanyFor(ctx, v, models.CapReviewCalls, companyID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(co.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	today := s.now().In(loc)
	last := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	first := last.AddDate(0, 0, -(days - 1))
	r := &Report{Company: *co, Days: days, From: first, To: last}
	index := map[string]int{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		index[d.Format("2006-01-02")] = len(r.PerDay)
		r.PerDay = append(r.PerDay, Day{Date: d})
	}
	var rows []struct {
		StartedAt time.Time
		Kind      Kind
		Outcome   Outcome
		FirstTime bool
		Qualified bool
		Source    string
	}
	err = s.store.DB().WithContext(ctx).Model(&Call{}).
		Select("started_at, kind, outcome, first_time, qualified, source").
		Where("company_id = ? AND started_at >= ? AND started_at < ?", co.ID, first.UTC(), last.AddDate(0, 0, 1).UTC()).
		Limit(maxReportCalls).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	sources := map[string]int{}
	for _, c := range rows {
		if c.Kind == KindText {
			r.Texts++
			continue
		}
		i, ok := index[c.StartedAt.In(loc).Format("2006-01-02")]
		if !ok {
			continue
		}
		d := &r.PerDay[i]
		switch c.Outcome {
		case OutcomeAnswered:
			d.Answered++
			r.Answered++
		case OutcomeVoicemail:
			d.Voicemail++
			r.Voicemail++
		default:
			// Calls under way count as missed until they are answered.
			d.Missed++
			r.Missed++
		}
		r.Calls++
		if c.FirstTime {
			r.FirstTime++
		}
		if c.Qualified {
			r.Qualified++
		}
		source := c.Source
		if source == "" {
			source = "No source"
		}
		sources[source]++
	}
	for _, d := range r.PerDay {
		r.Busiest = max(r.Busiest, d.Total())
	}
	for src, n := range sources {
		r.Sources = append(r.Sources, SourceCount{Source: src, Calls: n})
	}
	slices.SortFunc(r.Sources, func(a, b SourceCount) int {
		if a.Calls != b.Calls {
			return b.Calls - a.Calls
		}
		return strings.Compare(a.Source, b.Source)
	})
	if len(r.Sources) > 10 {
		r.Sources = r.Sources[:10]
	}
	return r, nil
}

// ExportCSV writes the company's calls and texts of the last days as CSV,
// newest first. Cells that a spreadsheet would run as a formula are
// neutralised (SafeCell).
func (s *Service) ExportCSV(ctx context.Context, v *models.Viewer, companyID uint, days int, w io.Writer) error {
	if !slices.Contains(ReportDays, days) {
		return models.Errorf(models.BadRequest, "Choose an export of 30 or 90 days.")
	}
	co, err := s.store.CompanyFor(ctx, v, models.CapReviewCalls, companyID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(co.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	today := s.now().In(loc)
	first := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -(days - 1))
	db := s.store.DB().WithContext(ctx)
	rows, err := db.Table("calls").
		Select("calls.id, calls.started_at, calls.kind, calls.caller_number, calls.caller_name, n.name, n.number, calls.source, calls.outcome, calls.duration, calls.talk_seconds, calls.first_time, calls.qualified, calls.answered_by").
		Joins("JOIN tracking_numbers n ON n.id = calls.number_id").
		Where("calls.company_id = ? AND calls.started_at >= ?", co.ID, first.UTC()).
		Order("calls.started_at DESC, calls.id DESC").Limit(maxReportCalls).Rows()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	type line struct {
		id                                                    uint
		at                                                    time.Time
		kind, from, name, numberName, number, source, outcome string
		duration, talk                                        int
		firstTime, qualified                                  bool
		answeredBy                                            string
	}
	var lines []line
	var ids []uint
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.id, &l.at, &l.kind, &l.from, &l.name, &l.numberName, &l.number, &l.source, &l.outcome,
			&l.duration, &l.talk, &l.firstTime, &l.qualified, &l.answeredBy); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		lines = append(lines, l)
		ids = append(ids, l.id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tags := map[uint][]string{}
	for chunk := range slices.Chunk(ids, 500) {
		var pairs []struct {
			CallID uint
			Name   string
		}
		if err := db.Table("call_tags").Select("call_tags.call_id, tags.name").Joins("JOIN tags ON tags.id = call_tags.tag_id").
			Where("call_tags.call_id IN ?", chunk).Order("tags.key").Scan(&pairs).Error; err != nil {
			return fmt.Errorf("export tags: %w", err)
		}
		for _, p := range pairs {
			tags[p.CallID] = append(tags[p.CallID], p.Name)
		}
	}
	cw := csv.NewWriter(w)
	header := []string{"Date", "Time (" + co.TimeZone + ")", "Kind", "Caller", "Caller name", "Tracking number", "Number name",
		"Source", "Outcome", "Duration (s)", "Talk time (s)", "First-time caller", "Qualified lead", "Answered by", "Tags"}
	if err := cw.Write(header); err != nil {
		return err
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for _, l := range lines {
		local := l.at.In(loc)
		record := []string{local.Format("2006-01-02"), local.Format("15:04:05"), l.kind, l.from, l.name, l.number, l.numberName,
			l.source, l.outcome, strconv.Itoa(l.duration), strconv.Itoa(l.talk), yesNo(l.firstTime), yesNo(l.qualified),
			l.answeredBy, strings.Join(tags[l.id], "; ")}
		for i := range record {
			record[i] = SafeCell(record[i])
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SafeCell neutralises a CSV cell that a spreadsheet would read as a
// formula (starting with =, +, -, @, a tab or a carriage return) by
// putting an apostrophe in front, as OWASP advises. Phone numbers start
// with "+", so they are neutralised too; spreadsheets show them as text.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
