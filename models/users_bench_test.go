package models_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// BenchmarkFindUsers times one page of the users list, the way the users
// page asks for it, at the scale of `switchboard bench` (100,000 people and
// 1,000 companies; SWITCHBOARD_BENCH_MEMBERS changes the people). Seeding
// takes a few seconds before the first sub-benchmark. Compare runs with
// benchstat; nothing here fails on time.
func BenchmarkFindUsers(b *testing.B) {
	members := benchMembers(b)
	store := modelstest.Open(b)
	ctx := context.Background()
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: members, Companies: 1000, Password: "bench-correct-staple-lamp", Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	admin := &models.Viewer{Membership: seed.Admin, Account: seed.Account}
	deep, err := store.CursorAt(ctx, seed.Account.ID, models.SortByName, members*9/10)
	if err != nil {
		b.Fatal(err)
	}
	first, last := models.SeedName(0)
	cases := []struct {
		name   string
		filter models.UserFilter
	}{
		{"first-page", models.UserFilter{}},
		{"deep-page", models.UserFilter{After: deep}},
		{"last-active", models.UserFilter{Sort: models.SortByLastActive}},
		{"name-search", models.UserFilter{Query: "ander"}},
		{"email-prefix", models.UserFilter{Query: first + "." + last[:3]}},
		{"company", models.UserFilter{CompanyID: seed.Companies[len(seed.Companies)/2].ID}},
		{"type-status", models.UserFilter{Type: models.Reporting, Status: models.MemberActive}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := store.FindUsers(ctx, admin, c.filter)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Rows) == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
	b.Run("visible-companies", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := store.VisibleCompanies(ctx, admin); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchMembers is the size of the benchmarks' account: 100,000 people, or
// SWITCHBOARD_BENCH_MEMBERS.
func benchMembers(b *testing.B) int {
	b.Helper()
	s := os.Getenv("SWITCHBOARD_BENCH_MEMBERS")
	if s == "" {
		return 100000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 {
		b.Fatalf("SWITCHBOARD_BENCH_MEMBERS=%q: want a number ≥ 100", s)
	}
	return n
}
