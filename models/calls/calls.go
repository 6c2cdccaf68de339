// Package calls is the calls area of the account: tracking numbers and
// their call flows (greeting, whisper, recording, an outside number or a
// ring group of the company's people, voicemail), the calls and texts that
// arrive on them, tags, notes, qualified leads, the Call Log and the
// per-company report.
//
// It depends on the people core (switchboard/models) and never the reverse:
// rights come from the core's one policy (models.CompanyFor, ScopeOf), its
// writes go through the core's writer (Store.Tx) and audit log, and it
// follows changes to people through the hook it registers (hooks.go). There
// is no HTTP here: the telephony webhooks hand it what Twilio said (the
// web layer checks Twilio's signature first) and render what it answers.
package calls

import (
	"context"
	"fmt"
	"time"

	"switchboard/models"
)

// Service is the calls area over one Store.
type Service struct {
	store *models.Store
	// manyCallers replaces the constant of the same name in tests.
	manyCallers int
	// completed are told of every call that ends and text that arrives
	// (completion.go); registered at start-up, only read afterwards.
	completed []CompletionHook
}

// Open brings the area's tables up to date and returns it. Register it on
// the store (Area) before serving.
func Open(ctx context.Context, store *models.Store) (*Service, error) {
	s := &Service{store: store}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Area is what the calls area registers on the people core: its audit
// vocabulary and the hook that takes people out of ring groups when they
// can no longer take the company's calls.
func (s *Service) Area() models.Area {
	return models.Area{Name: "calls", AuditActions: auditActions, Access: accessHook{s}}
}

// Audit actions of the area.
var auditActions = []models.AuditAction{
	{Action: "number.created", Label: "Tracking number created"},
	{Action: "number.updated", Label: "Tracking number edited"},
	{Action: "number.disabled", Label: "Tracking number disabled"},
	{Action: "number.enabled", Label: "Tracking number re-enabled"},
	{Action: "flow.updated", Label: "Call flow edited"},
	{Action: "ring_group.left", Label: "Left a ring group"},
	{Action: "phone.updated", Label: "Own phone number changed"},
	{Action: "call.tagged", Label: "Call tagged"},
	{Action: "call.untagged", Label: "Call tag removed"},
	{Action: "call.noted", Label: "Call note added"},
	{Action: "call.note_edited", Label: "Call note edited"},
	{Action: "call.qualified", Label: "Call marked qualified"},
	{Action: "call.unqualified", Label: "Call unmarked qualified"},
	{Action: "call.called_back", Label: "Caller called back"},
}

func (s *Service) now() time.Time { return s.store.Now() }

func (s *Service) migrate(ctx context.Context) error {
	if err := s.store.MigrateArea(ctx, "calls", &MemberPhone{}, &TrackingNumber{}, &RingGroupMember{}, &Caller{}, &CallerTerm{},
		&Call{}, &CallEvent{}, &PendingRecording{}, &Tag{}, &CallTag{}, &Note{}); err != nil {
		return err
	}
	// An index replaced by a wider one is dropped only when it is there,
	// so a server starting beside others that serve takes no lock.
	m := s.store.DB().WithContext(ctx).Migrator()
	for _, ix := range replacedIndexes {
		if m.HasIndex(ix.table, ix.name) {
			if err := m.DropIndex(ix.table, ix.name); err != nil && m.HasIndex(ix.table, ix.name) {
				return fmt.Errorf("calls: drop replaced index %s: %w", ix.name, err)
			}
		}
	}
	return nil
}
