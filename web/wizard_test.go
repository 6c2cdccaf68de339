package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/models"
)

var inviteLink = regexp.MustCompile(`(https?://[^\s"<>]+)/invite/([A-Za-z0-9_-]{43})`)

// lastInvitation returns the secret in the newest email to an address.
func (ts *testServer) lastInvitation(email string) (base, secret string) {
	ts.t.Helper()
	var msg models.OutboxMessage
	if err := ts.store.DB().Where("to_address = ?", email).Order("id DESC").Take(&msg).Error; err != nil {
		ts.t.Fatalf("no email to %s: %v", email, err)
	}
	m := inviteLink.FindStringSubmatch(msg.TextBody)
	if m == nil {
		ts.t.Fatalf("email to %s has no invitation link:\n%s", email, msg.TextBody)
	}
	return m[1], m[2]
}

// wizard walks a browser through the wizard and returns the final response.
type wizardInput struct {
	typ, first, last, email, message string
	companies                        []string
	invoice                          bool
}

func (b *browser) startWizard() string {
	b.t.Helper()
	p := b.get("/users/new")
	wantStatus(b.t, p, http.StatusOK)
	key, _ := p.doc.Find(`input[name="key"]`).Attr("value")
	return key
}

func (in wizardInput) form(key string) url.Values {
	f := url.Values{"key": {key}, "type": {in.typ}, "first_name": {in.first}, "last_name": {in.last},
		"email": {in.email}, "message": {in.message}, "company": in.companies}
	if in.invoice {
		f.Set("invoice_emails", "on")
	}
	return f
}

func (b *browser) createUser(in wizardInput) *page {
	b.t.Helper()
	key := b.startWizard()
	last := "message"
	if in.typ == string(models.Notification) {
		last = "companies"
	}
	for _, step := range []string{"type", "info", "companies", last} {
		p := b.post("/users/new/"+step, in.form(key))
		if step == last {
			return p
		}
		wantStatus(b.t, p, http.StatusOK)
		if step == "companies" {
			break
		}
	}
	return b.post("/users/new/"+last, in.form(key))
}

func (ts *testServer) companyID(name string) string {
	var c models.Company
	if err := ts.store.DB().Where("name = ?", name).Take(&c).Error; err != nil {
		ts.t.Fatalf("company %s: %v", name, err)
	}
	return fmt.Sprint(c.ID)
}

func (ts *testServer) addCompany(name string) string {
	var acct models.Account
	ts.store.DB().First(&acct)
	c := models.Company{AccountID: acct.ID, Name: name, Status: models.CompanyActive, TimeZone: "UTC"}
	if err := ts.store.DB().Create(&c).Error; err != nil {
		ts.t.Fatal(err)
	}
	return fmt.Sprint(c.ID)
}

func TestWizard_CreatesReportingUserWhoAcceptsAndSeesTheirCompanies(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	ts.addCompany("Hidden Roofing")

	p := admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "Rita@Example.com",
		message: "Welcome aboard!", companies: []string{plumbing}})
	wantStatus(t, p, http.StatusSeeOther)
	done := admin.follow(p)
	wantStatus(t, done, http.StatusOK)
	if !strings.Contains(done.text(`[data-testid="created"]`), "Rita Reports was added as a Reporting user") {
		t.Errorf("done page: %q", done.text("main"))
	}
	if done.doc.Find(`a[href="/users/new"]`).Length() == 0 || done.doc.Find(`a[href="/users"]`).Length() == 0 {
		t.Error("done page lacks the next steps")
	}

	var msg models.OutboxMessage
	ts.store.DB().Where("to_address = ?", "rita@example.com").Take(&msg)
	if !strings.Contains(msg.Subject, "Ada Admin invited you to Acme Calls") || !strings.Contains(msg.TextBody, "Welcome aboard!") ||
		!strings.Contains(msg.HTMLBody, "Welcome aboard!") || !strings.Contains(msg.TextBody, "expires on") {
		t.Errorf("invitation email: %q\n%s", msg.Subject, msg.TextBody)
	}
	base, secret := ts.lastInvitation("rita@example.com")
	if base != ts.base.String() {
		t.Errorf("link base %q, want the configured %q", base, ts.base)
	}

	// The users list shows the pending invitation with its expiry.
	list := admin.get("/users?q=rita")
	if got := list.text(`[data-testid="user-row"]`); !strings.Contains(got, "Invited Sent Nov 23, 2026 · expires Nov 30, 2026") {
		t.Errorf("users row = %q", got)
	}

	// The invitee opens the link, sets a password, lands logged in.
	rita := ts.browser()
	inv := rita.get("/invite/" + secret)
	wantStatus(t, inv, http.StatusOK)
	if got := inv.text(`[data-testid="invitation-lede"]`); got != "Ada Admin invited you to Acme Calls on Switchboard." {
		t.Errorf("invitation page says %q", got)
	}
	if inv.header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(inv.header.Get("Cache-Control"), "no-store") {
		t.Error("the token page must not leak through Referer or caches")
	}
	weak := rita.post("/invite/"+secret, url.Values{"password": {"password1234"}, "confirm": {"password1234"}})
	wantStatus(t, weak, http.StatusUnprocessableEntity)
	if !strings.Contains(weak.text("#e-password"), "too common") {
		t.Errorf("weak password error: %q", weak.text("#e-password"))
	}
	ok := rita.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}})
	wantStatus(t, ok, http.StatusSeeOther)
	home := rita.follow(ok)
	wantStatus(t, home, http.StatusOK)
	if got := home.text(`[data-testid="my-companies"]`); !strings.Contains(got, "Acme Plumbing") || strings.Contains(got, "Hidden Roofing") {
		t.Errorf("invitee sees companies %q", got)
	}
	// Reporting users have no users list or wizard.
	wantStatus(t, rita.get("/users/new"), http.StatusForbidden)
	wantStatus(t, rita.get("/users"), http.StatusForbidden)

	// The link is spent.
	wantStatus(t, ts.browser().get("/invite/"+secret), http.StatusGone)
	// Nothing in the logs carries the secret.
	if strings.Contains(ts.logs.String(), secret) {
		t.Error("the invitation secret reached the logs")
	}
	var events []string
	ts.store.DB().Model(&models.AuditEvent{}).Order("id").Pluck("action", &events)
	if strings.Join(events, ",") != "account.created,member.created,invitation.sent,member.activated" {
		t.Errorf("audit events %v", events)
	}
}

func TestWizard_StepsValidateAndKeepInput(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()

	// No type chosen.
	p := admin.post("/users/new/type", url.Values{"key": {key}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if p.text("#e-type") == "" {
		t.Error("missing type error")
	}
	// Bad info: errors next to each field, input kept.
	in := wizardInput{typ: "manager", first: "", last: strings.Repeat("x", 101), email: "Bob <bob@example.com>"}
	p = admin.post("/users/new/info", in.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	for field, want := range map[string]string{"first_name": "Enter the first name", "last_name": "at most 100", "email": "Enter an email address like"} {
		if got := p.text("#e-" + field); !strings.Contains(got, want) {
			t.Errorf("%s error = %q, want %q", field, got, want)
		}
	}
	if v, _ := p.doc.Find("#f-email").Attr("value"); v != "Bob <bob@example.com>" {
		t.Errorf("email not kept: %q", v)
	}
	// Skipping ahead by URL: the message step with no info shows the info step.
	p = admin.post("/users/new/message", url.Values{"key": {key}, "type": {"manager"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if p.doc.Find("#f-first_name").Length() == 0 {
		t.Error("skipping to the message step did not return to the info step")
	}
	// Companies are required for a Manager.
	in = wizardInput{typ: "manager", first: "Bob", last: "Boss", email: "bob@example.com"}
	p = admin.post("/users/new/companies", in.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text("#e-companies"), "at least one company") {
		t.Errorf("companies error %q", p.text("#e-companies"))
	}
	// Back from companies keeps what was typed on the info step.
	in.companies = []string{ts.companyID("Acme Plumbing")}
	p = admin.post("/users/new/companies", mergeValues(in.form(key), url.Values{"go": {"back"}}))
	wantStatus(t, p, http.StatusOK)
	if v, _ := p.doc.Find("#f-first_name").Attr("value"); v != "Bob" {
		t.Errorf("back lost the first name: %q", v)
	}
	if v, _ := p.doc.Find(`input[type="hidden"][name="company"]`).Attr("value"); v != in.companies[0] {
		t.Errorf("back lost the companies: %q", v)
	}
	// A company of another account, or a made-up one, is refused.
	for _, bad := range []string{"999", "1 OR 1=1", "-1"} {
		in.companies = []string{bad}
		p = admin.post("/users/new/companies", in.form(key))
		if p.status != http.StatusUnprocessableEntity && p.status != http.StatusBadRequest {
			t.Errorf("company %q: status %d", bad, p.status)
		}
	}
	// Odd types and repeated parameters are refused.
	for _, typ := range []string{"SuperAdmin", "ADMIN", " admin", "admin\x00"} {
		p = admin.post("/users/new/type", url.Values{"key": {key}, "type": {typ}})
		wantStatus(t, p, http.StatusUnprocessableEntity)
	}
	wantStatus(t, admin.post("/users/new/type", url.Values{"key": {key}, "type": {"admin", "reporting"}}), http.StatusBadRequest)
	// An overlong message.
	in = wizardInput{typ: "manager", first: "Bob", last: "Boss", email: "bob@example.com", companies: []string{ts.companyID("Acme Plumbing")},
		message: strings.Repeat("m", models.MaxMessageLength+1)}
	p = admin.post("/users/new/message", in.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text(".field-error"), "Keep the message") {
		t.Errorf("message error %q", p.text(".field-error"))
	}
	var n int64
	ts.store.DB().Model(&models.Membership{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d members after invalid forms, want only the Admin", n)
	}
}

func mergeValues(a, b url.Values) url.Values {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestWizard_TypeStepShowsTheMatrix(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	p := admin.get("/users/new")
	rows := p.doc.Find(`[data-testid="matrix"] tbody tr`)
	lines := models.Matrix()
	if rows.Length() != len(lines) {
		t.Fatalf("%d rows, want %d", rows.Length(), len(lines))
	}
	for i, line := range lines {
		cells := rows.Eq(i).Find("td")
		for j, typ := range models.UserTypes {
			got, _ := cells.Eq(j).Attr("data-allowed")
			if (got == "yes") != models.Can(typ, line.Capability) {
				t.Errorf("%q for %s shows %q", line.Label, typ, got)
			}
		}
	}
	if p.doc.Find(`input[type="radio"][name="type"]`).Length() != 4 {
		t.Error("the type step should offer the four types")
	}
}

func TestWizard_EmailAlreadyUsed(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	p := admin.post("/users/new/info", wizardInput{typ: "manager", first: "Ada", last: "Again", email: "ADA@example.com"}.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	if !strings.Contains(p.text("#e-email"), "already a user of this account") || p.doc.Find(`[data-testid="already-member"] a`).Length() != 1 {
		t.Errorf("same-account error: %q", p.text("#e-email"))
	}

	// A login in another account: the two ways out.
	other, err := ts.store.Bootstrap(t.Context(), models.AccountInput{AccountName: "Other", Email: "olga@example.com", FirstName: "Olga", LastName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AcceptInvitation(t.Context(), other, strongPassword, strongPassword, ""); err != nil {
		t.Fatal(err)
	}
	p = admin.post("/users/new/info", wizardInput{typ: "manager", first: "Olga", last: "Other", email: "olga@example.com"}.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
	box := p.text(`[data-testid="login-elsewhere"]`)
	for _, want := range []string{"already in Switchboard's system", "Admin and have their address deleted", "request access to this account"} {
		if !strings.Contains(box, want) {
			t.Errorf("login-elsewhere box lacks %q: %q", want, box)
		}
	}
	if p.doc.Find(`a[href="/help/request-access"]`).Length() != 1 {
		t.Error("no link to the request-access explanation")
	}
	wantStatus(t, admin.get("/help/request-access"), http.StatusOK)
}

func TestWizard_DoubleSubmitCreatesOnePersonAndOneEmail(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	form := wizardInput{typ: "admin", first: "Al", last: "Second", email: "al@example.com", invoice: true}.form(key)
	var wg sync.WaitGroup
	locations := make([]string, 8)
	for i := range locations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := admin.post("/users/new/message", form)
			locations[i] = fmt.Sprint(p.status, " ", p.header.Get("Location"))
		}()
	}
	wg.Wait()
	for _, l := range locations[1:] {
		if l != locations[0] || !strings.HasPrefix(l, "303 /users/") {
			t.Fatalf("responses differ or failed: %v", locations)
		}
	}
	// A reload afterwards is harmless too.
	p := admin.post("/users/new/message", form)
	if got := fmt.Sprint(p.status, " ", p.header.Get("Location")); got != locations[0] {
		t.Errorf("reload answered %q, want %q", got, locations[0])
	}
	var members, mails int64
	ts.store.DB().Model(&models.Membership{}).Where("email = ?", "al@example.com").Count(&members)
	ts.store.DB().Model(&models.OutboxMessage{}).Where("to_address = ?", "al@example.com").Count(&mails)
	if members != 1 || mails != 1 {
		t.Fatalf("%d members and %d emails, want 1 and 1", members, mails)
	}
	var al models.Membership
	ts.store.DB().Where("email = ?", "al@example.com").Take(&al)
	if !al.InvoiceEmails || al.Type != models.Admin {
		t.Errorf("new Admin: %+v", al)
	}
}

func TestWizard_NotificationUserEndsAtCompanies(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	in := wizardInput{typ: "notification", first: "Nora", last: "Notes", email: "nora@example.com", companies: []string{ts.companyID("Acme Plumbing")}}
	p := admin.post("/users/new/info", in.form(key))
	wantStatus(t, p, http.StatusOK)
	if got := p.text(".wizard-actions .button-primary"); got != "Create user" {
		t.Errorf("companies step button for Notification = %q", got)
	}
	if strings.Contains(p.text(".stepper"), "Message") {
		t.Error("a Notification user's wizard shows a message step")
	}
	p = admin.post("/users/new/companies", in.form(key))
	wantStatus(t, p, http.StatusSeeOther)
	var nora models.Membership
	ts.store.DB().Where("email = ?", "nora@example.com").Take(&nora)
	if nora.Status != models.MemberActive || nora.LoginID != nil {
		t.Errorf("notification user: %+v", nora)
	}
	var msg models.OutboxMessage
	ts.store.DB().Where("to_address = ?", "nora@example.com").Take(&msg)
	if msg.Kind != "notification_added" || inviteLink.MatchString(msg.TextBody) || !strings.Contains(msg.TextBody, "Acme Plumbing") {
		t.Errorf("notification email: %s\n%s", msg.Kind, msg.TextBody)
	}
	var tokens int64
	ts.store.DB().Model(&models.Token{}).Where("membership_id = ?", nora.ID).Count(&tokens)
	if tokens != 0 {
		t.Error("a Notification user got a login link")
	}
}

func TestWizard_OutputIsEscapedInPagesAndEmails(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	evil := `<script>alert(1)</script>`
	p := admin.createUser(wizardInput{typ: "reporting", first: evil, last: `"><img src=x onerror=alert(1)>`, email: "eve@example.com",
		message: `<a href="javascript:alert(1)">click</a>`, companies: []string{ts.companyID("Acme Plumbing")}})
	wantStatus(t, p, http.StatusSeeOther)
	for _, body := range []string{admin.follow(p).body, admin.get("/users").body} {
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Error("a page renders a name unescaped")
		}
	}
	var msg models.OutboxMessage
	ts.store.DB().Where("to_address = ?", "eve@example.com").Take(&msg)
	if strings.Contains(msg.HTMLBody, "<script>alert") || strings.Contains(msg.HTMLBody, `<a href="javascript:`) || strings.Contains(msg.HTMLBody, "<img src=x") {
		t.Error("the email's HTML renders user text unescaped")
	}
	// The invitation page escapes the names too.
	_, secret := ts.lastInvitation("eve@example.com")
	if body := ts.browser().get("/invite/" + secret).body; strings.Contains(body, "<script>alert") {
		t.Error("the invitation page renders a name unescaped")
	}
	// CR/LF cannot reach a header: names are refused before any email exists.
	key := admin.startWizard()
	p = admin.post("/users/new/info", wizardInput{typ: "reporting", first: "Mal\r\nBcc: x@example.com", last: "Lory", email: "mal@example.com"}.form(key))
	wantStatus(t, p, http.StatusUnprocessableEntity)
}

func TestInvitation_ResendKillsOldLinkAndIsRateLimited(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "manager", first: "Max", last: "Manager", email: "max@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	_, first := ts.lastInvitation("max@example.com")
	var max models.Membership
	ts.store.DB().Where("email = ?", "max@example.com").Take(&max)

	list := admin.get("/users?q=max")
	if list.doc.Find(`[data-testid="resend"]`).Length() != 1 {
		t.Fatal("no Resend invitation button for the invitee")
	}
	resend := fmt.Sprintf("/users/%d/resend", max.ID)
	wantStatus(t, admin.post(resend, nil), http.StatusTooManyRequests)
	ts.clock.Advance(2 * time.Minute)
	p := admin.post(resend, nil)
	wantStatus(t, p, http.StatusSeeOther)
	if !strings.Contains(admin.follow(p).text(".flash"), "new invitation is on its way to max@example.com") {
		t.Error("no confirmation after resend")
	}
	_, second := ts.lastInvitation("max@example.com")
	if second == first {
		t.Fatal("resend reused the old link")
	}
	old := ts.browser().get("/invite/" + first)
	wantStatus(t, old, http.StatusGone)
	if !strings.Contains(old.text("h1"), "replaced") {
		t.Errorf("old link page: %q", old.text("h1"))
	}
	wantStatus(t, ts.browser().get("/invite/"+second), http.StatusOK)

	// Another account's member, made-up IDs, and anyone but an Admin.
	for _, id := range []string{"999", "0", "-1", "0x1", "99999999999999999999", "1%20OR%201=1"} {
		p := admin.post("/users/"+id+"/resend", nil)
		if p.status != http.StatusNotFound && p.status != http.StatusBadRequest {
			t.Errorf("resend %s: status %d", id, p.status)
		}
	}
	// Expiry shows on the users list.
	ts.clock.Advance(models.InvitationLinkTTL + time.Hour)
	admin = ts.login("ada@example.com", strongPassword)
	if got := admin.get("/users?q=max").text(`[data-testid="user-row"]`); !strings.Contains(got, "Expired") {
		t.Errorf("expired invitation row = %q", got)
	}
	wantStatus(t, ts.browser().get("/invite/"+second), http.StatusGone)
}

func TestInvitation_OtherPersonLoggedInIsNotAttached(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "reporting", first: "Rae", last: "Port", email: "rae@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	_, secret := ts.lastInvitation("rae@example.com")

	p := admin.get("/invite/" + secret)
	wantStatus(t, p, http.StatusOK)
	if got := p.text(`[data-testid="other-login"]`); !strings.Contains(got, "ada@example.com") || !strings.Contains(got, "rae@example.com") {
		t.Errorf("notice = %q", got)
	}
	if p.doc.Find(`input[name="password"]`).Length() != 0 {
		t.Error("the password form is offered to someone else")
	}
	wantStatus(t, admin.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusConflict)
	var rae models.Membership
	ts.store.DB().Where("email = ?", "rae@example.com").Take(&rae)
	if rae.Status != models.MemberInvited || rae.LoginID != nil {
		t.Fatalf("invitation was attached: %+v", rae)
	}
	// Still logged in as Ada, still the Admin.
	wantStatus(t, admin.get("/users"), http.StatusOK)
}

func TestInvitation_LinksUseConfiguredBaseNotHost(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	key := admin.startWizard()
	in := wizardInput{typ: "reporting", first: "Hal", last: "Host", email: "hal@example.com", companies: []string{ts.companyID("Acme Plumbing")}}
	form := in.form(key)
	form.Set("_csrf", admin.csrf)
	req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/users/new/message", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	req.Header.Set("X-Forwarded-Host", "evil.example")
	// The client's jar looks cookies up by Host, so hand the cookie over.
	for _, c := range admin.client.Jar.Cookies(ts.base) {
		req.AddCookie(c)
	}
	wantStatus(t, admin.do(req), http.StatusSeeOther)
	base, _ := ts.lastInvitation("hal@example.com")
	if base != ts.base.String() {
		t.Errorf("link built from %q, want %q", base, ts.base)
	}
}

func TestWizard_OnlyAdmins(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	wantStatus(t, admin.createUser(wizardInput{typ: "manager", first: "Max", last: "Manager", email: "max@example.com",
		companies: []string{ts.companyID("Acme Plumbing")}}), http.StatusSeeOther)
	_, secret := ts.lastInvitation("max@example.com")
	max := ts.browser()
	max.get("/invite/" + secret)
	wantStatus(t, max.post("/invite/"+secret, url.Values{"password": {strongPassword}, "confirm": {strongPassword}}), http.StatusSeeOther)

	wantStatus(t, max.get("/users/new"), http.StatusForbidden)
	key := models.NewDraftKey()
	wantStatus(t, max.post("/users/new/message", wizardInput{typ: "admin", first: "Evil", last: "Twin", email: "twin@example.com"}.form(key)), http.StatusForbidden)
	var admins int64
	ts.store.DB().Model(&models.Membership{}).Where("type = ?", models.Admin).Count(&admins)
	if admins != 1 {
		t.Fatal("a Manager created an Admin")
	}
	// A Manager sees the users list of their companies, without actions.
	list := max.get("/users")
	wantStatus(t, list, http.StatusOK)
	if list.doc.Find(`[data-testid="create-user"]`).Length() != 0 {
		t.Error("a Manager is offered Create user")
	}
	wantStatus(t, ts.browser().get("/users/new"), http.StatusSeeOther)
}

// Long audit details (a person with many companies) and odd User-Agents are
// cut to their columns, not refused, on every database.
func TestWizard_ManyCompaniesAndOddUserAgent(t *testing.T) {
	ts := newTestServer(t)
	admin := ts.setupAccount("ada@example.com")
	var ids []string
	for i := range 40 {
		ids = append(ids, ts.addCompany(fmt.Sprintf("A company with a rather long name number %02d", i)))
	}
	p := admin.createUser(wizardInput{typ: "reporting", first: "Rita", last: "Reports", email: "rita@example.com", companies: ids})
	wantStatus(t, p, http.StatusSeeOther)
	var ev models.AuditEvent
	ts.store.DB().Where("action = ?", "member.created").Take(&ev)
	if n := len([]rune(ev.Detail)); n > 500 || !strings.HasSuffix(ev.Detail, "…") {
		t.Errorf("detail of %d characters: %q", n, ev.Detail)
	}
	b := ts.browser()
	b.get("/login")
	req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/login", strings.NewReader(url.Values{"email": {"ada@example.com"}, "password": {strongPassword}, "_csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", strings.Repeat("é", 200)+"\xff\xfe")
	wantStatus(t, b.do(req), http.StatusSeeOther)
}
