package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"switchboard/models"
	"switchboard/models/calls"
)

// crawl opens every page a browser can reach from the start addresses by
// following links and submitting GET forms as they stand, and hands each
// answer to visit. Nothing it opens changes anything (no GET does).
func crawl(t *testing.T, b *browser, start []string, visit func(path string, p *page)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	queue := slices.Clone(start)
	enqueue := func(from, ref string) {
		u, err := url.Parse(from)
		if err != nil {
			return
		}
		to, err := u.Parse(ref)
		if err != nil || to.Host != "" || to.Scheme != "" || !strings.HasPrefix(to.Path, "/") ||
			strings.HasPrefix(to.Path, "/static/") {
			return
		}
		to.Fragment = ""
		queue = append(queue, to.RequestURI())
	}
	for len(queue) > 0 && len(seen) < 400 {
		path := queue[0]
		queue = queue[1:]
		if _, done := seen[path]; done {
			continue
		}
		p := b.get(path)
		seen[path] = p.status
		visit(path, p)
		p.doc.Find("a[href]").Each(func(_ int, a *goquery.Selection) { enqueue(path, a.AttrOr("href", "")) })
		p.doc.Find("form").Each(func(_ int, f *goquery.Selection) {
			if !strings.EqualFold(f.AttrOr("method", "get"), "get") {
				return
			}
			q := url.Values{}
			var choices []url.Values // the form with one other option chosen
			f.Find("input[name], select[name]").Each(func(_ int, in *goquery.Selection) {
				name := in.AttrOr("name", "")
				switch {
				case goquery.NodeName(in) == "select":
					opt := in.Find("option[selected]").First()
					if opt.Length() == 0 {
						opt = in.Find("option").First()
					}
					q.Add(name, opt.AttrOr("value", opt.Text()))
					in.Find("option").Each(func(_ int, o *goquery.Selection) {
						choices = append(choices, url.Values{name: {o.AttrOr("value", o.Text())}})
					})
				case in.AttrOr("type", "") == "checkbox" || in.AttrOr("type", "") == "radio":
					if _, checked := in.Attr("checked"); checked {
						q.Add(name, in.AttrOr("value", "on"))
					}
				default:
					q.Add(name, in.AttrOr("value", ""))
				}
			})
			action := strings.SplitN(f.AttrOr("action", path), "?", 2)[0]
			enqueue(path, action+"?"+q.Encode())
			for _, c := range choices {
				v := cloneValues(q)
				for k, vs := range c {
					v[k] = vs
				}
				enqueue(path, action+"?"+v.Encode())
			}
		})
	}
	return seen
}

// No page a person can open, whatever its status, names a company or a
// person outside their scope: the users list and its rows, filters,
// company pages and their Invite user lists, the header's switcher, error
// pages, searches for the hidden names.
func TestScope_PagesShowNothingOutsideScope(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	own := fmt.Sprint(tn.own)
	for _, c := range []struct {
		email string
		// shown must appear somewhere, so the crawl is known to have
		// reached the pages that could leak.
		shown []string
	}{
		{"ada@example.com", []string{"Other Roofing", "olly@example.com", "Acme Supply"}},
		{"max@example.com", []string{"sam@example.com", "gus@example.com", "Acme Supply", "Acme Plumbing", "nora@example.com"}},
		{"rita@example.com", []string{"Acme Plumbing"}},
	} {
		t.Run(c.email, func(t *testing.T) {
			b := ts.login(c.email, strongPassword)
			hidden := tn.outOfScope(c.email)
			start := []string{"/", "/users", "/companies", "/switch-company", "/account", "/access-requests",
				"/users?q=olly", "/users?q=other", "/users?q=finn", "/users?q=mona", "/users?q=gus",
				"/companies?q=roofing", "/companies?q=supply", "/switch-company?q=roof",
				"/companies/" + own + "/users", "/companies/" + own + "/users?invite=1",
				"/companies/" + own + "/users?invite=1&q=olly", "/companies/" + own + "/users?invite=1&q=o",
				fmt.Sprintf("/companies/%d/users", tn.other), fmt.Sprintf("/users/%d", tn.otherReporting),
				fmt.Sprintf("/users?company=%d", tn.other),
			}
			var all strings.Builder
			seen := crawl(t, b, start, func(path string, p *page) {
				all.WriteString(p.body)
				for _, h := range hidden {
					if strings.Contains(p.body, h) {
						t.Errorf("%s (status %d) shows %q, outside the scope of %s", path, p.status, h, c.email)
					}
				}
			})
			if len(seen) < 15 {
				t.Errorf("the crawl reached only %d pages: %v", len(seen), seen)
			}
			for _, s := range c.shown {
				if !strings.Contains(all.String(), s) {
					t.Errorf("no page showed %q: the crawl missed the pages under test (%d pages: %v)", s, len(seen), seen)
				}
			}
		})
	}
}

// A users list row names and counts only the companies the viewer sees:
// Sam is on Acme Plumbing and Other Roofing; the Admin reads both, the
// Manager of Acme Plumbing one.
func TestUsersList_RowsNameOnlyTheViewersCompanies(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	for _, c := range []struct{ email, want string }{
		{"ada@example.com", "2 Acme Plumbing, Other Roofing"},
		{"max@example.com", "1 Acme Plumbing"},
	} {
		p := ts.login(c.email, strongPassword).get("/users?q=sam")
		wantStatus(t, p, http.StatusOK)
		row := p.doc.Find(`[data-testid="user-row"][data-email="sam@example.com"] td[data-label="Companies"]`)
		if got := strings.Join(strings.Fields(row.Text()), " "); got != c.want {
			t.Errorf("%s reads Sam's companies as %q, want %q", c.email, got, c.want)
		}
	}
}

// Every route that addresses an object answers 404 to a Manager and a
// Reporting user for any object outside their scope, whatever the method,
// changes nothing, and shows nothing of it. The walk goes over
// e.Routes(), so a route added later is covered without being listed here.
// Objects in their scope never get 404 from a page (403 at most).
func TestScope_EveryRouteOutsideScopeIs404(t *testing.T) {
	tn := newTenants(t)
	ts := tn.ts
	db := ts.store.DB()
	// A disabled company assigned to both: out of their scope too.
	var closed uint
	fmt.Sscan(ts.addCompany("Closed Branch"), &closed)
	for _, m := range []uint{tn.manager, tn.reporting} {
		if err := db.Create(&models.Assignment{MembershipID: m, CompanyID: closed}).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Model(&models.Company{}).Where("id = ?", closed).Update("status", models.CompanyDisabled).Error; err != nil {
		t.Fatal(err)
	}
	// A pending request to account A from Finn (B): Admins' business only.
	finn, _ := ts.member(tn.foreignMember)
	acctA := ts.account()
	incoming := models.AccessRequest{Number: acctA.Number, AccountID: &acctA.ID, LoginID: *finn.LoginID, RequesterEmail: finn.Email,
		FirstName: "Finn", LastName: "Test", Status: models.AccessPending, CreatedAt: ts.store.Now()}
	if err := db.Create(&incoming).Error; err != nil {
		t.Fatal(err)
	}
	// A tracking number and a call in each company of the walk, so that
	// the calls area's routes address real objects.
	numbers, callIDs := map[uint]uint{}, map[uint]uint{}
	for i, co := range []uint{tn.own, tn.other, tn.foreign, closed} {
		n := calls.TrackingNumber{AccountID: companyAccount(t, ts, co), CompanyID: co,
			Number: fmt.Sprintf("+1415555%04d", 900+i), Name: "Line", Status: calls.NumberActive}
		if err := db.Create(&n).Error; err != nil {
			t.Fatal(err)
		}
		caller := calls.Caller{CompanyID: co, Number: fmt.Sprintf("+1212555%04d", 900+i)}
		if err := db.Create(&caller).Error; err != nil {
			t.Fatal(err)
		}
		call := calls.Call{AccountID: n.AccountID, CompanyID: co, NumberID: n.ID, Kind: calls.KindCall,
			Sid: fmt.Sprintf("CA%032d", 900+i), CallerID: caller.ID, CallerNumber: caller.Number,
			StartedAt: ts.store.Now(), Outcome: calls.OutcomeAnswered}
		if err := db.Create(&call).Error; err != nil {
			t.Fatal(err)
		}
		numbers[co], callIDs[co] = n.ID, call.ID
	}
	imported := models.Import{AccountID: ts.account().ID, CreatedByID: 1, FileName: "team.csv", Headers: "[]",
		Settings: "{}", Rows: 0, State: models.ImportDraft}
	if err := db.Create(&imported).Error; err != nil {
		t.Fatal(err)
	}
	routes := ts.app.Echo.Routes()
	objectRoutes := 0
	for _, r := range routes {
		if strings.Contains(r.Path, ":id") {
			objectRoutes++
		}
	}
	if objectRoutes < 20 {
		t.Fatalf("only %d routes address an object", objectRoutes)
	}
	nora, olly, mona := tn.notification, tn.otherReporting, tn.managerOther
	for _, actor := range []string{"max@example.com", "rita@example.com"} {
		b := ts.login(actor, strongPassword)
		hidden := append(tn.outOfScope(actor), "Closed Branch")
		before := ts.fingerprint()
		// The form every route gets: valid for the objects in scope, so an
		// answer other than 404 would come from the object, not the form.
		form := url.Values{"to": {"manager"}, "company": {fmt.Sprint(tn.own)}, "member": {fmt.Sprint(nora)},
			"first_name": {"Changed"}, "last_name": {"Name"}, "type": {"reporting"}, "understood": {"yes"},
			"name": {"Renamed"}, "time_zone": {"UTC"}, "qualified": {"yes"}, "destination": {"voicemail"}, "timeout": {"20"},
			"number": {"+14155550999"}, "source": {"Website"}, "body": {"A note"}, "tag": {"Booked"}, "calls": {"off"}}
		check := func(method, path string, form url.Values, want404 bool) {
			t.Helper()
			var p *page
			if method == http.MethodGet {
				p = b.get(path)
			} else {
				p = b.post(path, form)
			}
			name := fmt.Sprintf("%s: %s %s", actor, method, path)
			if want404 && p.status != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", name, p.status)
			}
			if !want404 && p.status == http.StatusNotFound {
				t.Errorf("%s: 404 for an object in scope, want the page or 403", name)
			}
			for _, h := range hidden {
				if strings.Contains(p.body, h) {
					t.Errorf("%s: the answer (%d) shows %q", name, p.status, h)
				}
			}
		}
		for _, r := range routes {
			if !strings.Contains(r.Path, ":id") || (r.Method != http.MethodGet && r.Method != http.MethodPost) {
				continue
			}
			var outside []uint
			var inside uint
			switch {
			case strings.HasPrefix(r.Path, "/users/bulk/"):
				// A bulk job: none exists here, so any ID is outside.
				outside = []uint{1, 999999}
			case strings.HasPrefix(r.Path, "/users/import/"):
				// Imports are in no Manager's or Reporting user's scope:
				// the whole page is not in their console (issue 18).
				outside = []uint{imported.ID, 999999}
			case strings.HasPrefix(r.Path, "/users/"):
				outside, inside = []uint{olly, mona, tn.foreignMember, 999999}, nora
			case strings.HasPrefix(r.Path, "/companies/"):
				outside, inside = []uint{tn.other, tn.foreign, closed, 999999}, tn.own
			case strings.HasPrefix(r.Path, "/access-requests/"):
				outside = []uint{incoming.ID, 999999}
			case strings.HasPrefix(r.Path, "/calls/"):
				outside, inside = []uint{callIDs[tn.other], callIDs[tn.foreign], callIDs[closed], 999999}, callIDs[tn.own]
			default:
				t.Errorf("%s %s: the walk does not know what :id names; add it", r.Method, r.Path)
				continue
			}
			build := func(id, member uint) string {
				p := strings.NewReplacer(":id", fmt.Sprint(id), ":member", fmt.Sprint(member),
					":number", fmt.Sprint(numbers[id])).Replace(r.Path)
				if r.Method == http.MethodGet && strings.HasSuffix(p, "/promote") {
					p += "?to=manager"
				} else if r.Method == http.MethodGet && strings.HasSuffix(p, "/demote") {
					p += "?to=notification"
				}
				return p
			}
			for _, id := range outside {
				check(r.Method, build(id, nora), form, true)
			}
			if strings.Contains(r.Path, ":member") {
				// In their company, someone they cannot see.
				for _, m := range []uint{olly, mona, tn.foreignMember} {
					check(r.Method, build(tn.own, m), form, true)
				}
			}
			// A call without a recording has nothing to play: its
			// recording is 404 in scope too.
			if inside != 0 && r.Method == http.MethodGet && !strings.HasSuffix(r.Path, "/recording") {
				check(r.Method, build(inside, nora), nil, false)
			}
		}
		// Objects named by a form or a query, on a route whose own object
		// is in scope.
		withCompany := func(id uint) url.Values {
			f := cloneValues(form)
			f.Set("company", fmt.Sprint(id))
			return f
		}
		withMember := func(id uint) url.Values {
			f := cloneValues(form)
			f.Set("member", fmt.Sprint(id))
			return f
		}
		for _, co := range []uint{tn.other, tn.foreign, closed} {
			check(http.MethodPost, fmt.Sprintf("/users/%d/companies/add", nora), withCompany(co), true)
			check(http.MethodPost, fmt.Sprintf("/users/%d/companies/remove", nora), withCompany(co), true)
			check(http.MethodPost, "/switch-company", withCompany(co), true)
			check(http.MethodPost, fmt.Sprintf("/users/%d/notifications", nora), withCompany(co), true)
			check(http.MethodPost, "/account/notifications", withCompany(co), true)
			check(http.MethodGet, fmt.Sprintf("/users?company=%d", co), nil, true)
		}
		for _, m := range []uint{olly, mona, tn.foreignMember} {
			check(http.MethodPost, fmt.Sprintf("/companies/%d/users", tn.own), withMember(m), true)
		}
		if after := ts.fingerprint(); after != before {
			t.Errorf("%s: the walk changed the database:\n%s\n%s", actor, before, after)
		}
	}
}

// companyAccount is the account a company belongs to.
func companyAccount(t *testing.T, ts *testServer, company uint) uint {
	t.Helper()
	var co models.Company
	if err := ts.store.DB().Where("id = ?", company).Take(&co).Error; err != nil {
		t.Fatal(err)
	}
	return co.AccountID
}
