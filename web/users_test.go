package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchboard/models"
)

// listPeople writes n people into the Admin's account, every fourth at
// @acmecalls.example, every fifth an invitee whose link has expired.
func listPeople(t *testing.T, ts *testServer, n int) {
	t.Helper()
	db := ts.store.DB()
	var admin models.Membership
	if err := db.Where("email = ?", "ada@example.com").Take(&admin).Error; err != nil {
		t.Fatal(err)
	}
	now := ts.clock.Now()
	for i := range n {
		domain := "example.org"
		if i%4 == 0 {
			domain = "acmecalls.example"
		}
		m := models.Membership{AccountID: admin.AccountID, FirstName: "Person", LastName: fmt.Sprintf("N%03d", i),
			Email: fmt.Sprintf("person.%03d@%s", i, domain), SortName: fmt.Sprintf("person n%03d", i),
			Type: models.Reporting, Status: models.MemberActive, LastActiveAt: now.Add(-time.Duration(i) * time.Minute)}
		if i%5 == 0 {
			m.Status = models.MemberInvited
		}
		if err := db.Create(&m).Error; err != nil {
			t.Fatal(err)
		}
		if m.Status == models.MemberInvited {
			if err := db.Create(&models.Token{Hash: fmt.Sprintf("%064d", i), Purpose: models.PurposeInvitation, AccountID: &admin.AccountID,
				MembershipID: &m.ID, CreatedAt: now.Add(-8 * 24 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)}).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestUsersList_TheURLHoldsTheView pages, sorts and sizes the list through
// its links, as a person clicking them would, and checks that the page
// says where it is and that the address holds everything.
func TestUsersList_TheURLHoldsTheView(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	listPeople(t, ts, 120) // with Ada: 121 people

	p := admin.get("/users?size=25")
	wantStatus(t, p, http.StatusOK)
	if n := p.doc.Find(`[data-testid="user-row"]`).Length(); n != 25 {
		t.Fatalf("%d rows on a page of 25", n)
	}
	if got := p.text(`[data-testid="position"]`); got != "1–25 of 121" {
		t.Errorf("position %q", got)
	}
	if got, _ := p.doc.Find(`th:has(a[data-sort="name"])`).Attr("aria-sort"); got != "ascending" {
		t.Errorf("the name column's aria-sort is %q", got)
	}
	// Next, Next, then Previous: the position follows.
	next := func(p *page, rel string) *page {
		t.Helper()
		href, ok := p.doc.Find(`a[rel="` + rel + `"]`).Attr("href")
		if !ok {
			t.Fatalf("no %s link", rel)
		}
		if !strings.Contains(href, "size=25") {
			t.Errorf("the %s link %q forgets the page size", rel, href)
		}
		return admin.get(href)
	}
	p2 := next(p, "next")
	p3 := next(p2, "next")
	back := next(p3, "prev")
	for _, c := range []struct {
		p    *page
		want string
	}{{p2, "26–50 of 121"}, {p3, "51–75 of 121"}, {back, "26–50 of 121"}} {
		if got := c.p.text(`[data-testid="position"]`); got != c.want {
			t.Errorf("position %q, want %q", got, c.want)
		}
	}
	if back.text(`[data-testid="user-row"] td.person .email`) != p2.text(`[data-testid="user-row"] td.person .email`) {
		t.Error("Previous from the third page is not the second")
	}

	// A single page says where it is, with no Previous or Next to press.
	one := admin.get("/users?size=25&q=ada")
	if got := one.text(`[data-testid="position"]`); got != "1–1 of 1" || one.doc.Find(`nav.pager, a[rel], .pager .button`).Length() != 0 {
		t.Errorf("a single page: position %q, with %d pager controls", got, one.doc.Find(`nav.pager, a[rel], .pager .button`).Length())
	}

	// Sorting by email, then the other way round; the page size stays.
	href, _ := p.doc.Find(`a[data-sort="email"]`).Attr("href")
	byEmail := admin.get(href)
	if got, _ := byEmail.doc.Find(`th:has(a[data-sort="email"])`).Attr("aria-sort"); got != "ascending" || !strings.Contains(href, "size=25") {
		t.Errorf("sorted by email: aria-sort %q, link %q", got, href)
	}
	href, _ = byEmail.doc.Find(`a[data-sort="email"]`).Attr("href")
	reversed := admin.get(href)
	if got, _ := reversed.doc.Find(`th:has(a[data-sort="email"])`).Attr("aria-sort"); got != "descending" || !strings.Contains(href, "dir=desc") {
		t.Errorf("sorted by email the other way: aria-sort %q, link %q", got, href)
	}
	if first := reversed.doc.Find(`[data-testid="user-row"]`).First().AttrOr("data-email", ""); first != "person.119@example.org" {
		t.Errorf("the last address first: %q", first)
	}
	// Every size is offered; the filters keep the sort and size.
	if got := p.text(`[data-testid="page-size"]`); got != "Show 25 50 100 per page" {
		t.Errorf("page sizes %q", got)
	}
	if v, _ := reversed.doc.Find(`form.filters input[name="dir"]`).Attr("value"); v != "desc" {
		t.Errorf("the filter form forgets the direction (%q)", v)
	}

	// A domain, an expired invitation, a search with LIKE's wildcards.
	if got := admin.get("/users?q=acmecalls").text(`[data-testid="user-count"]`); got != "30 people match these filters" {
		t.Errorf("searching a domain: %q", got)
	}
	expired := admin.get("/users?status=expired")
	if got := expired.text(`[data-testid="user-count"]`); got != "24 people match these filters" {
		t.Errorf("expired invitations: %q", got)
	}
	if n := expired.doc.Find(`[data-testid="user-row"] [data-status="expired"]`).Length(); n != 24 {
		t.Errorf("%d rows show an expired invitation", n)
	}
	if got := admin.get("/users?q=" + url.QueryEscape("per%on")).text(`[data-testid="empty"]`); !strings.Contains(got, "No one matches") {
		t.Errorf("a literal %% matched: %q", got)
	}

	// A view that cannot be is refused, not guessed.
	for _, q := range []string{"sort=phone", "dir=up", "size=10", "size=x", "status=gone", "type=boss", "after=garbage",
		"sort=email&after=" + url.QueryEscape(p.doc.Find(`a[rel="next"]`).AttrOr("href", ""))} {
		if got := admin.get("/users?" + q); got.status != http.StatusBadRequest {
			t.Errorf("/users?%s: status %d, want 400", q, got.status)
		}
	}
}

// TestUsersList_ResendFromTheRow: the row's Resend button submits the one
// form on the page, which carries the token, to the person's resend.
func TestUsersList_ResendFromTheRow(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	listPeople(t, ts, 5)
	p := admin.get("/users?status=expired")
	button := p.doc.Find(`[data-testid="resend"]`).First()
	form, _ := button.Attr("form")
	action, _ := button.Attr("formaction")
	token, _ := p.doc.Find("form#" + form + ` input[name="_csrf"]`).Attr("value")
	if form == "" || !strings.HasSuffix(action, "/resend") || token == "" {
		t.Fatalf("button form %q, action %q, token %q", form, action, token)
	}
	sent := admin.post(action, url.Values{"_csrf": {token}})
	wantStatus(t, sent, http.StatusSeeOther)
	if got := admin.get("/users?status=expired").text(`[data-testid="user-count"]`); got != "No one matches these filters." && !strings.HasPrefix(got, "0 people") {
		t.Errorf("after the resend: %q", got)
	}
}

// TestUsersExport_TheViewAndOnlyWhomTheViewerMaySee: the export holds the
// view's people (its filters applied, every page), as a download, and a
// Manager's holds only the people he may see; a company outside his scope
// is answered 404.
func TestUsersExport_TheViewAndOnlyWhomTheViewerMaySee(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	admin := ts.login("ada@example.com", strongPassword)
	exported := func(b *browser, path string) []string {
		t.Helper()
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		if ct := p.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("%s: content type %q", path, ct)
		}
		if cd := p.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="users-`) {
			t.Errorf("%s: disposition %q", path, cd)
		}
		if !strings.HasPrefix(p.body, "\uFEFFFirst name,Last name,Email,Type,Companies,Status,") {
			t.Fatalf("%s: starts %q", path, p.body[:min(len(p.body), 60)])
		}
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(p.body), "\r\n")[1:] {
			out = append(out, strings.Split(line, ",")[2])
		}
		return out
	}
	everyone := exported(admin, "/users/export.csv")
	if len(everyone) != 8 {
		t.Errorf("the Admin's export holds %v, want the account's 8 people", everyone)
	}
	if got := exported(admin, "/users/export.csv?type=reporting&sort=email&dir=desc"); strings.Join(got, " ") != "sam@example.com rita@example.com olly@example.com gus@example.com" {
		t.Errorf("the Reporting users, Z to A: %v", got)
	}
	max := ts.login("max@example.com", strongPassword)
	mine := exported(max, "/users/export.csv")
	if strings.Join(mine, " ") != "ada@example.com gus@example.com max@example.com nora@example.com rita@example.com sam@example.com" {
		t.Errorf("the Manager's export holds %v", mine)
	}
	// The export link of the page is the view.
	if href, _ := admin.get("/users?q=example&status=active").doc.Find(`[data-testid="export"]`).Attr("href"); href != "/users/export.csv?q=example&status=active" {
		t.Errorf("the page's export link is %q", href)
	}
	wantStatus(t, max.get(fmt.Sprintf("/users/export.csv?company=%d", tn.other)), http.StatusNotFound)
	wantStatus(t, admin.get(fmt.Sprintf("/users/export.csv?company=%d", tn.foreign)), http.StatusNotFound)
	wantStatus(t, admin.get("/users/export.csv?sort=phone"), http.StatusBadRequest)
	wantStatus(t, ts.browser().get("/users/export.csv"), http.StatusSeeOther)
}
