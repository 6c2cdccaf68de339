package notify

import (
	"time"

	"switchboard/models"
)

// Kind is one kind of notification email a person can receive.
type Kind string

const (
	// CallAlerts: an email when a call ends (every call, first-time
	// callers only, or missed calls only; Filter says which).
	CallAlerts Kind = "calls"
	// TextAlerts: an email when a text arrives.
	TextAlerts Kind = "texts"
	// DailySummary, WeeklySummary, MonthlySummary: the numbers of the day
	// before (at about 08:00), of the week before (Mondays at about 13:00)
	// and of the month before (on the 1st at about 13:00).
	DailySummary   Kind = "daily"
	WeeklySummary  Kind = "weekly"
	MonthlySummary Kind = "monthly"
)

// Kinds lists every kind, in the order pages show them.
var Kinds = []Kind{CallAlerts, TextAlerts, DailySummary, WeeklySummary, MonthlySummary}

// SummaryKinds are the summaries.
var SummaryKinds = []Kind{DailySummary, WeeklySummary, MonthlySummary}

// IsSummary tells a summary from an alert.
func (k Kind) IsSummary() bool { return k == DailySummary || k == WeeklySummary || k == MonthlySummary }

// Label names the kind in sentences: "daily summary", "call alerts".
func (k Kind) Label() string {
	switch k {
	case CallAlerts:
		return "call alerts"
	case TextAlerts:
		return "text alerts"
	case DailySummary:
		return "daily summary"
	case WeeklySummary:
		return "weekly summary"
	case MonthlySummary:
		return "monthly summary"
	}
	return string(k)
}

// Title is Label with a capital, for headings and form labels.
func (k Kind) Title() string {
	l := k.Label()
	return string(l[0]-'a'+'A') + l[1:]
}

// ParseKind accepts exactly the canonical value of a kind.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// CallFilter says which calls a call alert is sent for.
type CallFilter string

const (
	// CallsOff: no call alerts (no stored value has it).
	CallsOff       CallFilter = ""
	EveryCall      CallFilter = "all"
	FirstTimeCalls CallFilter = "first_time"
	MissedCalls    CallFilter = "missed"
)

// CallFilters lists the choices of the call-alert control, "off" first.
var CallFilters = []CallFilter{CallsOff, EveryCall, FirstTimeCalls, MissedCalls}

// Label names the filter on pages.
func (f CallFilter) Label() string {
	switch f {
	case EveryCall:
		return "Every call"
	case FirstTimeCalls:
		return "First-time callers only"
	case MissedCalls:
		return "Missed calls only"
	}
	return "Off"
}

// Value is the form value of the filter ("off" for CallsOff).
func (f CallFilter) Value() string {
	if f == CallsOff {
		return "off"
	}
	return string(f)
}

// ParseCallFilter reads a form value of the call-alert control.
func ParseCallFilter(s string) (CallFilter, bool) {
	for _, f := range CallFilters {
		if f.Value() == s {
			return f, true
		}
	}
	return "", false
}

// Subscription is one kind of email one person receives about one company
// of their account, or about all their companies (CompanyID 0, which
// follows them as companies are assigned or taken away).
//
// A row is kept when it is turned off, so that its history stays: who set
// it up, when the person unsubscribed (shown to Admins on Edit User), and
// LastPeriod, which makes a summary go once per period however often it is
// switched off and on.
type Subscription struct {
	ID        uint            `gorm:"primaryKey"`
	AccountID uint            `gorm:"not null;index:idx_notify_subs_alerts,priority:1"`
	Account   *models.Account `gorm:"constraint:OnDelete:CASCADE"`
	// MembershipID is who receives it; deleting the person deletes it.
	MembershipID uint               `gorm:"not null;uniqueIndex:idx_notify_subs_member,priority:1"`
	Membership   *models.Membership `gorm:"constraint:OnDelete:CASCADE"`
	// CompanyID is the company, or 0 for all the person's companies (so
	// it is no foreign key; companies are disabled, never deleted, and the
	// account's cascade removes both).
	CompanyID uint `gorm:"not null;uniqueIndex:idx_notify_subs_member,priority:3;index:idx_notify_subs_alerts,priority:3"`
	Kind      Kind `gorm:"size:16;not null;uniqueIndex:idx_notify_subs_member,priority:2;index:idx_notify_subs_alerts,priority:2"`
	// Filter is the call alerts' choice; empty for other kinds.
	Filter CallFilter `gorm:"size:16;not null;default:''"`
	Active bool       `gorm:"not null"`
	// ActiveSince is when it was last turned on: a summary falls due only
	// after it.
	ActiveSince time.Time `gorm:"not null"`
	// LastPeriod is the key of the last period a summary was enqueued for
	// ("2026-11-22", "2026-W47", "2026-10"); moving it is how a run claims
	// a recipient's summary, exactly once.
	LastPeriod string `gorm:"size:16;not null;default:''"`
	LastSentAt *time.Time
	// SetByID and SetByName are who last turned it on or changed it (the
	// footer of each email names them); not a foreign key, so it outlives
	// them.
	SetByID   *uint
	SetByName string `gorm:"size:201;not null;default:''"`
	// UnsubscribedAt is when the person turned it off from an email's
	// link; cleared when it is turned on again.
	UnsubscribedAt *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName keeps the area's tables together.
func (Subscription) TableName() string { return "notify_subscriptions" }

// SetBySelf tells whether the person set it up themselves.
func (s Subscription) SetBySelf() bool { return s.SetByID != nil && *s.SetByID == s.MembershipID }

// Describe names a kind of email for a company in a sentence: "daily
// summary of Acme Plumbing", "call alerts for Acme Plumbing"; company ""
// is all the person's companies, with whose ("your", "their") before it.
func Describe(k Kind, company, whose string) string {
	prep := "for"
	if k.IsSummary() {
		prep = "of"
	}
	if company == "" {
		return k.Label() + " " + prep + " all " + whose + " companies"
	}
	return k.Label() + " " + prep + " " + company
}
