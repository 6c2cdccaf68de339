package models

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"
)

// The users list's page cache. Every question is answered from indexes
// without it (userlist_query.go; BenchmarkFindUsers), so it is not what
// makes the list fast: it spares the server the same work when the same
// question is asked again of an unchanged list, above all the first page
// every Admin and Manager opens. It keeps, per question, the page read
// and its rows as rendered, and gives them back while all of these hold:
//
//   - member_versions.version of the account is the one the page was read
//     at. Triggers raise it, in the transaction of the change, on every
//     change the list shows: a person added, removed, or changed in a
//     column the list reads (name, address, type, status, invitation
//     date or expiry; never last_active_at, so people being active does
//     not empty the cache); their companies (assignments); their
//     invitation links (tokens); and their emails once they keep failing
//     (outbox_messages). The version is read with the session, so the
//     check costs no query, and a change made through any server counts.
//   - company_list_versions.version is unchanged (company names on the
//     rows, and a non-Admin's scope: company_cache.go).
//   - it is the same minute. "Last active" is shown from the page as read,
//     so it is at most a minute old (people are stamped at most once a
//     minute anyway: the page says so), and so are the "Invitation
//     expired" status filter's matches.
//   - no invitation on the page has expired since it was read.
//
// A question is the account, the viewer's scope (everyone for an Admin,
// otherwise their membership), their type (which actions a row offers),
// their time zone (the rows' dates) and the filter with its cursor.

// The table and triggers that keep member_versions.
var (
	// memberListColumns are the memberships columns a change of which
	// changes the list (userListColumns, and invitation_expires_at, which
	// the "Invitation expired" filter reads).
	memberListColumns = "account_id, first_name, last_name, email, sort_name, type, status, invited_at, invitation_expires_at"

	sqliteMemberVersions = slices.Concat([]string{
		`CREATE TABLE IF NOT EXISTS member_versions (account_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)`},
		sqliteVersionTriggers("memberships", memberListColumns, "account_id", sqliteBumpMembers),
		// A membership deleted with its assignments is counted by its own
		// trigger; these then find no membership and insert nothing.
		sqliteVersionTriggers("assignments", "", "membership_id", sqliteBumpMembersOf),
		[]string{
			`CREATE TRIGGER IF NOT EXISTS tokens_version_add AFTER INSERT ON tokens
		WHEN NEW.purpose = 'invitation' AND NEW.account_id IS NOT NULL BEGIN
			` + sqliteBumpMembers("NEW.account_id") + `
		END`,
			`CREATE TRIGGER IF NOT EXISTS tokens_version_change AFTER UPDATE ON tokens
		WHEN NEW.purpose = 'invitation' AND NEW.account_id IS NOT NULL BEGIN
			` + sqliteBumpMembers("NEW.account_id") + `
		END`,
			`CREATE TRIGGER IF NOT EXISTS tokens_version_remove AFTER DELETE ON tokens
		WHEN OLD.purpose = 'invitation' AND OLD.account_id IS NOT NULL BEGIN
			` + sqliteBumpMembers("OLD.account_id") + `
		END`,
			// Only emails that keep failing show on the list; the attempts
			// before that change nothing there.
			`CREATE TRIGGER IF NOT EXISTS outbox_version_add AFTER INSERT ON outbox_messages
		WHEN NEW.account_id IS NOT NULL AND NEW.attempts >= ` + fmt.Sprint(failingAfter) + ` BEGIN
			` + sqliteBumpMembers("NEW.account_id") + `
		END`,
			`CREATE TRIGGER IF NOT EXISTS outbox_version_change AFTER UPDATE ON outbox_messages
		WHEN NEW.account_id IS NOT NULL AND (NEW.attempts >= ` + fmt.Sprint(failingAfter) + ` OR OLD.attempts >= ` + fmt.Sprint(failingAfter) + `) BEGIN
			` + sqliteBumpMembers("NEW.account_id") + `
		END`,
			`CREATE TRIGGER IF NOT EXISTS outbox_version_remove AFTER DELETE ON outbox_messages
		WHEN OLD.account_id IS NOT NULL AND OLD.attempts >= ` + fmt.Sprint(failingAfter) + ` BEGIN
			` + sqliteBumpMembers("OLD.account_id") + `
		END`,
		})

	postgresMemberVersions = []string{
		`CREATE TABLE IF NOT EXISTS member_versions (account_id BIGINT PRIMARY KEY, version BIGINT NOT NULL)`,
		`CREATE OR REPLACE FUNCTION switchboard_bump_members(account BIGINT) RETURNS void LANGUAGE sql AS $$
			INSERT INTO member_versions (account_id, version) SELECT account, 1 WHERE account IS NOT NULL
				ON CONFLICT (account_id) DO UPDATE SET version = member_versions.version + 1
		$$`,
		// One function for the four tables: each names the account its own way.
		`CREATE OR REPLACE FUNCTION switchboard_member_version() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_TABLE_NAME = 'memberships' THEN
				IF TG_OP <> 'INSERT' THEN PERFORM switchboard_bump_members(OLD.account_id); END IF;
				IF TG_OP <> 'DELETE' THEN PERFORM switchboard_bump_members(NEW.account_id); END IF;
			ELSIF TG_TABLE_NAME = 'assignments' THEN
				IF TG_OP <> 'INSERT' THEN
					PERFORM switchboard_bump_members((SELECT account_id FROM memberships WHERE id = OLD.membership_id));
				END IF;
				IF TG_OP <> 'DELETE' THEN
					PERFORM switchboard_bump_members((SELECT account_id FROM memberships WHERE id = NEW.membership_id));
				END IF;
			ELSIF TG_TABLE_NAME = 'tokens' THEN
				IF TG_OP = 'DELETE' THEN
					IF OLD.purpose = 'invitation' THEN PERFORM switchboard_bump_members(OLD.account_id); END IF;
				ELSIF NEW.purpose = 'invitation' THEN
					PERFORM switchboard_bump_members(NEW.account_id);
				END IF;
			ELSIF TG_TABLE_NAME = 'outbox_messages' THEN
				IF TG_OP = 'DELETE' THEN
					IF OLD.attempts >= ` + fmt.Sprint(failingAfter) + ` THEN PERFORM switchboard_bump_members(OLD.account_id); END IF;
				ELSIF NEW.attempts >= ` + fmt.Sprint(failingAfter) + ` OR (TG_OP = 'UPDATE' AND OLD.attempts >= ` + fmt.Sprint(failingAfter) + `) THEN
					PERFORM switchboard_bump_members(NEW.account_id);
				END IF;
			END IF;
			RETURN NULL;
		END $$`,
		// Deferred to commit, like the counts: the version row of an
		// account is shared by everyone changing its people, and is so
		// locked for an instant rather than for a whole transaction.
		// PostgreSQL fires a row's triggers in name order: memberships'
		// is named to come before memberships_counts, so every
		// transaction locks the version row before its count rows and
		// two cannot each hold what the other waits for.
		`DROP TRIGGER IF EXISTS memberships_a_version ON memberships`,
		`CREATE CONSTRAINT TRIGGER memberships_a_version AFTER INSERT OR DELETE OR UPDATE OF ` + memberListColumns + ` ON memberships
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_version()`,
		`DROP TRIGGER IF EXISTS assignments_a_version ON assignments`,
		`CREATE CONSTRAINT TRIGGER assignments_a_version AFTER INSERT OR UPDATE OR DELETE ON assignments
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_version()`,
		`DROP TRIGGER IF EXISTS tokens_a_version ON tokens`,
		`CREATE CONSTRAINT TRIGGER tokens_a_version AFTER INSERT OR UPDATE OR DELETE ON tokens
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_version()`,
		`DROP TRIGGER IF EXISTS outbox_a_version ON outbox_messages`,
		`CREATE CONSTRAINT TRIGGER outbox_a_version AFTER INSERT OR UPDATE OR DELETE ON outbox_messages
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION switchboard_member_version()`,
	}
)

// sqliteVersionTriggers raise a version (bump) after every insert, update
// (of the columns updateOf names, or of any) and delete of table, finding
// the account through the row's column col.
func sqliteVersionTriggers(table, updateOf, col string, bump func(string) string) []string {
	update := "UPDATE"
	if updateOf != "" {
		update += " OF " + updateOf
	}
	return []string{
		`CREATE TRIGGER IF NOT EXISTS ` + table + `_version_add AFTER INSERT ON ` + table + ` BEGIN
			` + bump("NEW."+col) + `
		END`,
		`CREATE TRIGGER IF NOT EXISTS ` + table + `_version_change AFTER ` + update + ` ON ` + table + ` BEGIN
			` + bump("OLD."+col) + `
			` + bump("NEW."+col) + `
		END`,
		`CREATE TRIGGER IF NOT EXISTS ` + table + `_version_remove AFTER DELETE ON ` + table + ` BEGIN
			` + bump("OLD."+col) + `
		END`,
	}
}

// sqliteBumpMembers raises the member version of the account.
func sqliteBumpMembers(account string) string {
	return `INSERT INTO member_versions (account_id, version) SELECT ` + account + `, 1 WHERE ` + account + ` IS NOT NULL
				ON CONFLICT (account_id) DO UPDATE SET version = version + 1;`
}

// sqliteBumpMembersOf raises the member version of a membership's account.
func sqliteBumpMembersOf(membership string) string {
	return `INSERT INTO member_versions (account_id, version) SELECT account_id, 1 FROM memberships WHERE id = ` + membership + ` AND true
				ON CONFLICT (account_id) DO UPDATE SET version = version + 1;`
}

// memberVersionsDDL is the dialect's table and triggers (schemaVersion,
// migrate).
func memberVersionsDDL(dialect string) []string {
	if dialect == "postgres" {
		return postgresMemberVersions
	}
	return sqliteMemberVersions
}

// migrateMemberVersions creates the version table and its triggers,
// inside the migration's transaction (migrate).
func (s *Store) migrateMemberVersions(tx *gorm.DB) error {
	for _, stmt := range memberVersionsDDL(s.Dialect) {
		if err := tx.Exec(stmt).Error; err != nil {
			return fmt.Errorf("migrate member versions: %w", err)
		}
	}
	return nil
}

// WithoutListCache answers every users list question from the database
// (the bench's --no-cache, to measure what the cache spares).
func WithoutListCache() Option { return func(s *Store) { s.lists = nil } }

// listCache holds users list pages by question.
type listCache struct {
	mu      sync.Mutex
	pages   map[listKey]*listEntry
	bytes   int
	flights singleflight.Group
}

type listKey struct {
	account uint
	scope   uint // 0 for those who see every company, else their membership
	typ     UserType
	zone    string
	filter  UserFilter
}

type listEntry struct {
	members, companies int64
	minute             int64 // Unix minutes when read
	// staleAt is when an invitation on the page expires, which changes
	// the page without changing the data (zero: never).
	staleAt time.Time
	page    *UserPage
	rows    string
}

// maxListCacheBytes bounds the cache's memory: about a hundred pages of
// 50 rows. Past it, the cache starts again.
const maxListCacheBytes = 8 << 20

// UserList is FindUsers for the list's page, with its rows as render
// makes them: from the cache while the question's answer is unchanged,
// else read and rendered now and kept. The page and rows returned are
// shared: read them, never change them.
func (s *Store) UserList(ctx context.Context, v *Viewer, f UserFilter, render func(*UserPage) (string, error)) (*UserPage, string, error) {
	f, err := CleanUserFilter(f)
	if err != nil {
		return nil, "", err
	}
	if s.lists == nil {
		return s.readUserList(ctx, v, f, render)
	}
	// Read before the page, so the page is never older than the
	// versions it is kept under.
	sn, err := s.snapshot(ctx, v)
	if err != nil {
		return nil, "", err
	}
	now := s.Now()
	k := listKey{account: v.Account.ID, typ: v.Type(), zone: s.Zone(v).String(), filter: f}
	if !v.Type().SeesAllCompanies() {
		k.scope = v.Membership.ID
	}
	minute := now.Unix() / 60
	if e := s.lists.get(k); e != nil && e.members == sn.memberVersion && e.companies == sn.companyVersion &&
		e.minute == minute && (e.staleAt.IsZero() || now.Before(e.staleAt)) {
		return e.page, e.rows, nil
	}
	// Requests that miss together (after a change, every connection
	// asking the first page at once) read and render the page once.
	flight := fmt.Sprintf("%#v/%d/%d/%d", k, sn.memberVersion, sn.companyVersion, minute) // %#v quotes the strings
	got, err, _ := s.lists.flights.Do(flight, func() (any, error) {
		page, rows, err := s.readUserList(ctx, v, f, render)
		if err != nil {
			return nil, err
		}
		e := &listEntry{members: sn.memberVersion, companies: sn.companyVersion, minute: minute, page: page, rows: rows}
		for _, r := range page.Rows {
			if inv := r.Invitation; inv != nil && !inv.Expired && (e.staleAt.IsZero() || inv.ExpiresAt.Before(e.staleAt)) {
				e.staleAt = inv.ExpiresAt
			}
		}
		s.lists.put(k, e)
		return e, nil
	})
	if err != nil {
		return nil, "", err
	}
	e := got.(*listEntry)
	return e.page, e.rows, nil
}

func (s *Store) readUserList(ctx context.Context, v *Viewer, f UserFilter, render func(*UserPage) (string, error)) (*UserPage, string, error) {
	page, err := s.FindUsers(ctx, v, f)
	if err != nil {
		return nil, "", err
	}
	rows, err := render(page)
	if err != nil {
		return nil, "", fmt.Errorf("render the users list: %w", err)
	}
	return page, rows, nil
}

func (c *listCache) get(k listKey) *listEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pages[k]
}

func (c *listCache) put(k listKey, e *listEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.pages[k]; old != nil {
		c.bytes -= len(old.rows)
	}
	if c.pages == nil || c.bytes+len(e.rows) > maxListCacheBytes {
		c.pages, c.bytes = make(map[listKey]*listEntry), 0
	}
	c.pages[k] = e
	c.bytes += len(e.rows)
}
