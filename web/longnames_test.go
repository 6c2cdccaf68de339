package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"switchboard/models"
)

// longText is n characters cycling through seed (which has no spaces, so
// nothing is trimmed away), many of them more than one byte long.
func longText(seed string, n int) string {
	r := []rune(seed)
	out := make([]rune, n)
	for i := range out {
		out[i] = r[i%len(r)]
	}
	return string(out)
}

// The outbox's column sizes (models.OutboxMessage), in characters.
const (
	outboxSubjectSize = 255
	outboxToNameSize  = 201
)

// emailKinds are the kinds of email the console writes, one per method of
// models.MailComposer.
var emailKinds = []string{"invitation", "notification_added", "type_changed", "access_requested",
	"access_granted", "access_declined", "password_changed", "password_reset", "login_throttled", "address_changed"}

// The review found that an account name of 56 characters and an Admin of
// 100 + 100 made the wizard's last step answer 422 with no field marked:
// the invitation's subject overflowed the outbox's 255 characters. Here
// every kind of email is produced through the real routes by people,
// accounts and companies with the longest names the forms accept. Every
// action succeeds, and every email fits the outbox and can be composed,
// its subject cut between whole characters with an ellipsis.
func TestEmails_LongestNamesNeverMakeAnActionFail(t *testing.T) {
	if n := reflect.TypeFor[models.MailComposer]().NumMethod(); n != len(emailKinds) {
		t.Fatalf("models.MailComposer writes %d kinds of email, this test knows %d: add the new kind here", n, len(emailKinds))
	}
	ts := newTestServer(t)
	first := writeEveryEmail(t, ts, longText)

	for _, kind := range emailKinds {
		var msgs []models.OutboxMessage
		if err := ts.store.DB().Where("kind = ?", kind).Order("id").Find(&msgs).Error; err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			t.Errorf("no %s email was written", kind)
			continue
		}
		for _, m := range msgs {
			if !utf8.ValidString(m.Subject) || utf8.RuneCountInString(m.Subject) > outboxSubjectSize || strings.TrimSpace(m.Subject) == "" {
				t.Errorf("%s: subject of %d characters: %q", kind, utf8.RuneCountInString(m.Subject), m.Subject)
			}
			if !utf8.ValidString(m.ToName) || utf8.RuneCountInString(m.ToName) > outboxToNameSize {
				t.Errorf("%s: recipient name of %d characters", kind, utf8.RuneCountInString(m.ToName))
			}
			if utf8.RuneCountInString(m.Subject) == outboxSubjectSize && !strings.HasSuffix(m.Subject, "…") {
				t.Errorf("%s: a full subject should end with an ellipsis: %q", kind, m.Subject)
			}
			// The email goes out with the same subject and name.
			msg, err := composeEmail(DefaultFrom(ts.base), m)
			if err != nil {
				t.Errorf("%s: compose: %v", kind, err)
				continue
			}
			var raw bytes.Buffer
			if _, err := msg.WriteTo(&raw); err != nil {
				t.Fatal(err)
			}
			got := parseEmail(t, raw.Bytes())
			if got.Subject != m.Subject || len(got.To) != 1 || got.To[0].Name != m.ToName {
				t.Errorf("%s: sent as subject %q to %v; stored %q to %q", kind, got.Subject, got.To, m.Subject, m.ToName)
			}
		}
	}
	// The two subjects that hold two long names are the ones that were cut.
	for _, kind := range []string{"invitation", "access_requested"} {
		var m models.OutboxMessage
		ts.store.DB().Where("kind = ?", kind).Order("id").First(&m)
		if !strings.HasSuffix(m.Subject, "…") || !strings.HasPrefix(m.Subject, first) && !strings.HasPrefix(m.Subject, "Rhé") {
			t.Errorf("%s: subject %q, want the long names cut with an ellipsis", kind, m.Subject)
		}
	}
}

// writeEveryEmail makes the console write every kind of email through its
// real routes: first start, the wizard (an Admin, a Notification user), a
// Notification user's new address, a promotion, a password change and reset, a declined then granted request
// for access from another account, and failed logins. name(seed, n) makes
// the names: the longest the forms accept, or short ones. It returns the
// first Admin's first name.
func writeEveryEmail(t *testing.T, ts *testServer, name func(seed string, n int) string) string {
	t.Helper()
	ctx := context.Background()
	first, last := name("Åda-Łøvęlаce·", models.MaxNameLength), name("Ŵïłłïåmš-Ŷøŕķ", models.MaxNameLength)
	account, company := name("Ünïcödé-Cälls·", models.MaxCompanyLength), name("Plümbïng-Çø·", models.MaxCompanyLength)

	// First start, with name's account, company and Admin names.
	secret, err := ts.store.IssueSetupLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin := ts.browser()
	admin.get("/setup/" + secret)
	p := admin.post("/setup/"+secret, url.Values{"account_name": {account}, "company_name": {company}, "time_zone": {"UTC"},
		"first_name": {first}, "last_name": {last}, "email": {"ada@example.com"}, "password": {strongPassword}, "confirm": {strongPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	admin.follow(p)
	companyID := ts.companyID(company)

	// invitation: the wizard's last step for an Admin.
	wantStatus(t, admin.createUser(wizardInput{typ: "admin", first: name("Ĩvÿ-", 100), last: name("Ïñvîtéé-", 100), email: "ivy@example.com", invoice: true}), http.StatusSeeOther)
	// notification_added: the wizard for a Notification user.
	wantStatus(t, admin.createUser(wizardInput{typ: "notification", first: name("Nöra-", 100), last: name("Nötïfÿ-", 100), email: "nora@example.com", companies: []string{companyID}}), http.StatusSeeOther)

	// address_changed: the Notification user's address corrected.
	nils := ts.addPerson(person{typ: models.Notification, first: name("Nïls-", 100), email: "nils@example.com", companies: []string{companyID}})
	admin.get(userPath(nils.ID, ""))
	wantStatus(t, admin.post(userPath(nils.ID, ""), url.Values{"first_name": {nils.FirstName}, "last_name": {name("Nötïfÿ-", 100)}, "email": {"nils.new@example.com"}}), http.StatusSeeOther)

	// type_changed: promoting an active Reporting user.
	rex := ts.addPerson(person{typ: models.Reporting, first: name("Rëx-", 100), email: "rex@example.com", companies: []string{companyID}})
	ts.store.DB().Model(&models.Membership{}).Where("id = ?", rex.ID).Update("last_name", name("Rëpørtïng-", 100))
	admin.get(userPath(rex.ID, "/promote?to=manager"))
	wantStatus(t, admin.post(userPath(rex.ID, "/type"), url.Values{"to": {"manager"}, "company": {companyID}}), http.StatusSeeOther)

	// password_changed and password_reset, for the long-named Admin.
	admin.get("/account/password")
	wantStatus(t, admin.post("/account/password", url.Values{"current": {strongPassword}, "password": {strongPassword + "-2"}, "confirm": {strongPassword + "-2"}}), http.StatusSeeOther)
	anon := ts.browser()
	anon.get("/password/forgot")
	wantStatus(t, anon.post("/password/forgot", url.Values{"email": {"ada@example.com"}}), http.StatusOK)

	// access_requested, access_declined and access_granted: someone of
	// another long-named account asks to join this one.
	other, err := ts.store.Bootstrap(ctx, models.AccountInput{AccountName: name("Öthér-Äccöüñt·", models.MaxCompanyLength),
		Email: "rhea@example.com", FirstName: name("Rhéä-", 100), LastName: name("Rëqüëstër-", 100)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AcceptInvitation(ctx, other, strongPassword, strongPassword, ""); err != nil {
		t.Fatal(err)
	}
	number := ts.account().Number
	rhea := ts.login("rhea@example.com", strongPassword)
	rhea.get("/access-requests")
	wantStatus(t, rhea.post("/access-requests", url.Values{"number": {number}, "note": {name("Plëäsé-", models.MaxAccessNoteLength)}}), http.StatusSeeOther)
	admin.get("/access-requests/incoming")
	wantStatus(t, admin.post(fmt.Sprintf("/access-requests/%d/decline", ts.pendingRequest()), nil), http.StatusSeeOther)
	rhea.get("/access-requests")
	wantStatus(t, rhea.post("/access-requests", url.Values{"number": {number}}), http.StatusSeeOther)
	grant := fmt.Sprintf("/access-requests/%d/grant", ts.pendingRequest())
	admin.get(grant)
	wantStatus(t, admin.post(grant, url.Values{"type": {"reporting"}, "company": {companyID}}), http.StatusSeeOther)

	// login_throttled: failed logins to the long-named Admin's address,
	// from a browser that never logged in as her, until she is told.
	stranger := ts.browser()
	stranger.get("/login")
	for i := range ts.store.ThrottlePolicy().LoginAccount.SlowAfter + 1 {
		stranger.post("/login", url.Values{"email": {"ada@example.com"}, "password": {fmt.Sprint("not-her-password-", i)}})
	}

	return first
}

// pendingRequest is the ID of the newest pending access request.
func (ts *testServer) pendingRequest() uint {
	ts.t.Helper()
	var r models.AccessRequest
	if err := ts.store.DB().Where("status = ?", models.AccessPending).Order("id DESC").Take(&r).Error; err != nil {
		ts.t.Fatalf("no pending access request: %v", err)
	}
	return r.ID
}
