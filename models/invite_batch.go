package models

// Creating many people at once (an import's chunk of rows) with the
// outcome the wizard gives each of them: the same checks (checkDrafts is
// CheckDraft for many drafts), the same email (built before the write
// lock, as CreateCheckedMember builds it), and the same rows written
// (createMembersBatch writes what createMemberCounted writes for each),
// but a few statements for the whole batch instead of a dozen for each
// person: an import of 10,000 people made 170,000 round trips to the
// database one at a time.
//
// A batch is all or nothing. When it cannot be written as one (an address
// added meanwhile, a limit reached, a company disabled), the caller falls
// back to the wizard's own write path one person at a time, so that each
// gets the precise outcome the wizard would give them.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// batchPerson is one person of a batch: their draft, checked in full
// (checkDrafts), and their email, built before the transaction.
type batchPerson struct {
	draft  Draft
	check  *DraftCheck
	inv    *invitation
	notice Mail
}

// errBatchRefused: a limit refuses part of a batch; each person is then
// tried on their own, and learns which limit and until when.
var errBatchRefused = errors.New("a limit refuses part of the batch")

// checkDrafts is CheckDraft(ctx, v, d, d.LastStep()) for each of drafts,
// with the account's people, the logins and the companies read once for
// all of them.
func (s *Store) checkDrafts(ctx context.Context, v *Viewer, drafts []Draft) ([]*DraftCheck, error) {
	if !CanManageUsers(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins can create users.")
	}
	checks := make([]*DraftCheck, len(drafts))
	emails := make([]string, 0, len(drafts))
	for i, d := range drafts {
		c := &DraftCheck{Fields: map[string]string{}, key: d.Key, inviteExistingLogin: d.InviteExistingLogin}
		checks[i] = c
		if _, err := ParseUserType(string(d.Type)); err != nil {
			c.fail(StepType, "type", "Choose the type of user to add.")
		}
		if _, err := CleanName(d.FirstName, "First name", MaxNameLength); err != nil {
			c.fail(StepInfo, "first_name", ErrorMessage(err))
		}
		if _, err := CleanName(d.LastName, "Last name", MaxNameLength); err != nil {
			c.fail(StepInfo, "last_name", ErrorMessage(err))
		}
		if email, err := CanonicalEmail(d.Email); err != nil {
			c.fail(StepInfo, "email", ErrorMessage(err))
		} else {
			c.Email = email
			emails = append(emails, email)
		}
	}
	members, logins, err := s.emailsTaken(s.db.WithContext(ctx), v.Account.ID, emails)
	if err != nil {
		return nil, err
	}
	list, err := s.activeCompanies(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("check companies: %w", err)
	}
	rank := s.companyRanks(v.Account.ID, list)
	for i, d := range drafts {
		c := checks[i]
		if c.Email != "" {
			emailFreeIn(c, members[c.Email], logins[c.Email])
		}
		if !d.Type.SeesAllCompanies() && c.Invalid != StepType {
			companiesIn(c, d.CompanyIDs, list, rank)
		}
		if d.Type != Notification {
			if _, err := CleanMessage(d.Message); err != nil {
				c.fail(StepMessage, "message", ErrorMessage(err))
			}
		}
	}
	return checks, nil
}

// emailsTaken reads which of emails are people of the account, and which
// have a login, a few hundred addresses a query.
func (s *Store) emailsTaken(db *gorm.DB, accountID uint, emails []string) (map[string]*Membership, map[string]bool, error) {
	members := make(map[string]*Membership, len(emails))
	logins := make(map[string]bool, len(emails))
	for chunk := range slices.Chunk(emails, 500) {
		var found []Membership
		if err := db.Where("account_id = ? AND email IN ?", accountID, chunk).Find(&found).Error; err != nil {
			return nil, nil, fmt.Errorf("check emails in account: %w", err)
		}
		for i := range found {
			members[found[i].Email] = &found[i]
		}
		var withLogin []string
		if err := db.Model(&Login{}).Where("email IN ?", chunk).Pluck("email", &withLogin).Error; err != nil {
			return nil, nil, fmt.Errorf("check emails in system: %w", err)
		}
		for _, e := range withLogin {
			logins[e] = true
		}
	}
	return members, logins, nil
}

// emailFreeIn is checkEmailFree's verdict for an address whose member in
// the account (nil: none) and login elsewhere were read beforehand.
func emailFreeIn(c *DraftCheck, existing *Membership, hasLogin bool) {
	switch {
	case existing != nil && existing.CreationKey != nil && *existing.CreationKey == c.key:
		c.Created = existing
		return
	case existing != nil:
		c.ExistingMember = existing
		c.fail(StepInfo, "email", fmt.Sprintf("%s is already a user of this account.", existing.FullName()))
		return
	}
	if hasLogin {
		c.LoginElsewhere = true
		if !c.inviteExistingLogin {
			c.fail(StepInfo, "email", "This email address already has a login in another Switchboard account.")
		}
	}
}

// companiesIn is checkCompanies against the account's active companies
// read beforehand (list, in the company cache's order, and their ranks).
func companiesIn(c *DraftCheck, ids []uint, list []Company, rank map[uint]int) {
	if len(ids) == 0 {
		c.fail(StepCompanies, "companies", "Choose at least one company this person will see.")
		return
	}
	if len(ids) > MaxDraftCompanies {
		c.fail(StepCompanies, "companies", "That is more companies than one form can carry.")
		return
	}
	ranks := make([]int, 0, len(ids))
	seen := make(map[uint]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		r, ok := rank[id]
		if !ok {
			c.fail(StepCompanies, "companies", "One of the chosen companies is no longer available. Check the list and choose again.")
			return
		}
		ranks = append(ranks, r)
	}
	slices.Sort(ranks)
	c.Companies = make([]Company, len(ranks))
	for i, r := range ranks {
		c.Companies[i] = list[r]
	}
}

// composeBatchMail builds the email of a person checked by checkDrafts, as
// composeMemberMail does, without reading the database again: whether
// the address has a login elsewhere is in the check.
func (s *Store) composeBatchMail(v *Viewer, p *batchPerson) error {
	if !p.draft.Type.CanLogIn() {
		var err error
		_, p.notice, err = s.composeMemberMail(s.db, v, p.draft, p.check)
		return err
	}
	message, _ := CleanMessage(p.draft.Message)
	inv, err := s.composeInvitationFor(inviterOf(v), draftMember(v, p.draft, p.check, s.Now()), message, p.check.LoginElsewhere)
	p.inv = inv
	return err
}

// createMembersBatch writes, inside tx, the people of a batch checked in
// full (every check OK, none created before), each exactly as
// createMemberCounted writes one: the membership, its companies, the
// member.created event, the areas' hooks, then for an invitee the counted
// invitation (link, outbox email, invitation.sent event) and for a
// Notification user the notice. The account's counter is the last
// statement, as for one person. It returns the memberships in the order
// of people.
func (s *Store) createMembersBatch(tx *gorm.DB, v *Viewer, people []*batchPerson, ip string, accountLimit Limit) ([]Membership, error) {
	if len(people) == 0 {
		return nil, nil
	}
	now := s.Now()
	ms := make([]Membership, len(people))
	var companyIDs []uint
	seen := map[uint]bool{}
	for i, p := range people {
		if !p.check.OK() || p.check.Created != nil || p.check.key != p.draft.Key {
			return nil, fmt.Errorf("create members: person %d is not ready to be created", i)
		}
		ms[i] = draftMember(v, p.draft, p.check, now)
		for _, c := range p.check.Companies {
			if !seen[c.ID] {
				seen[c.ID] = true
				companyIDs = append(companyIDs, c.ID)
			}
		}
	}
	// The companies were checked before the transaction; again inside it,
	// as assignCompanies does.
	if len(companyIDs) > 0 {
		var active int64
		if err := tx.Model(&Company{}).Where("account_id = ? AND status = ? AND id IN ?", v.Account.ID, CompanyActive, companyIDs).
			Count(&active).Error; err != nil {
			return nil, fmt.Errorf("check companies: %w", err)
		}
		if active != int64(len(companyIDs)) {
			return nil, FieldErrors(map[string]string{"companies": "One of the chosen companies was disabled a moment ago. Check the list and choose again."})
		}
	}
	if err := tx.Create(&ms).Error; err != nil {
		return nil, fmt.Errorf("create members: %w", err)
	}
	var assignments []Assignment
	for i, p := range people {
		for _, c := range p.check.Companies {
			assignments = append(assignments, Assignment{MembershipID: ms[i].ID, CompanyID: c.ID, CreatedAt: now})
		}
	}
	if len(assignments) > 0 {
		if err := tx.CreateInBatches(assignments, 500).Error; err != nil {
			return nil, fmt.Errorf("assign companies: %w", err)
		}
	}
	actor := v.Actor(ip)
	events := make([]AuditEvent, len(people))
	for i, p := range people {
		detail := "Type " + p.draft.Type.Label()
		if len(p.check.Companies) > 0 {
			detail += "; companies: " + strings.Join(companyNames(p.check.Companies), ", ")
		}
		events[i] = s.auditEvent(AuditRecord{AccountID: v.Account.ID, Actor: actor, Action: "member.created", Target: &ms[i], Detail: detail})
	}
	if err := tx.Create(&events).Error; err != nil {
		return nil, fmt.Errorf("record audit events member.created: %w", err)
	}
	for i, p := range people {
		if err := s.memberCreated(tx, ms[i], p.check.Companies, p.draft.Receives, actor); err != nil {
			return nil, err
		}
	}
	var mails []OutboxMessage
	var invited []int
	for i, p := range people {
		if p.draft.Type.CanLogIn() {
			invited = append(invited, i)
		} else {
			mails = append(mails, outboxFor(&ms[i], "notification_added", p.notice))
		}
	}
	if len(invited) > 0 {
		if err := s.sendInvitationsBatch(tx, v, people, ms, invited, actor, &mails); err != nil {
			return nil, err
		}
	}
	for i := range mails {
		if err := s.prepareOutbox(&mails[i]); err != nil {
			return nil, err
		}
	}
	if len(mails) > 0 {
		if err := tx.Create(&mails).Error; err != nil {
			return nil, fmt.Errorf("enqueue email: %w", err)
		}
	}
	if len(invited) > 0 {
		events = events[:0]
		for _, i := range invited {
			events = append(events, s.auditEvent(AuditRecord{AccountID: v.Account.ID, Actor: actor, Action: "invitation.sent",
				Target: &ms[i], Detail: "Link expires " + people[i].inv.link.expiresAt.Format("Jan 2, 2006 15:04 UTC")}))
		}
		if err := tx.Create(&events).Error; err != nil {
			return nil, fmt.Errorf("record audit events invitation.sent: %w", err)
		}
		// Last, as countAccountInvitation is for one person: the account's
		// counter row stays locked until the transaction ends.
		if err := s.hitMany(tx, accountLimit, []string{idKey(v.Account.ID)}, len(invited), true); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// sendInvitationsBatch is sendInvitationCounted for the invitees of a
// batch (people[i] for i in invited), up to the account's counter, which
// the caller counts last: it adds their outbox emails to mails.
func (s *Store) sendInvitationsBatch(tx *gorm.DB, v *Viewer, people []*batchPerson, ms []Membership, invited []int, actor Actor, mails *[]OutboxMessage) error {
	ids := make([]uint, len(invited))
	keys := make([]string, len(invited))
	emails := make([]string, len(invited))
	for j, i := range invited {
		ids[j], keys[j], emails[j] = ms[i].ID, idKey(ms[i].ID), ms[i].Email
	}
	if err := s.hitMany(tx, s.limits.InvitePerson, keys, 1, true); err != nil {
		return err
	}
	res := tx.Where("membership_id IN ? AND sent_at IS NULL AND kind IN ?", ids, []string{"invitation"}).Delete(&OutboxMessage{})
	if res.Error != nil {
		return fmt.Errorf("cancel pending emails: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		forgetOnCommit(tx)
	}
	var withLogin []string
	if err := tx.Model(&Login{}).Where("email IN ?", emails).Pluck("email", &withLogin).Error; err != nil {
		return fmt.Errorf("check login of invitee: %w", err)
	}
	for _, i := range invited {
		inv := people[i].inv
		if slices.Contains(withLogin, ms[i].Email) != inv.hasLogin || ms[i].Email != inv.email {
			return errStaleMail
		}
	}
	if err := tx.Model(&Token{}).
		Where("membership_id IN ? AND purpose = ? AND used_at IS NULL AND revoked_at IS NULL", ids, PurposeInvitation).
		Update("revoked_at", s.Now()).Error; err != nil {
		return fmt.Errorf("revoke earlier links: %w", err)
	}
	tokens := make([]Token, len(invited))
	for j, i := range invited {
		inv := people[i].inv
		account, member := ms[i].AccountID, ms[i].ID
		tokens[j] = Token{Hash: inv.link.hash, Purpose: PurposeInvitation, AccountID: &account, MembershipID: &member,
			CreatedByID: inv.by.ID, ExpiresAt: inv.link.expiresAt, CreatedAt: inv.link.createdAt}
		*mails = append(*mails, outboxFor(&ms[i], "invitation", inv.mail))
	}
	if err := tx.Create(&tokens).Error; err != nil {
		return fmt.Errorf("store link: %w", err)
	}
	return nil
}

// outboxFor is the outbox row enqueueMail writes for m.
func outboxFor(m *Membership, kind string, mail Mail) OutboxMessage {
	account, member := m.AccountID, m.ID
	return OutboxMessage{AccountID: &account, MembershipID: &member, Kind: kind,
		ToAddress: m.Email, ToName: m.FullName(), Subject: mail.Subject, TextBody: mail.Text, HTMLBody: mail.HTML,
		ReplyToName: mail.ReplyTo.Name, ReplyToAddress: mail.ReplyTo.Email}
}

// hitMany counts n hits of each of keys under l in one statement: hit's
// upsert (throttle.go) with many rows and n hits each. Any key refused
// refuses the whole (errBatchRefused), and the caller's transaction then
// writes nothing; with n = 1 a key is allowed exactly when hit would allow
// it.
func (s *Store) hitMany(tx *gorm.DB, l Limit, keys []string, n int, gap bool) error {
	if len(keys) == 0 {
		return nil
	}
	now := s.Now()
	nowMS := now.UnixMilli()
	limit := l.Max
	if limit <= 0 {
		limit = math.MaxInt32
	}
	if n > limit {
		return errBatchRefused
	}
	gapBefore := int64(math.MaxInt64)
	if gap && l.Gap > 0 {
		gapBefore = now.Add(-l.Gap).UnixMilli()
	}
	anchor := "started_ms"
	if l.FromLast {
		anchor = "last_ms"
	}
	num := func(i int64) string { return strconv.FormatInt(i, 10) }
	expired := "throttle_counters." + anchor + " <= " + num(now.Add(-l.Window).UnixMilli())
	var b strings.Builder
	b.WriteString("INSERT INTO throttle_counters (bucket, subject, hits, started_ms, last_ms) VALUES ")
	args := make([]any, len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, '', " + num(int64(n)) + ", " + num(nowMS) + ", " + num(nowMS) + ")")
		args[i] = l.key(k)
	}
	b.WriteString(`
ON CONFLICT (bucket) DO UPDATE SET
	hits = CASE WHEN ` + expired + ` THEN excluded.hits ELSE throttle_counters.hits + excluded.hits END,
	started_ms = CASE WHEN ` + expired + ` THEN excluded.started_ms ELSE throttle_counters.started_ms END,
	notified_ms = CASE WHEN ` + expired + ` THEN NULL ELSE throttle_counters.notified_ms END,
	last_ms = CASE WHEN excluded.last_ms > throttle_counters.last_ms THEN excluded.last_ms ELSE throttle_counters.last_ms END
WHERE ` + expired + ` OR (throttle_counters.hits + excluded.hits <= ` + num(int64(limit)) + ` AND throttle_counters.last_ms <= ` + num(gapBefore) + `)
RETURNING bucket`)
	rows, err := tx.Raw(b.String(), args...).Rows()
	if err != nil {
		return fmt.Errorf("count %s: %w", l.Name, err)
	}
	counted := 0
	for rows.Next() {
		counted++
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return fmt.Errorf("count %s: %w", l.Name, err)
	}
	if counted != len(keys) {
		return errBatchRefused
	}
	return nil
}
