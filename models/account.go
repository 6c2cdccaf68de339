package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Default lifetimes of links.
const (
	SetupLinkTTL      = 24 * time.Hour
	InvitationLinkTTL = 7 * 24 * time.Hour
)

// Actor is who makes a change, for the audit log.
type Actor struct {
	MembershipID *uint
	Name         string
	IP           string
}

// SystemActor is the console itself (first start, bootstrap).
var SystemActor = Actor{Name: "Switchboard"}

func (s *Store) audit(tx *gorm.DB, accountID uint, actor Actor, action string, target *Membership, detail string) error {
	return s.Audit(tx, AuditRecord{AccountID: accountID, Actor: actor, Action: action, Target: target, Detail: detail})
}

// AuditRecord is one event for the audit log. Target names a person of the
// account; TargetName names anything else (a tracking number, a call).
type AuditRecord struct {
	AccountID  uint
	Actor      Actor
	Action     string
	Target     *Membership
	TargetName string
	Detail     string
}

// Audit writes an event in the transaction of the change it records. The
// areas write theirs with it too, so the account has one audit log.
func (s *Store) Audit(tx *gorm.DB, r AuditRecord) error {
	ev := s.auditEvent(r)
	if err := tx.Create(&ev).Error; err != nil {
		return fmt.Errorf("record audit event %s: %w", r.Action, err)
	}
	return nil
}

// auditEvent is the row Audit writes for r.
func (s *Store) auditEvent(r AuditRecord) AuditEvent {
	// Details list companies and can outgrow the column: they are cut, the
	// change itself is never refused for it.
	ev := AuditEvent{AccountID: &r.AccountID, ActorID: r.Actor.MembershipID, ActorName: truncateText(r.Actor.Name, 201),
		Action: r.Action, TargetName: truncateText(r.TargetName, 201), Detail: truncateText(r.Detail, 500),
		IP: truncateText(r.Actor.IP, 64), CreatedAt: s.Now()}
	if r.Target != nil {
		id := r.Target.ID
		ev.TargetID = &id
		ev.TargetName = truncateText(r.Target.FullName()+" <"+r.Target.Email+">", 201)
	}
	return ev
}

// IssueSetupLink returns a new first-start secret when the database is empty
// (and "" otherwise). Earlier setup links are revoked: only the hash was kept,
// so a restarted server cannot print the old one again.
func (s *Store) IssueSetupLink(ctx context.Context) (string, error) {
	var secret string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Account{}).Count(&n).Error; err != nil {
			return fmt.Errorf("count accounts: %w", err)
		}
		if n > 0 {
			return nil
		}
		now := s.Now()
		if err := tx.Model(&Token{}).Where("purpose = ? AND used_at IS NULL AND revoked_at IS NULL", PurposeSetup).
			Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("revoke earlier setup links: %w", err)
		}
		var err error
		secret, _, err = s.issueToken(tx, PurposeSetup, nil, nil, nil, SetupLinkTTL)
		return err
	})
	return secret, err
}

// CheckSetupLink tells whether a first-start link can still be used.
func (s *Store) CheckSetupLink(ctx context.Context, secret string) error {
	_, err := s.findToken(s.db.WithContext(ctx), secret, PurposeSetup)
	return err
}

// SetupInput is the first-start form.
type SetupInput struct {
	AccountName, CompanyName, TimeZone string
	FirstName, LastName, Email         string
	Password, Confirm                  string
}

// AccountInput is what creating an account needs, from either first start
// or the bootstrap command.
type AccountInput struct {
	AccountName, CompanyName, TimeZone string
	FirstName, LastName, Email         string
}

func (in *AccountInput) clean(fields map[string]string) {
	var err error
	if in.AccountName, err = CleanName(in.AccountName, "Account name", MaxCompanyLength); err != nil {
		fields["account_name"] = ErrorMessage(err)
	}
	if in.CompanyName, err = CleanName(in.CompanyName, "Company name", MaxCompanyLength); err != nil {
		fields["company_name"] = ErrorMessage(err)
	}
	if in.TimeZone, err = CleanTimeZone(in.TimeZone); err != nil {
		fields["time_zone"] = ErrorMessage(err)
	}
	if in.FirstName, err = CleanName(in.FirstName, "First name", MaxNameLength); err != nil {
		fields["first_name"] = ErrorMessage(err)
	}
	if in.LastName, err = CleanName(in.LastName, "Last name", MaxNameLength); err != nil {
		fields["last_name"] = ErrorMessage(err)
	}
	if in.Email, err = CanonicalEmail(in.Email); err != nil {
		fields["email"] = ErrorMessage(err)
	}
}

// CompleteSetup creates the account, its first company and its first Admin
// from the first-start form, using the setup link once. It returns the new
// Admin, ready to be logged in.
func (s *Store) CompleteSetup(ctx context.Context, secret string, in SetupInput) (*Membership, error) {
	if err := s.CheckSetupLink(ctx, secret); err != nil {
		return nil, err
	}
	acct := AccountInput{in.AccountName, in.CompanyName, in.TimeZone, in.FirstName, in.LastName, in.Email}
	fields := map[string]string{}
	acct.clean(fields)
	if err := ValidatePassword(in.Password, in.Confirm); err != nil {
		for k, v := range ErrorFields(err) {
			fields[k] = v
		}
	}
	if len(fields) > 0 {
		return nil, FieldErrors(fields)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	var member *Membership
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.consumeToken(tx, secret, PurposeSetup); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&Account{}).Count(&n).Error; err != nil {
			return fmt.Errorf("count accounts: %w", err)
		}
		if n > 0 {
			return linkUsed()
		}
		now := s.Now()
		login := Login{Email: acct.Email, PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now}
		if err := tx.Create(&login).Error; err != nil {
			return fmt.Errorf("create login: %w", err)
		}
		m, err := s.createAccount(tx, acct, &login.ID)
		if err != nil {
			return err
		}
		member = m
		return s.audit(tx, m.AccountID, Actor{MembershipID: &m.ID, Name: m.FullName()}, "account.created", m,
			fmt.Sprintf("Account %q set up with company %q", acct.AccountName, acct.CompanyName))
	})
	if err != nil {
		return nil, err
	}
	return member, nil
}

// createAccount writes an account, its first company and its first Admin.
// With a login the Admin is active; without one they are invited.
func (s *Store) createAccount(tx *gorm.DB, in AccountInput, loginID *uint) (*Membership, error) {
	now := s.Now()
	number, err := s.newAccountNumber(tx)
	if err != nil {
		return nil, err
	}
	account := Account{Number: number, Name: in.AccountName, Status: AccountActive, Plan: "standard",
		TimeZone: in.TimeZone, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&account).Error; err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	company := Company{AccountID: account.ID, Name: in.CompanyName, Status: CompanyActive, TimeZone: in.TimeZone, CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&company).Error; err != nil {
		return nil, fmt.Errorf("create company: %w", err)
	}
	m := Membership{AccountID: account.ID, LoginID: loginID, FirstName: in.FirstName, LastName: in.LastName,
		Email: in.Email, SortName: sortName(in.FirstName, in.LastName), Type: Admin, Status: MemberInvited,
		InvitedAt: &now, InvoiceEmails: true, CreatedAt: now, UpdatedAt: now}
	if loginID != nil {
		m.Status = MemberActive
		m.ActivatedAt = &now
	}
	if err := tx.Create(&m).Error; err != nil {
		return nil, fmt.Errorf("create first admin: %w", err)
	}
	m.Account = &account
	return &m, nil
}

// newAccountNumber picks the public number people give to ask for access:
// ten digits, random so that numbers say nothing about the number of tenants.
func (s *Store) newAccountNumber(tx *gorm.DB) (string, error) {
	for range 10 {
		n, err := rand.Int(rand.Reader, big.NewInt(9_000_000_000))
		if err != nil {
			return "", fmt.Errorf("account number: %w", err)
		}
		number := fmt.Sprintf("%d", 1_000_000_000+n.Int64())
		var count int64
		if err := tx.Model(&Account{}).Where("number = ?", number).Count(&count).Error; err != nil {
			return "", fmt.Errorf("account number: %w", err)
		}
		if count == 0 {
			return number, nil
		}
	}
	return "", errors.New("account number: no free number after 10 tries")
}

// Bootstrap creates an account, a first company named after it and its
// first Admin as an invitee, and returns the secret of that Admin's
// set-password link. It is the non-interactive first start.
func (s *Store) Bootstrap(ctx context.Context, in AccountInput) (string, error) {
	r, err := s.BootstrapAccount(ctx, in)
	if err != nil {
		return "", err
	}
	return r.Secret, nil
}

// BootstrapResult is what BootstrapAccount did.
type BootstrapResult struct {
	// Secret is the first Admin's set-password link's secret.
	Secret string
	// Reissued is set when the account already existed from an earlier
	// run, its first Admin had not set a password yet, and the earlier
	// link was replaced by this one; nothing else was created.
	Reissued bool
}

// BootstrapAccount is Bootstrap, saying whether it created the account or
// only replaced the link of an earlier run whose Admin never got in (an
// operator who lost the link runs the same command again, and must not end
// up with two accounts of the same name). An address that already has a
// login is refused: bootstrap makes new people only.
func (s *Store) BootstrapAccount(ctx context.Context, in AccountInput) (*BootstrapResult, error) {
	if strings.TrimSpace(in.CompanyName) == "" {
		in.CompanyName = in.AccountName
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	fields := map[string]string{}
	in.clean(fields)
	if len(fields) > 0 {
		var msgs []string
		for k, v := range fields {
			msgs = append(msgs, k+": "+v)
		}
		sort.Strings(msgs)
		return nil, &Error{Code: Invalid, Message: strings.Join(msgs, "; "), Fields: fields}
	}
	out := &BootstrapResult{}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Login{}).Where("email = ?", in.Email).Count(&n).Error; err != nil {
			return fmt.Errorf("check email: %w", err)
		}
		if n > 0 {
			return Errorf(Conflict, "%s already has a Switchboard login, and bootstrap only creates new people. Give the new account's first Admin another address.", in.Email)
		}
		var earlier []Membership
		if err := tx.Joins("JOIN accounts ON accounts.id = memberships.account_id").
			Where("memberships.email = ? AND accounts.name = ?", in.Email, in.AccountName).
			Order("memberships.id").Find(&earlier).Error; err != nil {
			return fmt.Errorf("check earlier bootstrap: %w", err)
		}
		for _, m := range earlier {
			if m.Type != Admin || m.Status != MemberInvited || m.LoginID != nil {
				return Errorf(Conflict, "%s is already in an account named %q. Choose another account name.", in.Email, in.AccountName)
			}
		}
		if len(earlier) > 0 {
			// The oldest, should an earlier version have made several.
			m := &earlier[0]
			var err error
			out.Secret, _, err = s.issueToken(tx, PurposeInvitation, &m.AccountID, &m.ID, nil, InvitationLinkTTL)
			if err != nil {
				return err
			}
			out.Reissued = true
			return s.audit(tx, m.AccountID, SystemActor, "invitation.resent", m, "New set-password link from bootstrap; the earlier one no longer works")
		}
		m, err := s.createAccount(tx, in, nil)
		if err != nil {
			return err
		}
		out.Secret, _, err = s.issueToken(tx, PurposeInvitation, &m.AccountID, &m.ID, nil, InvitationLinkTTL)
		if err != nil {
			return err
		}
		return s.audit(tx, m.AccountID, SystemActor, "account.created", m,
			fmt.Sprintf("Account %q bootstrapped; first Admin invited", in.AccountName))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FindAccount returns an account by ID.
func (s *Store) FindAccount(ctx context.Context, id uint) (*Account, error) {
	var a Account
	err := s.db.WithContext(ctx).Take(&a, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}
	return &a, nil
}
