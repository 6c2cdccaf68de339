package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"switchboard/web/telephony"
)

// `switchboard calls replay FILE` fills a Call Log without a phone line: it
// posts recorded Twilio webhook requests to a running server through the
// real webhook path, signed with the configured auth token as Twilio signs
// them. It is a developer's tool; what it posts is test data, not calls.
//
// FILE holds one JSON object per line (blank lines are skipped):
//
//	{"path": "/telephony/voice", "params": {"CallSid": "CA…", "From": "+12025550123", "To": "+14155550134"}}
//
// path is one of the /telephony/ webhooks (with its query, if any) and
// params are the form fields Twilio would post.

const replayUsage = `Usage: switchboard calls replay [flags] FILE

Posts each recorded webhook request of FILE to the server at --base-url,
signed with --twilio-auth-token as Twilio signs it. FILE has one JSON
object per line: {"path": "/telephony/voice", "params": {"CallSid": "CA…", ...}}.
Use it to fill a development Call Log; the calls it makes are test data.

Flags:
`

// replayLine is one recorded request.
type replayLine struct {
	Path   string            `json:"path"`
	Params map[string]string `json:"params"`
}

func callsCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprint(stderr, replayUsage)
		return errors.New("calls: the only subcommand is replay")
	}
	fs := flag.NewFlagSet("calls replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("calls replay: name one FILE")
	}
	if c.twilioToken == "" {
		return errors.New("calls replay: set --twilio-auth-token (TWILIO_AUTH_TOKEN) to the token the server verifies with")
	}
	base, err := c.base()
	if err != nil {
		return err
	}
	lines, err := readReplay(fs.Arg(0))
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	failed := 0
	for i, l := range lines {
		form := url.Values{}
		for k, v := range l.Params {
			form.Set(k, v)
		}
		target := base.String() + l.Path
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", telephony.Sign(c.twilioToken, target, form))
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("calls replay: line %d: %w", i+1, err)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			failed++
			fmt.Fprintf(stderr, "line %d: %s answered %s\n", i+1, l.Path, resp.Status)
		}
	}
	fmt.Fprintf(stdout, "Replayed %d recorded webhook requests to %s (test data, not real calls); %d refused.\n", len(lines), base, failed)
	if failed > 0 {
		return fmt.Errorf("calls replay: %d of %d requests were refused", failed, len(lines))
	}
	return nil
}

func readReplay(path string) ([]replayLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calls replay: %w", err)
	}
	defer f.Close()
	var out []replayLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var l replayLine
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("calls replay: %s line %d: %w", path, n, err)
		}
		if !strings.HasPrefix(l.Path, "/telephony/") {
			return nil, fmt.Errorf("calls replay: %s line %d: path %q is not a /telephony/ webhook", path, n, l.Path)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("calls replay: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("calls replay: %s has no requests", path)
	}
	return out, nil
}
