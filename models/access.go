package models

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// AccessStatus is where a request for access to another account stands.
type AccessStatus string

const (
	AccessPending   AccessStatus = "pending"
	AccessGranted   AccessStatus = "granted"
	AccessDeclined  AccessStatus = "declined"
	AccessWithdrawn AccessStatus = "withdrawn"
	// AccessExpired: nobody decided within AccessRequestTTL. A pending
	// request past its time already reads as expired everywhere
	// (Expired); the scheduler then records it (ExpireAccessRequests).
	AccessExpired AccessStatus = "expired"
)

// AccessRequestTTL is how long a request waits for the Admins: a request
// to a mistyped number must not wait forever.
const AccessRequestTTL = 30 * 24 * time.Hour

// AccessRequest is a logged-in person asking to join another account by its
// number. AccountID is nil when the number matched no account they could
// join: the request is kept all the same, so that what the requester sees
// never tells which numbers exist.
type AccessRequest struct {
	ID             uint     `gorm:"primaryKey"`
	Number         string   `gorm:"size:16;not null"`
	AccountID      *uint    `gorm:"index:idx_access_account_status,priority:1"`
	Account        *Account `gorm:"constraint:OnDelete:CASCADE"`
	LoginID        uint     `gorm:"not null;index"`
	Login          *Login   `gorm:"constraint:OnDelete:CASCADE"`
	RequesterEmail string   `gorm:"size:254;not null"`
	FirstName      string   `gorm:"size:100;not null"`
	LastName       string   `gorm:"size:100;not null"`
	Note           string   `gorm:"size:500;not null;default:''"`
	// FromAccount and FromCompany are where the requester said they come
	// from, as much as they chose to share, written from their own
	// account and companies when they asked (never typed freely).
	FromAccount string       `gorm:"size:120;not null;default:''"`
	FromCompany string       `gorm:"size:120;not null;default:''"`
	Status      AccessStatus `gorm:"size:16;not null;index:idx_access_account_status,priority:2"`
	DecidedByID *uint
	DecidedAt   *time.Time
	CreatedAt   time.Time `gorm:"index"`
}

// RequesterName is how the request names its author.
func (r AccessRequest) RequesterName() string { return r.FirstName + " " + r.LastName }

// ExpiresAt is when a pending request stops waiting.
func (r AccessRequest) ExpiresAt() time.Time { return r.CreatedAt.Add(AccessRequestTTL) }

// State is the request's status as of now: a pending request past its
// time is expired, whether or not the scheduler has recorded it yet.
func (r AccessRequest) State(now time.Time) AccessStatus {
	if r.Status == AccessPending && !now.Before(r.ExpiresAt()) {
		return AccessExpired
	}
	return r.Status
}

// MaxAccessNoteLength keeps the note short. Requests are limited to a few
// an hour per login (ThrottlePolicy.AccessLogin), so numbers cannot be
// tried in bulk.
const MaxAccessNoteLength = 500

var accountNumberPattern = regexp.MustCompile(`^[0-9]{10}$`)

// AccessRequestInput is the request form. Share says what the Admins are
// told of where the requester comes from: "" nothing, ShareAccount their
// account's name, ShareCompanyPrefix+ID that and one of their companies.
type AccessRequestInput struct {
	Number, Note, Share string
}

// What a requester may share of where they come from.
const (
	ShareAccount       = "account"
	ShareCompanyPrefix = "company:"
)

// AccessMail is what Admins and requesters are told about a request.
type AccessMail struct {
	Request     AccessRequest
	AccountName string
	To          Membership // the Admin told of a new request (empty otherwise)
	ActorName   string     // who granted or declined
	ActorEmail  string
	Type        UserType // the type granted
	Companies   []string
}

// CanRequestAccess: people who log in may ask to join another account.
func CanRequestAccess(t UserType) bool { return t.CanLogIn() }

// RequestAccess records a request to join the account with the given number
// and tells every active Admin there by email. The answer is the same
// whether or not the number exists or the person already belongs to it.
func (s *Store) RequestAccess(ctx context.Context, v *Viewer, in AccessRequestInput, ip string) (*AccessRequest, error) {
	clean, err := s.cleanAccessRequest(ctx, v, in)
	if err != nil {
		return nil, err
	}
	var req *AccessRequest
	var notice *accessNotice
	// The Admins' emails are built first, from the account and its
	// Admins as read before the transaction.
	compose := func() error {
		var err error
		notice, err = s.composeAccessRequest(s.db.WithContext(ctx), v, clean)
		return err
	}
	err = s.mailed(ctx, compose, func(tx *gorm.DB) error {
		var err error
		req, err = s.requestAccess(tx, v, notice, ip)
		return err
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// cleanAccessRequest checks the request form: the number's shape, the
// note, and that what is shared is the requester's own.
func (s *Store) cleanAccessRequest(ctx context.Context, v *Viewer, in AccessRequestInput) (*AccessRequest, error) {
	if !CanRequestAccess(v.Type()) {
		return nil, Errorf(Forbidden, "Your type of user cannot request access to other accounts.")
	}
	number := strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(in.Number), " ", ""), "-", "")
	fields := map[string]string{}
	if !accountNumberPattern.MatchString(number) {
		fields["number"] = "Enter the ten-digit account number an Admin of that account gave you."
	}
	note, err := CleanMessage(in.Note)
	if err != nil {
		fields["note"] = ErrorMessage(err)
	} else if len([]rune(note)) > MaxAccessNoteLength {
		fields["note"] = fmt.Sprintf("Keep the note to %d characters.", MaxAccessNoteLength)
	}
	req := &AccessRequest{Number: number, Note: note}
	switch share := in.Share; {
	case share == "":
	case share == ShareAccount:
		req.FromAccount = v.Account.Name
	case strings.HasPrefix(share, ShareCompanyPrefix):
		var id uint
		if _, err := fmt.Sscan(strings.TrimPrefix(share, ShareCompanyPrefix), &id); err != nil || id == 0 {
			fields["share"] = "Choose what to tell them from the list."
			break
		}
		co, err := s.FindCompany(ctx, v, id)
		if ErrorCode(err) == NotFound || (err == nil && co.Status != CompanyActive) {
			fields["share"] = "Choose what to tell them from the list."
			break
		}
		if err != nil {
			return nil, err
		}
		req.FromAccount, req.FromCompany = v.Account.Name, co.Name
	default:
		fields["share"] = "Choose what to tell them from the list."
	}
	if len(fields) > 0 {
		return nil, FieldErrors(fields)
	}
	return req, nil
}

// accessNotice is a checked request as its emails tell it, and those
// emails to the Admins of the account its number names (none when it
// names no account the requester may join), built before the
// transaction that records it.
type accessNotice struct {
	req    AccessRequest
	target *Account
	admins []Membership
	mails  []Mail
}

// composeAccessRequest renders the Admins' emails of a checked request,
// reading the account and its Admins from db, outside any transaction.
func (s *Store) composeAccessRequest(db *gorm.DB, v *Viewer, in *AccessRequest) (*accessNotice, error) {
	n := &accessNotice{req: AccessRequest{Number: in.Number, LoginID: v.Login.ID, RequesterEmail: v.Login.Email,
		FirstName: v.Membership.FirstName, LastName: v.Membership.LastName, Note: in.Note,
		FromAccount: in.FromAccount, FromCompany: in.FromCompany, Status: AccessPending, CreatedAt: s.Now()}}
	var err error
	if n.target, err = s.joinableAccount(db, in.Number, v.Login); err != nil || n.target == nil {
		return n, err
	}
	if n.admins, err = adminsToTell(db, n.target.ID); err != nil {
		return nil, err
	}
	n.mails = make([]Mail, len(n.admins))
	for i, admin := range n.admins {
		if n.mails[i], err = s.mail.AccessRequested(AccessMail{Request: n.req, AccountName: n.target.Name, To: admin}); err != nil {
			return nil, fmt.Errorf("compose access request email: %w", err)
		}
	}
	return n, nil
}

// requestAccess records a request composed before (n) and sends its
// emails to the account's Admins, inside the caller's transaction, counted
// against the requester's limit. errStaleMail when the account or its
// Admins are no longer what the emails were written for.
func (s *Store) requestAccess(tx *gorm.DB, v *Viewer, n *accessNotice, ip string) (*AccessRequest, error) {
	_, refused, err := s.hit(tx, s.limits.AccessLogin, idKey(v.Login.ID), "", true)
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, tooMany("Too many requests",
			"You have sent several access requests in the last hour. Please wait a while before sending another.", refused)
	}
	found, err := s.joinableAccount(tx, n.req.Number, v.Login)
	if err != nil {
		return nil, err
	}
	if (found == nil) != (n.target == nil) || (found != nil && found.Name != n.target.Name) {
		return nil, errStaleMail
	}
	req := n.req
	if found != nil {
		// One waiting request per account: another while one waits (and
		// has not expired) is kept, but tells nobody.
		var pending int64
		if err := tx.Model(&AccessRequest{}).Where("account_id = ? AND login_id = ? AND status = ? AND created_at > ?",
			found.ID, v.Login.ID, AccessPending, req.CreatedAt.Add(-AccessRequestTTL)).Count(&pending).Error; err != nil {
			return nil, fmt.Errorf("find pending request: %w", err)
		}
		if pending == 0 {
			req.AccountID = &found.ID
		}
	}
	if err := tx.Create(&req).Error; err != nil {
		return nil, fmt.Errorf("store access request: %w", err)
	}
	if req.AccountID == nil {
		return &req, nil
	}
	if err := s.audit(tx, found.ID, Actor{Name: req.RequesterName(), IP: ip}, "access.requested", nil,
		fmt.Sprintf("%s <%s> asked for access", req.RequesterName(), req.RequesterEmail)); err != nil {
		return nil, err
	}
	admins, err := adminsToTell(tx, found.ID)
	if err != nil {
		return nil, err
	}
	if !slices.EqualFunc(admins, n.admins, func(a, b Membership) bool { return sameForMail(&a, &b) }) {
		return nil, errStaleMail
	}
	for i := range n.admins {
		if err := s.enqueueMail(tx, &n.admins[i], "access_requested", n.mails[i]); err != nil {
			return nil, err
		}
	}
	return &req, nil
}

// CorrectAccessRequest lets the requester fix a pending request. A new
// number is a new request (the old one is withdrawn, and the answer is the
// same whether or not the number exists); the same number keeps the
// request and its place, with the note and what is shared replaced.
func (s *Store) CorrectAccessRequest(ctx context.Context, v *Viewer, id uint, in AccessRequestInput, ip string) (*AccessRequest, error) {
	clean, err := s.cleanAccessRequest(ctx, v, in)
	if err != nil {
		return nil, err
	}
	var out *AccessRequest
	var notice *accessNotice
	// A new number's emails are built first, as for a new request.
	compose := func() error {
		notice = nil
		r, err := s.ownPendingRequest(s.db.WithContext(ctx), v, id)
		if err != nil || clean.Number == r.Number {
			return err
		}
		notice, err = s.composeAccessRequest(s.db.WithContext(ctx), v, clean)
		return err
	}
	err = s.mailed(ctx, compose, func(tx *gorm.DB) error {
		r, err := s.ownPendingRequest(tx, v, id)
		if err != nil {
			return err
		}
		if clean.Number != r.Number {
			if notice == nil {
				return errStaleMail
			}
			if err := s.withdraw(tx, r, ip); err != nil {
				return err
			}
			out, err = s.requestAccess(tx, v, notice, ip)
			return err
		}
		res := tx.Model(&AccessRequest{}).Where("id = ? AND status = ?", r.ID, AccessPending).
			Updates(map[string]any{"note": clean.Note, "from_account": clean.FromAccount, "from_company": clean.FromCompany})
		if res.Error != nil {
			return fmt.Errorf("correct access request: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return Errorf(Conflict, "This request was decided a moment ago.")
		}
		r.Note, r.FromAccount, r.FromCompany = clean.Note, clean.FromAccount, clean.FromCompany
		out = r
		if r.AccountID == nil {
			return nil
		}
		return s.audit(tx, *r.AccountID, Actor{Name: r.RequesterName(), IP: ip}, "access.corrected", nil,
			fmt.Sprintf("%s <%s> corrected their request", r.RequesterName(), r.RequesterEmail))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindMyAccessRequest returns one of the viewer's own pending requests.
func (s *Store) FindMyAccessRequest(ctx context.Context, v *Viewer, id uint) (*AccessRequest, error) {
	return s.ownPendingRequest(s.db.WithContext(ctx), v, id)
}

// ownPendingRequest is a request of the viewer's login that still waits.
func (s *Store) ownPendingRequest(tx *gorm.DB, v *Viewer, id uint) (*AccessRequest, error) {
	var r AccessRequest
	err := tx.Where("id = ? AND login_id = ?", id, v.Login.ID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find request: %w", err)
	}
	if st := r.State(s.Now()); st != AccessPending {
		return nil, Errorf(Conflict, "That request was already %s.", st)
	}
	return &r, nil
}

// ExpireAccessRequests records as expired the pending requests past their
// time (the scheduler runs it; pages already show them expired) and
// returns how many.
func (s *Store) ExpireAccessRequests(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&AccessRequest{}).Where("status = ? AND created_at <= ?", AccessPending, s.Now().Add(-AccessRequestTTL)).
			Updates(map[string]any{"status": AccessExpired, "decided_at": s.Now()})
		n = res.RowsAffected
		if res.Error != nil {
			return fmt.Errorf("expire access requests: %w", res.Error)
		}
		return nil
	})
	return n, err
}

// joinableAccount is the account with this number unless it is closed or
// the login already belongs to it; otherwise nil.
func (s *Store) joinableAccount(tx *gorm.DB, number string, login Login) (*Account, error) {
	var a Account
	err := tx.Where("number = ? AND status <> ?", number, AccountClosed).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find account by number: %w", err)
	}
	var member int64
	if err := tx.Model(&Membership{}).Where("account_id = ? AND email = ?", a.ID, login.Email).Count(&member).Error; err != nil {
		return nil, fmt.Errorf("check membership: %w", err)
	}
	if member > 0 {
		return nil, nil
	}
	return &a, nil
}

// adminsToTell are the active Admins an access request is emailed to.
func adminsToTell(db *gorm.DB, accountID uint) ([]Membership, error) {
	var admins []Membership
	if err := db.Where("account_id = ? AND type = ? AND status = ?", accountID, Admin, MemberActive).Order("id").Find(&admins).Error; err != nil {
		return nil, fmt.Errorf("admins to tell: %w", err)
	}
	return admins, nil
}

// MyAccessRequests lists the requests a login has made, newest first.
func (s *Store) MyAccessRequests(ctx context.Context, v *Viewer) ([]AccessRequest, error) {
	var out []AccessRequest
	if err := s.db.WithContext(ctx).Where("login_id = ?", v.Login.ID).Order("created_at DESC, id DESC").Limit(50).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("my access requests: %w", err)
	}
	return out, nil
}

// WithdrawAccessRequest takes back one's own pending request.
func (s *Store) WithdrawAccessRequest(ctx context.Context, v *Viewer, id uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.ownPendingRequest(tx, v, id)
		if err != nil {
			return err
		}
		return s.withdraw(tx, r, "")
	})
}

func (s *Store) withdraw(tx *gorm.DB, r *AccessRequest, ip string) error {
	if err := s.decideRequest(tx, r.ID, AccessWithdrawn, nil); err != nil {
		return err
	}
	if r.AccountID == nil {
		return nil
	}
	return s.audit(tx, *r.AccountID, Actor{Name: r.RequesterName(), IP: ip}, "access.withdrawn", nil,
		fmt.Sprintf("%s <%s> withdrew their request", r.RequesterName(), r.RequesterEmail))
}

// IncomingAccessRequests lists the pending requests to the viewer's account.
func (s *Store) IncomingAccessRequests(ctx context.Context, v *Viewer) ([]AccessRequest, error) {
	if !CanManageUsers(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins see access requests.")
	}
	var out []AccessRequest
	err := s.db.WithContext(ctx).Where("account_id = ? AND status = ? AND created_at > ?", v.Account.ID, AccessPending, s.Now().Add(-AccessRequestTTL)).
		Order("created_at, id").Limit(200).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("incoming access requests: %w", err)
	}
	return out, nil
}

// CountIncomingAccessRequests is the number shown to Admins on the users list.
func (s *Store) CountIncomingAccessRequests(ctx context.Context, v *Viewer) (int64, error) {
	if !CanManageUsers(v.Type()) {
		return 0, nil
	}
	sn, err := s.snapshot(ctx, v)
	return sn.incoming, err
}

// FindIncomingAccessRequest returns a pending request to the viewer's account.
func (s *Store) FindIncomingAccessRequest(ctx context.Context, v *Viewer, id uint) (*AccessRequest, error) {
	if !CanManageUsers(v.Type()) {
		// Requests to the account are in its Admins' scope only (policy.go).
		return nil, ErrNotFound()
	}
	return s.incomingRequest(s.db.WithContext(ctx), v, id)
}

func (s *Store) incomingRequest(tx *gorm.DB, v *Viewer, id uint) (*AccessRequest, error) {
	var r AccessRequest
	err := tx.Where("id = ? AND account_id = ?", id, v.Account.ID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find request: %w", err)
	}
	if st := r.State(s.Now()); st != AccessPending {
		return nil, Errorf(Conflict, "This request was already %s.", st)
	}
	return &r, nil
}

// decideRequest moves a pending request to its outcome. It is the first
// write of each decision's transaction and must find the request still
// pending, so a grant and a decline (or two grants) at once give one outcome.
func (s *Store) decideRequest(tx *gorm.DB, id uint, status AccessStatus, decider *uint) error {
	res := tx.Model(&AccessRequest{}).Where("id = ? AND status = ?", id, AccessPending).
		Updates(map[string]any{"status": status, "decided_at": s.Now(), "decided_by_id": decider})
	if res.Error != nil {
		return fmt.Errorf("decide access request: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return Errorf(Conflict, "This request was decided or withdrawn a moment ago.")
	}
	return nil
}

// GrantInput is the Admin's decision: a type and companies, as in the wizard.
type GrantInput struct {
	Type       UserType
	CompanyIDs []uint
}

// GrantAccess adds the requester to the viewer's account with the chosen type
// and companies: a membership for the same login, so no new password.
func (s *Store) GrantAccess(ctx context.Context, v *Viewer, id uint, in GrantInput, ip string) (*Membership, error) {
	if !CanManageUsers(v.Type()) {
		// Requests to the account are in its Admins' scope only (policy.go).
		return nil, ErrNotFound()
	}
	if s.mail == nil {
		return nil, errors.New("grant access: no mail composer configured")
	}
	check := &DraftCheck{Fields: map[string]string{}}
	if _, err := ParseUserType(string(in.Type)); err != nil {
		check.fail(StepType, "type", "Choose the type of user to grant.")
	} else if !in.Type.SeesAllCompanies() {
		if err := s.checkCompanies(ctx, v, in.CompanyIDs, check); err != nil {
			return nil, err
		}
	}
	if !check.OK() {
		return nil, FieldErrors(check.Fields)
	}
	var m Membership
	var read *AccessRequest
	var mail Mail
	compose := func() error {
		var err error
		if read, err = s.incomingRequest(s.db.WithContext(ctx), v, id); err != nil {
			return err
		}
		if mail, err = s.mail.AccessGranted(AccessMail{Request: *read, AccountName: v.Account.Name, ActorName: v.Membership.FullName(), ActorEmail: v.Membership.Email,
			Type: in.Type, Companies: companyNames(check.Companies)}); err != nil {
			return fmt.Errorf("compose access granted email: %w", err)
		}
		return nil
	}
	err := s.mailed(ctx, compose, func(tx *gorm.DB) error {
		r, err := s.incomingRequest(tx, v, id)
		if err != nil {
			return err
		}
		if !sameRequest(r, read) {
			return errStaleMail
		}
		inviter := v.Membership.ID
		if err := s.decideRequest(tx, r.ID, AccessGranted, &inviter); err != nil {
			return err
		}
		var login Login
		err = tx.Take(&login, "id = ?", r.LoginID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Errorf(Gone, "The person who asked no longer has a login.")
		}
		if err != nil {
			return fmt.Errorf("find requester: %w", err)
		}
		var existing int64
		if err := tx.Model(&Membership{}).Where("account_id = ? AND email = ?", v.Account.ID, login.Email).Count(&existing).Error; err != nil {
			return fmt.Errorf("check membership: %w", err)
		}
		if existing > 0 {
			return Errorf(Conflict, "%s is already a user of this account.", login.Email)
		}
		now := s.Now()
		m = Membership{AccountID: v.Account.ID, FirstName: r.FirstName, LastName: r.LastName, Email: login.Email,
			SortName: sortName(r.FirstName, r.LastName), Type: in.Type, Status: MemberActive, InvitedByID: &inviter,
			InvitedAt: &now, ActivatedAt: &now, CreatedAt: now, UpdatedAt: now}
		if in.Type.CanLogIn() {
			m.LoginID = &login.ID
		}
		if err := tx.Create(&m).Error; err != nil {
			return fmt.Errorf("create member: %w", err)
		}
		names, err := assignCompanies(tx, &m, check.Companies, now)
		if err != nil {
			return err
		}
		detail := "Granted access as " + in.Type.Label()
		if len(names) > 0 {
			detail += "; companies: " + strings.Join(names, ", ")
		}
		if err := s.audit(tx, v.Account.ID, v.Actor(ip), "access.granted", &m, detail); err != nil {
			return err
		}
		return s.enqueueMail(tx, &m, "access_granted", mail)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// DeclineAccess refuses a request and tells the requester.
func (s *Store) DeclineAccess(ctx context.Context, v *Viewer, id uint, ip string) (*AccessRequest, error) {
	if !CanManageUsers(v.Type()) {
		// Requests to the account are in its Admins' scope only (policy.go).
		return nil, ErrNotFound()
	}
	var req, read *AccessRequest
	var mail Mail
	compose := func() error {
		var err error
		if read, err = s.incomingRequest(s.db.WithContext(ctx), v, id); err != nil {
			return err
		}
		if mail, err = s.mail.AccessDeclined(AccessMail{Request: *read, AccountName: v.Account.Name, ActorName: v.Membership.FullName()}); err != nil {
			return fmt.Errorf("compose access declined email: %w", err)
		}
		return nil
	}
	err := s.mailed(ctx, compose, func(tx *gorm.DB) error {
		r, err := s.incomingRequest(tx, v, id)
		if err != nil {
			return err
		}
		if !sameRequest(r, read) {
			return errStaleMail
		}
		decider := v.Membership.ID
		if err := s.decideRequest(tx, r.ID, AccessDeclined, &decider); err != nil {
			return err
		}
		req = r
		if err := s.audit(tx, v.Account.ID, v.Actor(ip), "access.declined", nil,
			fmt.Sprintf("Declined %s <%s>", r.RequesterName(), r.RequesterEmail)); err != nil {
			return err
		}
		account := v.Account.ID
		return s.enqueueEmail(tx, &OutboxMessage{AccountID: &account, Kind: "access_declined", ToAddress: r.RequesterEmail,
			ToName: r.RequesterName(), Subject: mail.Subject, TextBody: mail.Text, HTMLBody: mail.HTML,
			ReplyToName: mail.ReplyTo.Name, ReplyToAddress: mail.ReplyTo.Email})
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// sameRequest reports whether what an email says of a request is as it was.
func sameRequest(a, b *AccessRequest) bool {
	return a.ID == b.ID && a.RequesterEmail == b.RequesterEmail && a.FirstName == b.FirstName && a.LastName == b.LastName &&
		a.Note == b.Note && a.Status == b.Status
}

// AccountChoice is one account a login may work in.
type AccountChoice struct {
	Membership Membership
	Account    Account
}

// AccountsOf lists the accounts the viewer's login may log in to.
func (s *Store) AccountsOf(ctx context.Context, v *Viewer) ([]AccountChoice, error) {
	var ms []Membership
	err := loginMemberships(s.db.WithContext(ctx), v.Login.ID).Preload("Account").
		Order("accounts.name, accounts.id").Find(&ms).Error
	if err != nil {
		return nil, fmt.Errorf("accounts of login: %w", err)
	}
	out := make([]AccountChoice, 0, len(ms))
	for _, m := range ms {
		out = append(out, AccountChoice{Membership: m, Account: *m.Account})
	}
	return out, nil
}

// SwitchAccount moves the viewer's session to another of their memberships.
func (s *Store) SwitchAccount(ctx context.Context, v *Viewer, membershipID uint) (*AccountChoice, error) {
	choices, err := s.AccountsOf(ctx, v)
	if err != nil {
		return nil, err
	}
	for _, c := range choices {
		if c.Membership.ID != membershipID {
			continue
		}
		err := s.tx(ctx, func(tx *gorm.DB) error {
			return tx.Model(&Session{}).Where("id = ? AND login_id = ?", v.SessionID, v.Login.ID).
				Update("membership_id", membershipID).Error
		})
		if err != nil {
			return nil, fmt.Errorf("switch account: %w", err)
		}
		return &c, nil
	}
	return nil, ErrNotFound()
}

// LeaveAccount removes the viewer from the account in use, unless they are
// its last active Admin. It returns the membership to continue in, or nil
// when none is left (the login is then removed too).
func (s *Store) LeaveAccount(ctx context.Context, v *Viewer, ip string) (*Membership, error) {
	var next *Membership
	err := s.tx(ctx, func(tx *gorm.DB) error {
		account, err := s.lockAccount(tx, v.Account.ID)
		if err != nil {
			return err
		}
		m, err := s.memberOfAccount(tx, v, v.Membership.ID)
		if err != nil {
			return err
		}
		if err := s.ensureAnotherActiveAdmin(tx, account, m); err != nil {
			return err
		}
		if err := s.cancelPendingEmails(tx, m.ID); err != nil {
			return err
		}
		if err := s.audit(tx, account.ID, v.Actor(ip), "member.left", m, "Left "+account.Name); err != nil {
			return err
		}
		if err := s.accessLost(tx, removalChange(m, "left the account"), v.Actor(ip)); err != nil {
			return err
		}
		var other Membership
		err = loginMemberships(tx, v.Login.ID).Where("memberships.id <> ?", m.ID).
			Order("memberships.last_active_at DESC, memberships.id").Take(&other).Error
		switch {
		case err == nil:
			next = &other
			// Carry this browser's session over before the membership (and
			// with it, by cascade, its sessions) goes.
			if err := tx.Model(&Session{}).Where("id = ?", v.SessionID).Update("membership_id", other.ID).Error; err != nil {
				return fmt.Errorf("move session: %w", err)
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("find another account: %w", err)
		}
		if err := tx.Delete(&Membership{}, m.ID).Error; err != nil {
			return fmt.Errorf("leave account: %w", err)
		}
		if next != nil {
			return nil
		}
		return dropUnusedLogin(tx, &v.Login.ID)
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// loginMemberships scopes to the memberships a login may sign in to: active,
// not Notification-only, in an account that is not closed. Login, the
// account switcher, leaving and password resets all ask the same question.
func loginMemberships(db *gorm.DB, loginID uint) *gorm.DB {
	return db.Model(&Membership{}).Joins("JOIN accounts ON accounts.id = memberships.account_id").
		Where("memberships.login_id = ? AND "+loginMembershipSQL, slices.Concat([]any{loginID}, loginMembershipArgs)...)
}

// loginMembershipSQL is that rule as SQL over memberships joined with
// accounts (the viewer snapshot counts with it, session.go).
const loginMembershipSQL = "memberships.status = ? AND memberships.type <> ? AND accounts.status <> ?"

var loginMembershipArgs = []any{MemberActive, Notification, AccountClosed}

// CountAccountsOf counts the accounts the viewer's login may log in to
// (for the header's account switcher).
func (s *Store) CountAccountsOf(ctx context.Context, v *Viewer) (int64, error) {
	sn, err := s.snapshot(ctx, v)
	return sn.accounts, err
}

// IsLastActiveAdmin tells whether the viewer is the last active Admin of
// the account in use (pages say so before anyone tries to leave).
func (s *Store) IsLastActiveAdmin(ctx context.Context, v *Viewer) (bool, error) {
	return s.isLastActiveAdmin(s.db.WithContext(ctx), &v.Membership)
}
