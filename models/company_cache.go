package models

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"gorm.io/gorm"
)

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
	db := s.db.WithContext(ctx)
	c := s.companies
	c.mu.Lock()
	hit, ok := c.accounts[accountID]
	c.mu.Unlock()
	if ok && hit.version == version {
		return hit.companies, nil
	}
	var companies []Company
	err := db.Where("account_id = ? AND status = ?", accountID, CompanyActive).Order("name, id").Find(&companies).Error
	if err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	// Read after the version, the list is at least that new; a change in
	// between only means the next request reads it again.
	companies = companies[:len(companies):len(companies)]
	c.mu.Lock()
	if c.accounts == nil || len(c.accounts) >= maxCachedAccounts {
		c.accounts = make(map[uint]cachedCompanies)
	}
	c.accounts[accountID] = cachedCompanies{version: version, companies: companies}
	c.mu.Unlock()
	return companies, nil
}

// addCompanyNames fills in the companies of rows[index[id]] for each id:
// how many of the companies in list each person has and the first few
// names, A → Z. list is what the viewer may see named (companiesInView):
// an assignment to any other company is neither named nor counted. Names
// come from that list, so the database is asked only for the pairs, from
// the assignments primary key.
func (s *Store) addCompanyNames(db *gorm.DB, accountID uint, list []Company, ids []uint, rows []UserRow, index map[uint]int) error {
	rank := s.companyRanks(accountID, list)
	sqlRows, err := db.Raw("SELECT membership_id, company_id FROM assignments WHERE membership_id IN ?", ids).Rows()
	if err != nil {
		return fmt.Errorf("companies of users: %w", err)
	}
	defer sqlRows.Close()
	ranks := make(map[uint][]int, len(ids))
	for sqlRows.Next() {
		var member, company uint
		if err := sqlRows.Scan(&member, &company); err != nil {
			return fmt.Errorf("companies of users: %w", err)
		}
		// Disabled companies, and for a non-Admin viewer the companies
		// not theirs, are absent from the list and not shown.
		if r, ok := rank[company]; ok {
			ranks[member] = append(ranks[member], r)
		}
	}
	if err := sqlRows.Err(); err != nil {
		return fmt.Errorf("companies of users: %w", err)
	}
	for member, rs := range ranks {
		slices.Sort(rs)
		row := &rows[index[member]]
		row.CompanyCount = len(rs)
		for _, r := range rs[:min(len(rs), shownCompanies)] {
			row.Companies = append(row.Companies, list[r].Name)
		}
	}
	return nil
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
