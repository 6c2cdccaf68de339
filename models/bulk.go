package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Bulk actions on the users list: one action (resend invitations, add to
// or remove from a company, change type, disable, re-enable, delete) over
// people chosen on the list — the ticked rows or everyone a view matches.
//
// A request becomes one job (jobs.go) and one bulk_items row per person,
// written together. The job applies the single action of each person in
// turn, through the very function the person's own page uses, so every
// rule holds as it does there (the last-Admin rule, equal or lesser
// access, a Manager's scope, rate limits) and each change writes its own
// audit event. A person's outcome is written in the same transaction as
// their change (withinTx), so a job killed at any point and run again
// skips whoever is done: each change is applied once.

// BulkJobKind is the kind of the jobs that run bulk actions.
const BulkJobKind = "bulk-members"

// BulkAction is what a bulk request does to each person.
type BulkAction string

const (
	BulkResend        BulkAction = "resend"
	BulkAddCompany    BulkAction = "add-company"
	BulkRemoveCompany BulkAction = "remove-company"
	BulkChangeType    BulkAction = "change-type"
	BulkDisable       BulkAction = "disable"
	BulkEnable        BulkAction = "enable"
	BulkDelete        BulkAction = "delete"
)

// BulkActions lists the actions, as the list offers them.
var BulkActions = []BulkAction{BulkResend, BulkAddCompany, BulkRemoveCompany, BulkChangeType, BulkDisable, BulkEnable, BulkDelete}

// Label is the action as a button says it.
func (a BulkAction) Label() string {
	switch a {
	case BulkResend:
		return "Resend invitations"
	case BulkAddCompany:
		return "Add to a company"
	case BulkRemoveCompany:
		return "Remove from a company"
	case BulkChangeType:
		return "Change type"
	case BulkDisable:
		return "Disable"
	case BulkEnable:
		return "Re-enable"
	case BulkDelete:
		return "Delete"
	}
	return string(a)
}

// Done is what a person's outcome says when the action was applied.
func (a BulkAction) Done() string {
	switch a {
	case BulkResend:
		return "resent"
	case BulkAddCompany:
		return "added"
	case BulkRemoveCompany:
		return "removed"
	case BulkChangeType:
		return "changed"
	case BulkDisable:
		return "disabled"
	case BulkEnable:
		return "re-enabled"
	case BulkDelete:
		return "deleted"
	}
	return "done"
}

// AllowedBulk reports whether a type of user may start an action at all
// (each person is checked again when it is applied): Managers may add and
// remove people on their companies; everything else is for Admins.
func AllowedBulk(t UserType, a BulkAction) bool {
	if a == BulkAddCompany || a == BulkRemoveCompany {
		return CanAssign(t, Reporting)
	}
	return CanManageUsers(t)
}

// MaxBulk is the most people one request may name.
const MaxBulk = 100000

// BulkRequest is one bulk action as the list's form sends it.
type BulkRequest struct {
	Action    BulkAction
	CompanyID uint     // add-company, remove-company
	To        UserType // change-type
	// CompanyIDs are the companies an Admin moved to a company-scoped
	// type will see (change-type).
	CompanyIDs []uint
	// IDs are the ticked people; with All, everyone Filter matches instead.
	IDs    []uint
	All    bool
	Filter UserFilter
	// Key makes a double submit start one job: a random value the form
	// carries.
	Key string
}

// bulkPayload is a bulk job's JSON.
type bulkPayload struct {
	ActorID   uint       `json:"actor"`
	Action    BulkAction `json:"action"`
	CompanyID uint       `json:"company,omitempty"`
	To        UserType   `json:"to,omitempty"`
	Companies []uint     `json:"companies,omitempty"`
	IP        string     `json:"ip,omitempty"`
}

// Bulk item outcomes.
const (
	BulkPending = ""
	BulkApplied = "done"
	BulkSkipped = "skipped"
)

// BulkItem is one person of a bulk job, and what became of them.
type BulkItem struct {
	JobID        uint   `gorm:"primaryKey;autoIncrement:false"`
	Position     int    `gorm:"primaryKey;autoIncrement:false"`
	MembershipID uint   `gorm:"not null"`
	Name         string `gorm:"size:201;not null;default:''"`
	Outcome      string `gorm:"size:16;not null;default:''"`
	// Reason says in a few words why a person was skipped; Detail is the
	// full message their own page would have shown.
	Reason string `gorm:"size:200;not null;default:''"`
	Detail string `gorm:"size:500;not null;default:''"`
}

// PreviewBulk checks a bulk request as StartBulk does and returns how many
// people it names, for the confirmation.
func (s *Store) PreviewBulk(ctx context.Context, v *Viewer, req BulkRequest) (int, error) {
	ids, err := s.resolveBulk(ctx, v, req)
	return len(ids), err
}

// resolveBulk checks a bulk request and returns the people it names. The
// company and every ticked person are looked up in the viewer's scope
// first: one outside it answers 404. Then the right: may the viewer do
// this to anyone?
func (s *Store) resolveBulk(ctx context.Context, v *Viewer, req BulkRequest) ([]uint, error) {
	if !slices.Contains(BulkActions, req.Action) {
		return nil, Errorf(BadRequest, "That action is not known.")
	}
	db := s.db.WithContext(ctx)
	if req.CompanyID != 0 {
		if _, err := findVisibleCompanyIn(db, v, req.CompanyID); err != nil {
			return nil, err
		}
	}
	var ids []uint
	if req.All {
		var err error
		if ids, err = s.matchingIDs(ctx, v, req.Filter); err != nil {
			return nil, err
		}
	} else {
		ids = slices.Clone(req.IDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) > MaxBulk {
			return nil, Errorf(BadRequest, "Choose at most %d people at once.", MaxBulk)
		}
		visible, err := s.visibleAmong(db, v, ids)
		if err != nil {
			return nil, err
		}
		if len(visible) != len(ids) {
			return nil, ErrNotFound()
		}
	}
	if !AllowedBulk(v.Type(), req.Action) {
		return nil, Errorf(Forbidden, "As a %s you cannot %s.", v.Type().Label(), strings.ToLower(req.Action.Label()))
	}
	if req.Action == BulkChangeType {
		for _, id := range req.CompanyIDs {
			if _, err := findVisibleCompanyIn(db, v, id); err != nil {
				return nil, err
			}
		}
	}
	// The viewer comes last: a change to themselves (disabling their own
	// access, say) must not stop the change to everyone else.
	if i := slices.Index(ids, v.Membership.ID); i >= 0 {
		ids = append(slices.Delete(ids, i, i+1), v.Membership.ID)
	}
	if len(ids) == 0 {
		return nil, Errorf(Invalid, "Choose at least one person: tick them in the list, or choose everyone on the page or everyone matching.")
	}
	return ids, nil
}

// StartBulk checks a bulk request (resolveBulk) and records its job, which
// a worker then runs. A second submit of the same form finds the job the
// first one started.
func (s *Store) StartBulk(ctx context.Context, v *Viewer, req BulkRequest, ip string) (*Job, error) {
	if req.Key == "" || len(req.Key) > 64 {
		return nil, Errorf(BadRequest, "The form is incomplete. Reload the page and try again.")
	}
	ids, err := s.resolveBulk(ctx, v, req)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	if (req.Action == BulkAddCompany || req.Action == BulkRemoveCompany) && req.CompanyID == 0 {
		fields["company"] = "Choose the company."
	}
	if req.Action == BulkChangeType {
		if _, err := ParseUserType(string(req.To)); err != nil {
			fields["to"] = "Choose the new type."
		}
	}
	if len(fields) > 0 {
		return nil, FieldErrors(fields)
	}
	account, actor := v.Account.ID, v.Membership.ID
	var job *Job
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var created bool
		var err error
		job, created, err = s.EnqueueJobTx(tx, NewJob{Kind: BulkJobKind, Key: strconv.FormatUint(uint64(account), 10) + ":" + req.Key,
			AccountID: &account, CreatedByID: &actor,
			Payload: bulkPayload{ActorID: actor, Action: req.Action, CompanyID: req.CompanyID, To: req.To, Companies: req.CompanyIDs, IP: ip}})
		if err != nil || !created {
			return err
		}
		job.Total = len(ids)
		if err := tx.Model(&Job{}).Where("id = ?", job.ID).Update("total", len(ids)).Error; err != nil {
			return fmt.Errorf("start bulk action: %w", err)
		}
		items := make([]BulkItem, len(ids))
		for i, id := range ids {
			items[i] = BulkItem{JobID: job.ID, Position: i, MembershipID: id}
		}
		if err := tx.CreateInBatches(items, 500).Error; err != nil {
			return fmt.Errorf("start bulk action: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if job.AccountID == nil || *job.AccountID != account {
		return nil, ErrNotFound()
	}
	return job, nil
}

// matchingIDs are everyone a view of the list matches, as the viewer sees
// it (the export's walk: the same rules as the list).
func (s *Store) matchingIDs(ctx context.Context, v *Viewer, f UserFilter) ([]uint, error) {
	f.After, f.Before, f.Size, f.Sort, f.Dir = "", "", 0, "", ""
	f, err := CleanUserFilter(f)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	q, err := s.newListQuery(db, v, f)
	if err != nil {
		return nil, err
	}
	var ids []uint
	var p position
	for {
		members, err := q.walk(db, p, exportBatch)
		if err != nil {
			return nil, err
		}
		for i := range members {
			ids = append(ids, members[i].ID)
		}
		if len(ids) > MaxBulk {
			return nil, Errorf(BadRequest, "Choose at most %d people at once: narrow the view first.", MaxBulk)
		}
		if len(members) < exportBatch {
			break
		}
		last := &members[len(members)-1]
		p = position{at: &listCursor{sort: f.Sort, desc: f.Desc(), id: last.ID, key: q.order.key(last)}}
	}
	return ids, nil
}

// visibleAmong returns those of ids the viewer may see.
func (s *Store) visibleAmong(db *gorm.DB, v *Viewer, ids []uint) ([]uint, error) {
	var out []uint
	for chunk := range slices.Chunk(ids, 900) {
		var got []uint
		if err := visibleMembers(db.Model(&Membership{}), v).Where("memberships.id IN ?", chunk).Pluck("memberships.id", &got).Error; err != nil {
			return nil, fmt.Errorf("find members: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// findVisibleCompanyIn returns an active company the viewer may see, or 404.
func findVisibleCompanyIn(db *gorm.DB, v *Viewer, id uint) (*Company, error) {
	var c Company
	err := visibleCompanies(db, v).Where("companies.id = ? AND companies.status = ?", id, CompanyActive).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find company: %w", err)
	}
	return &c, nil
}

// bulkBatch is how many people a run reads at a time.
const bulkBatch = 200

// RunBulk applies a bulk job to each person not yet done, in order,
// reporting progress after each batch. A person's outcome is written in
// the transaction of their change, so a run stopped anywhere and started
// again applies each change once. An error that is not about the person
// (the database is gone) ends the run, to be tried again.
func (s *Store) RunBulk(ctx context.Context, job *Job, progress func(done, total int) error) error {
	var p bulkPayload
	if err := job.Decode(&p); err != nil {
		return err
	}
	if job.AccountID == nil {
		return fmt.Errorf("bulk job %d has no account", job.ID)
	}
	db := s.db.WithContext(ctx)
	var account Account
	if err := db.Where("id = ?", *job.AccountID).Take(&account).Error; err != nil {
		return fmt.Errorf("bulk job %d: account: %w", job.ID, err)
	}
	for {
		var items []BulkItem
		if err := db.Where("job_id = ? AND outcome = ?", job.ID, BulkPending).Order("position").Limit(bulkBatch).Find(&items).Error; err != nil {
			return fmt.Errorf("bulk job %d: items: %w", job.ID, err)
		}
		if len(items) == 0 {
			break
		}
		// The actor as they are now: a demoted or removed Admin acts no
		// more, and each change checks them again under the account lock.
		var actor Membership
		err := db.Where("account_id = ? AND id = ?", account.ID, p.ActorID).Take(&actor).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("bulk job %d: actor: %w", job.ID, err)
		}
		gone := err != nil || actor.Status != MemberActive || !AllowedBulk(actor.Type, p.Action)
		v := &Viewer{Membership: actor, Account: account}
		for _, it := range items {
			if gone {
				if err := s.finishBulkItem(ctx, it, BulkSkipped, "your access changed", "You can no longer do this to anyone."); err != nil {
					return err
				}
				continue
			}
			if err := s.applyBulkItem(ctx, v, p, it); err != nil {
				return err
			}
		}
		if progress != nil {
			done, total, err := s.bulkCounts(ctx, job.ID)
			if err != nil {
				return err
			}
			if err := progress(done, total); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyBulkItem applies the action to one person through the single
// action, marking them done in its transaction, or records why not.
func (s *Store) applyBulkItem(ctx context.Context, v *Viewer, p bulkPayload, it BulkItem) error {
	m, err := findVisibleMember(s.db.WithContext(ctx), v, it.MembershipID)
	if err != nil {
		return s.bulkRefused(ctx, it, err)
	}
	it.Name = m.FullName()
	reason := bulkPrecheck(p, m)
	if reason == "" && (p.Action == BulkAddCompany || p.Action == BulkRemoveCompany) {
		var n int64
		if err := s.db.WithContext(ctx).Model(&Assignment{}).Where("membership_id = ? AND company_id = ?", m.ID, p.CompanyID).Count(&n).Error; err != nil {
			return fmt.Errorf("bulk job %d: assignment: %w", it.JobID, err)
		}
		switch {
		case p.Action == BulkAddCompany && n > 0:
			reason = "already in the company"
		case p.Action == BulkRemoveCompany && n == 0:
			reason = "not in the company"
		}
	}
	if reason != "" {
		return s.finishBulkItem(ctx, it, BulkSkipped, reason, "")
	}
	mark := func(tx *gorm.DB) error { return markBulkItem(tx, it, BulkApplied, "", "") }
	actx := withinTx(ctx, mark)
	switch p.Action {
	case BulkResend:
		_, err = s.ResendInvitation(actx, v, m.ID, p.IP)
	case BulkAddCompany:
		_, _, err = s.AssignCompany(actx, v, m.ID, p.CompanyID, p.IP)
	case BulkRemoveCompany:
		_, _, err = s.UnassignCompany(actx, v, m.ID, p.CompanyID, p.IP)
	case BulkChangeType:
		_, err = s.ChangeType(actx, v, m.ID, TypeChangeInput{To: p.To, CompanyIDs: p.Companies}, p.IP)
	case BulkDisable:
		_, err = s.DisableMember(actx, v, m.ID, p.IP)
	case BulkEnable:
		_, err = s.EnableMember(actx, v, m.ID, p.IP)
	case BulkDelete:
		_, err = s.DeleteMember(actx, v, m.ID, p.IP)
	default:
		err = Errorf(BadRequest, "That action is not known.")
	}
	if err != nil {
		return s.bulkRefused(ctx, it, err)
	}
	return nil
}

// bulkPrecheck names, in a few words, the common reasons a person is left
// as they are, so that the summary can group them ("2 skipped: already
// active"). The single action checks again under its lock.
func bulkPrecheck(p bulkPayload, m *Membership) string {
	switch p.Action {
	case BulkResend:
		switch {
		case !m.Type.CanLogIn():
			return "no login (Notification user)"
		case m.Status == MemberActive:
			return "already active"
		case m.Status == MemberDisabled:
			return "disabled"
		}
	case BulkAddCompany, BulkRemoveCompany:
		if m.Type.SeesAllCompanies() {
			return "Admins see every company"
		}
	case BulkChangeType:
		switch {
		case m.Type == p.To:
			return "already " + p.To.Label()
		case m.Status == MemberDisabled:
			return "disabled"
		}
	case BulkDisable:
		if m.Status == MemberDisabled {
			return "already disabled"
		}
	case BulkEnable:
		if m.Status != MemberDisabled {
			return "not disabled"
		}
	}
	return ""
}

// bulkRefused records why the single action refused a person, or returns
// an error that is not about them.
func (s *Store) bulkRefused(ctx context.Context, it BulkItem, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code == Internal {
		return err
	}
	reason := strings.ToLower(e.Title)
	switch {
	case e.Code == NotFound:
		reason = "no longer in your view"
	case e.Code == TooManyRequests && reason == "":
		reason = "rate limit reached"
	case e.Code == Forbidden && reason == "":
		reason = "beyond your access"
	case reason == "" && len(e.Fields) > 0:
		reason = "needs more information"
	case reason == "":
		reason = "refused"
	}
	detail := e.Message
	if detail == "" {
		for _, msg := range e.Fields {
			detail = msg
			break
		}
	}
	return s.finishBulkItem(ctx, it, BulkSkipped, reason, detail)
}

func (s *Store) finishBulkItem(ctx context.Context, it BulkItem, outcome, reason, detail string) error {
	return s.tx(ctx, func(tx *gorm.DB) error { return markBulkItem(tx, it, outcome, reason, detail) })
}

// markBulkItem records a person's outcome, once: a second mark (a run
// repeated after a crash) changes nothing.
func markBulkItem(tx *gorm.DB, it BulkItem, outcome, reason, detail string) error {
	err := tx.Model(&BulkItem{}).Where("job_id = ? AND position = ? AND outcome = ?", it.JobID, it.Position, BulkPending).
		Updates(map[string]any{"outcome": outcome, "reason": truncateRunes(reason, 200), "detail": truncateRunes(detail, 500),
			"name": truncateRunes(it.Name, 201)}).Error
	if err != nil {
		return fmt.Errorf("record bulk outcome: %w", err)
	}
	return nil
}

func (s *Store) bulkCounts(ctx context.Context, jobID uint) (done, total int, err error) {
	var n struct{ Done, Total int }
	err = s.db.WithContext(ctx).Raw("SELECT COUNT(*) FILTER (WHERE outcome <> '') AS done, COUNT(*) AS total FROM bulk_items WHERE job_id = ?", jobID).
		Scan(&n).Error
	if err != nil {
		return 0, 0, fmt.Errorf("count bulk outcomes: %w", err)
	}
	return n.Done, n.Total, nil
}

// BulkReport is where a bulk job stands, for the person who started it.
type BulkReport struct {
	Job       Job
	Action    BulkAction
	Company   string
	To        UserType
	Done      int
	Total     int
	Applied   int
	Skipped   []BulkReason // grouped, most common first
	Finished  bool
	Failed    bool
	Remaining int
	// Items are the people skipped, for the table of details (at most
	// MaxReportItems).
	Items []BulkItem
}

// BulkReason is how many people were skipped for one reason.
type BulkReason struct {
	Reason string
	Count  int
}

// MaxReportItems is how many skipped people the report lists by name.
const MaxReportItems = 500

// Summary says what the job did: "41 resent, 2 skipped: already active".
func (r *BulkReport) Summary() string {
	parts := []string{fmt.Sprintf("%d %s", r.Applied, r.Action.Done())}
	for _, sk := range r.Skipped {
		parts = append(parts, fmt.Sprintf("%d skipped: %s", sk.Count, sk.Reason))
	}
	if r.Remaining > 0 {
		parts = append(parts, fmt.Sprintf("%d to go", r.Remaining))
	}
	return strings.Join(parts, ", ")
}

// BulkReportOf returns a bulk job of the viewer's account that the viewer
// started; anyone else's is 404.
func (s *Store) BulkReportOf(ctx context.Context, v *Viewer, id uint) (*BulkReport, error) {
	db := s.db.WithContext(ctx)
	var job Job
	err := db.Where("id = ? AND kind = ? AND account_id = ?", id, BulkJobKind, v.Account.ID).Take(&job).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("find bulk job: %w", err)
	}
	// Scope first (the account's), then whose it is: only its starter
	// follows it.
	if job.CreatedByID == nil || *job.CreatedByID != v.Membership.ID {
		return nil, Errorf(Forbidden, "Only the person who started this bulk action can follow it.")
	}
	var p bulkPayload
	if err := job.Decode(&p); err != nil {
		return nil, err
	}
	r := &BulkReport{Job: job, Action: p.Action, To: p.To, Finished: job.State == JobDone, Failed: job.State == JobFailed}
	if p.CompanyID != 0 {
		var c Company
		if err := db.Where("id = ? AND account_id = ?", p.CompanyID, v.Account.ID).Take(&c).Error; err == nil {
			r.Company = c.Name
		}
	}
	var rows []struct {
		Outcome, Reason string
		N               int
	}
	if err := db.Raw("SELECT outcome, reason, COUNT(*) AS n FROM bulk_items WHERE job_id = ? GROUP BY outcome, reason", job.ID).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("bulk outcomes: %w", err)
	}
	for _, row := range rows {
		r.Total += row.N
		switch row.Outcome {
		case BulkPending:
			r.Remaining += row.N
		case BulkApplied:
			r.Applied += row.N
			r.Done += row.N
		default:
			r.Done += row.N
			r.Skipped = append(r.Skipped, BulkReason{Reason: row.Reason, Count: row.N})
		}
	}
	sort.Slice(r.Skipped, func(i, j int) bool {
		if r.Skipped[i].Count != r.Skipped[j].Count {
			return r.Skipped[i].Count > r.Skipped[j].Count
		}
		return r.Skipped[i].Reason < r.Skipped[j].Reason
	})
	if err := db.Where("job_id = ? AND outcome = ?", job.ID, BulkSkipped).Order("position").Limit(MaxReportItems).Find(&r.Items).Error; err != nil {
		return nil, fmt.Errorf("bulk outcomes: %w", err)
	}
	return r, nil
}
