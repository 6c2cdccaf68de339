package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"switchboard/models"
)

// Every page the browser tests visit, and every HTML email the console
// writes in this package's tests, goes through two checkers:
//
//   - axe-core (WCAG 2.2 A and AA rules), run inside the page by the browser
//     harness, at 1280 and at 390 pixels, for each distinct state of a page
//     (a page after it loads, and again after a click changes its structure,
//     such as a dialog opening);
//   - the W3C Nu HTML Checker (vnu), run once for the whole package, after
//     the tests, over the HTML the browser received and the emails' HTML
//     (java's start is slow, so the documents are checked in one batch).
//
// Either finding fails: axe's fails the test that visited the page, vnu's
// fails the package with the file, line and message.
//
// The tools are not part of the repository. .ci/run installs them and names
// them here; locally, install them as the README says, or the checks are
// skipped with a message (with CI=true a missing tool fails instead).
const (
	envVNUJar = "SWITCHBOARD_VNU_JAR" // the vnu.jar of npm's vnu-jar
	envAxeJS  = "SWITCHBOARD_AXE_JS"  // the axe.min.js of npm's axe-core
	envJava   = "SWITCHBOARD_JAVA"    // optional: the java to run vnu with
)

// axeWidths are the widths every page state is checked at.
var axeWidths = []int64{1280, 390}

// axeRules are the rule tags axe runs: WCAG 2.0, 2.1 and 2.2, levels A and
// AA. axeBestPractices adds the few best-practice rules the console keeps
// as strictly: one main landmark, all content in landmarks, headings in
// order, one <h1>.
var (
	axeRules         = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"}
	axeBestPractices = []string{"heading-order", "landmark-one-main", "region", "page-has-heading-one", "landmark-unique", "empty-heading", "landmark-no-duplicate-banner", "landmark-no-duplicate-main"}
)

// knownFailure is a finding tolerated for now on one page, by exact
// message. Each entry names the issue that removes it; the list must
// never grow a wildcard. An entry that excuses nothing while its page was
// checked fails the package: the fix landed, remove the entry.
type knownFailure struct {
	// page matches the path of the page (vnu) or of the page state (axe).
	page *regexp.Regexp
	// rule is axe's rule id, or vnu's message.
	rule  string
	issue string
}

var knownFailures = []knownFailure{}

// knownUsed counts, per entry of knownFailures, the findings it excused;
// knownPageSeen says whether a page it names was checked at all. An entry
// whose page was checked but that excused nothing is stale, and fails the
// package (runVNU) so that it is removed.
var knownUsed = struct {
	sync.Mutex
	hits     []int
	pageSeen []bool
}{hits: make([]int, len(knownFailures)), pageSeen: make([]bool, len(knownFailures))}

func isKnownFailure(path, rule string) bool {
	for i, k := range knownFailures {
		if k.rule == rule && k.page.MatchString(path) {
			knownUsed.Lock()
			knownUsed.hits[i]++
			knownUsed.Unlock()
			return true
		}
	}
	return false
}

// notePageChecked records that a checker read path.
func notePageChecked(path string) {
	for i, k := range knownFailures {
		if k.page.MatchString(path) {
			knownUsed.Lock()
			knownUsed.pageSeen[i] = true
			knownUsed.Unlock()
		}
	}
}

// staleKnownFailures are the entries whose page was checked and that
// excused nothing.
func staleKnownFailures() []string {
	knownUsed.Lock()
	defer knownUsed.Unlock()
	var stale []string
	for i, k := range knownFailures {
		if knownUsed.pageSeen[i] && knownUsed.hits[i] == 0 {
			stale = append(stale, fmt.Sprintf("%s on %s (issue %s)", k.rule, k.page, k.issue))
		}
	}
	return stale
}

// checkerTools are the checkers found in the environment.
type checkerTools struct {
	java, vnuJar string
	axeSource    string
	// missing says what is not there, and how to get it.
	missing []string
}

var findCheckers = sync.OnceValue(func() *checkerTools {
	ct := &checkerTools{}
	if p := os.Getenv(envAxeJS); p == "" {
		ct.missing = append(ct.missing, envAxeJS+" is not set (the path of axe-core's axe.min.js)")
	} else if src, err := os.ReadFile(p); err != nil {
		ct.missing = append(ct.missing, fmt.Sprintf("%s=%s: %v", envAxeJS, p, err))
	} else {
		ct.axeSource = string(src)
	}
	if p := os.Getenv(envVNUJar); p == "" {
		ct.missing = append(ct.missing, envVNUJar+" is not set (the path of vnu-jar's vnu.jar)")
	} else if _, err := os.Stat(p); err != nil {
		ct.missing = append(ct.missing, fmt.Sprintf("%s=%s: %v", envVNUJar, p, err))
	} else {
		ct.vnuJar = p
	}
	java := os.Getenv(envJava)
	if java == "" {
		java = "java"
	}
	if full, err := exec.LookPath(java); err != nil {
		ct.missing = append(ct.missing, fmt.Sprintf("no Java to run vnu (%q: %v; set %s or install default-jre-headless)", java, err, envJava))
	} else {
		ct.java = full
	}
	return ct
})

func (ct *checkerTools) complete() bool { return len(ct.missing) == 0 }

func (ct *checkerTools) explain() string {
	return "HTML and accessibility checkers unavailable: " + strings.Join(ct.missing, "; ") +
		" (see the README, \"Testing\"; .ci/run installs them)"
}

// requireCheckers fails a browser test under CI=true when a checker is
// missing, and otherwise says once that the checks are skipped.
func requireCheckers(t *testing.T) {
	t.Helper()
	ct := findCheckers()
	if ct.complete() {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but the " + ct.explain())
	}
	skippedOnce.Do(func() { fmt.Fprintln(os.Stderr, "note: "+ct.explain()+"; skipping those checks") })
	t.Log(ct.explain() + "; skipping those checks")
}

var skippedOnce sync.Once

// collected holds what the tests of this package gathered for vnu, and the
// page states axe has already checked.
var collected = struct {
	sync.Mutex
	docs     []checkedDoc
	seen     map[[32]byte]bool
	states   map[string]bool
	axeRuns  int
	axeFound int
}{seen: map[[32]byte]bool{}, states: map[string]bool{}}

type checkedDoc struct {
	// path is the page's path (or "email:KIND"), for the known failures.
	path string
	// from says which test produced the document and how.
	from string
	html []byte
}

var csrfValue = regexp.MustCompile(`(name="_csrf" value=")[^"]*"`)

// addDocument queues one HTML document for vnu, unless the same document
// (up to its CSRF token, or its shape for emails) is queued already.
func addDocument(path, from string, html []byte, key []byte) {
	sum := sha256.Sum256(key)
	collected.Lock()
	defer collected.Unlock()
	if collected.seen[sum] {
		return
	}
	collected.seen[sum] = true
	collected.docs = append(collected.docs, checkedDoc{path: path, from: from, html: html})
}

func addPage(path, from string, html []byte) {
	addDocument(path, from, html, csrfValue.ReplaceAll(html, []byte(`${1}-"`)))
}

var (
	emailText  = regexp.MustCompile(`>[^<]*<`)
	emailHrefs = regexp.MustCompile(`(href|src)="[^"]*"`)
)

// addEmail queues an email's HTML body. Emails of the same kind that differ
// only in their words and links are checked once: what vnu checks is their
// markup. A body that is not a whole document is not one the console wrote:
// a test's own fixture, or the placeholder that replaces a sent one-time
// link (TestEmail_EveryKind checks that every kind the console composes is
// a whole document).
func addEmail(kind, from, html string) {
	if !isHTMLDocument(html) {
		return
	}
	shape := emailHrefs.ReplaceAllString(emailText.ReplaceAllString(html, "><"), `$1=""`)
	addDocument("email:"+kind, from, []byte(html), []byte(kind+"\x00"+shape))
}

// isHTMLDocument: html starts with the doctype (templ writes it in lower
// case).
func isHTMLDocument(html string) bool {
	return len(html) >= 15 && strings.EqualFold(html[:15], "<!DOCTYPE html>")
}

// collectEmails queues every email in the test server's outbox.
func collectEmails(t *testing.T, store *models.Store) {
	var msgs []models.OutboxMessage
	if err := store.DB().Select("kind", "subject", "html_body").Find(&msgs).Error; err != nil {
		t.Logf("read the outbox for the HTML checker: %v", err)
		return
	}
	for _, m := range msgs {
		addEmail(m.Kind, t.Name()+": email "+m.Kind+" ("+m.Subject+")", m.HTMLBody)
	}
}

// pageAudit follows one browser tab: the last HTML document it received,
// for vnu, and the states axe has seen.
type pageAudit struct {
	// browserCtx has the tab but not the test's deadline, so the checks
	// can finish when a step used up its time.
	browserCtx context.Context

	mu      sync.Mutex
	docReq  network.RequestID
	docURL  string
	checked network.RequestID
	// noScripts is set while the test runs the page without JavaScript:
	// axe cannot run then (the same pages are checked with it elsewhere),
	// but the documents still go to vnu.
	noScripts bool
}

// turnOffScripts runs the tab's next pages without JavaScript, as a
// browser with it disabled would.
func turnOffScripts(t *testing.T, ctx context.Context) {
	t.Helper()
	if a := auditOf(ctx); a != nil {
		a.mu.Lock()
		a.noScripts = true
		a.mu.Unlock()
	}
	step(t, ctx, "turn off JavaScript", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
}

type pageAuditKey struct{}

func auditOf(ctx context.Context) *pageAudit {
	a, _ := ctx.Value(pageAuditKey{}).(*pageAudit)
	return a
}

// watchDocuments starts following the tab's documents.
func watchDocuments(t *testing.T, browserCtx context.Context) *pageAudit {
	t.Helper()
	a := &pageAudit{browserCtx: browserCtx}
	err := chromedp.Listen(browserCtx, func(ev any) {
		if ev, ok := ev.(*network.EventResponseReceived); ok && ev.Type == network.ResourceTypeDocument {
			a.mu.Lock()
			a.docReq, a.docURL = ev.RequestID, ev.Response.URL
			a.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("follow the browser's documents: %v", err)
	}
	return a
}

// checkPage is the harness's hook, called after every page load and every
// click: it queues the document for vnu if it is new, and runs axe on the
// page's state if no test checked the same state before.
func checkPage(t *testing.T, ctx context.Context, how string) {
	t.Helper()
	a := auditOf(ctx)
	ct := findCheckers()
	if a == nil || !ct.complete() {
		return
	}
	cctx, cancel := context.WithTimeout(a.browserCtx, 2*time.Minute)
	defer cancel()
	a.mu.Lock()
	req, docURL, isNew, noScripts := a.docReq, a.docURL, a.docReq != a.checked, a.noScripts
	a.checked = req
	a.mu.Unlock()
	if isNew && req != "" && strings.HasPrefix(docURL, "http") {
		body, err := chromedp.Call(cctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: req})
		if err != nil {
			t.Fatalf("checkers: read the HTML of %s: %v", docURL, err)
		}
		addPage(pathOf(docURL), fmt.Sprintf("%s: %s (%s)", t.Name(), pathOf(docURL), how), []byte(body.Body))
	}
	if noScripts {
		return
	}
	loc, err := chromedp.Run(cctx, chromedp.Location())
	if err != nil {
		t.Fatalf("checkers: read location after %s: %v", how, err)
	}
	path := pathOf(loc)

	shape, err := chromedp.Run(cctx, chromedp.Evaluate[string](pageShapeJS))
	if err != nil {
		t.Fatalf("checkers: read the page's structure after %s: %v", how, err)
	}
	key := routeOf(path) + "\x00" + shape
	collected.Lock()
	done := collected.states[key]
	collected.states[key] = true
	collected.Unlock()
	if done {
		return
	}
	runAxe(t, cctx, ct, path, how)
}

// pageShapeJS describes the page's structure without its words or
// identifiers: two visits of the users list with other people in it are
// one state; a dialog opened, an error shown or a menu opened is another.
const pageShapeJS = `(() => {
  const keep = new Set(["class", "type", "role", "open", "hidden", "disabled", "aria-current", "aria-expanded", "aria-invalid", "aria-modal"]);
  const out = [];
  for (const el of document.querySelectorAll("*")) {
    let s = el.tagName;
    for (const a of el.attributes) {
      s += " " + a.name + (keep.has(a.name) ? "=" + a.value : "");
    }
    out.push(s);
  }
  return out.join("\n");
})()`

var digitsRun = regexp.MustCompile(`/[0-9]+`)

// routeOf is a path with its numbers replaced: one route.
func routeOf(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return digitsRun.ReplaceAllString(path, "/N")
}

func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[i+3+j:]
		}
		return "/"
	}
	return u
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// runAxe runs axe in the page at each of axeWidths and puts the viewport
// back as the test had it.
func runAxe(t *testing.T, ctx context.Context, ct *checkerTools, path, how string) {
	t.Helper()
	size, err := chromedp.Run(ctx, chromedp.Evaluate[[]int64](`[window.innerWidth, window.innerHeight]`))
	if err != nil || len(size) != 2 {
		t.Fatalf("checkers: read the viewport: %v", err)
	}
	defer func() {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size[0], size[1])); err != nil {
			t.Errorf("checkers: restore the viewport: %v", err)
		}
	}()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("checkers: %v", err)
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](ct.axeSource+"\n;true")); err != nil {
			t.Fatalf("checkers: load axe-core into the page: %v", err)
		}
	}
	tags, _ := json.Marshal(axeRules)
	rules, _ := json.Marshal(axeBestPractices)
	script := `(async () => {
  const tagged = await axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]});
  const picked = await axe.run(document, {runOnly: {type: "rule", values: ` + string(rules) + `}, resultTypes: ["violations"]});
  return tagged.violations.concat(picked.violations).map(v => ({id: v.id, impact: v.impact || "", help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary || ""}))}));
})()`
	notePageChecked(path)
	for _, w := range axeWidths {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, size[1])); err != nil {
			t.Fatalf("checkers: resize to %d: %v", w, err)
		}
		found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](script, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("checkers: run axe on %s at %dpx: %v", path, w, err)
		}
		collected.Lock()
		collected.axeRuns++
		collected.Unlock()
		for _, v := range found {
			if isKnownFailure(path, v.ID) {
				continue
			}
			collected.Lock()
			collected.axeFound += len(v.Nodes)
			collected.Unlock()
			var b strings.Builder
			fmt.Fprintf(&b, "axe at %dpx on %s (%s): %s [%s, %s], %d element(s):", w, path, how, v.Help, v.ID, v.Impact, len(v.Nodes))
			for i, n := range v.Nodes {
				if i == 5 {
					fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-i)
					break
				}
				fmt.Fprintf(&b, "\n    %s\n      %s\n      %s", n.Target, tail(n.HTML, 300), strings.ReplaceAll(n.Summary, "\n", "\n      "))
			}
			t.Error(b.String())
		}
	}
}

// TestMain runs the package's tests, then vnu over the documents they
// gathered.
func TestMain(m *testing.M) {
	code := m.Run()
	if vnu := runVNU(); code == 0 {
		code = vnu
	}
	os.Exit(code)
}

type vnuMessage struct {
	Type        string `json:"type"`
	SubType     string `json:"subType"`
	URL         string `json:"url"`
	LastLine    int    `json:"lastLine"`
	FirstColumn int    `json:"firstColumn"`
	LastColumn  int    `json:"lastColumn"`
	Message     string `json:"message"`
	Extract     string `json:"extract"`
}

// vnuWarnings are the warnings treated as errors: a section with no
// heading leaves a screen reader's list of regions with an unnamed entry.
var vnuWarnings = []string{"Section lacks heading."}

// runVNU checks the gathered documents and returns the exit code: 0 when
// every document passes (or nothing was gathered, or the checker is
// missing outside CI), 1 otherwise.
func runVNU() int {
	collected.Lock()
	docs := collected.docs
	states, runs, axeFound := len(collected.states), collected.axeRuns, collected.axeFound
	collected.Unlock()
	if len(docs) == 0 {
		return 0
	}
	ct := findCheckers()
	if !ct.complete() {
		if os.Getenv("CI") == "true" {
			fmt.Println("FAIL: vnu: CI=true but the " + ct.explain())
			return 1
		}
		return 0
	}
	dir, err := os.MkdirTemp("", "switchboard-vnu-")
	if err != nil {
		fmt.Println("FAIL: vnu:", err)
		return 1
	}
	byFile := map[string]checkedDoc{}
	for i, d := range docs {
		name := fmt.Sprintf("%04d%s.html", i+1, unsafeName.ReplaceAllString(strings.TrimPrefix(routeOf(d.path), "/"), "_"))
		if strings.HasPrefix(d.path, "email:") {
			name = fmt.Sprintf("%04d-%s.html", i+1, unsafeName.ReplaceAllString(d.path, "_"))
		}
		if err := os.WriteFile(filepath.Join(dir, name), d.html, 0o644); err != nil {
			fmt.Println("FAIL: vnu:", err)
			return 1
		}
		byFile[name] = d
		notePageChecked(d.path)
	}
	start := time.Now()
	cmd := exec.Command(ct.java, "-Xss2m", "-jar", ct.vnuJar, "--format", "json", "--exit-zero-always", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		fmt.Printf("FAIL: vnu: %v\n%s%s\n", err, stdout.String(), stderr.String())
		return 1
	}
	var report struct {
		Messages []vnuMessage `json:"messages"`
	}
	out := stderr.Bytes()
	if len(bytes.TrimSpace(out)) == 0 {
		out = stdout.Bytes()
	}
	if err := json.Unmarshal(out, &report); err != nil {
		fmt.Printf("FAIL: vnu: read its report: %v\n%s\n", err, tail(string(out), 2000))
		return 1
	}
	var problems []string
	pages := map[string]bool{}
	for _, msg := range report.Messages {
		isError := msg.Type == "error" || msg.Type == "non-document-error"
		for _, w := range vnuWarnings {
			if msg.Type == "info" && msg.SubType == "warning" && strings.HasPrefix(msg.Message, w) {
				isError = true
			}
		}
		if !isError {
			continue
		}
		file := filepath.Base(strings.TrimPrefix(msg.URL, "file:"))
		d := byFile[file]
		if isKnownFailure(d.path, msg.Message) {
			continue
		}
		pages[file] = true
		problems = append(problems, fmt.Sprintf("%s:%d:%d: %s\n    from %s\n    near: %s",
			filepath.Join(dir, file), msg.LastLine, msg.FirstColumn, msg.Message, d.from, msg.Extract))
	}
	sort.Strings(problems)
	code := 0
	if stale := staleKnownFailures(); len(stale) > 0 {
		fmt.Printf("--- FAIL: known failures that no longer happen (remove them from knownFailures in checkers_test.go):\n    %s\n", strings.Join(stale, "\n    "))
		code = 1
	}
	fmt.Printf("checkers: vnu read %d documents in %s; axe checked %d page states (%d runs) and found %d problems\n",
		len(docs), time.Since(start).Round(time.Millisecond), states, runs, axeFound)
	if len(problems) > 0 {
		fmt.Printf("--- FAIL: vnu (W3C Nu HTML Checker): %d errors in %d documents; the documents are kept in %s\n", len(problems), len(pages), dir)
		for _, p := range problems {
			fmt.Println(p)
		}
		return 1
	}
	os.RemoveAll(dir)
	return code
}
