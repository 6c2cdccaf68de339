package models

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Inviting several people at once: the wizard's Info step holds rows of
// people who share the type, companies and message of one draft. Each row
// is checked as the one-person wizard checks its person (CheckDraft) and
// created as it creates them (CreateCheckedMember), one transaction each,
// under the same rules and limits.

// MaxInvitees bounds the people of one invitation; more come through a
// CSV import (/users/import).
const MaxInvitees = 50

// Invitee is one person, one row, of an invitation of several people.
type Invitee struct {
	FirstName, LastName, Email string
	// InviteExistingLogin: the Admin chose to invite this address although
	// it has a login in another account (as Draft.InviteExistingLogin).
	InviteExistingLogin bool
}

// Blank tells a row nothing was typed into.
func (p Invitee) Blank() bool {
	return strings.TrimSpace(p.FirstName) == "" && strings.TrimSpace(p.LastName) == "" && strings.TrimSpace(p.Email) == ""
}

// draft is the one-person draft of row p of the invitation d: the shared
// choices, the row's person, and the row's own creation key.
func (p Invitee) draft(d Draft) Draft {
	d.FirstName, d.LastName, d.Email = p.FirstName, p.LastName, p.Email
	d.InviteExistingLogin = p.InviteExistingLogin
	d.Key = InviteeKey(d.Key, p.Email)
	return d
}

// InviteeKey is the creation key of the person with this address in the
// invitation whose draft key is draftKey: the same draft and address give
// the same key, so a second submit (or a reload) finds the person the first
// created instead of inviting them twice, whatever the rows' order. It has
// the shape of a draft key.
func InviteeKey(draftKey, email string) string {
	addr, err := CanonicalEmail(email)
	if err != nil {
		addr = strings.TrimSpace(email)
	}
	sum := sha256.Sum256([]byte("switchboard invitee\x00" + draftKey + "\x00" + addr))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// InviteesCheck is the outcome of checking an invitation of several people.
type InviteesCheck struct {
	// Shared holds what the people share: the type, companies and message
	// errors, the companies resolved, and in Invalid the first step that
	// needs correcting for anyone.
	Shared *DraftCheck
	// Rows are each person's own checks: Fields holds only first_name,
	// last_name and email; Email, ExistingMember, LoginElsewhere and
	// Created are as CheckDraft finds them.
	Rows []*DraftCheck
}

// OK reports whether every person and every shared choice is valid.
func (c *InviteesCheck) OK() bool { return c.Shared.OK() }

// sharedFields are the fields of a draft every person of it shares.
var sharedFields = map[string]Step{"type": StepType, "companies": StepCompanies, "message": StepMessage}

// rowFields are a person's own fields, in page order.
var rowFields = []string{"first_name", "last_name", "email"}

// CheckInvitees checks an invitation of several people (people are its
// rows, d its shared choices) up to upTo: each row as CheckDraft checks one
// person, plus addresses that come twice in the invitation.
func (s *Store) CheckInvitees(ctx context.Context, v *Viewer, d Draft, people []Invitee, upTo Step) (*InviteesCheck, error) {
	if !CanManageUsers(v.Type()) {
		return nil, Errorf(Forbidden, "Only Admins can create users.")
	}
	if len(people) == 0 || len(people) > MaxInvitees {
		return nil, Errorf(BadRequest, "An invitation holds from 1 to %d people.", MaxInvitees)
	}
	out := &InviteesCheck{Shared: &DraftCheck{Fields: map[string]string{}, key: d.Key}}
	first := map[string]int{} // canonical address → first row with it
	for i, p := range people {
		rowUpTo := min(upTo, StepInfo)
		if i == 0 {
			rowUpTo = upTo // the shared choices are checked once
		}
		c, err := s.CheckDraft(ctx, v, p.draft(d), rowUpTo)
		if err != nil {
			return nil, fmt.Errorf("check person %d: %w", i+1, err)
		}
		for field, step := range sharedFields {
			if msg, ok := c.Fields[field]; ok {
				if i == 0 {
					out.Shared.fail(step, field, msg)
				}
				delete(c.Fields, field)
			}
		}
		if i == 0 {
			out.Shared.Companies = c.Companies
		}
		if c.Email != "" && upTo >= StepInfo {
			if j, dup := first[c.Email]; dup {
				c.Created = nil
				c.Fields["email"] = fmt.Sprintf("%s is person %d's address too: invite each person once.", c.Email, j+1)
			} else {
				first[c.Email] = i
			}
		}
		c.Invalid = 0
		if len(c.Fields) > 0 {
			c.Invalid = StepInfo
			if out.Shared.Invalid == 0 || StepInfo < out.Shared.Invalid {
				out.Shared.Invalid = StepInfo
			}
		}
		out.Rows = append(out.Rows, c)
	}
	return out, nil
}

// RowError is a row's first error, in page order ("" when it has none).
func (c *DraftCheck) RowError() string {
	for _, f := range rowFields {
		if msg := c.Fields[f]; msg != "" {
			return msg
		}
	}
	return ""
}

// InviteeOutcome is what finishing the wizard did for one person.
type InviteeOutcome struct {
	Invitee Invitee
	// Member is the person invited (or added, for a Notification user),
	// by this submit or an earlier one of the same invitation.
	Member *Membership
	// Skipped says why nobody was invited for this row; RetryAt is set
	// when a limit refused it.
	Skipped string
	RetryAt time.Time
}

// InviteesResult is what finishing an invitation of several people did.
type InviteesResult struct {
	// Check is set, and nothing written, when a shared choice (type,
	// companies, message) needs correcting.
	Check            *InviteesCheck
	Invited, Skipped []InviteeOutcome
	// Companies are the invitation's companies as checked, for the done
	// page.
	Companies []Company
}

// CreateInvitees finishes an invitation of several people: each valid row
// gets what the one-person wizard gives (CreateCheckedMember: membership,
// companies, invitation link and email, audit events), in a transaction of
// its own, keyed by InviteeKey so a second submit invites nobody twice. A
// row that fails now (the address taken meanwhile, a limit reached) is
// skipped with the reason and the others are still invited. When a shared
// choice is invalid, nothing is written and Check says why.
func (s *Store) CreateInvitees(ctx context.Context, v *Viewer, d Draft, people []Invitee, ip string) (*InviteesResult, error) {
	if !wellFormedSecret(d.Key) {
		return nil, Errorf(BadRequest, "This form is incomplete. Start again from the first step.")
	}
	check, err := s.CheckInvitees(ctx, v, d, people, d.LastStep())
	if err != nil {
		return nil, err
	}
	if len(check.Shared.Fields) > 0 {
		return &InviteesResult{Check: check}, nil
	}
	res := &InviteesResult{Companies: check.Shared.Companies}
	for i, p := range people {
		row := check.Rows[i]
		if msg := row.RowError(); msg != "" {
			res.Skipped = append(res.Skipped, InviteeOutcome{Invitee: p, Skipped: msg})
			continue
		}
		rd := p.draft(d)
		row.Companies = check.Shared.Companies
		m, _, err := s.CreateCheckedMember(ctx, v, rd, row, ip)
		var e *Error
		switch {
		case err == nil:
			res.Invited = append(res.Invited, InviteeOutcome{Invitee: p, Member: m})
		case errors.As(err, &e) && e.Code == TooManyRequests:
			res.Skipped = append(res.Skipped, InviteeOutcome{Invitee: p, Skipped: e.Message, RetryAt: e.RetryAt})
		case errors.As(err, &e) && e.Code == Invalid:
			res.Skipped = append(res.Skipped, InviteeOutcome{Invitee: p, Skipped: firstFieldError(e)})
		default:
			return nil, fmt.Errorf("invite person %d of %d: %w", i+1, len(people), err)
		}
	}
	return res, nil
}

// firstFieldError is the message of a field error, its fields in page order.
func firstFieldError(e *Error) string {
	for _, f := range slices.Concat(rowFields, []string{"companies", "message", "type"}) {
		if msg := e.Fields[f]; msg != "" {
			return msg
		}
	}
	return e.Message
}

// PastedLine is a line of pasted addresses that could not be read.
type PastedLine struct {
	Line    int    // 1-based
	Text    string // as pasted
	Message string
}

// pastedHeaderWords are the column names of a spreadsheet's header row,
// skipped when a header is pasted with the addresses.
var pastedHeaderWords = map[string]bool{"email": true, "e-mail": true, "email address": true, "first name": true,
	"last name": true, "name": true, "first": true, "last": true, "firstname": true, "lastname": true}

// ParsePastedPeople reads a pasted column of addresses into rows: a line
// holds one or more addresses ("ann@example.com", "Ann Lee
// <ann@example.com>", several separated by commas, semicolons or tabs), or
// one person's cells as a spreadsheet copies them ("Ann<TAB>Lee<TAB>
// ann@example.com"). Names are split from "Name <address>" (the first word
// is the first name) and otherwise left blank to fill. A spreadsheet's
// header row is skipped; every other line that holds no address is
// returned in bad, with the reason. Names are checked later, with the rows.
func ParsePastedPeople(text string) (people []Invitee, bad []PastedLine) {
	for n, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(strings.ReplaceAll(line, "\r", ""))
		if line == "" {
			continue
		}
		parts := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ';' || r == '\t' })
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		parts = slicesCompactEmpty(parts)
		var addrs, names []string
		for _, p := range parts {
			if strings.Contains(p, "@") {
				addrs = append(addrs, p)
			} else {
				names = append(names, p)
			}
		}
		switch {
		case len(addrs) == 0 && allHeaderWords(names):
			continue
		case len(addrs) == 0:
			bad = append(bad, PastedLine{Line: n + 1, Text: line, Message: "has no email address"})
			continue
		case len(addrs) > 1 && len(names) > 0:
			bad = append(bad, PastedLine{Line: n + 1, Text: line, Message: "mixes names with several addresses: put one person on a line"})
			continue
		}
		var lineBad []string
		var found []Invitee
		for _, a := range addrs {
			p, err := pastedPerson(a)
			if err != nil {
				lineBad = append(lineBad, fmt.Sprintf("%q is not an email address (%s)", a, strings.TrimSuffix(ErrorMessage(err), ".")))
				continue
			}
			found = append(found, p)
		}
		if len(found) == 1 && len(names) > 0 {
			// One person's cells: first name, then the rest as last name.
			found[0].FirstName = names[0]
			found[0].LastName = strings.Join(names[1:], " ")
			if len(names) == 1 {
				found[0].FirstName, found[0].LastName = splitName(names[0])
			}
		}
		if len(lineBad) > 0 {
			bad = append(bad, PastedLine{Line: n + 1, Text: line, Message: strings.Join(lineBad, "; ")})
			continue
		}
		people = append(people, found...)
	}
	return people, bad
}

// pastedPerson reads "address" or "Name <address>".
func pastedPerson(s string) (Invitee, error) {
	var p Invitee
	if open := strings.LastIndexByte(s, '<'); open >= 0 && strings.HasSuffix(s, ">") {
		p.FirstName, p.LastName = splitName(strings.Trim(strings.TrimSpace(s[:open]), `"'`))
		s = s[open+1 : len(s)-1]
	}
	addr, err := CanonicalEmail(s)
	if err != nil {
		return p, err
	}
	p.Email = addr
	return p, nil
}

// splitName splits "Ann Marie Lee" into "Ann" and "Marie Lee".
func splitName(name string) (first, last string) {
	f := strings.Fields(name)
	if len(f) == 0 {
		return "", ""
	}
	return f[0], strings.Join(f[1:], " ")
}

func allHeaderWords(names []string) bool {
	for _, n := range names {
		if !pastedHeaderWords[strings.ToLower(n)] {
			return false
		}
	}
	return len(names) > 0
}

func slicesCompactEmpty(parts []string) []string {
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
