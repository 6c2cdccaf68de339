package views

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"switchboard/models"
)

// UsersProps is the users list page.
type UsersProps struct {
	Page      *models.UserPage
	Filter    models.UserFilter
	Companies []models.Company
	Now       time.Time
	// Zone is the viewer's time zone: the rows' dates are in it.
	Zone *time.Location
	// IncomingRequests counts access requests waiting for an Admin.
	IncomingRequests int64
}

func pluralWord(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Filtered reports whether anything narrows the list.
func (p UsersProps) Filtered() bool {
	f := p.Filter
	return f.Query != "" || f.Type != "" || f.Status != "" || f.CompanyID != 0
}

// usersURL is the address of the list with the same filters and a new
// position or sort.
func usersURL(f models.UserFilter, sort, after, before string) string {
	q := url.Values{}
	if f.Query != "" {
		q.Set("q", f.Query)
	}
	if f.Type != "" {
		q.Set("type", string(f.Type))
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.CompanyID != 0 {
		q.Set("company", idString(f.CompanyID))
	}
	if sort != "" && sort != models.SortByName {
		q.Set("sort", sort)
	}
	if after != "" {
		q.Set("after", after)
	}
	if before != "" {
		q.Set("before", before)
	}
	if len(q) == 0 {
		return "/users"
	}
	return "/users?" + q.Encode()
}

func countLabel(n int64) string {
	if n == 1 {
		return "1 person"
	}
	return FormatCount(n) + " people"
}

func statusLabel(s models.MemberStatus) string {
	switch s {
	case models.MemberInvited:
		return "Invited"
	case models.MemberActive:
		return "Active"
	case models.MemberDisabled:
		return "Disabled"
	}
	return string(s)
}

func moreCompanies(r models.UserRow) string {
	if extra := r.CompanyCount - len(r.Companies); extra > 0 {
		return "+" + strconv.Itoa(extra) + " more"
	}
	return ""
}

// maxCompanyOptions is the most companies the filter lists as options.
const maxCompanyOptions = 25

// filterCompany is the company the "Only …" filter offers: the one filtered
// by, else the one being worked in.
func filterCompany(p UsersProps, current *models.Company) *models.Company {
	if p.Filter.CompanyID != 0 {
		for i := range p.Companies {
			if p.Companies[i].ID == p.Filter.CompanyID {
				return &p.Companies[i]
			}
		}
	}
	return current
}

// rowRights is what the viewer may do from a row, worked out once a page
// rather than fifty times.
type rowRights struct {
	edit, manage bool
	csrf         string
	// here is this page of the list (filters, sort, position), where a
	// row's actions come back to.
	here string
}

func rowRightsOf(ctx context.Context, p UsersProps) rowRights {
	t := viewer(ctx).Type()
	f := p.Filter
	return rowRights{edit: models.CanEditMember(t), manage: models.CanManageUsers(t), csrf: csrfToken(ctx),
		here: usersURL(f, f.Sort, f.After, f.Before)}
}
