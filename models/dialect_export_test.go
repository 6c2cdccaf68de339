package models

// PrefixRange is prefixRange, for tests outside the package.
var PrefixRange = prefixRange

// PlanLimits are the users list's plan limits, for tests outside the package.
type PlanLimits struct {
	Set, Bound, ReadCost, Search int
	Filter                       int64
	WalkDensity                  float64
}

// SetPlanLimits replaces the users list's plan limits, so that a small
// account takes every plan.
func (s *Store) SetPlanLimits(l PlanLimits) {
	s.plan = planLimits{set: l.Set, filter: l.Filter, bound: l.Bound, readCost: l.ReadCost,
		walkDensity: l.WalkDensity, search: l.Search}
}

// Writing reports whether a transaction is under way.
func (s *Store) Writing() bool { return s.writing.Load() > 0 }

// SessionColumns are the columns the session query reads, by table.
func SessionColumns() map[string][]string {
	out := map[string][]string{}
	for table, fs := range map[string][]field{"logins": loginFields(&Login{}), "memberships": membershipFields(&Membership{}),
		"accounts": accountFields(&Account{})} {
		for _, f := range fs {
			out[table] = append(out[table], f.column)
		}
	}
	return out
}

// DefaultPlanLimits are the users list's plan limits as shipped.
func DefaultPlanLimits() PlanLimits {
	l := defaultPlanLimits
	return PlanLimits{Set: l.set, Filter: l.filter, Bound: l.bound, ReadCost: l.readCost, WalkDensity: l.walkDensity, Search: l.search}
}

// ClaimSQL is claimSQL, for tests outside the package.
func ClaimSQL(dialect string, q Queue, where string) string { return claimSQL(dialect, q, where) }
