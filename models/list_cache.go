package models

import (
	"context"
	"fmt"
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
// (possibly the request's own), the versions are read again.
type viewerSnapshot struct {
	known                         bool
	writes                        uint64 // Store.writes when read
	companyVersion, memberVersion int64
	accounts                      int64 // accounts the login may use
	incoming                      int64 // pending access requests to the account
}

// current reports whether the snapshot still holds.
func (s *Store) current(v *Viewer) bool {
	return v.snapshot.known && v.snapshot.writes == s.writes.Load()
}

// listVersions returns the versions of the viewer's account's companies and
// people: from the snapshot while it holds, else read now. Read before the
// data they guard, they are never newer than it.
func (s *Store) listVersions(ctx context.Context, v *Viewer) (companies, members int64, err error) {
	if s.current(v) {
		return v.snapshot.companyVersion, v.snapshot.memberVersion, nil
	}
	row := s.db.WithContext(ctx).Raw(`SELECT
		(SELECT COALESCE(MAX(version), 0) FROM company_list_versions WHERE account_id = ?),
		(SELECT COALESCE(MAX(version), 0) FROM member_list_versions WHERE account_id = ?)`, v.Account.ID, v.Account.ID).Row()
	if err := row.Scan(&companies, &members); err != nil {
		return 0, 0, fmt.Errorf("list versions: %w", err)
	}
	return companies, members, nil
}

// companyVersion is the version of an account's companies, from the
// snapshot when the viewer's account is asked about and it holds.
func (s *Store) companyVersion(ctx context.Context, v *Viewer, accountID uint) (int64, error) {
	if v != nil && v.Account.ID == accountID && s.current(v) {
		return v.snapshot.companyVersion, nil
	}
	var version int64
	if err := s.db.WithContext(ctx).Raw("SELECT COALESCE(MAX(version), 0) FROM company_list_versions WHERE account_id = ?", accountID).
		Scan(&version).Error; err != nil {
		return 0, fmt.Errorf("companies version: %w", err)
	}
	return version, nil
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
