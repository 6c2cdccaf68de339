package views

import (
	"strconv"
	"time"

	"switchboard/models/notify"
)

// NotifySectionProps is the Notifications section: on Edit User, on a
// person's notifications page, and on one's own (/account/notifications).
type NotifySectionProps struct {
	Settings *notify.Settings
	// Action is where each row's form posts; Return where it leads back.
	Action, Return string
	// Zone is where the viewer reads times.
	Zone *time.Location
	// Error is a refused row's message, shown above the rows.
	Error string
}

// NotifyPageProps is a person's notifications as a page of its own.
type NotifyPageProps struct {
	Section NotifySectionProps
	// Own: the viewer's own (/account/notifications).
	Own bool
	// EditUser links back to Edit User when the viewer may open it.
	EditUser bool
}

// CompanyNotifyProps is who receives what for a company.
type CompanyNotifyProps struct {
	*notify.CompanyNotifications
}

// UnsubscribeProps is the page of an unsubscribe link: the confirmation
// (GET), or what was done (after the POST).
type UnsubscribeProps struct {
	U     *notify.Unsubscription
	Token string
	// Done: the POST came, now or before.
	Done bool
}

// MemberNotificationsPath is the address of a person's notifications page.
func MemberNotificationsPath(id uint) string { return MemberPath(id, "/notifications") }

func notifyTitle(s *notify.Settings) string {
	if s.Self {
		return "Your notifications"
	}
	return "Notifications of " + s.Member.FullName()
}

func rowLegend(r notify.Row, s *notify.Settings) string {
	if r.Company != nil {
		return r.Company.Name
	}
	if s.Self {
		return "All your companies"
	}
	return "All their companies"
}

func rowID(prefix string, r notify.Row) string { return prefix + "-" + r.Key() }

func callFilterSelected(r notify.Row, f notify.CallFilter) bool { return r.Choice.Calls == f }

// summaryHint says when each summary arrives.
func summaryHint(k notify.Kind) string {
	switch k {
	case notify.DailySummary:
		return "about 08:00, the day before"
	case notify.WeeklySummary:
		return "Mondays about 13:00, the week before"
	case notify.MonthlySummary:
		return "the 1st about 13:00, the month before"
	}
	return ""
}

func kindOn(c notify.Choice, k notify.Kind) bool {
	switch k {
	case notify.TextAlerts:
		return c.Texts
	case notify.DailySummary:
		return c.Daily
	case notify.WeeklySummary:
		return c.Weekly
	case notify.MonthlySummary:
		return c.Monthly
	}
	return c.Calls != notify.CallsOff
}

// checkKinds are the kinds shown as checkboxes (call alerts is a choice).
var checkKinds = []notify.Kind{notify.TextAlerts, notify.DailySummary, notify.WeeklySummary, notify.MonthlySummary}

func unsubscribedLine(sub notify.Subscription, zone *time.Location) string {
	return sub.Kind.Title() + ": unsubscribed on " + sub.UnsubscribedAt.In(zone).Format("Jan 2, 2006 15:04 MST") + " from an email"
}

func companyKey(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// choiceHas is kindOn for the wizard's receives values.
func receivesHas(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// receivesCalls is the call-alert value among the wizard's receives.
func receivesCalls(values []string) string {
	for _, x := range values {
		if len(x) > 6 && x[:6] == "calls:" {
			return x
		}
	}
	return ""
}

func describeOrDash(c notify.Choice) string {
	if c.None() {
		return "–"
	}
	d := c.Describe()
	return string(d[0]-'a'+'A') + d[1:]
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]-'A'+'a') + s[1:]
}
