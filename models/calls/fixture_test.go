package calls_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
	"switchboard/views"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is an account with two companies (Acme in Chicago, Bolt in UTC),
// a second account, and people written straight to the database.
type fixture struct {
	t        testing.TB
	store    *models.Store
	calls    *calls.Service
	clock    *modelstest.Clock
	account  models.Account
	acme     models.Company
	bolt     models.Company
	other    models.Account
	otherCo  models.Company
	n        int
	sidCount int
}

func newFixture(t testing.TB, dialect string) *fixture {
	t.Helper()
	clock := modelstest.NewClock()
	store := modelstest.OpenDialect(t, dialect, models.WithClock(clock.Now))
	base, _ := url.Parse("https://switchboard.example")
	store.UseMail(views.Mailer{BaseURL: base})
	svc, err := calls.Open(context.Background(), store)
	must(t, err)
	store.RegisterArea(svc.Area())
	f := &fixture{t: t, store: store, calls: svc, clock: clock}
	f.account = models.Account{Number: "3000000001", Name: "Acme Calls", Status: models.AccountActive}
	must(t, store.DB().Create(&f.account).Error)
	f.acme = models.Company{AccountID: f.account.ID, Name: "Acme Plumbing", Status: models.CompanyActive, TimeZone: "America/Chicago"}
	must(t, store.DB().Create(&f.acme).Error)
	f.bolt = models.Company{AccountID: f.account.ID, Name: "Bolt Roofing", Status: models.CompanyActive, TimeZone: "UTC"}
	must(t, store.DB().Create(&f.bolt).Error)
	f.other = models.Account{Number: "3000000002", Name: "Other Calls", Status: models.AccountActive}
	must(t, store.DB().Create(&f.other).Error)
	f.otherCo = models.Company{AccountID: f.other.ID, Name: "Other Co", Status: models.CompanyActive, TimeZone: "UTC"}
	must(t, store.DB().Create(&f.otherCo).Error)
	return f
}

// person writes an active member of the account (or of other) with a
// login, assigned to the given companies.
func (f *fixture) person(account models.Account, typ models.UserType, companies ...models.Company) *models.Viewer {
	f.t.Helper()
	f.n++
	email := fmt.Sprintf("%s%d@example.com", typ, f.n)
	m := models.Membership{AccountID: account.ID, FirstName: typ.Label(), LastName: fmt.Sprint(f.n), Email: email,
		SortName: fmt.Sprintf("%s %d", typ, f.n), Type: typ, Status: models.MemberActive}
	if typ.CanLogIn() {
		login := models.Login{Email: email, PasswordHash: "x"}
		must(f.t, f.store.DB().Create(&login).Error)
		m.LoginID = &login.ID
	}
	must(f.t, f.store.DB().Create(&m).Error)
	for _, c := range companies {
		must(f.t, f.store.DB().Create(&models.Assignment{MembershipID: m.ID, CompanyID: c.ID}).Error)
	}
	return &models.Viewer{Membership: m, Account: account}
}

// withPhone gives a person a phone written straight to the database.
func (f *fixture) withPhone(v *models.Viewer, phone string) *models.Viewer {
	f.t.Helper()
	must(f.t, f.store.DB().Create(&calls.MemberPhone{MembershipID: v.Membership.ID, Phone: phone}).Error)
	return v
}

func (f *fixture) number(admin *models.Viewer, co models.Company, number, name, source string) *calls.TrackingNumber {
	f.t.Helper()
	n, err := f.calls.CreateNumber(context.Background(), admin, co.ID, calls.NumberInput{Number: number, Name: name, Source: source}, "")
	must(f.t, err)
	return n
}

// sid makes a Twilio-shaped SID.
func (f *fixture) sid(prefix string) string {
	f.sidCount++
	return fmt.Sprintf("%s%032x", prefix, f.sidCount)
}

// call runs a whole call through the webhooks: arrival, the dial's result,
// a status callback, and a voicemail when missed and asked for.
func (f *fixture) call(to, from string, outcome calls.Outcome) string {
	f.t.Helper()
	ctx := context.Background()
	sid := f.sid("CA")
	_, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: sid, From: from, To: to})
	must(f.t, err)
	switch outcome {
	case calls.OutcomeAnswered:
		_, _, _, err = f.calls.DialResult(ctx, calls.DialParams{Sid: sid, From: from, To: to, DialStatus: "completed", DialDuration: "42"})
	case calls.OutcomeMissed, calls.OutcomeVoicemail:
		_, _, _, err = f.calls.DialResult(ctx, calls.DialParams{Sid: sid, From: from, To: to, DialStatus: "no-answer", DialDuration: "0"})
	}
	must(f.t, err)
	if outcome == calls.OutcomeVoicemail {
		must(f.t, f.calls.Recording(ctx, calls.RecordingParams{CallSid: sid, RecordingSid: f.sid("RE"), Status: "completed", Duration: "12", Voicemail: true}))
	}
	must(f.t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "completed", Duration: "60", From: from, To: to}))
	return sid
}

func (f *fixture) callBySid(sid string) calls.Call {
	f.t.Helper()
	var c calls.Call
	must(f.t, f.store.DB().Where("sid = ?", sid).Take(&c).Error)
	return c
}

func (f *fixture) advance(d time.Duration) { f.clock.Advance(d) }
