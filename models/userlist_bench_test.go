package models_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"switchboard/models"
	"switchboard/models/modelstest"
)

// BenchmarkFindUsers times one users-list question, read from the
// database every time (there is no page cache), for each kind of viewer
// and each kind of question, at the scale of `switchboard bench`: 100,000
// people and 1,000 companies (SWITCHBOARD_BENCH_MEMBERS changes the
// people; SWITCHBOARD_BENCH_DIALECT=postgres asks PostgreSQL). Seeding
// takes a minute or two before the first sub-benchmark. Compare runs with
// benchstat; nothing here fails on time.
func BenchmarkFindUsers(b *testing.B) {
	members := benchMembers(b)
	store := modelstest.OpenDialect(b, benchDialect())
	ctx := context.Background()
	seed, err := store.SeedAccount(ctx, models.SeedOptions{Members: members, Companies: 1000, Password: "bench-correct-staple-lamp", Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	viewers, err := benchViewers(ctx, store, seed)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range viewers {
		for _, q := range benchQuestions(ctx, b, store, seed, v) {
			b.Run(v.Name+"/"+q.Name, func(b *testing.B) {
				b.ReportAllocs()
				var total int64
				cpu := processCPU()
				for b.Loop() {
					p, err := store.FindUsers(ctx, v.Viewer, q.Filter)
					if err != nil {
						b.Fatal(err)
					}
					total = p.Total
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(total), "matches")
			})
		}
	}
}

// benchViewer is a kind of viewer of the benchmarks.
type benchViewer struct {
	Name      string
	Viewer    *models.Viewer
	Companies []uint
}

// benchViewers are the seeded Admin, and Managers and Reporting users
// given 1, 5 and 50 companies.
func benchViewers(ctx context.Context, store *models.Store, seed *models.SeedResult) ([]benchViewer, error) {
	out := []benchViewer{{Name: "admin", Viewer: &models.Viewer{Membership: seed.Admin, Account: seed.Account}}}
	var active []uint
	for _, c := range seed.Companies {
		if c.Status == models.CompanyActive {
			active = append(active, c.ID)
		}
	}
	for i, n := range []int{1, 5, 50} {
		for _, who := range []struct {
			name   string
			people []models.Membership
		}{{"manager", seed.Managers}, {"reporting", seed.Reporters}} {
			m := who.people[i]
			companies := make([]uint, n)
			for j := range companies {
				companies[j] = active[(i*97+j*19)%len(active)]
			}
			if err := models.SetCompanies(ctx, store, m.ID, companies); err != nil {
				return nil, err
			}
			out = append(out, benchViewer{Name: fmt.Sprintf("%s-%d", who.name, n), Companies: companies,
				Viewer: &models.Viewer{Membership: m, Account: seed.Account}})
		}
	}
	return out, nil
}

// benchQuestion is one question of the benchmarks.
type benchQuestion struct {
	Name   string
	Filter models.UserFilter
}

// benchQuestions are the questions asked of each viewer: the first page,
// a deep one, one of their companies, searches from narrow to a single
// letter, a type and status, expired invitations, other orders, and the
// largest page.
func benchQuestions(ctx context.Context, b *testing.B, store *models.Store, seed *models.SeedResult, v benchViewer) []benchQuestion {
	members := benchMembers(b)
	deep, err := store.CursorAt(ctx, seed.Account.ID, models.UserFilter{}, members*9/10)
	if err != nil {
		b.Fatal(err)
	}
	company := seed.Companies[len(seed.Companies)/2].ID
	if len(v.Companies) > 0 {
		company = v.Companies[len(v.Companies)/2]
	}
	return []benchQuestion{
		{"first-page", models.UserFilter{}},
		{"deep-page", models.UserFilter{After: deep}},
		{"company", models.UserFilter{CompanyID: company}},
		{"search-name", models.UserFilter{Query: "ander"}},
		{"search-domain", models.UserFilter{Query: "acmeplumbing"}},
		{"search-common", models.UserFilter{Query: "son"}},
		{"search-letter", models.UserFilter{Query: "e"}},
		{"search-type", models.UserFilter{Query: "son", Type: models.Manager}},
		{"type-status", models.UserFilter{Type: models.Reporting, Status: models.ListActive}},
		{"expired", models.UserFilter{Status: models.ListExpired}},
		{"email-desc", models.UserFilter{Sort: models.SortByEmail, Dir: models.Descending}},
		{"by-type", models.UserFilter{Sort: models.SortByType}},
		{"invited-asc", models.UserFilter{Sort: models.SortByInvited, Dir: models.Ascending}},
		{"size-100", models.UserFilter{Sort: models.SortByLastActive, Size: 100}},
	}
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

// benchDialect is the database of the benchmarks: SQLite, or
// SWITCHBOARD_BENCH_DIALECT.
func benchDialect() string {
	if d := os.Getenv("SWITCHBOARD_BENCH_DIALECT"); d != "" {
		return d
	}
	return "sqlite"
}
