package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Invitation is what the set-password page shows about a link.
type Invitation struct {
	Member      Membership
	AccountName string
	InviterName string // empty when the console itself invited (bootstrap)
	ExpiresAt   time.Time
	// HasLogin is set when the address already has a password (from
	// another account): the invitee then joins by logging in, not by
	// choosing a new password.
	HasLogin bool
}

// FindInvitation checks an invitation link and says who it is for.
func (s *Store) FindInvitation(ctx context.Context, secret string) (*Invitation, error) {
	db := s.db.WithContext(ctx)
	t, err := s.findToken(db, secret, PurposeInvitation)
	if err != nil {
		return nil, err
	}
	return s.invitationOf(db, t)
}

func (s *Store) invitationOf(db *gorm.DB, t *Token) (*Invitation, error) {
	if t.MembershipID == nil {
		return nil, linkInvalid()
	}
	var m Membership
	err := db.Preload("Account").Take(&m, "id = ?", *t.MembershipID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, linkRevoked()
	}
	if err != nil {
		return nil, fmt.Errorf("find invited member: %w", err)
	}
	switch {
	case m.Status == MemberActive:
		return nil, linkUsed()
	case m.Status != MemberInvited, !m.Type.CanLogIn(), m.Account == nil, m.Account.Status == AccountClosed:
		return nil, linkRevoked()
	}
	inv := &Invitation{Member: m, AccountName: m.Account.Name, ExpiresAt: t.ExpiresAt}
	var logins int64
	if err := db.Model(&Login{}).Where("email = ?", m.Email).Count(&logins).Error; err != nil {
		return nil, fmt.Errorf("check login: %w", err)
	}
	inv.HasLogin = logins > 0
	if t.CreatedByID != nil {
		var by Membership
		if db.Select("first_name", "last_name").Take(&by, "id = ?", *t.CreatedByID).Error == nil {
			inv.InviterName = by.FullName()
		}
	}
	return inv, nil
}

// AcceptInvitation sets the invitee's password from their link, once, and
// makes the membership active. The membership is the one the link was issued
// for; whoever else may be logged in in the same browser plays no part.
func (s *Store) AcceptInvitation(ctx context.Context, secret, password, confirm string, ip string) (*Membership, error) {
	if _, err := s.FindInvitation(ctx, secret); err != nil {
		return nil, err
	}
	if err := ValidatePassword(password, confirm); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, PasswordAttempt{Client: ip}.slotKeys(), password)
	if err != nil {
		return nil, err
	}
	var member *Membership
	err = s.tx(ctx, func(tx *gorm.DB) error {
		m, err := s.consumeInvitation(tx, secret)
		if err != nil {
			return err
		}
		now := s.Now()
		var login Login
		err = tx.Where("email = ?", m.Email).Take(&login).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			login = Login{Email: m.Email, PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now}
			if err := tx.Create(&login).Error; err != nil {
				return fmt.Errorf("create login: %w", err)
			}
		case err != nil:
			return fmt.Errorf("find login: %w", err)
		default:
			// The address already has a password elsewhere; an invitation
			// must not become a way to replace it.
			return &Error{Code: Conflict, Title: "You already have a login",
				Message: "This email address already has a password for another account. Log in with it instead; your administrator can then add you to this account."}
		}
		activated, err := s.activateInvitee(tx, m, login.ID, ip, "Set a password from the invitation link")
		member = activated
		return err
	})
	if err != nil {
		return nil, err
	}
	return member, nil
}

// JoinWithInvitation accepts an invitation for someone who already has a
// login: the viewer must be logged in as the very address it was sent to.
// Their password does not change.
func (s *Store) JoinWithInvitation(ctx context.Context, v *Viewer, secret, ip string) (*Membership, error) {
	var member *Membership
	err := s.tx(ctx, func(tx *gorm.DB) error {
		m, err := s.consumeInvitation(tx, secret)
		if err != nil {
			return err
		}
		if v == nil || v.Login.Email != m.Email {
			return &Error{Code: Forbidden, Title: "This invitation is for someone else",
				Message: "Log in as " + m.Email + " to accept it."}
		}
		activated, err := s.activateInvitee(tx, m, v.Login.ID, ip, "Joined with an existing login from the invitation link")
		member = activated
		return err
	})
	if err != nil {
		return nil, err
	}
	return member, nil
}

// activateInvitee attaches a login to an invited membership and makes it
// active, once: the conditional update touches no row if it already was.
func (s *Store) activateInvitee(tx *gorm.DB, m Membership, loginID uint, ip, detail string) (*Membership, error) {
	now := s.Now()
	res := tx.Model(&Membership{}).Where("id = ? AND status = ?", m.ID, MemberInvited).
		Updates(map[string]any{"login_id": loginID, "status": MemberActive, "activated_at": now, "updated_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("activate member: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return nil, linkUsed()
	}
	m.LoginID, m.Status, m.ActivatedAt = &loginID, MemberActive, &now
	return &m, s.audit(tx, m.AccountID, Actor{MembershipID: &m.ID, Name: m.FullName(), IP: ip}, "member.activated", &m, detail)
}

// consumeInvitation spends an invitation link, once, and returns the
// membership it was issued for, still checked as invitable.
func (s *Store) consumeInvitation(tx *gorm.DB, secret string) (Membership, error) {
	t, err := s.consumeToken(tx, secret, PurposeInvitation)
	if err != nil {
		return Membership{}, err
	}
	inv, err := s.invitationOf(tx, t)
	if err != nil {
		return Membership{}, err
	}
	return inv.Member, nil
}

// RenewInvitation is "Email me a new link" on a dead invitation link: a
// fresh invitation goes to the address the invitation was made for, never
// to one typed anywhere, if that invitation is still waiting to be
// accepted. The answer is the same whatever the link's state (unknown,
// expired, replaced, for a person since deleted or active), so the button
// tells nothing about anyone: only the per-address limit, counted before
// the link is looked up, refuses openly. The invitee's own limits (those
// of a resend: countPersonInvitation, countAccountInvitation) refuse
// quietly. The Admins see a renewal in the audit log.
func (s *Store) RenewInvitation(ctx context.Context, secret, client string) error {
	if s.mail == nil {
		return errors.New("renew invitation: no mail composer configured")
	}
	// The client's limit is counted in a transaction of its own, so that
	// it holds whatever happens to the rest.
	err := s.tx(ctx, func(tx *gorm.DB) error {
		_, refused, err := s.hit(tx, s.limits.RenewClient, clientKey(client), "", true)
		if err != nil {
			return err
		}
		if refused != nil {
			return tooMany("Too many requests for new links",
				"Several new links were asked for from your network in the last hour. If you asked for one, it is on its way: check your inbox and spam folder.",
				refused)
		}
		return nil
	})
	if err != nil || !wellFormedSecret(secret) {
		return err
	}
	// The invitation is built first, from the link's invitee and inviter
	// as read then, and sent only if they are still so.
	var read *Membership
	var inv *invitation
	compose := func() error {
		read, inv = nil, nil
		m, by, err := renewable(s.db.WithContext(ctx), secret)
		if err != nil || m == nil {
			return err
		}
		read = m
		inv, err = s.composeInvitation(s.db.WithContext(ctx), by, *m, "")
		return err
	}
	err = s.mailed(ctx, compose, func(tx *gorm.DB) error {
		m, by, err := renewable(tx, secret)
		if err != nil {
			return err
		}
		if (m == nil) != (read == nil) {
			return errStaleMail
		}
		if m == nil {
			return nil
		}
		if !sameForMail(read, m) || !by.same(inv.by) {
			return errStaleMail
		}
		// The invitee's limits are a resend's. A refusal leaves this
		// transaction (so nothing of it stays) and is answered quietly.
		return s.sendInvitation(tx, m, inv, Actor{Name: m.FullName() + " (invitee)", IP: client}, "invitation.renewed", false)
	})
	if ErrorCode(err) == TooManyRequests {
		return nil
	}
	return err
}

// renewable is the invitee a dead invitation link may be renewed for, and
// whom the new invitation names as its sender: the Admin who sent the
// link if still in the account, else the account itself. nil when the
// link renews nothing (unknown, used, for a person since deleted or
// active, or an account closed).
func renewable(db *gorm.DB, secret string) (*Membership, Inviter, error) {
	var t Token
	err := db.Where("hash = ? AND purpose = ?", hashSecret(secret), PurposeInvitation).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && (t.UsedAt != nil || t.MembershipID == nil)) {
		return nil, Inviter{}, nil
	}
	if err != nil {
		return nil, Inviter{}, fmt.Errorf("find link: %w", err)
	}
	var m Membership
	err = db.Preload("Account").Take(&m, "id = ?", *t.MembershipID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Inviter{}, nil
	}
	if err != nil {
		return nil, Inviter{}, fmt.Errorf("find invited member: %w", err)
	}
	if m.Status != MemberInvited || !m.Type.CanLogIn() || m.Account == nil || m.Account.Status == AccountClosed {
		return nil, Inviter{}, nil
	}
	by := Inviter{Name: m.Account.Name, AccountName: m.Account.Name}
	if t.CreatedByID != nil {
		var inviter Membership
		err := db.Select("id", "first_name", "last_name", "email").Take(&inviter, "id = ? AND account_id = ?", *t.CreatedByID, m.AccountID).Error
		switch {
		case err == nil:
			by.ID, by.Name, by.Email = t.CreatedByID, inviter.FullName(), inviter.Email
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return nil, Inviter{}, fmt.Errorf("find inviter: %w", err)
		}
	}
	return &m, by, nil
}
