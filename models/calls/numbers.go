package calls

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"switchboard/models"
)

// Limits of a tracking number and its flow.
const (
	MaxNumberName   = 120
	MaxSource       = 60
	MaxGreeting     = 500
	MaxWhisper      = 300
	MaxRingGroup    = 20
	MinRingTimeout  = 5
	MaxRingTimeout  = 60
	DefaultTimeout  = 20
	maxNumbersShown = 500
)

// Sources are the usual answers to "where does this number appear?",
// offered as suggestions; any other short text is fine.
var Sources = []string{"Google Ads", "Google Business Profile", "Website", "Facebook", "Direct mail", "Billboard", "Radio", "TV", "Referral", "Yelp"}

// NumberRow is a line of a company's numbers page.
type NumberRow struct {
	TrackingNumber
	// RingGroup are the people the flow rings, in order.
	RingGroup []models.Membership
	// FallsBackToVoicemail: the flow rings a ring group that has become
	// empty, so every call goes to voicemail.
	FallsBackToVoicemail bool
}

// DestinationLabel says where calls go, for people.
func (n NumberRow) DestinationLabel() string {
	switch n.Flow.Destination {
	case ToNumber:
		return "Forwards to " + FormatPhone(n.Flow.ForwardTo)
	case ToRingGroup:
		if n.FallsBackToVoicemail {
			return "Ring group is empty: calls go to voicemail"
		}
		names := make([]string, len(n.RingGroup))
		for i, m := range n.RingGroup {
			names[i] = m.FullName()
		}
		how := "at once"
		if n.Flow.RingMode == RingInOrder {
			how = "in order"
		}
		return "Rings " + strings.Join(names, ", ") + " " + how
	}
	return "Voicemail"
}

// Numbers lists a company's tracking numbers with their ring groups, for
// people who manage them (404 for everyone else).
func (s *Service) Numbers(ctx context.Context, v *models.Viewer, companyID uint) (*models.Company, []NumberRow, error) {
	co, err := s.store.CompanyFor(ctx, v, models.CapTrackingNumbers, companyID)
	if err != nil {
		return nil, nil, err
	}
	db := s.store.DB().WithContext(ctx)
	var numbers []TrackingNumber
	if err := db.Where("company_id = ?", co.ID).Order("status, name, id").Limit(maxNumbersShown).Find(&numbers).Error; err != nil {
		return nil, nil, fmt.Errorf("numbers of company: %w", err)
	}
	rows := make([]NumberRow, len(numbers))
	for i, n := range numbers {
		rows[i] = NumberRow{TrackingNumber: n}
	}
	if err := s.fillRingGroups(db, rows); err != nil {
		return nil, nil, err
	}
	return co, rows, nil
}

func (s *Service) fillRingGroups(db *gorm.DB, rows []NumberRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]uint, len(rows))
	index := map[uint]int{}
	for i, r := range rows {
		ids[i] = r.ID
		index[r.ID] = i
	}
	var members []struct {
		NumberID uint
		models.Membership
	}
	err := db.Table("ring_group_members AS r").Select("r.number_id, memberships.*").
		Joins("JOIN memberships ON memberships.id = r.membership_id").
		Where("r.number_id IN ?", ids).Order("r.number_id, r.position, memberships.id").Scan(&members).Error
	if err != nil {
		return fmt.Errorf("ring groups: %w", err)
	}
	for _, m := range members {
		r := &rows[index[m.NumberID]]
		r.RingGroup = append(r.RingGroup, m.Membership)
	}
	for i := range rows {
		rows[i].FallsBackToVoicemail = rows[i].Flow.Destination == ToRingGroup && len(rows[i].RingGroup) == 0
	}
	return nil
}

// FindNumber returns one tracking number of the company for people who
// manage them.
func (s *Service) FindNumber(ctx context.Context, v *models.Viewer, companyID, numberID uint) (*models.Company, *NumberRow, error) {
	co, err := s.store.CompanyFor(ctx, v, models.CapTrackingNumbers, companyID)
	if err != nil {
		return nil, nil, err
	}
	db := s.store.DB().WithContext(ctx)
	var n TrackingNumber
	err = db.Where("id = ? AND company_id = ?", numberID, co.ID).Take(&n).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, models.ErrNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find number: %w", err)
	}
	rows := []NumberRow{{TrackingNumber: n}}
	if err := s.fillRingGroups(db, rows); err != nil {
		return nil, nil, err
	}
	return co, &rows[0], nil
}

// NumberInput is the create and edit form of a tracking number.
type NumberInput struct {
	Number, Name, Source string
}

func cleanText(input string, max int) (string, bool) {
	s := strings.Join(strings.Fields(input), " ")
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s, false
	}
	return s, utf8.RuneCountInString(s) <= max
}

func (in NumberInput) clean() (NumberInput, map[string]string) {
	fields := map[string]string{}
	var err error
	if in.Number, err = ParsePhone(in.Number, "the tracking number"); err != nil {
		fields["number"] = models.ErrorMessage(err)
	}
	var ok bool
	if in.Name, ok = cleanText(in.Name, MaxNumberName); !ok {
		fields["name"] = fmt.Sprintf("Keep the name to %d characters of plain text.", MaxNumberName)
	} else if in.Name == "" {
		fields["name"] = "Give the number a name people will recognise, such as “Main line”."
	}
	if in.Source, ok = cleanText(in.Source, MaxSource); !ok {
		fields["source"] = fmt.Sprintf("Keep the source to %d characters of plain text.", MaxSource)
	}
	return in, fields
}

// numberTaken answers a duplicate number.
func numberTaken(number string) map[string]string {
	return map[string]string{"number": FormatPhone(number) + " is already a tracking number. Each number can belong to one company only."}
}

// CreateNumber adds a tracking number to a company, with a flow that takes
// voicemail until someone sets it up.
func (s *Service) CreateNumber(ctx context.Context, v *models.Viewer, companyID uint, in NumberInput, ip string) (*TrackingNumber, error) {
	in, fields := in.clean()
	if len(fields) > 0 {
		return nil, models.FieldErrors(fields)
	}
	var n TrackingNumber
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		co, err := models.CompanyFor(tx, v, models.CapTrackingNumbers, companyID)
		if err != nil {
			return err
		}
		var taken int64
		if err := tx.Model(&TrackingNumber{}).Where("number = ?", in.Number).Count(&taken).Error; err != nil {
			return fmt.Errorf("check number: %w", err)
		}
		if taken > 0 {
			return models.FieldErrors(numberTaken(in.Number))
		}
		now := s.now()
		n = TrackingNumber{AccountID: v.Account.ID, CompanyID: co.ID, Number: in.Number, Name: in.Name, Source: in.Source,
			Status: NumberActive, CreatedAt: now, UpdatedAt: now,
			Flow: Flow{Destination: ToVoicemail, RingMode: RingSimultaneous, Timeout: DefaultTimeout, Voicemail: true}}
		if err := tx.Create(&n).Error; err != nil {
			return fmt.Errorf("create number: %w", err)
		}
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: "number.created",
			TargetName: numberTarget(n, co), Detail: sourceDetail(n.Source)})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, models.FieldErrors(numberTaken(in.Number))
	}
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func numberTarget(n TrackingNumber, co *models.Company) string {
	return n.Name + " " + FormatPhone(n.Number) + " (" + co.Name + ")"
}

func sourceDetail(source string) string {
	if source == "" {
		return "No source"
	}
	return "Source: " + source
}

// numberForUpdate loads a number of the company inside a transaction,
// after checking the viewer's right there.
func numberForUpdate(tx *gorm.DB, v *models.Viewer, companyID, numberID uint) (*models.Company, *TrackingNumber, error) {
	co, err := models.CompanyFor(tx, v, models.CapTrackingNumbers, companyID)
	if err != nil {
		return nil, nil, err
	}
	var n TrackingNumber
	err = tx.Where("id = ? AND company_id = ?", numberID, co.ID).Take(&n).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, models.ErrNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find number: %w", err)
	}
	return co, &n, nil
}

// UpdateNumber changes a number's digits, name or source.
func (s *Service) UpdateNumber(ctx context.Context, v *models.Viewer, companyID, numberID uint, in NumberInput, ip string) (*TrackingNumber, error) {
	in, fields := in.clean()
	if len(fields) > 0 {
		return nil, models.FieldErrors(fields)
	}
	var out *TrackingNumber
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		co, n, err := numberForUpdate(tx, v, companyID, numberID)
		if err != nil {
			return err
		}
		var details []string
		if in.Number != n.Number {
			var taken int64
			if err := tx.Model(&TrackingNumber{}).Where("number = ? AND id <> ?", in.Number, n.ID).Count(&taken).Error; err != nil {
				return fmt.Errorf("check number: %w", err)
			}
			if taken > 0 {
				return models.FieldErrors(numberTaken(in.Number))
			}
			details = append(details, "number "+FormatPhone(n.Number)+" → "+FormatPhone(in.Number))
		}
		if in.Name != n.Name {
			details = append(details, "name "+n.Name+" → "+in.Name)
		}
		if in.Source != n.Source {
			details = append(details, "source "+orNone(n.Source)+" → "+orNone(in.Source))
		}
		out = n
		if len(details) == 0 {
			return nil
		}
		n.Number, n.Name, n.Source, n.UpdatedAt = in.Number, in.Name, in.Source, s.now()
		if err := tx.Model(n).Updates(map[string]any{"number": n.Number, "name": n.Name, "source": n.Source, "updated_at": n.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("update number: %w", err)
		}
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: "number.updated",
			TargetName: numberTarget(*n, co), Detail: strings.Join(details, "; ")})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, models.FieldErrors(numberTaken(in.Number))
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// SetNumberStatus disables a number (calls hear that it is not in service)
// or enables it again; its flow is kept.
func (s *Service) SetNumberStatus(ctx context.Context, v *models.Viewer, companyID, numberID uint, status NumberStatus, ip string) (*TrackingNumber, error) {
	if status != NumberActive && status != NumberDisabled {
		return nil, models.Errorf(models.BadRequest, "That status is not known.")
	}
	var out *TrackingNumber
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		co, n, err := numberForUpdate(tx, v, companyID, numberID)
		if err != nil {
			return err
		}
		out = n
		if n.Status == status {
			return nil
		}
		n.Status, n.UpdatedAt = status, s.now()
		if err := tx.Model(n).Updates(map[string]any{"status": status, "updated_at": n.UpdatedAt}).Error; err != nil {
			return fmt.Errorf("change number status: %w", err)
		}
		action := "number.disabled"
		if status == NumberActive {
			action = "number.enabled"
		}
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: action, TargetName: numberTarget(*n, co)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Candidate is a person a ring group may ring.
type Candidate struct {
	Member models.Membership
	Phone  string
}

// RingGroupCandidates are the people of the company who may take its calls
// (Admins, Managers and Reporting users, active, never Notification users)
// and have set their own phone number, A → Z.
func (s *Service) RingGroupCandidates(ctx context.Context, v *models.Viewer, co *models.Company) ([]Candidate, error) {
	return s.candidates(s.store.DB().WithContext(ctx), v.Account.ID, co.ID, nil)
}

// candidates are those of the account's people with a phone (or only of
// ids, when given) who may take the company's calls.
func (s *Service) candidates(db *gorm.DB, accountID, companyID uint, ids []uint) ([]Candidate, error) {
	var phones []MemberPhone
	q := db.Joins("JOIN memberships ON memberships.id = member_phones.membership_id").Where("memberships.account_id = ?", accountID)
	if ids != nil {
		q = q.Where("member_phones.membership_id IN ?", ids)
	}
	if err := q.Find(&phones).Error; err != nil {
		return nil, fmt.Errorf("phones: %w", err)
	}
	if len(phones) == 0 {
		return nil, nil
	}
	byMember := map[uint]string{}
	withPhone := make([]uint, len(phones))
	for i, p := range phones {
		byMember[p.MembershipID] = p.Phone
		withPhone[i] = p.MembershipID
	}
	people, err := models.PeopleWhoCan(db, accountID, companyID, models.CapTakeCalls, withPhone)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, len(people))
	for i, m := range people {
		out[i] = Candidate{Member: m, Phone: byMember[m.ID]}
	}
	return out, nil
}

// FlowInput is the call flow editor.
type FlowInput struct {
	Greeting, Whisper string
	Record            bool
	Destination       Destination
	ForwardTo         string
	RingMode          RingMode
	Timeout           int
	Voicemail         bool
	// RingGroup are the people to ring, in order.
	RingGroup []uint
}

// UpdateFlow saves a number's call flow. A ring group takes only people
// who may take the company's calls and have a phone, checked again inside
// the transaction.
func (s *Service) UpdateFlow(ctx context.Context, v *models.Viewer, companyID, numberID uint, in FlowInput, ip string) (*TrackingNumber, error) {
	fields := map[string]string{}
	var ok bool
	if in.Greeting, ok = cleanText(in.Greeting, MaxGreeting); !ok {
		fields["greeting"] = fmt.Sprintf("Keep the greeting to %d characters of plain text.", MaxGreeting)
	}
	if in.Whisper, ok = cleanText(in.Whisper, MaxWhisper); !ok {
		fields["whisper"] = fmt.Sprintf("Keep the whisper to %d characters of plain text.", MaxWhisper)
	}
	if in.RingMode != RingSimultaneous && in.RingMode != RingInOrder {
		in.RingMode = RingSimultaneous
	}
	switch in.Destination {
	case ToNumber:
		var err error
		if in.ForwardTo, err = ParsePhone(in.ForwardTo, "the number to forward to"); err != nil {
			fields["forward_to"] = models.ErrorMessage(err)
		}
		in.RingGroup = nil
	case ToRingGroup:
		in.ForwardTo = ""
		switch {
		case len(in.RingGroup) == 0:
			fields["ring_group"] = "Choose at least one person to ring."
		case len(in.RingGroup) > MaxRingGroup:
			fields["ring_group"] = fmt.Sprintf("A ring group rings at most %d people.", MaxRingGroup)
		}
		if slices.Contains(in.RingGroup, 0) || len(slices.Compact(slices.Clone(in.RingGroup))) != len(in.RingGroup) {
			return nil, models.Errorf(models.BadRequest, "The ring group in the form is not valid.")
		}
	case ToVoicemail:
		in.ForwardTo, in.RingGroup = "", nil
		in.Voicemail = true
	default:
		return nil, models.Errorf(models.BadRequest, "Choose where calls go.")
	}
	if in.Timeout < MinRingTimeout || in.Timeout > MaxRingTimeout {
		fields["timeout"] = fmt.Sprintf("Ring for %d to %d seconds.", MinRingTimeout, MaxRingTimeout)
	}
	if len(fields) > 0 {
		return nil, models.FieldErrors(fields)
	}
	var out *TrackingNumber
	err := s.store.Tx(ctx, func(tx *gorm.DB) error {
		co, n, err := numberForUpdate(tx, v, companyID, numberID)
		if err != nil {
			return err
		}
		if in.Destination == ToNumber && in.ForwardTo == n.Number {
			return models.FieldErrors(map[string]string{"forward_to": "Forwarding a number to itself would ring forever. Choose another number."})
		}
		var people []Candidate
		if in.Destination == ToRingGroup {
			if people, err = s.candidates(tx, v.Account.ID, co.ID, in.RingGroup); err != nil {
				return err
			}
			if len(people) != len(in.RingGroup) {
				return models.FieldErrors(map[string]string{"ring_group": "Someone you chose can no longer take this company's calls or has no phone number. Check the list and choose again."})
			}
		}
		flow := Flow{Greeting: in.Greeting, Whisper: in.Whisper, Record: in.Record, Destination: in.Destination,
			ForwardTo: in.ForwardTo, RingMode: in.RingMode, Timeout: in.Timeout, Voicemail: in.Voicemail}
		now := s.now()
		err = tx.Model(n).Updates(map[string]any{"flow_greeting": flow.Greeting, "flow_whisper": flow.Whisper,
			"flow_record": flow.Record, "flow_destination": flow.Destination, "flow_forward_to": flow.ForwardTo,
			"flow_ring_mode": flow.RingMode, "flow_timeout": flow.Timeout, "flow_voicemail": flow.Voicemail, "updated_at": now}).Error
		if err != nil {
			return fmt.Errorf("update flow: %w", err)
		}
		if err := tx.Where("number_id = ?", n.ID).Delete(&RingGroupMember{}).Error; err != nil {
			return fmt.Errorf("clear ring group: %w", err)
		}
		names := map[uint]string{}
		for _, p := range people {
			names[p.Member.ID] = p.Member.FullName()
		}
		var ordered []string
		for i, id := range in.RingGroup {
			if err := tx.Create(&RingGroupMember{NumberID: n.ID, MembershipID: id, Position: i}).Error; err != nil {
				return fmt.Errorf("ring group: %w", err)
			}
			ordered = append(ordered, names[id])
		}
		n.Flow, n.UpdatedAt = flow, now
		out = n
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: "flow.updated",
			TargetName: numberTarget(*n, co), Detail: flowDetail(flow, ordered)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func flowDetail(f Flow, people []string) string {
	var parts []string
	switch f.Destination {
	case ToNumber:
		parts = append(parts, "forwards to "+FormatPhone(f.ForwardTo))
	case ToRingGroup:
		parts = append(parts, "rings "+strings.Join(people, ", ")+" ("+strings.ReplaceAll(string(f.RingMode), "_", " ")+")")
	default:
		parts = append(parts, "voicemail")
	}
	parts = append(parts, fmt.Sprintf("%ds", f.Timeout), "recording "+onOff(f.Record), "voicemail fallback "+onOff(f.Voicemail))
	return strings.Join(parts, "; ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
