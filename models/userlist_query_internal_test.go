package models

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortIDs_SameAsSorting: the bitmap and the sort give the same list,
// for spans narrow and wide, with and without repeats.
func TestSortIDs_SameAsSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ n, span int }{{0, 1}, {5, 10}, {100, 50}, {1000, 1500}, {1000, 1 << 20}, {5000, 5000}} {
		ids := make([]uint, c.n)
		for i := range ids {
			ids[i] = uint(1000 + rng.IntN(c.span))
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		want = slices.Compact(want)
		if got := sortIDs(ids); !slices.Equal(got, want) {
			t.Errorf("n=%d span=%d: %d IDs, want %d", c.n, c.span, len(got), len(want))
		}
	}
}

func TestParseIDList(t *testing.T) {
	got, err := parseIDList("12,5,7,5", true)
	if err != nil || !slices.Equal(got, []uint{5, 7, 12}) {
		t.Errorf("sorted: %v %v", got, err)
	}
	got, err = parseIDList("12,5,7", false)
	if err != nil || !slices.Equal(got, []uint{12, 5, 7}) {
		t.Errorf("in order: %v %v", got, err)
	}
	for _, bad := range []string{"1,,2", "1,x", ",", "12345678901234567890"} {
		if _, err := parseIDList(bad, true); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
