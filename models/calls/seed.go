package calls

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
)

// SeedOptions sizes the calls the benchmark writes. Seeded calls are
// benchmark data: they exist only in the benchmark's throwaway database.
type SeedOptions struct {
	Calls int
	// Days spreads the calls over the days before now.
	Days int
	Seed uint64
	// Progress is told after each transaction how many calls exist.
	Progress func(done, total int)
}

// SeedResult is what the benchmark needs to find its pages.
type SeedResult struct {
	// Callers maps a company to a few of its callers' numbers, for searches.
	Callers map[uint][]string
	Tags    []Tag
}

const (
	seedNumbersPerCompany = 2
	seedCallersPerCompany = 300
	seedTxCalls           = 20000
)

// SeedCalls writes opts.Calls calls and texts over the account's active
// companies in bulk: two numbers per company, a pool of callers each (so
// callers repeat and first-time callers are real), outcomes, sources,
// qualified leads and tags in realistic shares. Timelines are not seeded:
// the call page reads them the same way whether empty or not.
func (s *Service) SeedCalls(ctx context.Context, accountID uint, companies []models.Company, opts SeedOptions) (*SeedResult, error) {
	var active []models.Company
	for _, c := range companies {
		if c.Status == models.CompanyActive {
			active = append(active, c)
		}
	}
	if len(active) == 0 || opts.Calls <= 0 {
		return nil, fmt.Errorf("seed calls: nothing to seed")
	}
	if opts.Days <= 0 {
		opts.Days = 90
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 16))
	now := s.now()
	res := &SeedResult{Callers: map[uint][]string{}}

	// Numbers and callers, company by company.
	numbers := map[uint][]TrackingNumber{}
	callers := map[uint][]Caller{}
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		for _, name := range []string{"Booked", "Spam", "Follow up"} {
			t := Tag{AccountID: accountID, Name: name, Key: lower(name), CreatedAt: now}
			if err := tx.Create(&t).Error; err != nil {
				return err
			}
			res.Tags = append(res.Tags, t)
		}
		var nums []TrackingNumber
		for i, c := range active {
			for j := range seedNumbersPerCompany {
				nums = append(nums, TrackingNumber{AccountID: accountID, CompanyID: c.ID,
					Number: fmt.Sprintf("+1%03d555%04d", 201+i/10000, (i*seedNumbersPerCompany+j)%10000),
					Name:   []string{"Main line", "Campaign line"}[j], Source: Sources[rng.IntN(len(Sources))], Status: NumberActive,
					Flow: Flow{Destination: ToVoicemail, RingMode: RingSimultaneous, Timeout: DefaultTimeout, Voicemail: true}, CreatedAt: now, UpdatedAt: now})
			}
		}
		if err := tx.CreateInBatches(nums, 500).Error; err != nil {
			return fmt.Errorf("seed numbers: %w", err)
		}
		for _, n := range nums {
			numbers[n.CompanyID] = append(numbers[n.CompanyID], n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	firstNames := []string{"JOHN", "MARY", "LUIS", "AIKO", "OMAR", "EMMA", "RAJ", "SOFIA", "IVAN", "GRACE"}
	lastNames := []string{"SMITH", "GARCIA", "NGUYEN", "KOWALSKI", "OKAFOR", "MULLER", "ROSSI", "TANAKA", "SILVA", "BROWN"}
	for start := 0; start < len(active); start += 100 {
		chunk := active[start:min(start+100, len(active))]
		err := s.store.Tx(ctx, func(tx *gorm.DB) error {
			var rows []Caller
			for _, c := range chunk {
				for k := range seedCallersPerCompany {
					name := ""
					if k%3 != 0 {
						name = lastNames[rng.IntN(len(lastNames))] + " " + firstNames[rng.IntN(len(firstNames))]
					}
					rows = append(rows, Caller{CompanyID: c.ID, Number: fmt.Sprintf("+1%03d%03d%04d", 202+rng.IntN(700), 200+rng.IntN(799), rng.IntN(10000)),
						Name: name, CreatedAt: now})
				}
			}
			slices.SortFunc(rows, func(a, b Caller) int { return cmpCaller(a, b) })
			rows = slices.CompactFunc(rows, func(a, b Caller) bool { return a.CompanyID == b.CompanyID && a.Number == b.Number })
			if err := tx.CreateInBatches(rows, 1000).Error; err != nil {
				return fmt.Errorf("seed callers: %w", err)
			}
			var terms []CallerTerm
			for _, cl := range rows {
				callers[cl.CompanyID] = append(callers[cl.CompanyID], cl)
				for _, t := range callerTerms(cl) {
					terms = append(terms, CallerTerm{CompanyID: cl.CompanyID, Term: t, CallerID: cl.ID})
				}
			}
			if err := tx.CreateInBatches(terms, 2000).Error; err != nil {
				return fmt.Errorf("seed caller terms: %w", err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for id, cls := range callers {
		for _, cl := range cls[:min(5, len(cls))] {
			res.Callers[id] = append(res.Callers[id], cl.Number)
		}
	}

	// Calls: each company's share, in time order so the first call of a
	// caller is the first-time one.
	perCompany := make([]int, len(active))
	for i := range opts.Calls {
		perCompany[(i*7919+rng.IntN(len(active)))%len(active)]++
	}
	span := time.Duration(opts.Days) * 24 * time.Hour
	done := 0
	var batch []Call
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.store.Tx(ctx, func(tx *gorm.DB) error { return tx.CreateInBatches(batch, 400).Error })
		if err != nil {
			return fmt.Errorf("seed calls: %w", err)
		}
		done += len(batch)
		batch = batch[:0]
		if opts.Progress != nil {
			opts.Progress(done, opts.Calls)
		}
		return nil
	}
	sid := 0
	for i, c := range active {
		n := perCompany[i]
		times := make([]time.Time, n)
		for k := range times {
			times[k] = now.Add(-time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		seen := map[uint]bool{}
		cls, nums := callers[c.ID], numbers[c.ID]
		for _, at := range times {
			// A few callers call often, most once or twice.
			cl := cls[min(int(rng.ExpFloat64()*float64(len(cls))/4), len(cls)-1)]
			num := nums[rng.IntN(len(nums))]
			sid++
			call := Call{AccountID: accountID, CompanyID: c.ID, NumberID: num.ID, Kind: KindCall, Sid: fmt.Sprintf("CA%032x", sid),
				CallerID: cl.ID, CallerNumber: cl.Number, CallerName: cl.Name, FirstTime: !seen[cl.ID], Source: num.Source,
				StartedAt: at, Status: "completed", StatusRank: 4, Qualified: rng.IntN(100) < 8, CreatedAt: at, UpdatedAt: at}
			seen[cl.ID] = true
			switch r := rng.IntN(100); {
			case r < 60:
				call.Outcome, call.Duration, call.TalkSeconds = OutcomeAnswered, 30+rng.IntN(600), 20+rng.IntN(580)
			case r < 85:
				call.Outcome, call.Duration = OutcomeMissed, 5+rng.IntN(40)
			case r < 95:
				call.Outcome, call.Duration = OutcomeVoicemail, 20+rng.IntN(100)
				call.RecordingSid, call.RecordingSeconds, call.RecordingVoicemail = fmt.Sprintf("RE%032x", sid), call.Duration-15, true
			default:
				call.Kind, call.Outcome, call.Sid, call.Status, call.Body = KindText, OutcomeText, fmt.Sprintf("SM%032x", sid), "received", "Are you open on Saturday?"
			}
			end := at.Add(time.Duration(call.Duration) * time.Second)
			call.EndedAt = &end
			batch = append(batch, call)
			if len(batch) >= seedTxCalls {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	// One call in ten carries a tag.
	err = s.store.Tx(ctx, func(tx *gorm.DB) error {
		for i, t := range res.Tags {
			err := tx.Exec(`INSERT INTO call_tags (call_id, tag_id, started_at, company_id)
				SELECT id, ?, started_at, company_id FROM calls WHERE account_id = ? AND id % 30 = ?`, t.ID, accountID, i*10).Error
			if err != nil {
				return fmt.Errorf("seed tags: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func cmpCaller(a, b Caller) int {
	if a.CompanyID != b.CompanyID {
		return int(a.CompanyID) - int(b.CompanyID)
	}
	switch {
	case a.Number < b.Number:
		return -1
	case a.Number > b.Number:
		return 1
	}
	return 0
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
