package views

import (
	"bytes"
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/models"
)

// UsersProps is the users list page.
type UsersProps struct {
	Page      *models.UserPage
	Filter    models.UserFilter // cleaned: Sort and Size set
	Companies []models.Company
	Now       time.Time
	// Zone is the viewer's time zone: the rows' dates are in it.
	Zone *time.Location
	// IncomingRequests counts access requests waiting for an Admin.
	IncomingRequests int64
	// BulkKey is the bulk form's one-time key (a double submit starts
	// one job).
	BulkKey string
	// Rows are Page's rows as UserRowsHTML renders them.
	Rows string
}

// UserRowsHTML renders the rows of p.Page (UserRows) as v sees them.
func UserRowsHTML(v *models.Viewer, p UsersProps) (string, error) {
	var b bytes.Buffer
	b.Grow(2048 * len(p.Page.Rows))
	if err := UserRows(p).Render(WithChrome(context.Background(), Chrome{Viewer: v}), &b); err != nil {
		return "", err
	}
	return b.String(), nil
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

// usersURL is the address of a view of the list: the URL holds all of it,
// so a view can be bookmarked and shared. Defaults are left out.
func usersURL(f models.UserFilter) string {
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
	if f.Sort != "" && f.Sort != models.SortByName {
		q.Set("sort", f.Sort)
	}
	if f.Dir != "" && f.Dir != naturalDir(f.Sort) {
		q.Set("dir", f.Dir)
	}
	if f.Size != 0 && f.Size != models.DefaultPageSize {
		q.Set("size", strconv.Itoa(f.Size))
	}
	if f.After != "" {
		q.Set("after", f.After)
	}
	if f.Before != "" {
		q.Set("before", f.Before)
	}
	if len(q) == 0 {
		return "/users"
	}
	return "/users?" + q.Encode()
}

// naturalDir is the direction a sort runs unless asked otherwise.
func naturalDir(sort string) string {
	if (models.UserFilter{Sort: sort}).Desc() {
		return models.Descending
	}
	return models.Ascending
}

// firstPage is the view from its first page.
func firstPage(f models.UserFilter) models.UserFilter {
	f.After, f.Before = "", ""
	return f
}

// sortedURL is the first page sorted by a column: the other way if it is
// the column sorted by now, else its natural way.
func sortedURL(f models.UserFilter, sort string) string {
	f = firstPage(f)
	if f.Sort == sort {
		f.Dir = models.Ascending
		if !f.Desc() {
			f.Dir = models.Descending
		}
	} else {
		f.Sort, f.Dir = sort, ""
	}
	return usersURL(f)
}

// sizedURL is the first page with another page size.
func sizedURL(f models.UserFilter, size int) string {
	f = firstPage(f)
	f.Size = size
	return usersURL(f)
}

// pageURL is the page after (or before) a cursor.
func pageURL(f models.UserFilter, after, before string) string {
	f.After, f.Before = after, before
	return usersURL(f)
}

// ariaSort is a column header's aria-sort: the direction it sorts the list
// by, or none.
func ariaSort(f models.UserFilter, sort string) string {
	switch {
	case f.Sort != sort:
		return "none"
	case f.Desc():
		return "descending"
	}
	return "ascending"
}

// sortArrow shows the direction of the sorted column.
func sortArrow(f models.UserFilter, sort string) string {
	switch {
	case f.Sort != sort:
		return ""
	case f.Desc():
		return "↓"
	}
	return "↑"
}

func sortTitle(f models.UserFilter, sort, label string) string {
	if f.Sort == sort {
		return "Sort by " + label + ", the other way"
	}
	return "Sort by " + label
}

// countLabel says how many people the view matches.
func countLabel(p *models.UserPage) string {
	n := FormatCount(p.Total)
	switch {
	case p.TotalAtLeast:
		return "At least " + n + " people"
	case p.Total == 1:
		return "1 person"
	}
	return n + " people"
}

// positionLabel is where the page is: "51–100 of 2,546".
func positionLabel(p *models.UserPage) string {
	if len(p.Rows) == 0 {
		return ""
	}
	total := FormatCount(p.Total)
	if p.TotalAtLeast {
		total += " or more"
	}
	return FormatCount(p.Start+1) + "–" + FormatCount(p.Start+int64(len(p.Rows))) + " of " + total
}

func statusFilterLabel(s models.ListStatus) string {
	switch s {
	case models.ListActive:
		return "Active"
	case models.ListInvited:
		return "Invited (pending)"
	case models.ListExpired:
		return "Invitation expired"
	case models.ListDisabled:
		return "Disabled"
	}
	return string(s)
}

// rowStatus is the status a row shows: a member's status, with an
// invitation whose link has expired shown as that.
func rowStatus(r *models.UserRow) (key, label string) {
	switch {
	case r.Status == models.MemberInvited && r.Invitation != nil && r.Invitation.Expired:
		return "expired", "Invitation expired"
	case r.Status == models.MemberInvited:
		return "invited", "Invited"
	case r.Status == models.MemberActive:
		return "active", models.StatusLabel(r.Type, r.Status)
	case r.Status == models.MemberDisabled:
		return "disabled", "Disabled"
	}
	return string(r.Status), string(r.Status)
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

func moreCompanies(r *models.UserRow) string {
	if extra := r.CompanyCount - len(r.Companies); extra > 0 {
		return "+" + strconv.Itoa(extra) + " more"
	}
	return ""
}

func companyList(r *models.UserRow) string {
	out := ""
	for i, c := range r.Companies {
		if i > 0 {
			out += ", "
		}
		out += c
	}
	return out
}

func invitedOn(r *models.UserRow, zone *time.Location) string {
	if r.InvitedAt == nil {
		return ""
	}
	return FormatDateIn(*r.InvitedAt, zone)
}

// maxCompanyOptions is the most companies the filter lists as options.
const maxCompanyOptions = 25

// filterCompany is the company the list is filtered by, or nil.
func filterCompany(p UsersProps) *models.Company {
	if p.Filter.CompanyID != 0 {
		for i := range p.Companies {
			if p.Companies[i].ID == p.Filter.CompanyID {
				return &p.Companies[i]
			}
		}
	}
	return nil
}

// withCompany is the first page of the view filtered by another company
// (0: every company).
func withCompany(f models.UserFilter, id uint) models.UserFilter {
	f = firstPage(f)
	f.CompanyID = id
	return f
}

// companyPickerURL is the page that chooses the company of a view.
func companyPickerURL(f models.UserFilter) string {
	return "/users/company" + strings.TrimPrefix(usersURL(firstPage(f)), "/users")
}

// CompanyPickerProps is the page that chooses the company the list is
// filtered by.
type CompanyPickerProps struct {
	Filter    models.UserFilter
	Companies []models.Company // those whose name contains Find
	Total     int              // companies the viewer may see
	Find      string
}

// personAriaSort is the aria-sort of the column that holds the name and
// the email address: the direction of whichever of them sorts the list.
func personAriaSort(f models.UserFilter) string {
	if f.Sort == models.SortByEmail {
		return ariaSort(f, models.SortByEmail)
	}
	return ariaSort(f, models.SortByName)
}

// invitationDetail is where an invitee's link stands, for the status's
// tooltip: "Sent 3 Nov 2026 · expires 10 Nov 2026".
func invitationDetail(r *models.UserRow, zone *time.Location) string {
	switch {
	case r.Status != models.MemberInvited:
		return ""
	case r.Invitation == nil:
		return "Invitation not sent"
	case r.Invitation.Expired:
		return "Sent " + FormatDateIn(r.Invitation.SentAt, zone) + " · expired " + FormatDateIn(r.Invitation.ExpiresAt, zone)
	}
	return "Sent " + FormatDateIn(r.Invitation.SentAt, zone) + " · expires " + FormatDateIn(r.Invitation.ExpiresAt, zone)
}

// moreSuffix says, in a tooltip, that a row names only some companies.
func moreSuffix(r *models.UserRow) string {
	if more := moreCompanies(r); more != "" {
		return " (" + more + ")"
	}
	return ""
}

// rowRights is what the viewer may do from a row, worked out once a page
// rather than fifty times.
type rowRights struct {
	edit, manage, bulk bool
	// zone is the viewer's time zone, the rows' dates are in it; here is
	// this page of the list (filters, sort, position), where a row's
	// actions come back to.
	zone *time.Location
	here string
}

func rowRightsOf(ctx context.Context, p UsersProps) rowRights {
	t := viewer(ctx).Type()
	f := p.Filter
	return rowRights{edit: models.CanEditMember(t), manage: models.CanManageUsers(t), bulk: canBulk(t), zone: p.Zone, here: usersURL(f)}
}

// canResend reports whether a row offers "Resend invitation".
func (can rowRights) canResend(r *models.UserRow) bool {
	return can.manage && r.Status == models.MemberInvited && r.Type.CanLogIn()
}

func resendAction(r *models.UserRow) string { return "/users/" + idString(r.ID) + "/resend" }

// exportURL is the CSV export of a view: all its pages.
func exportURL(f models.UserFilter) string {
	return "/users/export.csv" + strings.TrimPrefix(usersURL(firstPage(f)), "/users")
}

// rowID is a row's anchor, where its actions come back to.
func userRowID(r *models.UserRow) string { return "u-" + idString(r.ID) }

// returnTo is this page of the list, scrolled to r's row.
func (can rowRights) returnTo(r *models.UserRow) string { return can.here + "#" + userRowID(r) }
