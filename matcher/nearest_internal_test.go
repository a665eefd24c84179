package matcher

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// TestNearestKIsTheSortedPrefix holds nearestK, which keeps the k
// nearest as it goes, to what it replaced: the whole list sorted by
// distance then worker id, cut at k. Distances are drawn from a few values
// so that most comparisons are ties broken by id.
func TestNearestKIsTheSortedPrefix(t *testing.T) {
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
		best := nearestK{p: p, k: k}
		for _, x := range list {
			best.add(x)
		}
		if got := best.indices(); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("trial %d (n %d, k %d): nearestK = %v, want %v", trial, n, k, got, want)
		}
	}
}

// TestNearestIsTheSortedPrefix holds planner.nearest, which walks the
// qualified candidates outward from the booking's latitude band by band
// and stops at the first band farther than the k-th nearest found, to
// what it replaced: every qualified, not excluded candidate of the
// region, sorted by distance then worker id, cut at k. Places are drawn
// from a small lattice, so that many candidates share a latitude, a
// distance or a place, many bands are empty, and the walk's stop and the
// ties are all exercised.
func TestNearestIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	skills := []string{"cleaning", "plumbing", "electrical"}
	for trial := range 400 {
		n := 1 + rng.IntN(1200)
		p := &planner{cands: make([]Candidate, n), now: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
		spot := func() doorstep.Location {
			return doorstep.Location{Lat: 40.70 + 0.01*float64(rng.IntN(12)), Lng: -74.00 + 0.013*float64(rng.IntN(12))}
		}
		var ids []string
		for i := range n {
			w := &doorstep.Worker{ID: fmt.Sprintf("w%04d", rng.IntN(10000)*1000+i), Home: spot()}
			for _, s := range skills {
				if rng.IntN(2) == 0 {
					w.Skills = append(w.Skills, s)
				}
			}
			if rng.IntN(3) == 0 {
				w.Certificates = []string{"gas"}
			}
			p.cands[i] = Candidate{Worker: w, Region: []string{"north", "south"}[rng.IntN(2)]}
			ids = append(ids, w.ID)
		}
		for range 10 {
			b := &doorstep.Booking{Skills: []string{skills[rng.IntN(len(skills))]}, Location: spot()}
			b.Location.Lat += float64(rng.IntN(3)-1) * 0.005 // now and then off the lattice
			if rng.IntN(3) == 0 {
				b.Certificates = []string{"gas"}
			}
			for range rng.IntN(4) {
				b.ExcludedWorkers = append(b.ExcludedWorkers, ids[rng.IntN(n)])
			}
			from := rng.IntN(n)
			k := rng.IntN(60)
			want := bruteNearest(p, from, b, k)
			if got := p.nearest(from, b, k); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
				t.Fatalf("trial %d (n %d, k %d): nearest = %v, want %v", trial, n, k, got, want)
			}
		}
	}
}

// bruteNearest is planner.nearest as it was: every candidate measured.
func bruteNearest(p *planner, from int, b *doorstep.Booking, k int) []int {
	req := doorstep.Request{Skills: b.Skills, Certificates: b.Certificates}
	var list []near
	for i := range p.cands {
		c := &p.cands[i]
		if c.Region != p.cands[from].Region || !c.Worker.Qualifies(&req) || slices.Contains(b.ExcludedWorkers, c.Worker.ID) {
			continue
		}
		list = append(list, near{i, geo.DistanceKm(c.Worker.PositionAt(p.now), b.Location)})
	}
	slices.SortFunc(list, func(a, c near) int {
		if d := cmp.Compare(a.km, c.km); d != 0 {
			return d
		}
		return cmp.Compare(p.cands[a.i].Worker.ID, p.cands[c.i].Worker.ID)
	})
	var out []int
	for _, x := range list[:min(len(list), k)] {
		out = append(out, x.i)
	}
	return out
}
