package models

import "time"

// AccountStatus is the life of a tenant.
type AccountStatus string

const (
	AccountActive AccountStatus = "active"
	AccountPaused AccountStatus = "paused"
	AccountClosed AccountStatus = "closed"
)

// Account is the tenant. Number is the public identifier a person gives to
// ask for access; ID never leaves the server in a way that matters.
type Account struct {
	ID              uint          `gorm:"primaryKey"`
	Number          string        `gorm:"size:16;not null;uniqueIndex"`
	Name            string        `gorm:"size:120;not null"`
	Status          AccountStatus `gorm:"size:16;not null;default:active"`
	WhiteLabel      bool          `gorm:"not null;default:false"`
	WhiteLabelBrand string        `gorm:"size:120;not null;default:''"`
	Plan            string        `gorm:"size:40;not null;default:standard"`
	// TimeZone is the account's IANA zone: what its people read times in
	// unless they chose their own (Login.TimeZone). "" is UTC.
	TimeZone  string `gorm:"size:64;not null;default:''"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CompanyStatus: a disabled company is hidden from everyone but the Admins'
// Disabled list; its assignments are kept for when it returns.
type CompanyStatus string

const (
	CompanyActive   CompanyStatus = "active"
	CompanyDisabled CompanyStatus = "disabled"
)

// Company is a client business of the account.
type Company struct {
	ID        uint          `gorm:"primaryKey"`
	AccountID uint          `gorm:"not null;index:idx_companies_account_status_name,priority:1"`
	Account   *Account      `gorm:"constraint:OnDelete:CASCADE"`
	Name      string        `gorm:"size:120;not null;index:idx_companies_account_status_name,priority:3"`
	Status    CompanyStatus `gorm:"size:16;not null;default:active;index:idx_companies_account_status_name,priority:2"`
	TimeZone  string        `gorm:"size:64;not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Login is one per email address across the whole system.
type Login struct {
	ID                uint   `gorm:"primaryKey"`
	Email             string `gorm:"size:254;not null;uniqueIndex"` // canonical form
	PasswordHash      string `gorm:"size:255;not null"`
	PasswordChangedAt time.Time
	// TimeZone is the zone the person chose to read times in, in every
	// account; "" follows the account's (Store.ZoneOf).
	TimeZone  string `gorm:"size:64;not null;default:''"`
	CreatedAt time.Time
}

// MemberStatus is where a person stands in one account.
type MemberStatus string

const (
	MemberInvited  MemberStatus = "invited"
	MemberActive   MemberStatus = "active"
	MemberDisabled MemberStatus = "disabled"
)

// StatusLabel is how a person's standing reads on the users list and Edit
// User. A Notification user never logs in, so "Active" (and "Last active
// never") would say nothing: theirs is "Receives email".
func StatusLabel(t UserType, s MemberStatus) string {
	switch s {
	case MemberInvited:
		return "Invited"
	case MemberActive:
		if !t.CanLogIn() {
			return "Receives email"
		}
		return "Active"
	case MemberDisabled:
		return "Disabled"
	}
	return string(s)
}

// Membership is what the screens call a user: a person in one account.
// Deleting one removes the row (the audit log keeps the history) so that the
// same address can be invited again.
type Membership struct {
	// The users list's indexes (idx_members_list_*) end with the ID, the
	// tie-breaker of every order, so that a page is a walk along one of
	// them (userlist_query.go).
	ID        uint     `gorm:"primaryKey;index:idx_members_list_name,priority:3;index:idx_members_list_active,priority:3;index:idx_members_list_invited,priority:3;index:idx_members_list_type,priority:4;index:idx_members_list_filter,priority:7"`
	AccountID uint     `gorm:"not null;uniqueIndex:idx_members_account_creation,priority:1;uniqueIndex:idx_members_account_email,priority:1;index:idx_members_list_name,priority:1;index:idx_members_list_active,priority:1;index:idx_members_list_invited,priority:1;index:idx_members_list_type,priority:1;index:idx_members_list_filter,priority:1"`
	Account   *Account `gorm:"constraint:OnDelete:CASCADE"`
	LoginID   *uint    `gorm:"index"`
	Login     *Login   `gorm:"constraint:OnDelete:SET NULL"`
	FirstName string   `gorm:"size:100;not null"`
	LastName  string   `gorm:"size:100;not null"`
	// Email is canonical (lower-cased, punycode domain), unique per account.
	Email string `gorm:"size:254;not null;uniqueIndex:idx_members_account_email,priority:2;index:idx_members_list_filter,priority:6"`
	// SortName is lower("first last"): the key of the name ordering and of
	// name search, kept so neither needs a function over the column.
	SortName string       `gorm:"size:201;not null;index:idx_members_list_name,priority:2;index:idx_members_list_type,priority:3;index:idx_members_list_filter,priority:5"`
	Type     UserType     `gorm:"size:16;not null;index:idx_members_list_type,priority:2;index:idx_members_list_filter,priority:2"`
	Status   MemberStatus `gorm:"size:16;not null;index:idx_members_list_filter,priority:3"`
	// LastActiveAt is the zero time for someone who never signed in, so that
	// it can be a NOT NULL keyset column that sorts them last.
	LastActiveAt time.Time `gorm:"not null;index:idx_members_list_active,priority:2"`
	InvitedByID  *uint
	// InvitedAt is when the person was invited or added; every path that
	// creates a membership sets it (the users list sorts by it).
	InvitedAt   *time.Time `gorm:"index:idx_members_list_invited,priority:2"`
	ActivatedAt *time.Time
	// InvitationExpiresAt is when the person's current invitation link
	// expires, nil without one. A trigger keeps it from the tokens
	// (userlist_schema.go); it is never written from Go.
	InvitationExpiresAt *time.Time `gorm:"->;index:idx_members_list_filter,priority:4"`
	InvoiceEmails       bool       `gorm:"not null;default:false"`
	// CreationKey is the wizard's idempotency key: a reload or double
	// click of its last step finds the person it already created.
	CreationKey *string `gorm:"size:64;uniqueIndex:idx_members_account_creation,priority:2"`
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// FullName is how a person is addressed on pages.
func (m Membership) FullName() string { return m.FirstName + " " + m.LastName }

// Assignment gives a non-Admin member sight of a company.
type Assignment struct {
	// The (company, kind, member) index serves a company's people of a
	// type and status (the users list, Edit Users); the primary key serves
	// "companies of these members".
	MembershipID uint        `gorm:"primaryKey;autoIncrement:false;index:idx_assignments_company_kind,priority:3"`
	Membership   *Membership `gorm:"constraint:OnDelete:CASCADE"`
	CompanyID    uint        `gorm:"primaryKey;autoIncrement:false;index:idx_assignments_company_kind,priority:1"`
	Company      *Company    `gorm:"constraint:OnDelete:CASCADE"`
	// MemberKind is the kind of the person (userlist_schema.go), kept by a
	// trigger from the membership; it is never written from Go.
	MemberKind string `gorm:"->;size:2;not null;default:'';index:idx_assignments_company_kind,priority:2"`
	CreatedAt  time.Time
}

// TokenPurpose says what an emailed or printed link is for.
type TokenPurpose string

const (
	PurposeSetup         TokenPurpose = "setup"
	PurposeInvitation    TokenPurpose = "invitation"
	PurposePasswordReset TokenPurpose = "password_reset"
)

// Token is a one-time link. Only the SHA-256 of the secret is stored.
type Token struct {
	ID           uint         `gorm:"primaryKey"`
	Hash         string       `gorm:"size:64;not null;uniqueIndex"`
	Purpose      TokenPurpose `gorm:"size:20;not null"`
	AccountID    *uint        `gorm:"index"`
	Account      *Account     `gorm:"constraint:OnDelete:CASCADE"`
	MembershipID *uint        `gorm:"index"`
	Membership   *Membership  `gorm:"constraint:OnDelete:CASCADE"`
	// LoginID is set for password resets, which belong to a login rather
	// than to one account's membership.
	LoginID     *uint  `gorm:"index"`
	Login       *Login `gorm:"constraint:OnDelete:CASCADE"`
	CreatedByID *uint
	ExpiresAt   time.Time `gorm:"not null"`
	UsedAt      *time.Time
	RevokedAt   *time.Time
	CreatedAt   time.Time
}

// OutboxMessage is an email waiting to be delivered, written in the same
// transaction as the change it reports.
type OutboxMessage struct {
	ID           uint   `gorm:"primaryKey"`
	AccountID    *uint  `gorm:"index"`
	MembershipID *uint  `gorm:"index"`
	Kind         string `gorm:"size:40;not null"`
	ToAddress    string `gorm:"size:254;not null"`
	ToName       string `gorm:"size:201;not null;default:''"`
	// ReplyToName and ReplyToAddress are whom a reply reaches, for the
	// emails that invite one (Mail.ReplyTo); empty otherwise.
	ReplyToName    string     `gorm:"size:201;not null;default:''"`
	ReplyToAddress string     `gorm:"size:254;not null;default:''"`
	Subject        string     `gorm:"size:255;not null"`
	TextBody       string     `gorm:"type:text;not null"`
	HTMLBody       string     `gorm:"type:text;not null"`
	Attempts       int        `gorm:"not null;default:0"`
	NextAttemptAt  time.Time  `gorm:"not null;index:idx_outbox_due,priority:2"`
	SentAt         *time.Time `gorm:"index:idx_outbox_due,priority:1"`
	LastError      string     `gorm:"size:1000;not null;default:''"`
	// LeaseOwner is the delivery worker sending the message, until
	// LeaseUntil (jobs.go); empty when nobody is.
	LeaseOwner string `gorm:"size:64;not null;default:''"`
	LeaseUntil *time.Time
	// FromName is the sender's display name in front of the configured
	// sender address (a notification comes from its account's name); empty
	// keeps the configured name.
	FromName string `gorm:"size:120;not null;default:''"`
	// Unsubscribe is the address of a one-click unsubscribe (RFC 8058) for
	// an email someone subscribed to; empty for every other email.
	Unsubscribe string `gorm:"size:500;not null;default:''"`
	CreatedAt   time.Time
}

// AuditEvent records who did what to whom. Names are copied so the history
// survives the people it mentions; the console never edits or deletes one.
type AuditEvent struct {
	ID         uint      `gorm:"primaryKey"`
	AccountID  *uint     `gorm:"index:idx_audit_account_time,priority:1"`
	ActorID    *uint     `gorm:"index"`
	ActorName  string    `gorm:"size:201;not null;default:''"`
	Action     string    `gorm:"size:40;not null"`
	TargetID   *uint     `gorm:"index"`
	TargetName string    `gorm:"size:201;not null;default:''"`
	Detail     string    `gorm:"size:500;not null;default:''"`
	IP         string    `gorm:"size:64;not null;default:''"`
	CreatedAt  time.Time `gorm:"index:idx_audit_account_time,priority:2"`
	// Label names the action for people; filled in when events are read.
	Label string `gorm:"-"`
}

// Session is the server side of a login cookie: the cookie holds only the
// secret whose hash is here, so deleting the row ends the session.
type Session struct {
	ID           uint        `gorm:"primaryKey"`
	Hash         string      `gorm:"size:64;not null;uniqueIndex"`
	LoginID      uint        `gorm:"not null;index"`
	Login        *Login      `gorm:"constraint:OnDelete:CASCADE"`
	MembershipID uint        `gorm:"not null;index"`
	Membership   *Membership `gorm:"constraint:OnDelete:CASCADE"`
	IP           string      `gorm:"size:64;not null;default:''"`
	UserAgent    string      `gorm:"size:255;not null;default:''"`
	CreatedAt    time.Time
	LastSeenAt   time.Time `gorm:"not null"`
	ExpiresAt    time.Time `gorm:"not null"`
}

// Secret holds keys the server generates once (cookie signing keys).
type Secret struct {
	Name      string `gorm:"primaryKey;size:40"`
	Value     []byte `gorm:"not null"`
	CreatedAt time.Time
}
