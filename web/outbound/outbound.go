// Package outbound is the one HTTP client through which Switchboard reaches
// other services (Twilio's REST API and recordings today; webhooks, Slack,
// GA4 and Stripe later). Whatever a URL says, it connects only to public
// addresses: the check runs when the connection is dialled, after DNS has
// answered, so a name that resolves to a private, loopback, link-local or
// cloud-metadata address is refused as the bare address would be, and so is
// every redirect that leads there. Private ranges are reachable only when
// the operator lists them (--outbound-allow), for tests and private
// deployments. Every request is bounded in time, and every answer in size.
package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Defaults for a Client built with zero values.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultMaxBodyBytes = 1 << 20
	maxRedirects        = 5
)

// Config says how far outgoing requests may go.
type Config struct {
	// Allow lists private prefixes that requests may reach all the same
	// (loopback for tests, a private network for a private deployment).
	Allow []netip.Prefix
	// Timeout bounds a whole request, answer included.
	Timeout time.Duration
	// MaxBodyBytes bounds what is read of an answer.
	MaxBodyBytes int64
}

// Client is the outgoing HTTP client. HTTPClient is a plain *http.Client
// for libraries that want one (twilio-go); it applies the same address
// check, redirect rule and time limit, and Do adds the size limit.
type Client struct {
	cfg        Config
	HTTPClient *http.Client
}

// ErrRefused marks a connection refused by the address policy.
var ErrRefused = errors.New("outbound: address not allowed")

// RefusedError says which address was refused and why.
type RefusedError struct {
	Address netip.Addr
	Reason  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("outbound: refused to connect to %s (%s); list its range in --outbound-allow to allow it", e.Address, e.Reason)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// ParseAllow reads a comma-separated list of CIDRs (the --outbound-allow
// setting). Single addresses are accepted as /32 or /128.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR or an address", part)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// New builds the client.
func New(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	c := &Client{cfg: cfg}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: c.control}
	transport := &http.Transport{
		// No proxy from the environment: a proxy would make the address
		// check judge the proxy instead of the destination.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	c.HTTPClient = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		// Redirects are followed a few times, and each one dials through
		// the same check, so a redirect to a private address fails there.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("outbound: stopped after %d redirects", maxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("outbound: redirect to a %q address", req.URL.Scheme)
			}
			return nil
		},
	}
	return c
}

// control runs for every connection after name resolution, with the very
// address about to be dialled.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("outbound: %w", err)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("outbound: %q is not an address: %w", host, err)
	}
	return c.Check(addr)
}

// Check applies the address policy to one address.
func (c *Client) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	reason := forbidden(addr)
	if reason == "" {
		return nil
	}
	for _, p := range c.cfg.Allow {
		if p.Contains(addr) {
			return nil
		}
	}
	return &RefusedError{Address: addr, Reason: reason}
}

// blocked lists the ranges no outgoing request may reach unless allowed.
var blocked = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local and cloud metadata"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "protocol assignments"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b::/96"), "IPv4-translated"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	// Cloud metadata services outside the link-local range.
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
}

func forbidden(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	for _, b := range blocked {
		if b.prefix.Contains(a) {
			return b.reason
		}
	}
	return ""
}

// Do sends a request within the client's limits; the answer's body yields
// at most MaxBodyBytes (limit overrides it when positive) and then fails.
func (c *Client) Do(req *http.Request, limit int64) (*http.Response, error) {
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = c.cfg.MaxBodyBytes
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, fmt.Errorf("outbound: answer of %d bytes is over the %d-byte limit", resp.ContentLength, limit)
	}
	resp.Body = &cappedBody{r: resp.Body, left: limit}
	return resp, nil
}

// Get is Do for a GET of url.
func (c *Client) Get(ctx context.Context, url string, limit int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req, limit)
}

// ErrTooLarge is what reading past the size limit returns.
var ErrTooLarge = errors.New("outbound: answer larger than allowed")

type cappedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body that ends exactly at the limit from
		// one that goes on.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.r.Close() }
