package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Wizard steps, in order. A Notification user has no message step.
type Step int

const (
	StepType Step = iota + 1
	StepInfo
	StepCompanies
	StepMessage
)

// Draft is everything the create-user wizard has gathered so far. It travels
// between steps in the form and is checked again in full at every step: the
// account and the rights of the type never come from it.
type Draft struct {
	Key           string
	Type          UserType
	FirstName     string
	LastName      string
	Email         string
	CompanyIDs    []uint
	Message       string
	InvoiceEmails bool
	// Receives are what a Notification user will receive, in the words of
	// the notifications area ("daily", "calls:missed"…), which checks them;
	// the core only carries them to the area's CreateHook.
	Receives []string
	// InviteExistingLogin: the Admin chose to invite an address that has a
	// login in another account. The person then joins by logging in with
	// the password they have; nothing of their other accounts changes.
	InviteExistingLogin bool
}

// LastStep is the final step for the draft's type.
func (d Draft) LastStep() Step {
	if d.Type == Notification {
		return StepCompanies
	}
	return StepMessage
}

// Steps are the steps the draft's type goes through, in order. An Admin
// sees every company, so has no Companies step (the Info step says so); a
// Notification user gets no invitation, so has no Message step.
func (d Draft) Steps() []Step {
	steps := []Step{StepType, StepInfo}
	if !d.Type.SeesAllCompanies() {
		steps = append(steps, StepCompanies)
	}
	if d.Type != Notification {
		steps = append(steps, StepMessage)
	}
	return steps
}

// HasStep tells whether the draft's type goes through step.
func (d Draft) HasStep(step Step) bool { return slices.Contains(d.Steps(), step) }

// NextStep is the step after step for the draft's type (step itself when
// it is the last).
func (d Draft) NextStep(step Step) Step {
	for _, s := range d.Steps() {
		if s > step {
			return s
		}
	}
	return step
}

// PrevStep is the step before step for the draft's type (the first step
// when there is none).
func (d Draft) PrevStep(step Step) Step {
	prev := StepType
	for _, s := range d.Steps() {
		if s >= step {
			break
		}
		prev = s
	}
	return prev
}

// NewDraftKey returns the idempotency key of a new wizard run.
// ValidDraftKey tells a key NewDraftKey could have made from anything else.
func ValidDraftKey(key string) bool { return wellFormedSecret(key) }

func NewDraftKey() string {
	secret, _, err := newSecret()
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return secret
}

// DraftCheck is the outcome of checking a draft up to a step.
type DraftCheck struct {
	// Invalid is the first step that needs correcting, or 0.
	Invalid Step
	Fields  map[string]string
	// ExistingMember is set when the address is already in this account.
	ExistingMember *Membership
	// Created is set when this very draft already created the person (a
	// reload or double submit): not an error, the wizard is simply done.
	Created *Membership
	// LoginElsewhere is set when the address has a login in another account.
	LoginElsewhere bool
	// Companies are the chosen companies, resolved in this account.
	Companies []Company
	// Email is the canonical address.
	Email string
	key   string
	// inviteExistingLogin: the draft asks to invite a login from elsewhere.
	inviteExistingLogin bool
}

// OK reports whether every checked step is valid.
func (c *DraftCheck) OK() bool { return c.Invalid == 0 }

func (c *DraftCheck) fail(step Step, field, msg string) {
	if c.Invalid == 0 || step < c.Invalid {
		c.Invalid = step
	}
	if _, seen := c.Fields[field]; !seen {
		c.Fields[field] = msg
	}
}

// MaxDraftCompanies bounds the companies one form may carry.
const MaxDraftCompanies = 5000

// CheckDraft validates a draft from the first step up to upTo, for a viewer
// who must be allowed to create users.
func (s *Store) CheckDraft(ctx context.Context, v *Viewer, d Draft, upTo Step) (*DraftCheck, error) {
	if !CanManageUsers(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins can create users.")
	}
	c := &DraftCheck{Fields: map[string]string{}, key: d.Key, inviteExistingLogin: d.InviteExistingLogin}
	db := s.db.WithContext(ctx)
	if _, err := ParseUserType(string(d.Type)); err != nil {
		c.fail(StepType, "type", "Choose the type of user to add.")
	}
	if upTo >= StepInfo {
		if _, err := CleanName(d.FirstName, "First name", MaxNameLength); err != nil {
			c.fail(StepInfo, "first_name", ErrorMessage(err))
		}
		if _, err := CleanName(d.LastName, "Last name", MaxNameLength); err != nil {
			c.fail(StepInfo, "last_name", ErrorMessage(err))
		}
		email, err := CanonicalEmail(d.Email)
		if err != nil {
			c.fail(StepInfo, "email", ErrorMessage(err))
		} else {
			c.Email = email
			if err := s.checkEmailFree(db, v.Account.ID, email, c); err != nil {
				return nil, err
			}
		}
	}
	if upTo >= StepCompanies && !d.Type.SeesAllCompanies() && c.Invalid != StepType {
		if err := s.checkCompanies(ctx, v, d.CompanyIDs, c); err != nil {
			return nil, err
		}
	}
	if upTo >= StepMessage && d.Type != Notification {
		if _, err := CleanMessage(d.Message); err != nil {
			c.fail(StepMessage, "message", ErrorMessage(err))
		}
	}
	return c, nil
}

func (s *Store) checkEmailFree(db *gorm.DB, accountID uint, email string, c *DraftCheck) error {
	var found Membership
	var existing *Membership
	err := db.Where("account_id = ? AND email = ?", accountID, email).Take(&found).Error
	switch {
	case err == nil:
		existing = &found
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("check email in account: %w", err)
	}
	var logins int64
	if existing == nil {
		if err := db.Model(&Login{}).Where("email = ?", email).Count(&logins).Error; err != nil {
			return fmt.Errorf("check email in system: %w", err)
		}
	}
	emailFreeIn(c, existing, logins > 0)
	return nil
}

func (s *Store) checkCompanies(ctx context.Context, v *Viewer, ids []uint, c *DraftCheck) error {
	if len(ids) == 0 {
		c.fail(StepCompanies, "companies", "Choose at least one company this person will see.")
		return nil
	}
	if len(ids) > MaxDraftCompanies {
		c.fail(StepCompanies, "companies", "That is more companies than one form can carry.")
		return nil
	}
	uniq := make(map[uint]bool, len(ids))
	for _, id := range ids {
		uniq[id] = true
	}
	found, err := s.activeCompaniesByID(ctx, v, uniq)
	if err != nil {
		return fmt.Errorf("check companies: %w", err)
	}
	if len(found) != len(uniq) {
		c.fail(StepCompanies, "companies", "One of the chosen companies is no longer available. Check the list and choose again.")
		return nil
	}
	c.Companies = found
	return nil
}

// CleanMessage checks a personal message: length-limited, line breaks kept,
// other control characters refused.
func CleanMessage(input string) (string, error) {
	s := strings.TrimSpace(strings.ReplaceAll(input, "\r\n", "\n"))
	if !utf8.ValidString(s) {
		return "", Errorf(Invalid, "The message contains characters we cannot read.")
	}
	if n := utf8.RuneCountInString(s); n > MaxMessageLength {
		return "", Errorf(Invalid, "Keep the message to %d characters (it has %d).", MaxMessageLength, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", Errorf(Invalid, "The message cannot contain control characters.")
		}
	}
	return s, nil
}

// CreateMember creates the person a finished wizard describes: the
// membership, their companies, their invitation link and email (or, for a
// Notification user, the email saying what they will receive) and the audit
// events, all in one transaction. created is false when the draft's key had
// already created someone (a reload or a double click): that person is
// returned and nothing new is written.
func (s *Store) CreateMember(ctx context.Context, v *Viewer, d Draft, ip string) (m *Membership, created bool, err error) {
	if !wellFormedSecret(d.Key) {
		return nil, false, Errorf(BadRequest, "This form is incomplete. Start again from the first step.")
	}
	check, err := s.CheckDraft(ctx, v, d, d.LastStep())
	if err != nil {
		return nil, false, err
	}
	return s.CreateCheckedMember(ctx, v, d, check, ip)
}

// CreateCheckedMember is CreateMember for a draft the caller has just
// checked in full with CheckDraft, so the checks are not run twice.
func (s *Store) CreateCheckedMember(ctx context.Context, v *Viewer, d Draft, check *DraftCheck, ip string) (m *Membership, created bool, err error) {
	if !wellFormedSecret(d.Key) || check.key != d.Key {
		return nil, false, Errorf(BadRequest, "This form is incomplete. Start again from the first step.")
	}
	if check.Created != nil {
		return check.Created, false, nil
	}
	if !check.OK() {
		return nil, false, FieldErrors(check.Fields)
	}
	// The email is built first, from the draft: the person is new, so
	// nothing it says can change before the transaction.
	var inv *invitation
	var notice Mail
	compose := func() error {
		var err error
		inv, notice, err = s.composeMemberMail(s.db.WithContext(ctx), v, d, check)
		return err
	}
	err = s.mailed(ctx, compose, func(tx *gorm.DB) error {
		var e error
		m, e = s.createMember(tx, v, d, check, inv, notice, ip)
		return e
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Lost a race: with the same key to a double submit (return what
		// it created), otherwise to someone adding the same address.
		if prior, perr := s.memberByCreationKey(ctx, v.Account.ID, d.Key); perr != nil || prior != nil {
			return prior, false, perr
		}
		return nil, false, FieldErrors(map[string]string{"email": "Someone just added this email address to the account."})
	}
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// composeMemberMail builds the email of the person a checked draft
// creates: their invitation, or for a Notification user the notice.
func (s *Store) composeMemberMail(db *gorm.DB, v *Viewer, d Draft, check *DraftCheck) (inv *invitation, notice Mail, err error) {
	draft := draftMember(v, d, check, s.Now())
	if d.Type.CanLogIn() {
		message, _ := CleanMessage(d.Message)
		inv, err = s.composeInvitation(db, inviterOf(v), draft, message)
		return inv, notice, err
	}
	if notice, err = s.mail.NotificationAdded(NotificationMail{Member: draft, InviterName: v.Membership.FullName(), InviterEmail: v.Membership.Email,
		AccountName: v.Account.Name, Companies: companyNames(check.Companies)}); err != nil {
		return nil, notice, fmt.Errorf("compose notification email: %w", err)
	}
	return nil, notice, nil
}

func (s *Store) memberByCreationKey(ctx context.Context, accountID uint, key string) (*Membership, error) {
	var m Membership
	err := s.db.WithContext(ctx).Where("account_id = ? AND creation_key = ?", accountID, key).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find member by creation key: %w", err)
	}
	return &m, nil
}

// draftMember is the person a checked draft creates, before they have an ID.
func draftMember(v *Viewer, d Draft, check *DraftCheck, now time.Time) Membership {
	first, _ := CleanName(d.FirstName, "First name", MaxNameLength)
	last, _ := CleanName(d.LastName, "Last name", MaxNameLength)
	key := d.Key
	inviter := v.Membership.ID
	m := Membership{AccountID: v.Account.ID, FirstName: first, LastName: last, Email: check.Email,
		SortName: sortName(first, last), Type: d.Type, Status: MemberInvited, InvitedByID: &inviter,
		InvitedAt: &now, InvoiceEmails: GetsInvoiceEmails(d.Type) && d.InvoiceEmails, CreationKey: &key,
		CreatedAt: now, UpdatedAt: now}
	if !d.Type.CanLogIn() {
		// Nothing to accept: a Notification user receives emails at once.
		m.Status = MemberActive
		m.ActivatedAt = &now
	}
	return m
}

func companyNames(companies []Company) []string {
	names := make([]string, len(companies))
	for i, c := range companies {
		names[i] = c.Name
	}
	return names
}

// createMember writes the person of a checked draft, with the email built
// for them: their invitation, or for a Notification user the notice.
func (s *Store) createMember(tx *gorm.DB, v *Viewer, d Draft, check *DraftCheck, inv *invitation, notice Mail, ip string) (*Membership, error) {
	return s.createMemberCounted(tx, v, d, check, inv, notice, ip, s.limits.InviteAccount)
}

// createMemberCounted is createMember with the account's invitation limit
// it counts against: the wizard's daily cap, or an import's
// (ThrottlePolicy.InviteImport).
func (s *Store) createMemberCounted(tx *gorm.DB, v *Viewer, d Draft, check *DraftCheck, inv *invitation, notice Mail, ip string, accountLimit Limit) (*Membership, error) {
	now := s.Now()
	m := draftMember(v, d, check, now)
	if err := tx.Create(&m).Error; err != nil {
		return nil, fmt.Errorf("create member: %w", err)
	}
	names, err := assignCompanies(tx, &m, check.Companies, now)
	if err != nil {
		return nil, err
	}
	actor := v.Actor(ip)
	detail := "Type " + d.Type.Label()
	if len(names) > 0 {
		detail += "; companies: " + strings.Join(names, ", ")
	}
	if err := s.audit(tx, v.Account.ID, actor, "member.created", &m, detail); err != nil {
		return nil, err
	}
	if err := s.memberCreated(tx, m, check.Companies, d.Receives, actor); err != nil {
		return nil, err
	}
	if !d.Type.CanLogIn() {
		return &m, s.enqueueMail(tx, &m, "notification_added", notice)
	}
	return &m, s.sendInvitationCounted(tx, &m, inv, actor, "invitation.sent", false, accountLimit)
}

// Inviter is who an invitation says it comes from.
type Inviter struct {
	ID          *uint  // the membership that invited (nil: the console)
	Name, Email string // Email: where replies go ("" for the console: none)
	AccountName string
}

func (a Inviter) same(b Inviter) bool {
	return (a.ID == nil) == (b.ID == nil) && (a.ID == nil || *a.ID == *b.ID) &&
		a.Name == b.Name && a.Email == b.Email && a.AccountName == b.AccountName
}

// inviterOf is the viewer as the sender of an invitation.
func inviterOf(v *Viewer) Inviter {
	id := v.Membership.ID
	return Inviter{ID: &id, Name: v.Membership.FullName(), Email: v.Membership.Email, AccountName: v.Account.Name}
}

// sendInvitation stores an invitation's link for m (revoking earlier ones)
// and writes its email, built before the transaction (inv), to the outbox,
// inside the caller's transaction. Every path that sends an invitation
// comes here, so every one counts against the same limits
// (countPersonInvitation, countAccountInvitation); a refusal is an error
// that leaves the caller's transaction, and so the database, untouched.
// newAddress is set when the invitation goes to an address just corrected.
func (s *Store) sendInvitation(tx *gorm.DB, m *Membership, inv *invitation, actor Actor, action string, newAddress bool) error {
	return s.sendInvitationCounted(tx, m, inv, actor, action, newAddress, s.limits.InviteAccount)
}

// sendInvitationCounted is sendInvitation counted against accountLimit
// (an import's cap instead of the wizard's).
func (s *Store) sendInvitationCounted(tx *gorm.DB, m *Membership, inv *invitation, actor Actor, action string, newAddress bool, accountLimit Limit) error {
	if err := s.countPersonInvitation(tx, m, newAddress); err != nil {
		return err
	}
	// An older invitation still waiting in the outbox would arrive with a
	// dead link; only the newest goes out.
	if err := s.cancelPendingEmails(tx, m.ID, "invitation"); err != nil {
		return err
	}
	// The email says whether the address has a login elsewhere (join
	// with the password it has, or choose one): still so, or build again.
	hasLogin, err := emailHasLogin(tx, m.Email)
	if err != nil {
		return err
	}
	if hasLogin != inv.hasLogin || m.Email != inv.email {
		return errStaleMail
	}
	tok, err := s.storeLink(tx, inv.link, PurposeInvitation, &m.AccountID, &m.ID, inv.by.ID)
	if err != nil {
		return err
	}
	if err := s.enqueueMail(tx, m, "invitation", inv.mail); err != nil {
		return err
	}
	if err := s.audit(tx, m.AccountID, actor, action, m, "Link expires "+tok.ExpiresAt.Format("Jan 2, 2006 15:04 UTC")); err != nil {
		return err
	}
	return s.countAccountInvitation(tx, m, accountLimit)
}

func (s *Store) enqueueMail(tx *gorm.DB, m *Membership, kind string, mail Mail) error {
	account, member := m.AccountID, m.ID
	return s.enqueueEmail(tx, &OutboxMessage{AccountID: &account, MembershipID: &member, Kind: kind,
		ToAddress: m.Email, ToName: m.FullName(), Subject: mail.Subject, TextBody: mail.Text, HTMLBody: mail.HTML,
		ReplyToName: mail.ReplyTo.Name, ReplyToAddress: mail.ReplyTo.Email})
}

// countPersonInvitation counts an invitation to m against the person's
// limit: five an hour, a minute apart unless the address was just
// corrected.
func (s *Store) countPersonInvitation(tx *gorm.DB, m *Membership, newAddress bool) error {
	p := s.limits
	_, refused, err := s.hit(tx, p.InvitePerson, idKey(m.ID), "", !newAddress)
	if err != nil {
		return err
	}
	if refused != nil && !refused.full {
		return tooMany("Invitation sent recently",
			fmt.Sprintf("An invitation to %s was sent moments ago. Give it a few minutes to arrive (and ask them to check spam) before sending another.", m.Email),
			refused)
	}
	if refused != nil {
		return tooMany("Too many invitations",
			fmt.Sprintf("%s has been sent %d invitations in the last hour, the most allowed.", m.FullName(), p.InvitePerson.Max), refused)
	}
	return nil
}

// countAccountInvitation counts an invitation against the account's daily
// cap, which no Admin, or stolen Admin session, can exceed. It is the last
// statement of an invitation: the account's counter is one row that every
// invitation of the account updates, on every server, and its lock is held
// until the transaction ends, so the less comes after it the less the
// account's other invitations wait (measured: BenchmarkServe_Wizard-
// AcrossInstances in cmd/switchboard).
func (s *Store) countAccountInvitation(tx *gorm.DB, m *Membership, limit Limit) error {
	_, refused, err := s.hit(tx, limit, idKey(m.AccountID), "", true)
	if err != nil {
		return err
	}
	if refused != nil {
		return tooMany("Daily invitation limit reached",
			fmt.Sprintf("This account has sent %d invitations in the last 24 hours, the most allowed in a day.", limit.Max), refused)
	}
	return nil
}

// ResendInvitation issues a new link to a pending invitee and kills the old.
func (s *Store) ResendInvitation(ctx context.Context, v *Viewer, memberID uint, ip string) (*Membership, error) {
	if !CanManageUsers(v.Type()) {
		// 404 for someone the viewer cannot see, 403 for someone they can.
		if _, err := s.FindMember(ctx, v, memberID); err != nil {
			return nil, err
		}
		return nil, Errorf(Forbidden, "Only Admins can resend invitations.")
	}
	var read, m *Membership
	var inv *invitation
	compose := func() error {
		var err error
		if read, err = s.memberOfAccount(s.db.WithContext(ctx), v, memberID); err != nil {
			return err
		}
		if err := resendable(read); err != nil {
			return err
		}
		inv, err = s.composeInvitation(s.db.WithContext(ctx), inviterOf(v), *read, "")
		return err
	}
	err := s.mailed(ctx, compose, func(tx *gorm.DB) error {
		var err error
		if m, err = s.memberOfAccount(tx, v, memberID); err != nil {
			return err
		}
		if err := resendable(m); err != nil {
			return err
		}
		if !sameForMail(read, m) {
			return errStaleMail
		}
		return s.sendInvitation(tx, m, inv, v.Actor(ip), "invitation.resent", false)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// resendable reports why a person cannot be invited again, if they cannot.
func resendable(m *Membership) error {
	if m.Status != MemberInvited || !m.Type.CanLogIn() {
		return Errorf(Conflict, "%s is not waiting for an invitation, so there is nothing to resend.", m.FullName())
	}
	return nil
}

// FindMember returns a person of the viewer's account that the viewer may see.
func (s *Store) FindMember(ctx context.Context, v *Viewer, id uint) (*Membership, error) {
	return findVisibleMember(s.db.WithContext(ctx), v, id)
}

// CompaniesOf lists the active companies assigned to a member, A → Z.
func (s *Store) CompaniesOf(ctx context.Context, m *Membership) ([]Company, error) {
	var out []Company
	err := s.db.WithContext(ctx).Joins("JOIN assignments a ON a.company_id = companies.id").
		Where("a.membership_id = ? AND companies.status = ?", m.ID, CompanyActive).Order("companies.name, companies.id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("companies of member: %w", err)
	}
	return out, nil
}

// InvitationStateOf tells where a pending invitee's current link stands.
func (s *Store) InvitationStateOf(ctx context.Context, m *Membership) (*InvitationState, error) {
	if m.Status != MemberInvited {
		return nil, nil
	}
	var t Token
	err := s.db.WithContext(ctx).Where("membership_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", m.ID, PurposeInvitation).
		Order("created_at DESC").Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("invitation of member: %w", err)
	}
	return &InvitationState{SentAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Expired: !s.Now().Before(t.ExpiresAt)}, nil
}
