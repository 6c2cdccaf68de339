package models

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// AuditAction is a kind of audit event with the name people see.
type AuditAction struct {
	Action, Label string
}

// coreAuditActions are the kinds of event the people core records; the
// areas add theirs when they register (Store.AuditActions). Events are
// written by the change they describe, in its transaction, and are never
// edited or deleted by the console.
var coreAuditActions = []AuditAction{
	{"account.created", "Account created"},
	{"member.created", "User created"},
	{"invitation.sent", "Invitation sent"},
	{"invitation.resent", "Invitation resent"},
	{"invitation.renewed", "New link asked for from an expired one"},
	{"account.updated", "Account settings changed"},
	{"member.email_changed", "Email address changed"},
	{"member.activated", "Password set"},
	{"member.updated", "User edited"},
	{"member.promoted", "Promoted"},
	{"member.demoted", "Demoted"},
	{"member.disabled", "Disabled"},
	{"member.enabled", "Re-enabled"},
	{"member.deleted", "Deleted"},
	{"company.user_added", "Added to a company"},
	{"company.user_removed", "Removed from a company"},
	{"company.created", "Company created"},
	{"import.started", "Import started"},
	{"company.updated", "Company edited"},
	{"company.disabled", "Company disabled"},
	{"company.enabled", "Company re-enabled"},
	{"access.requested", "Access requested"},
	{"access.withdrawn", "Access request withdrawn"},
	{"access.granted", "Access granted"},
	{"access.declined", "Access declined"},
	{"access.corrected", "Access request corrected"},
	{"member.left", "Left the account"},
	{"password.changed", "Password changed"},
	{"login.throttle_cleared", "Login slow-down lifted"},
}

// AuditActions lists every kind of event: the core's, then each area's.
func (s *Store) AuditActions() []AuditAction {
	out := slices.Clone(coreAuditActions)
	for _, a := range s.areas.areas {
		out = append(out, a.AuditActions...)
	}
	return out
}

// AuditActionLabel names an action for people; unknown ones show as stored.
func (s *Store) AuditActionLabel(action string) string {
	for _, a := range s.AuditActions() {
		if a.Action == action {
			return a.Label
		}
	}
	return action
}

// labelEvents names each event's action for the pages.
func (s *Store) labelEvents(events []AuditEvent) {
	for i := range events {
		events[i].Label = s.AuditActionLabel(events[i].Action)
	}
}

// AuditFilter is what the audit log asks for. Person matches the actor's or
// the target's name or address; Action is one of AuditActions; After is the
// cursor of the last event of the previous page.
type AuditFilter struct {
	Person string
	Action string
	After  string
	Limit  int
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Events     []AuditEvent
	NextCursor string
}

const defaultAuditPage = 50

// CleanAuditFilter checks a filter that came from a URL.
func (s *Store) CleanAuditFilter(f AuditFilter) (AuditFilter, error) {
	f.Person = strings.TrimSpace(f.Person)
	if !utf8.ValidString(f.Person) || utf8.RuneCountInString(f.Person) > MaxSearchLength {
		return f, Errorf(BadRequest, "Search for at most %d characters.", MaxSearchLength)
	}
	if f.Action != "" && s.AuditActionLabel(f.Action) == f.Action {
		return f, Errorf(BadRequest, "That kind of event is not known.")
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = defaultAuditPage
	}
	return f, nil
}

// FindAuditEvents returns a page of the account's audit log, newest first,
// paged by keyset on (created_at, id) so deep pages cost what the first does.
func (s *Store) FindAuditEvents(ctx context.Context, v *Viewer, f AuditFilter) (*AuditPage, error) {
	if !CanViewAudit(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins can see the audit log.")
	}
	f, err := s.CleanAuditFilter(f)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Where("account_id = ?", v.Account.ID)
	if f.Person != "" {
		pattern := "%" + escapeLike(strings.ToLower(f.Person)) + "%"
		q = q.Where(`(LOWER(actor_name) LIKE ? ESCAPE '\' OR LOWER(target_name) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.After != "" {
		c, err := decodeCursor(f.After)
		if err != nil {
			return nil, err
		}
		at, err := time.Parse(time.RFC3339Nano, c.key)
		if err != nil {
			return nil, Errorf(BadRequest, "That page link is not valid. Go back to the first page.")
		}
		q = q.Where("(created_at, id) < (?, ?)", at.UTC(), c.id)
	}
	var events []AuditEvent
	if err := q.Order("created_at DESC, id DESC").Limit(f.Limit + 1).Find(&events).Error; err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	s.labelEvents(events)
	page := &AuditPage{Events: events}
	if len(events) > f.Limit {
		page.Events = events[:f.Limit]
		last := page.Events[f.Limit-1]
		page.NextCursor = encodeCursor(cursor{key: last.CreatedAt.UTC().Format(time.RFC3339Nano), id: last.ID})
	}
	return page, nil
}

// RecentEventsOf returns the newest events by or about one person.
func (s *Store) RecentEventsOf(ctx context.Context, v *Viewer, memberID uint, limit int) ([]AuditEvent, error) {
	if !CanViewAudit(v.Type()) {
		return nil, nil
	}
	var events []AuditEvent
	err := s.db.WithContext(ctx).Where("account_id = ? AND (target_id = ? OR actor_id = ?)", v.Account.ID, memberID, memberID).
		Order("created_at DESC, id DESC").Limit(limit).Find(&events).Error
	if err != nil {
		return nil, fmt.Errorf("events of member: %w", err)
	}
	s.labelEvents(events)
	return events, nil
}
