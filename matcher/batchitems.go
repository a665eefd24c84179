package matcher

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// batchEvalFactor bounds the slots BatchItems evaluates for one urgent
// request, as a multiple of want.
const batchEvalFactor = 4

// BatchItems gives each request of a batch its candidates, as Assign takes
// them, by the search a single booking makes: the workers ix holds in the
// rings around it that could serve it (CouldServe, within its class's
// reach: SearchFor with normalReachKm), widened step by step until want of
// them are found and, for an urgent request, no worker farther out can
// beat the best option found (Settled). A normal request keeps all of them
// (whole steps of rings, as a booking matches them), nearest first: its
// cost has no bound by distance, and the nearest 24 alone left 25 more
// requests a day unserved on the example city than insertion (the nearest
// workers' days fill with jobs others could take). An urgent request
// keeps the want with the cheapest
// options: its found workers are evaluated nearest first, at most
// 4*want of them, which bounds the work of a large batch; the best of
// those is an upper bound on the best option, so the search settles no
// earlier than it should. In a busy hour the nearest workers are booked
// and the cheapest lies farther out, which the 24 nearest alone would
// miss. When none could serve, the qualified workers within reach are
// kept, so that the request is explained (shift, shift_end, ...) as a
// single booking's 422 is, not as "no_candidates". hist[i] is the
// customer's history of request i (hist may be nil: no history). Workers
// are named in ix by their index in the batch's worker slice. The server
// and the simulator both select through it.
func (m *Matcher) BatchItems(reqs []*doorstep.Request, hist []History, workers []Candidate, ix *Index, now time.Time,
	normalReachKm float64, want int) []BatchItem {
	items := make([]BatchItem, len(reqs))
	for i, r := range reqs {
		search := SearchFor(r, now, m.cfg.Travel, normalReachKm)
		keep := func(w int) bool {
			return CouldServe(workers[w].Worker, r, now) && geo.DistanceKm(ix.loc[w], r.Location) <= search.ReachKm
		}
		var cands []int
		if r.Urgency == doorstep.Urgent {
			cands = m.urgentCandidates(r, workers, ix, search, keep, now, want)
		} else {
			cands = ix.Near(nil, search, want, keep)
			sortNearest(cands, ix, r.Location)
		}
		if len(cands) == 0 {
			cands = ix.Nearest(nil, search, r.Location, want, func(w int) bool {
				return workers[w].Worker.Qualifies(r) && geo.DistanceKm(ix.loc[w], r.Location) <= search.ReachKm
			})
		}
		items[i] = BatchItem{Request: r, Candidates: cands}
		if hist != nil {
			items[i].History = hist[i]
		}
	}
	return items
}

// urgentCandidates is BatchItems' search for urgent request r.
func (m *Matcher) urgentCandidates(r *doorstep.Request, workers []Candidate, ix *Index, search Search,
	keep func(int) bool, now time.Time, want int) []int {
	job := schedule.JobFor(r, now)
	type scored struct {
		w        int
		km, cost float64
		ok       bool
	}
	var evald []scored
	done := map[int]bool{}
	best := math.Inf(1)
	nearest := func(found []int) []scored {
		out := make([]scored, 0, len(found))
		for _, w := range found {
			if !done[w] {
				out = append(out, scored{w: w, km: geo.DistanceKm(ix.loc[w], r.Location)})
			}
		}
		slices.SortFunc(out, func(a, b scored) int {
			if c := cmp.Compare(a.km, b.km); c != 0 {
				return c
			}
			return cmp.Compare(a.w, b.w)
		})
		return out
	}
	enough := func(found []int, rings int) bool {
		if len(found) < want {
			return false
		}
		for _, s := range nearest(found) {
			if len(evald) >= batchEvalFactor*want || m.Settled(r, search, rings, best) {
				break
			}
			if o, reason := m.Evaluate(r, job, &workers[s.w], History{}); reason == "" {
				s.cost, s.ok = o.Cost, true
				best = min(best, o.Cost)
			}
			done[s.w] = true
			evald = append(evald, s)
		}
		return len(evald) >= batchEvalFactor*want || m.Settled(r, search, rings, best)
	}
	found := ix.Widen(nil, search, keep, enough)
	// The cheapest feasible options first, then the workers not evaluated
	// or not feasible, nearest first.
	rest := nearest(found)
	for _, s := range evald {
		if !s.ok {
			rest = append(rest, s)
		}
	}
	feasible := slices.DeleteFunc(evald, func(s scored) bool { return !s.ok })
	slices.SortFunc(feasible, func(a, b scored) int {
		if c := cmp.Compare(a.cost, b.cost); c != 0 {
			return c
		}
		return cmp.Compare(a.km, b.km)
	})
	slices.SortStableFunc(rest, func(a, b scored) int { return cmp.Compare(a.km, b.km) })
	out := make([]int, 0, want)
	for _, s := range append(feasible, rest...) {
		if len(out) == want {
			break
		}
		out = append(out, s.w)
	}
	return out
}

// sortNearest orders workers ws by distance from loc (by the positions ix
// holds), ties by index.
func sortNearest(ws []int, ix *Index, loc doorstep.Location) {
	slices.SortFunc(ws, func(a, b int) int {
		if c := cmp.Compare(geo.DistanceKm(ix.loc[a], loc), geo.DistanceKm(ix.loc[b], loc)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
}
