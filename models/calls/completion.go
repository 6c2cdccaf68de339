package calls

import (
	"fmt"

	"gorm.io/gorm"

	"switchboard/models"
)

// Other areas follow the calls without this one knowing them: the
// notifications area sends call and text alerts. Each registers a
// CompletionHook at start-up (cmd wires it), and the webhook that records a
// call's end or a text's arrival calls every hook inside its own
// transaction, so an alert is written together with what it reports, or
// not at all.
//
// A call completes once: when its first final status arrives (the status
// callback; a later, repeated or out-of-order one changes nothing). What
// is known by then is what the hook sees; a voicemail whose recording
// callback comes after the call's end is on the call's page, not in the
// alert. A text completes when it arrives (the SMS webhook), once per
// MessageSid.

// Completed is a call that has just ended, or a text that has just
// arrived, as its transaction recorded it.
type Completed struct {
	Call    Call
	Number  TrackingNumber
	Company models.Company
}

// CompletionHook is told of each completed call and text, once, inside the
// transaction that records it. An error rolls the webhook's change back
// (Twilio retries it), so a hook fails only when the database does.
type CompletionHook func(tx *gorm.DB, c Completed) error

// OnCompleted registers a hook. Call it at start-up, before the webhooks
// are served.
func (s *Service) OnCompleted(h CompletionHook) { s.completed = append(s.completed, h) }

// complete tells the hooks that c ended (or arrived); n and co are its
// number and company when the caller has them.
func (s *Service) complete(tx *gorm.DB, c *Call, n *TrackingNumber, co *models.Company) error {
	if len(s.completed) == 0 {
		return nil
	}
	ev := Completed{Call: *c}
	if n != nil && n.ID == c.NumberID {
		ev.Number = *n
	} else if err := tx.Where("id = ?", c.NumberID).Take(&ev.Number).Error; err != nil {
		return fmt.Errorf("number of completed call: %w", err)
	}
	if co != nil && co.ID == c.CompanyID {
		ev.Company = *co
	} else if err := tx.Where("id = ?", c.CompanyID).Take(&ev.Company).Error; err != nil {
		return fmt.Errorf("company of completed call: %w", err)
	}
	for _, h := range s.completed {
		if err := h(tx, ev); err != nil {
			return err
		}
	}
	return nil
}
