package models

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// The triggers that raise company_list_versions.version with every change
// to an account's companies.
var (
	sqliteCompanyVersions = []string{
		`CREATE TABLE IF NOT EXISTS company_list_versions (account_id INTEGER PRIMARY KEY, version INTEGER NOT NULL)`,
		`CREATE TRIGGER IF NOT EXISTS companies_version_insert AFTER INSERT ON companies BEGIN
			` + sqliteBumpCompanies("NEW.account_id") + `
		END`,
		`CREATE TRIGGER IF NOT EXISTS companies_version_update AFTER UPDATE ON companies BEGIN
			` + sqliteBumpCompanies("OLD.account_id") + `
			` + sqliteBumpCompanies("NEW.account_id") + `
		END`,
		`CREATE TRIGGER IF NOT EXISTS companies_version_delete AFTER DELETE ON companies BEGIN
			` + sqliteBumpCompanies("OLD.account_id") + `
		END`,
	}
	postgresCompanyVersions = []string{
		`CREATE TABLE IF NOT EXISTS company_list_versions (account_id BIGINT PRIMARY KEY, version BIGINT NOT NULL)`,
		`CREATE OR REPLACE FUNCTION switchboard_company_version() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF TG_OP <> 'INSERT' THEN
				INSERT INTO company_list_versions (account_id, version) VALUES (OLD.account_id, 1)
					ON CONFLICT (account_id) DO UPDATE SET version = company_list_versions.version + 1;
			END IF;
			IF TG_OP <> 'DELETE' THEN
				INSERT INTO company_list_versions (account_id, version) VALUES (NEW.account_id, 1)
					ON CONFLICT (account_id) DO UPDATE SET version = company_list_versions.version + 1;
			END IF;
			RETURN NULL;
		END $$`,
		`DROP TRIGGER IF EXISTS companies_version ON companies`,
		`CREATE TRIGGER companies_version AFTER INSERT OR UPDATE OR DELETE ON companies
			FOR EACH ROW EXECUTE FUNCTION switchboard_company_version()`,
	}
)

// sqliteBumpCompanies raises the company list version of the account.
func sqliteBumpCompanies(account string) string {
	return `INSERT INTO company_list_versions (account_id, version) VALUES (` + account + `, 1)
				ON CONFLICT (account_id) DO UPDATE SET version = version + 1;`
}

// migrateCompanyVersions creates the version table and its triggers,
// inside the migration's transaction (migrate).
func (s *Store) migrateCompanyVersions(tx *gorm.DB) error {
	ddl := sqliteCompanyVersions
	if s.Dialect == "postgres" {
		ddl = postgresCompanyVersions
	}
	for _, stmt := range ddl {
		if err := tx.Exec(stmt).Error; err != nil {
			return fmt.Errorf("migrate company versions: %w", err)
		}
	}
	return nil
}

// companyCache keeps each account's active companies, A → Z, with the
// version of the account's companies they were read at. Every page an Admin
// opens needs that list (the users list's company filter, the wizard, the
// home page); at a thousand companies reading it costs more than the rest of
// the page. A trigger raises company_list_versions.version on any change to
// an account's companies, in the transaction that makes it, so a cached list
// is used only while that version is unchanged, whichever server made the
// change.
type companyCache struct {
	mu       sync.Mutex
	accounts map[uint]cachedCompanies
}

type cachedCompanies struct {
	version   int64
	companies []Company
	// inactive are the IDs of the account's other companies (disabled),
	// sorted: an Admin's account-wide walks leave them out.
	inactive []uint
	// rank is each company's position in companies, made when first needed.
	rank map[uint]int
}

// maxCachedAccounts bounds the memory the cache can hold; past it, the
// cache starts again (the busiest accounts come straight back).
const maxCachedAccounts = 512

// activeCompanies returns the active companies of the viewer's account,
// A → Z. The slice is shared between requests: read it, never change it.
func (s *Store) activeCompanies(ctx context.Context, v *Viewer) ([]Company, error) {
	sn, err := s.snapshot(ctx, v)
	if err != nil {
		return nil, err
	}
	return s.activeCompaniesAt(ctx, v.Account.ID, sn.companyVersion)
}

// activeCompaniesAt returns the account's active companies as of version,
// read before this call.
func (s *Store) activeCompaniesAt(ctx context.Context, accountID uint, version int64) ([]Company, error) {
	e, err := s.companiesAt(ctx, accountID, version)
	return e.companies, err
}

// companiesAt returns the account's cached companies as of version, read
// before this call; on a miss it reads them.
func (s *Store) companiesAt(ctx context.Context, accountID uint, version int64) (cachedCompanies, error) {
	db := s.db.WithContext(ctx)
	c := s.companies
	c.mu.Lock()
	hit, ok := c.accounts[accountID]
	c.mu.Unlock()
	if ok && hit.version == version {
		return hit, nil
	}
	// One read, so that the two lists agree: an Admin's walk leaves out
	// the inactive ones and names the rest from the active list.
	var all []Company
	err := db.Where("account_id = ?", accountID).Order("name, id").Find(&all).Error
	if err != nil {
		return cachedCompanies{}, fmt.Errorf("list companies: %w", err)
	}
	companies := make([]Company, 0, len(all))
	var inactive []uint
	for _, co := range all {
		if co.Status == CompanyActive {
			companies = append(companies, co)
		} else {
			inactive = append(inactive, co.ID)
		}
	}
	slices.Sort(inactive)
	// Read after the version, the list is at least that new; a change in
	// between only means the next request reads it again.
	e := cachedCompanies{version: version, companies: companies[:len(companies):len(companies)], inactive: inactive[:len(inactive):len(inactive)]}
	c.mu.Lock()
	if c.accounts == nil || len(c.accounts) >= maxCachedAccounts {
		c.accounts = make(map[uint]cachedCompanies)
	}
	c.accounts[accountID] = e
	c.mu.Unlock()
	return e, nil
}

// VisibleCompanies returns the active companies the viewer may see, A → Z,
// without a query while the cache holds: an Admin's are the account's
// (shared between requests: read, never change), anyone else's are those
// of the account's that the snapshot says they are assigned to. The
// snapshot is read with the session on every request (session.go), so a
// person removed from a company, or a company disabled, is out of the
// next request's scope; a write in this request reads it again.
func (s *Store) VisibleCompanies(ctx context.Context, v *Viewer) ([]Company, error) {
	sn, err := s.snapshot(ctx, v)
	if err != nil {
		return nil, err
	}
	list, err := s.activeCompaniesAt(ctx, v.Account.ID, sn.companyVersion)
	if err != nil || v.Type().SeesAllCompanies() {
		return list, err
	}
	rank := s.companyRanks(v.Account.ID, list)
	ranks := make([]int, 0, len(sn.assigned))
	for _, id := range sn.assigned {
		if r, ok := rank[id]; ok {
			ranks = append(ranks, r)
		}
	}
	slices.Sort(ranks)
	out := make([]Company, len(ranks))
	for i, r := range ranks {
		out[i] = list[r]
	}
	return out, nil
}

// inactiveCompanies returns the IDs of the account's companies that are
// not active, sorted (shared: read, never change).
func (s *Store) inactiveCompanies(ctx context.Context, v *Viewer) ([]uint, error) {
	sn, err := s.snapshot(ctx, v)
	if err != nil {
		return nil, err
	}
	e, err := s.companiesAt(ctx, v.Account.ID, sn.companyVersion)
	return e.inactive, err
}

// addCompanyNames fills in the companies of rows[index[id]] for each id:
// how many active companies each person has and the first few names, A → Z.
// With a scope (a non-Admin's active companies, sorted), only those
// companies count: a viewer sees no company but their own. Names come from the
// account's cached active companies (list), so the database is asked only
// for the pairs, from the assignments primary key.
func (s *Store) addCompanyNames(db *gorm.DB, accountID uint, list []Company, scope []uint, ids []uint, rows []UserRow, index map[uint]int) error {
	ranks, err := s.memberCompanyRanks(db, accountID, list, scope, ids)
	if err != nil {
		return err
	}
	for member, rs := range ranks {
		row := &rows[index[member]]
		row.CompanyCount = len(rs)
		for _, r := range rs[:min(len(rs), shownCompanies)] {
			row.Companies = append(row.Companies, list[r].Name)
		}
	}
	return nil
}

// memberCompanyRanks returns each person's active companies as their
// places in list (the account's active companies, A → Z), sorted; with a
// scope (a non-Admin's companies), only those among it.
func (s *Store) memberCompanyRanks(db *gorm.DB, accountID uint, list []Company, scope []uint, ids []uint) (map[uint][]int, error) {
	rank := s.companyRanks(accountID, list)
	// The pairs come as one string, "member:company,…": a row through the
	// SQLite driver costs more than the few bytes of a pair.
	var pairs *string
	err := db.Raw("SELECT "+s.idList("membership_id || ':' || company_id")+" FROM assignments WHERE "+s.inIDs("membership_id"),
		s.idsArg(ids)).Row().Scan(&pairs)
	if err != nil {
		return nil, fmt.Errorf("companies of users: %w", err)
	}
	ranks := make(map[uint][]int, len(ids))
	for rest := derefOr(pairs, ""); rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, ",")
		m, c, ok := strings.Cut(pair, ":")
		member, err1 := strconv.ParseUint(m, 10, 64)
		company, err2 := strconv.ParseUint(c, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("companies of users: unreadable pair %q", pair)
		}
		if scope != nil {
			if _, mine := slices.BinarySearch(scope, uint(company)); !mine {
				continue
			}
		}
		// Disabled companies, absent from the list, are not shown.
		if r, ok := rank[uint(company)]; ok {
			ranks[uint(member)] = append(ranks[uint(member)], r)
		}
	}
	for _, rs := range ranks {
		slices.Sort(rs)
	}
	return ranks, nil
}

// companyRanks maps each company of a cached list to its position in it.
func (s *Store) companyRanks(accountID uint, list []Company) map[uint]int {
	c := s.companies
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.accounts[accountID]; ok && len(e.companies) == len(list) && (len(list) == 0 || &e.companies[0] == &list[0]) {
		if e.rank == nil {
			e.rank = make(map[uint]int, len(list))
			for i, co := range list {
				e.rank[co.ID] = i
			}
			c.accounts[accountID] = e
		}
		return e.rank
	}
	rank := make(map[uint]int, len(list))
	for i, co := range list {
		rank[co.ID] = i
	}
	return rank
}

// activeCompaniesByID returns those of the given companies that are active
// in the viewer's account, A → Z, from the cached list.
func (s *Store) activeCompaniesByID(ctx context.Context, v *Viewer, ids map[uint]bool) ([]Company, error) {
	list, err := s.activeCompanies(ctx, v)
	if err != nil {
		return nil, err
	}
	rank := s.companyRanks(v.Account.ID, list)
	ranks := make([]int, 0, len(ids))
	for id := range ids {
		if r, ok := rank[id]; ok {
			ranks = append(ranks, r)
		}
	}
	slices.Sort(ranks)
	found := make([]Company, len(ranks))
	for i, r := range ranks {
		found[i] = list[r]
	}
	return found, nil
}

func derefOr(p *string, or string) string {
	if p == nil {
		return or
	}
	return *p
}
