package models

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// Export of the users list: every person a view matches (not just its
// page), in the view's order, as CSV. It reads the people in batches along
// the order's index and writes each batch before reading the next, so
// memory stays the same whatever the account's size.
//
// The columns are the import template's (first name, last name, email,
// type, companies) followed by what the list shows of each person, so an
// export from one account can be imported into another.

// exportBatch is how many people an export reads at a time (tests
// lower it with SetExportBatch to cross batches in a small account).
const exportBatch = 1000

// exportTimeLayout is how times are written: one a spreadsheet reads.
const exportTimeLayout = "2006-01-02 15:04"

// companySeparator separates the companies in a cell (names may hold commas).
const companySeparator = "; "

// ExportUsers writes every person of the view the viewer may see to w as
// CSV: UTF-8 with a byte-order mark, so spreadsheet programs read names
// such as "Müller" right, and with cells that would start a formula
// neutralised. Times are written in loc. The filter's page position and
// size are ignored.
func (s *Store) ExportUsers(ctx context.Context, v *Viewer, f UserFilter, loc *time.Location, w io.Writer) error {
	f.After, f.Before, f.Size = "", "", 0
	f, err := CleanUserFilter(f)
	if err != nil {
		return err
	}
	db := s.db.WithContext(ctx)
	q, err := s.newListQuery(db, v, f)
	if err != nil {
		return err
	}
	companies, err := s.activeCompanies(ctx, v)
	if err != nil {
		return err
	}
	buf := bufio.NewWriterSize(w, 64<<10)
	if _, err := buf.WriteString("\uFEFF"); err != nil {
		return fmt.Errorf("export users: %w", err)
	}
	out := csv.NewWriter(buf)
	out.UseCRLF = true // what spreadsheet programs write
	if err := out.Write(MemberCSVHeader); err != nil {
		return fmt.Errorf("export users: %w", err)
	}
	cell := make([]string, len(MemberCSVHeader))
	var names strings.Builder
	var p position
	for {
		members, err := q.walk(db, p, s.exportBatch())
		if err != nil {
			return err
		}
		if len(members) == 0 {
			break
		}
		ids := make([]uint, 0, len(members))
		var invited []uint
		for i := range members {
			ids = append(ids, members[i].ID)
			if members[i].Status == MemberInvited {
				invited = append(invited, members[i].ID)
			}
		}
		ranks, err := s.memberCompanyRanks(db, v.Account.ID, companies, q.scope, ids)
		if err != nil {
			return err
		}
		expires, err := s.invitationExpiries(ctx, invited)
		if err != nil {
			return err
		}
		for i := range members {
			m := &members[i]
			names.Reset()
			if m.Type.SeesAllCompanies() {
				names.WriteString(allCompanies)
			}
			for j, r := range ranks[m.ID] {
				if j > 0 {
					names.WriteString(companySeparator)
				}
				names.WriteString(companies[r].Name)
			}
			exp, hasExp := expires[m.ID]
			cell[0], cell[1], cell[2] = m.FirstName, m.LastName, m.Email
			cell[3], cell[4] = m.Type.Label(), names.String()
			cell[5] = exportStatus(m.Status, hasExp && !q.now.Before(exp))
			cell[6], cell[7], cell[8] = "", "", ""
			if !m.LastActiveAt.IsZero() {
				cell[6] = m.LastActiveAt.In(loc).Format(exportTimeLayout)
			}
			if m.InvitedAt != nil {
				cell[7] = m.InvitedAt.In(loc).Format(exportTimeLayout)
			}
			if hasExp {
				cell[8] = exp.In(loc).Format(exportTimeLayout)
			}
			for k := range cell {
				cell[k] = NeutraliseCSVCell(cell[k])
			}
			if err := out.Write(cell); err != nil {
				return fmt.Errorf("export users: %w", err)
			}
		}
		out.Flush()
		if err := out.Error(); err != nil {
			return fmt.Errorf("export users: %w", err)
		}
		if len(members) < s.exportBatch() {
			break
		}
		last := &members[len(members)-1]
		p = position{at: &listCursor{sort: f.Sort, desc: f.Desc(), id: last.ID, key: q.order.key(last)}}
	}
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("export users: %w", err)
	}
	return nil
}

// invitationExpiries returns when each invitee's current link expires.
func (s *Store) invitationExpiries(ctx context.Context, invited []uint) (map[uint]time.Time, error) {
	out := make(map[uint]time.Time, len(invited))
	if len(invited) == 0 {
		return out, nil
	}
	rows, err := s.db.WithContext(ctx).Raw("SELECT id, invitation_expires_at FROM memberships WHERE "+s.inIDs("id")+
		" AND invitation_expires_at IS NOT NULL", s.idsArg(invited)).Rows()
	if err != nil {
		return nil, fmt.Errorf("invitations of users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uint
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("invitations of users: %w", err)
		}
		out[id] = at
	}
	return out, rows.Err()
}

// exportStatus is a person's status as the list shows it.
func exportStatus(st MemberStatus, expired bool) string {
	switch {
	case st == MemberInvited && expired:
		return "Invitation expired"
	case st == MemberInvited:
		return "Invited"
	case st == MemberActive:
		return "Active"
	case st == MemberDisabled:
		return "Disabled"
	}
	return string(st)
}

// NeutraliseCSVCell keeps a spreadsheet from reading a cell as a formula
// (CSV injection): a value that starts with =, +, -, @, a tab or a
// carriage return gets a leading apostrophe, which spreadsheet programs
// show as text and do not evaluate.
func NeutraliseCSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func (s *Store) exportBatch() int {
	if s.exportBatchSize > 0 {
		return s.exportBatchSize
	}
	return exportBatch
}
