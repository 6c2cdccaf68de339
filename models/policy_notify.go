package models

import "fmt"

// Who may set whose notifications (issue 17), written once, beside the
// matrix it derives from. Everyone receives notification and summary emails
// (CapEmails); what differs is who may choose them for whom, by CallRail's
// documented rules:
//
//   - Admins: for anyone in the account, for any company or "all
//     companies".
//   - Managers: for themselves, and for the people of a single company
//     they manage who are not Admins (people of equal or lesser access);
//     never an "all companies" setting for someone else, since that would
//     reach companies the Manager does not manage.
//   - Reporting users: only their own.
//   - Notification users: receive only; others set theirs (they have no
//     login, so they are never the one asking).
//
// It follows the order of "Scope, and 404 versus 403" (policy.go): a person
// or company outside the viewer's scope is 404 before any right is asked;
// a viewer who sees both but may not set this is told 403 and why. A
// company the person does not see is a choice in a form (422), which the
// caller checks: nobody receives email about a company they may not see.

// NotifySetting describes one setting someone wants to change: whose, for
// which company (or all of theirs), and what the viewer's scope holds.
type NotifySetting struct {
	ActorType UserType
	// Self: the viewer is the person whose setting it is.
	Self bool
	// TargetType and TargetName describe that person.
	TargetType UserType
	TargetName string
	// TargetInScope: the viewer may see the person (findVisibleMember).
	TargetInScope bool
	// AllCompanies: the setting covers all the person's companies;
	// otherwise it is about one company, named CompanyName.
	AllCompanies bool
	CompanyName  string
	// CompanyInScope: the company is one the viewer sees (for Managers, one
	// they manage). Ignored for AllCompanies.
	CompanyInScope bool
}

// NotifyDecision is the answer: allowed with the reason the page shows
// ("You can change this because…"), or refused with an error that is 404
// (outside scope) or 403 (in scope, not theirs to set) and says why.
type NotifyDecision struct {
	Allowed bool
	Because string
	Err     *Error
}

// CanSetNotifications decides one setting.
func CanSetNotifications(in NotifySetting) NotifyDecision {
	if !in.TargetInScope || (!in.AllCompanies && !in.CompanyInScope) {
		return NotifyDecision{Err: ErrNotFound()}
	}
	forbid := func(msg string) NotifyDecision {
		return NotifyDecision{Err: &Error{Code: Forbidden, Title: "Not something you can change", Message: msg}}
	}
	where := "for " + in.CompanyName
	if in.AllCompanies {
		where = "for all their companies"
	}
	switch {
	case !in.ActorType.CanLogIn():
		return forbid("Notification users receive emails only; an Admin sets what they receive.")
	case in.ActorType == Admin:
		if in.Self {
			return NotifyDecision{Allowed: true, Because: "These are your own notifications, and Admins set notifications for anyone in the account."}
		}
		return NotifyDecision{Allowed: true, Because: fmt.Sprintf("You are an Admin: Admins set notifications for anyone in the account, %s.",
			map[bool]string{true: "for all their companies or any one of them", false: "for any company"}[in.AllCompanies])}
	case in.Self:
		return NotifyDecision{Allowed: true, Because: "These are your own notifications: everyone chooses their own, " + where + "."}
	case in.ActorType == Manager && in.TargetType == Admin:
		return forbid(fmt.Sprintf("%s is an Admin. Managers set notifications only for people of equal or lesser access; %s or another Admin can change these.", in.TargetName, in.TargetName))
	case in.ActorType == Manager && in.AllCompanies:
		return forbid(fmt.Sprintf("A setting for all of %s's companies reaches companies you may not manage. Only an Admin, or %s, can change it; you can set theirs for each company you manage.", in.TargetName, in.TargetName))
	case in.ActorType == Manager:
		return NotifyDecision{Allowed: true, Because: fmt.Sprintf("You manage %s, and %s sees it: Managers set notifications for the people of the companies they manage.", in.CompanyName, in.TargetName)}
	}
	return forbid(fmt.Sprintf("%s users set only their own notifications. An Admin, or %s, can change these.", in.ActorType.Label(), in.TargetName))
}

// CanViewNotificationsOf: whether a viewer who sees a person may open the
// page of that person's notifications at all (each row then says what they
// may change). Reporting users see only their own.
func CanViewNotificationsOf(actor UserType, self bool) bool {
	return self || actor == Admin || actor == Manager
}

// CanViewCompanyRecipients: who receives what for a company, shown to
// Admins, and to Managers for the companies they manage.
func CanViewCompanyRecipients(t UserType) bool { return t == Admin || t == Manager }
