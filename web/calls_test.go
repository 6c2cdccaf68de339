package web

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/web/telephony"
)

// Test credentials of the Twilio account (alphanumeric, as Twilio's are).
const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
)

// withTwilio configures telephony, its API at apiURL (an in-test server on
// loopback, which --outbound-allow opens).
func withTwilio(apiURL string) serverOption {
	return func(c *Config) {
		c.Twilio = telephony.Config{AccountSID: testSID, AuthToken: testToken, APIURL: apiURL}
		c.OutboundAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
}

// webhook posts a request as Twilio would: form parameters, signed over the
// public URL (the base URL and the path) with token.
func (ts *testServer) webhook(path string, params url.Values, token string) *page {
	ts.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+path, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("X-Twilio-Signature", telephony.Sign(token, ts.base.String()+path, params))
	}
	return ts.browser().do(req)
}

// twimlDoc is a TwiML answer, parsed.
type twimlDoc struct {
	XMLName xml.Name    `xml:"Response"`
	Verbs   []twimlVerb `xml:",any"`
}

type twimlVerb struct {
	XMLName xml.Name
	Attrs   []xml.Attr  `xml:",any,attr"`
	Text    string      `xml:",chardata"`
	Inner   []twimlVerb `xml:",any"`
}

func (v twimlVerb) attr(name string) string {
	for _, a := range v.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func parseTwiML(t *testing.T, p *page) twimlDoc {
	t.Helper()
	if p.status != http.StatusOK || !strings.HasPrefix(p.header.Get("Content-Type"), "text/xml") {
		t.Fatalf("TwiML answer: status %d, type %q: %s", p.status, p.header.Get("Content-Type"), p.body)
	}
	var doc twimlDoc
	if err := xml.Unmarshal([]byte(p.body), &doc); err != nil {
		t.Fatalf("TwiML does not parse: %v\n%s", err, p.body)
	}
	return doc
}

func verbNames(doc twimlDoc) string {
	var names []string
	for _, v := range doc.Verbs {
		names = append(names, v.XMLName.Local)
	}
	return strings.Join(names, ",")
}

// callWorld is an account where Rita (Reporting, Acme Plumbing) answers
// Main line's ring group, with telephony configured.
type callWorld struct {
	*tenants
	admin *models.Viewer
	main  *calls.TrackingNumber
}

func newCallWorld(t *testing.T, opts ...serverOption) *callWorld {
	ts := newTestServer(t, opts...)
	tn := newTenantsOn(t, ts)
	w := &callWorld{tenants: tn, admin: ts.viewerFor("ada@example.com", "Acme Calls")}
	ctx := context.Background()
	rita := ts.viewerFor("rita@example.com", "Acme Calls")
	if _, _, err := ts.calls.SetMyPhone(ctx, rita, "(415) 555-0103", ""); err != nil {
		t.Fatal(err)
	}
	n, err := ts.calls.CreateNumber(ctx, w.admin, tn.own, calls.NumberInput{Number: "+14155550134", Name: "Main line", Source: "Google Ads"}, "")
	if err != nil {
		t.Fatal(err)
	}
	w.main = n
	_, err = ts.calls.UpdateFlow(ctx, w.admin, tn.own, n.ID, calls.FlowInput{Greeting: "Thanks for calling Acme", Whisper: "Call from Google Ads",
		Record: true, Destination: calls.ToRingGroup, RingGroup: []uint{rita.Membership.ID}, RingMode: calls.RingInOrder, Timeout: 15, Voicemail: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func callParams(sid string) url.Values {
	return url.Values{"CallSid": {sid}, "AccountSid": {testSID}, "From": {"+12025550123"}, "To": {"+14155550134"},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}, "CallerName": {"SMITH JOHN"}}
}

const sid1 = "CA00000000000000000000000000000001"

func TestTelephony_SignatureDecidesEverything(t *testing.T) {
	w := newCallWorld(t, withTwilio("http://127.0.0.1:1"))
	ts := w.ts
	good := callParams(sid1)

	// Unsigned, signed with another token, a tampered body, another URL:
	// 403 and a log line, and no call.
	tampered := cloneValues(good)
	tampered.Set("From", "+19995550000")
	cases := map[string]func() *page{
		"unsigned":    func() *page { return ts.webhook("/telephony/voice", good, "") },
		"wrong token": func() *page { return ts.webhook("/telephony/voice", good, "ffffffffffffffffffffffffffffffff") },
		"tampered body": func() *page {
			req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/telephony/voice", strings.NewReader(tampered.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", telephony.Sign(testToken, ts.base.String()+"/telephony/voice", good))
			return ts.browser().do(req)
		},
		"signed for another URL": func() *page {
			req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/telephony/voice", strings.NewReader(good.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", telephony.Sign(testToken, "https://evil.example/telephony/voice", good))
			return ts.browser().do(req)
		},
		"signed for the Host header, not the base URL": func() *page {
			req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/telephony/voice", strings.NewReader(good.Encode()))
			req.Host = "evil.example"
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", telephony.Sign(testToken, "http://evil.example/telephony/voice", good))
			return ts.browser().do(req)
		},
		"a repeated parameter": func() *page {
			body := good.Encode() + "&To=%2B14155550199"
			req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/telephony/voice", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", telephony.Sign(testToken, ts.base.String()+"/telephony/voice", good))
			return ts.browser().do(req)
		},
		"JSON instead of a form": func() *page {
			req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/telephony/voice", strings.NewReader(`{"CallSid":"`+sid1+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Twilio-Signature", telephony.Sign(testToken, ts.base.String()+"/telephony/voice", url.Values{}))
			return ts.browser().do(req)
		},
	}
	for name, send := range cases {
		p := send()
		if p.status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, p.status)
		}
		if len(p.header.Values("Set-Cookie")) > 0 {
			t.Errorf("%s: a webhook answer set a cookie", name)
		}
	}
	if n := strings.Count(ts.logs.String(), "telephony webhook refused"); n != len(cases) {
		t.Errorf("%d refusals logged, want %d", n, len(cases))
	}
	var n int64
	ts.store.DB().Model(&calls.Call{}).Count(&n)
	if n != 0 {
		t.Fatalf("refused webhooks left %d calls", n)
	}

	// Signed properly: the call is logged and routed.
	doc := parseTwiML(t, ts.webhook("/telephony/voice", good, testToken))
	if verbNames(doc) != "Say,Dial" || doc.Verbs[0].Text != "Thanks for calling Acme" {
		t.Fatalf("TwiML = %+v", doc)
	}
	dial := doc.Verbs[1]
	if dial.attr("timeout") != "15" || dial.attr("sequential") != "true" || dial.attr("record") != "record-from-answer-dual" ||
		dial.attr("action") != ts.base.String()+"/telephony/dial" || dial.attr("recordingStatusCallback") != ts.base.String()+"/telephony/recording" {
		t.Errorf("Dial attributes = %v", dial.Attrs)
	}
	if len(dial.Inner) != 1 || dial.Inner[0].XMLName.Local != "Number" || strings.TrimSpace(dial.Inner[0].Text) != "+14155550103" ||
		dial.Inner[0].attr("url") != ts.base.String()+"/telephony/whisper?call="+sid1 {
		t.Errorf("Dial numbers = %+v", dial.Inner)
	}

	// The rest of the call, through the real webhooks.
	whisper := parseTwiML(t, ts.webhook("/telephony/whisper?call="+sid1, url.Values{"CallSid": {"CA00000000000000000000000000000099"}, "To": {"+14155550103"}}, testToken))
	if verbNames(whisper) != "Say" || whisper.Verbs[0].Text != "Call from Google Ads" {
		t.Errorf("whisper = %+v", whisper)
	}
	hangup := parseTwiML(t, ts.webhook("/telephony/dial", url.Values{"CallSid": {sid1}, "From": {"+12025550123"}, "To": {"+14155550134"},
		"DialCallStatus": {"completed"}, "DialCallDuration": {"61"}}, testToken))
	if verbNames(hangup) != "Hangup" {
		t.Errorf("after an answered dial: %+v", hangup)
	}
	wantStatus(t, ts.webhook("/telephony/recording", url.Values{"CallSid": {sid1}, "RecordingSid": {"RE00000000000000000000000000000001"},
		"RecordingStatus": {"completed"}, "RecordingDuration": {"58"}, "RecordingUrl": {"https://api.twilio.com/x"}}, testToken), http.StatusNoContent)
	wantStatus(t, ts.webhook("/telephony/status", url.Values{"CallSid": {sid1}, "From": {"+12025550123"}, "To": {"+14155550134"},
		"CallStatus": {"completed"}, "CallDuration": {"75"}}, testToken), http.StatusNoContent)
	c := callBySid(t, ts, sid1)
	if c.Outcome != calls.OutcomeAnswered || c.AnsweredBy != "Rita Test" || c.TalkSeconds != 61 || c.Duration != 75 ||
		c.RecordingSid != "RE00000000000000000000000000000001" || c.CallerName != "SMITH JOHN" {
		t.Errorf("call = %+v", c)
	}

	// A replay of the completed call's signed voice webhook: it hangs up
	// and changes nothing.
	doc = parseTwiML(t, ts.webhook("/telephony/voice", good, testToken))
	if verbNames(doc) != "Hangup" {
		t.Errorf("replay of a completed call: %+v", doc)
	}
	if again := callBySid(t, ts, sid1); again.Outcome != c.Outcome || again.Duration != 75 || again.UpdatedAt != c.UpdatedAt {
		t.Errorf("replay changed the call: %+v", again)
	}
	ts.store.DB().Model(&calls.Call{}).Count(&n)
	if n != 1 {
		t.Errorf("%d calls after the replay", n)
	}

	// Unknown and disabled numbers: a polite message, then hang up.
	unknown := callParams("CA00000000000000000000000000000002")
	unknown.Set("To", "+14155550199")
	doc = parseTwiML(t, ts.webhook("/telephony/voice", unknown, testToken))
	if verbNames(doc) != "Say,Hangup" || !strings.Contains(doc.Verbs[0].Text, "not in service") {
		t.Errorf("unknown number: %+v", doc)
	}
	if _, err := ts.calls.SetNumberStatus(context.Background(), w.admin, w.own, w.main.ID, calls.NumberDisabled, ""); err != nil {
		t.Fatal(err)
	}
	doc = parseTwiML(t, ts.webhook("/telephony/voice", callParams("CA00000000000000000000000000000003"), testToken))
	if verbNames(doc) != "Say,Hangup" {
		t.Errorf("disabled number: %+v", doc)
	}

	// A text is logged; nothing is sent back.
	sms := parseTwiMLMessages(t, ts.webhook("/telephony/sms", url.Values{"MessageSid": {"SM00000000000000000000000000000001"},
		"From": {"+12025550123"}, "To": {"+14155550134"}, "Body": {"Open today?"}}, testToken))
	_ = sms
}

func parseTwiMLMessages(t *testing.T, p *page) string {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, "<Response") || strings.Contains(p.body, "<Message") {
		t.Fatalf("SMS answer: %d %s", p.status, p.body)
	}
	return p.body
}

func callBySid(t *testing.T, ts *testServer, sid string) calls.Call {
	t.Helper()
	var c calls.Call
	if err := ts.store.DB().Where("sid = ?", sid).Take(&c).Error; err != nil {
		t.Fatalf("call %s: %v", sid, err)
	}
	return c
}

func TestTelephony_UnansweredGoesToVoicemailAndEmptyGroupsStraightThere(t *testing.T) {
	w := newCallWorld(t, withTwilio("http://127.0.0.1:1"))
	ts := w.ts
	sid := "CA00000000000000000000000000000011"
	parseTwiML(t, ts.webhook("/telephony/voice", callParams(sid), testToken))
	doc := parseTwiML(t, ts.webhook("/telephony/dial", url.Values{"CallSid": {sid}, "From": {"+12025550123"}, "To": {"+14155550134"},
		"DialCallStatus": {"no-answer"}}, testToken))
	if verbNames(doc) != "Say,Record" || doc.Verbs[1].attr("recordingStatusCallback") != ts.base.String()+"/telephony/recording?voicemail=1" ||
		doc.Verbs[1].attr("action") != ts.base.String()+"/telephony/done" {
		t.Fatalf("voicemail TwiML = %+v", doc)
	}
	wantStatus(t, ts.webhook("/telephony/recording?voicemail=1", url.Values{"CallSid": {sid}, "RecordingSid": {"RE00000000000000000000000000000011"},
		"RecordingStatus": {"completed"}, "RecordingDuration": {"14"}}, testToken), http.StatusNoContent)
	if c := callBySid(t, ts, sid); c.Outcome != calls.OutcomeVoicemail || !c.RecordingVoicemail {
		t.Errorf("voicemail call = %+v", c)
	}
	if verbNames(parseTwiML(t, ts.webhook("/telephony/done", url.Values{"CallSid": {sid}}, testToken))) != "Hangup" {
		t.Error("done does not hang up")
	}
	// Rita is deleted: Main line's ring group is empty, calls go straight
	// to voicemail after the greeting.
	admin := ts.login("ada@example.com", strongPassword)
	edit := admin.get(fmt.Sprintf("/users/%d", w.reporting))
	const lost = "Stops answering calls to Main line (Acme Plumbing)"
	for sel, what := range map[string]string{
		`[data-testid="company-losses"]`:                   "the Remove of Acme Plumbing",
		`#dlg-delete [data-testid="losses"]`:               "the delete dialog",
		`#dlg-type-notification [data-testid="losses"]`:    "the change to Notification",
		`#dlg-type-manager [data-testid="losses"]`:         "",
		`#dlg-type-admin [data-testid="losses"]`:           "",
		`[data-testid="member-companies"] .checks.lost li`: "",
	} {
		got := edit.text(sel)
		if what != "" && !strings.Contains(got, lost) {
			t.Errorf("%s says %q", what, got)
		}
		if what == "" && got != "" {
			t.Errorf("%s lists losses: %q", sel, got)
		}
	}
	// The company's Remove confirmation too.
	if got := admin.get(fmt.Sprintf("/companies/%d/users", w.own)).text(fmt.Sprintf(`#dlg-remove-%d-%d [data-testid="losses"]`, w.own, w.reporting)); got != lost {
		t.Errorf("company Remove confirmation = %q", got)
	}
	wantStatus(t, admin.post(fmt.Sprintf("/users/%d/delete", w.reporting), nil), http.StatusSeeOther)
	doc = parseTwiML(t, ts.webhook("/telephony/voice", callParams("CA00000000000000000000000000000012"), testToken))
	if verbNames(doc) != "Say,Say,Record" {
		t.Errorf("empty ring group: %+v", doc)
	}
	numbers := admin.get(fmt.Sprintf("/companies/%d/numbers", w.own))
	if numbers.doc.Find(`[data-testid="voicemail-fallback"]`).Length() != 1 {
		t.Errorf("numbers page does not flag the fallback: %s", numbers.text(`[data-testid="numbers-table"]`))
	}
}

// Without telephony configured every webhook is refused, numbers can
// still be created, and the Call Log says what to paste into Twilio.
func TestTelephony_UnconfiguredRefusesWebhooksAndSaysWhatToDo(t *testing.T) {
	w := newCallWorld(t)
	ts := w.ts
	for _, path := range []string{"/telephony/voice", "/telephony/status", "/telephony/sms"} {
		p := ts.webhook(path, callParams(sid1), testToken)
		wantStatus(t, p, http.StatusForbidden)
	}
	if !strings.Contains(ts.logs.String(), "set --twilio-auth-token") {
		t.Error("the refusal log does not say what to set")
	}
	admin := ts.login("ada@example.com", strongPassword)
	p := admin.get("/calls")
	wantStatus(t, p, http.StatusOK)
	setup := p.text(`[data-testid="telephony-setup"]`)
	for _, want := range []string{"Calls arrive once telephony is configured", ts.base.String() + "/telephony/voice", ts.base.String() + "/telephony/status", ts.base.String() + "/telephony/sms"} {
		if !strings.Contains(setup, want) {
			t.Errorf("setup notice lacks %q: %s", want, setup)
		}
	}
	p = admin.post(fmt.Sprintf("/companies/%d/numbers", w.own), url.Values{"number": {"(415) 555-0177"}, "name": {"Spring mailer"}, "source": {"Direct mail"}})
	wantStatus(t, p, http.StatusSeeOther)

	// The others are told that an Admin connects it, not the server's
	// settings; only those who may set up numbers that they can meanwhile.
	for _, c := range []struct {
		email, path string
		numbers     bool
	}{
		{"rita@example.com", "/calls", false},
		{"max@example.com", "/calls", true},
		{"max@example.com", fmt.Sprintf("/companies/%d/numbers", w.own), true},
	} {
		p := ts.login(c.email, strongPassword).get(c.path)
		wantStatus(t, p, http.StatusOK)
		setup := p.text(`[data-testid="telephony-setup"]`)
		if !strings.Contains(setup, "An Admin of Acme Calls connects Switchboard to Twilio") {
			t.Errorf("%s %s: setup notice does not say who connects it: %q", c.email, c.path, setup)
		}
		if strings.Contains(setup, "--twilio") || p.doc.Find(`[data-testid="webhook-urls"]`).Length() != 0 {
			t.Errorf("%s %s: setup notice gives the server's settings: %q", c.email, c.path, setup)
		}
		if got := strings.Contains(setup, "You can create numbers"); got != c.numbers {
			t.Errorf("%s %s: offers to create numbers = %v, want %v", c.email, c.path, got, c.numbers)
		}
	}
}

// twilioAPI is an in-test server speaking Twilio's REST API: it checks
// Basic auth on every request, records Calls.json posts and serves one
// recording.
type twilioAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts []url.Values
	auths []bool
}

func newTwilioAPI(t *testing.T) *twilioAPI {
	api := &twilioAPI{}
	api.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		authed := ok && user == testSID && pass == testToken
		api.mu.Lock()
		api.auths = append(api.auths, authed)
		api.mu.Unlock()
		if !authed {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"code": 20003, "message": "Authenticate", "status": 401}`)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/2010-04-01/Accounts/"+testSID+"/Calls.json":
			if err := r.ParseForm(); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			api.mu.Lock()
			api.posts = append(api.posts, r.PostForm)
			api.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"sid": "CA99999999999999999999999999999999", "status": "queued"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/2010-04-01/Accounts/"+testSID+"/Recordings/RE00000000000000000000000000000001.mp3":
			w.Header().Set("Content-Type", "audio/mpeg")
			io.WriteString(w, "ID3-fake-mp3-bytes")
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"code": 20404, "message": "Not found", "status": 404}`)
		}
	}))
	t.Cleanup(api.srv.Close)
	return api
}

func TestCallBack_AndRecordingGoThroughTwiliosAPI(t *testing.T) {
	api := newTwilioAPI(t)
	w := newCallWorld(t, withTwilio(api.srv.URL))
	ts := w.ts
	parseTwiML(t, ts.webhook("/telephony/voice", callParams(sid1), testToken))
	wantStatus(t, ts.webhook("/telephony/recording", url.Values{"CallSid": {sid1}, "RecordingSid": {"RE00000000000000000000000000000001"},
		"RecordingStatus": {"completed"}, "RecordingDuration": {"58"}}, testToken), http.StatusNoContent)
	c := callBySid(t, ts, sid1)

	rita := ts.login("rita@example.com", strongPassword)
	page := rita.get(fmt.Sprintf("/calls/%d", c.ID))
	wantStatus(t, page, http.StatusOK)
	if strings.Contains(page.body, testToken) || strings.Contains(page.body, "api.twilio") || strings.Contains(page.body, api.srv.URL) {
		t.Error("the call page shows Twilio's credentials or addresses")
	}
	src, _ := page.doc.Find(`audio[data-testid="player"]`).Attr("src")
	if src != fmt.Sprintf("/calls/%d/recording", c.ID) {
		t.Fatalf("player source = %q", src)
	}
	rec := rita.get(src)
	wantStatus(t, rec, http.StatusOK)
	if rec.body != "ID3-fake-mp3-bytes" || rec.header.Get("Content-Type") != "audio/mpeg" || !strings.Contains(rec.header.Get("Cache-Control"), "no-store") {
		t.Errorf("recording: %q %v", rec.body, rec.header)
	}
	// Someone of another company or account gets the same 404.
	olly := ts.login("olly@example.com", strongPassword)
	wantStatus(t, olly.get(src), http.StatusNotFound)
	wantStatus(t, ts.login("finn@example.com", strongPassword).get(src), http.StatusNotFound)

	// Call back: Rita's phone rings first, then the caller is bridged from
	// the tracking number.
	rita.get(fmt.Sprintf("/calls/%d", c.ID))
	p := rita.post(fmt.Sprintf("/calls/%d/call-back", c.ID), nil)
	wantStatus(t, p, http.StatusSeeOther)
	if !strings.Contains(rita.follow(p).text(".flash"), "is ringing") {
		t.Error("no word that the phone is ringing")
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.posts) != 1 {
		t.Fatalf("%d calls placed", len(api.posts))
	}
	form := api.posts[0]
	if form.Get("To") != "+14155550103" || form.Get("From") != "+14155550134" {
		t.Errorf("placed call To=%q From=%q", form.Get("To"), form.Get("From"))
	}
	var doc twimlDoc
	if err := xml.Unmarshal([]byte(form.Get("Twiml")), &doc); err != nil || verbNames(doc) != "Say,Dial" ||
		doc.Verbs[1].attr("callerId") != "+14155550134" || strings.TrimSpace(doc.Verbs[1].Inner[0].Text) != "+12025550123" {
		t.Errorf("bridge TwiML = %q (%v)", form.Get("Twiml"), err)
	}
	for i, ok := range api.auths {
		if !ok {
			t.Errorf("request %d to the API without the account's Basic auth", i)
		}
	}
	var events []string
	ts.store.DB().Model(&calls.CallEvent{}).Where("call_id = ?", c.ID).Order("id").Pluck("text", &events)
	if !strings.Contains(strings.Join(events, "|"), "Called back by Rita Test") {
		t.Errorf("timeline = %q", events)
	}
}

// Without --outbound-allow, the API on loopback is refused by the one
// outgoing client: the call back fails cleanly and places nothing.
func TestCallBack_RefusedToAPrivateAddressWithoutOutboundAllow(t *testing.T) {
	api := newTwilioAPI(t)
	w := newCallWorld(t, func(c *Config) {
		c.Twilio = telephony.Config{AccountSID: testSID, AuthToken: testToken, APIURL: api.srv.URL}
	})
	ts := w.ts
	parseTwiML(t, ts.webhook("/telephony/voice", callParams(sid1), testToken))
	c := callBySid(t, ts, sid1)
	rita := ts.login("rita@example.com", strongPassword)
	rita.get(fmt.Sprintf("/calls/%d", c.ID))
	p := rita.post(fmt.Sprintf("/calls/%d/call-back", c.ID), nil)
	wantStatus(t, p, http.StatusConflict)
	if len(api.auths) != 0 {
		t.Errorf("the API on loopback was reached %d times", len(api.auths))
	}
	if !strings.Contains(ts.logs.String(), "refused to connect to 127.0.0.1") {
		t.Error("the refusal is not in the log")
	}
}
