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
	"strconv"
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
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr), os.Stderr))
}

// exitCode reports err and turns it into the process's exit status: 0 for
// success and for -h (the usage was asked for), 1 for any failure.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(stderr, "switchboard:", err)
	return 1
}

const usage = `Usage: switchboard [command] [flags]

Commands:
  serve       run the console (the default)
  bootstrap   create an account, its first company and first Admin; print the Admin's set-password URL
  bench       seed a fresh database, load the real server beside a hello-world baseline, print the figures
  backup      copy the SQLite database to a new file, safely while servers use it
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
	case "backup":
		return backup(ctx, args, getenv, stdout, stderr)
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

// envOr is the environment variable name, or def when it is empty.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// newLogger logs to w in the format --log-format names: the server's log,
// request lines included. serve writes it to stderr, and bench to a file,
// so that the benchmark pays for the same logging as a deployed server.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	var metricsAddr, logFormat string
	fs.StringVar(&metricsAddr, "metrics-addr", envOr(getenv, "SWITCHBOARD_METRICS_ADDR", ""),
		"address to serve Prometheus metrics on (GET /metrics), apart from the console; default none (SWITCHBOARD_METRICS_ADDR)")
	fs.StringVar(&logFormat, "log-format", envOr(getenv, "SWITCHBOARD_LOG_FORMAT", "text"), "log lines as text or json (SWITCHBOARD_LOG_FORMAT)")
	invitesPerDay := models.DefaultInvitationsPerDay
	if v := getenv("SWITCHBOARD_INVITATIONS_PER_DAY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("SWITCHBOARD_INVITATIONS_PER_DAY %q: want a whole number of at least 1", v)
		}
		invitesPerDay = n
	}
	fs.IntVar(&invitesPerDay, "invitations-per-day", invitesPerDay, "invitations an account may send in 24 hours, by any path (SWITCHBOARD_INVITATIONS_PER_DAY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q; every setting is a flag (switchboard serve -h)", fs.Arg(0))
	}
	log, err := newLogger(logFormat, stderr)
	if err != nil {
		return err
	}
	if invitesPerDay < 1 {
		return fmt.Errorf("--invitations-per-day %d: want at least 1", invitesPerDay)
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
	store, err := models.Open(ctx, c.db, models.WithInvitationsPerDay(invitesPerDay))
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
			views.FormatDuration(models.SetupLinkTTL), base, secret)
	}
	var ml net.Listener
	if metricsAddr != "" {
		if ml, err = net.Listen("tcp", metricsAddr); err != nil {
			l.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
	}
	// The workers stop with the server and are waited for before the
	// store closes, so that work finished at shutdown is recorded and work
	// under way is handed back to the other servers.
	workerCtx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); srv.RunBackground(workerCtx) }()
	defer func() { stopWorker(); <-workerDone }()
	if ml != nil {
		metricsDone := make(chan struct{})
		go func() {
			defer close(metricsDone)
			if err := srv.ServeMetrics(ctx, ml); err != nil {
				log.Error("metrics listener", "err", err)
			}
		}()
		defer func() { <-metricsDone }()
		log.Info("metrics listening", "addr", ml.Addr().String())
	}
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
	if fs.NArg() > 0 {
		return fmt.Errorf("bootstrap: unexpected argument %q; every setting is a flag (switchboard bootstrap -h)", fs.Arg(0))
	}
	var missing []string
	for _, f := range bootstrapFields {
		if f.required && strings.TrimSpace(fs.Lookup(f.flag).Value.String()) == "" {
			missing = append(missing, "--"+f.flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("bootstrap: missing %s (switchboard bootstrap -h)", strings.Join(missing, ", "))
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
	r, err := store.BootstrapAccount(ctx, in)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", bootstrapError(err))
	}
	name, email := strings.TrimSpace(in.AccountName), strings.TrimSpace(in.Email)
	if r.Reissued {
		fmt.Fprintf(stdout, "Account %q already exists and %s has not set a password yet: here is a new link (the earlier one no longer works).\n", name, email)
	} else {
		fmt.Fprintf(stdout, "Created account %q with its first company and Admin %s.\n", name, email)
	}
	fmt.Fprintf(stdout, "Send this link to them to set their password (it works once, for %s):\n", views.FormatDuration(models.InvitationLinkTTL))
	fmt.Fprintln(stdout, views.Mailer{BaseURL: base}.InvitationLink(r.Secret))
	return nil
}

func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: switchboard backup [--db FILE] NEW-FILE")
		fs.PrintDefaults()
	}
	db := fs.String("db", envOr(getenv, "DATABASE_URL", "switchboard.db"), "the SQLite database to copy (DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("backup: name one new file to write")
	}
	size, err := models.Backup(ctx, *db, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Backed up %s to %s (%.1f MiB).\n", *db, fs.Arg(0), float64(size)/(1<<20))
	return nil
}

// bootstrapFields ties the form fields models names in its errors to the
// flags a person typed.
var bootstrapFields = []struct {
	field, flag string
	required    bool
}{
	{"account_name", "account", true},
	{"email", "email", true},
	{"first_name", "first", true},
	{"last_name", "last", true},
	{"time_zone", "time-zone", false},
	{"company_name", "account", false}, // the first company is named after the account
}

// bootstrapError says what went wrong in terms of the command's flags.
// Unexpected failures keep their detail: the operator reads it, not a
// visitor.
func bootstrapError(err error) error {
	if models.ErrorCode(err) == models.Internal {
		return err
	}
	fields := models.ErrorFields(err)
	if len(fields) == 0 {
		return errors.New(models.ErrorMessage(err))
	}
	var msgs []string
	seen := map[string]bool{}
	for _, f := range bootstrapFields {
		if msg, ok := fields[f.field]; ok && !seen[f.flag] {
			seen[f.flag] = true
			msgs = append(msgs, "--"+f.flag+": "+msg)
		}
	}
	if len(msgs) == 0 {
		return errors.New(models.ErrorMessage(err))
	}
	return errors.New(strings.Join(msgs, "; "))
}
