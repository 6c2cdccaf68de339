// Package telephony speaks Twilio's protocol for the console: it checks
// the X-Twilio-Signature of incoming webhooks against the public URL built
// from --base-url (never from the request's Host), places outbound calls
// through Twilio's REST API, and fetches recordings with the account's
// credentials, which never leave the server. Every request to Twilio goes
// through the one outgoing client (web/outbound).
package telephony

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	twilio "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"switchboard/web/outbound"
)

// DefaultAPIURL is Twilio's REST API.
const DefaultAPIURL = "https://api.twilio.com"

// Config is the Twilio account the console uses.
type Config struct {
	AccountSID string
	AuthToken  string
	// APIURL replaces Twilio's API address (tests point it at a local
	// server that speaks the same protocol).
	APIURL string
}

// Twilio is the console's Twilio connection.
type Twilio struct {
	cfg       Config
	api       *url.URL
	base      *url.URL
	out       *outbound.Client
	validator twilio.RequestValidator
	rest      *api.ApiService
}

// New builds the connection; a missing account SID or token leaves the
// parts that need them unconfigured (Configured, CanPlaceCalls say so).
func New(cfg Config, base *url.URL, out *outbound.Client) (*Twilio, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.APIURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--twilio-api-url %q: want an http:// or https:// address", cfg.APIURL)
	}
	t := &Twilio{cfg: cfg, api: u, base: base, out: out, validator: twilio.NewRequestValidator(cfg.AuthToken)}
	if t.CanPlaceCalls() {
		c := &twilio.Client{Credentials: twilio.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: out.HTTPClient}
		c.SetAccountSid(cfg.AccountSID)
		t.rest = api.NewApiServiceWithClient(&rebased{Client: c, api: u})
	}
	return t, nil
}

// rebased sends twilio-go's requests to the configured API address.
type rebased struct {
	*twilio.Client
	api *url.URL
}

func (r *rebased) SendRequest(method, rawURL string, data url.Values, headers map[string]interface{}, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = r.api.Scheme, r.api.Host
	u.Path = r.api.Path + u.Path
	return r.Client.SendRequest(method, u.String(), data, headers, body...)
}

// Configured reports whether webhooks can be verified (an auth token is
// set). Without it every webhook is refused: nothing unsigned is trusted.
func (t *Twilio) Configured() bool { return t.cfg.AuthToken != "" }

// CanPlaceCalls reports whether outbound calls and recordings work (an
// account SID and an auth token).
func (t *Twilio) CanPlaceCalls() bool { return t.cfg.AccountSID != "" && t.cfg.AuthToken != "" }

// WebhookURL is the public address of one of our webhooks, as it is pasted
// into Twilio and as Twilio signs it.
func (t *Twilio) WebhookURL(pathAndQuery string) string { return t.base.String() + pathAndQuery }

// Errors of Verify.
var (
	ErrNotConfigured = errors.New("telephony is not configured (no Twilio auth token)")
	ErrUnsigned      = errors.New("no X-Twilio-Signature")
	ErrBadSignature  = errors.New("X-Twilio-Signature does not match")
)

// Verify checks a webhook's signature: HMAC-SHA1 with the auth token over
// the public URL (base URL + path and query as received) followed by the
// POST parameters sorted by name. form is the request's body parameters.
func (t *Twilio) Verify(r *http.Request, form url.Values) error {
	if !t.Configured() {
		return ErrNotConfigured
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		return ErrUnsigned
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) != 1 {
			// Twilio never repeats a parameter, and the signature would
			// cover only the first value.
			return ErrBadSignature
		}
		params[k] = v[0]
	}
	if !t.validator.Validate(t.WebhookURL(r.URL.RequestURI()), params, sig) {
		return ErrBadSignature
	}
	return nil
}

// Sign computes Twilio's signature of a request to webhookURL with params,
// as Twilio does: for the replay command and tests, which must speak the
// protocol from Twilio's side.
func Sign(authToken, webhookURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(webhookURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ErrNoCredentials means outbound calls are not configured.
var ErrNoCredentials = errors.New("outbound calls need --twilio-account-sid and --twilio-auth-token")

// PlaceCall creates a call through Twilio's REST API and returns its SID:
// to rings first and runs twiml when it answers; from is the caller ID it
// sees.
func (t *Twilio) PlaceCall(_ context.Context, to, from, twiml string) (string, error) {
	if t.rest == nil {
		return "", ErrNoCredentials
	}
	params := &api.CreateCallParams{}
	params.SetTo(to).SetFrom(from).SetTwiml(twiml).SetTimeout(30)
	call, err := t.rest.CreateCall(params)
	if err != nil {
		return "", fmt.Errorf("twilio create call: %w", err)
	}
	if call.Sid == nil {
		return "", errors.New("twilio create call: no SID in the answer")
	}
	return *call.Sid, nil
}

// MaxRecordingBytes bounds a recording fetched for playback (two hours of
// Twilio's 32 kbit/s MP3 is about 29 MB).
const MaxRecordingBytes = 64 << 20

// Recording fetches a recording's MP3 from the API with the account's
// credentials. The caller streams the body and closes it.
func (t *Twilio) Recording(ctx context.Context, recordingSid string) (io.ReadCloser, string, error) {
	if t.rest == nil {
		return nil, "", ErrNoCredentials
	}
	u := *t.api
	u.Path += "/2010-04-01/Accounts/" + url.PathEscape(t.cfg.AccountSID) + "/Recordings/" + url.PathEscape(recordingSid) + ".mp3"
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, "", err
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	resp, err := t.out.Do(req, MaxRecordingBytes)
	if err != nil {
		cancel()
		return nil, "", fmt.Errorf("fetch recording: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, "", fmt.Errorf("fetch recording: Twilio answered %d", resp.StatusCode)
	}
	ct := resp.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "audio/") {
		ct = "audio/mpeg"
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, ct, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
