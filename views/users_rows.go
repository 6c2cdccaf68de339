package views

import (
	"context"
	"html"
	"io"
	"strconv"

	"github.com/a-h/templ"

	"switchboard/models"
)

// userRows draws the rows of the users list. It is the one piece of HTML
// written in Go rather than templ, because it is the hottest: fifty rows a
// page, and templ spends two allocations on every value it prints (it
// formats each with fmt.Sprint) and more on every nested component, which
// made the rows two thirds of the cost of serving the list. Here every
// dynamic value still goes through html.EscapeString, text and attribute
// alike (attributes are all double-quoted), and nothing else is printed
// but constant markup. views/users_rows_test.go checks the escaping and
// the structure.
func userRows(p UsersProps, can rowRights) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		rw := rowWriter{w: w}
		for i := range p.Page.Rows {
			rw.row(&p.Page.Rows[i], p, can)
		}
		return rw.err
	})
}

// rowWriter writes markup and escaped text, keeping the first error.
type rowWriter struct {
	w   io.Writer
	err error
}

// raw writes constant markup.
func (rw *rowWriter) raw(s string) {
	if rw.err == nil {
		_, rw.err = io.WriteString(rw.w, s)
	}
}

// text writes s escaped, for text or a double-quoted attribute value.
func (rw *rowWriter) text(s string) { rw.raw(html.EscapeString(s)) }

func (rw *rowWriter) row(r *models.UserRow, p UsersProps, can rowRights) {
	id := idString(r.ID)
	name := r.FullName()
	rw.raw(`<tr id="u-`)
	rw.raw(id)
	rw.raw(`" data-testid="user-row" data-email="`)
	rw.text(r.Email)
	rw.raw(`"><td data-label="Name"><strong>`)
	rw.text(name)
	rw.raw(`</strong></td><td data-label="Email" class="email">`)
	rw.text(r.Email)
	rw.raw(`</td><td data-label="Type"><span class="badge" data-type="`)
	rw.text(string(r.Type))
	rw.raw(`">`)
	rw.text(r.Type.Label())
	rw.raw(`</span></td><td data-label="Companies">`)
	switch {
	case r.AllCompanies:
		rw.raw(`<span class="muted">All companies</span>`)
	case r.CompanyCount == 0:
		rw.raw(`<span class="muted">None</span>`)
	default:
		rw.raw(`<span class="company-count">`)
		rw.raw(strconv.Itoa(r.CompanyCount))
		rw.raw(`</span> `)
		for i, c := range r.Companies {
			if i > 0 {
				rw.raw(", ")
			}
			rw.text(c)
		}
		if more := moreCompanies(*r); more != "" {
			rw.raw(` <span class="muted">`)
			rw.text(more)
			rw.raw(`</span>`)
		}
	}
	rw.raw(`</td><td data-label="Status"><span class="status" data-status="`)
	rw.text(string(r.Status))
	rw.raw(`">`)
	rw.text(models.StatusLabel(r.Type, r.Status))
	rw.raw(`</span></td><td data-label="Last Active">`)
	if r.Status == models.MemberInvited {
		switch {
		case r.Invitation == nil:
			rw.raw(`<span class="muted">Invitation not sent</span>`)
		case r.Invitation.Expired:
			rw.raw(`<span class="status" data-status="expired">Expired</span>`)
		default:
			rw.raw(`<span class="small">Invited `)
			rw.text(FormatDateIn(r.Invitation.SentAt, p.Zone))
			rw.raw(` · expires `)
			rw.text(FormatDateIn(r.Invitation.ExpiresAt, p.Zone))
			rw.raw(`</span>`)
		}
		if can.manage && r.Type.CanLogIn() {
			rw.raw(` <form method="post" action="/users/`)
			rw.raw(id)
			rw.raw(`/resend" class="resend"><input type="hidden" name="_csrf" value="`)
			rw.text(can.csrf)
			// Back to this page of the list, scrolled to this row.
			rw.raw(`"><input type="hidden" name="return" value="`)
			rw.text(can.here)
			rw.raw(`#u-`)
			rw.raw(id)
			rw.raw(`"> <button type="submit" class="link-button" data-testid="resend">Resend invitation</button></form>`)
		}
	} else if !r.Type.CanLogIn() {
		rw.raw(`<span class="muted">No login</span>`)
	} else {
		rw.text(FormatLastActive(r.LastActiveAt, p.Now))
	}
	if r.DeliveryProblem != "" {
		rw.raw(`<p class="delivery-problem" data-testid="delivery-problem">⚠ Email not delivered yet: `)
		rw.text(r.DeliveryProblem)
		rw.raw(`. Still retrying.</p>`)
	}
	rw.raw(`</td>`)
	if can.edit {
		rw.raw(`<td data-label="Actions" class="member-actions"><a class="icon-button" href="/users/`)
		rw.raw(id)
		rw.raw(`" aria-label="Edit `)
		rw.text(name)
		rw.raw(`" title="Edit user" data-testid="edit-user">` + iconPencilSVG + `</a> <a class="icon-button icon-danger" href="/users/`)
		rw.raw(id)
		rw.raw(`/delete" aria-label="Delete `)
		rw.text(name)
		rw.raw(`" title="Delete user" data-testid="delete-user">` + iconTrashSVG + `</a></td>`)
	}
	rw.raw(`</tr>`)
}

// The row icons, from the cached sprite.
const (
	iconPencilSVG = `<svg class="icon" width="18" height="18" aria-hidden="true" focusable="false"><use href="/static/icons.svg#pencil"></use></svg>`
	iconTrashSVG  = `<svg class="icon" width="18" height="18" aria-hidden="true" focusable="false"><use href="/static/icons.svg#trash"></use></svg>`
)
