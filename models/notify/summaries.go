package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/calls"
)

// Summary emails are written by a scheduled run (web registers
// SendDueSummaries to run every quarter of an hour), once per recipient
// and period, whatever happens around it:
//
//   - Each subscription's schedule is its kind's, on the wall clock of the
//     company's time zone (or, for all the person's companies, of the
//     person's own zone): the daily at 08:00 covers the day before, the
//     weekly on Mondays at 13:00 the week before (Monday to Sunday), the
//     monthly on the 1st at 13:00 the month before. models.Schedule keeps
//     a wall-clock time on days the clocks change, so such a day is
//     neither skipped nor doubled, and the day it covers is 23 or 25
//     hours long.
//   - A run finds, for each subscription, the latest period whose time has
//     come (Schedule.Last) and whose key is after the subscription's
//     LastPeriod. It renders the emails, then in one transaction per batch
//     moves LastPeriod to the period's key — an UPDATE conditional on it
//     being older, which only one transaction can win, on PostgreSQL under
//     the row's lock — and writes to the outbox only the emails of the
//     rows it moved. Two servers running at once, a run repeated after a
//     crash, or a quarter's run overlapping the last: each recipient's
//     summary of a period is written once.
//   - After downtime, the run that comes first sends each recipient the
//     latest period's summary, marked late (not one per missed period:
//     the report page has the others).
//   - A subscription turned on after a period's time does not get that
//     period; a deleted, disabled or out-of-scope person none at all.

// Times of the summaries, on the wall clock of their zone.
var summarySchedules = map[Kind]struct {
	every models.Period
	at    time.Duration
}{
	DailySummary:   {models.Daily, 8 * time.Hour},
	WeeklySummary:  {models.Weekly, 13 * time.Hour}, // Monday 13:00
	MonthlySummary: {models.Monthly, 13 * time.Hour},
}

// summaryLateAfter is how long after its time a summary counts as late:
// more than the run every quarter of an hour explains.
const summaryLateAfter = 20 * time.Minute

// SummaryDue returns when a kind of summary in a zone was last due at or
// before now, the days it covers and the key of that period.
func SummaryDue(k Kind, loc *time.Location, now time.Time) (due time.Time, p calls.Period, key string) {
	sc, ok := summarySchedules[k]
	if !ok {
		panic("notify: not a summary: " + string(k))
	}
	due, _ = models.Schedule{Every: sc.every, At: sc.at, Location: loc}.Last(now)
	y, m, d := due.In(loc).Date()
	switch k {
	case DailySummary:
		from := dayStart(loc, y, m, d-1)
		return due, calls.Period{Location: loc, From: from, Days: 1, Hourly: true}, from.Format("2006-01-02")
	case WeeklySummary:
		from := dayStart(loc, y, m, d-7)
		wy, w := from.ISOWeek()
		return due, calls.Period{Location: loc, From: from, Days: 7}, fmt.Sprintf("%04d-W%02d", wy, w)
	}
	from := dayStart(loc, y, m-1, 1)
	days := time.Date(from.Year(), from.Month()+1, 0, 12, 0, 0, 0, time.UTC).Day()
	return due, calls.Period{Location: loc, From: from, Days: days}, from.Format("2006-01")
}

// dayStart is the first moment of a date in loc: midnight, or where a
// zone's clocks skip midnight (they change at 00:00), the first quarter
// hour that exists.
func dayStart(loc *time.Location, y int, m time.Month, d int) time.Time {
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	for i := 0; i < 8; i++ {
		ly, lm, ld := t.Date()
		if ly == want.Year() && lm == want.Month() && ld == want.Day() {
			break
		}
		t = t.Add(15 * time.Minute)
	}
	return t
}

// candidate is an active summary subscription with what its email needs.
type candidate struct {
	ID           uint
	Kind         Kind
	CompanyID    uint
	LastPeriod   string
	ActiveSince  time.Time
	SetByID      *uint
	SetByName    string
	MembershipID uint
	FirstName    string
	LastName     string
	Email        string
	Type         models.UserType
	AccountID    uint
	AccountName  string
	AccountZone  string
	LoginZone    string
	CompanyName  string
	CompanyZone  string
}

// dueSummary is a candidate whose period has come.
type dueSummary struct {
	candidate
	zone   *time.Location
	due    time.Time
	period calls.Period
	key    string
}

// SummaryRun says what one run did.
type SummaryRun struct {
	// Due is how many recipients' summaries had come due and were not
	// written yet; Enqueued how many this run wrote (another run wrote the
	// rest); Late how many of those went out late.
	Due, Enqueued, Late int
}

// candidatesPage is how many subscriptions a run reads at a time.
const candidatesPage = 5000

// SendDueSummaries writes every summary that has come due and was not
// written yet (see the top of this file). It may run on several servers
// at once and be repeated: each summary is written once.
func (s *Service) SendDueSummaries(ctx context.Context) (SummaryRun, error) {
	var run SummaryRun
	now := s.now()
	sc := newSummaryCache()
	var after uint
	for {
		page, err := s.candidates(ctx, after)
		if err != nil {
			return run, err
		}
		if len(page) == 0 {
			return run, nil
		}
		after = page[len(page)-1].ID
		var due []dueSummary
		for _, c := range page {
			zone := s.zoneOf(c)
			at, period, key := SummaryDue(c.Kind, zone, now)
			if at.Before(c.ActiveSince) || c.LastPeriod >= key {
				continue
			}
			due = append(due, dueSummary{candidate: c, zone: zone, due: at, period: period, key: key})
		}
		for batch := range slices.Chunk(due, s.summaryBatch) {
			n, late, err := s.sendSummaries(ctx, now, batch, sc)
			run.Due += len(batch)
			run.Enqueued += n
			run.Late += late
			if err != nil {
				return run, err
			}
		}
		if len(page) < candidatesPage {
			return run, nil
		}
	}
}

func (s *Service) zoneOf(c candidate) *time.Location {
	if c.CompanyID != 0 {
		return s.store.Location(c.CompanyZone)
	}
	return s.store.ZoneOf(&models.Login{TimeZone: c.LoginZone}, &models.Account{TimeZone: c.AccountZone})
}

// candidates reads a page of active summary subscriptions of active people
// of active accounts, who still see the company they are about.
func (s *Service) candidates(ctx context.Context, after uint) ([]candidate, error) {
	var out []candidate
	err := s.store.DB().WithContext(ctx).Table("notify_subscriptions AS s").
		Select("s.id, s.kind, s.company_id, s.last_period, s.active_since, s.set_by_id, s.set_by_name, s.membership_id, "+
			"m.first_name, m.last_name, m.email, m.type, m.account_id, a.name AS account_name, a.time_zone AS account_zone, "+
			"COALESCE(l.time_zone, '') AS login_zone, COALESCE(c.name, '') AS company_name, COALESCE(c.time_zone, '') AS company_zone").
		Joins("JOIN memberships m ON m.id = s.membership_id").
		Joins("JOIN accounts a ON a.id = m.account_id").
		Joins("LEFT JOIN logins l ON l.id = m.login_id").
		Joins("LEFT JOIN companies c ON c.id = s.company_id").
		Where("s.id > ? AND s.active = ? AND s.kind IN ? AND m.status = ? AND a.status = ?",
			after, true, SummaryKinds, models.MemberActive, models.AccountActive).
		Where("(s.company_id = 0 OR (c.status = ? AND (m.type = ? OR EXISTS (SELECT 1 FROM assignments x WHERE x.membership_id = m.id AND x.company_id = s.company_id))))",
			models.CompanyActive, models.Admin).
		Order("s.id").Limit(candidatesPage).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("summary subscriptions: %w", err)
	}
	return out, nil
}

// summaryCache keeps, for one run, the reports computed so far (by zone,
// period and company) and each account's active companies: many
// recipients share them.
type summaryCache struct {
	reports  map[string]map[uint]*calls.Report
	accounts map[uint][]models.Company
}

func newSummaryCache() *summaryCache {
	return &summaryCache{reports: map[string]map[uint]*calls.Report{}, accounts: map[uint][]models.Company{}}
}

func periodKey(d dueSummary) string { return d.zone.String() + "|" + string(d.Kind) + "|" + d.key }

// sendSummaries renders a batch, then claims and enqueues it in one
// transaction; it returns how many it wrote and how many of those late.
func (s *Service) sendSummaries(ctx context.Context, now time.Time, batch []dueSummary, sc *summaryCache) (int, int, error) {
	companiesOf, err := s.summaryCompanies(ctx, batch, sc)
	if err != nil {
		return 0, 0, err
	}
	if err := s.summaryReports(ctx, batch, companiesOf, sc); err != nil {
		return 0, 0, err
	}
	mails := map[uint]*models.OutboxMessage{}
	late := map[uint]bool{}
	for _, d := range batch {
		companies := companiesOf[d.ID]
		if len(companies) == 0 {
			continue // no company left to report on
		}
		reports := sc.reports[periodKey(d)]
		in := SummaryMail{AccountName: d.AccountName, Kind: d.Kind, Period: d.period, Zone: d.zone,
			AllCompanies: d.CompanyID == 0, Due: d.due, Late: now.Sub(d.due) > summaryLateAfter,
			To: Recipient{MemberID: d.MembershipID, FirstName: d.FirstName, LastName: d.LastName, Email: d.Email, Type: d.Type,
				Zone: s.store.ZoneOf(&models.Login{TimeZone: d.LoginZone}, &models.Account{TimeZone: d.AccountZone})}}
		sub := Subscription{ID: d.ID, Kind: d.Kind, MembershipID: d.MembershipID, SetByID: d.SetByID}
		in.Why = Why{Kind: d.Kind, Company: d.CompanyName, SetBy: d.SetByName, SetBySelf: sub.SetBySelf(), Token: s.Token(sub)}
		if in.AllCompanies {
			in.Total = reports[companies[0].ID].Empty()
			for _, co := range companies {
				r := reports[co.ID]
				in.Total.Merge(r)
				in.Companies = append(in.Companies, r)
			}
			slices.SortStableFunc(in.Companies, func(a, b *calls.Report) int { return b.Calls + b.Texts - a.Calls - a.Texts })
		} else {
			in.Company = companies[0]
			in.Total = reports[d.CompanyID]
		}
		mail, err := s.mail.Summary(in)
		if err != nil {
			return 0, 0, fmt.Errorf("compose summary: %w", err)
		}
		mails[d.ID] = message(models.Account{ID: d.AccountID, Name: d.AccountName},
			in.To, "summary_"+string(d.Kind), mail)
		late[d.ID] = in.Late
	}
	// Claim, per period, the rows whose LastPeriod is still older, and
	// write only their emails.
	groups := map[string][]uint{}
	keys := map[string]string{}
	for _, d := range batch {
		if mails[d.ID] == nil {
			continue
		}
		g := string(d.Kind) + "|" + d.key
		groups[g] = append(groups[g], d.ID)
		keys[g] = d.key
	}
	enqueued, lateCount := 0, 0
	err = s.tx(ctx, func(tx *gorm.DB) error {
		enqueued, lateCount = 0, 0
		var out []*models.OutboxMessage
		for g, ids := range groups {
			var claimed []uint
			err := tx.Raw(`UPDATE notify_subscriptions SET last_period = ?, last_sent_at = ?, updated_at = ?
				WHERE id IN ? AND active = ? AND last_period < ?
				AND EXISTS (SELECT 1 FROM memberships m WHERE m.id = notify_subscriptions.membership_id AND m.status = ?)
				RETURNING id`, keys[g], now, now, ids, true, keys[g], models.MemberActive).Scan(&claimed).Error
			if err != nil {
				return fmt.Errorf("claim summaries: %w", err)
			}
			for _, id := range claimed {
				m := *mails[id]
				out = append(out, &m)
				if late[id] {
					lateCount++
				}
			}
		}
		enqueued = len(out)
		return s.store.EnqueueEmailsTx(tx, out)
	})
	if err != nil {
		return 0, 0, err
	}
	return enqueued, lateCount, nil
}

// summaryCompanies resolves the companies each summary of a batch is
// about: its company, or every company the person sees now.
func (s *Service) summaryCompanies(ctx context.Context, batch []dueSummary, sc *summaryCache) (map[uint][]models.Company, error) {
	db := s.store.DB().WithContext(ctx)
	out := map[uint][]models.Company{}
	var single []uint
	var members []uint
	for _, d := range batch {
		switch {
		case d.CompanyID != 0:
			single = append(single, d.CompanyID)
		case d.Type.SeesAllCompanies():
			if _, ok := sc.accounts[d.AccountID]; !ok {
				var cos []models.Company
				if err := db.Where("account_id = ? AND status = ?", d.AccountID, models.CompanyActive).Order("name, id").Find(&cos).Error; err != nil {
					return nil, fmt.Errorf("companies of account: %w", err)
				}
				sc.accounts[d.AccountID] = cos
			}
		default:
			members = append(members, d.MembershipID)
		}
	}
	byID := map[uint]models.Company{}
	for chunk := range slices.Chunk(uniq(single), 500) {
		var cos []models.Company
		if err := db.Where("id IN ?", chunk).Find(&cos).Error; err != nil {
			return nil, fmt.Errorf("companies of summaries: %w", err)
		}
		for _, co := range cos {
			byID[co.ID] = co
		}
	}
	assigned := map[uint][]models.Company{}
	for chunk := range slices.Chunk(uniq(members), 500) {
		var rows []struct {
			MembershipID uint
			models.Company
		}
		err := db.Table("assignments AS a").Select("a.membership_id, companies.*").
			Joins("JOIN companies ON companies.id = a.company_id AND companies.status = ?", models.CompanyActive).
			Where("a.membership_id IN ?", chunk).Order("companies.name, companies.id").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("companies of people: %w", err)
		}
		for _, r := range rows {
			assigned[r.MembershipID] = append(assigned[r.MembershipID], r.Company)
		}
	}
	for _, d := range batch {
		switch {
		case d.CompanyID != 0:
			if co, ok := byID[d.CompanyID]; ok {
				out[d.ID] = []models.Company{co}
			}
		case d.Type.SeesAllCompanies():
			out[d.ID] = sc.accounts[d.AccountID]
		default:
			out[d.ID] = assigned[d.MembershipID]
		}
	}
	return out, nil
}

// summaryReports computes the reports a batch needs that the run has not
// computed yet: one query per zone and period for all its companies.
func (s *Service) summaryReports(ctx context.Context, batch []dueSummary, companiesOf map[uint][]models.Company, sc *summaryCache) error {
	type need struct {
		period    calls.Period
		companies map[uint]models.Company
	}
	needs := map[string]*need{}
	for _, d := range batch {
		pk := periodKey(d)
		have := sc.reports[pk]
		for _, co := range companiesOf[d.ID] {
			if _, ok := have[co.ID]; ok {
				continue
			}
			n := needs[pk]
			if n == nil {
				n = &need{period: d.period, companies: map[uint]models.Company{}}
				needs[pk] = n
			}
			n.companies[co.ID] = co
		}
	}
	for pk, n := range needs {
		cos := make([]models.Company, 0, len(n.companies))
		for _, co := range n.companies {
			cos = append(cos, co)
		}
		reports, err := s.calls.Reports(ctx, cos, n.period)
		if err != nil {
			return err
		}
		if sc.reports[pk] == nil {
			sc.reports[pk] = map[uint]*calls.Report{}
		}
		for id, r := range reports {
			sc.reports[pk][id] = r
		}
	}
	return nil
}

func uniq(ids []uint) []uint {
	slices.Sort(ids)
	return slices.Compact(ids)
}
