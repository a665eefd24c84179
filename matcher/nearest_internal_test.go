package matcher

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/doorstep-dev/doorstep"
)

// TestNearestFirstIsTheSortedPrefix holds nearestFirst, which keeps the k
// nearest as it goes, to what it replaced: the whole list sorted by
// distance then worker id, cut at k. Distances are drawn from a few values
// so that most comparisons are ties broken by id.
func TestNearestFirstIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := range 500 {
		n := rng.IntN(120)
		p := &planner{cands: make([]Candidate, n)}
		list := make([]near, n)
		for i := range n {
			p.cands[i] = Candidate{Worker: &doorstep.Worker{ID: fmt.Sprintf("w%03d", rng.IntN(1000)*1000+i)}}
			list[i] = near{i, float64(rng.IntN(6)) / 2}
		}
		rng.Shuffle(n, func(a, b int) { list[a], list[b] = list[b], list[a] })
		k := rng.IntN(50)
		sorted := slices.Clone(list)
		slices.SortFunc(sorted, func(a, b near) int {
			if c := cmp.Compare(a.km, b.km); c != 0 {
				return c
			}
			return cmp.Compare(p.cands[a.i].Worker.ID, p.cands[b.i].Worker.ID)
		})
		var want []int
		for _, x := range sorted[:min(n, k)] {
			want = append(want, x.i)
		}
		if got := p.nearestFirst(slices.Clone(list), k); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("trial %d (n %d, k %d): nearestFirst = %v, want %v", trial, n, k, got, want)
		}
	}
}
