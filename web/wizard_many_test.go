package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
)

// manyForm is the wizard's form with rows of people (first, last, email).
func manyForm(key, typ string, people [][3]string, companies ...string) url.Values {
	f := url.Values{"key": {key}, "type": {typ}, "company": companies}
	for _, p := range people {
		f.Add("first_name", p[0])
		f.Add("last_name", p[1])
		f.Add("email", p[2])
	}
	return f
}

// with returns the form with extra values.
func with(f url.Values, kv ...string) url.Values {
	f = cloneValues(f)
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	return f
}

// rowsOf reads the Info step's rows back as (first, last, email).
func rowsOf(p *page) [][3]string {
	var out [][3]string
	p.doc.Find(`[data-testid="person-row"]`).Each(func(_ int, row *goquery.Selection) {
		out = append(out, [3]string{row.Find(`input[name="first_name"]`).AttrOr("value", ""),
			row.Find(`input[name="last_name"]`).AttrOr("value", ""), row.Find(`input[name="email"]`).AttrOr("value", "")})
	})
	return out
}

func summaryLinks(p *page) []string {
	var out []string
	p.doc.Find(`[data-testid="error-summary"] a`).Each(func(_ int, a *goquery.Selection) {
		out = append(out, a.AttrOr("href", "")+" "+strings.TrimSpace(a.Text()))
	})
	return out
}

// Without script: "+ Add another person" sends the form and comes back
// with one more row, what was typed kept, the new row's first name focused
// and labelled with its number; Remove takes a row away, and one row left
// is the one-person wizard again.
func TestWizardMany_AddAndRemoveRowsWithoutScript(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	wantStatus(t, admin.post("/users/new/type", manyForm(key, "reporting", nil)), http.StatusOK)

	one := [][3]string{{"Ann", "Lee", "ann@example.com"}}
	p := admin.post("/users/new/info", with(manyForm(key, "reporting", one), "go", "add"))
	wantStatus(t, p, http.StatusOK)
	if got := rowsOf(p); fmt.Sprint(got) != fmt.Sprint([][3]string{{"Ann", "Lee", "ann@example.com"}, {"", "", ""}}) {
		t.Fatalf("rows after add: %v", got)
	}
	if p.doc.Find("[autofocus]").Length() != 1 || p.doc.Find("#f-first_name-2[autofocus]").Length() != 1 {
		t.Error("the new row's first name does not take the focus")
	}
	if got := strings.Join(strings.Fields(p.doc.Find(`label[for="f-email-2"]`).Text()), " "); got != "Email, person 2" {
		t.Errorf("label of the second email = %q", got)
	}
	if p.doc.Find(`label[for="f-first_name"]`).Length() != 1 || p.doc.Find(`[data-testid="error-summary"]`).Length() != 0 {
		t.Error("first row's field IDs changed, or adding a row showed errors")
	}

	two := [][3]string{{"Ann", "Lee", "ann@example.com"}, {"Bob", "Ray", "bob@example.com"}}
	p = admin.post("/users/new/info", with(manyForm(key, "reporting", two), "go", "remove:1"))
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find(`[data-testid="person-row"]`).Length() != 0 || p.doc.Find(`#f-first_name`).AttrOr("value", "") != "Bob" ||
		p.doc.Find(`#f-email`).AttrOr("value", "") != "bob@example.com" {
		t.Errorf("after removing person 1, the one-person form does not show Bob: %v", rowsOf(p))
	}
	// A row that is not there, or Remove on the last person, is refused.
	wantStatus(t, admin.post("/users/new/info", with(manyForm(key, "reporting", two), "go", "remove:3")), http.StatusBadRequest)
	wantStatus(t, admin.post("/users/new/info", with(manyForm(key, "reporting", one), "go", "remove:1")), http.StatusBadRequest)
	// Rows are changed on the Info step only.
	wantStatus(t, admin.post("/users/new/message", with(manyForm(key, "reporting", two), "go", "add")), http.StatusBadRequest)
	// Rows that do not line up are a broken form.
	f := manyForm(key, "reporting", two)
	f["last_name"] = f["last_name"][:1]
	wantStatus(t, admin.post("/users/new/info", f), http.StatusBadRequest)

	// At most 50 people: the 51st row is refused, with the reason.
	var fifty [][3]string
	for i := range models.MaxInvitees {
		fifty = append(fifty, [3]string{"P", fmt.Sprint(i), fmt.Sprintf("p%d@example.com", i)})
	}
	p = admin.post("/users/new/info", with(manyForm(key, "reporting", fifty), "go", "add"))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if links := summaryLinks(p); len(links) != 1 || !strings.HasPrefix(links[0], "#f-add One invitation holds up to 50 people") {
		t.Errorf("summary: %v", links)
	}
	if len(rowsOf(p)) != 50 || p.doc.Find(`#f-add[aria-describedby="e-add"]`).Length() != 1 {
		t.Error("the rows or the error of the add button are lost")
	}
	fifty = append(fifty, [3]string{"One", "Toomany", "x@example.com"})
	wantStatus(t, admin.post("/users/new/info", manyForm(key, "reporting", fifty)), http.StatusBadRequest)
}

// Pasting a column of addresses fills rows (a blank row first); lines that
// hold no address stay in the box with their own error, and the summary
// links to it.
func TestWizardMany_PasteAColumnOfEmails(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	blank := [][3]string{{"", "", ""}}
	paste := "ann@example.com\nBob Ray <bob@example.com>\nCy\tDee\tcy@example.com\nnobody here\n"
	p := admin.post("/users/new/info", with(manyForm(key, "manager", blank), "go", "paste", "paste", paste))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	want := [][3]string{{"", "", "ann@example.com"}, {"Bob", "Ray", "bob@example.com"}, {"Cy", "Dee", "cy@example.com"}}
	if got := rowsOf(p); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if got := p.doc.Find(`#f-paste`).Text(); got != "nobody here" {
		t.Errorf("paste box keeps %q", got)
	}
	if links := summaryLinks(p); len(links) != 1 || links[0] != "#f-paste Pasted line 4, “nobody here”, has no email address." {
		t.Errorf("summary %v", links)
	}
	if _, open := p.doc.Find(`[data-testid="paste-people"]`).Attr("open"); !open || p.doc.Find(`#f-paste[aria-invalid="true"]`).Length() != 1 {
		t.Error("the paste box with an error is closed or not marked")
	}

	// Next with text in the box adds it first (nothing typed is dropped),
	// and stays on the step.
	p = admin.post("/users/new/info", with(manyForm(key, "manager", want), "go", "next", "paste", "dee@example.com"))
	wantStatus(t, p, http.StatusOK)
	if got := rowsOf(p); len(got) != 4 || got[3][2] != "dee@example.com" || p.doc.Find("#f-first_name-4[autofocus]").Length() != 1 {
		t.Errorf("rows %v", got)
	}
	// An empty paste is an error of its own.
	p = admin.post("/users/new/info", with(manyForm(key, "manager", want), "go", "paste", "paste", " \n "))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if links := summaryLinks(p); len(links) != 1 || !strings.Contains(links[0], "Paste at least one email address") {
		t.Errorf("summary %v", links)
	}
}

// Each row has its own errors next to its own fields; the summary lists
// them by person with links to the fields; 422.
func TestWizardMany_EachRowItsOwnErrors(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	rows := [][3]string{
		{"Ann", "Lee", "ann@example.com"},
		{"", "Ray", "bob@"},
		{"Ann", "Again", "ANN@example.com"},
		{"Ada", "Admin", "ada@example.com"},
		{"=cmd", "Ok", "eq@example.com"},
	}
	p := admin.post("/users/new/info", manyForm(key, "reporting", rows))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	want := []string{
		"#f-first_name-2 Person 2: Enter the first name.",
		"#f-email-2 Person 2: Enter an email address like name@example.com.",
		"#f-email-3 Person 3: ann@example.com is person 1's address too: invite each person once.",
		"#f-email-4 Person 4: Ada Admin is already a user of this account.",
	}
	if got := summaryLinks(p); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("summary:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, id := range []string{"first_name-2", "email-2", "email-3", "email-4"} {
		if p.doc.Find(fmt.Sprintf(`#f-%s[aria-invalid="true"][aria-describedby="e-%s"]`, id, id)).Length() != 1 || p.doc.Find("#e-"+id).Length() != 1 {
			t.Errorf("field %s is not marked and tied to its error", id)
		}
	}
	if p.doc.Find(`#f-email[aria-invalid]`).Length() != 0 || p.doc.Find(`[data-testid="already-member"] a`).Length() != 1 {
		t.Error("person 1 marked, or no link to the person already in the account")
	}
	if got := rowsOf(p); fmt.Sprint(got) != fmt.Sprint(rows) {
		t.Errorf("rows not kept as typed: %v", got)
	}
}

// The whole journey: three people through every step, the done page lists
// them with links; each has the membership, companies, an invitation and
// the audit events; a second submit invites nobody twice; a person whose
// address was taken meanwhile is skipped with the reason.
func TestWizardMany_FinishInvitesEveryoneOnce(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	roofing := ts.addCompany("Acme Roofing")
	key := admin.startWizard()
	rows := [][3]string{{"Ann", "Lee", "ann@example.com"}, {"Bob", "Ray", "bob@example.com"}, {"Cy", "Dee", "cy@example.com"}, {"Di", "Eve", "di@example.com"}}
	f := manyForm(key, "reporting", rows, plumbing, roofing)
	f.Set("message", "Welcome, all of you")
	wantStatus(t, admin.post("/users/new/type", f), http.StatusOK)
	p := admin.post("/users/new/info", f)
	wantStatus(t, p, http.StatusOK)
	if got := p.text("legend"); !strings.Contains(got, "Which companies will these 4 people see?") {
		t.Errorf("companies step: %q", got)
	}
	// The rows travel through the companies step in hidden fields.
	if n := p.doc.Find(`input[type="hidden"][name="email"]`).Length(); n != 4 {
		t.Fatalf("%d hidden addresses on the companies step", n)
	}
	p = admin.post("/users/new/companies", f)
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`[data-testid="people-summary"]`); !strings.Contains(got, "Cy Dee · cy@example.com") || p.text(".wizard-actions .button-primary") != "Send 4 invitations" {
		t.Errorf("message step: %q / %q", got, p.text(".wizard-actions .button-primary"))
	}
	// Back and forward keep the rows.
	back := admin.post("/users/new/message", with(f, "go", "to:info"))
	if got := rowsOf(back); fmt.Sprint(got) != fmt.Sprint(rows) {
		t.Errorf("rows after going back: %v", got)
	}
	// Someone else takes Di's address before the finish.
	ts.addPerson(person{typ: models.Reporting, first: "Dio", email: "di@example.com"})

	p = admin.post("/users/new/message", f)
	wantStatus(t, p, http.StatusOK)
	var links []string
	p.doc.Find(`[data-testid="invited-people"] a`).Each(func(_ int, a *goquery.Selection) { links = append(links, a.AttrOr("href", "")) })
	if len(links) != 3 {
		t.Fatalf("done page links %v: %s", links, p.text(`[data-testid="invited"]`))
	}
	if got := p.text(`[data-testid="skipped-people"]`); !strings.Contains(got, "Di Eve · di@example.com: Dio Tester is already a user of this account.") {
		t.Errorf("skipped: %q", got)
	}
	if got := p.text("h1"); got != "3 people invited" {
		t.Errorf("title %q", got)
	}
	if got := p.text(`[data-testid="invited-companies"]`); got != "Companies: Acme Plumbing, Acme Roofing" {
		t.Errorf("the done page's companies: %q", got)
	}
	for i, r := range rows[:3] {
		m := ts.memberByEmail(r[2])
		if links[i] != fmt.Sprintf("/users/%d", m.ID) || m.Type != models.Reporting || m.Status != models.MemberInvited {
			t.Errorf("%s: link %s, %+v", r[2], links[i], m)
		}
		for _, co := range []string{plumbing, roofing} {
			var id uint
			fmt.Sscan(co, &id)
			if !ts.assigned(m.ID, id) {
				t.Errorf("%s not in company %s", r[2], co)
			}
		}
		if n := ts.outboxTo(r[2], "invitation"); n != 1 {
			t.Errorf("%s: %d invitations", r[2], n)
		}
		if _, secret := ts.lastInvitation(r[2]); secret == "" {
			t.Errorf("%s: no link", r[2])
		}
		var events int64
		ts.store.DB().Model(&models.AuditEvent{}).Where("target_id = ? AND action IN ?", m.ID, []string{"member.created", "invitation.sent"}).Count(&events)
		if events != 2 {
			t.Errorf("%s: %d audit events", r[2], events)
		}
	}
	// A refresh (the same form again) invites nobody twice.
	again := admin.post("/users/new/message", f)
	wantStatus(t, again, http.StatusOK)
	if again.doc.Find(`[data-testid="invited-people"] a`).Length() != 3 {
		t.Errorf("second submit: %s", again.text(`[data-testid="invited"]`))
	}
	for _, r := range rows[:3] {
		if n := ts.outboxTo(r[2], "invitation"); n != 1 {
			t.Errorf("%s: %d invitations after the second submit", r[2], n)
		}
	}
	var people int64
	ts.store.DB().Model(&models.Membership{}).Count(&people)
	if people != 5 {
		t.Errorf("%d people, want 5", people)
	}
}

// The account's daily cap: the people past it are skipped and the page
// says when to try again; with nobody invited the answer is 429.
func TestWizardMany_DailyCapSkipsTheRest(t *testing.T) {
	ts := newTestServerWithStore(t, []models.Option{models.WithInvitationsPerDay(1)})
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	f := manyForm(key, "admin", [][3]string{{"Ann", "Lee", "ann@example.com"}, {"Bob", "Ray", "bob@example.com"}})
	p := admin.post("/users/new/message", f)
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find(`[data-testid="invited-people"] li`).Length() != 1 || !strings.Contains(p.text(`[data-testid="skipped-people"]`), "Bob Ray · bob@example.com: This account has sent 1 invitations in the last 24 hours") {
		t.Errorf("done page: %s", p.text(`[data-testid="invited"]`))
	}
	key = admin.startWizard()
	p = admin.post("/users/new/message", manyForm(key, "admin", [][3]string{{"Cy", "Dee", "cy@example.com"}, {"Di", "Eve", "di@example.com"}}))
	wantStatus(t, p, http.StatusTooManyRequests)
	if p.header.Get("Retry-After") == "" || p.text("h1") != "Nobody invited" {
		t.Errorf("Retry-After %q, title %q", p.header.Get("Retry-After"), p.text("h1"))
	}
}

// Only Admins use the wizard, with several people as with one: a Manager
// gets 403 and nobody is created; another account's company is not
// available (the step asks again, nobody invited); another account's Admin
// cannot open the people invited (404).
func TestWizardMany_ScopeAsTheWizard(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	admin := ts.login("ada@example.com", strongPassword)
	var plumbing uint
	fmt.Sscan(ts.companyID("Acme Plumbing"), &plumbing)
	ts.addMember(x.a, models.Manager, "Max", "max@example.com", plumbing)
	max := ts.login("max@example.com", strongPassword)
	rows := [][3]string{{"Evil", "One", "e1@example.com"}, {"Evil", "Two", "e2@example.com"}}
	wantStatus(t, max.post("/users/new/info", with(manyForm(models.NewDraftKey(), "reporting", rows), "go", "add")), http.StatusForbidden)
	wantStatus(t, max.post("/users/new/message", manyForm(models.NewDraftKey(), "reporting", rows, fmt.Sprint(plumbing))), http.StatusForbidden)

	key := admin.startWizard()
	p := admin.post("/users/new/message", manyForm(key, "reporting", rows, fmt.Sprint(x.bCompany)))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text(`[data-testid="error-summary"]`), "no longer available") {
		t.Errorf("foreign company: %s", p.text(`[data-testid="error-summary"]`))
	}
	var n int64
	ts.store.DB().Model(&models.Membership{}).Where("email IN ?", []string{"e1@example.com", "e2@example.com"}).Count(&n)
	if n != 0 {
		t.Fatalf("%d people created", n)
	}
	p = admin.post("/users/new/message", manyForm(key, "reporting", rows, fmt.Sprint(plumbing)))
	wantStatus(t, p, http.StatusOK)
	bea := ts.login("bea@example.com", strongPassword)
	for _, e := range []string{"e1@example.com", "e2@example.com"} {
		m := ts.memberByEmail(e)
		wantStatus(t, bea.get(fmt.Sprintf("/users/%d", m.ID)), http.StatusNotFound)
		wantStatus(t, bea.get(fmt.Sprintf("/users/%d/created", m.ID)), http.StatusNotFound)
	}
}

// Several Notification users end at the companies step ("Create 2
// users") and are added, not invited; several Admins skip the companies
// step; a row whose address has a login in another account is pointed
// out, "Invite them anyway" keeps that choice through added rows and the
// later steps, and the person is invited to join with their own login.
func TestWizardMany_NotificationAdminsAndALoginElsewhere(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	admin := ts.login("ada@example.com", strongPassword)
	plumbing := ts.companyID("Acme Plumbing")

	key := admin.startWizard()
	nf := manyForm(key, "notification", [][3]string{{"Nia", "One", "nia@example.com"}, {"Nod", "Two", "nod@example.com"}}, plumbing)
	p := admin.post("/users/new/info", nf)
	wantStatus(t, p, http.StatusOK)
	if got := p.text(".wizard-actions .button-primary"); got != "Create 2 users" {
		t.Errorf("Notification companies step button %q", got)
	}
	nf["receives"] = []string{"daily"}
	p = admin.post("/users/new/companies", nf)
	wantStatus(t, p, http.StatusOK)
	if got := p.text("h1"); got != "2 people added" || ts.outboxTo("nia@example.com", "notification_added") != 1 || ts.outboxTo("nod@example.com", "notification_added") != 1 {
		t.Errorf("title %q, notices %d %d", got, ts.outboxTo("nia@example.com", "notification_added"), ts.outboxTo("nod@example.com", "notification_added"))
	}

	// Bea has a login in Beta Calls.
	key = admin.startWizard()
	rows := [][3]string{{"Al", "Admin", "al@example.com"}, {"Bea", "Admin", "bea@example.com"}}
	af := manyForm(key, "admin", rows)
	p = admin.post("/users/new/info", af)
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if links := summaryLinks(p); len(links) != 1 || links[0] != "#f-email-2 Person 2: This email address already has a login in another Switchboard account." {
		t.Errorf("summary %v", links)
	}
	anyway := p.doc.Find(`[data-testid="invite-anyway"]`)
	if anyway.Length() != 1 || anyway.AttrOr("name", "") != "existing_login_for" || anyway.AttrOr("value", "") != "bea@example.com" {
		t.Fatalf("no 'Invite them anyway' for person 2")
	}
	// The choice survives adding (and removing) a row.
	p = admin.post("/users/new/info", with(af, "existing_login_for", "bea@example.com", "go", "add"))
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find(`input[type="hidden"][name="existing_login_for"][value="bea@example.com"]`).Length() != 1 {
		t.Fatal("adding a row dropped the choice to invite Bea anyway")
	}
	af = with(af, "existing_login_for", "bea@example.com")
	p = admin.post("/users/new/info", af)
	wantStatus(t, p, http.StatusOK)
	if got := p.text(".wizard-actions .button-primary"); got != "Send 2 invitations" || !strings.Contains(p.text(`[data-testid="people-summary"]`), "joins with the login they already have") {
		t.Errorf("Admins did not go straight to the message step: %q", got)
	}
	if p.doc.Find(`input[type="hidden"][name="existing_login_for"][value="bea@example.com"]`).Length() != 1 {
		t.Fatal("the message step does not carry the choice")
	}
	p = admin.post("/users/new/message", af)
	wantStatus(t, p, http.StatusOK)
	if n := p.doc.Find(`[data-testid="invited-people"] li`).Length(); n != 2 {
		t.Fatalf("%d invited: %s", n, p.text(`[data-testid="invited"]`))
	}
	var bea models.Membership
	ts.store.DB().Where("email = ? AND account_id = ?", "bea@example.com", x.a.Account.ID).Take(&bea)
	if bea.Type != models.Admin || bea.Status != models.MemberInvited {
		t.Errorf("Bea in Acme: %+v", bea)
	}
}
