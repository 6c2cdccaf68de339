package models

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The users list of a large account is read far more often than its people
// change, so the server keeps the pages it has read in memory and serves
// them again while the account's lists are unchanged. "Unchanged" is
// decided by the database, not by this server: triggers raise
// member_list_versions.version in the transaction of every change the list
// shows (dialect.go), and company_list_versions.version for every change to
// the account's companies, so a page is served from memory only while both
// versions are the ones it was read at, whichever server made the change.

// viewerSnapshot is what LoadViewer reads in the same query as the session:
// the versions of the account's lists and the counts the page header shows.
// It is trusted while this server has finished no write since; after one
// (possibly the request's own), it is read again, in one query.
type viewerSnapshot struct {
	known                         bool   // read by LoadViewer for this request
	writes                        uint64 // Store.writes when read
	companyVersion, memberVersion int64
	accounts                      int64 // accounts the login may use
	incoming                      int64 // pending access requests to the account
}

// snapshotSQL is the snapshot's four columns as subqueries over the SQL
// expressions of an account ID and a login ID; snapshotArgs are its
// parameters and fields its destinations, in order. Inside the third
// subquery, memberships and accounts name that subquery's own rows.
func snapshotSQL(account, login string) string {
	return `(SELECT COALESCE(MAX(version), 0) FROM company_list_versions WHERE account_id = ` + account + `),
		(SELECT COALESCE(MAX(version), 0) FROM member_list_versions WHERE account_id = ` + account + `),
		(SELECT COUNT(*) FROM memberships JOIN accounts ON accounts.id = memberships.account_id
			WHERE memberships.login_id = ` + login + ` AND ` + loginMembershipSQL + `),
		(SELECT COUNT(*) FROM access_requests WHERE access_requests.account_id = ` + account + ` AND access_requests.status = ?)`
}

func snapshotArgs() []any { return slices.Concat(loginMembershipArgs, []any{AccessPending}) }

func (sn *viewerSnapshot) fields() []any {
	return []any{&sn.companyVersion, &sn.memberVersion, &sn.accounts, &sn.incoming}
}

// snapshot returns the viewer's snapshot: LoadViewer's while it holds,
// else read now. Read before the data they guard, its versions are never
// newer than it. Only a viewer LoadViewer made keeps what is read again
// (it lives for one request); one built by hand may be used across
// changes made elsewhere, so it asks every time.
func (s *Store) snapshot(ctx context.Context, v *Viewer) (viewerSnapshot, error) {
	if v.snapshot.known && v.snapshot.writes == s.writes.Load() {
		return v.snapshot, nil
	}
	before := s.writes.Load()
	var sn viewerSnapshot
	err := s.db.WithContext(ctx).Raw(`SELECT `+snapshotSQL("accounts.id", "logins.id")+`
		FROM accounts LEFT JOIN logins ON logins.id = ? WHERE accounts.id = ?`,
		slices.Concat(snapshotArgs(), []any{v.Login.ID, v.Account.ID})...).Row().Scan(sn.fields()...)
	if err != nil {
		return sn, fmt.Errorf("read list versions: %w", err)
	}
	if v.snapshot.known {
		sn.known, sn.writes = true, before
		v.snapshot = sn
	}
	return sn, nil
}

// listCache holds users list pages by who asks and what they ask for.
type listCache struct {
	mu    sync.Mutex
	pages map[listKey]cachedPage
}

// listKey is one question to the list. Admins see the whole account, so
// they share pages; anyone else sees through their own companies.
type listKey struct {
	account uint
	viewer  uint // 0 for those who see every company
	filter  UserFilter
}

type cachedPage struct {
	companyVersion, memberVersion int64
	page                          *UserPage
	// staleAt is when an invitation on the page expires, which changes
	// the page without changing the data (zero: never).
	staleAt time.Time
}

// maxCachedPages bounds the cache's memory (a page of 50 people is about
// 20 KB, so at most ~5 MB); past it, the cache starts again.
const maxCachedPages = 256

func newListKey(v *Viewer, f UserFilter) listKey {
	k := listKey{account: v.Account.ID, filter: f}
	if !v.Type().SeesAllCompanies() {
		k.viewer = v.Membership.ID
	}
	return k
}

// cachedUsers returns the page read for k at these versions, if any. The
// page is shared: read it, never change it.
func (s *Store) cachedUsers(k listKey, companies, members int64) *UserPage {
	c := s.lists
	c.mu.Lock()
	e, ok := c.pages[k]
	c.mu.Unlock()
	if !ok || e.companyVersion != companies || e.memberVersion != members ||
		(!e.staleAt.IsZero() && !s.Now().Before(e.staleAt)) {
		return nil
	}
	return e.page
}

// keepUsers remembers a page read at these versions.
func (s *Store) keepUsers(k listKey, companies, members int64, page *UserPage) {
	e := cachedPage{companyVersion: companies, memberVersion: members, page: page}
	for _, r := range page.Rows {
		if inv := r.Invitation; inv != nil && !inv.Expired && (e.staleAt.IsZero() || inv.ExpiresAt.Before(e.staleAt)) {
			e.staleAt = inv.ExpiresAt
		}
	}
	c := s.lists
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages == nil || len(c.pages) >= maxCachedPages {
		c.pages = make(map[listKey]cachedPage)
	}
	c.pages[k] = e
}
