package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"switchboard/models"
)

func TestSetup_CreatesAccountAndLinkWorksOnce(t *testing.T) {
	ts := newTestServer(t)
	b := ts.setupAccount("ada@example.com")

	users := b.get("/users")
	wantStatus(t, users, http.StatusOK)
	if got := users.text(`[data-testid="account-name"]`); got != "Acme Calls" {
		t.Errorf("header account = %q", got)
	}
	if got := users.text(`[data-testid="user-row"]`); !strings.Contains(got, "ada@example.com") || !strings.Contains(got, "Admin") {
		t.Errorf("users list row = %q", got)
	}

	// After setup there is no setup link to be had, and old ones are dead.
	secret, err := ts.store.IssueSetupLink(context.Background())
	if err != nil || secret != "" {
		t.Fatalf("setup link after setup = %q, %v; want none", secret, err)
	}
}

func TestSetup_UsedLinkIsGone(t *testing.T) {
	ts := newTestServer(t)
	secret, _ := ts.store.IssueSetupLink(context.Background())
	b := ts.browser()
	b.get("/setup/" + secret)
	form := url.Values{
		"account_name": {"Acme"}, "company_name": {"Acme"}, "time_zone": {"UTC"},
		"first_name": {"Ada"}, "last_name": {"Admin"}, "email": {"ada@example.com"},
		"password": {strongPassword}, "confirm": {strongPassword},
	}
	wantStatus(t, b.post("/setup/"+secret, form), http.StatusSeeOther)

	other := ts.browser()
	p := other.get("/setup/" + secret)
	wantStatus(t, p, http.StatusGone)
	if !strings.Contains(p.text("h1"), "setup link no longer works") {
		t.Errorf("h1 = %q", p.text("h1"))
	}
	other.get("/login")
	wantStatus(t, other.post("/setup/"+secret, form), http.StatusGone)
}

func TestSetup_ConcurrentUseCreatesOneAccount(t *testing.T) {
	ts := newTestServer(t)
	secret, _ := ts.store.IssueSetupLink(context.Background())
	const n = 6
	browsers := make([]*browser, n)
	for i := range browsers {
		browsers[i] = ts.browser()
		browsers[i].get("/setup/" + secret)
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = b.post("/setup/"+secret, url.Values{
				"account_name": {"Acme"}, "company_name": {"Acme"}, "time_zone": {"UTC"},
				"first_name": {"Ada"}, "last_name": {"Admin"}, "email": {"ada@example.com"},
				"password": {strongPassword}, "confirm": {strongPassword},
			}).status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusSeeOther {
			ok++
		} else if s != http.StatusGone {
			t.Errorf("status %d, want 303 or 410", s)
		}
	}
	var accounts int64
	ts.store.DB().Model(&models.Account{}).Count(&accounts)
	if ok != 1 || accounts != 1 {
		t.Fatalf("%d successes and %d accounts; want 1 and 1", ok, accounts)
	}
}

func TestSetup_InvalidInputKeepsWhatWasTyped(t *testing.T) {
	ts := newTestServer(t)
	secret, _ := ts.store.IssueSetupLink(context.Background())
	b := ts.browser()
	b.get("/setup/" + secret)
	p := b.post("/setup/"+secret, url.Values{
		"account_name": {"<b>Acme</b>"}, "company_name": {""}, "time_zone": {"Mars/Olympus"},
		"first_name": {"Ada"}, "last_name": {"Admin"}, "email": {"Ada <ada@example.com>"},
		"password": {"short"}, "confirm": {"short"},
	})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	for field, want := range map[string]string{
		"company_name": "Enter the company name", "time_zone": "Choose a time zone",
		"email": "Enter an email address like", "password": "at least 12 characters",
	} {
		if got := p.text("#e-" + field); !strings.Contains(got, want) {
			t.Errorf("error for %s = %q, want %q", field, got, want)
		}
	}
	if v, _ := p.doc.Find("#f-account_name").Attr("value"); v != "<b>Acme</b>" {
		t.Errorf("account name not kept: %q", v)
	}
	if strings.Contains(p.body, "<b>Acme</b>") {
		t.Error("account name rendered unescaped")
	}
	var n int64
	ts.store.DB().Model(&models.Account{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d accounts written by an invalid form", n)
	}
	// The link still works after a failed attempt.
	wantStatus(t, b.get("/setup/"+secret), http.StatusOK)
}
