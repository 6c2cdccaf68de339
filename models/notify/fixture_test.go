package notify_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/models/modelstest"
	"switchboard/models/notify"
	"switchboard/views"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// clock is a settable clock several stores can share safely.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder keeps what the summaries were composed from, and composes them
// with the real templates.
type recorder struct {
	views.NotifyMailer
	mu        sync.Mutex
	summaries []notify.SummaryMail
	alerts    []notify.AlertMail
}

func (r *recorder) Summary(in notify.SummaryMail) (notify.Mail, error) {
	r.mu.Lock()
	r.summaries = append(r.summaries, in)
	r.mu.Unlock()
	return r.NotifyMailer.Summary(in)
}

func (r *recorder) Alert(in notify.AlertMail) (notify.Mail, error) {
	r.mu.Lock()
	r.alerts = append(r.alerts, in)
	r.mu.Unlock()
	return r.NotifyMailer.Alert(in)
}

// fixture is an account with two companies (Acme in Chicago, Bolt in
// UTC), a second account, the calls and notifications areas wired as cmd
// wires them, and a clock.
type fixture struct {
	t       testing.TB
	store   *models.Store
	calls   *calls.Service
	notify  *notify.Service
	mail    *recorder
	clock   *clock
	account models.Account
	acme    models.Company
	bolt    models.Company
	other   models.Account
	otherCo models.Company
	admin   *models.Viewer
	n       int
	sids    int
}

var baseURL, _ = url.Parse("https://switchboard.example")

func newFixture(t testing.TB, dialect string) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	return newFixtureOn(t, modelstest.OpenDialect(t, dialect, models.WithClock(c.Now)), c)
}

// newFixtureOn wires the areas on a store (one of several servers
// sharing a database, when it is not the first, finds its data there).
func newFixtureOn(t testing.TB, store *models.Store, c *clock) *fixture {
	t.Helper()
	ctx := context.Background()
	store.UseMail(views.Mailer{BaseURL: baseURL})
	callsArea, err := calls.Open(ctx, store)
	must(t, err)
	store.RegisterArea(callsArea.Area())
	rec := &recorder{NotifyMailer: views.NotifyMailer{BaseURL: baseURL}}
	n, err := notify.Open(ctx, store, callsArea, rec)
	must(t, err)
	store.RegisterArea(n.Area())
	callsArea.OnCompleted(n.CallCompleted)
	return &fixture{t: t, store: store, calls: callsArea, notify: n, mail: rec, clock: c}
}

// seed writes the accounts and companies, and an Admin.
func (f *fixture) seed() *fixture {
	f.t.Helper()
	db := f.store.DB()
	f.account = models.Account{Number: "3000000001", Name: "Acme Calls", Status: models.AccountActive, TimeZone: "America/Los_Angeles"}
	must(f.t, db.Create(&f.account).Error)
	f.acme = models.Company{AccountID: f.account.ID, Name: "Acme Plumbing", Status: models.CompanyActive, TimeZone: "America/Chicago"}
	must(f.t, db.Create(&f.acme).Error)
	f.bolt = models.Company{AccountID: f.account.ID, Name: "Bolt Roofing", Status: models.CompanyActive, TimeZone: "UTC"}
	must(f.t, db.Create(&f.bolt).Error)
	f.other = models.Account{Number: "3000000002", Name: "Other Calls", Status: models.AccountActive}
	must(f.t, db.Create(&f.other).Error)
	f.otherCo = models.Company{AccountID: f.other.ID, Name: "Other Co", Status: models.CompanyActive, TimeZone: "UTC"}
	must(f.t, db.Create(&f.otherCo).Error)
	f.admin = f.person(f.account, models.Admin, "Ada")
	return f
}

// person writes an active member with a login (none for Notification
// users), assigned to the companies.
func (f *fixture) person(account models.Account, typ models.UserType, first string, companies ...models.Company) *models.Viewer {
	f.t.Helper()
	f.n++
	email := fmt.Sprintf("%s%d@example.com", strings.ToLower(first), f.n)
	m := models.Membership{AccountID: account.ID, FirstName: first, LastName: "Tester", Email: email,
		SortName: strings.ToLower(first + " tester"), Type: typ, Status: models.MemberActive}
	var login models.Login
	if typ.CanLogIn() {
		login = models.Login{Email: email, PasswordHash: "x"}
		must(f.t, f.store.DB().Create(&login).Error)
		m.LoginID = &login.ID
	}
	must(f.t, f.store.DB().Create(&m).Error)
	for _, c := range companies {
		must(f.t, f.store.DB().Create(&models.Assignment{MembershipID: m.ID, CompanyID: c.ID}).Error)
	}
	return &models.Viewer{Membership: m, Account: account, Login: login}
}

// set saves a row as the viewer, failing the test on an error.
func (f *fixture) set(by *models.Viewer, who *models.Viewer, co *models.Company, c notify.Choice) {
	f.t.Helper()
	in := notify.RowInput{All: co == nil, Choice: c}
	if co != nil {
		in.CompanyID = co.ID
	}
	_, err := f.notify.SaveRow(context.Background(), by, who.Membership.ID, in, "10.0.0.1")
	must(f.t, err)
}

func (f *fixture) number(co models.Company, number, name, source string) *calls.TrackingNumber {
	f.t.Helper()
	n, err := f.calls.CreateNumber(context.Background(), f.admin, co.ID, calls.NumberInput{Number: number, Name: name, Source: source}, "")
	must(f.t, err)
	return n
}

func (f *fixture) sid(prefix string) string {
	f.sids++
	return fmt.Sprintf("%s%032x", prefix, f.sids)
}

// call runs a whole call through the webhooks and returns its SID.
func (f *fixture) call(to, from string, outcome calls.Outcome) string {
	f.t.Helper()
	ctx := context.Background()
	sid := f.sid("CA")
	_, err := f.calls.IncomingCall(ctx, calls.CallParams{Sid: sid, From: from, To: to})
	must(f.t, err)
	status := "no-answer"
	if outcome == calls.OutcomeAnswered {
		status = "completed"
	}
	_, _, _, err = f.calls.DialResult(ctx, calls.DialParams{Sid: sid, From: from, To: to, DialStatus: status, DialDuration: "42"})
	must(f.t, err)
	if outcome == calls.OutcomeVoicemail {
		must(f.t, f.calls.Recording(ctx, calls.RecordingParams{CallSid: sid, RecordingSid: f.sid("RE"), Status: "completed", Duration: "12", Voicemail: true}))
	}
	must(f.t, f.calls.CallStatus(ctx, calls.StatusParams{Sid: sid, Status: "completed", Duration: "60", From: from, To: to}))
	return sid
}

// outbox lists the unsent messages of a kind prefix ("alert_", "summary_"), oldest first.
func (f *fixture) outbox(prefix string) []models.OutboxMessage {
	f.t.Helper()
	var out []models.OutboxMessage
	must(f.t, f.store.DB().Where("kind LIKE ?", prefix+"%").Order("id").Find(&out).Error)
	return out
}

func (f *fixture) emailOf(v *models.Viewer) string { return v.Membership.Email }

func recipients(ms []models.OutboxMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ToAddress)
	}
	return out
}

func itoa(id uint) string { return fmt.Sprint(id) }
