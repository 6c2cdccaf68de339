package calls_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
)

// logWorld is an account with calls of every kind over ten days, in
// companies of different time zones, and a brute-force copy to compare the
// Call Log's pages with.
type logWorld struct {
	*fixture
	admin, acmeManager, bothReporting, manyManager, boltOnly *models.Viewer
	numbers                                                  map[uint]calls.TrackingNumber
	tags                                                     []calls.Tag
	many                                                     []models.Company
}

var callerBook = []struct{ number, name string }{
	{"+12025550123", "SMITH JOHN"}, {"+12025550124", "Jane Smithers"}, {"+13125550100", "O'Brien Pat"},
	{"+13125550111", ""}, {"+442071838750", "London Caller"}, {"+16175551212", "WIRELESS CALLER"},
	{"+12125550199", "Anne-Marie Doe"}, {"anonymous", ""},
}

func newLogWorld(t *testing.T, dialect string) *logWorld {
	ctx := context.Background()
	w := &logWorld{fixture: newFixture(t, dialect), numbers: map[uint]calls.TrackingNumber{}}
	f := w.fixture
	w.admin = f.person(f.account, models.Admin)
	w.acmeManager = f.person(f.account, models.Manager, f.acme)
	w.bothReporting = f.person(f.account, models.Reporting, f.acme, f.bolt)
	w.boltOnly = f.person(f.account, models.Reporting, f.bolt)
	// More companies than the Call Log reads one by one, with a time zone
	// of their own, for a Manager assigned to all of them.
	manyCompanies := []models.Company{f.acme}
	for i := range 41 {
		co := models.Company{AccountID: f.account.ID, Name: fmt.Sprintf("Branch %02d", i), Status: models.CompanyActive, TimeZone: "Asia/Tokyo"}
		must(t, f.store.DB().Create(&co).Error)
		manyCompanies = append(manyCompanies, co)
	}
	w.many = manyCompanies
	w.manyManager = f.person(f.account, models.Manager, manyCompanies...)
	var numbers []*calls.TrackingNumber
	for i, spec := range []struct {
		co     models.Company
		source string
	}{{f.acme, "Google Ads"}, {f.acme, "Website"}, {f.bolt, "Google Ads"}, {f.bolt, ""}, {manyCompanies[5], "Radio"}, {f.otherCo, "Google Ads"}} {
		by := w.admin
		if spec.co.ID == f.otherCo.ID {
			by = f.person(f.other, models.Admin)
		}
		n := f.number(by, spec.co, fmt.Sprintf("+1415555%04d", 200+i), fmt.Sprintf("Line %d", i), spec.source)
		numbers = append(numbers, n)
		w.numbers[n.ID] = *n
	}
	rng := rand.New(rand.NewPCG(7, 9))
	outcomes := []calls.Outcome{calls.OutcomeAnswered, calls.OutcomeAnswered, calls.OutcomeMissed, calls.OutcomeVoicemail}
	for i := range 160 {
		f.advance(time.Duration(30+rng.IntN(120)) * time.Minute)
		n := numbers[rng.IntN(len(numbers))]
		caller := callerBook[rng.IntN(len(callerBook))]
		if i%23 == 0 {
			_, err := f.calls.IncomingText(ctx, calls.TextParams{Sid: f.sid("SM"), From: caller.number, To: n.Number, Body: "hello"})
			must(t, err)
			continue
		}
		sid := f.sid("CA")
		_, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: sid, From: caller.number, To: n.Number, CallerName: caller.name})
		must(t, err)
		outcome := outcomes[rng.IntN(len(outcomes))]
		status := "no-answer"
		if outcome == calls.OutcomeAnswered {
			status = "completed"
		}
		_, _, _, err = f.calls.DialResult(ctx, calls.DialParams{Sid: sid, From: caller.number, To: n.Number, DialStatus: status})
		must(t, err)
		if outcome == calls.OutcomeVoicemail {
			must(t, f.calls.Recording(ctx, calls.RecordingParams{CallSid: sid, RecordingSid: f.sid("RE"), Status: "completed", Duration: "9", Voicemail: true}))
		}
		must(t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "completed", Duration: "30", From: caller.number, To: n.Number}))
	}
	// Tags and qualified leads on some of the account's calls.
	var all []calls.Call
	must(t, f.store.DB().Where("account_id = ?", f.account.ID).Order("id").Find(&all).Error)
	for i, c := range all {
		if i%3 == 0 {
			_, err := f.calls.AddTag(ctx, w.admin, c.ID, []string{"Booked", "Spam", "Follow up"}[i%9/3], "")
			must(t, err)
		}
		if i%5 == 0 {
			must(t, f.calls.SetQualified(ctx, w.admin, c.ID, true, ""))
		}
	}
	must(t, f.store.DB().Where("account_id = ?", f.account.ID).Order("key").Find(&w.tags).Error)
	return w
}

// expected is the brute-force Call Log: every call of the scope, filtered
// in Go, newest first.
func (w *logWorld) expected(t *testing.T, companies []models.Company, f calls.LogFilter) []uint {
	zones := map[uint]string{}
	for _, c := range companies {
		zones[c.ID] = c.TimeZone
	}
	var all []calls.Call
	must(t, w.store.DB().Where("account_id = ?", w.account.ID).Find(&all).Error)
	var callers []calls.Caller
	must(t, w.store.DB().Find(&callers).Error)
	names := map[uint]calls.Caller{}
	for _, c := range callers {
		names[c.ID] = c
	}
	tagged := map[uint]bool{}
	if f.TagID != 0 {
		var ids []uint
		w.store.DB().Model(&calls.CallTag{}).Where("tag_id = ?", f.TagID).Pluck("call_id", &ids)
		for _, id := range ids {
			tagged[id] = true
		}
	}
	var out []calls.Call
	for _, c := range all {
		zone, ok := zones[c.CompanyID]
		if !ok {
			continue
		}
		day := c.StartedAt.In(mustZone(t, zone)).Format("2006-01-02")
		switch {
		case f.From != "" && day < f.From, f.To != "" && day > f.To,
			f.Outcome != "" && c.Outcome != f.Outcome,
			f.FirstTime && !c.FirstTime, f.Qualified && !c.Qualified,
			f.TagID != 0 && !tagged[c.ID],
			f.NumberID != 0 && c.NumberID != f.NumberID,
			f.Source != "" && c.Source != f.Source,
			f.Query != "" && !matches(names[c.CallerID], f.Query):
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b calls.Call) int {
		if !a.StartedAt.Equal(b.StartedAt) {
			return b.StartedAt.Compare(a.StartedAt)
		}
		return int(b.ID) - int(a.ID)
	})
	ids := make([]uint, len(out))
	for i, c := range out {
		ids[i] = c.ID
	}
	return ids
}

func mustZone(t *testing.T, zone string) *time.Location {
	loc, err := time.LoadLocation(zone)
	must(t, err)
	return loc
}

// matches is the search's meaning: digits start or end the number (or its
// national part); a word starts one of the caller's name words.
func matches(c calls.Caller, q string) bool {
	digits := strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		if strings.ContainsRune(" +-().", r) {
			return -1
		}
		return 'x'
	}, q)
	if digits != "" && !strings.Contains(digits, "x") {
		num := strings.TrimPrefix(c.Number, "+")
		if !strings.HasPrefix(c.Number, "+") {
			return false
		}
		national := strings.TrimPrefix(num, "1")
		if strings.HasPrefix(num, "44") {
			national = num[2:]
		}
		return strings.HasPrefix(num, digits) || strings.HasPrefix(national, digits) || strings.HasSuffix(num, digits)
	}
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	longest := slices.MaxFunc(words, func(a, b string) int { return len(a) - len(b) })
	for _, n := range strings.FieldsFunc(strings.ToLower(c.Name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if strings.HasPrefix(n, longest) {
			return true
		}
	}
	return false
}

// pages reads every page of the Call Log through its cursors.
func (w *logWorld) pages(t *testing.T, v *models.Viewer, f calls.LogFilter) []uint {
	var ids []uint
	f.Limit = 7
	for range 100 {
		page, err := w.calls.FindCalls(context.Background(), v, f)
		if err != nil {
			t.Fatalf("FindCalls %+v: %v", f, err)
		}
		for _, r := range page.Rows {
			ids = append(ids, r.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		f.After = page.NextCursor
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestCallLog_FiltersAndPagesMatchBruteForce(t *testing.T) {
	for _, dialect := range modelstest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			w := newLogWorld(t, dialect)
			f := w.fixture
			var acmeNumber uint
			for id, n := range w.numbers {
				if n.CompanyID == f.acme.ID && n.Source == "Website" {
					acmeNumber = id
				}
			}
			viewers := []struct {
				name      string
				v         *models.Viewer
				companyID uint
				scope     []models.Company
			}{
				{"Admin, whole account", w.admin, 0, append([]models.Company{f.acme, f.bolt}, w.many[1:]...)},
				{"Admin, one company", w.admin, f.acme.ID, []models.Company{f.acme}},
				{"Manager of Acme", w.acmeManager, 0, []models.Company{f.acme}},
				{"Reporting of two companies", w.bothReporting, 0, []models.Company{f.acme, f.bolt}},
				{"Manager of 42 companies", w.manyManager, 0, w.many},
			}
			day := func(d int) string { return time.Date(2026, 11, 23+d, 0, 0, 0, 0, time.UTC).Format("2006-01-02") }
			filters := []calls.LogFilter{
				{},
				{Outcome: calls.OutcomeMissed},
				{Outcome: calls.OutcomeVoicemail},
				{Outcome: calls.OutcomeText},
				{FirstTime: true},
				{Qualified: true},
				{TagID: w.tags[0].ID},
				{TagID: w.tags[1].ID, Outcome: calls.OutcomeAnswered},
				{Source: "Google Ads"},
				{From: day(2), To: day(4)},
				{From: day(3)},
				{To: day(1), Qualified: true},
				{Query: "smith"},
				{Query: "Pat"},
				{Query: "(202) 555"},
				{Query: "0123"},
				{Query: "+44 20"},
				{Query: "smi", TagID: w.tags[0].ID, From: day(1)},
			}
			total := 0
			// Each search runs both ways: from the callers it finds, and
			// walking the newest calls (as for a common word).
			for _, many := range []int{0, 1} {
				w.calls.SetManyCallers(many)
				for _, vw := range viewers {
					for _, flt := range filters {
						if many == 1 && flt.Query == "" {
							continue
						}
						flt.CompanyID = vw.companyID
						scope := vw.scope
						if vw.companyID != 0 {
							flt.NumberID = 0
						}
						want := w.expected(t, scope, flt)
						got := w.pages(t, vw.v, flt)
						total += len(got)
						if !slices.Equal(got, want) {
							t.Errorf("%s, filter %+v, common-search threshold %d:\n got %v\nwant %v", vw.name, flt, many, got, want)
						}
					}
				}
			}
			w.calls.SetManyCallers(0)
			if total < 500 {
				t.Errorf("the filters found only %d calls in all: the world is too thin to test them", total)
			}
			// A number filter within one company.
			flt := calls.LogFilter{CompanyID: f.acme.ID, NumberID: acmeNumber}
			if got, want := w.pages(t, w.acmeManager, flt), w.expected(t, []models.Company{f.acme}, flt); !slices.Equal(got, want) || len(want) == 0 {
				t.Errorf("number filter: got %v want %v", got, want)
			}
		})
	}
}

func TestCallLog_ScopeAndBadInput(t *testing.T) {
	ctx := context.Background()
	w := newLogWorld(t, "sqlite")
	f := w.fixture
	// Another company's or account's log is the same 404 as none.
	for name, try := range map[string]struct {
		v  *models.Viewer
		co uint
	}{
		"Bolt's Reporting user, Acme":     {w.boltOnly, f.acme.ID},
		"Acme's Manager, another account": {w.acmeManager, f.otherCo.ID},
		"no such company":                 {w.admin, 99999},
	} {
		if _, err := f.calls.FindCalls(ctx, try.v, calls.LogFilter{CompanyID: try.co}); models.ErrorCode(err) != models.NotFound {
			t.Errorf("%s: %v", name, err)
		}
	}
	nora := f.person(f.account, models.Notification, f.acme)
	if _, err := f.calls.FindCalls(ctx, nora, calls.LogFilter{}); models.ErrorCode(err) != models.NotFound {
		t.Errorf("a Notification user's Call Log: %v", err)
	}
	for _, bad := range []calls.LogFilter{
		{Outcome: "everything"}, {From: "23/11/2026"}, {From: "2026-11-25", To: "2026-11-24"},
		{After: "garbage"}, {After: "zz.0"}, {Query: strings.Repeat("q", 101)}, {TagID: 99999},
		{NumberID: 1},
	} {
		if _, err := f.calls.FindCalls(ctx, w.admin, bad); models.ErrorCode(err) != models.BadRequest {
			t.Errorf("filter %+v: %v", bad, err)
		}
	}
	page, err := f.calls.FindCalls(ctx, w.admin, calls.LogFilter{Query: "a"})
	must(t, err)
	if !page.SearchTooShort || len(page.Rows) == 0 {
		t.Errorf("a one-letter search: too short %v, %d rows", page.SearchTooShort, len(page.Rows))
	}
	// Disabling a company takes its calls out of everyone's log.
	_, err = f.store.SetCompanyStatus(ctx, w.admin, f.bolt.ID, models.CompanyDisabled, "")
	must(t, err)
	for _, v := range []*models.Viewer{w.admin, w.bothReporting} {
		ids := w.pages(t, v, calls.LogFilter{})
		var n int64
		f.store.DB().Model(&calls.Call{}).Where("id IN ? AND company_id = ?", ids, f.bolt.ID).Count(&n)
		if n != 0 {
			t.Errorf("%d calls of a disabled company in the log", n)
		}
	}
}
