package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchboard/models"
	"switchboard/models/calls"
)

// browserLogin logs a person in through the form, in the browser.
func browserLogin(t *testing.T, ctx context.Context, ts *testServer, email string) {
	t.Helper()
	visit(t, ctx, ts, "/login")
	fill(t, ctx, "email", email)
	fill(t, ctx, "password", strongPassword)
	if resp := submit(t, ctx, `form[action^="/login"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("log in %s: status %d", email, resp.Status)
	}
}

func browserLogout(t *testing.T, ctx context.Context, ts *testServer) {
	t.Helper()
	if resp := submit(t, ctx, `header form[action="/logout"] button`); resp.Status != http.StatusOK {
		t.Fatalf("log out: status %d", resp.Status)
	}
	wantLoginPage(t, ctx, ts, "/login")
}

// TestBrowser_CallsJourney carries journey 12 in a real browser: Rita
// (Reporting) sets her phone; Max (Manager) creates a number and a ring
// group with her; a signed call arrives and shows in the Call Log; Rita
// tags it, notes it, marks it qualified, and is refused the number's
// settings; Ada (Admin) deletes her, the confirmation lists the flow she
// answers, and the flow is left falling back to voicemail.
func TestBrowser_CallsJourney(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t, withTwilio("http://127.0.0.1:1"))
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	ts.addPerson(person{typ: models.Manager, first: "Max", email: "max@example.com", companies: []string{plumbing}})
	rita := ts.addPerson(person{typ: models.Reporting, first: "Rita", email: "rita@example.com", companies: []string{plumbing}})

	// Rita sets the phone she answers on.
	browserLogin(t, ctx, ts, "rita@example.com")
	visit(t, ctx, ts, "/account")
	fill(t, ctx, "phone", "(415) 555-0103")
	if resp := submit(t, ctx, `[data-testid="save-phone"]`); resp.Status != http.StatusOK {
		t.Fatalf("save phone: status %d", resp.Status)
	}
	if got := textOf(t, ctx, `[role="status"]`); !strings.Contains(got, "(415) 555-0103") {
		t.Errorf("after saving the phone: %q", got)
	}
	browserLogout(t, ctx, ts)

	// Max: company page → numbers → add → call flow with Rita.
	browserLogin(t, ctx, ts, "max@example.com")
	visit(t, ctx, ts, "/companies")
	if resp := submit(t, ctx, `[data-testid="company-link"]`); resp.Status != http.StatusOK {
		t.Fatalf("company page: status %d", resp.Status)
	}
	if resp := submit(t, ctx, `[data-testid="company-numbers"]`); resp.Status != http.StatusOK {
		t.Fatalf("numbers page: status %d", resp.Status)
	}
	waitFor(t, ctx, `[data-testid="empty"]`)
	fill(t, ctx, "number", "(415) 555-0134")
	fill(t, ctx, "name", "Main line")
	fill(t, ctx, "source", "Google Ads")
	if resp := submit(t, ctx, `[data-testid="add-number"] button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("add number: status %d", resp.Status)
	}
	if got := textOf(t, ctx, "h1"); got != "Call flow of Main line" {
		t.Fatalf("after adding: h1 = %q", got)
	}
	// An empty textarea has no text node for fill to clear: type into it.
	step(t, ctx, "type the greeting", chromedp.SendKeys(chromedp.ID("f-greeting"), "Thanks for calling Acme Plumbing"))
	fill(t, ctx, "whisper", "Call from Google Ads")
	click(t, ctx, `[data-testid="dest-ring-group"]`)
	click(t, ctx, `tr[data-email="rita@example.com"] input[name="ring"]`)
	screenshot(t, ctx, "calls-flow-editor")
	if resp := submit(t, ctx, `[data-testid="save-flow"]`); resp.Status != http.StatusOK {
		t.Fatalf("save flow: status %d", resp.Status)
	}
	if got := textOf(t, ctx, `tr[data-name="Main line"]`); !strings.Contains(got, "Rings Rita Tester") {
		t.Errorf("numbers row after saving the flow: %q", got)
	}
	browserLogout(t, ctx, ts)

	// A call arrives, signed as Twilio signs it.
	sid := "CA0000000000000000000000000000c0de"
	params := url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"}, "CallerName": {"SMITH JOHN"}}
	doc := parseTwiML(t, ts.webhook("/telephony/voice", params, testToken))
	if verbNames(doc) != "Say,Dial" {
		t.Fatalf("TwiML = %s", verbNames(doc))
	}
	ts.webhook("/telephony/dial", url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"}, "DialCallStatus": {"completed"}, "DialCallDuration": {"95"}}, testToken)
	ts.webhook("/telephony/status", url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"}, "CallStatus": {"completed"}, "CallDuration": {"101"}}, testToken)

	// Rita finds it in the Call Log and works it.
	browserLogin(t, ctx, ts, "rita@example.com")
	if resp := submit(t, ctx, `nav a[href="/calls"]`); resp.Status != http.StatusOK {
		t.Fatalf("Call Log: status %d", resp.Status)
	}
	row := `tr[data-sid="` + sid + `"]`
	waitFor(t, ctx, row)
	if got := textOf(t, ctx, row); !strings.Contains(got, "(202) 555-0123") || !strings.Contains(got, "Answered") || !strings.Contains(got, "Main line") {
		t.Errorf("Call Log row = %q", got)
	}
	if resp := submit(t, ctx, row+` [data-testid="call-link"]`); resp.Status != http.StatusOK {
		t.Fatalf("call page: status %d", resp.Status)
	}
	fill(t, ctx, "tag", "Booked")
	if resp := submit(t, ctx, `[data-testid="add-tag"]`); resp.Status != http.StatusOK {
		t.Fatalf("tag: status %d", resp.Status)
	}
	step(t, ctx, "type a note", chromedp.SendKeys(chromedp.ID("f-note"), "Wants a quote for a new water heater"))
	if resp := submit(t, ctx, `[data-testid="save-note"]`); resp.Status != http.StatusOK {
		t.Fatalf("note: status %d", resp.Status)
	}
	if resp := submit(t, ctx, `[data-testid="toggle-qualified"]`); resp.Status != http.StatusOK {
		t.Fatalf("qualified: status %d", resp.Status)
	}
	waitFor(t, ctx, `[data-testid="is-qualified"]`)
	if got := textOf(t, ctx, `[data-testid="tags"]`); !strings.Contains(got, "Booked") {
		t.Errorf("tags = %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="notes"]`); !strings.Contains(got, "Wants a quote") || !strings.Contains(got, "Rita Tester") {
		t.Errorf("notes = %q", got)
	}
	if got := textOf(t, ctx, `[data-testid="timeline"]`); !strings.Contains(got, "Answered by Rita Tester") && !strings.Contains(got, "Answered") {
		t.Errorf("timeline = %q", got)
	}
	screenshot(t, ctx, "calls-call-page")
	// The number's settings are not hers: her company, so 403 with the
	// reason (a company she does not see would be 404; policy.go).
	var number calls.TrackingNumber
	ts.store.DB().Where("number = ?", "+14155550134").Take(&number)
	if resp := visit(t, ctx, ts, fmt.Sprintf("/companies/%s/numbers/%d/flow", plumbing, number.ID)); resp.Status != http.StatusForbidden {
		t.Errorf("Rita opens the call flow: status %d", resp.Status)
	}
	if resp := visit(t, ctx, ts, fmt.Sprintf("/companies/%s/numbers", plumbing)); resp.Status != http.StatusForbidden {
		t.Errorf("Rita opens the numbers: status %d", resp.Status)
	}
	if got := textOf(t, ctx, "main"); !strings.Contains(got, "Reporting users cannot create, edit or disable tracking numbers") {
		t.Errorf("the refusal does not say why: %q", got)
	}
	browserLogout(t, ctx, ts)

	// Ada deletes Rita: the confirmation lists the flow she answers.
	browserLogin(t, ctx, ts, "ada@example.com")
	visit(t, ctx, ts, "/users")
	if resp := submit(t, ctx, `tr[data-email="rita@example.com"] [data-testid="delete-user"]`); resp.Status != http.StatusOK {
		t.Fatalf("delete confirmation: status %d", resp.Status)
	}
	if got := textOf(t, ctx, `[data-testid="losses"]`); got != "Stops answering calls to Main line (Acme Plumbing)" {
		t.Errorf("the confirmation lists %q", got)
	}
	screenshot(t, ctx, "calls-delete-confirm")
	if resp := submit(t, ctx, `[data-testid="confirm-delete"]`); resp.Status != http.StatusOK {
		t.Fatalf("delete: status %d", resp.Status)
	}
	visit(t, ctx, ts, fmt.Sprintf("/companies/%s/numbers", plumbing))
	waitFor(t, ctx, `[data-testid="voicemail-fallback"]`)
	var left int64
	ts.store.DB().Model(&calls.RingGroupMember{}).Where("membership_id = ?", rita.ID).Count(&left)
	if left != 0 {
		t.Errorf("Rita is still in %d ring groups", left)
	}
	screenshot(t, ctx, "calls-numbers-fallback")
}

// TestBrowser_CallsPagesAtThreeWidths photographs the calls pages at 1280,
// 1024 and 390 pixels (with SWITCHBOARD_SCREENSHOTS) and checks that none
// scrolls sideways, and that the keyboard reaches the Call Log's filters.
func TestBrowser_CallsPagesAtThreeWidths(t *testing.T) {
	ctx := newChrome(t)
	ts := newTestServer(t, withTwilio("http://127.0.0.1:1"))
	ts.setupAccount("ada@example.com")
	plumbing := ts.companyID("Acme Plumbing")
	admin := ts.viewerFor("ada@example.com", "Acme Calls")
	bg := context.Background()
	if _, _, err := ts.calls.SetMyPhone(bg, admin, "+14155550101", ""); err != nil {
		t.Fatal(err)
	}
	var co uint
	fmt.Sscan(plumbing, &co)
	n, err := ts.calls.CreateNumber(bg, admin, co, calls.NumberInput{Number: "+14155550134", Name: "Main line", Source: "Google Ads"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.calls.UpdateFlow(bg, admin, co, n.ID, calls.FlowInput{Destination: calls.ToRingGroup, RingGroup: []uint{admin.Membership.ID}, Timeout: 20, Voicemail: true}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.calls.CreateNumber(bg, admin, co, calls.NumberInput{Number: "+14155550135", Name: "Spring mailer", Source: "Direct mail"}, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 24 {
		sid := fmt.Sprintf("CA%032d", i+1)
		to := "+14155550134"
		if i%3 == 0 {
			to = "+14155550135"
		}
		from := fmt.Sprintf("+1202555%04d", 100+i%7)
		ts.webhook("/telephony/voice", url.Values{"CallSid": {sid}, "From": {from}, "To": {to}, "CallerName": {"CALLER " + fmt.Sprint(i%7)}}, testToken)
		status := []string{"completed", "no-answer", "completed", "busy"}[i%4]
		ts.webhook("/telephony/dial", url.Values{"CallSid": {sid}, "From": {from}, "To": {to}, "DialCallStatus": {status}, "DialCallDuration": {"40"}}, testToken)
		ts.webhook("/telephony/status", url.Values{"CallSid": {sid}, "From": {from}, "To": {to}, "CallStatus": {"completed"}, "CallDuration": {fmt.Sprint(30 + i)}}, testToken)
		ts.clock.Advance(5 * 3600e9)
	}
	var first calls.Call
	ts.store.DB().Order("id").Take(&first)
	browserLogin(t, ctx, ts, "ada@example.com")
	pages := map[string]string{
		"company":  "/companies/" + plumbing,
		"numbers":  "/companies/" + plumbing + "/numbers",
		"flow":     fmt.Sprintf("/companies/%s/numbers/%d/flow", plumbing, n.ID),
		"call-log": "/calls",
		"call":     fmt.Sprintf("/calls/%d", first.ID),
		"report":   "/companies/" + plumbing + "/reports?days=30",
		"account":  "/account",
	}
	for _, width := range []int64{1280, 1024, 390} {
		step(t, ctx, "resize", chromedp.EmulateViewport(width, 900))
		for name, path := range pages {
			if resp := visit(t, ctx, ts, path); resp.Status != http.StatusOK {
				t.Fatalf("%s: status %d", path, resp.Status)
			}
			sideways := stepValue(t, ctx, "measure "+name, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth + 1`))
			if sideways {
				t.Errorf("%s at %dpx scrolls sideways", name, width)
			}
			screenshot(t, ctx, fmt.Sprintf("calls-%s-%d", name, width))
		}
	}
	// On a phone the chart keeps labels of at least 9 px and opens on its
	// latest days, and a call's number is not broken across lines.
	step(t, ctx, "resize", chromedp.EmulateViewport(390, 900))
	visit(t, ctx, ts, pages["report"])
	chart := stepValue(t, ctx, "measure the chart", chromedp.Evaluate[map[string]float64](`(() => {
  const s = document.querySelector(".chart-scroll"), label = document.querySelector(".chart .axis");
  return {scrolled: s.scrollLeft, room: s.scrollWidth - s.clientWidth, label: label.getBoundingClientRect().height}; })()`))
	if chart["room"] <= 0 || chart["scrolled"] < chart["room"]-1 || chart["label"] < 9 {
		t.Errorf("report chart at 390px: %v, want it scrolled to its end with labels of 9px or more", chart)
	}
	visit(t, ctx, ts, pages["call"])
	if lines := stepValue(t, ctx, "measure the number", chromedp.Evaluate[int](`(() => {
  const t = document.querySelector("main h1").firstChild, r = document.createRange();
  r.setStart(t, t.data.indexOf("(")); r.setEnd(t, t.data.length); return r.getClientRects().length; })()`)); lines != 1 {
		t.Errorf("the heading's phone number takes %d lines at 390px", lines)
	}
	// The keyboard reaches the search field and the filters in order.
	step(t, ctx, "resize", chromedp.EmulateViewport(1280, 900))
	visit(t, ctx, ts, "/calls")
	step(t, ctx, "focus search", chromedp.Focus(chromedp.CSS(`#f-q`)))
	step(t, ctx, "type", chromedp.SendKeys(chromedp.CSS(`#f-q`), "555 0101\r"))
	// The log is on the page before the search too: wait for the address
	// to change rather than for the log, or a slow machine reads the old page.
	// Reading the address while the page changes may fail: try again.
	var got string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(got, "q=555+0101") && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
			got = strings.TrimPrefix(loc, ts.srv.URL)
		}
	}
	if !strings.Contains(got, "q=555+0101") {
		t.Errorf("after Enter in the search: %s", got)
	}
	waitFor(t, ctx, `[data-testid="call-log"]`)
}
