package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Changes to a person (Edit User, promote, demote, disable, enable, delete)
// all run through memberChange: one transaction that locks the account row,
// checks again that the actor is still an active Admin, and loads the person
// by (account, id). The last-Admin rule (ensureAnotherActiveAdmin) is asked
// inside that same transaction, so two Admins acting at the same moment are
// serialised and cannot both remove "the other" Admin.

// MemberDetail is everything the Edit User page shows about a person.
type MemberDetail struct {
	Member Membership
	// Companies are the person's active companies, A → Z (none for Admins).
	Companies []Company
	// Addable are the active companies they could be added to.
	Addable    []Company
	Invitation *InvitationState
	// Events are the newest audit events by or about the person.
	Events []AuditEvent
	// Plans are the type changes offered, higher types first.
	Plans []TypePlan
	// Self: the viewer is looking at themselves.
	Self bool
	// LastActiveAdmin: the person is the account's only active Admin, so
	// they cannot be demoted, disabled or deleted.
	LastActiveAdmin bool
	// EmailEditable: a pending invitee's address can still be corrected;
	// an active member's address is their login and only they change it.
	EmailEditable bool
	// EmailProblem is set when an email to the person keeps failing.
	EmailProblem *EmailProblem
	// LoginThrottle is how failed logins slow down or lock the person's
	// login (nil for someone without a login).
	LoginThrottle *LoginThrottle
}

// TypePlan says what moving a person to another type means, from the one
// permission table: what they gain or lose and what else happens.
type TypePlan struct {
	Member   Membership
	From, To UserType
	Gained   []string
	Lost     []string
	// SendsInvitation: a Notification user gets a login, through an
	// invitation to set their password.
	SendsInvitation bool
	// EndsLogin: the move to Notification ends their login to this account.
	EndsLogin bool
	// NeedsCompanies: an Admin moved to a company-scoped type must be given
	// at least one company; Companies are the choices.
	NeedsCompanies bool
	Companies      []Company
	// DropsCompanies: a move to Admin replaces their assignments with
	// every company.
	DropsCompanies bool
	Self           bool
}

// Promotion reports whether the move is to a type with more access.
func (p TypePlan) Promotion() bool { return p.To.Rank() > p.From.Rank() }

// PlanTypeChange describes moving m to type to. It reads nothing from the
// database; TypeChangePlan adds the company choices.
func PlanTypeChange(m Membership, to UserType) TypePlan {
	return TypePlan{
		Member: m, From: m.Type, To: to,
		Gained: Gained(m.Type, to), Lost: Lost(m.Type, to),
		SendsInvitation: !m.Type.CanLogIn() && to.CanLogIn(),
		EndsLogin:       m.Type.CanLogIn() && !to.CanLogIn(),
		NeedsCompanies:  m.Type.SeesAllCompanies() && !to.SeesAllCompanies(),
		DropsCompanies:  !m.Type.SeesAllCompanies() && to.SeesAllCompanies(),
	}
}

// editableMember finds a person the viewer may see (404 otherwise) and
// checks that the viewer may edit people (403 otherwise): "visible, but not
// theirs to do" is a different answer from "not theirs to see".
func (s *Store) editableMember(ctx context.Context, v *Viewer, id uint, what string) (*Membership, error) {
	m, err := s.FindMember(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if !CanEditMember(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins can %s.", what)
	}
	return m, nil
}

// EditableMember returns a person the viewer may edit: 404 when the viewer
// may not see them, 403 when they may see but not edit them.
func (s *Store) EditableMember(ctx context.Context, v *Viewer, id uint) (*Membership, error) {
	return s.editableMember(ctx, v, id, "edit users")
}

// MemberForEdit gathers the Edit User page of a person.
func (s *Store) MemberForEdit(ctx context.Context, v *Viewer, id uint) (*MemberDetail, error) {
	m, err := s.editableMember(ctx, v, id, "edit users")
	if err != nil {
		return nil, err
	}
	d := &MemberDetail{Member: *m, Self: m.ID == v.Membership.ID,
		EmailEditable: emailEditable(m)}
	if !m.Type.SeesAllCompanies() {
		if d.Companies, err = s.CompaniesOf(ctx, m); err != nil {
			return nil, err
		}
		all, err := s.VisibleCompanies(ctx, v)
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if !slices.ContainsFunc(d.Companies, func(a Company) bool { return a.ID == c.ID }) {
				d.Addable = append(d.Addable, c)
			}
		}
	}
	if d.Invitation, err = s.InvitationStateOf(ctx, m); err != nil {
		return nil, err
	}
	if d.Events, err = s.RecentEventsOf(ctx, v, m.ID, 10); err != nil {
		return nil, err
	}
	if d.EmailProblem, err = s.emailProblemOf(ctx, v, m); err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	if d.LastActiveAdmin, err = s.isLastActiveAdmin(db, m); err != nil {
		return nil, err
	}
	if m.LoginID != nil {
		if d.LoginThrottle, err = s.loginThrottleOf(db, m.Email); err != nil {
			return nil, err
		}
	}
	for _, to := range append(HigherTypes(m.Type), LowerTypes(m.Type)...) {
		p := PlanTypeChange(*m, to)
		p.Self = d.Self
		d.Plans = append(d.Plans, p)
	}
	if slices.ContainsFunc(d.Plans, func(p TypePlan) bool { return p.NeedsCompanies }) {
		companies, err := s.VisibleCompanies(ctx, v)
		if err != nil {
			return nil, err
		}
		for i := range d.Plans {
			if d.Plans[i].NeedsCompanies {
				d.Plans[i].Companies = companies
			}
		}
	}
	return d, nil
}

// TypeChangePlan is the confirmation of one type change (the page behind
// the promote and demote dialogs).
func (s *Store) TypeChangePlan(ctx context.Context, v *Viewer, id uint, to UserType) (*TypePlan, error) {
	m, err := s.editableMember(ctx, v, id, "change a user's type")
	if err != nil {
		return nil, err
	}
	if err := checkTypeChange(v, m, to); err != nil {
		return nil, err
	}
	// Say at once when the change would be refused, before anyone fills
	// in the form.
	if err := s.ensureAnotherActiveAdmin(s.db.WithContext(ctx), &v.Account, m); err != nil {
		return nil, err
	}
	p := PlanTypeChange(*m, to)
	p.Self = m.ID == v.Membership.ID
	if p.NeedsCompanies {
		if p.Companies, err = s.VisibleCompanies(ctx, v); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// CheckTypeChangeInput checks the form of a type change against its plan:
// the personal message, and the companies an Admin moving to a
// company-scoped type must be given. The companies themselves are checked
// again in ChangeType's transaction.
func CheckTypeChangeInput(p TypePlan, in TypeChangeInput) map[string]string {
	fields := map[string]string{}
	if _, err := CleanMessage(in.Message); err != nil && p.SendsInvitation {
		fields["message"] = ErrorMessage(err)
	}
	if p.NeedsCompanies && len(in.CompanyIDs) == 0 {
		fields["companies"] = fmt.Sprintf("Choose at least one company %s will see as %s user.", p.Member.FirstName, p.To.WithArticle())
	}
	if len(fields) == 0 {
		return nil
	}
	return fields
}

func checkTypeChange(v *Viewer, m *Membership, to UserType) error {
	if _, err := ParseUserType(string(to)); err != nil {
		return err
	}
	if m.Type == to {
		return Errorf(Conflict, "%s is already %s user.", m.FullName(), to.WithArticle())
	}
	if !CanChangeType(v.Type(), m.Type, to) {
		return Errorf(Forbidden, "Only Admins can change a user's type.")
	}
	if m.Status == MemberDisabled {
		return &Error{Code: Conflict, Title: "This user is disabled",
			Message: fmt.Sprintf("%s is disabled. Re-enable them before changing their type.", m.FullName())}
	}
	return nil
}

// emailEditable: an Admin may correct a pending invitee's address (no
// password is tied to it yet) and a Notification user's (they have no
// login; it is only where their emails go). An active member's address is
// their login, which only they change.
func emailEditable(m *Membership) bool {
	if !m.Type.CanLogIn() {
		return true
	}
	return m.Status == MemberInvited && m.LoginID == nil
}

// lockAccount takes the account's row lock for the rest of the transaction,
// so that every change that could take an Admin away runs one at a time per
// account. On PostgreSQL this is SELECT … FOR UPDATE; on SQLite the
// transaction is IMMEDIATE (see sqliteDSN), which already holds the one
// write lock, and the driver leaves the FOR UPDATE out.
func (s *Store) lockAccount(tx *gorm.DB, accountID uint) (*Account, error) {
	var a Account
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", accountID).Take(&a).Error
	if err != nil {
		return nil, fmt.Errorf("lock account: %w", err)
	}
	return &a, nil
}

// ensureAnotherActiveAdmin is the one last-Admin check. Every path that can
// take an Admin away (delete, disable, demote, and leaving an account)
// calls it inside its transaction, after lockAccount, before the change: if
// m is an active Admin, some other active Admin must remain.
func (s *Store) ensureAnotherActiveAdmin(tx *gorm.DB, account *Account, m *Membership) error {
	last, err := s.isLastActiveAdmin(tx, m)
	if err != nil {
		return err
	}
	if last {
		return LastAdminError(m, account.Name)
	}
	return nil
}

// LastAdminError says why the last active Admin cannot be taken away.
func LastAdminError(m *Membership, account string) *Error {
	return &Error{Code: Conflict, Title: "The account needs an active Admin",
		Message: fmt.Sprintf("%s is the last active Admin of %s; make someone else an Admin first.", m.FullName(), account)}
}

// SoleCompany is the person's only active company, if they have exactly
// one (Store.SoleCompany's rule; Companies are the active ones), else 0.
func (d *MemberDetail) SoleCompany() uint {
	if len(d.Companies) != 1 {
		return 0
	}
	return d.Companies[0].ID
}

// isActiveAdmin: what the account must keep one of.
func isActiveAdmin(m *Membership) bool { return m.Type == Admin && m.Status == MemberActive }

func (s *Store) isLastActiveAdmin(db *gorm.DB, m *Membership) (bool, error) {
	if !isActiveAdmin(m) {
		return false, nil
	}
	var others int64
	err := db.Model(&Membership{}).
		Where("account_id = ? AND type = ? AND status = ? AND id <> ?", m.AccountID, Admin, MemberActive, m.ID).
		Count(&others).Error
	if err != nil {
		return false, fmt.Errorf("count active admins: %w", err)
	}
	return others == 0, nil
}

// memberChange runs fn in one transaction with the account locked, the
// actor checked again (an Admin demoted or removed a moment ago acts no
// more) and the person loaded by (account, id).
func (s *Store) memberChange(ctx context.Context, v *Viewer, id uint, what string, fn func(tx *gorm.DB, account *Account, m *Membership) error) error {
	return s.mailedMemberChange(ctx, v, id, what, nil, fn)
}

// mailedMemberChange is memberChange for a change that sends email (mailed,
// mail.go): compose builds the email from the person as read before the
// transaction, and if what it says of them differs from what fn finds,
// both run again.
func (s *Store) mailedMemberChange(ctx context.Context, v *Viewer, id uint, what string, compose func(read *Membership) error,
	fn func(tx *gorm.DB, account *Account, m *Membership) error) error {
	read, err := s.editableMember(ctx, v, id, what)
	if err != nil {
		return err
	}
	change := func(tx *gorm.DB) error {
		account, err := s.lockAccount(tx, v.Account.ID)
		if err != nil {
			return err
		}
		var actor Membership
		err = tx.Where("account_id = ? AND id = ?", v.Account.ID, v.Membership.ID).Take(&actor).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("reload actor: %w", err)
		}
		if err != nil || actor.Status != MemberActive || !CanEditMember(actor.Type) {
			return &Error{Code: Forbidden, Title: "Your access changed",
				Message: fmt.Sprintf("Only Admins can %s, and you are no longer an active Admin of %s.", what, account.Name)}
		}
		m, err := s.memberOfAccount(tx, v, id)
		if err != nil {
			return err
		}
		if compose != nil && !sameForMail(read, m) {
			return errStaleMail
		}
		return fn(tx, account, m)
	}
	if compose == nil {
		return s.tx(ctx, change)
	}
	first := true
	return s.mailed(ctx, func() error {
		if !first {
			if read, err = s.editableMember(ctx, v, id, what); err != nil {
				return err
			}
		}
		first = false
		return compose(read)
	}, change)
}

// endSessions logs a person out of this account everywhere.
func endSessions(tx *gorm.DB, memberID uint) error {
	if err := tx.Where("membership_id = ?", memberID).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// revokeInvitations kills a person's unused invitation links.
func (s *Store) revokeInvitations(tx *gorm.DB, memberID uint) error {
	err := tx.Model(&Token{}).Where("membership_id = ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", memberID, PurposeInvitation).
		Update("revoked_at", s.Now()).Error
	if err != nil {
		return fmt.Errorf("revoke invitations: %w", err)
	}
	return nil
}

// dropUnusedLogin deletes a login that no membership uses any more, so the
// address is free to be invited again anywhere (a login is one per address
// across the system).
func dropUnusedLogin(tx *gorm.DB, loginID *uint) error {
	if loginID == nil {
		return nil
	}
	var n int64
	if err := tx.Model(&Membership{}).Where("login_id = ?", *loginID).Count(&n).Error; err != nil {
		return fmt.Errorf("count memberships of login: %w", err)
	}
	if n > 0 {
		return nil
	}
	if err := tx.Where("id = ?", *loginID).Delete(&Login{}).Error; err != nil {
		return fmt.Errorf("delete unused login: %w", err)
	}
	return nil
}

// TypeChangeInput is what a promote or demote confirmation sends.
type TypeChangeInput struct {
	To UserType
	// Message goes with the invitation of a Notification user who gets a login.
	Message string
	// CompanyIDs are required when an Admin moves to a company-scoped type.
	CompanyIDs []uint
}

// TypeChange is what a type change did.
type TypeChange struct {
	Member   Membership
	From, To UserType
	// Invited: an invitation to set a password went out.
	Invited bool
	// LoginEnded: their login to this account and its sessions ended.
	LoginEnded bool
}

// ChangeType promotes or demotes a person. It takes effect at their next
// request (LoadViewer reads the type every time). Promoting a Notification
// user invites them to set a password; a move to Notification ends their
// login to this account and their sessions in it. Moving an Admin to a
// company-scoped type needs at least one company (an Admin has no
// assignments to fall back on, and nobody can assign companies to an
// Admin, so the choice is made in the same step); a move to Admin deletes
// the person's assignments, which an Admin does not need.
func (s *Store) ChangeType(ctx context.Context, v *Viewer, id uint, in TypeChangeInput, ip string) (*TypeChange, error) {
	if _, err := ParseUserType(string(in.To)); err != nil {
		return nil, err
	}
	var out *TypeChange
	var plan TypePlan
	var chosen []Company
	var inv *invitation
	var notice Mail
	// The checks that need no lock, and the email, come first.
	compose := func(m *Membership) error {
		if err := checkTypeChange(v, m, in.To); err != nil {
			return err
		}
		plan = PlanTypeChange(*m, in.To)
		if fields := CheckTypeChangeInput(plan, in); fields != nil {
			return FieldErrors(fields)
		}
		chosen = nil
		if plan.NeedsCompanies {
			check := &DraftCheck{Fields: map[string]string{}}
			if err := s.checkCompanies(ctx, v, in.CompanyIDs, check); err != nil {
				return err
			}
			if msg := check.Fields["companies"]; msg != "" {
				return FieldErrors(map[string]string{"companies": msg})
			}
			chosen = check.Companies
		}
		will := *m
		will.Type = in.To
		var err error
		if plan.SendsInvitation {
			// The invitation names the new type: it is their "your type
			// changed" email, and one email says it better than two.
			message, _ := CleanMessage(in.Message)
			will.Status = MemberInvited
			inv, err = s.composeInvitation(s.db.WithContext(ctx), inviterOf(v), will, message)
			return err
		}
		if notice, err = s.mail.TypeChanged(TypeChangedMail{Member: will, ActorName: v.Membership.FullName(), ActorEmail: v.Membership.Email,
			AccountName: v.Account.Name, From: m.Type, To: in.To, Gained: plan.Gained, Lost: plan.Lost}); err != nil {
			return fmt.Errorf("compose type-changed email: %w", err)
		}
		return nil
	}
	err := s.mailedMemberChange(ctx, v, id, "change a user's type", compose, func(tx *gorm.DB, account *Account, m *Membership) error {
		// Only a demotion can take an Admin away (Admin is the top type),
		// but asking on every change keeps the rule in one place.
		if err := s.ensureAnotherActiveAdmin(tx, account, m); err != nil {
			return err
		}
		if plan.SendsInvitation {
			var logins int64
			if err := tx.Model(&Login{}).Where("email = ?", m.Email).Count(&logins).Error; err != nil {
				return fmt.Errorf("check login: %w", err)
			}
			if logins > 0 {
				return &Error{Code: Conflict, Title: "This address already has a login",
					Message: fmt.Sprintf("%s already has a Switchboard login for another account, so an invitation could not be accepted. Ask them to log in and request access to %s instead.", m.Email, account.Name)}
			}
		}

		// The areas follow the new type (a Notification user leaves the
		// ring groups…) in this same transaction, before the row changes.
		var chosenIDs []uint
		for _, c := range chosen {
			chosenIDs = append(chosenIDs, c.ID)
		}
		change, err := typeChange(tx, m, in.To, chosenIDs)
		if err != nil {
			return err
		}
		if err := s.accessLost(tx, change, v.Actor(ip)); err != nil {
			return err
		}

		now := s.Now()
		from := m.Type
		updates := map[string]any{"type": in.To, "updated_at": now}
		details := []string{from.Label() + " → " + in.To.Label()}
		if !GetsInvoiceEmails(in.To) && m.InvoiceEmails {
			updates["invoice_emails"] = false
			m.InvoiceEmails = false
		}
		out = &TypeChange{From: from, To: in.To}
		switch {
		case plan.SendsInvitation:
			inviter := v.Membership.ID
			updates["status"], updates["invited_at"], updates["invited_by_id"], updates["activated_at"] = MemberInvited, now, inviter, nil
			m.Status, m.InvitedAt, m.InvitedByID, m.ActivatedAt = MemberInvited, &now, &inviter, nil
			out.Invited = true
			details = append(details, "invitation sent")
		case plan.EndsLogin:
			// Active for emails only: no login, no link, no session here.
			updates["login_id"], updates["status"] = nil, MemberActive
			if m.ActivatedAt == nil {
				updates["activated_at"] = now
				m.ActivatedAt = &now
			}
			out.LoginEnded = true
			details = append(details, "login ended")
		}
		if err := tx.Model(&Membership{}).Where("id = ?", m.ID).Updates(updates).Error; err != nil {
			return fmt.Errorf("change type: %w", err)
		}
		m.Type = in.To
		if plan.EndsLogin {
			if err := endSessions(tx, m.ID); err != nil {
				return err
			}
			if err := s.revokeInvitations(tx, m.ID); err != nil {
				return err
			}
			if err := s.cancelPendingEmails(tx, m.ID, "invitation"); err != nil {
				return err
			}
			if err := dropUnusedLogin(tx, m.LoginID); err != nil {
				return err
			}
			m.LoginID = nil
			m.Status = MemberActive
		}
		if plan.DropsCompanies {
			names, err := companyNamesOf(tx, m.ID)
			if err != nil {
				return err
			}
			if err := tx.Where("membership_id = ?", m.ID).Delete(&Assignment{}).Error; err != nil {
				return fmt.Errorf("clear assignments: %w", err)
			}
			if len(names) > 0 {
				details = append(details, "sees every company (was: "+strings.Join(names, ", ")+")")
			}
		}
		if plan.NeedsCompanies {
			names, err := assignCompanies(tx, m, chosen, now)
			if err != nil {
				return err
			}
			details = append(details, "companies: "+strings.Join(names, ", "))
		}
		action := "member.demoted"
		if plan.Promotion() {
			action = "member.promoted"
		}
		if err := s.audit(tx, account.ID, v.Actor(ip), action, m, strings.Join(details, "; ")); err != nil {
			return err
		}
		if plan.SendsInvitation {
			if err := s.sendInvitation(tx, m, inv, v.Actor(ip), "invitation.sent", false); err != nil {
				return err
			}
		} else if err := s.enqueueMail(tx, m, "type_changed", notice); err != nil {
			return err
		}
		out.Member = *m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func companyNamesOf(tx *gorm.DB, memberID uint) ([]string, error) {
	var names []string
	err := tx.Table("assignments").Joins("JOIN companies ON companies.id = assignments.company_id").
		Where("assignments.membership_id = ?", memberID).Order("companies.name, companies.id").
		Pluck("companies.name", &names).Error
	if err != nil {
		return nil, fmt.Errorf("companies of member: %w", err)
	}
	return names, nil
}

// DisableMember keeps a person in the list, marked disabled: they cannot log
// in to this account (their sessions end now), their invitation link dies,
// and no email of this account goes to them any more.
func (s *Store) DisableMember(ctx context.Context, v *Viewer, id uint, ip string) (*Membership, error) {
	var out *Membership
	err := s.memberChange(ctx, v, id, "disable users", func(tx *gorm.DB, account *Account, m *Membership) error {
		if m.Status == MemberDisabled {
			return Errorf(Conflict, "%s is already disabled.", m.FullName())
		}
		if err := s.ensureAnotherActiveAdmin(tx, account, m); err != nil {
			return err
		}
		if err := s.accessLost(tx, disableChange(m), v.Actor(ip)); err != nil {
			return err
		}
		was := m.Status
		res := tx.Model(&Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"status": MemberDisabled, "updated_at": s.Now()})
		if res.Error != nil {
			return fmt.Errorf("disable member: %w", res.Error)
		}
		m.Status = MemberDisabled
		if err := endSessions(tx, m.ID); err != nil {
			return err
		}
		if err := s.revokeInvitations(tx, m.ID); err != nil {
			return err
		}
		if err := s.cancelPendingEmails(tx, m.ID); err != nil {
			return err
		}
		out = m
		return s.audit(tx, account.ID, v.Actor(ip), "member.disabled", m, "Status "+string(was)+" → disabled")
	})
	return out, err
}

// EnableMember restores a disabled person. Someone who had set a password
// (or needs none) is active again; an invitee whose link died with the
// disabling is invited again and can be sent a new link.
func (s *Store) EnableMember(ctx context.Context, v *Viewer, id uint, ip string) (*Membership, error) {
	var out *Membership
	err := s.memberChange(ctx, v, id, "re-enable users", func(tx *gorm.DB, account *Account, m *Membership) error {
		if m.Status != MemberDisabled {
			return Errorf(Conflict, "%s is not disabled.", m.FullName())
		}
		status := MemberActive
		if m.Type.CanLogIn() && m.LoginID == nil {
			status = MemberInvited
		}
		res := tx.Model(&Membership{}).Where("id = ?", m.ID).Updates(map[string]any{"status": status, "updated_at": s.Now()})
		if res.Error != nil {
			return fmt.Errorf("enable member: %w", res.Error)
		}
		m.Status = status
		out = m
		return s.audit(tx, account.ID, v.Actor(ip), "member.enabled", m, "Status disabled → "+string(status))
	})
	return out, err
}

// DeleteMember removes a person from the account: the membership row goes
// (its assignments, links and sessions with it, by foreign key), their
// unsent email is cancelled, the audit history stays (events keep names),
// and the address can be invited again. A login no other account uses is
// deleted too.
func (s *Store) DeleteMember(ctx context.Context, v *Viewer, id uint, ip string) (*Membership, error) {
	var out *Membership
	err := s.memberChange(ctx, v, id, "delete users", func(tx *gorm.DB, account *Account, m *Membership) error {
		if err := s.ensureAnotherActiveAdmin(tx, account, m); err != nil {
			return err
		}
		detail := m.Type.Label() + ", " + string(m.Status)
		if err := s.audit(tx, account.ID, v.Actor(ip), "member.deleted", m, detail); err != nil {
			return err
		}
		if err := s.cancelPendingEmails(tx, m.ID); err != nil {
			return err
		}
		if err := s.accessLost(tx, removalChange(m, "deleted"), v.Actor(ip)); err != nil {
			return err
		}
		// Sessions and links cascade with the membership; deleting the
		// sessions first says so plainly and does not lean on it.
		if err := endSessions(tx, m.ID); err != nil {
			return err
		}
		if err := tx.Where("id = ?", m.ID).Delete(&Membership{}).Error; err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		if err := dropUnusedLogin(tx, m.LoginID); err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, err
}

// MemberUpdate is the Edit User form.
type MemberUpdate struct {
	FirstName, LastName string
	// Email is considered only for a pending invitee; nil leaves it.
	Email         *string
	InvoiceEmails bool
}

// MemberUpdated is what UpdateMember changed.
type MemberUpdated struct {
	Member Membership
	// Reinvited: the address was corrected and a new invitation sent.
	Reinvited bool
	// AddressChanged: a Notification user's address changed; both the
	// old and the new address were told.
	AddressChanged bool
	Changed        bool
}

// UpdateMember saves names, the invoice-email opt-in (Admins) and, for a
// pending invitee, a corrected address: the invitation goes again to the
// new address and the old link dies.
func (s *Store) UpdateMember(ctx context.Context, v *Viewer, id uint, in MemberUpdate, ip string) (*MemberUpdated, error) {
	fields := map[string]string{}
	first, err := CleanName(in.FirstName, "First name", MaxNameLength)
	if err != nil {
		fields["first_name"] = ErrorMessage(err)
	}
	last, err := CleanName(in.LastName, "Last name", MaxNameLength)
	if err != nil {
		fields["last_name"] = ErrorMessage(err)
	}
	var email string
	if in.Email != nil {
		if email, err = CanonicalEmail(*in.Email); err != nil {
			fields["email"] = ErrorMessage(err)
		}
	}
	var out *MemberUpdated
	var inv *invitation
	var moved *movedMails
	// A corrected address of an invitee sends the invitation again, to it;
	// a Notification user's new address tells both addresses: built
	// first, from the person as they will be.
	compose := func(m *Membership) error {
		inv, moved = nil, nil
		if in.Email == nil || email == "" || email == m.Email || !emailEditable(m) || len(fields) > 0 {
			return nil
		}
		will := *m
		will.FirstName, will.LastName, will.Email = first, last, email
		var err error
		if m.Type.CanLogIn() {
			inv, err = s.composeInvitation(s.db.WithContext(ctx), inviterOf(v), will, "")
			return err
		}
		moved, err = s.composeAddressChanged(v, m.Email, will)
		return err
	}
	err = s.mailedMemberChange(ctx, v, id, "edit users", compose, func(tx *gorm.DB, account *Account, m *Membership) error {
		if in.Email != nil && email != "" && email != m.Email {
			if !emailEditable(m) {
				fields["email"] = fmt.Sprintf("%s's address is their login; only they can change it.", m.FirstName)
			} else if err := s.checkNewAddress(tx, account.ID, m.ID, email, m.Type.CanLogIn(), fields); err != nil {
				return err
			}
		}
		if len(fields) > 0 {
			return FieldErrors(fields)
		}
		out = &MemberUpdated{}
		now := s.Now()
		updates := map[string]any{}
		var details []string
		if first != m.FirstName || last != m.LastName {
			details = append(details, "Name "+m.FullName()+" → "+first+" "+last)
			updates["first_name"], updates["last_name"], updates["sort_name"] = first, last, sortName(first, last)
		}
		invoice := in.InvoiceEmails && GetsInvoiceEmails(m.Type)
		if invoice != m.InvoiceEmails {
			updates["invoice_emails"] = invoice
			details = append(details, "invoice emails "+onOff(invoice))
		}
		newAddress := in.Email != nil && email != "" && email != m.Email
		// A pending invitee gets the invitation again at the corrected
		// address; a Notification user's address is only where emails go,
		// and both addresses are told.
		reinvite := newAddress && m.Type.CanLogIn()
		if reinvite && inv == nil || newAddress && !reinvite && moved == nil {
			return errors.New("update member: no email was built for the new address")
		}
		if newAddress {
			updates["email"] = email
		}
		if reinvite {
			details = append(details, "email "+m.Email+" → "+email)
		}
		if len(updates) == 0 {
			out.Member = *m
			return nil
		}
		updates["updated_at"] = now
		if err := tx.Model(&Membership{}).Where("id = ?", m.ID).Updates(updates).Error; err != nil {
			return fmt.Errorf("update member: %w", err)
		}
		old := *m
		m.FirstName, m.LastName, m.SortName, m.InvoiceEmails = first, last, sortName(first, last), invoice
		if newAddress {
			m.Email = email
		}
		if len(details) > 0 {
			if err := s.audit(tx, account.ID, v.Actor(ip), "member.updated", &old, strings.Join(details, "; ")); err != nil {
				return err
			}
		}
		if newAddress && !reinvite {
			if err := s.addressChanged(tx, v, account, &old, m, moved, ip); err != nil {
				return err
			}
			out.AddressChanged = true
		}
		if reinvite {
			// Whatever was still waiting for the mistyped address goes
			// nowhere now; the new link revokes the old.
			if err := s.cancelPendingEmails(tx, m.ID); err != nil {
				return err
			}
			if err := s.sendInvitation(tx, m, inv, v.Actor(ip), "invitation.resent", true); err != nil {
				var e *Error
				if errors.As(err, &e) && e.Code == TooManyRequests {
					e.Fields = map[string]string{"email": e.Message}
				}
				return err
			}
			inviter := v.Membership.ID
			if err := tx.Model(&Membership{}).Where("id = ?", m.ID).
				Updates(map[string]any{"invited_at": now, "invited_by_id": inviter}).Error; err != nil {
				return fmt.Errorf("update member: %w", err)
			}
			out.Reinvited = true
		}
		out.Changed = true
		out.Member = *m
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, FieldErrors(map[string]string{"email": "Someone just added this email address to the account."})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// movedMails are the two emails of a Notification user's new address,
// built before the change.
type movedMails struct {
	toOld, toNew Mail
}

// composeAddressChanged renders what the old and the new address of m (as
// they will be) are told.
func (s *Store) composeAddressChanged(v *Viewer, oldEmail string, m Membership) (*movedMails, error) {
	in := AddressChangedMail{Member: m, OldEmail: oldEmail, NewEmail: m.Email, ActorName: v.Membership.FullName(),
		ActorEmail: v.Membership.Email, AccountName: v.Account.Name}
	var out movedMails
	for _, toOld := range []bool{true, false} {
		in.ToOld = toOld
		mail, err := s.mail.AddressChanged(in)
		if err != nil {
			return nil, fmt.Errorf("compose address change email: %w", err)
		}
		if toOld {
			out.toOld = mail
		} else {
			out.toNew = mail
		}
	}
	return &out, nil
}

// addressChanged records a Notification user's new address and tells both
// addresses, with the emails built before (moved): the old one learns
// where its emails went (and can object), the new one why it receives them.
func (s *Store) addressChanged(tx *gorm.DB, v *Viewer, account *Account, old, m *Membership, moved *movedMails, ip string) error {
	if err := s.audit(tx, account.ID, v.Actor(ip), "member.email_changed", m, "Email "+old.Email+" → "+m.Email); err != nil {
		return err
	}
	// Whatever still waited for the old address goes nowhere now.
	if err := s.cancelPendingEmails(tx, m.ID); err != nil {
		return err
	}
	if err := s.enqueueMail(tx, old, "address_changed", moved.toOld); err != nil {
		return err
	}
	return s.enqueueMail(tx, m, "address_changed", moved.toNew)
}

// checkNewAddress refuses an address already in the account or, for a
// person who logs in, with a login elsewhere, as the wizard's info step
// does. A Notification user never logs in, so a login elsewhere does not
// stand in their way (and is not revealed).
func (s *Store) checkNewAddress(tx *gorm.DB, accountID, memberID uint, email string, logsIn bool, fields map[string]string) error {
	var other Membership
	err := tx.Where("account_id = ? AND email = ? AND id <> ?", accountID, email, memberID).Take(&other).Error
	switch {
	case err == nil:
		fields["email"] = fmt.Sprintf("%s is already a user of this account with that address.", other.FullName())
		return nil
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("check email in account: %w", err)
	}
	if !logsIn {
		return nil
	}
	var logins int64
	if err := tx.Model(&Login{}).Where("email = ?", email).Count(&logins).Error; err != nil {
		return fmt.Errorf("check email in system: %w", err)
	}
	if logins > 0 {
		fields["email"] = "This email address already has a login in another Switchboard account."
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
