package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
)

// person is someone written straight to the database for a test: active,
// in the given companies, with a login (password strongPassword) when their
// type logs in.
type person struct {
	typ       models.UserType
	first     string
	email     string
	companies []string
	status    models.MemberStatus
	account   uint
}

var (
	passwordHashOnce sync.Once
	passwordHash     string
)

func (ts *testServer) account() models.Account {
	ts.t.Helper()
	var acct models.Account
	if err := ts.store.DB().Order("id").First(&acct).Error; err != nil {
		ts.t.Fatal(err)
	}
	return acct
}

func (ts *testServer) addPerson(p person) models.Membership {
	ts.t.Helper()
	db := ts.store.DB()
	if p.account == 0 {
		p.account = ts.account().ID
	}
	if p.status == "" {
		p.status = models.MemberActive
	}
	if p.first == "" {
		p.first = p.typ.Label()
	}
	m := models.Membership{AccountID: p.account, FirstName: p.first, LastName: "Tester", Email: p.email,
		SortName: strings.ToLower(p.first + " tester"), Type: p.typ, Status: p.status}
	if p.typ.CanLogIn() && p.status != models.MemberInvited {
		passwordHashOnce.Do(func() {
			h, err := models.HashPassword(strongPassword)
			if err != nil {
				panic(err)
			}
			passwordHash = h
		})
		login := models.Login{Email: p.email, PasswordHash: passwordHash, PasswordChangedAt: ts.store.Now().Add(-1)}
		if err := db.Create(&login).Error; err != nil {
			ts.t.Fatal(err)
		}
		m.LoginID = &login.ID
	}
	if err := db.Create(&m).Error; err != nil {
		ts.t.Fatal(err)
	}
	for _, c := range p.companies {
		var id uint
		fmt.Sscan(c, &id)
		if err := db.Create(&models.Assignment{MembershipID: m.ID, CompanyID: id}).Error; err != nil {
			ts.t.Fatal(err)
		}
	}
	return m
}

// member reloads a person; ok is false when they are gone.
func (ts *testServer) member(id uint) (models.Membership, bool) {
	var m models.Membership
	err := ts.store.DB().Where("id = ?", id).Take(&m).Error
	return m, err == nil
}

func (ts *testServer) memberByEmail(email string) models.Membership {
	ts.t.Helper()
	var m models.Membership
	if err := ts.store.DB().Where("email = ?", email).Take(&m).Error; err != nil {
		ts.t.Fatalf("member %s: %v", email, err)
	}
	return m
}

func userPath(id uint, suffix string) string { return fmt.Sprintf("/users/%d%s", id, suffix) }

// The table: actor type × target type × action, with the expected status and
// what the database holds afterwards.
func TestMembers_ActionTable(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	roofing := ts.addCompany("Acme Roofing")
	ts.addPerson(person{typ: models.Manager, first: "Mia", email: "mia@example.com", companies: []string{plumbing}})
	ts.addPerson(person{typ: models.Reporting, first: "Rex", email: "rex@example.com", companies: []string{plumbing}})
	actors := map[models.UserType]*browser{
		models.Admin:     admin,
		models.Manager:   ts.login("mia@example.com", strongPassword),
		models.Reporting: ts.login("rex@example.com", strongPassword),
	}
	for _, b := range actors {
		b.get("/")
	}

	type action struct {
		name string
		path string
		form url.Values
		// before prepares the target; check tells whether the action
		// happened.
		before func(m models.Membership)
		done   func(m models.Membership, exists bool) bool
	}
	actionsFor := func(target models.UserType) []action {
		var out []action
		for _, to := range models.UserTypes {
			if to == target {
				continue
			}
			verb := "demote"
			if to.Rank() > target.Rank() {
				verb = "promote"
			}
			out = append(out, action{
				name: verb + " to " + string(to), path: "/type",
				form: url.Values{"to": {string(to)}, "company": {plumbing}},
				done: func(m models.Membership, exists bool) bool { return exists && m.Type == to },
			})
		}
		return append(out,
			action{name: "disable", path: "/disable",
				done: func(m models.Membership, exists bool) bool { return exists && m.Status == models.MemberDisabled }},
			action{name: "enable", path: "/enable",
				before: func(m models.Membership) {
					ts.store.DB().Model(&models.Membership{}).Where("id = ?", m.ID).Update("status", models.MemberDisabled)
				},
				done: func(m models.Membership, exists bool) bool { return exists && m.Status == models.MemberActive }},
			action{name: "delete", path: "/delete",
				done: func(m models.Membership, exists bool) bool { return !exists }},
		)
	}

	n := 0
	for _, actorType := range []models.UserType{models.Admin, models.Manager, models.Reporting} {
		for _, targetType := range models.UserTypes {
			for _, a := range actionsFor(targetType) {
				n++
				name := fmt.Sprintf("%s/%s/%s", actorType, targetType, a.name)
				var companies []string
				if !targetType.SeesAllCompanies() {
					companies = []string{plumbing}
				}
				target := ts.addPerson(person{typ: targetType, email: fmt.Sprintf("t%d@example.com", n), companies: companies})
				if a.before != nil {
					a.before(target)
				}
				want := http.StatusSeeOther
				if actorType != models.Admin {
					want = http.StatusForbidden
				}
				p := actors[actorType].post(userPath(target.ID, a.path), a.form)
				if p.status != want {
					t.Errorf("%s: status %d, want %d: %.300s", name, p.status, want, p.body)
					continue
				}
				after, exists := ts.member(target.ID)
				if happened := a.done(after, exists); happened != (want == http.StatusSeeOther) {
					t.Errorf("%s: happened=%v with status %d (member now %+v, exists %v)", name, happened, p.status, after, exists)
				}
			}
		}
	}

	// People the actor may not see get 404 for every action: another
	// account's for everyone, another company's for Managers and Reporting.
	otherAccount := models.Account{Number: "3000000001", Name: "Other", Status: models.AccountActive}
	if err := ts.store.DB().Create(&otherAccount).Error; err != nil {
		t.Fatal(err)
	}
	stranger := ts.addPerson(person{typ: models.Reporting, email: "stranger@example.com", account: otherAccount.ID})
	roofer := ts.addPerson(person{typ: models.Reporting, email: "roofer@example.com", companies: []string{roofing}})
	// The actions outside the type-change table: resending, and Edit User's
	// company add and remove.
	outOfTable := []action{
		{name: "resend", path: "/resend"},
		{name: "add a company", path: "/companies/add", form: url.Values{"company": {plumbing}}},
		{name: "remove a company", path: "/companies/remove", form: url.Values{"company": {plumbing}}},
	}
	before := ts.fingerprint()
	for actorType, b := range actors {
		targets := []models.Membership{stranger}
		if actorType != models.Admin {
			targets = append(targets, roofer)
		}
		for _, target := range targets {
			for _, a := range append(actionsFor(models.Reporting), outOfTable...) {
				p := b.post(userPath(target.ID, a.path), a.form)
				if p.status != http.StatusNotFound {
					t.Errorf("%s on %s: %s: status %d, want 404", actorType, target.Email, a.name, p.status)
				}
			}
			for _, get := range []string{"", "/delete", "/promote?to=manager", "/demote?to=notification", "/created"} {
				if p := b.get(userPath(target.ID, get)); p.status != http.StatusNotFound {
					t.Errorf("%s GET %s of %s: status %d, want 404", actorType, get, target.Email, p.status)
				}
			}
		}
		if after, ok := ts.member(stranger.ID); !ok || after.Status != models.MemberActive || after.Type != models.Reporting {
			t.Fatalf("another account's person changed: %+v", after)
		}
	}
	if after := ts.fingerprint(); after != before {
		t.Errorf("requests about people out of scope changed the database:\n%s\n%s", before, after)
	}
	// A visible person with a company outside the actor's scope: the
	// company decides, 404, before the right is asked.
	rex := ts.memberByEmail("rex@example.com")
	for actorType, b := range actors {
		if actorType == models.Admin {
			continue
		}
		for _, path := range []string{"/companies/add", "/companies/remove"} {
			if p := b.post(userPath(rex.ID, path), url.Values{"company": {roofing}}); p.status != http.StatusNotFound {
				t.Errorf("%s %s with another company: status %d, want 404", actorType, path, p.status)
			}
		}
	}
	// The Admin's own pages for a visible person: 200 for Admins, 403 for
	// the others, who see Rex but may not act on him.
	for actorType, b := range actors {
		want := http.StatusOK
		if actorType != models.Admin {
			want = http.StatusForbidden
		}
		for _, get := range []string{"", "/delete", "/promote?to=manager", "/created"} {
			if p := b.get(userPath(rex.ID, get)); p.status != want {
				t.Errorf("%s GET %s: status %d, want %d", actorType, get, p.status, want)
			}
		}
		if actorType == models.Admin {
			continue
		}
		for _, a := range outOfTable {
			if p := b.post(userPath(rex.ID, a.path), a.form); p.status != http.StatusForbidden {
				t.Errorf("%s %s of a visible person: status %d, want 403", actorType, a.name, p.status)
			}
		}
	}
}

func TestEditUser_PageShowsPersonAndOffers(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	roofing := ts.addCompany("Acme Roofing")
	rex := ts.addPerson(person{typ: models.Reporting, first: "Rex", email: "rex@example.com", companies: []string{plumbing}})

	p := admin.get(userPath(rex.ID, ""))
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find("h1").Length() != 1 || p.text("h1") != "Edit Rex Tester" || !strings.Contains(p.text("title"), "Edit Rex Tester") {
		t.Errorf("h1 %q title %q", p.text("h1"), p.text("title"))
	}
	wantLabelledFields(t, p)
	if v, _ := p.doc.Find("#f-first_name").Attr("value"); v != "Rex" {
		t.Errorf("first name field = %q", v)
	}
	if p.doc.Find("#f-email").Length() != 0 || !strings.Contains(p.text(`[data-testid="email"]`), "rex@example.com") {
		t.Error("an active member's email is offered for editing")
	}
	if p.doc.Find(`input[name="invoice_emails"]`).Length() != 0 {
		t.Error("a Reporting user is offered invoice emails")
	}
	for _, want := range []string{"promote-manager", "promote-admin", "demote-notification", "delete", "disable"} {
		if p.doc.Find(`[data-testid="`+want+`"]`).Length() != 1 {
			t.Errorf("Edit User lacks %s", want)
		}
	}
	if p.doc.Find(`[data-testid="demote-reporting"], [data-testid="promote-reporting"]`).Length() != 0 {
		t.Error("Edit User offers the type the person already has")
	}
	// The promote dialog lists exactly what the policy says is gained.
	gained := p.doc.Find(`#dlg-type-manager [data-testid="gained"] li`)
	want := models.Gained(models.Reporting, models.Manager)
	if gained.Length() != len(want) {
		t.Fatalf("dialog lists %d gains, want %v", gained.Length(), want)
	}
	for i, line := range want {
		if got := strings.TrimSpace(gained.Eq(i).Text()); got != line {
			t.Errorf("gain %d = %q, want %q", i, got, line)
		}
	}
	if href, _ := p.doc.Find(`[data-testid="promote-manager"]`).Attr("href"); href != userPath(rex.ID, "/promote?to=manager") {
		t.Errorf("promote link without JS = %q", href)
	}
	// Companies: one to remove, one to add.
	if got := p.text(`[data-testid="member-company"]`); !strings.Contains(got, "Acme Plumbing") {
		t.Errorf("companies = %q", got)
	}
	if v, _ := p.doc.Find(`#f-add-company option`).Attr("value"); v != roofing {
		t.Errorf("addable company = %q, want %s", v, roofing)
	}

	// Without JavaScript: the promote page says the same and posts the same.
	page := admin.get(userPath(rex.ID, "/promote?to=manager"))
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find(`[data-testid="gained"] li`).Length() != len(want) || page.doc.Find("h1").Length() != 1 {
		t.Errorf("promote page: %q", page.text("main"))
	}
	demote := admin.get(userPath(rex.ID, "/demote?to=notification"))
	wantStatus(t, demote, http.StatusOK)
	if got := demote.doc.Find(`[data-testid="lost"] li`).Length(); got != len(models.Lost(models.Reporting, models.Notification)) {
		t.Errorf("demote page lists %d losses", got)
	}
	wantStatus(t, admin.get(userPath(rex.ID, "/promote?to=notification")), http.StatusBadRequest)
	wantStatus(t, admin.get(userPath(rex.ID, "/promote?to=reporting")), http.StatusConflict)

	// Add and remove a company.
	wantStatus(t, admin.post(userPath(rex.ID, "/companies/add"), url.Values{"company": {roofing}}), http.StatusSeeOther)
	wantStatus(t, admin.post(userPath(rex.ID, "/companies/remove"), url.Values{"company": {plumbing}}), http.StatusSeeOther)
	p = admin.get(userPath(rex.ID, ""))
	if got := p.text(`[data-testid="member-company"]`); got != "Acme Roofing Remove Rex Tester from Acme Roofing…" {
		t.Errorf("companies after add and remove = %q", got)
	}
	if !strings.Contains(p.text(".flash"), "no longer sees Acme Plumbing") {
		t.Errorf("flash = %q", p.text(".flash"))
	}
	if got := p.text(`[data-testid="member-events"]`); !strings.Contains(got, "Removed from a company") || !strings.Contains(got, "Added to a company") {
		t.Errorf("recent activity = %q", got)
	}
	for _, bad := range []string{"", "0", "x", "999"} {
		if p := admin.post(userPath(rex.ID, "/companies/add"), url.Values{"company": {bad}}); p.status != http.StatusBadRequest && p.status != http.StatusNotFound {
			t.Errorf("add company %q: status %d", bad, p.status)
		}
	}
	for _, id := range []string{"0", "-1", "0x1", "99999999999999999999", "1%20OR%201=1", "abc"} {
		if p := admin.get("/users/" + id); p.status != http.StatusNotFound {
			t.Errorf("GET /users/%s: status %d", id, p.status)
		}
	}
}

// wantLabelledFields checks every visible form control has a visible label.
func wantLabelledFields(t *testing.T, p *page) {
	t.Helper()
	p.doc.Find("main input, main select, main textarea").Each(func(_ int, s *goquery.Selection) {
		typ, _ := s.Attr("type")
		if typ == "hidden" || typ == "submit" {
			return
		}
		id, _ := s.Attr("id")
		labelled := s.ParentsFiltered("label").Length() > 0 || (id != "" && p.doc.Find(`label[for="`+id+`"]`).Length() > 0)
		if !labelled {
			name, _ := s.Attr("name")
			t.Errorf("field %q (id %q) has no label", name, id)
		}
	})
}

func TestEditUser_SaveNamesAndValidation(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	ada := ts.memberByEmail("ada@example.com")
	admin.get(userPath(ada.ID, ""))

	p := admin.post(userPath(ada.ID, ""), url.Values{"first_name": {""}, "last_name": {strings.Repeat("x", 101)}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text("#e-first_name"), "Enter the first name") || !strings.Contains(p.text("#e-last_name"), "at most 100") {
		t.Errorf("errors: %q / %q", p.text("#e-first_name"), p.text("#e-last_name"))
	}
	if v, _ := p.doc.Find("#f-last_name").Attr("value"); v != strings.Repeat("x", 101) {
		t.Error("the typed last name was not kept")
	}
	// An active member's address cannot be changed by others (or by a forged form).
	p = admin.post(userPath(ada.ID, ""), url.Values{"first_name": {"Ada"}, "last_name": {"Admin"}, "email": {"new@example.com"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text(".field-error"), "only they can change it") {
		t.Errorf("email error %q", p.text(".field-error"))
	}
	p = admin.post(userPath(ada.ID, ""), url.Values{"first_name": {" Adeline "}, "last_name": {"Admin"}, "invoice_emails": nil})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != userPath(ada.ID, "") {
		t.Errorf("redirect to %q", loc)
	}
	done := admin.follow(p)
	if !strings.Contains(done.text(".flash"), "Saved the changes to Adeline Admin") || done.text("h1") != "Edit Adeline Admin" {
		t.Errorf("after save: flash %q h1 %q", done.text(".flash"), done.text("h1"))
	}
	after := ts.memberByEmail("ada@example.com")
	if after.FirstName != "Adeline" || after.SortName != "adeline admin" || after.InvoiceEmails {
		t.Errorf("saved %+v", after)
	}
	var ev models.AuditEvent
	ts.store.DB().Where("action = ?", "member.updated").Take(&ev)
	if !strings.Contains(ev.Detail, "Name Ada Admin → Adeline Admin") || !strings.Contains(ev.Detail, "invoice emails off") {
		t.Errorf("audit detail %q", ev.Detail)
	}
	wantStatus(t, admin.post(userPath(ada.ID, ""), url.Values{"first_name": {"A", "B"}, "last_name": {"Admin"}}), http.StatusBadRequest)
}

func TestEditUser_CorrectingAnInviteesEmailReinvites(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "manager", first: "Max", last: "Manager", email: "max@exmaple.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	_, oldLink := ts.lastInvitation("max@exmaple.com")
	max := ts.memberByEmail("max@exmaple.com")

	p := admin.get(userPath(max.ID, ""))
	if p.doc.Find("#f-email").Length() != 1 || p.doc.Find(`[data-testid="member-invitation"]`).Length() != 1 {
		t.Fatal("a pending invitee's page lacks the email field or the invitation state")
	}
	// Another member's address, and a malformed one, are refused.
	for _, bad := range []string{"ada@example.com", "Max <max@example.com>"} {
		p = admin.post(userPath(max.ID, ""), url.Values{"first_name": {"Max"}, "last_name": {"Manager"}, "email": {bad}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if v, _ := p.doc.Find("#f-email").Attr("value"); v != bad || p.text("#e-email") == "" {
			t.Errorf("%s: value %q error %q", bad, v, p.text("#e-email"))
		}
	}
	p = admin.post(userPath(max.ID, ""), url.Values{"first_name": {"Max"}, "last_name": {"Manager"}, "email": {"Max@Example.com"}})
	wantStatus(t, p, http.StatusSeeOther)
	if got := admin.follow(p).text(".flash"); !strings.Contains(got, "new invitation is on its way to max@example.com") {
		t.Errorf("flash %q", got)
	}
	_, newLink := ts.lastInvitation("max@example.com")
	wantStatus(t, ts.browser().get("/invite/"+oldLink), http.StatusGone)
	wantStatus(t, ts.browser().get("/invite/"+newLink), http.StatusOK)
	var stale int64
	ts.store.DB().Model(&models.OutboxMessage{}).Where("to_address = ? AND sent_at IS NULL", "max@exmaple.com").Count(&stale)
	if stale != 0 {
		t.Errorf("%d emails still waiting for the mistyped address", stale)
	}
}

func TestPromote_NotificationUserIsInvited(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	nora := ts.addPerson(person{typ: models.Notification, first: "Nora", email: "nora@example.com", companies: []string{plumbing}})

	p := admin.get(userPath(nora.ID, ""))
	dialog := p.doc.Find("#dlg-type-reporting")
	if dialog.Find(`textarea[name="message"]`).Length() != 1 || !strings.Contains(dialog.Text(), "sends an invitation to") {
		t.Fatalf("the promote dialog of a Notification user does not ask how to invite: %q", dialog.Text())
	}
	p = admin.post(userPath(nora.ID, "/type"), url.Values{"to": {"reporting"}, "message": {"Welcome <b>aboard</b>"}})
	wantStatus(t, p, http.StatusSeeOther)
	if got := admin.follow(p).text(".flash"); !strings.Contains(got, "An invitation to set a password is on its way to nora@example.com") {
		t.Errorf("flash %q", got)
	}
	after, _ := ts.member(nora.ID)
	if after.Type != models.Reporting || after.Status != models.MemberInvited {
		t.Fatalf("after promotion %+v", after)
	}
	var msg models.OutboxMessage
	ts.store.DB().Where("to_address = ?", "nora@example.com").Order("id DESC").Take(&msg)
	if msg.Kind != "invitation" || !strings.Contains(msg.TextBody, "Welcome <b>aboard</b>") || strings.Contains(msg.HTMLBody, "<b>aboard") {
		t.Errorf("invitation %s:\n%s", msg.Kind, msg.TextBody)
	}
	_, secret := ts.lastInvitation("nora@example.com")
	nb := ts.browser()
	nb.get("/invite/" + secret)
	wantStatus(t, nb.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusSeeOther)
	home := nb.get("/")
	wantStatus(t, home, http.StatusOK)
	if !strings.Contains(home.text(`[data-testid="my-companies"]`), "Acme Plumbing") {
		t.Error("the promoted person does not see their company")
	}
}

func TestPromoteAndDemote_EmailsAndAudit(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	rex := ts.addPerson(person{typ: models.Reporting, first: "Rex", email: "rex@example.com", companies: []string{plumbing}})
	admin.get(userPath(rex.ID, ""))

	wantStatus(t, admin.post(userPath(rex.ID, "/type"), url.Values{"to": {"manager"}}), http.StatusSeeOther)
	var msg models.OutboxMessage
	ts.store.DB().Where("to_address = ?", "rex@example.com").Order("id DESC").Take(&msg)
	if msg.Kind != "type_changed" || msg.Subject != "Your user type in Acme Calls is now Manager" ||
		!strings.Contains(msg.TextBody, "from Reporting to Manager") || !strings.Contains(msg.TextBody, "Set up and disable integrations") ||
		!strings.Contains(msg.TextBody, ts.base.String()+"/login") {
		t.Errorf("type-changed email %q:\n%s", msg.Subject, msg.TextBody)
	}
	// Admin → Manager needs a company; the page re-renders with the choice kept.
	al := ts.addPerson(person{typ: models.Admin, first: "Al", email: "al@example.com"})
	p := admin.post(userPath(al.ID, "/type"), url.Values{"to": {"manager"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text(".field-error"), "Choose at least one company") || p.doc.Find(`input[name="company"]`).Length() == 0 {
		t.Errorf("demote page without companies: %q", p.text("main"))
	}
	wantStatus(t, admin.post(userPath(al.ID, "/type"), url.Values{"to": {"manager"}, "company": {plumbing}}), http.StatusSeeOther)
	var events []models.AuditEvent
	ts.store.DB().Where("action IN ?", []string{"member.promoted", "member.demoted"}).Order("id").Find(&events)
	if len(events) != 2 || events[0].Detail != "Reporting → Manager" || events[1].Detail != "Admin → Manager; companies: Acme Plumbing" {
		t.Errorf("audit events %+v", events)
	}
}

func TestOddTypeValuesAreRefused(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	rex := ts.addPerson(person{typ: models.Reporting, email: "rex@example.com", companies: []string{ts.companyID("Acme Plumbing")}})
	admin.get("/users")
	for _, to := range [][]string{{"SuperAdmin"}, {"ADMIN"}, {" admin"}, {"admin "}, {"Admin"}, {"admin\x00"}, {""}, {"admin", "admin"}, {"manager", "admin"}, nil} {
		p := admin.post(userPath(rex.ID, "/type"), url.Values{"to": to})
		if p.status != http.StatusBadRequest {
			t.Errorf("to=%q: status %d, want 400", to, p.status)
		}
		q := url.Values{"to": to}
		if p := admin.get(userPath(rex.ID, "/promote?"+q.Encode())); p.status != http.StatusBadRequest {
			t.Errorf("GET promote?to=%q: status %d, want 400", to, p.status)
		}
	}
	if after, _ := ts.member(rex.ID); after.Type != models.Reporting {
		t.Fatalf("an odd value changed the type to %q", after.Type)
	}
}

func TestLastAdmin_EveryPathRefusedWithAReason(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	ada := ts.memberByEmail("ada@example.com")
	p := admin.get(userPath(ada.ID, ""))
	if !strings.Contains(p.text(`[data-testid="last-admin"]`), "Ada Admin is the last active Admin of Acme Calls") ||
		p.doc.Find(`[data-testid="delete"], [data-testid="disable"], [data-testid^="demote-"]`).Length() != 0 {
		t.Errorf("Edit User of the last Admin: %q", p.text(`[data-testid="member-type"]`))
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/delete", url.Values{"understood": {"yes"}}},
		{"/delete", nil},
		{"/disable", nil},
		{"/type", url.Values{"to": {"manager"}, "company": {ts.companyID("Acme Plumbing")}, "understood": {"yes"}}},
		{"/type", url.Values{"to": {"notification"}, "understood": {"yes"}}},
	} {
		p := admin.post(userPath(ada.ID, c.path), c.form)
		wantStatus(t, p, http.StatusConflict)
		if got := p.text("main"); !strings.Contains(got, "Ada Admin is the last active Admin of Acme Calls; make someone else an Admin first.") {
			t.Errorf("%s: page says %q", c.path, got)
		}
	}
	wantStatus(t, admin.get(userPath(ada.ID, "/delete")), http.StatusConflict)
	if after, _ := ts.member(ada.ID); after.Type != models.Admin || after.Status != models.MemberActive {
		t.Fatalf("the last Admin changed: %+v", after)
	}
	wantStatus(t, admin.get("/users"), http.StatusOK)
}

func TestSelf_DeleteAsksTwiceAndLogsOut(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	ts.addPerson(person{typ: models.Admin, first: "Bea", email: "bea@example.com"})
	ada := ts.memberByEmail("ada@example.com")

	confirm := admin.get(userPath(ada.ID, "/delete"))
	wantStatus(t, confirm, http.StatusOK)
	if !strings.Contains(confirm.text("main"), "This is you") {
		t.Errorf("self-delete confirmation: %q", confirm.text("main"))
	}
	p := admin.post(userPath(ada.ID, "/delete"), nil)
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find(`[data-testid="self-confirm"] input[name="understood"]`).Length() != 1 || !strings.Contains(p.text("label"), "I understand I will lose access") {
		t.Fatalf("no second confirmation: %q", p.text("main"))
	}
	// Sent back without the box ticked: asked again, nothing deleted.
	p = admin.post(userPath(ada.ID, "/delete"), url.Values{"confirming": {"yes"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if _, ok := ts.member(ada.ID); !ok {
		t.Fatal("deleted without the second confirmation")
	}
	p = admin.post(userPath(ada.ID, "/delete"), url.Values{"confirming": {"yes"}, "understood": {"yes"}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/login" {
		t.Errorf("after self-delete: redirect to %q", loc)
	}
	login := admin.follow(p)
	if !strings.Contains(login.text(".flash"), "You deleted yourself from Acme Calls") {
		t.Errorf("login page flash %q", login.text(".flash"))
	}
	if p := admin.get("/users"); p.status != http.StatusSeeOther {
		t.Errorf("still logged in after self-delete: %d", p.status)
	}
	if _, ok := ts.member(ada.ID); ok {
		t.Fatal("self-delete left the membership")
	}
	var logins int64
	ts.store.DB().Model(&models.Login{}).Where("email = ?", "ada@example.com").Count(&logins)
	if logins != 0 {
		t.Error("the login of someone in no account survived")
	}
}

func TestSelf_DemoteAsksTwice(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	ts.addPerson(person{typ: models.Admin, first: "Bea", email: "bea@example.com"})
	ada := ts.memberByEmail("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	admin.get(userPath(ada.ID, ""))

	// Missing companies are asked for before the second question.
	wantStatus(t, admin.post(userPath(ada.ID, "/type"), url.Values{"to": {"manager"}}), http.StatusUnprocessableEntity)
	p := admin.post(userPath(ada.ID, "/type"), url.Values{"to": {"manager"}, "company": {plumbing}})
	wantStatus(t, p, http.StatusOK)
	if v, _ := p.doc.Find(`[data-testid="self-confirm"] input[name="company"]`).Attr("value"); v != plumbing {
		t.Fatalf("second confirmation lost the companies: %q", p.text("main"))
	}
	if after, _ := ts.member(ada.ID); after.Type != models.Admin {
		t.Fatal("demoted without the second confirmation")
	}
	p = admin.post(userPath(ada.ID, "/type"), url.Values{"to": {"manager"}, "company": {plumbing}, "confirming": {"yes"}, "understood": {"yes"}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/" {
		t.Errorf("after self-demotion to Manager: redirect to %q, want their home page", loc)
	}
	// Still logged in, now as a Manager: no Edit User, no wizard.
	wantStatus(t, admin.get("/users"), http.StatusOK)
	wantStatus(t, admin.get("/users/new"), http.StatusForbidden)
	wantStatus(t, admin.get(userPath(ada.ID, "")), http.StatusForbidden)
}

func TestSelf_DemoteToNotificationLogsOut(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	ts.addPerson(person{typ: models.Admin, first: "Bea", email: "bea@example.com"})
	ada := ts.memberByEmail("ada@example.com")
	admin.get(userPath(ada.ID, ""))
	form := url.Values{"to": {"notification"}, "company": {ts.companyID("Acme Plumbing")}}
	wantStatus(t, admin.post(userPath(ada.ID, "/type"), form), http.StatusOK)
	form.Set("understood", "yes")
	p := admin.post(userPath(ada.ID, "/type"), form)
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.header.Get("Location"); loc != "/login" {
		t.Fatalf("redirect to %q", loc)
	}
	if p := admin.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("still logged in: %d", p.status)
	}
	after, _ := ts.member(ada.ID)
	if after.Type != models.Notification || after.LoginID != nil || after.Status != models.MemberActive {
		t.Errorf("after self-demotion %+v", after)
	}
	// Login is refused the same way as for anyone without access.
	b := ts.browser()
	b.get("/login")
	wantStatus(t, b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {strongPassword}}), http.StatusUnauthorized)
}

// A person's open session loses the access at its very next request.
func TestSessions_LoseAccessOnNextRequest(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	for i, c := range []struct {
		action string
		form   url.Values
		// next is what the person's next page is.
		path string
		want int
	}{
		{"/delete", nil, "/", http.StatusSeeOther},
		{"/disable", nil, "/", http.StatusSeeOther},
		{"/type", url.Values{"to": {"notification"}}, "/", http.StatusSeeOther},
		{"/type", url.Values{"to": {"reporting"}}, "/users", http.StatusForbidden},
	} {
		email := fmt.Sprintf("max%d@example.com", i)
		max := ts.addPerson(person{typ: models.Manager, first: "Max", email: email, companies: []string{plumbing}})
		mb := ts.login(email, strongPassword)
		wantStatus(t, mb.get("/users"), http.StatusOK)
		admin.get("/users")
		wantStatus(t, admin.post(userPath(max.ID, c.action), c.form), http.StatusSeeOther)
		p := mb.get(c.path)
		if p.status != c.want {
			t.Errorf("%s %v: next request %s got %d, want %d", c.action, c.form, c.path, p.status, c.want)
		}
		if c.want == http.StatusSeeOther && !strings.HasPrefix(p.header.Get("Location"), "/login") {
			t.Errorf("%s: redirected to %q, want the login page", c.action, p.header.Get("Location"))
		}
	}
	// Re-enabled, a disabled person can log in again.
	disabled := ts.memberByEmail("max1@example.com")
	wantStatus(t, admin.post(userPath(disabled.ID, "/enable"), nil), http.StatusSeeOther)
	wantStatus(t, ts.login("max1@example.com", strongPassword).get("/users"), http.StatusOK)
}

func TestDelete_ThenInviteTheSameEmailAgain(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Rae", last: "Port", email: "rae@example.com",
		companies: []string{plumbing}}), http.StatusSeeOther)
	_, secret := ts.lastInvitation("rae@example.com")
	rb := ts.browser()
	rb.get("/invite/" + secret)
	wantStatus(t, rb.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusSeeOther)
	rae := ts.memberByEmail("rae@example.com")

	// The trash icon on the users list leads to a confirmation naming her.
	list := admin.get("/users")
	trash, _ := list.doc.Find(`tr[data-email="rae@example.com"] [data-testid="delete-user"]`).Attr("href")
	if trash != userPath(rae.ID, "/delete") {
		t.Fatalf("trash link = %q", trash)
	}
	confirm := admin.get(trash)
	wantStatus(t, confirm, http.StatusOK)
	if confirm.text("h1") != "Delete Rae Port?" || !strings.Contains(confirm.text("main"), "rae@example.com") {
		t.Errorf("confirmation: %q / %q", confirm.text("h1"), confirm.text("main"))
	}
	p := admin.post(userPath(rae.ID, "/delete"), nil)
	wantStatus(t, p, http.StatusSeeOther)
	after := admin.follow(p)
	if !strings.Contains(after.text(".flash"), "Rae Port (rae@example.com) was deleted") || after.doc.Find(`tr[data-email="rae@example.com"]`).Length() != 0 {
		t.Errorf("users list after delete: flash %q", after.text(".flash"))
	}
	if p := rb.get("/"); p.status != http.StatusSeeOther {
		t.Errorf("the deleted person's session still works: %d", p.status)
	}
	// The audit log still names her.
	var ev models.AuditEvent
	ts.store.DB().Where("action = ?", "member.deleted").Take(&ev)
	if !strings.Contains(ev.TargetName, "Rae Port") || ev.ActorName != "Ada Admin" {
		t.Errorf("delete event %+v", ev)
	}

	// The same address can be invited again, and accepts again.
	wantStatus(t, admin.createUser(wizardInput{typ: "manager", first: "Rae", last: "Again", email: "rae@example.com",
		companies: []string{plumbing}}), http.StatusSeeOther)
	_, secret = ts.lastInvitation("rae@example.com")
	rb = ts.browser()
	rb.get("/invite/" + secret)
	wantStatus(t, rb.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusSeeOther)
	wantStatus(t, rb.get("/users"), http.StatusOK)
}

func TestUsersList_PencilAndTrashForAdminsOnly(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	rex := ts.addPerson(person{typ: models.Reporting, first: "Rex", email: "rex@example.com", companies: []string{plumbing}})
	ts.addPerson(person{typ: models.Manager, first: "Mia", email: "mia@example.com", companies: []string{plumbing}})

	row := admin.get("/users").doc.Find(`tr[data-email="rex@example.com"]`)
	if href, _ := row.Find(`[data-testid="edit-user"]`).Attr("href"); href != userPath(rex.ID, "") {
		t.Errorf("pencil = %q", href)
	}
	if label, _ := row.Find(`[data-testid="delete-user"]`).Attr("aria-label"); label != "Delete Rex Tester" {
		t.Errorf("trash label = %q", label)
	}
	// The last active Admin's row has no trash: deleting her is refused.
	ada := admin.get("/users").doc.Find(`tr[data-email="ada@example.com"]`)
	if ada.Find(`[data-testid="edit-user"]`).Length() != 1 || ada.Find(`[data-testid="delete-user"]`).Length() != 0 {
		t.Errorf("the last active Admin's row: pencil %d, trash %d, want 1 and 0",
			ada.Find(`[data-testid="edit-user"]`).Length(), ada.Find(`[data-testid="delete-user"]`).Length())
	}
	ts.addPerson(person{typ: models.Admin, first: "Abe", email: "abe@example.com"})
	if admin.get("/users").doc.Find(`tr[data-email="ada@example.com"] [data-testid="delete-user"]`).Length() != 1 {
		t.Error("with a second active Admin, the first's row still has no trash")
	}
	list := ts.login("mia@example.com", strongPassword).get("/users")
	wantStatus(t, list, http.StatusOK)
	if list.doc.Find(`[data-testid="edit-user"], [data-testid="delete-user"]`).Length() != 0 {
		t.Error("a Manager is offered edit or delete")
	}
	// Disabled people stay in the list, marked.
	admin.get("/users")
	wantStatus(t, admin.post(userPath(rex.ID, "/disable"), nil), http.StatusSeeOther)
	if got := admin.get("/users").text(`tr[data-email="rex@example.com"] .status`); got != "Disabled" {
		t.Errorf("disabled row status = %q", got)
	}
}
