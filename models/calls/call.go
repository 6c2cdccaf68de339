package calls

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// Limits of what people write on a call.
const (
	MaxTagName  = 40
	MaxNoteBody = 2000
	MaxTagsOnce = 20
)

// CallDetail is everything a call's page shows.
type CallDetail struct {
	Call    Call
	Number  TrackingNumber
	Company models.Company
	Events  []CallEvent
	Notes   []Note
	Tags    []Tag
	// AllTags are the account's tags, for "create as you type".
	AllTags []Tag
	// Calls is how many calls and texts the caller made to the company.
	CallerCalls int64
	loc         *time.Location
}

// Local is an instant in the call's company time zone.
func (d *CallDetail) Local(t time.Time) time.Time {
	if d.loc == nil {
		return inZone(t, d.Company.TimeZone)
	}
	return t.In(d.loc)
}

// findCall loads a call the viewer holds capability c on: the call's
// company must be theirs for c; otherwise the same 404.
//
// Inside a transaction (findCall) the call is locked and the company read
// with it; outside one (readCall) the company comes from the core's cache
// (Store.CompanyFor).
func findCall(tx *gorm.DB, v *models.Viewer, c models.Capability, callID uint) (*Call, *models.Company, error) {
	call, err := takeCall(tx.Clauses(clause.Locking{Strength: "UPDATE"}), v, callID)
	if err != nil {
		return nil, nil, err
	}
	co, err := models.CompanyFor(tx, v, c, call.CompanyID)
	if err != nil {
		return nil, nil, err
	}
	return call, co, nil
}

func (s *Service) readCall(ctx context.Context, v *models.Viewer, c models.Capability, callID uint) (*Call, *models.Company, error) {
	call, err := takeCall(s.store.DB().WithContext(ctx), v, callID)
	if err != nil {
		return nil, nil, err
	}
	co, err := s.store.CompanyFor(ctx, v, c, call.CompanyID)
	if err != nil {
		return nil, nil, err
	}
	return call, co, nil
}

func takeCall(q *gorm.DB, v *models.Viewer, callID uint) (*Call, error) {
	var call Call
	err := q.Where("id = ? AND account_id = ?", callID, v.Account.ID).Take(&call).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find call: %w", err)
	}
	return &call, nil
}

// CallInScope answers nil when the viewer reviews the calls of the call's
// company, and the same 404 as FindCall otherwise: the route gate's
// question, without gathering the page. It reads the call's company
// alone (one row by primary key) and asks the policy.
func (s *Service) CallInScope(ctx context.Context, v *models.Viewer, callID uint) error {
	db := s.store.DB().WithContext(ctx)
	var companyID uint
	if err := db.Raw("SELECT company_id FROM calls WHERE id = ? AND account_id = ?", callID, v.Account.ID).Row().Scan(&companyID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return models.ErrNotFound()
		}
		return fmt.Errorf("find call: %w", err)
	}
	_, err := s.store.CompanyFor(ctx, v, models.CapReviewCalls, companyID)
	return err
}

// FindCall gathers a call's page for people who review the company's calls.
func (s *Service) FindCall(ctx context.Context, v *models.Viewer, callID uint) (*CallDetail, error) {
	db := s.store.DB().WithContext(ctx)
	call, co, err := s.readCall(ctx, v, models.CapReviewCalls, callID)
	if err != nil {
		return nil, err
	}
	d := &CallDetail{Call: *call, Company: *co, loc: s.zone(co.TimeZone)}
	if err := db.Where("id = ?", call.NumberID).Take(&d.Number).Error; err != nil {
		return nil, fmt.Errorf("number of call: %w", err)
	}
	if err := db.Where("call_id = ?", call.ID).Order("at, id").Limit(200).Find(&d.Events).Error; err != nil {
		return nil, fmt.Errorf("call events: %w", err)
	}
	if err := db.Where("call_id = ?", call.ID).Order("created_at, id").Limit(200).Find(&d.Notes).Error; err != nil {
		return nil, fmt.Errorf("call notes: %w", err)
	}
	if err := db.Joins("JOIN call_tags ON call_tags.tag_id = tags.id").Where("call_tags.call_id = ?", call.ID).
		Order("tags.key").Find(&d.Tags).Error; err != nil {
		return nil, fmt.Errorf("call tags: %w", err)
	}
	if err := db.Where("account_id = ?", v.Account.ID).Order("key").Limit(500).Find(&d.AllTags).Error; err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	if err := db.Model(&Call{}).Where("caller_id = ?", call.CallerID).Count(&d.CallerCalls).Error; err != nil {
		return nil, fmt.Errorf("calls of caller: %w", err)
	}
	return d, nil
}

func callTarget(c *Call, co *models.Company) string {
	what := "Call"
	if c.Kind == KindText {
		what = "Text"
	}
	return what + " from " + FormatPhone(c.CallerNumber) + " (" + co.Name + ")"
}

// classify runs a change to a call for people who may classify its calls,
// with the call locked, and records it on the timeline and the audit log.
func (s *Service) classify(ctx context.Context, v *models.Viewer, callID uint, ip string, fn func(tx *gorm.DB, c *Call, co *models.Company) (action, detail string, err error)) error {
	return s.store.Tx(ctx, func(tx *gorm.DB) error {
		c, co, err := findCall(tx, v, models.CapClassifyCalls, callID)
		if err != nil {
			return err
		}
		action, detail, err := fn(tx, c, co)
		if err != nil || action == "" {
			return err
		}
		// A person's change is an event every time; the key only has to
		// be unique.
		ev := CallEvent{CallID: c.ID, Key: action + ":" + rand.Text(), At: s.now(),
			Text: truncate(detail, 300), ActorName: v.Membership.FullName()}
		if err := tx.Create(&ev).Error; err != nil {
			return fmt.Errorf("call event: %w", err)
		}
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: action,
			TargetName: callTarget(c, co), Detail: detail})
	})
}

// cleanTagName checks a tag typed by someone.
func cleanTagName(input string) (string, error) {
	name, ok := cleanText(input, MaxTagName)
	if !ok {
		return "", models.FieldErrors(map[string]string{"tag": fmt.Sprintf("Keep a tag to %d characters of plain text.", MaxTagName)})
	}
	if name == "" {
		return "", models.FieldErrors(map[string]string{"tag": "Type a tag, such as “Booked” or “Spam”."})
	}
	return name, nil
}

// AddTag puts a tag on a call, creating it for the account when it is new
// ("Booked" and "booked" are one tag). Tagging twice is not an error.
func (s *Service) AddTag(ctx context.Context, v *models.Viewer, callID uint, input, ip string) (*Tag, error) {
	name, err := cleanTagName(input)
	if err != nil {
		return nil, err
	}
	var tag Tag
	err = s.classify(ctx, v, callID, ip, func(tx *gorm.DB, c *Call, _ *models.Company) (string, string, error) {
		key := strings.ToLower(name)
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&Tag{AccountID: v.Account.ID, Name: name, Key: key, CreatedAt: s.now()})
		if res.Error != nil {
			return "", "", fmt.Errorf("create tag: %w", res.Error)
		}
		if err := tx.Where("account_id = ? AND key = ?", v.Account.ID, key).Take(&tag).Error; err != nil {
			return "", "", fmt.Errorf("find tag: %w", err)
		}
		var n int64
		if err := tx.Model(&CallTag{}).Where("call_id = ?", c.ID).Count(&n).Error; err != nil {
			return "", "", fmt.Errorf("count tags: %w", err)
		}
		if n >= MaxTagsOnce {
			return "", "", models.FieldErrors(map[string]string{"tag": fmt.Sprintf("A call carries at most %d tags.", MaxTagsOnce)})
		}
		res = tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&CallTag{CallID: c.ID, TagID: tag.ID, StartedAt: c.StartedAt, CompanyID: c.CompanyID})
		if res.Error != nil {
			return "", "", fmt.Errorf("tag call: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return "", "", nil
		}
		return "call.tagged", "Tagged “" + tag.Name + "”", nil
	})
	if err != nil {
		return nil, err
	}
	return &tag, nil
}

// RemoveTag takes a tag off a call.
func (s *Service) RemoveTag(ctx context.Context, v *models.Viewer, callID, tagID uint, ip string) error {
	return s.classify(ctx, v, callID, ip, func(tx *gorm.DB, c *Call, _ *models.Company) (string, string, error) {
		var tag Tag
		err := tx.Where("id = ? AND account_id = ?", tagID, v.Account.ID).Take(&tag).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", "", models.ErrNotFound()
		}
		if err != nil {
			return "", "", fmt.Errorf("find tag: %w", err)
		}
		res := tx.Where("call_id = ? AND tag_id = ?", c.ID, tag.ID).Delete(&CallTag{})
		if res.Error != nil {
			return "", "", fmt.Errorf("untag call: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return "", "", nil
		}
		return "call.untagged", "Removed the tag “" + tag.Name + "”", nil
	})
}

// SetQualified marks a call as a qualified lead, or not.
func (s *Service) SetQualified(ctx context.Context, v *models.Viewer, callID uint, qualified bool, ip string) error {
	return s.classify(ctx, v, callID, ip, func(tx *gorm.DB, c *Call, _ *models.Company) (string, string, error) {
		if c.Qualified == qualified {
			return "", "", nil
		}
		if err := tx.Model(c).Updates(map[string]any{"qualified": qualified, "updated_at": s.now()}).Error; err != nil {
			return "", "", fmt.Errorf("qualify call: %w", err)
		}
		if qualified {
			return "call.qualified", "Marked as a qualified lead", nil
		}
		return "call.unqualified", "No longer marked as a qualified lead", nil
	})
}

func cleanNote(input string) (string, error) {
	body := strings.TrimSpace(strings.ReplaceAll(input, "\r\n", "\n"))
	switch {
	case !utf8.ValidString(body) || strings.ContainsFunc(body, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f }):
		return "", models.FieldErrors(map[string]string{"note": "The note contains characters that cannot be saved. Type it as plain text."})
	case body == "":
		return "", models.FieldErrors(map[string]string{"note": "Write something in the note."})
	case utf8.RuneCountInString(body) > MaxNoteBody:
		return "", models.FieldErrors(map[string]string{"note": fmt.Sprintf("Keep a note to %d characters.", MaxNoteBody)})
	}
	return body, nil
}

// AddNote writes a note on a call, signed with the viewer's name.
func (s *Service) AddNote(ctx context.Context, v *models.Viewer, callID uint, input, ip string) (*Note, error) {
	body, err := cleanNote(input)
	if err != nil {
		return nil, err
	}
	var note Note
	err = s.classify(ctx, v, callID, ip, func(tx *gorm.DB, c *Call, _ *models.Company) (string, string, error) {
		author := v.Membership.ID
		now := s.now()
		note = Note{CallID: c.ID, AuthorID: &author, AuthorName: v.Membership.FullName(), Body: body, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&note).Error; err != nil {
			return "", "", fmt.Errorf("add note: %w", err)
		}
		return "call.noted", "Note: " + truncate(body, 200), nil
	})
	if err != nil {
		return nil, err
	}
	return &note, nil
}

// EditNote changes a note; only its author may.
func (s *Service) EditNote(ctx context.Context, v *models.Viewer, callID, noteID uint, input, ip string) (*Note, error) {
	body, err := cleanNote(input)
	if err != nil {
		return nil, err
	}
	var note Note
	err = s.classify(ctx, v, callID, ip, func(tx *gorm.DB, c *Call, _ *models.Company) (string, string, error) {
		err := tx.Where("id = ? AND call_id = ?", noteID, c.ID).Take(&note).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return "", "", models.ErrNotFound()
		}
		if err != nil {
			return "", "", fmt.Errorf("find note: %w", err)
		}
		if note.AuthorID == nil || *note.AuthorID != v.Membership.ID {
			return "", "", models.Errorf(models.Forbidden, "Only %s can edit this note.", note.AuthorName)
		}
		if note.Body == body {
			return "", "", nil
		}
		note.Body, note.UpdatedAt = body, s.now()
		if err := tx.Model(&note).Updates(map[string]any{"body": body, "updated_at": note.UpdatedAt}).Error; err != nil {
			return "", "", fmt.Errorf("edit note: %w", err)
		}
		return "call.note_edited", "Note edited: " + truncate(body, 200), nil
	})
	if err != nil {
		return nil, err
	}
	return &note, nil
}

// CallBack is what an outbound "Call back" needs: the person's own phone
// rings first, then the caller is bridged, shown the tracking number.
type CallBack struct {
	Call        Call
	Company     models.Company
	From        string // the tracking number
	PersonPhone string
	CallerPhone string
}

// PrepareCallBack checks that the viewer may place the company's calls,
// has a phone, and that the caller has a number to call.
func (s *Service) PrepareCallBack(ctx context.Context, v *models.Viewer, callID uint) (*CallBack, error) {
	db := s.store.DB().WithContext(ctx)
	c, co, err := s.readCall(ctx, v, models.CapTakeCalls, callID)
	if err != nil {
		return nil, err
	}
	phone, err := s.MyPhone(ctx, v)
	if err != nil {
		return nil, err
	}
	if phone == "" {
		return nil, &models.Error{Code: models.Conflict, Title: "Set your phone number first",
			Message: "Call back rings your own phone first, then connects the caller. Add your phone number in Account settings."}
	}
	if !strings.HasPrefix(c.CallerNumber, "+") {
		return nil, models.Errorf(models.Conflict, "This caller's number was withheld, so they cannot be called back.")
	}
	var n TrackingNumber
	if err := db.Where("id = ?", c.NumberID).Take(&n).Error; err != nil {
		return nil, fmt.Errorf("number of call: %w", err)
	}
	return &CallBack{Call: *c, Company: *co, From: n.Number, PersonPhone: phone, CallerPhone: c.CallerNumber}, nil
}

// RecordCallBack writes a placed call back on the call's timeline and in
// the audit log.
func (s *Service) RecordCallBack(ctx context.Context, v *models.Viewer, callID uint, sid, ip string) error {
	return s.store.Tx(ctx, func(tx *gorm.DB) error {
		c, co, err := findCall(tx, v, models.CapTakeCalls, callID)
		if err != nil {
			return err
		}
		text := "Called back by " + v.Membership.FullName()
		if err := s.addEvent(tx, c.ID, "callback:"+cleanParam(sid, 64), text, v.Membership.FullName()); err != nil {
			return err
		}
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: "call.called_back",
			TargetName: callTarget(c, co), Detail: "Outbound call " + cleanParam(sid, 64)})
	})
}

// RecordingOf returns the RecordingSid of a call for people who may review
// the company's calls; 404 when there is none.
func (s *Service) RecordingOf(ctx context.Context, v *models.Viewer, callID uint) (string, error) {
	c, _, err := s.readCall(ctx, v, models.CapReviewCalls, callID)
	if err != nil {
		return "", err
	}
	if c.RecordingSid == "" {
		return "", models.ErrNotFound()
	}
	return c.RecordingSid, nil
}
