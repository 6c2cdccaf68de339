package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchboard/models"
)

// accounts builds A (Ada, with Rita as Reporting), B (Bea) and C (Cy).
type threeAccounts struct {
	ts            *testServer
	a, b, c       *models.Viewer
	bCompany      uint
	bOtherCompany uint
	rita          *browser
}

func newThreeAccounts(t *testing.T) *threeAccounts {
	ts := newTestServer(t)
	ts.setupAccount("ada@example.com")
	x := &threeAccounts{ts: ts}
	x.a = ts.viewerFor("ada@example.com", "Acme Calls")
	var plumbing uint
	fmt.Sscan(ts.companyID("Acme Plumbing"), &plumbing)
	ts.addMember(x.a, models.Reporting, "Rita", "rita@example.com", plumbing)
	for _, acct := range []struct{ name, email, first string }{{"Beta Calls", "bea@example.com", "Bea"}, {"Gamma Calls", "cy@example.com", "Cy"}} {
		secret, err := ts.store.Bootstrap(context.Background(), models.AccountInput{AccountName: acct.name, Email: acct.email, FirstName: acct.first, LastName: "Admin"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.store.AcceptInvitation(context.Background(), secret, strongPassword, strongPassword, ""); err != nil {
			t.Fatal(err)
		}
	}
	x.b = ts.viewerFor("bea@example.com", "Beta Calls")
	x.c = ts.viewerFor("cy@example.com", "Gamma Calls")
	var co models.Company
	ts.store.DB().Where("account_id = ?", x.b.Account.ID).Take(&co)
	x.bCompany = co.ID
	fmt.Sscan(ts.addCompanyTo(x.b.Account.ID, "Beta Secret Branch"), &x.bOtherCompany)
	x.rita = ts.login("rita@example.com", strongPassword)
	return x
}

func (ts *testServer) addCompanyTo(accountID uint, name string) string {
	c := models.Company{AccountID: accountID, Name: name, Status: models.CompanyActive, TimeZone: "UTC"}
	if err := ts.store.DB().Create(&c).Error; err != nil {
		ts.t.Fatal(err)
	}
	return fmt.Sprint(c.ID)
}

func (ts *testServer) outboxTo(email, kind string) int64 {
	var n int64
	ts.store.DB().Model(&models.OutboxMessage{}).Where("to_address = ? AND kind = ?", email, kind).Count(&n)
	return n
}

func TestAccess_RequestGrantSwitch(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	admin := ts.login("bea@example.com", strongPassword)
	acct := admin.get("/account")
	if got := acct.text(`[data-testid="account-number"]`); got != x.b.Account.Number {
		t.Fatalf("Bea sees account number %q, want %q", got, x.b.Account.Number)
	}
	// Rita's account page offers the request, and no number to non-Admins.
	ritaAcct := x.rita.get("/account")
	if ritaAcct.doc.Find(`[data-testid="account-number"]`).Length() != 0 {
		t.Error("a Reporting user sees the account number")
	}
	p := x.rita.post("/access-requests", url.Values{"number": {x.b.Account.Number}, "note": {"I run Beta's call desk."}})
	wantStatus(t, p, http.StatusSeeOther)
	if n := ts.outboxTo("bea@example.com", "access_requested"); n != 1 {
		t.Fatalf("%d emails to Bea, want 1", n)
	}
	if got := x.rita.get("/access-requests").text(`[data-testid="my-requests"]`); !strings.Contains(got, x.b.Account.Number) || !strings.Contains(got, "Waiting") {
		t.Errorf("Rita's requests: %q", got)
	}
	users := admin.get("/users")
	if !strings.Contains(users.text(`[data-testid="incoming-banner"]`), "1 access request waiting") {
		t.Errorf("banner: %q", users.text(`[data-testid="incoming-banner"]`))
	}
	incoming := admin.get("/access-requests/incoming")
	if got := incoming.text(`[data-testid="incoming"]`); !strings.Contains(got, "rita@example.com") || !strings.Contains(got, "I run Beta's call desk.") {
		t.Fatalf("incoming: %q", got)
	}
	var req models.AccessRequest
	ts.store.DB().Where("account_id = ?", x.b.Account.ID).Take(&req)

	// Grant: type and companies are checked like the wizard's.
	grant := fmt.Sprintf("/access-requests/%d/grant", req.ID)
	wantStatus(t, admin.get(grant), http.StatusOK)
	wantStatus(t, admin.post(grant, url.Values{"type": {"manager"}}), http.StatusUnprocessableEntity)
	wantStatus(t, admin.post(grant, url.Values{"type": {"SuperAdmin"}, "company": {fmt.Sprint(x.bCompany)}}), http.StatusUnprocessableEntity)
	wantStatus(t, admin.post(grant, url.Values{"type": {"manager"}, "company": {"1"}}), http.StatusUnprocessableEntity) // A's company
	wantStatus(t, admin.post(grant, url.Values{"type": {"manager"}, "company": {fmt.Sprint(x.bCompany)}}), http.StatusSeeOther)
	if n := ts.outboxTo("rita@example.com", "access_granted"); n != 1 {
		t.Errorf("%d granted emails to Rita, want 1", n)
	}
	var logins int64
	ts.store.DB().Model(&models.Login{}).Where("email = ?", "rita@example.com").Count(&logins)
	var inB models.Membership
	ts.store.DB().Where("account_id = ? AND email = ?", x.b.Account.ID, "rita@example.com").Take(&inB)
	if logins != 1 || inB.LoginID == nil || inB.Type != models.Manager || inB.Status != models.MemberActive {
		t.Fatalf("grant made %d logins and membership %+v", logins, inB)
	}
	wantStatus(t, admin.post(grant, url.Values{"type": {"manager"}, "company": {fmt.Sprint(x.bCompany)}}), http.StatusConflict)

	// Rita switches to B, where she is a Manager of one company.
	home := x.rita.get("/")
	if home.doc.Find(`[data-testid="switch-account"]`).Length() != 1 {
		t.Fatal("no account switcher in the header")
	}
	wantStatus(t, x.rita.get("/users"), http.StatusForbidden) // Reporting in A
	wantStatus(t, x.rita.post("/switch-account", url.Values{"membership": {fmt.Sprint(inB.ID)}}), http.StatusSeeOther)
	list := x.rita.get("/users")
	wantStatus(t, list, http.StatusOK)
	if got := list.text(`[data-testid="account-name"]`); !strings.Contains(got, "Beta Calls") {
		t.Errorf("header account after switching: %q", got)
	}
	companies := x.rita.get("/companies").text(`[data-testid="companies-table"]`)
	if !strings.Contains(companies, "Beta Calls") || strings.Contains(companies, "Beta Secret Branch") || strings.Contains(companies, "Acme") {
		t.Errorf("Rita's companies in B: %q", companies)
	}
	// A's objects are 404 from B.
	wantStatus(t, x.rita.get(fmt.Sprintf("/companies/%s/users", ts.companyID("Acme Plumbing"))), http.StatusNotFound)
	// Someone else's membership cannot be switched to.
	wantStatus(t, x.rita.post("/switch-account", url.Values{"membership": {fmt.Sprint(x.c.Membership.ID)}}), http.StatusNotFound)
}

func TestAccess_NeutralAnswerAndRateLimit(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	flash := func(number string) (int, string) {
		p := x.rita.post("/access-requests", url.Values{"number": {number}})
		if p.status != http.StatusSeeOther {
			return p.status, ""
		}
		return p.status, x.rita.follow(p).text(".flash")
	}
	sExisting, existing := flash(x.c.Account.Number)
	sUnknown, unknown := flash("1000000000")
	sOwn, own := flash(x.a.Account.Number)
	if sExisting != http.StatusSeeOther || existing == "" || existing != unknown || unknown != own || sUnknown != sExisting || sOwn != sExisting {
		t.Fatalf("answers differ: %d %q / %d %q / %d %q", sExisting, existing, sUnknown, unknown, sOwn, own)
	}
	// Only the real, joinable account was told.
	if n := ts.outboxTo("cy@example.com", "access_requested"); n != 1 {
		t.Errorf("%d emails to Cy", n)
	}
	if n := ts.outboxTo("ada@example.com", "access_requested"); n != 0 {
		t.Errorf("Rita's own account was told of her request")
	}
	// The requester's list shows all three the same way.
	mine := x.rita.get("/access-requests").doc.Find(`[data-testid="my-requests"] li`)
	if mine.Length() != 3 {
		t.Errorf("%d requests listed, want 3", mine.Length())
	}
	// Malformed numbers are a form error, not a probe.
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {"12 OR 1=1"}}), http.StatusUnprocessableEntity)
	// Rate limit: five an hour (three sent above; the malformed one is not
	// a request).
	for _, number := range []string{"1000000001", "1000000002"} {
		if status, _ := flash(number); status != http.StatusSeeOther {
			t.Fatalf("request %s: status %d, want it accepted (fewer than five this hour)", number, status)
		}
	}
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {x.b.Account.Number}}), http.StatusTooManyRequests)
}

func TestAccess_DeclineWithdrawAndForeignIDs(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	cy := ts.login("cy@example.com", strongPassword)
	bea := ts.login("bea@example.com", strongPassword)
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {x.c.Account.Number}}), http.StatusSeeOther)
	var req models.AccessRequest
	ts.store.DB().Where("account_id = ?", x.c.Account.ID).Take(&req)

	// Another account's Admin cannot see or decide it.
	wantStatus(t, bea.get(fmt.Sprintf("/access-requests/%d/grant", req.ID)), http.StatusNotFound)
	wantStatus(t, bea.post(fmt.Sprintf("/access-requests/%d/decline", req.ID), nil), http.StatusNotFound)
	// Nor can a non-Admin.
	wantStatus(t, x.rita.get("/access-requests/incoming"), http.StatusForbidden)

	wantStatus(t, cy.post(fmt.Sprintf("/access-requests/%d/decline", req.ID), nil), http.StatusSeeOther)
	if n := ts.outboxTo("rita@example.com", "access_declined"); n != 1 {
		t.Errorf("%d declined emails", n)
	}
	if !strings.Contains(x.rita.get("/access-requests").text(`[data-testid="my-requests"]`), "Declined") {
		t.Error("Rita does not see the decline")
	}

	// A new request, withdrawn: it leaves Cy's list.
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {x.c.Account.Number}}), http.StatusSeeOther)
	var again models.AccessRequest
	ts.store.DB().Where("account_id = ? AND status = ?", x.c.Account.ID, models.AccessPending).Take(&again)
	wantStatus(t, bea.post(fmt.Sprintf("/access-requests/%d/withdraw", again.ID), nil), http.StatusNotFound)
	wantStatus(t, x.rita.post(fmt.Sprintf("/access-requests/%d/withdraw", again.ID), nil), http.StatusSeeOther)
	if cy.get("/access-requests/incoming").doc.Find(`[data-testid="incoming"] li`).Length() != 0 {
		t.Error("a withdrawn request is still waiting")
	}
}

func TestAccess_LeaveAccount(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	// Give Rita a second account, then she leaves it.
	wantStatus(t, x.rita.post("/access-requests", url.Values{"number": {x.b.Account.Number}}), http.StatusSeeOther)
	var req models.AccessRequest
	ts.store.DB().Where("account_id = ?", x.b.Account.ID).Take(&req)
	if _, err := ts.store.GrantAccess(context.Background(), x.b, req.ID, models.GrantInput{Type: models.Reporting, CompanyIDs: []uint{x.bCompany}}, ""); err != nil {
		t.Fatal(err)
	}
	var inB models.Membership
	ts.store.DB().Where("account_id = ? AND email = ?", x.b.Account.ID, "rita@example.com").Take(&inB)
	wantStatus(t, x.rita.post("/switch-account", url.Values{"membership": {fmt.Sprint(inB.ID)}}), http.StatusSeeOther)
	wantStatus(t, x.rita.get("/account/leave"), http.StatusOK)
	p := x.rita.post("/account/leave", nil)
	wantStatus(t, p, http.StatusSeeOther)
	home := x.rita.follow(p)
	wantStatus(t, home, http.StatusOK)
	if got := home.text(`[data-testid="account-name"]`); !strings.Contains(got, "Acme Calls") {
		t.Errorf("after leaving B Rita is in %q", got)
	}
	var left int64
	ts.store.DB().Model(&models.Membership{}).Where("id = ?", inB.ID).Count(&left)
	if left != 0 {
		t.Error("membership in B still exists")
	}

	// The last Admin cannot leave.
	ada := ts.login("ada@example.com", strongPassword)
	if !strings.Contains(ada.get("/account").body, "last active Admin") {
		t.Error("the account page does not warn the last Admin")
	}
	wantStatus(t, ada.post("/account/leave", nil), http.StatusConflict)

	// Leaving one's only account removes the login too.
	p = x.rita.post("/account/leave", nil)
	wantStatus(t, p, http.StatusSeeOther)
	var logins int64
	ts.store.DB().Model(&models.Login{}).Where("email = ?", "rita@example.com").Count(&logins)
	if logins != 0 {
		t.Error("a login with no account is left behind")
	}
	wantStatus(t, x.rita.get("/users"), http.StatusSeeOther)
}

func TestInvitation_ExistingLoginJoinsWithoutNewPassword(t *testing.T) {
	x := newThreeAccounts(t)
	ts := x.ts
	var bCompany = x.bCompany
	// Bea invites Zoe while Zoe has no login yet; then Zoe joins A first.
	zoeB, _, err := ts.store.CreateMember(context.Background(), x.b, models.Draft{Key: models.NewDraftKey(), Type: models.Reporting,
		FirstName: "Zoe", LastName: "Both", Email: "zoe@example.com", CompanyIDs: []uint{bCompany}}, "")
	if err != nil {
		t.Fatal(err)
	}
	_, secretB := ts.lastInvitation("zoe@example.com")
	var plumbing uint
	fmt.Sscan(ts.companyID("Acme Plumbing"), &plumbing)
	ts.addMember(x.a, models.Reporting, "Zoe", "zoe@example.com", plumbing)
	var hashBefore string
	ts.store.DB().Model(&models.Login{}).Where("email = ?", "zoe@example.com").Pluck("password_hash", &hashBefore)

	anon := ts.browser()
	p := anon.get("/invite/" + secretB)
	wantStatus(t, p, http.StatusOK)
	if p.doc.Find(`input[name="password"]`).Length() != 0 || p.doc.Find(`[data-testid="login-to-join"]`).Length() != 1 {
		t.Fatal("an existing login is asked for a new password instead of logging in")
	}
	// Logged in as someone else: never attached to them.
	wantStatus(t, x.rita.post("/invite/"+secretB, url.Values{"join": {"1"}}), http.StatusConflict)

	zoe := ts.login("zoe@example.com", strongPassword)
	wantStatus(t, zoe.get("/invite/"+secretB), http.StatusOK)
	p = zoe.post("/invite/"+secretB, url.Values{"join": {"1"}})
	wantStatus(t, p, http.StatusSeeOther)
	var m models.Membership
	ts.store.DB().Take(&m, zoeB.ID)
	var hashAfter string
	ts.store.DB().Model(&models.Login{}).Where("email = ?", "zoe@example.com").Pluck("password_hash", &hashAfter)
	if m.Status != models.MemberActive || m.LoginID == nil || hashAfter != hashBefore {
		t.Fatalf("join: %+v; password changed: %v", m, hashAfter != hashBefore)
	}
	if got := zoe.get("/").text(`[data-testid="account-name"]`); !strings.Contains(got, "Beta Calls") || !strings.Contains(got, "Switch account") {
		t.Errorf("after joining: %q", got)
	}
}
