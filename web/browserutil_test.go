package web

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// The browser tests drive the real server in real headless Chromium. They
// need a Chromium binary: SWITCHBOARD_CHROMIUM names one, otherwise the usual
// names are looked up on PATH. Without one the tests skip, except with
// CI=true, where a missing browser is a failure.
//
// Set SWITCHBOARD_SCREENSHOTS to a folder to keep a PNG of the pages that a
// test photographs (and of the last page of a failed test).

const (
	// chromeTestTimeout bounds one whole browser test, including the HTML
	// and accessibility checks of every page it visits (checkers_test.go).
	chromeTestTimeout = 4 * time.Minute
	// chromeStepTimeout bounds one step, so a missing element fails fast
	// with the step's name rather than at the end of the test.
	chromeStepTimeout = 15 * time.Second
	chromeWidth       = 1280
	chromeHeight      = 900
)

// chromePath finds the browser, or returns "" when there is none.
func chromePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SWITCHBOARD_CHROMIUM"); p != "" {
		full, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("SWITCHBOARD_CHROMIUM=%q: %v", p, err)
		}
		return full
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if full, err := exec.LookPath(name); err == nil {
			return full
		}
	}
	return ""
}

// lockedBuffer collects the browser's output for failure reports.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newChrome starts a fresh headless Chromium with its own empty profile and
// returns a context for its one tab. The context ends after
// chromeTestTimeout; the browser is closed and its profile removed when the
// test ends.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path := chromePath(t)
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but no Chromium was found: install the chromium package or set SWITCHBOARD_CHROMIUM")
		}
		t.Skip("no Chromium found (set SWITCHBOARD_CHROMIUM or install chromium); skipping browser test")
	}
	requireCheckers(t)
	profile := filepath.Join(t.TempDir(), "profile")
	if err := os.Mkdir(profile, 0o700); err != nil {
		t.Fatal(err)
	}
	output := &lockedBuffer{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(chromeWidth, chromeHeight),
		chromedp.CombinedOutput(output),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	// The first Run starts the browser; it must not carry the test's
	// deadline, which only the steps after it do.
	if err := chromedp.Do(browserCtx, chromedp.EmulateViewport(chromeWidth, chromeHeight)); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start %s: %v\nbrowser output:\n%s", path, err, tail(quietOutput(output.String()), 4000))
	}
	audit := watchDocuments(t, browserCtx)
	ctx, cancelTest := context.WithTimeout(context.WithValue(browserCtx, pageAuditKey{}, audit), chromeTestTimeout)
	t.Cleanup(func() {
		cancelTest()
		cancelBrowser()
		cancelAlloc()
		// The browser's helper processes can write into the profile for a
		// moment after the browser exits; retry so the test's temporary
		// folder can be removed cleanly.
		deadline := time.Now().Add(5 * time.Second)
		for {
			err := os.RemoveAll(profile)
			if err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Logf("remove browser profile: %v", err)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	// Registered last so it runs first, while the browser is still up.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		sctx, cancel := context.WithTimeout(browserCtx, 5*time.Second)
		defer cancel()
		if loc, err := chromedp.Run(sctx, chromedp.Location()); err == nil {
			t.Logf("browser was at %s", loc)
		}
		if text, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("body"))); err == nil {
			t.Logf("page text:\n%s", tail(text, 3000))
		}
		screenshot(t, sctx, "failed-"+t.Name())
		if out := quietOutput(output.String()); out != "" {
			t.Logf("browser output:\n%s", tail(out, 3000))
		}
	})
	return ctx
}

// quietOutput drops the browser's complaints about the missing desktop bus,
// which it prints on every machine without one and which hide the rest.
func quietOutput(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) != "" && !strings.Contains(line, "dbus/") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// step runs actions with the step timeout and fails the test with what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, chromeStepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// stepValue runs one action that returns a value, with the step timeout.
func stepValue[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, chromeStepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// visit opens a path of the test server and waits for the page to load. It
// returns the response of the page (after any redirects), for its status.
func visit(t *testing.T, ctx context.Context, ts *testServer, path string) *network.Response {
	t.Helper()
	resp := stepValue(t, ctx, "open "+path, chromedp.NavigateResponse(ts.srv.URL+path))
	if resp == nil {
		t.Fatalf("open %s: no response", path)
	}
	checkPage(t, ctx, "open "+path)
	return resp
}

// fill types value into the form field #f-NAME, replacing what was there.
func fill(t *testing.T, ctx context.Context, name, value string) {
	t.Helper()
	sel := chromedp.ID("f-" + name)
	step(t, ctx, "fill "+name, chromedp.WaitVisible(sel), chromedp.Clear(sel), chromedp.SendKeys(sel, value))
}

// choose picks the option with this value in the select #f-NAME.
func choose(t *testing.T, ctx context.Context, name, value string) {
	t.Helper()
	sel := chromedp.ID("f-" + name)
	step(t, ctx, "choose "+name, chromedp.WaitVisible(sel), chromedp.SetValue(sel, value))
	if got := stepValue(t, ctx, "read "+name, chromedp.Value(sel)); got != value {
		t.Fatalf("choose %s: select has no option %q (value is %q)", name, value, got)
	}
}

// click clicks the first element matching the CSS selector. Use submit when
// the click loads a new page.
func click(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	step(t, ctx, "click "+selector, chromedp.Click(chromedp.CSS(selector)))
	checkPage(t, ctx, "after click on "+selector)
}

// submit clicks the first element matching the CSS selector and waits for the
// page it leads to, returning that page's response (after redirects).
func submit(t *testing.T, ctx context.Context, selector string) *network.Response {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, chromeStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		t.Fatalf("click %s and wait for the next page: %v", selector, err)
	}
	if resp == nil {
		t.Fatalf("click %s: no response", selector)
	}
	checkPage(t, ctx, "after click on "+selector)
	return resp
}

// waitFor waits until an element matching the CSS selector is visible.
func waitFor(t *testing.T, ctx context.Context, selector string) {
	t.Helper()
	step(t, ctx, "wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
	checkPage(t, ctx, "when "+selector+" showed")
}

var spaces = regexp.MustCompile(`\s+`)

// textOf returns the visible text of the first element matching the CSS
// selector, with runs of white space made single spaces.
func textOf(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	s := stepValue(t, ctx, "read "+selector, chromedp.Text(chromedp.CSS(selector)))
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// currentPath returns the path (and query) of the page the tab shows.
func currentPath(t *testing.T, ctx context.Context, ts *testServer) string {
	t.Helper()
	loc := stepValue(t, ctx, "read location", chromedp.Location())
	return strings.TrimPrefix(loc, ts.srv.URL)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves the visible part of the page as NAME.png in the folder
// named by SWITCHBOARD_SCREENSHOTS; without it, it does nothing.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	saveScreenshot(t, ctx, name, chromedp.CaptureScreenshot())
}

// screenshotFull is screenshot of the whole page, however long.
func screenshotFull(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	saveScreenshot(t, ctx, name, chromedp.FullScreenshot(100))
}

func saveScreenshot(t *testing.T, ctx context.Context, name string, capture chromedp.Action[[]byte]) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, chromeStepTimeout)
	defer cancel()
	png, err := chromedp.Run(sctx, capture)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("screenshot %s: %v", name, err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", file)
}
