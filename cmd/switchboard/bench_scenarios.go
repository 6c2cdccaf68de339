package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"switchboard/models"
)

// Scenario names, as the report shows them. Each asks what its name says;
// README "Benchmark" describes them.
const (
	scStatic       = "the same page, static (bare Echo)"
	scHotPage      = "Admin, first page (same URL)"
	scSearch       = "Admin, a new search each time"
	scCompany      = "Admin, a new company each time"
	scDeep         = "Admin, a new deep page each time"
	scMixed        = "Admin, type/status/sort/size mixed"
	scScopedFirst  = "32 Managers, own first page"
	scScopedMixed  = "32 Managers, mixed questions"
	scHotEdited    = "Admin, first page + 20 edits/s"
	scSearchEdited = "Admin, new search + 20 edits/s"
	scWizard       = "create user (wizard, final step)"
	scLogin        = "log in (argon2id)"
)

// listScenarios are the users-list scenarios in the order they run.
var listScenarios = []string{scHotPage, scSearch, scCompany, scDeep, scMixed, scScopedFirst, scScopedMixed, scHotEdited, scSearchEdited}

// The questions the mixed scenarios draw from.
var (
	benchTypes    = []string{"", "", "admin", "manager", "reporting", "notification"}
	benchStatuses = []string{"", "", "active", "invited", "expired", "disabled"}
	benchSorts    = []string{"name", "email", "type", "active", "invited"}
	benchDirs     = []string{"", "asc", "desc"}
	benchSizes    = []string{"", "25", "100"}
)

// deepCursors is how many different deep pages the deep scenario opens.
const deepCursors = 400

// benchWorld is what the scenarios know about the seeded account.
type benchWorld struct {
	seed      *models.SeedResult
	members   int
	companies []uint // active
	admin     *benchSession
	editor    *benchSession   // a second Admin, who edits during the edit scenarios
	scoped    []*benchSession // Managers, each with their own companies
	// scopedCompanies are the active companies of each scoped session.
	scopedCompanies [][]uint
	deep            []string // paths of pages deep in the list
	editable        []editTarget
}

type editTarget struct {
	id          uint
	first, last string
}

// newBenchWorld signs the scenarios' people in and reads what the
// questions need from the seeded database.
func newBenchWorld(ctx context.Context, store *models.Store, app *benchClient, seed *models.SeedResult, o benchOptions) (*benchWorld, error) {
	w := &benchWorld{seed: seed, members: o.members}
	for _, c := range seed.Companies {
		if c.Status == models.CompanyActive {
			w.companies = append(w.companies, c.ID)
		}
	}
	var err error
	if w.admin, err = app.login(ctx, seed.Admin.Email, benchPassword, ""); err != nil {
		return nil, fmt.Errorf("log in as the seeded Admin: %w", err)
	}
	editor := seed.Admin.Email
	if len(seed.Admins) > 0 {
		editor = seed.Admins[0].Email
	}
	if w.editor, err = app.login(ctx, editor, benchPassword, "198.51.100.250"); err != nil {
		return nil, fmt.Errorf("log in as the editing Admin: %w", err)
	}
	// Managers, each signed in from their own address (their logins are
	// not what is measured). Reporting users have no users list (the
	// policy gives it to those who may add people to companies), so the
	// scoped scenarios are Managers, each with their own companies.
	scoped := seed.Managers[:min(len(seed.Managers), o.conns)]
	if len(scoped) == 0 {
		return nil, errors.New("the seeded account has no Manager who can log in")
	}
	for i, m := range scoped {
		s, err := app.login(ctx, m.Email, benchPassword, fmt.Sprintf("198.51.100.%d", 1+i%240))
		if err != nil {
			return nil, err
		}
		var ids []uint
		if err := store.DB().WithContext(ctx).Raw(`SELECT a.company_id FROM assignments a JOIN companies c ON c.id = a.company_id
			WHERE a.membership_id = ? AND c.status = ? ORDER BY a.company_id`, m.ID, models.CompanyActive).Scan(&ids).Error; err != nil {
			return nil, err
		}
		w.scoped = append(w.scoped, s)
		w.scopedCompanies = append(w.scopedCompanies, ids)
	}
	// Deep pages: a cursor at a random place in a random order of the
	// whole list, as if someone had paged that far.
	rng := rand.New(rand.NewPCG(11, 12))
	for range deepCursors {
		sort := benchSorts[rng.IntN(len(benchSorts))]
		f := models.UserFilter{Sort: sort, Dir: benchDirs[rng.IntN(len(benchDirs))]}
		pos := o.members/20 + rng.IntN(o.members*9/10)
		cur, err := store.CursorAt(ctx, seed.Account.ID, f, pos)
		if err != nil {
			return nil, err
		}
		q := url.Values{"sort": {sort}, "after": {cur}}
		if f.Dir != "" {
			q.Set("dir", f.Dir)
		}
		w.deep = append(w.deep, "/users?"+q.Encode())
	}
	// People the editor renames: anyone but Admins, spread over the list.
	rows, err := store.DB().WithContext(ctx).Raw(`SELECT id, first_name, last_name FROM memberships
		WHERE account_id = ? AND type <> ? ORDER BY id`, seed.Account.ID, models.Admin).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for n := 0; rows.Next(); n++ {
		var t editTarget
		if err := rows.Scan(&t.id, &t.first, &t.last); err != nil {
			return nil, err
		}
		if n%7 == 0 && len(w.editable) < 2000 {
			w.editable = append(w.editable, t)
		}
	}
	return w, rows.Err()
}

// searchFragment is what someone might type to find a colleague: three to
// six letters from the middle of a first name, a last name, an address or
// its domain.
func (w *benchWorld) searchFragment(rng *rand.Rand) string {
	i := rng.IntN(w.members)
	first, last := models.SeedName(i)
	email := models.SeedEmail(first, last, i)
	local, domain, _ := strings.Cut(email, "@")
	var src string
	switch rng.IntN(5) {
	case 0, 1:
		src = last
	case 2:
		src = first
	case 3:
		src = local
	default:
		src = domain
	}
	r := []rune(strings.ToLower(src))
	n := min(len(r), 3+rng.IntN(4))
	at := rng.IntN(len(r) - n + 1)
	return string(r[at : at+n])
}

// mixed adds a random type, status, sort, direction and page size to q.
func mixed(rng *rand.Rand, q url.Values) {
	set := func(k string, choices []string) {
		if v := choices[rng.IntN(len(choices))]; v != "" {
			q.Set(k, v)
		}
	}
	set("type", benchTypes)
	set("status", benchStatuses)
	set("sort", benchSorts)
	set("dir", benchDirs)
	set("size", benchSizes)
}

func listPath(q url.Values) string {
	if len(q) == 0 {
		return "/users"
	}
	return "/users?" + q.Encode()
}

// pathFor returns the question a scenario's worker asks in its i-th request.
func (w *benchWorld) pathFor(name string, worker, i int) string {
	rng := rand.New(rand.NewPCG(uint64(worker)+1, uint64(i)))
	q := url.Values{}
	switch name {
	case scSearch, scSearchEdited:
		q.Set("q", w.searchFragment(rng))
		if rng.IntN(3) == 0 {
			mixed(rng, q)
		}
	case scCompany:
		q.Set("company", strconv.FormatUint(uint64(w.companies[rng.IntN(len(w.companies))]), 10))
		if rng.IntN(3) == 0 {
			mixed(rng, q)
		}
	case scDeep:
		return w.deep[rng.IntN(len(w.deep))]
	case scMixed:
		mixed(rng, q)
	case scScopedMixed:
		switch rng.IntN(4) {
		case 0:
			q.Set("q", w.searchFragment(rng))
		case 1:
			if ids := w.scopedCompanies[worker%len(w.scoped)]; len(ids) > 0 {
				q.Set("company", strconv.FormatUint(uint64(ids[rng.IntN(len(ids))]), 10))
			}
		}
		mixed(rng, q)
	}
	return listPath(q)
}

var (
	userRow    = []byte(`data-testid="user-row"`)
	emptyState = []byte(`data-testid="empty"`)
	nextLink   = regexp.MustCompile(`<a[^>]*rel="next"[^>]*href="([^"]*)"|<a[^>]*href="([^"]*)"[^>]*rel="next"`)
)

// listOp asks the users list a question per request as the worker's
// session. A page must answer 200 with rows, or with the empty state when
// the question may match no one. With follow, a worker that saw a Next
// link follows it on every fourth request, paging as people do.
func (w *benchWorld) listOp(app *benchClient, name string, sessions []*benchSession, follow bool) benchOp {
	next := make([]string, len(sessions)*64)
	var mu sync.Mutex
	return func(ctx context.Context, worker, i int, buf *bytes.Buffer) error {
		s := sessions[worker%len(sessions)]
		path := w.pathFor(name, worker, i)
		if follow && i%4 == 3 {
			mu.Lock()
			if n := next[worker%len(next)]; n != "" {
				path = n
			}
			mu.Unlock()
		}
		status, _, err := app.do(ctx, s, http.MethodGet, path, nil, buf)
		switch {
		case err != nil:
			return err
		case status != http.StatusOK:
			return fmt.Errorf("%s: status %d", path, status)
		case !bytes.Contains(buf.Bytes(), userRow) && !bytes.Contains(buf.Bytes(), emptyState):
			return fmt.Errorf("%s: %w", path, errNoRows)
		}
		if follow {
			link := ""
			if m := nextLink.FindSubmatch(buf.Bytes()); m != nil {
				link = strings.ReplaceAll(string(m[1])+string(m[2]), "&amp;", "&")
			}
			mu.Lock()
			next[worker%len(next)] = link
			mu.Unlock()
		}
		return nil
	}
}

// edit renames people as the second Admin, perSecond a second, until ctx
// ends: the write load of someone working through the list while others
// read it. It reports how many edits it made and how many failed.
func (w *benchWorld) edit(ctx context.Context, app *benchClient, perSecond int, done *atomic.Int64, failed *atomic.Int64, firstErr *atomic.Value) {
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	var buf bytes.Buffer
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		t := w.editable[i%len(w.editable)]
		last := t.last
		if (i/len(w.editable))%2 == 0 {
			last += " Jr"
		}
		form := url.Values{"_csrf": {w.editor.csrf}, "first_name": {t.first}, "last_name": {last}}
		// An edit once sent is waited for: stopping the scenario must not
		// cut one off half-way (the server would log it as failed).
		status, _, err := app.do(context.WithoutCancel(ctx), w.editor, http.MethodPost, "/users/"+strconv.FormatUint(uint64(t.id), 10), form, &buf)
		if err == nil && status != http.StatusSeeOther {
			err = fmt.Errorf("edit answered %d: %.200s", status, buf.String())
		}
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
			continue
		}
		done.Add(1)
	}
}

var createdPath = regexp.MustCompile(`^/users/[0-9]+/created$`)

// wizardOp creates one person per operation the way a browser finishes the
// wizard: a fresh key from GET /users/new, then the final step's POST. Only
// the POST is timed; the key is fetched first.
func (w *benchWorld) wizardOp(app *benchClient) benchOp {
	types := []models.UserType{models.Reporting, models.Manager, models.Reporting, models.Admin}
	return func(ctx context.Context, worker, i int, buf *bytes.Buffer) error {
		s := w.admin
		status, _, err := app.do(ctx, s, http.MethodGet, "/users/new", nil, buf)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("wizard form: status %d, err %v", status, err)
		}
		key := inputValue(keyInput, buf.Bytes())
		if key == "" {
			return errors.New("wizard form without a key")
		}
		first, last := models.SeedName(worker*7 + i*13)
		typ := types[i%len(types)]
		form := url.Values{"_csrf": {s.csrf}, "key": {key}, "type": {string(typ)}, "first_name": {first}, "last_name": {last},
			"email":   {fmt.Sprintf("%s.%s.w%d.%d@bench.example.com", letters(first), letters(last), worker, i)},
			"message": {"Welcome aboard! You will see the calls of the companies below."}}
		if typ != models.Admin {
			for j := range 3 {
				form.Add("company", strconv.FormatUint(uint64(w.companies[(worker*31+i*3+j*7)%len(w.companies)]), 10))
			}
		}
		timed(ctx)
		status, loc, err := app.do(ctx, s, http.MethodPost, "/users/new/message", form, buf)
		if err == nil && (status != http.StatusSeeOther || !createdPath.MatchString(loc)) {
			return fmt.Errorf("status %d, location %q: %.200s", status, loc, buf.String())
		}
		return err
	}
}

// letters keeps the ASCII letters of a name, lower-cased, for an address.
func letters(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, name)
}

// loginOp logs a new browser in per operation: GET /login for the form,
// then the timed POST, which hashes the password with argon2id.
func loginOp(app *benchClient, emails []string) benchOp {
	return func(ctx context.Context, worker, i int, _ *bytes.Buffer) error {
		// Each worker is another person at another address (a documentation
		// range): from one address, 32 logins at once are what the
		// per-address throttle exists to slow down.
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Transport: app.transport, Jar: jar, Timeout: time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		client := fmt.Sprintf("203.0.113.%d", 1+worker%250)
		status, err := browserLogin(ctx, c, app.base, emails[(worker+i*len(emails)/7)%len(emails)], benchPassword, client)
		if err == nil && status != http.StatusSeeOther {
			err = fmt.Errorf("login answered %d", status)
		}
		return err
	}
}

// staticOp fetches the Admin's first page as fixed bytes from the hello
// server (the StaticPage baseline).
func staticOp(hello *benchClient) benchOp {
	return func(ctx context.Context, _, _ int, buf *bytes.Buffer) error {
		status, _, err := hello.do(ctx, nil, http.MethodGet, "/page", nil, buf)
		if err == nil && (status != http.StatusOK || !bytes.Contains(buf.Bytes(), userRow)) {
			err = fmt.Errorf("status %d", status)
		}
		return err
	}
}

func helloOp(hello *benchClient) benchOp {
	return func(ctx context.Context, _, _ int, buf *bytes.Buffer) error {
		status, _, err := hello.do(ctx, nil, http.MethodGet, "/", nil, buf)
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		return err
	}
}
