package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
)

// tenants is two accounts with people of every type, for scope tests.
type tenants struct {
	ts                           *testServer
	own, other, foreign          uint // companies: A's assigned, A's unassigned, B's
	supply                       uint // A's second company of the Manager (not Rita's)
	admin, manager, reporting    uint // members of A (manager on own and supply, reporting on own)
	otherReporting, notification uint // A's: reporting on other; notification on own
	managerOther                 uint // A's manager of the other company
	foreignMember                uint // B's reporting user
	// supplyReporting (Gus) is on supply only: the Manager sees him and may
	// add him to own. shared (Sam) is on own and other: both see him, but
	// neither may learn of his other company.
	supplyReporting, shared uint
}

// outOfScope lists what the viewer's pages must never show, for the
// tenants' logins: names and addresses of the people and companies outside
// their scope (policy.go).
func (tn *tenants) outOfScope(email string) []string {
	foreign := []string{"Beta Calls", "bea@example.com", "Bea Beta", "finn@example.com", "Finn Test"}
	switch email {
	case "ada@example.com":
		return foreign
	case "max@example.com":
		return append(foreign, "Other Roofing", "olly@example.com", "Olly Test", "mona@example.com", "Mona Test")
	case "rita@example.com":
		return append(foreign, "Other Roofing", "olly@example.com", "Olly Test", "mona@example.com", "Mona Test",
			"Acme Supply", "gus@example.com", "Gus Test")
	}
	panic("no scope known for " + email)
}

func (ts *testServer) viewerFor(email string, accountName string) *models.Viewer {
	ts.t.Helper()
	var m models.Membership
	err := ts.store.DB().Joins("JOIN accounts ON accounts.id = memberships.account_id").
		Where("memberships.email = ? AND accounts.name = ?", email, accountName).Preload("Account").Take(&m).Error
	if err != nil {
		ts.t.Fatalf("viewer %s: %v", email, err)
	}
	return &models.Viewer{Membership: m, Account: *m.Account}
}

// addMember creates and (for login types) activates a member through the
// domain functions, as the wizard and the invitation page would.
func (ts *testServer) addMember(by *models.Viewer, typ models.UserType, first, email string, companies ...uint) uint {
	ts.t.Helper()
	ctx := context.Background()
	d := models.Draft{Key: models.NewDraftKey(), Type: typ, FirstName: first, LastName: "Test", Email: email, CompanyIDs: companies}
	m, _, err := ts.store.CreateMember(ctx, by, d, "")
	if err != nil {
		ts.t.Fatalf("create %s: %v", email, err)
	}
	if typ.CanLogIn() {
		_, secret := ts.lastInvitation(m.Email)
		if _, err := ts.store.AcceptInvitation(ctx, secret, strongPassword, strongPassword, ""); err != nil {
			ts.t.Fatalf("accept %s: %v", email, err)
		}
	}
	return m.ID
}

func newTenants(t *testing.T) *tenants { return newTenantsOn(t, newTestServer(t)) }

// newTenantsOn builds the tenants on a server configured by the test.
func newTenantsOn(t *testing.T, ts *testServer) *tenants {
	ts.setupAccount("ada@example.com")
	tn := &tenants{ts: ts}
	admin := ts.viewerFor("ada@example.com", "Acme Calls")
	tn.admin = admin.Membership.ID
	fmt.Sscan(ts.companyID("Acme Plumbing"), &tn.own)
	fmt.Sscan(ts.addCompany("Other Roofing"), &tn.other)
	fmt.Sscan(ts.addCompany("Acme Supply"), &tn.supply)
	tn.manager = ts.addMember(admin, models.Manager, "Max", "max@example.com", tn.own, tn.supply)
	tn.reporting = ts.addMember(admin, models.Reporting, "Rita", "rita@example.com", tn.own)
	tn.otherReporting = ts.addMember(admin, models.Reporting, "Olly", "olly@example.com", tn.other)
	tn.notification = ts.addMember(admin, models.Notification, "Nora", "nora@example.com", tn.own)
	tn.managerOther = ts.addMember(admin, models.Manager, "Mona", "mona@example.com", tn.other)
	tn.supplyReporting = ts.addMember(admin, models.Reporting, "Gus", "gus@example.com", tn.supply)
	tn.shared = ts.addMember(admin, models.Reporting, "Sam", "sam@example.com", tn.own, tn.other)

	secret, err := ts.store.Bootstrap(context.Background(), models.AccountInput{AccountName: "Beta Calls", Email: "bea@example.com", FirstName: "Bea", LastName: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AcceptInvitation(context.Background(), secret, strongPassword, strongPassword, ""); err != nil {
		t.Fatal(err)
	}
	bea := ts.viewerFor("bea@example.com", "Beta Calls")
	var foreign models.Company
	ts.store.DB().Where("account_id = ?", bea.Account.ID).Take(&foreign)
	tn.foreign = foreign.ID
	tn.foreignMember = ts.addMember(bea, models.Reporting, "Finn", "finn@example.com", tn.foreign)
	return tn
}

func TestCompanies_AdminCreatesRenamesDisablesAndEnables(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")

	form := admin.get("/companies/new")
	wantStatus(t, form, http.StatusOK)
	// The account's zone (chosen at setup) is what a new company starts with.
	if got, _ := form.doc.Find(`select[name="time_zone"] option[selected]`).Attr("value"); got != "America/Chicago" {
		t.Errorf("new company's zone starts at %q, want the account's America/Chicago", got)
	}
	for _, bad := range []url.Values{
		{"name": {""}, "time_zone": {"UTC"}},
		{"name": {"Acme Plumbing"}, "time_zone": {"UTC"}},
		{"name": {"acme plumbing "}, "time_zone": {"UTC"}},
		{"name": {"Roofers"}, "time_zone": {"Mars/Base"}},
		{"name": {strings.Repeat("x", 121)}, "time_zone": {"UTC"}},
	} {
		p := admin.post("/companies", bad)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		if p.text(".field-error") == "" {
			t.Errorf("%v: no field error", bad)
		}
	}
	p := admin.post("/companies", url.Values{"name": {"Best Roofing"}, "time_zone": {"America/Denver"}})
	wantStatus(t, p, http.StatusSeeOther)
	if !strings.Contains(p.header.Get("Location"), "/users?invite=1") {
		t.Errorf("after create: %s", p.header.Get("Location"))
	}
	list := admin.get("/companies")
	if got := list.text(`[data-testid="tab-active"]`); got != "Active 2" {
		t.Errorf("active tab = %q", got)
	}
	id := ts.companyID("Best Roofing")
	wantStatus(t, admin.post("/companies/"+id, url.Values{"name": {"Best Roofing & Gutters"}, "time_zone": {"America/Denver"}}), http.StatusSeeOther)
	if !strings.Contains(admin.get("/companies").text(`[data-testid="companies-table"]`), "Best Roofing & Gutters") {
		t.Error("rename not shown")
	}

	// Disabling names who loses sight of it.
	adminV := ts.viewerFor("ada@example.com", "Acme Calls")
	var cid uint
	fmt.Sscan(id, &cid)
	ts.addMember(adminV, models.Reporting, "Rita", "rita@example.com", cid)
	confirm := admin.get("/companies/" + id + "/disable")
	wantStatus(t, confirm, http.StatusOK)
	if got := confirm.text(`[data-testid="losing"]`); !strings.Contains(got, "rita@example.com") {
		t.Errorf("losing = %q", got)
	}
	wantStatus(t, admin.post("/companies/"+id+"/disable", nil), http.StatusSeeOther)
	list = admin.get("/companies")
	if got := list.text(`[data-testid="tab-disabled"]`); got != "Disabled 1" {
		t.Errorf("disabled tab = %q", got)
	}
	if strings.Contains(list.text(`[data-testid="companies-table"]`), "Best Roofing") {
		t.Error("a disabled company is in the Active list")
	}
	if !strings.Contains(admin.get("/companies?status=disabled").text(`[data-testid="companies-table"]`), "Best Roofing") {
		t.Error("the disabled company is not in the Disabled list")
	}
	// Assignments are kept for when it returns.
	var kept int64
	ts.store.DB().Model(&models.Assignment{}).Where("company_id = ?", cid).Count(&kept)
	if kept != 1 {
		t.Errorf("%d assignments kept, want 1", kept)
	}
	wantStatus(t, admin.post("/companies/"+id+"/enable", nil), http.StatusSeeOther)
	if got := admin.get("/companies").text(`[data-testid="tab-active"]`); got != "Active 2" {
		t.Errorf("after enable: %q", got)
	}
	var events []string
	ts.store.DB().Model(&models.AuditEvent{}).Where("action LIKE 'company.%'").Order("id").Pluck("action", &events)
	if strings.Join(events, ",") != "company.created,company.updated,company.disabled,company.enabled" {
		t.Errorf("audit: %v", events)
	}
}

func TestCompanies_EditUsersAddWithPlusAndRemove(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	admin := ts.login("ada@example.com", strongPassword)
	other := fmt.Sprint(tn.other)

	people := admin.get("/companies/" + other + "/users")
	wantStatus(t, people, http.StatusOK)
	got := people.text(`[data-testid="company-people"]`)
	if !strings.Contains(got, "ada@example.com") || !strings.Contains(got, "All companies") || !strings.Contains(got, "olly@example.com") {
		t.Errorf("people of Other Roofing: %q", got)
	}
	// Removing someone from their only company says so, wherever it is
	// asked: Rita has only Acme, Sam has Acme and Other Roofing.
	own := admin.get(fmt.Sprintf("/companies/%d/users", tn.own))
	for member, sole := range map[uint]bool{tn.reporting: true, tn.shared: false} {
		dialog := fmt.Sprintf(`#dlg-remove-%d-%d [data-testid="sole-company"]`, tn.own, member)
		page := admin.get(fmt.Sprintf("/companies/%d/users/%d/remove", tn.own, member))
		fromUser := admin.get(fmt.Sprintf("/users/%d/companies/remove?company=%d", member, tn.own))
		edit := admin.get(fmt.Sprintf("/users/%d", member))
		for name, got := range map[string]bool{
			"company page dialog": own.doc.Find(dialog).Length() == 1,
			"remove page":         page.doc.Find(`[data-testid="sole-company"]`).Length() == 1,
			"remove from user":    fromUser.doc.Find(`[data-testid="sole-company"]`).Length() == 1,
			"edit user dialog":    edit.doc.Find(`[data-testid="sole-company"]`).Length() == 1,
		} {
			if got != sole {
				t.Errorf("member %d, %s: says it is their only company = %v, want %v", member, name, got, sole)
			}
		}
	}
	// Each person's state, and the way back to the company's own page.
	if st := people.text(`tr[data-email="ada@example.com"] [data-testid="status"]`); st != "Active" {
		t.Errorf("Ada's status on the company's people = %q", st)
	}
	if href, _ := people.doc.Find(`.crumbs a`).First().Attr("href"); href != "/companies/"+other {
		t.Errorf("the first crumb leads to %q, want the company's page", href)
	}
	invite := admin.get("/companies/" + other + "/users?invite=1")
	cands := invite.text(`[data-testid="candidates"]`)
	if !strings.Contains(cands, "rita@example.com") || strings.Contains(cands, "olly@example.com") || strings.Contains(cands, "ada@example.com") || strings.Contains(cands, "finn@example.com") {
		t.Errorf("candidates = %q", cands)
	}
	p := admin.post("/companies/"+other+"/users", url.Values{"member": {fmt.Sprint(tn.reporting)}})
	wantStatus(t, p, http.StatusSeeOther)
	if !strings.Contains(admin.follow(p).text(".flash"), "Rita Test now has access to Other Roofing") {
		t.Error("no confirmation after +")
	}
	if !strings.Contains(admin.get("/companies/"+other+"/users").text(`[data-testid="company-people"]`), "rita@example.com") {
		t.Error("Rita not listed after +")
	}
	p = admin.post(fmt.Sprintf("/companies/%s/users/%d/remove", other, tn.reporting), nil)
	wantStatus(t, p, http.StatusSeeOther)
	if strings.Contains(admin.get("/companies/"+other+"/users").text(`[data-testid="company-people"]`), "rita@example.com") {
		t.Error("Rita still listed after removal")
	}
	// Another account's person cannot be added, nor an Admin.
	wantStatus(t, admin.post("/companies/"+other+"/users", url.Values{"member": {fmt.Sprint(tn.foreignMember)}}), http.StatusNotFound)
	wantStatus(t, admin.post("/companies/"+other+"/users", url.Values{"member": {fmt.Sprint(tn.admin)}}), http.StatusConflict)
}

func TestCompanies_ManagerWorksWithinTheirCompanies(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	max := ts.login("max@example.com", strongPassword)
	own, other := fmt.Sprint(tn.own), fmt.Sprint(tn.other)

	list := max.get("/companies")
	wantStatus(t, list, http.StatusOK)
	if got := list.text(`[data-testid="companies-table"]`); !strings.Contains(got, "Acme Plumbing") || strings.Contains(got, "Other Roofing") {
		t.Errorf("manager's companies: %q", got)
	}
	if list.doc.Find(`[data-testid="create-company"], [data-testid="tab-disabled"], [data-testid="disable"]`).Length() != 0 {
		t.Error("a Manager is offered company management")
	}
	users := max.get("/users")
	got := users.text(`[data-testid="users-table"]`)
	if !strings.Contains(got, "rita@example.com") || strings.Contains(got, "olly@example.com") || strings.Contains(got, "finn@example.com") {
		t.Errorf("manager's users list: %q", got)
	}
	// Invite user offers the Reporting and Notification people of his
	// other company, and nobody he cannot see elsewhere.
	cands := max.get("/companies/" + own + "/users?invite=1").text(`[data-testid="candidates"]`)
	if !strings.Contains(cands, "gus@example.com") || strings.Contains(cands, "olly@example.com") || strings.Contains(cands, "mona@example.com") {
		t.Errorf("manager's candidates = %q", cands)
	}
	// He is not told whether Rita (only on Acme, as an Admin is told) has
	// companies beyond his.
	for _, path := range []string{"/companies/" + own + "/users", fmt.Sprintf("/companies/%s/users/%d/remove", own, tn.reporting)} {
		if p := max.get(path); p.doc.Find(`[data-testid="sole-company"]`).Length() != 0 {
			t.Errorf("%s tells a Manager whether someone has other companies", path)
		}
	}
	// Add and remove existing Reporting and Notification people on their company.
	wantStatus(t, max.post("/companies/"+own+"/users", url.Values{"member": {fmt.Sprint(tn.supplyReporting)}}), http.StatusSeeOther)
	wantStatus(t, max.post(fmt.Sprintf("/companies/%s/users/%d/remove", own, tn.supplyReporting), nil), http.StatusSeeOther)
	wantStatus(t, max.post(fmt.Sprintf("/companies/%s/users/%d/remove", own, tn.notification), nil), http.StatusSeeOther)
	// Nothing else: a Manager he shares a company with is not his to add;
	// people he cannot see are not there at all, even by a forged form, and
	// nothing is written.
	wantStatus(t, max.post("/companies/"+own+"/users", url.Values{"member": {fmt.Sprint(tn.manager)}}), http.StatusForbidden)
	before := ts.fingerprint()
	for _, member := range []uint{tn.otherReporting, tn.managerOther, tn.foreignMember} {
		wantStatus(t, max.post("/companies/"+own+"/users", url.Values{"member": {fmt.Sprint(member)}}), http.StatusNotFound)
	}
	wantStatus(t, max.post("/companies/"+other+"/users", url.Values{"member": {fmt.Sprint(tn.reporting)}}), http.StatusNotFound)
	if after := ts.fingerprint(); after != before {
		t.Errorf("a refused add changed the database:\n%s\n%s", before, after)
	}
	wantStatus(t, max.get("/companies/"+other+"/users"), http.StatusNotFound)
	wantStatus(t, max.post("/companies", url.Values{"name": {"Mine"}, "time_zone": {"UTC"}}), http.StatusForbidden)
	wantStatus(t, max.post("/companies/"+own+"/disable", nil), http.StatusForbidden)
	wantStatus(t, max.post("/companies/"+other+"/disable", nil), http.StatusNotFound)
	wantStatus(t, max.get("/companies?status=disabled"), http.StatusForbidden)
}

// fingerprint sums up what scope tests must find unchanged after a refused
// request: people, their companies, companies, links, email and the audit
// log (sessions and last-active times may move).
func (ts *testServer) fingerprint() string {
	ts.t.Helper()
	var parts []string
	for _, q := range []string{
		"SELECT id || ':' || type || ':' || status || ':' || email || ':' || first_name || ':' || last_name FROM memberships ORDER BY id",
		"SELECT membership_id || ':' || company_id FROM assignments ORDER BY membership_id, company_id",
		"SELECT id || ':' || name || ':' || status || ':' || time_zone FROM companies ORDER BY id",
		"SELECT COUNT(*) FROM tokens",
		"SELECT COUNT(*) FROM outbox_messages",
		"SELECT COUNT(*) FROM audit_events",
		"SELECT id || ':' || status FROM access_requests ORDER BY id",
	} {
		var rows []string
		if err := ts.store.DB().Raw(q).Scan(&rows).Error; err != nil {
			ts.t.Fatalf("fingerprint %q: %v", q, err)
		}
		parts = append(parts, strings.Join(rows, ","))
	}
	return strings.Join(parts, " | ")
}

func TestCompanies_DisablingHidesItAtTheNextRequest(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	admin := ts.login("ada@example.com", strongPassword)
	max := ts.login("max@example.com", strongPassword)
	own := fmt.Sprint(tn.own)
	wantStatus(t, max.get("/companies/"+own+"/users"), http.StatusOK)

	wantStatus(t, admin.post("/companies/"+own+"/disable", nil), http.StatusSeeOther)
	wantStatus(t, max.get("/companies/"+own+"/users"), http.StatusNotFound)
	if strings.Contains(max.get("/companies").body, "Acme Plumbing") {
		t.Error("a disabled company is still listed for the Manager")
	}
	if got := max.get("/users").text(`[data-testid="users-table"]`); strings.Contains(got, "rita@example.com") {
		t.Error("the Manager still sees people through a disabled company")
	}
	wantStatus(t, admin.post("/companies/"+own+"/enable", nil), http.StatusSeeOther)
	wantStatus(t, max.get("/companies/"+own+"/users"), http.StatusOK)
}

// The IDOR table of SECURITY.md: each type × each company/person/account
// action × own company / other company / other account. The answers follow
// policy.go: outside the actor's scope 404, inside it without the right 403.
// Each actor starts from fresh tenants, so one actor's changes (a person
// removed, a company renamed) never decide another's answers.
func TestScope_EveryTypeEveryActionEveryTarget(t *testing.T) {
	type action struct {
		name   string
		method string
		path   func(tn *tenants, target string) string
		form   func(tn *tenants, target string) url.Values
	}
	company := func(tn *tenants, t string) uint {
		return map[string]uint{"own": tn.own, "other": tn.other, "foreign": tn.foreign}[t]
	}
	// The person of each target: Nora on own, Olly on other, Finn in B.
	person := func(tn *tenants, t string) uint {
		return map[string]uint{"own": tn.notification, "other": tn.otherReporting, "foreign": tn.foreignMember}[t]
	}
	add := func(member func(tn *tenants) uint) func(tn *tenants, t string) url.Values {
		return func(tn *tenants, _ string) url.Values { return url.Values{"member": {fmt.Sprint(member(tn))}} }
	}
	actions := []action{
		{"view company users", "GET", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/users", company(tn, t)) }, nil},
		{"invite list", "GET", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/users?invite=1", company(tn, t)) }, nil},
		// Gus is the Manager's (on supply), not Rita's.
		{"add to company", "POST", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/users", company(tn, t)) },
			add(func(tn *tenants) uint { return tn.supplyReporting })},
		// Olly is on other only: outside every non-Admin's scope here.
		{"add someone out of scope", "POST", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/users", company(tn, t)) },
			add(func(tn *tenants) uint { return tn.otherReporting })},
		{"add an Admin", "POST", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/users", company(tn, t)) },
			add(func(tn *tenants) uint { return tn.admin })},
		{"edit company", "GET", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/edit", company(tn, t)) }, nil},
		{"rename company", "POST", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d", company(tn, t)) },
			func(_ *tenants, t string) url.Values {
				return url.Values{"name": {"Renamed " + t}, "time_zone": {"UTC"}}
			}},
		{"confirm disable", "GET", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/disable", company(tn, t)) }, nil},
		{"resend invitation", "POST", func(tn *tenants, t string) string { return fmt.Sprintf("/users/%d/resend", person(tn, t)) }, nil},
		{"created page", "GET", func(tn *tenants, t string) string { return fmt.Sprintf("/users/%d/created", person(tn, t)) }, nil},
		{"filter users by company", "GET", func(tn *tenants, t string) string { return fmt.Sprintf("/users?company=%d", company(tn, t)) }, nil},
		{"remove from company", "POST", func(tn *tenants, t string) string {
			return fmt.Sprintf("/companies/%d/users/%d/remove", company(tn, t), person(tn, t))
		}, nil},
		// Last: it takes the company away from everyone else.
		{"disable company", "POST", func(tn *tenants, t string) string { return fmt.Sprintf("/companies/%d/disable", company(tn, t)) }, nil},
	}
	// want[actor][action][target]: the status, or 0 for "2xx/3xx success".
	const ok = 0
	all := func(own, other, foreign int) map[string]int {
		return map[string]int{"own": own, "other": other, "foreign": foreign}
	}
	want := map[string]map[string]map[string]int{
		"admin": {
			"view company users": all(ok, ok, 404), "invite list": all(ok, ok, 404),
			"add to company": all(ok, ok, 404), "add someone out of scope": all(ok, ok, 404), "add an Admin": all(409, 409, 404),
			"edit company": all(ok, ok, 404), "rename company": all(ok, ok, 404), "confirm disable": all(ok, ok, 404),
			"resend invitation": all(409, 409, 404), "created page": all(ok, ok, 404),
			"filter users by company": all(ok, ok, 404), "remove from company": all(ok, ok, 404),
			"disable company": all(ok, ok, 404),
		},
		"manager": {
			"view company users": all(ok, 404, 404), "invite list": all(ok, 404, 404),
			"add to company": all(ok, 404, 404), "add someone out of scope": all(404, 404, 404), "add an Admin": all(409, 404, 404),
			"edit company": all(403, 404, 404), "rename company": all(403, 404, 404), "confirm disable": all(403, 404, 404),
			"resend invitation": all(403, 404, 404), "created page": all(403, 404, 404),
			"filter users by company": all(ok, 404, 404), "remove from company": all(ok, 404, 404),
			"disable company": all(403, 404, 404),
		},
		"reporting": {
			"view company users": all(403, 404, 404), "invite list": all(403, 404, 404),
			"add to company": all(404, 404, 404), "add someone out of scope": all(404, 404, 404), "add an Admin": all(403, 404, 404),
			"edit company": all(403, 404, 404), "rename company": all(403, 404, 404), "confirm disable": all(403, 404, 404),
			"resend invitation": all(403, 404, 404), "created page": all(403, 404, 404),
			"filter users by company": all(403, 404, 404), "remove from company": all(403, 404, 404),
			"disable company": all(403, 404, 404),
		},
	}
	emails := map[string]string{"admin": "ada@example.com", "manager": "max@example.com", "reporting": "rita@example.com"}
	for _, actor := range []string{"admin", "manager", "reporting", "anonymous"} {
		tn := newTenants(t)
		ts := tn.ts
		var b *browser
		var hidden []string
		if actor == "anonymous" {
			b = ts.browser()
			b.get("/login")
		} else {
			b = ts.login(emails[actor], strongPassword)
			hidden = tn.outOfScope(emails[actor])
		}
		for _, a := range actions {
			for _, target := range []string{"own", "other", "foreign"} {
				before := ts.fingerprint()
				var p *page
				if a.method == "GET" {
					p = b.get(a.path(tn, target))
				} else {
					var form url.Values
					if a.form != nil {
						form = a.form(tn, target)
					}
					p = b.post(a.path(tn, target), form)
				}
				name := fmt.Sprintf("%s / %s / %s", actor, a.name, target)
				toLogin := p.status == http.StatusSeeOther && strings.HasPrefix(p.header.Get("Location"), "/login")
				if actor == "anonymous" {
					if !toLogin && p.status != http.StatusUnauthorized {
						t.Errorf("%s: status %d to %q, want a login redirect or 401", name, p.status, p.header.Get("Location"))
					}
					continue
				}
				w := want[actor][a.name][target]
				if w == ok {
					// Success is the page, or a change's redirect, never a
					// way back to the login.
					if (a.method == "GET" && p.status != http.StatusOK) || p.status >= 400 || toLogin {
						t.Errorf("%s: status %d to %q, want success", name, p.status, p.header.Get("Location"))
					}
				} else {
					if p.status != w {
						t.Errorf("%s: status %d, want %d", name, p.status, w)
					}
					if after := ts.fingerprint(); after != before {
						t.Errorf("%s: refused with %d, but the database changed:\n%s\n%s", name, p.status, before, after)
					}
				}
				for _, h := range hidden {
					if strings.Contains(p.body, h) {
						t.Errorf("%s: the answer (%d) shows %q, which is outside the actor's scope", name, p.status, h)
					}
				}
			}
		}
	}
}

func TestCompanies_HeaderShowsCompanyAndSwitches(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	admin := ts.login("ada@example.com", strongPassword)
	p := admin.get("/")
	if got := p.text(`[data-testid="current-company"]`); !strings.Contains(got, "Acme Plumbing") || !strings.Contains(got, "Switch") {
		t.Errorf("header company = %q", got)
	}
	wantStatus(t, admin.get("/switch-company"), http.StatusOK)
	wantStatus(t, admin.post("/switch-company", url.Values{"company": {fmt.Sprint(tn.other)}}), http.StatusSeeOther)
	if got := admin.get("/users").text(`[data-testid="current-company"]`); !strings.Contains(got, "Other Roofing") {
		t.Errorf("after switching: %q", got)
	}
	wantStatus(t, admin.post("/switch-company", url.Values{"company": {fmt.Sprint(tn.foreign)}}), http.StatusNotFound)

	// The company in use offers no "Work in this company".
	sw := admin.get("/switch-company")
	workIn := func(name string) int {
		return sw.doc.Find(`button`).FilterFunction(func(_ int, b *goquery.Selection) bool {
			return strings.TrimSpace(b.Text()) == "Work in this company: "+name
		}).Length()
	}
	if workIn("Other Roofing") != 0 || workIn("Acme Plumbing") != 1 {
		t.Errorf("switcher offers to work in the current company: %q", sw.text("main"))
	}

	// The company worked in changes nothing for a Manager's pages (the
	// wizard and granting are Admins'), so their header does not show it.
	mona := ts.login("mona@example.com", strongPassword)
	if n := mona.get("/").doc.Find(`[data-testid="current-company"]`).Length(); n != 0 {
		t.Errorf("a Manager's header shows the company worked in")
	}
	// They can still choose one (the users list offers it past 25
	// companies), among their own only.
	max := ts.login("max@example.com", strongPassword)
	sw = max.get("/switch-company")
	if got := sw.text("main"); !strings.Contains(got, "Acme Supply") || strings.Contains(got, "Other Roofing") {
		t.Errorf("manager's switcher = %q", got)
	}
	wantStatus(t, max.post("/switch-company", url.Values{"company": {fmt.Sprint(tn.supply)}}), http.StatusSeeOther)
	if sw := max.get("/switch-company"); !strings.Contains(sw.text(`[data-testid="switch-list"]`), "Acme Supply UTC Current") ||
		sw.doc.Find(`button[aria-label="Work in Acme Supply"]`).Length() != 0 {
		t.Errorf("after switching: %q", sw.text(`[data-testid="switch-list"]`))
	}
	wantStatus(t, max.post("/switch-company", url.Values{"company": {fmt.Sprint(tn.other)}}), http.StatusNotFound)
	wantStatus(t, max.post("/switch-company", url.Values{"company": {fmt.Sprint(tn.foreign)}}), http.StatusNotFound)

	// Disabling the company in use falls back to one still visible.
	wantStatus(t, admin.post(fmt.Sprintf("/companies/%d/disable", tn.other), nil), http.StatusSeeOther)
	if got := admin.get("/").text(`[data-testid="current-company"]`); !strings.Contains(got, "Acme Plumbing") {
		t.Errorf("after disabling the current company: %q", got)
	}
}

// TestUsers_ManyCompaniesPickedOnTheirOwnPage: with more companies than a
// select holds comfortably, the company filter is a page that searches
// them, keeps the rest of the view, and says the Admins see every company.
func TestUsers_ManyCompaniesPickedOnTheirOwnPage(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	for i := range 30 {
		ts.addCompany(fmt.Sprintf("Branch %02d", i))
	}
	adminV := ts.viewerFor("ada@example.com", "Acme Calls")
	var branch uint
	fmt.Sscan(ts.companyID("Branch 07"), &branch)
	ts.addMember(adminV, models.Reporting, "Rita", "rita@example.com", branch)

	p := admin.get("/users?sort=email&size=25")
	if p.doc.Find("select#f-company").Length() != 0 {
		t.Error("31 companies are listed as options")
	}
	href, ok := p.doc.Find(`[data-testid="choose-company"]`).Attr("href")
	if !ok || !strings.HasPrefix(href, "/users/company?") || !strings.Contains(href, "sort=email") {
		t.Fatalf("the company picker link is %q", href)
	}
	picker := admin.get(href)
	wantStatus(t, picker, http.StatusOK)
	if n := picker.doc.Find(`[data-company-option]`).Length(); n != 31 {
		t.Errorf("the picker lists %d companies, want 31", n)
	}
	if !strings.Contains(picker.text(`[data-testid="picker-count"]`), "Admins see every company") {
		t.Errorf("the picker does not say where the Admins are: %q", picker.text(`[data-testid="picker-count"]`))
	}
	// Without script the search is submitted; it keeps the view.
	found := admin.get(href + "&find=" + url.QueryEscape("ch 07"))
	options := found.doc.Find(`[data-company-option] a`)
	if options.Length() != 1 || options.Text() != "Branch 07" {
		t.Fatalf("searching “ch 07” lists %d: %q", options.Length(), options.Text())
	}
	if v, _ := found.doc.Find(`form.picker-search input[name="sort"]`).Attr("value"); v != "email" {
		t.Errorf("the search forgets the sort (%q)", v)
	}
	if n := admin.get(href + "&find=nothing-like-it").doc.Find(`[data-testid="picker-empty"]`).Length(); n != 1 {
		t.Error("a search that finds no company says nothing")
	}
	chosen, _ := options.Attr("href")
	if !strings.Contains(chosen, fmt.Sprintf("company=%d", branch)) || !strings.Contains(chosen, "sort=email") || !strings.Contains(chosen, "size=25") {
		t.Fatalf("choosing the company leads to %q", chosen)
	}
	filtered := admin.get(chosen)
	if got := filtered.text(`[data-testid="user-count"]`); !strings.HasPrefix(got, "1 person") {
		t.Errorf("filtered count = %q", got)
	}
	if got := filtered.text(`[data-testid="picked-company"]`); got != "Branch 07" {
		t.Errorf("the chosen company shows as %q", got)
	}
	if v, _ := filtered.doc.Find(`.company-pick input[name="company"]`).Attr("value"); v != fmt.Sprint(branch) {
		t.Errorf("applying other filters would drop the company (%q)", v)
	}
	if got := filtered.text(`[data-testid="admins-note"]`); !strings.Contains(got, "Admins see every company, Branch 07 included") {
		t.Errorf("filtering by a company does not say the Admins see it: %q", got)
	}
	// Export keeps the company.
	if exp, _ := filtered.doc.Find(`[data-testid="export"]`).Attr("href"); !strings.Contains(exp, fmt.Sprintf("company=%d", branch)) {
		t.Errorf("the export link forgets the company: %q", exp)
	}
	// Bad input: a company of another account, an overlong search.
	wantStatus(t, admin.get("/users/company?company=999999"), http.StatusNotFound)
	wantStatus(t, admin.get("/users/company?find="+strings.Repeat("x", 101)), http.StatusBadRequest)
	wantStatus(t, admin.get("/static/icons.svg"), http.StatusOK)
}
