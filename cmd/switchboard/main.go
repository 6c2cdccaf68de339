// Command switchboard is the console: `serve` (the default), `bootstrap`, `bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/views"
	"switchboard/web"
	"switchboard/web/outbound"
	"switchboard/web/telephony"
)

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT sets
// one. Most of what the server allocates is short-lived garbage, above all
// argon2id's 19 MiB per password check; without a limit the heap grows to
// twice what is live before the collector runs, and logins at once would
// push the process past 150 MB.
const defaultMemoryLimit = 80 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "switchboard:", err)
		}
		os.Exit(1)
	}
}

const usage = `Usage: switchboard [command] [flags]

Commands:
  serve       run the console (the default)
  bootstrap   create an account, its first company and first Admin; print the Admin's set-password URL
  bench       seed a fresh database, load the real server beside a hello-world baseline, print the figures
  calls replay FILE
              post recorded Twilio webhook requests, signed, to a running server (test data, not real calls)

Run 'switchboard COMMAND -h' for the flags of a command.
`

// run is the whole program, so tests can start it as it really runs.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "bootstrap":
		return bootstrap(ctx, args, getenv, stdout, stderr)
	case "bench":
		return bench(ctx, args, getenv, stdout, stderr)
	case "calls":
		return callsCommand(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// common holds the flags every command shares; each has an environment
// variable, and a flag given on the command line wins.
type common struct {
	addr, db, baseURL, smtp, mailDir, trustedProxies string
	// Remote services.
	twilioSID, twilioToken, twilioAPI, outboundAllow string
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.addr, "addr", env("SWITCHBOARD_ADDR", "127.0.0.1:8080"), "address to listen on (SWITCHBOARD_ADDR)")
	fs.StringVar(&c.db, "db", env("DATABASE_URL", "switchboard.db"), "SQLite file or sqlite: URL, or a postgres:// URL (DATABASE_URL)")
	fs.StringVar(&c.baseURL, "base-url", env("SWITCHBOARD_BASE_URL", ""), "public address used in email links; default http://ADDR (SWITCHBOARD_BASE_URL)")
	fs.StringVar(&c.smtp, "smtp", env("SMTP_URL", ""), "SMTP server for email, smtp://user:pass@host:port (SMTP_URL)")
	fs.StringVar(&c.mailDir, "mail-dir", env("SWITCHBOARD_MAIL_DIR", "mail"), "without SMTP, write each email here as an .eml file (SWITCHBOARD_MAIL_DIR)")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", env("SWITCHBOARD_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (SWITCHBOARD_TRUSTED_PROXIES)")
	fs.StringVar(&c.twilioSID, "twilio-account-sid", env("TWILIO_ACCOUNT_SID", ""), "Twilio account SID, for calling back and playing recordings (TWILIO_ACCOUNT_SID)")
	fs.StringVar(&c.twilioToken, "twilio-auth-token", env("TWILIO_AUTH_TOKEN", ""), "Twilio auth token: verifies the telephony webhooks; without it they are refused (TWILIO_AUTH_TOKEN)")
	fs.StringVar(&c.twilioAPI, "twilio-api-url", env("TWILIO_API_URL", telephony.DefaultAPIURL), "Twilio's REST API address (TWILIO_API_URL)")
	fs.StringVar(&c.outboundAllow, "outbound-allow", env("SWITCHBOARD_OUTBOUND_ALLOW", ""), "comma-separated CIDRs that outgoing requests may reach although private (SWITCHBOARD_OUTBOUND_ALLOW)")
}

func (c *common) twilio() telephony.Config {
	return telephony.Config{AccountSID: c.twilioSID, AuthToken: c.twilioToken, APIURL: c.twilioAPI}
}

func (c *common) allow() ([]netip.Prefix, error) {
	allow, err := outbound.ParseAllow(c.outboundAllow)
	if err != nil {
		return nil, fmt.Errorf("--outbound-allow: %w", err)
	}
	return allow, nil
}

// openCalls opens the calls area on the store and registers its hooks on
// the people core, before anything serves.
func openCalls(ctx context.Context, store *models.Store) (*calls.Service, error) {
	area, err := calls.Open(ctx, store)
	if err != nil {
		return nil, err
	}
	store.RegisterArea(area.Area())
	return area, nil
}

func (c *common) base() (*url.URL, error) {
	raw := c.baseURL
	if raw == "" {
		raw = "http://" + c.addr
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--base-url %q: want an http:// or https:// address", raw)
	}
	return u, nil
}

func (c *common) proxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(c.trustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := c.base()
	if err != nil {
		return err
	}
	proxies, err := c.proxies()
	if err != nil {
		return err
	}
	allow, err := c.allow()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	store, err := models.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	callsArea, err := openCalls(ctx, store)
	if err != nil {
		return err
	}
	mailer, err := web.NewMailer(c.smtp, c.mailDir, web.DefaultFrom(base), log)
	if err != nil {
		return err
	}
	srv, err := web.New(ctx, web.Config{BaseURL: base, TrustedProxies: proxies, Mailer: mailer,
		Calls: callsArea, Twilio: c.twilio(), OutboundAllow: allow}, store, log)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	secret, err := store.IssueSetupLink(ctx)
	if err != nil {
		return err
	}
	if secret != "" {
		fmt.Fprintf(stdout, "\nSwitchboard has no account yet. Open this one-time link to set it up (valid for %s):\n\n  %s/setup/%s\n\n",
			models.SetupLinkTTL, base, secret)
	}
	// The worker stops with the server and is waited for before the store
	// closes, so a message sent at shutdown is also recorded as sent.
	workerCtx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); srv.Delivery.Run(workerCtx) }()
	defer func() { stopWorker(); <-workerDone }()
	log.Info("switchboard listening", "addr", l.Addr().String(), "base_url", base.String(), "database", store.Dialect)
	if c.twilioToken == "" {
		log.Info("telephony is not configured: Twilio's webhooks are refused until --twilio-auth-token (TWILIO_AUTH_TOKEN) is set")
	}
	return srv.Serve(ctx, l)
}

func bootstrap(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	var in models.AccountInput
	fs.StringVar(&in.AccountName, "account", "", "account name (required)")
	fs.StringVar(&in.Email, "email", "", "first Admin's email (required)")
	fs.StringVar(&in.FirstName, "first", "", "first Admin's first name (required)")
	fs.StringVar(&in.LastName, "last", "", "first Admin's last name (required)")
	fs.StringVar(&in.TimeZone, "time-zone", "UTC", "time zone of the first company")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, err := c.base()
	if err != nil {
		return err
	}
	store, err := models.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	secret, err := store.Bootstrap(ctx, in)
	if err != nil && models.ErrorCode(err) == models.Internal {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err != nil {
		return fmt.Errorf("bootstrap: %s", models.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "Created account %q with its first company and Admin %s.\n", in.AccountName, strings.TrimSpace(in.Email))
	fmt.Fprintln(stdout, views.Mailer{BaseURL: base}.InvitationLink(secret))
	return nil
}
