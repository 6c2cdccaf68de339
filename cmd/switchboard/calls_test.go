package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/web/telephony"
)

// serveCalls runs `serve` as the real program does, until the test ends,
// and returns its address once /healthz answers.
func serveCalls(t *testing.T, args []string, vars map[string]string) string {
	t.Helper()
	addr := freeAddr(t)
	startServe(t, addr, vars, append([]string{"--addr", addr, "--mail-dir", filepath.Join(t.TempDir(), "mail")}, args...)...)
	return "http://" + addr
}

func postSigned(t *testing.T, base, path, token string, params url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", telephony.Sign(token, base+path, params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The Twilio settings come from flags or their variables, and a flag wins.
func TestServe_TwilioSettingsFromFlagsAndEnvironment(t *testing.T) {
	call := url.Values{"CallSid": {"CA00000000000000000000000000000001"}, "From": {"+12025550123"}, "To": {"+14155550199"}}
	db := filepath.Join(t.TempDir(), "a.db")
	base := serveCalls(t, []string{"--db", db, "--twilio-auth-token", "flagtoken"}, map[string]string{"TWILIO_AUTH_TOKEN": "envtoken"})
	if got := postSigned(t, base, "/telephony/voice", "flagtoken", call); got != http.StatusOK {
		t.Errorf("signed with the flag's token: %d", got)
	}
	if got := postSigned(t, base, "/telephony/voice", "envtoken", call); got != http.StatusForbidden {
		t.Errorf("signed with the variable's token although the flag is set: %d", got)
	}
	db2 := filepath.Join(t.TempDir(), "b.db")
	base = serveCalls(t, []string{"--db", db2}, map[string]string{"TWILIO_AUTH_TOKEN": "envtoken", "TWILIO_ACCOUNT_SID": "AC1"})
	if got := postSigned(t, base, "/telephony/voice", "envtoken", call); got != http.StatusOK {
		t.Errorf("signed with the variable's token: %d", got)
	}
	for name, env := range map[string]map[string]string{
		"SWITCHBOARD_OUTBOUND_ALLOW": {"SWITCHBOARD_OUTBOUND_ALLOW": "10.0.0.0/33"},
		"TWILIO_API_URL":             {"TWILIO_API_URL": "ftp://api.example"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"serve", "--addr", freeAddr(t), "--db", filepath.Join(t.TempDir(), "c.db")},
			func(k string) string { return env[k] }, &out, &errOut)
		if err == nil {
			t.Errorf("%s invalid: serve started", name)
		}
	}
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", freeAddr(t), "--db", filepath.Join(t.TempDir(), "d.db"), "--outbound-allow", "nonsense"},
		func(k string) string { return map[string]string{"SWITCHBOARD_OUTBOUND_ALLOW": "127.0.0.0/8"}[k] }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--outbound-allow") {
		t.Errorf("a bad --outbound-allow flag over a good variable: %v", err)
	}
}

// `calls replay` posts a file of recorded webhook requests, signed, through
// the real webhook path of a running server: a Call Log fills without a
// phone line, and a second replay changes nothing.
func TestCallsReplay_FillsTheCallLogOfARunningServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "replay.db")
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"bootstrap", "--db", db, "--account", "Acme Calls", "--email", "ada@example.com", "--first", "Ada", "--last", "Admin"},
		func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, errOut.String())
	}
	store, err := models.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	area, err := openCalls(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	var admin models.Membership
	if err := store.DB().Preload("Account").Where("email = ?", "ada@example.com").Take(&admin).Error; err != nil {
		t.Fatal(err)
	}
	var co models.Company
	store.DB().Where("account_id = ?", admin.AccountID).Take(&co)
	viewer := &models.Viewer{Membership: admin, Account: *admin.Account}
	if _, err := area.CreateNumber(ctx, viewer, co.ID, calls.NumberInput{Number: "+14155550134", Name: "Main line", Source: "Website"}, ""); err != nil {
		t.Fatal(err)
	}
	store.Close()

	base := serveCalls(t, []string{"--db", db}, map[string]string{"TWILIO_AUTH_TOKEN": "replaytoken"})
	file := filepath.Join(dir, "webhooks.jsonl")
	lines := []string{
		`{"path": "/telephony/voice", "params": {"CallSid": "CA00000000000000000000000000000001", "From": "+12025550123", "To": "+14155550134", "CallerName": "REPLAY TEST"}}`,
		``,
		`{"path": "/telephony/dial", "params": {"CallSid": "CA00000000000000000000000000000001", "From": "+12025550123", "To": "+14155550134", "DialCallStatus": "no-answer"}}`,
		`{"path": "/telephony/recording?voicemail=1", "params": {"CallSid": "CA00000000000000000000000000000001", "RecordingSid": "RE00000000000000000000000000000001", "RecordingStatus": "completed", "RecordingDuration": "9"}}`,
		`{"path": "/telephony/status", "params": {"CallSid": "CA00000000000000000000000000000001", "From": "+12025550123", "To": "+14155550134", "CallStatus": "completed", "CallDuration": "31"}}`,
		`{"path": "/telephony/sms", "params": {"MessageSid": "SM00000000000000000000000000000001", "From": "+12025550124", "To": "+14155550134", "Body": "Replayed text"}}`,
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	replay := func(token string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"calls", "replay", "--base-url", base, "--twilio-auth-token", token, file}, func(string) string { return "" }, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	for range 2 {
		text, err := replay("replaytoken")
		if err != nil || !strings.Contains(text, "Replayed 5 recorded webhook requests") || !strings.Contains(text, "test data") {
			t.Fatalf("replay: %v\n%s", err, text)
		}
	}
	if text, err := replay("wrongtoken"); err == nil || !strings.Contains(text, "403") {
		t.Errorf("replay with another token: %v\n%s", err, text)
	}
	check, err := models.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var rows []calls.Call
	check.DB().Order("id").Find(&rows)
	if len(rows) != 2 || rows[0].Outcome != calls.OutcomeVoicemail || rows[0].Duration != 31 || rows[0].CallerName != "REPLAY TEST" ||
		rows[1].Kind != calls.KindText || rows[1].Body != "Replayed text" {
		t.Errorf("calls after two replays: %+v", rows)
	}
	for _, bad := range []string{`{"path": "/users", "params": {}}`, `{"path": "/telephony/voice", "params": {}, "extra": 1}`, `not json`} {
		os.WriteFile(file, []byte(bad+"\n"), 0o644)
		if _, err := replay("replaytoken"); err == nil {
			t.Errorf("replay of %s: no error", bad)
		}
	}
	if err := run(ctx, []string{"calls", "replay", "--base-url", base, file}, func(string) string { return "" }, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "twilio-auth-token") {
		t.Errorf("replay without a token: %v", err)
	}
}
