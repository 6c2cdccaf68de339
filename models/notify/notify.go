// Package notify is the notifications area of the account: what each
// person receives (call and text alerts, daily, weekly and monthly summary
// emails), per company or for all their companies; who may set that for
// whom (models.CanSetNotifications); the alerts written with a call's end,
// the summaries written by the scheduler once per recipient and period;
// and the signed one-click unsubscribe of every such email.
//
// It depends on the people core (switchboard/models) and on the calls
// area (switchboard/models/calls), never the reverse: it follows calls
// through the calls area's completion hook, and people through the core's
// area hooks (hooks.go). There is no HTTP and no HTML here: emails are
// composed by a Composer (views implements it) and written to the core's
// outbox.
package notify

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"switchboard/models"
	"switchboard/models/calls"
)

// Service is the notifications area over one Store.
type Service struct {
	store *models.Store
	calls *calls.Service
	mail  Composer
	// key signs unsubscribe links (unsubscribe.go); kept in the secrets
	// table, so every server shares it and a restart keeps links working.
	key []byte
	// summaryBatch is how many recipients one transaction of a summary run
	// takes (tests make it small).
	summaryBatch int
}

// Open brings the area's tables up to date and returns it. Register it on
// the store (Area) and on the calls area (CallCompleted) before serving.
func Open(ctx context.Context, store *models.Store, callsArea *calls.Service, mail Composer) (*Service, error) {
	if mail == nil {
		return nil, fmt.Errorf("notify: a mail composer is required")
	}
	s := &Service{store: store, calls: callsArea, mail: mail, summaryBatch: 500}
	// As the core's and the calls area's: one server at a time, and a
	// schema already recorded is left alone.
	if err := store.MigrateArea(ctx, "notify", &Subscription{}); err != nil {
		return nil, err // says "notify: migrate notify schema: …"
	}
	key, err := store.SecretKey(ctx, "notify-unsubscribe", 32)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	s.key = key
	return s, nil
}

// Area is what the notifications area registers on the people core: its
// audit vocabulary, the hook that ends subscriptions to companies a person
// no longer sees, and the one that sets up what a new Notification user
// receives.
func (s *Service) Area() models.Area {
	return models.Area{Name: "notifications", AuditActions: auditActions, Access: accessHook{s}, Created: createHook{s}}
}

// Audit actions of the area.
var auditActions = []models.AuditAction{
	{Action: "notify.updated", Label: "Notifications changed"},
	{Action: "notify.unsubscribed", Label: "Unsubscribed from an email"},
	{Action: "notify.ended", Label: "Notifications ended"},
}

func (s *Service) now() time.Time { return s.store.Now() }

// Mail is a composed notification email. Unsubscribe is the address of
// its one-click unsubscribe (the List-Unsubscribe header), also linked in
// its footer.
type Mail struct {
	Subject, Text, HTML, Unsubscribe string
}

// Composer renders the area's emails; views implements it, building every
// link from the configured base URL.
type Composer interface {
	Alert(AlertMail) (Mail, error)
	Summary(SummaryMail) (Mail, error)
}

// Recipient is who an email goes to, as its footer and links need them.
type Recipient struct {
	MemberID  uint
	FirstName string
	LastName  string
	Email     string
	Type      models.UserType
	// Zone is where they read times (models.Store.ZoneOf).
	Zone *time.Location
}

// Name is the recipient's full name.
func (r Recipient) Name() string { return r.FirstName + " " + r.LastName }

// LinksIntoConsole: only people who log in get links to the console's
// pages; a Notification user's email never has one.
func (r Recipient) LinksIntoConsole() bool { return r.Type.CanLogIn() }

// Why is what a footer says about why the person gets the email, and who
// set it up, with the signed token of its unsubscribe link.
type Why struct {
	Kind   Kind
	Filter CallFilter
	// Company is the company's name, or "" for all their companies.
	Company string
	// SetBy is who set it up; SetBySelf when it was the recipient.
	SetBy     string
	SetBySelf bool
	// Token is the unsubscribe link's signed token (unsubscribe.go).
	Token string
}

// AlertMail is a call or text alert.
type AlertMail struct {
	To          Recipient
	AccountName string
	Call        calls.Call
	Number      calls.TrackingNumber
	Company     models.Company
	Why         Why
}

// SummaryMail is a daily, weekly or monthly summary.
type SummaryMail struct {
	To          Recipient
	AccountName string
	Kind        Kind
	// Period is the days it covers, on the wall clock of Zone: the
	// company's time zone, or the recipient's for all their companies.
	Period calls.Period
	Zone   *time.Location
	// Total is the numbers of the period: the company's, or the sum of
	// every company's for all their companies (with each in Companies,
	// busiest first).
	Total        *calls.Report
	AllCompanies bool
	Company      models.Company
	Companies    []*calls.Report
	// Due is when it was due; Late when it goes out well after (the
	// servers were down), which the email says.
	Due  time.Time
	Late bool
	Why  Why
}

// tx runs fn in the store's writer.
func (s *Service) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.store.Tx(ctx, fn)
}
