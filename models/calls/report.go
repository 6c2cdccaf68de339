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
	From, To  time.Time // first and last day, in the report's time zone
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
	// PerHour is the period hour by hour (Day.Date is the hour's start),
	// when asked for (a daily summary's chart); nil otherwise.
	PerHour []Day
	// sources counts every source before the top ten are kept.
	sources map[string]int
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
	loc := s.store.Location(co.TimeZone)
	today := s.now().In(loc)
	last := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	first := last.AddDate(0, 0, -(days - 1))
	reports, err := s.Reports(ctx, []models.Company{*co}, Period{Location: loc, From: first, Days: days})
	if err != nil {
		return nil, err
	}
	return reports[co.ID], nil
}

// Period is a run of whole days on the wall clock of a time zone: a
// company report's last 30 days, or the day, week or month a summary email
// covers. From is the first day's midnight in Location.
type Period struct {
	Location *time.Location
	From     time.Time
	Days     int
	// Hourly also counts each hour (Report.PerHour).
	Hourly bool
}

// end is the midnight after the last day: days are added on the wall
// clock, so a day when the clocks change is 23 or 25 hours long.
func (p Period) end() time.Time { return p.From.AddDate(0, 0, p.Days) }

// Reports counts the calls and texts of each company over a period, in one
// query, by the same rules as the company report page: the summary emails
// ask it for exactly the numbers that page shows for the same days. The
// caller has decided who may read them (CompanyReport asks the policy; a
// summary goes only to people who see the company).
func (s *Service) Reports(ctx context.Context, companies []models.Company, p Period) (map[uint]*Report, error) {
	if p.Location == nil || p.Days < 1 {
		return nil, fmt.Errorf("report: a period needs a zone and at least one day")
	}
	from, end := p.From, p.end()
	out := make(map[uint]*Report, len(companies))
	ids := make([]uint, len(companies))
	for i, co := range companies {
		ids[i] = co.ID
		r := &Report{Company: co, Days: p.Days, From: from, To: end.AddDate(0, 0, -1), sources: map[string]int{}}
		for d := from; d.Before(end); d = d.AddDate(0, 0, 1) {
			r.PerDay = append(r.PerDay, Day{Date: d})
		}
		if p.Hourly {
			for h := from; h.Before(end); h = h.Add(time.Hour) {
				r.PerHour = append(r.PerHour, Day{Date: h.In(p.Location)})
			}
		}
		out[co.ID] = r
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []reportRow
	db := s.store.DB().WithContext(ctx)
	for chunk := range slices.Chunk(ids, 500) {
		var part []reportRow
		err := db.Model(&Call{}).
			Select("company_id, started_at, kind, outcome, first_time, qualified, source").
			Where("company_id IN ? AND started_at >= ? AND started_at < ?", chunk, from.UTC(), end.UTC()).
			Limit(maxReportCalls).Scan(&part).Error
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		rows = append(rows, part...)
	}
	for _, c := range rows {
		r := out[c.CompanyID]
		if c.Kind == KindText {
			r.Texts++
			continue
		}
		i := dayIndex(from, c.StartedAt.In(p.Location))
		if i < 0 || i >= len(r.PerDay) {
			continue
		}
		var hour *Day
		if p.Hourly {
			if h := int(c.StartedAt.Sub(from) / time.Hour); h >= 0 && h < len(r.PerHour) {
				hour = &r.PerHour[h]
			}
		}
		d := &r.PerDay[i]
		switch c.Outcome {
		case OutcomeAnswered:
			d.Answered++
			r.Answered++
			if hour != nil {
				hour.Answered++
			}
		case OutcomeVoicemail:
			d.Voicemail++
			r.Voicemail++
			if hour != nil {
				hour.Voicemail++
			}
		default:
			// Calls under way count as missed until they are answered.
			d.Missed++
			r.Missed++
			if hour != nil {
				hour.Missed++
			}
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
		r.sources[source]++
	}
	for _, r := range out {
		for _, d := range r.PerDay {
			r.Busiest = max(r.Busiest, d.Total())
		}
		r.Sources = topSources(r.sources, 10)
	}
	return out, nil
}

// reportRow is what a report reads of each call.
type reportRow struct {
	CompanyID uint
	StartedAt time.Time
	Kind      Kind
	Outcome   Outcome
	FirstTime bool
	Qualified bool
	Source    string
}

// dayIndex is the day of local within a period starting at midnight from
// (both on the same zone's wall clock), counted in calendar days.
func dayIndex(from, local time.Time) int {
	y, m, d := local.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	fy, fm, fd := from.Date()
	first := time.Date(fy, fm, fd, 12, 0, 0, 0, time.UTC)
	return int(day.Sub(first) / (24 * time.Hour))
}

// topSources orders sources by calls, then by name, and keeps the first n.
func topSources(counts map[string]int, n int) []SourceCount {
	out := make([]SourceCount, 0, len(counts))
	for src, c := range counts {
		out = append(out, SourceCount{Source: src, Calls: c})
	}
	slices.SortFunc(out, func(a, b SourceCount) int {
		if a.Calls != b.Calls {
			return b.Calls - a.Calls
		}
		return strings.Compare(a.Source, b.Source)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// Merge adds other's numbers to r, day by day (both over the same days):
// the totals of a summary of several companies. Top sources are merged
// from every source, not only each company's top ten.
func (r *Report) Merge(other *Report) {
	for i := range r.PerDay {
		if i < len(other.PerDay) {
			r.PerDay[i].Answered += other.PerDay[i].Answered
			r.PerDay[i].Missed += other.PerDay[i].Missed
			r.PerDay[i].Voicemail += other.PerDay[i].Voicemail
		}
	}
	for i := range r.PerHour {
		if i < len(other.PerHour) {
			r.PerHour[i].Answered += other.PerHour[i].Answered
			r.PerHour[i].Missed += other.PerHour[i].Missed
			r.PerHour[i].Voicemail += other.PerHour[i].Voicemail
		}
	}
	r.Calls += other.Calls
	r.Answered += other.Answered
	r.Missed += other.Missed
	r.Voicemail += other.Voicemail
	r.Texts += other.Texts
	r.FirstTime += other.FirstTime
	r.Qualified += other.Qualified
	if r.sources == nil {
		r.sources = map[string]int{}
	}
	for src, n := range other.sources {
		r.sources[src] += n
	}
	r.Busiest = 0
	for _, d := range r.PerDay {
		r.Busiest = max(r.Busiest, d.Total())
	}
	r.Sources = topSources(r.sources, 10)
}

// Empty is a report of no company over the same days as r, to merge into.
func (r *Report) Empty() *Report {
	out := &Report{Days: r.Days, From: r.From, To: r.To, sources: map[string]int{}}
	for _, d := range r.PerDay {
		out.PerDay = append(out.PerDay, Day{Date: d.Date})
	}
	for _, h := range r.PerHour {
		out.PerHour = append(out.PerHour, Day{Date: h.Date})
	}
	return out
}

// ExportCSV writes the company's calls and texts of the last days as CSV,
// newest first. Cells that a spreadsheet would run as a formula are
// neutralised (models.NeutraliseCSVCell).
func (s *Service) ExportCSV(ctx context.Context, v *models.Viewer, companyID uint, days int, w io.Writer) error {
	if !slices.Contains(ReportDays, days) {
		return models.Errorf(models.BadRequest, "Choose an export of 30 or 90 days.")
	}
	co, err := s.store.CompanyFor(ctx, v, models.CapReviewCalls, companyID)
	if err != nil {
		return err
	}
	loc := s.store.Location(co.TimeZone)
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
			record[i] = models.NeutraliseCSVCell(record[i]) // phone numbers start with "+": shown as text
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
