package calls

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"switchboard/models"
)

// What Twilio tells about a call arrives in several webhooks (the call
// itself, the <Dial> result, the whisper to whoever answers, the status
// callbacks, the recording) that can come twice and in any order. Each
// one is idempotent by the CallSid and merges into the call's row by
// rules that do not depend on order: a status only moves forward
// (statusRank), an outcome only moves up (answered > voicemail > missed >
// pending), a recording once known stays, and each timeline event is
// written once (CallEvent.Key). Whichever webhook comes first creates the
// row from the tracking number (To) and the caller (From).

// statusRank orders Twilio's call statuses; terminal ones share the top.
func statusRank(status string) int {
	switch status {
	case "queued", "initiated":
		return 1
	case "ringing":
		return 2
	case "in-progress", "answered":
		return 3
	case "completed", "busy", "no-answer", "failed", "canceled":
		return 4
	}
	return 0
}

func outcomeRank(o Outcome) int {
	switch o {
	case OutcomeMissed:
		return 1
	case OutcomeVoicemail:
		return 2
	case OutcomeAnswered:
		return 3
	}
	return 0
}

// CallParams is what a voice webhook says about the call.
type CallParams struct {
	Sid, From, To, CallerName string
}

// Routing is what to do with an incoming call.
type Routing struct {
	// Unavailable: the number is unknown, disabled or its company is; the
	// caller hears a polite message.
	Unavailable bool
	// Done: the call already ended (a replayed webhook); hang up.
	Done    bool
	Call    Call
	Number  TrackingNumber
	Company models.Company
	// Dial are the phones to ring, in order (empty: straight to voicemail).
	Dial []string
}

// numberByTo finds the active tracking number a call or text is for, with
// its company; nil when there is none or it does not take calls now.
func numberByTo(tx *gorm.DB, to string) (*TrackingNumber, *models.Company, error) {
	e164, err := ParsePhone(to, "the called number")
	if err != nil {
		return nil, nil, nil
	}
	var n TrackingNumber
	err = tx.Where("number = ?", e164).Take(&n).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find number: %w", err)
	}
	var co models.Company
	if err := tx.Where("id = ?", n.CompanyID).Take(&co).Error; err != nil {
		return nil, nil, fmt.Errorf("find company of number: %w", err)
	}
	var account models.Account
	if err := tx.Where("id = ?", n.AccountID).Take(&account).Error; err != nil {
		return nil, nil, fmt.Errorf("find account of number: %w", err)
	}
	if n.Status != NumberActive || co.Status != models.CompanyActive || account.Status != models.AccountActive {
		return &n, &co, errUnavailable
	}
	return &n, &co, nil
}

var errUnavailable = errors.New("number not in service")

// cleanParam keeps a webhook value printable and within size.
func cleanParam(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// callerNumber is the caller as stored: E.164 when it reads as a number,
// otherwise what Twilio sent ("anonymous", "restricted").
func callerNumber(from string) string {
	if e164, err := ParsePhone(from, "the caller"); err == nil {
		return e164
	}
	from = cleanParam(from, 32)
	if from == "" {
		return "unknown"
	}
	return strings.ToLower(from)
}

// findOrCreateCall returns the call with this sid, creating it (with its
// caller) for the number when it does not exist yet. created tells which.
func (s *Service) findOrCreateCall(tx *gorm.DB, kind Kind, sid, from, callerName string, n *TrackingNumber, co *models.Company) (*Call, bool, error) {
	var c Call
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("sid = ?", sid).Take(&c).Error
	if err == nil {
		return &c, false, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, fmt.Errorf("find call: %w", err)
	}
	if n == nil {
		return nil, false, nil
	}
	now := s.now()
	caller, first, err := s.caller(tx, co.ID, callerNumber(from), callerName, now)
	if err != nil {
		return nil, false, err
	}
	c = Call{AccountID: n.AccountID, CompanyID: n.CompanyID, NumberID: n.ID, Kind: kind, Sid: sid, CallerID: caller.ID,
		CallerNumber: caller.Number, CallerName: callerName, FirstTime: first, Source: n.Source, StartedAt: now,
		Outcome: OutcomePending, CreatedAt: now, UpdatedAt: now}
	if kind == KindText {
		c.Outcome = OutcomeText
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&c)
	if res.Error != nil {
		return nil, false, fmt.Errorf("create call: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		// Another request created it a moment ago (PostgreSQL).
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("sid = ?", sid).Take(&c).Error; err != nil {
			return nil, false, fmt.Errorf("find call: %w", err)
		}
		return &c, false, nil
	}
	var pending PendingRecording
	err = tx.Where("call_sid = ?", sid).Take(&pending).Error
	switch {
	case err == nil:
		if err := s.applyRecording(tx, &c, pending.RecordingSid, pending.Seconds, pending.Voicemail); err != nil {
			return nil, false, err
		}
		if err := tx.Where("call_sid = ?", sid).Delete(&PendingRecording{}).Error; err != nil {
			return nil, false, fmt.Errorf("pending recording: %w", err)
		}
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return nil, false, fmt.Errorf("pending recording: %w", err)
	}
	return &c, true, nil
}

// caller finds or creates the company's caller for a number; first tells
// whether this is the first call or text from it.
func (s *Service) caller(tx *gorm.DB, companyID uint, number, name string, now time.Time) (*Caller, bool, error) {
	cl := Caller{CompanyID: companyID, Number: number, Name: name, CreatedAt: now}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&cl)
	if res.Error != nil {
		return nil, false, fmt.Errorf("create caller: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		if err := addCallerTerms(tx, cl); err != nil {
			return nil, false, err
		}
		return &cl, true, nil
	}
	if err := tx.Where("company_id = ? AND number = ?", companyID, number).Take(&cl).Error; err != nil {
		return nil, false, fmt.Errorf("find caller: %w", err)
	}
	if name != "" && name != cl.Name {
		if err := tx.Model(&cl).Update("name", name).Error; err != nil {
			return nil, false, fmt.Errorf("rename caller: %w", err)
		}
		cl.Name = name
		if err := addCallerTerms(tx, cl); err != nil {
			return nil, false, err
		}
	}
	return &cl, false, nil
}

// addEvent writes a timeline line once per key.
func (s *Service) addEvent(tx *gorm.DB, callID uint, key, text, actor string) error {
	ev := CallEvent{CallID: callID, Key: key, At: s.now(), Text: truncate(text, 300), ActorName: truncate(actor, 201)}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ev).Error; err != nil {
		return fmt.Errorf("call event: %w", err)
	}
	return nil
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

// IncomingCall records a call that Twilio announces on the voice webhook
// and says how to route it. A replay of the webhook finds the same call.
func (s *Service) IncomingCall(ctx context.Context, p CallParams) (*Routing, error) {
	sid := cleanParam(p.Sid, 64)
	if sid == "" {
		return nil, models.Errorf(models.BadRequest, "The webhook has no CallSid.")
	}
	name := cleanParam(p.CallerName, 100)
	r := &Routing{}
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		n, co, err := numberByTo(tx, p.To)
		if errors.Is(err, errUnavailable) || (err == nil && n == nil) {
			r.Unavailable = true
			return nil
		}
		if err != nil {
			return err
		}
		c, created, err := s.findOrCreateCall(tx, KindCall, sid, p.From, name, n, co)
		if err != nil {
			return err
		}
		if !created && name != "" && c.CallerName == "" {
			c.CallerName = name
			if err := tx.Model(c).Update("caller_name", name).Error; err != nil {
				return fmt.Errorf("caller name: %w", err)
			}
		}
		if err := s.addEvent(tx, c.ID, "arrived", "Call from "+FormatPhone(c.CallerNumber)+" to "+n.Name+" ("+FormatPhone(n.Number)+")", ""); err != nil {
			return err
		}
		r.Call, r.Number, r.Company = *c, *n, *co
		if statusRank(c.Status) == 4 {
			r.Done = true
			return nil
		}
		switch n.Flow.Destination {
		case ToNumber:
			r.Dial = []string{n.Flow.ForwardTo}
		case ToRingGroup:
			var phones []string
			err := tx.Table("ring_group_members AS r").Select("p.phone").
				Joins("JOIN member_phones p ON p.membership_id = r.membership_id").
				Where("r.number_id = ?", n.ID).Order("r.position, r.membership_id").Pluck("p.phone", &phones).Error
			if err != nil {
				return fmt.Errorf("ring group phones: %w", err)
			}
			r.Dial = phones
			if len(phones) == 0 {
				return s.addEvent(tx, c.ID, "ring-group-empty", "The ring group is empty: the call went to voicemail", "")
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DialParams is what the <Dial> action callback says.
type DialParams struct {
	Sid, From, To, DialStatus, DialDuration string
}

// DialResult is what a <Dial> reports when it ends: the call was answered
// (completed) or not (busy, no-answer, failed, canceled). It returns the
// call and whether to offer voicemail.
func (s *Service) DialResult(ctx context.Context, p DialParams) (*Call, *TrackingNumber, bool, error) {
	var out Call
	var number TrackingNumber
	voicemail := false
	dialStatus, dialDuration := cleanParam(p.DialStatus, 20), p.DialDuration
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		n, co, err := numberByTo(tx, p.To)
		switch {
		case errors.Is(err, errUnavailable):
			n, co = nil, nil
		case err != nil:
			return err
		}
		c, _, err := s.findOrCreateCall(tx, KindCall, cleanParam(p.Sid, 64), p.From, "", n, co)
		if err != nil || c == nil {
			return err
		}
		if err := tx.Where("id = ?", c.NumberID).Take(&number).Error; err != nil {
			return fmt.Errorf("number of call: %w", err)
		}
		updates := map[string]any{}
		if dialStatus == "completed" || dialStatus == "answered" {
			talk, _ := strconv.Atoi(dialDuration)
			if talk > c.TalkSeconds && talk < 86400 {
				updates["talk_seconds"] = talk
				c.TalkSeconds = talk
			}
			if outcomeRank(OutcomeAnswered) > outcomeRank(c.Outcome) {
				updates["outcome"], c.Outcome = OutcomeAnswered, OutcomeAnswered
			}
			if err := s.addEvent(tx, c.ID, "answered", "Answered"+answeredBy(c.AnsweredBy), ""); err != nil {
				return err
			}
		} else {
			if outcomeRank(OutcomeMissed) > outcomeRank(c.Outcome) {
				updates["outcome"], c.Outcome = OutcomeMissed, OutcomeMissed
			}
			voicemail = number.Flow.Voicemail && c.Outcome != OutcomeAnswered
			if err := s.addEvent(tx, c.ID, "not-answered", "Nobody answered ("+strings.ReplaceAll(dialStatus, "-", " ")+")", ""); err != nil {
				return err
			}
		}
		if len(updates) > 0 {
			updates["updated_at"] = s.now()
			if err := tx.Model(c).Updates(updates).Error; err != nil {
				return fmt.Errorf("dial result: %w", err)
			}
		}
		out = *c
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	if out.ID == 0 {
		return nil, nil, false, nil
	}
	return &out, &number, voicemail, nil
}

func answeredBy(name string) string {
	if name == "" {
		return ""
	}
	return " by " + name
}

// Answering records who picked up (the whisper webhook is asked by the
// leg that answered, with its phone) and returns the whisper to say.
func (s *Service) Answering(ctx context.Context, parentSid, phone string) (string, error) {
	var whisper string
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		c, _, err := s.findOrCreateCall(tx, KindCall, cleanParam(parentSid, 64), "", "", nil, nil)
		if err != nil || c == nil {
			return err
		}
		var n TrackingNumber
		if err := tx.Where("id = ?", c.NumberID).Take(&n).Error; err != nil {
			return fmt.Errorf("number of call: %w", err)
		}
		whisper = n.Flow.Whisper
		e164, err := ParsePhone(phone, "the answering phone")
		if err != nil || c.AnsweredBy != "" {
			return nil
		}
		var people []models.Membership
		err = tx.Table("ring_group_members AS r").Select("memberships.*").
			Joins("JOIN member_phones p ON p.membership_id = r.membership_id").
			Joins("JOIN memberships ON memberships.id = r.membership_id").
			Where("r.number_id = ? AND p.phone = ?", n.ID, e164).Order("r.position").Limit(1).Scan(&people).Error
		if err != nil {
			return fmt.Errorf("who answered: %w", err)
		}
		who := FormatPhone(e164)
		if len(people) > 0 {
			who = people[0].FullName()
		}
		c.AnsweredBy = truncate(who, 201)
		return tx.Model(c).Updates(map[string]any{"answered_by": c.AnsweredBy, "updated_at": s.now()}).Error
	})
	return whisper, err
}

// StatusParams is a call status callback.
type StatusParams struct {
	Sid, Status, Duration, From, To string
}

// CallStatus merges a status callback into the call; a callback for a call
// not seen yet creates it from its number, so nothing depends on order.
func (s *Service) CallStatus(ctx context.Context, p StatusParams) error {
	status := cleanParam(p.Status, 20)
	rank := statusRank(status)
	if rank == 0 {
		return models.Errorf(models.BadRequest, "Unknown call status %q.", status)
	}
	return s.store.Tx(ctx, func(tx *gorm.DB) error {
		n, co, err := numberByTo(tx, p.To)
		switch {
		case errors.Is(err, errUnavailable):
			// The caller heard "not in service": no call to log.
			n, co = nil, nil
		case err != nil:
			return err
		}
		c, _, err := s.findOrCreateCall(tx, KindCall, cleanParam(p.Sid, 64), p.From, "", n, co)
		if err != nil || c == nil {
			return err
		}
		if rank < c.StatusRank || (rank == c.StatusRank && rank == 4) {
			return nil // older news, or the end already known
		}
		now := s.now()
		updates := map[string]any{"status": status, "status_rank": rank, "updated_at": now}
		if rank == 4 {
			d, _ := strconv.Atoi(p.Duration)
			if d >= 0 && d < 86400 {
				updates["duration"] = d
				c.Duration = d
			}
			updates["ended_at"] = now
			c.EndedAt = &now
			if c.Outcome == OutcomePending {
				updates["outcome"] = OutcomeMissed
				c.Outcome = OutcomeMissed
			}
			if err := s.addEvent(tx, c.ID, "ended", "Call ended ("+strings.ReplaceAll(status, "-", " ")+")", ""); err != nil {
				return err
			}
		}
		if err := tx.Model(c).Updates(updates).Error; err != nil {
			return err
		}
		if rank < 4 {
			return nil
		}
		// The first final status: the call is complete (the guard above
		// lets only one through, under the row's lock).
		c.Status, c.StatusRank, c.UpdatedAt = status, rank, now
		return s.complete(tx, c, n, co)
	})
}

// RecordingParams is a recording status callback.
type RecordingParams struct {
	CallSid, RecordingSid, Status, Duration string
	// Voicemail: the recording is a message left after nobody answered.
	Voicemail bool
}

// Recording stores a finished recording of the call (idempotent); a
// voicemail makes an unanswered call a voicemail.
func (s *Service) Recording(ctx context.Context, p RecordingParams) error {
	if cleanParam(p.Status, 20) != "completed" {
		return nil // in-progress and absent recordings change nothing
	}
	recSid := cleanParam(p.RecordingSid, 64)
	if !validSid(recSid, "RE") {
		return models.Errorf(models.BadRequest, "The recording callback has no valid RecordingSid.")
	}
	d, _ := strconv.Atoi(p.Duration)
	d = max(0, min(d, 86400))
	sid := cleanParam(p.CallSid, 64)
	return s.store.Tx(ctx, func(tx *gorm.DB) error {
		c, _, err := s.findOrCreateCall(tx, KindCall, sid, "", "", nil, nil)
		if err != nil {
			return err
		}
		if c == nil {
			// Before any other webhook of its call: keep it for the call.
			row := PendingRecording{CallSid: sid, RecordingSid: recSid, Seconds: d, Voicemail: p.Voicemail, CreatedAt: s.now()}
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
				return fmt.Errorf("pending recording: %w", err)
			}
			return nil
		}
		return s.applyRecording(tx, c, recSid, d, p.Voicemail)
	})
}

// applyRecording stores a recording on its call, once.
func (s *Service) applyRecording(tx *gorm.DB, c *Call, recSid string, seconds int, voicemail bool) error {
	if c.RecordingSid == recSid {
		return nil
	}
	updates := map[string]any{"recording_sid": recSid, "recording_seconds": seconds, "recording_voicemail": voicemail, "updated_at": s.now()}
	c.RecordingSid, c.RecordingSeconds, c.RecordingVoicemail = recSid, seconds, voicemail
	text := "Recording"
	if voicemail {
		text = "Voicemail left"
		if outcomeRank(OutcomeVoicemail) > outcomeRank(c.Outcome) {
			updates["outcome"], c.Outcome = OutcomeVoicemail, OutcomeVoicemail
		}
	}
	if err := s.addEvent(tx, c.ID, "recording:"+recSid, fmt.Sprintf("%s (%s)", text, FormatSeconds(seconds)), ""); err != nil {
		return err
	}
	if err := tx.Model(c).Updates(updates).Error; err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	return nil
}

// validSid checks a Twilio SID: two letters and 32 hex digits.
func validSid(sid, prefix string) bool {
	if len(sid) != 34 || !strings.HasPrefix(sid, prefix) {
		return false
	}
	for _, r := range sid[2:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// TextParams is an incoming SMS.
type TextParams struct {
	Sid, From, To, Body string
}

// IncomingText records a text message to a tracking number (shown in the
// Call Log as a text); false when no active number takes it.
func (s *Service) IncomingText(ctx context.Context, p TextParams) (bool, error) {
	sid := cleanParam(p.Sid, 64)
	if sid == "" {
		return false, models.Errorf(models.BadRequest, "The webhook has no MessageSid.")
	}
	taken := false
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		n, co, err := numberByTo(tx, p.To)
		if errors.Is(err, errUnavailable) || (err == nil && n == nil) {
			return nil
		}
		if err != nil {
			return err
		}
		c, created, err := s.findOrCreateCall(tx, KindText, sid, p.From, "", n, co)
		if err != nil {
			return err
		}
		taken = true
		if !created {
			return nil
		}
		body := strings.ToValidUTF8(p.Body, "")
		if utf8.RuneCountInString(body) > 1600 {
			body = string([]rune(body)[:1600])
		}
		if err := tx.Model(c).Updates(map[string]any{"body": body, "status": "received", "status_rank": 4}).Error; err != nil {
			return fmt.Errorf("text body: %w", err)
		}
		c.Body, c.Status, c.StatusRank = body, "received", 4
		if err := s.addEvent(tx, c.ID, "arrived", "Text from "+FormatPhone(c.CallerNumber)+" to "+n.Name+" ("+FormatPhone(n.Number)+")", ""); err != nil {
			return err
		}
		return s.complete(tx, c, n, co)
	})
	return taken, err
}

// FormatSeconds writes a duration as people read it: "2:05", "1:02:03".
func FormatSeconds(sec int) string {
	if sec < 0 {
		sec = 0
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
