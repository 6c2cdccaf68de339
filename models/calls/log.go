package calls

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"switchboard/models"
)

// The Call Log: newest first, keyset pages, filters, search, across the
// viewer's companies or in one. It must stay fast at a million calls per
// account, with the viewer's scope part of the query plan:
//
//   - In one company, or across a few (a Manager's), each company is its
//     own branch — "the newest matching calls of company C" is a short walk
//     down the (company, started_at) index — and a UNION ALL keeps the
//     newest of the branches. No branch reads more than a page.
//   - Across the whole account (an Admin's) the walk is down the (account,
//     started_at) index, with the account's disabled companies left out.
//   - A tag filter walks the tag's own (tag, started_at) index instead, and
//     a search starts from the callers its terms find.
//
// Dates are days in each company's time zone: a branch gets its company's
// bounds; the account-wide walk groups companies by time zone.

// PageSize is the number of calls per page.
const PageSize = 50

// maxBranches is how many companies the Call Log reads one by one before it
// walks the account's index instead.
const maxBranches = 40

// MaxSearchLength bounds a search.
const MaxSearchLength = 100

// LogFilter is what the Call Log asks for. Dates are YYYY-MM-DD, inclusive.
type LogFilter struct {
	CompanyID uint
	From, To  string
	Outcome   Outcome
	FirstTime bool
	Qualified bool
	TagID     uint
	NumberID  uint
	Source    string
	Query     string
	After     string
	Limit     int
}

// Filtered reports whether anything narrows the list.
func (f LogFilter) Filtered() bool {
	return f.From != "" || f.To != "" || f.Outcome != "" || f.FirstTime || f.Qualified || f.TagID != 0 ||
		f.NumberID != 0 || f.Source != "" || f.Query != ""
}

// LogRow is a line of the Call Log.
type LogRow struct {
	Call
	NumberName  string
	CompanyName string
	TimeZone    string
	Tags        []Tag `gorm:"-"`
	// loc is TimeZone, loaded once per page (loading a zone parses it).
	loc *time.Location
}

// LocalStart is when the call began in its company's time zone.
func (r LogRow) LocalStart() time.Time {
	if r.loc != nil {
		return r.StartedAt.In(r.loc)
	}
	return inZone(r.StartedAt, r.TimeZone)
}

func inZone(t time.Time, zone string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return t.UTC()
	}
	return t.In(loc)
}

// LogPage is one page of the Call Log with what its filters offer.
type LogPage struct {
	Rows       []LogRow
	NextCursor string
	Filter     LogFilter
	// Company is set when the log is one company's.
	Company *models.Company
	// Companies are those in the viewer's scope.
	Companies []models.Company
	// Numbers of the company (one company's log), for the number filter.
	Numbers []TrackingNumber
	Sources []string
	Tags    []Tag
	// SearchTooShort: the query was too short to search and was ignored.
	SearchTooShort bool
}

type logCursor struct {
	at time.Time
	id uint
}

func encodeLogCursor(c logCursor) string {
	return strconv.FormatInt(c.at.UnixNano(), 36) + "." + strconv.FormatUint(uint64(c.id), 36)
}

func decodeLogCursor(s string) (logCursor, error) {
	bad := models.Errorf(models.BadRequest, "That page link is not valid. Go back to the newest calls.")
	at, id, ok := strings.Cut(s, ".")
	if !ok || len(s) > 40 {
		return logCursor{}, bad
	}
	ns, err1 := strconv.ParseInt(at, 36, 64)
	n, err2 := strconv.ParseUint(id, 36, 32)
	if err1 != nil || err2 != nil || n == 0 {
		return logCursor{}, bad
	}
	return logCursor{at: time.Unix(0, ns).UTC(), id: uint(n)}, nil
}

// parseDay reads a YYYY-MM-DD date.
func parseDay(s, label string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil || d.Year() < 2000 || d.Year() > 2200 {
		return time.Time{}, models.Errorf(models.BadRequest, "The %s date must be a day such as 2026-11-23.", label)
	}
	return d, nil
}

// dayBounds turns inclusive days into [start, end) instants in a zone.
func dayBounds(from, to time.Time, loc *time.Location) (start, end time.Time) {
	if !from.IsZero() {
		start = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc).UTC()
	}
	if !to.IsZero() {
		end = time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc).UTC()
	}
	return start, end
}

// cleanFilter checks a filter that came from a URL.
func cleanFilter(f LogFilter) (LogFilter, time.Time, time.Time, error) {
	f.Query = strings.TrimSpace(f.Query)
	f.Source = strings.TrimSpace(f.Source)
	if !utf8.ValidString(f.Query) || utf8.RuneCountInString(f.Query) > MaxSearchLength {
		return f, time.Time{}, time.Time{}, models.Errorf(models.BadRequest, "Search for at most %d characters.", MaxSearchLength)
	}
	if !utf8.ValidString(f.Source) || utf8.RuneCountInString(f.Source) > MaxSource {
		return f, time.Time{}, time.Time{}, models.Errorf(models.BadRequest, "That source is not known.")
	}
	switch f.Outcome {
	case "", OutcomeAnswered, OutcomeMissed, OutcomeVoicemail, OutcomeText:
	default:
		return f, time.Time{}, time.Time{}, models.Errorf(models.BadRequest, "That kind of call is not known.")
	}
	from, err := parseDay(f.From, "first")
	if err != nil {
		return f, time.Time{}, time.Time{}, err
	}
	to, err := parseDay(f.To, "last")
	if err != nil {
		return f, time.Time{}, time.Time{}, err
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return f, time.Time{}, time.Time{}, models.Errorf(models.BadRequest, "The last day comes before the first. Swap them and try again.")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = PageSize
	}
	return f, from, to, nil
}

// FindCalls returns a page of the Call Log: one company's (f.CompanyID) or
// across every company where the viewer reviews calls.
func (s *Service) FindCalls(ctx context.Context, v *models.Viewer, f LogFilter) (*LogPage, error) {
	f, from, to, err := cleanFilter(f)
	if err != nil {
		return nil, err
	}
	page := &LogPage{Filter: f}
	db := s.store.DB().WithContext(ctx)
	var scope *models.CapabilityScope
	if f.CompanyID != 0 {
		co, err := s.store.CompanyFor(ctx, v, models.CapReviewCalls, f.CompanyID)
		if err != nil {
			return nil, err
		}
		page.Company = co
		scope = &models.CapabilityScope{AccountID: v.Account.ID, Companies: []models.Company{*co}}
		if err := db.Where("company_id = ?", co.ID).Order("name, id").Limit(maxNumbersShown).Find(&page.Numbers).Error; err != nil {
			return nil, fmt.Errorf("numbers: %w", err)
		}
	} else {
		if !models.Can(v.Type(), models.CapReviewCalls) {
			return nil, models.ErrNotFound()
		}
		if scope, err = s.store.ScopeOf(ctx, v, models.CapReviewCalls); err != nil {
			return nil, err
		}
	}
	page.Companies = scope.Companies
	if page.Tags, err = accountTags(db, v.Account.ID); err != nil {
		return nil, err
	}
	page.Sources = slices.Clone(Sources)
	if len(scope.Companies) == 0 {
		return page, nil
	}
	if f.TagID != 0 && !slices.ContainsFunc(page.Tags, func(t Tag) bool { return t.ID == f.TagID }) {
		return nil, models.Errorf(models.BadRequest, "That tag is not known.")
	}
	if f.NumberID != 0 && page.Company == nil {
		return nil, models.Errorf(models.BadRequest, "Filter by number within one company's Call Log.")
	}
	var search []string
	if f.Query != "" {
		var ok bool
		if search, ok = searchRanges(f.Query); !ok {
			page.SearchTooShort = true
		}
	}
	var after *logCursor
	if f.After != "" {
		c, err := decodeLogCursor(f.After)
		if err != nil {
			return nil, err
		}
		after = &c
	}
	q := &logQuery{f: f, from: from, to: to, search: search, after: after, scope: scope, zone: s.zone, dialect: s.store.Dialect}
	if len(search) > 0 {
		many := s.manyCallers
		if many <= 0 {
			many = manyCallers
		}
		if q.commonSearch, err = commonSearch(db, search, scope, many); err != nil {
			return nil, err
		}
	}
	if page.Rows, err = q.run(db, page.Tags); err != nil {
		return nil, err
	}
	if len(page.Rows) > f.Limit {
		page.Rows = page.Rows[:f.Limit]
		last := page.Rows[len(page.Rows)-1]
		page.NextCursor = encodeLogCursor(logCursor{at: last.StartedAt, id: last.ID})
	}
	return page, nil
}

// manyCallers is where a search stops starting from the callers it finds:
// past it, walking the newest calls and keeping those of the found callers
// meets a page sooner than gathering and sorting all their calls.
const manyCallers = 300

// commonSearch tells whether a search finds many callers in the scope (a
// common surname, a busy area code), counting no further than it needs.
func commonSearch(db *gorm.DB, search []string, scope *models.CapabilityScope, many int) (bool, error) {
	var companyIDs []uint
	if !scope.WholeAccount {
		companyIDs = scope.IDs()
	}
	found, args := foundCallers("1", search, companyIDs)
	var n int
	if err := db.Raw("SELECT COUNT(*) FROM ("+found+" LIMIT "+strconv.Itoa(many)+") AS found", args...).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("call log search: %w", err)
	}
	return n >= many, nil
}

// foundCallers selects what of the caller_terms rows in the search's
// ranges (within companyIDs unless nil): one SELECT per range, joined by
// UNION ALL. Written as one WHERE with the ranges OR-ed, SQLite walked
// every term of each company in scope instead of a range per company.
func foundCallers(what string, search []string, companyIDs []uint) (string, []any) {
	var parts []string
	var args []any
	for _, p := range search {
		part := "SELECT " + what + " FROM caller_terms t WHERE t.term >= ? AND t.term < ?"
		args = append(args, p, prefixEnd(p))
		if companyIDs != nil {
			part += " AND t.company_id IN ?"
			args = append(args, companyIDs)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// maxTagsShown bounds the account's tags a page offers as filters.
const maxTagsShown = 500

// accountTags are the account's tags, A → Z, scanned by hand: every Call
// Log page reads them, and GORM's reflection cost more than the query.
func accountTags(db *gorm.DB, accountID uint) ([]Tag, error) {
	rows, err := db.Raw(`SELECT id, account_id, name, key, created_at FROM tags WHERE account_id = ? ORDER BY key LIMIT ?`,
		accountID, maxTagsShown).Rows()
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	defer rows.Close()
	var out []Tag
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.ID, &t.AccountID, &t.Name, &t.Key, &t.CreatedAt); err != nil {
			return nil, fmt.Errorf("tags: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	return out, nil
}

// page is the SQL of a page's rows: the walk (build) gives the page's
// (id, started_at) pairs, and the same statement joins each call's row,
// its number's name and its tags (their IDs as one string) to them, so a
// page is one statement and fifty rows. The call's company, already in
// the scope, is not read again.
func (q *logQuery) page() (string, []any) {
	walk, args := q.build()
	tags := "group_concat(call_tags.tag_id)"
	if q.dialect == "postgres" {
		tags = "string_agg(CAST(call_tags.tag_id AS text), ',')"
	}
	return `SELECT calls.id, calls.company_id, calls.number_id, calls.kind, calls.sid, calls.caller_number,
		calls.caller_name, calls.first_time, calls.source, calls.started_at, calls.outcome, calls.duration, calls.qualified,
		n.name, (SELECT ` + tags + ` FROM call_tags WHERE call_tags.call_id = calls.id)
		FROM (` + walk + `) AS page JOIN calls ON calls.id = page.id JOIN tracking_numbers n ON n.id = calls.number_id
		ORDER BY page.started_at DESC, page.id DESC`, args
}

// run reads a page's rows, newest first, one more than the page to know
// whether another follows; scanned by hand. known are the account's tags
// in the order a row shows them (accountTags); a tag beyond them is read.
func (q *logQuery) run(db *gorm.DB, known []Tag) ([]LogRow, error) {
	sql, args := q.page()
	rows, err := db.Raw(sql, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("call log: %w", err)
	}
	defer rows.Close()
	out := make([]LogRow, 0, q.f.Limit+1)
	companies := map[uint]*models.Company{}
	var tagLists []*string
	for rows.Next() {
		var r LogRow
		var tags *string
		if err := rows.Scan(&r.ID, &r.CompanyID, &r.NumberID, &r.Kind, &r.Sid, &r.CallerNumber, &r.CallerName, &r.FirstTime,
			&r.Source, &r.StartedAt, &r.Outcome, &r.Duration, &r.Qualified, &r.NumberName, &tags); err != nil {
			return nil, fmt.Errorf("call log: %w", err)
		}
		co, ok := companies[r.CompanyID]
		if !ok {
			co = q.scope.Company(r.CompanyID)
			companies[r.CompanyID] = co
		}
		if co == nil {
			// The walk keeps to the scope's companies; an Admin's leaves
			// out the account's other companies as of the same read, so
			// only a company created since can be missing: its calls are
			// not in the scope this page was read with.
			continue
		}
		r.CompanyName, r.TimeZone = co.Name, co.TimeZone
		if q.zone != nil {
			r.loc = q.zone(co.TimeZone)
		}
		out = append(out, r)
		tagLists = append(tagLists, tags)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("call log: %w", err)
	}
	return out, addTags(db, out, tagLists, known)
}

// addTags fills in each row's tags from its list of tag IDs, in the order
// of known (the account's tags by key); tags beyond known are read.
func addTags(db *gorm.DB, out []LogRow, lists []*string, known []Tag) error {
	var rank map[uint]int
	var missing []uint
	ids := make([][]uint, len(out))
	for i, list := range lists {
		if list == nil || *list == "" {
			continue
		}
		if rank == nil {
			rank = make(map[uint]int, len(known))
			for j, t := range known {
				rank[t.ID] = j
			}
		}
		for rest := *list; rest != ""; {
			var id string
			id, rest, _ = strings.Cut(rest, ",")
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				return fmt.Errorf("call log tags: unreadable id %q", id)
			}
			ids[i] = append(ids[i], uint(n))
			if _, ok := rank[uint(n)]; !ok {
				missing = append(missing, uint(n))
			}
		}
	}
	if len(missing) > 0 {
		// More tags than a page offers: read those it lacks, in order.
		var extra []Tag
		if err := db.Where("id IN ?", missing).Order("key").Find(&extra).Error; err != nil {
			return fmt.Errorf("call log tags: %w", err)
		}
		known = slices.Concat(known, extra)
		for j, t := range known {
			rank[t.ID] = j
		}
	}
	for i := range out {
		if len(ids[i]) == 0 {
			continue
		}
		rs := make([]int, 0, len(ids[i]))
		for _, id := range ids[i] {
			if r, ok := rank[id]; ok {
				rs = append(rs, r)
			}
		}
		slices.Sort(rs)
		out[i].Tags = make([]Tag, len(rs))
		for j, r := range rs {
			out[i].Tags[j] = Tag{ID: known[r].ID, Name: known[r].Name}
		}
	}
	return nil
}

// zone is the named time zone, loaded once by the core (Store.Location).
func (s *Service) zone(name string) *time.Location { return s.store.Location(name) }

// logQuery builds the SQL of one page. It returns (id, started_at) pairs,
// newest first, one more than the page to know whether another follows.
type logQuery struct {
	f        LogFilter
	from, to time.Time
	search   []string
	after    *logCursor
	scope    *models.CapabilityScope
	// commonSearch: the search finds many callers, so the walk goes down
	// the time index and keeps their calls (see manyCallers).
	commonSearch bool
	// zone loads a time zone (Service.zone).
	zone func(string) *time.Location
	// dialect is the database's (models.Store.Dialect).
	dialect string
}

// fromCallers: the search starts from the callers it finds.
func (q *logQuery) fromCallers() bool { return len(q.search) > 0 && !q.commonSearch }

// table and columns: the walk is on calls, or on call_tags for a tag filter.
func (q *logQuery) cols() (table, id, at, company string) {
	if q.f.TagID != 0 {
		return "call_tags", "call_tags.call_id", "call_tags.started_at", "call_tags.company_id"
	}
	return "calls", "calls.id", "calls.started_at", "calls.company_id"
}

// filters are the conditions every branch shares.
func (q *logQuery) filters(companyIDs []uint) ([]string, []any) {
	_, id, at, _ := q.cols()
	var where []string
	var args []any
	if q.f.TagID != 0 {
		where = append(where, "call_tags.tag_id = ?")
		args = append(args, q.f.TagID)
	}
	// Conditions on the call itself; on the tag walk they apply to the
	// joined call.
	if q.f.Outcome != "" {
		where, args = append(where, "calls.outcome = ?"), append(args, q.f.Outcome)
	}
	if q.f.FirstTime {
		where, args = append(where, "calls.first_time = ?"), append(args, true)
	}
	if q.f.Qualified {
		where, args = append(where, "calls.qualified = ?"), append(args, true)
	}
	if q.f.NumberID != 0 {
		where, args = append(where, "calls.number_id = ?"), append(args, q.f.NumberID)
	}
	if q.f.Source != "" {
		where, args = append(where, "calls.source = ?"), append(args, q.f.Source)
	}
	if len(q.search) > 0 {
		if q.commonSearch {
			// Walking the newest calls: ask each call's caller, rather
			// than gathering every caller the search finds (a range of
			// the (caller_id, term) index per call).
			var ranges []string
			for _, p := range q.search {
				ranges = append(ranges, "(t.term >= ? AND t.term < ?)")
				args = append(args, p, prefixEnd(p))
			}
			where = append(where, "EXISTS (SELECT 1 FROM caller_terms t WHERE t.caller_id = calls.caller_id AND ("+strings.Join(ranges, " OR ")+"))")
		} else {
			found, foundArgs := foundCallers("t.caller_id", q.search, companyIDs)
			where, args = append(where, "calls.caller_id IN ("+found+")"), append(args, foundArgs...)
		}
	}
	if q.after != nil {
		where = append(where, "("+at+" < ? OR ("+at+" = ? AND "+id+" < ?))")
		args = append(args, q.after.at, q.after.at, q.after.id)
	}
	return where, args
}

// dates bounds a branch of one time zone.
func (q *logQuery) dates(zone string) ([]string, []any) {
	if q.from.IsZero() && q.to.IsZero() {
		return nil, nil
	}
	_, _, at, _ := q.cols()
	loc := time.UTC
	if q.zone != nil {
		loc = q.zone(zone)
	} else if l, err := time.LoadLocation(zone); err == nil {
		loc = l
	}
	start, end := dayBounds(q.from, q.to, loc)
	var where []string
	var args []any
	if !start.IsZero() {
		where, args = append(where, at+" >= ?"), append(args, start)
	}
	if !end.IsZero() {
		where, args = append(where, at+" < ?"), append(args, end)
	}
	return where, args
}

func (q *logQuery) from_() string {
	if q.f.TagID != 0 {
		return "call_tags JOIN calls ON calls.id = call_tags.call_id"
	}
	return "calls"
}

func (q *logQuery) build() (string, []any) {
	_, id, at, company := q.cols()
	limit := q.f.Limit + 1
	order := " ORDER BY " + at + " DESC, " + id + " DESC LIMIT " + strconv.Itoa(limit)
	sel := "SELECT " + id + " AS id, " + at + " AS started_at FROM " + q.from_() + " WHERE "
	companies := q.scope.Companies
	if !q.scope.WholeAccount && len(companies) <= maxBranches {
		// One branch per company.
		var branches []string
		var args []any
		for _, co := range companies {
			// A search walks the found callers' calls (few), not the
			// company's: the unary + keeps the planner off the company
			// index, in SQLite and PostgreSQL alike.
			scoped := company + " = ?"
			if q.fromCallers() {
				scoped = "+" + company + " = ?"
			}
			where := []string{scoped}
			bargs := []any{co.ID}
			w, a := q.filters([]uint{co.ID})
			where, bargs = append(where, w...), append(bargs, a...)
			w, a = q.dates(co.TimeZone)
			where, bargs = append(where, w...), append(bargs, a...)
			branches = append(branches, "SELECT * FROM ("+sel+strings.Join(where, " AND ")+order+") AS b"+strconv.Itoa(len(branches)))
			args = append(args, bargs...)
		}
		if len(branches) == 1 {
			return strings.TrimSuffix(strings.TrimPrefix(branches[0], "SELECT * FROM ("), ") AS b0"), args
		}
		return "SELECT id, started_at FROM (" + strings.Join(branches, " UNION ALL ") + ") AS page ORDER BY started_at DESC, id DESC LIMIT " + strconv.Itoa(limit), args
	}
	// One walk over the account (with a search, over the found callers'
	// calls: the unary + keeps the planner off the account's index).
	plus := ""
	if q.fromCallers() {
		plus = "+"
	}
	var where []string
	var args []any
	if q.f.TagID == 0 {
		where, args = append(where, plus+"calls.account_id = ?"), append(args, q.scope.AccountID)
	}
	var ids []uint
	if q.scope.WholeAccount {
		if len(q.scope.Inactive) > 0 {
			where, args = append(where, plus+company+" NOT IN ?"), append(args, q.scope.Inactive)
		}
	} else {
		ids = q.scope.IDs()
		where, args = append(where, plus+company+" IN ?"), append(args, ids)
	}
	w, a := q.filters(ids)
	where, args = append(where, w...), append(args, a...)
	if !q.from.IsZero() || !q.to.IsZero() {
		zones := map[string][]uint{}
		for _, co := range companies {
			zones[co.TimeZone] = append(zones[co.TimeZone], co.ID)
		}
		if len(zones) == 1 {
			for zone := range zones {
				w, a := q.dates(zone)
				where, args = append(where, w...), append(args, a...)
			}
		} else {
			names := make([]string, 0, len(zones))
			for zone := range zones {
				names = append(names, zone)
			}
			slices.Sort(names)
			var ors []string
			for _, zone := range names {
				w, a := q.dates(zone)
				ors = append(ors, "("+company+" IN ? AND "+strings.Join(w, " AND ")+")")
				args = append(args, zones[zone])
				args = append(args, a...)
			}
			where = append(where, "("+strings.Join(ors, " OR ")+")")
		}
	}
	return sel + strings.Join(where, " AND ") + order, args
}
