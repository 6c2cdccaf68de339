package calls

import (
	"time"

	"switchboard/models"
)

// MemberPhone is the phone a person answers calls on, set by themselves on
// their own profile. It belongs to the area, not to the core's membership.
type MemberPhone struct {
	MembershipID uint               `gorm:"primaryKey;autoIncrement:false"`
	Membership   *models.Membership `gorm:"constraint:OnDelete:CASCADE"`
	Phone        string             `gorm:"size:16;not null"` // E.164
	UpdatedAt    time.Time
}

// NumberStatus: a disabled number answers politely and hangs up.
type NumberStatus string

const (
	NumberActive   NumberStatus = "active"
	NumberDisabled NumberStatus = "disabled"
)

// Destination is where a flow sends a call.
type Destination string

const (
	// ToRingGroup rings people of the company on their own phones.
	ToRingGroup Destination = "ring_group"
	// ToNumber forwards to an outside number.
	ToNumber Destination = "number"
	// ToVoicemail takes a message straight away.
	ToVoicemail Destination = "voicemail"
)

// RingMode says how a ring group rings.
type RingMode string

const (
	RingSimultaneous RingMode = "simultaneous"
	RingInOrder      RingMode = "in_order"
)

// Flow is a tracking number's call flow.
type Flow struct {
	// Greeting is said to the caller first ("Thanks for calling Acme").
	Greeting string `gorm:"size:500;not null;default:''"`
	// Whisper is said to whoever answers, before the caller is connected
	// ("Call from Google Ads").
	Whisper     string      `gorm:"size:300;not null;default:''"`
	Record      bool        `gorm:"not null;default:false"`
	Destination Destination `gorm:"size:16;not null;default:'voicemail'"`
	// ForwardTo is the outside number (E.164) when Destination is ToNumber.
	ForwardTo string   `gorm:"size:16;not null;default:''"`
	RingMode  RingMode `gorm:"size:16;not null;default:'simultaneous'"`
	// Timeout is how long each ring lasts, in seconds.
	Timeout int `gorm:"not null;default:20"`
	// Voicemail takes a message when nobody answers.
	Voicemail bool `gorm:"not null;default:true"`
}

// TrackingNumber is a phone number of a company whose calls are tracked.
// Number is unique across the whole system: a call to it must find one
// company.
type TrackingNumber struct {
	ID        uint            `gorm:"primaryKey"`
	AccountID uint            `gorm:"not null;index"`
	Account   *models.Account `gorm:"constraint:OnDelete:CASCADE"`
	CompanyID uint            `gorm:"not null;index:idx_numbers_company_name,priority:1"`
	Company   *models.Company `gorm:"constraint:OnDelete:CASCADE"`
	Number    string          `gorm:"size:16;not null;uniqueIndex"` // E.164
	Name      string          `gorm:"size:120;not null;index:idx_numbers_company_name,priority:2"`
	Source    string          `gorm:"size:60;not null;default:''"`
	Status    NumberStatus    `gorm:"size:16;not null;default:'active'"`
	Flow      Flow            `gorm:"embedded;embeddedPrefix:flow_"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RingGroupMember is a person a number's ring group rings. The area keeps
// only people who may take the company's calls (hooks.go); the cascade is a
// safety net, not the rule.
type RingGroupMember struct {
	NumberID     uint               `gorm:"primaryKey;autoIncrement:false"`
	Number       *TrackingNumber    `gorm:"constraint:OnDelete:CASCADE"`
	MembershipID uint               `gorm:"primaryKey;autoIncrement:false;index"`
	Membership   *models.Membership `gorm:"constraint:OnDelete:CASCADE"`
	Position     int                `gorm:"not null"`
}

// Caller is one calling number as a company knows it: the first call from
// it makes the caller first-time, and search finds calls through it.
type Caller struct {
	ID        uint            `gorm:"primaryKey"`
	CompanyID uint            `gorm:"not null;uniqueIndex:idx_callers_company_number,priority:1"`
	Company   *models.Company `gorm:"constraint:OnDelete:CASCADE"`
	Number    string          `gorm:"size:32;not null;uniqueIndex:idx_callers_company_number,priority:2"`
	Name      string          `gorm:"size:100;not null;default:''"`
	CreatedAt time.Time
}

// CallerTerm is one way a search can find a caller: each word of the name
// (word-prefix search), the number's digits (starts with) and the digits
// reversed (ends with). The company comes first, so a person's scope is a
// range of the primary key.
//
// Searching the whole account (an Admin) starts from the term instead.
type CallerTerm struct {
	CompanyID uint   `gorm:"primaryKey;autoIncrement:false;index:idx_caller_terms_term,priority:2"`
	Term      string `gorm:"primaryKey;size:64;index:idx_caller_terms_term,priority:1"`
	CallerID  uint   `gorm:"primaryKey;autoIncrement:false;index"`
}

// Kind tells a call from a text message.
type Kind string

const (
	KindCall Kind = "call"
	KindText Kind = "text"
)

// Outcome is how a call ended, as the Call Log shows it.
type Outcome string

const (
	OutcomePending   Outcome = "pending" // under way
	OutcomeAnswered  Outcome = "answered"
	OutcomeMissed    Outcome = "missed"
	OutcomeVoicemail Outcome = "voicemail"
	OutcomeText      Outcome = "text"
)

// Call is a call or a text to a tracking number, keyed by Twilio's CallSid
// or MessageSid so every webhook about it finds the same row.
//
// Each time index ends with id, the Call Log's tie-breaker, so a page is a
// walk down the index with no sort on either database.
type Call struct {
	ID        uint            `gorm:"primaryKey;index:idx_calls_account_time,priority:3;index:idx_calls_company_time,priority:3;index:idx_calls_number_time,priority:3;index:idx_calls_caller_time,priority:3"`
	AccountID uint            `gorm:"not null;index:idx_calls_account_time,priority:1"`
	Account   *models.Account `gorm:"constraint:OnDelete:CASCADE"`
	CompanyID uint            `gorm:"not null;index:idx_calls_company_time,priority:1"`
	Company   *models.Company `gorm:"constraint:OnDelete:CASCADE"`
	NumberID  uint            `gorm:"not null;index:idx_calls_number_time,priority:1"`
	Number    *TrackingNumber `gorm:"constraint:OnDelete:CASCADE"`
	Kind      Kind            `gorm:"size:8;not null"`
	Sid       string          `gorm:"size:64;not null;uniqueIndex"`
	CallerID  uint            `gorm:"not null;index:idx_calls_caller_time,priority:1"`
	Caller    *Caller         `gorm:"constraint:OnDelete:CASCADE"`
	// CallerNumber is the caller's number as Twilio gave it (E.164, or a
	// word such as "anonymous").
	CallerNumber string `gorm:"size:32;not null"`
	CallerName   string `gorm:"size:100;not null;default:''"`
	FirstTime    bool   `gorm:"not null;default:false"`
	// Source is the number's source when the call arrived: what it is
	// attributed to, whatever the number says later.
	Source    string    `gorm:"size:60;not null;default:''"`
	StartedAt time.Time `gorm:"not null;index:idx_calls_account_time,priority:2;index:idx_calls_company_time,priority:2;index:idx_calls_number_time,priority:2;index:idx_calls_caller_time,priority:2"`
	// Status is Twilio's last call status; StatusRank orders them so a
	// late "ringing" never overwrites "completed".
	Status     string  `gorm:"size:20;not null;default:''"`
	StatusRank int     `gorm:"not null;default:0"`
	Outcome    Outcome `gorm:"size:12;not null"`
	// Duration is the whole call; TalkSeconds the answered part.
	Duration    int    `gorm:"not null;default:0"`
	TalkSeconds int    `gorm:"not null;default:0"`
	AnsweredBy  string `gorm:"size:201;not null;default:''"`
	// Recording is Twilio's RecordingSid; it is fetched through the server
	// with the account's credentials, never linked to directly.
	RecordingSid       string `gorm:"size:64;not null;default:''"`
	RecordingSeconds   int    `gorm:"not null;default:0"`
	RecordingVoicemail bool   `gorm:"not null;default:false"`
	Body               string `gorm:"size:1600;not null;default:''"`
	Qualified          bool   `gorm:"not null;default:false"`
	EndedAt            *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// PendingRecording holds a recording whose call is not known yet: Twilio's
// recording callback names only the CallSid, so a recording that arrives
// before every other webhook of its call waits here and is applied when
// the call is created.
type PendingRecording struct {
	CallSid      string `gorm:"primaryKey;size:64"`
	RecordingSid string `gorm:"size:64;not null"`
	Seconds      int    `gorm:"not null"`
	Voicemail    bool   `gorm:"not null"`
	CreatedAt    time.Time
}

// CallEvent is one line of a call's timeline. Key makes a webhook's event
// idempotent: the same key is written once.
type CallEvent struct {
	ID        uint      `gorm:"primaryKey"`
	CallID    uint      `gorm:"not null;uniqueIndex:idx_call_events_key,priority:1;index:idx_call_events_time,priority:1"`
	Call      *Call     `gorm:"constraint:OnDelete:CASCADE"`
	Key       string    `gorm:"size:80;not null;uniqueIndex:idx_call_events_key,priority:2"`
	At        time.Time `gorm:"not null;index:idx_call_events_time,priority:2"`
	Text      string    `gorm:"size:300;not null"`
	ActorName string    `gorm:"size:201;not null;default:''"`
}

// Tag is a label of the account's calls ("Booked", "Spam").
type Tag struct {
	ID        uint            `gorm:"primaryKey"`
	AccountID uint            `gorm:"not null;uniqueIndex:idx_tags_account_key,priority:1"`
	Account   *models.Account `gorm:"constraint:OnDelete:CASCADE"`
	Name      string          `gorm:"size:40;not null"`
	// Key is the name lower-cased: "booked" and "Booked" are one tag.
	Key       string `gorm:"size:40;not null;uniqueIndex:idx_tags_account_key,priority:2"`
	CreatedAt time.Time
}

// CallTag puts a tag on a call. The call's time and company are copied so
// a tag filter reads the newest tagged calls from this index alone.
type CallTag struct {
	CallID    uint      `gorm:"primaryKey;autoIncrement:false;index:idx_call_tags_tag_time,priority:3"`
	Call      *Call     `gorm:"constraint:OnDelete:CASCADE"`
	TagID     uint      `gorm:"primaryKey;autoIncrement:false;index:idx_call_tags_tag_time,priority:1"`
	Tag       *Tag      `gorm:"constraint:OnDelete:CASCADE"`
	StartedAt time.Time `gorm:"not null;index:idx_call_tags_tag_time,priority:2"`
	CompanyID uint      `gorm:"not null"`
}

// Note is what someone wrote about a call. The author's name is copied so
// it outlives them; only the author edits it.
type Note struct {
	ID         uint               `gorm:"primaryKey"`
	CallID     uint               `gorm:"not null;index:idx_notes_call_time,priority:1"`
	Call       *Call              `gorm:"constraint:OnDelete:CASCADE"`
	AuthorID   *uint              `gorm:"index"`
	Author     *models.Membership `gorm:"foreignKey:AuthorID;constraint:OnDelete:SET NULL"`
	AuthorName string             `gorm:"size:201;not null"`
	Body       string             `gorm:"size:2000;not null"`
	CreatedAt  time.Time          `gorm:"index:idx_notes_call_time,priority:2"`
	UpdatedAt  time.Time
}
