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
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"switchboard/models"
	"switchboard/views"
	"switchboard/web"
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
	log := newLogger(stderr)
	store, err := models.Open(ctx, c.db)
	if err != nil {
		return err
	}
	defer store.Close()
	mailer, err := web.NewMailer(c.smtp, c.mailDir, web.DefaultFrom(base), log)
	if err != nil {
		return err
	}
	srv, err := web.New(ctx, web.Config{BaseURL: base, TrustedProxies: proxies, Mailer: mailer}, store, log)
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
	return srv.Serve(ctx, l)
}

// newLogger is the server's log, request lines included: serve writes it
// to stderr, and bench to a file, so that the benchmark pays for the same
// logging as a deployed server.
func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

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
	if models.ErrorCode(err) == models.Internal {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err != nil {
		return fmt.Errorf("bootstrap: %s", models.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "Created account %q with its first company and Admin %s.\n", in.AccountName, strings.TrimSpace(in.Email))
	fmt.Fprintln(stdout, views.Mailer{BaseURL: base}.InvitationLink(secret))
	return nil
}
