package matcher_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// docCost is the soft cost of worker w serving req in slot, written from
// the documentation of Weights (not from the matcher's code): travel per
// added minute, the urgent wait from the decision (now) to the arrival or the
// normal wait from the earliest allowed start, the rating below 5, the
// share of the shift already booked that day, less the preferred and
// continuity bonuses.
func docCost(wt matcher.Weights, req *doorstep.Request, job schedule.Job, w *doorstep.Worker, s schedule.Slot, hist matcher.History, now time.Time) float64 {
	c := wt.Travel * s.AddedTravel.Minutes()
	if req.Urgency == doorstep.Urgent {
		c += wt.UrgentWait * s.Arrival.Sub(now).Minutes()
	} else {
		c += wt.NormalWait * s.Start.Sub(job.EarliestStart).Minutes()
	}
	c += wt.Rating * (5 - min(max(w.Rating, 0), 5))
	if s.ShiftMinutes > 0 {
		c += wt.Fairness * float64(s.DayMinutes) / float64(s.ShiftMinutes)
	}
	if slices.Contains(req.PreferredWorkers, w.ID) {
		c -= wt.Preferred
	}
	if hist.LastWorker == w.ID {
		c -= wt.Continuity
	}
	return c
}

// bruteCosts returns, for every worker of cands, the documented cost of
// its earliest feasible slot for req, +Inf where a hard rule fails
// (excluded, unqualified, or no slot).
func bruteCosts(wt matcher.Weights, travel geo.TravelModel, req *doorstep.Request, cands []matcher.Candidate, now time.Time, hist matcher.History) []float64 {
	planner := schedule.Planner{Travel: travel}
	job := schedule.JobFor(req, now)
	out := make([]float64, len(cands))
	for i := range cands {
		w := cands[i].Worker
		out[i] = math.Inf(1)
		if slices.Contains(req.ExcludedWorkers, w.ID) || !w.Qualifies(req) {
			continue
		}
		if s, err := planner.EarliestSlot(w, cands[i].Timeline, job); err == nil {
			out[i] = docCost(wt, req, job, w, s, hist, now)
		}
	}
	return out
}

const costEps = 1e-9

// TestDecisionsMinimiseDocumentedCost checks the pure core on random small
// cities (up to 10 workers within 3 km) against brute force over all
// workers: a quote (Match over the whole roster) and a booking (the search
// the server and the simulator make, SearchFor through an Index, then
// Match) pick an option whose documented cost is the least of every
// feasible worker; a batch (BatchItems, then one LSAP round of Assign) serves
// the most urgent requests, then the most requests, at the least total
// documented cost of any assignment of feasible workers.
func TestDecisionsMinimiseDocumentedCost(t *testing.T) {
	n := 600
	if testing.Short() {
		n = 100
	}
	travel := geo.Linear{}
	m := mustMatcher(t, matcher.Config{Travel: travel})
	wt := m.Config().Weights
	picked, batches := 0, 0
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 0xdec1510))
		now := clock(7, 0).Add(time.Duration(r.IntN(11*60)) * time.Minute)
		cands := randomRoster(t, r, travel, now)
		ix := matcher.NewIndex()
		for i := range cands {
			ix.Put(i, cands[i].Worker.Position())
		}
		reqs := make([]*doorstep.Request, 1+r.IntN(3))
		hists := make([]matcher.History, len(reqs))
		for k := range reqs {
			reqs[k] = randomRequest(t, r, now, cands)
			if len(cands) > 0 && r.IntN(3) == 0 {
				hists[k].LastWorker = cands[r.IntN(len(cands))].Worker.ID
			}
		}

		// Quote and booking, for the first request.
		req, hist := reqs[0], hists[0]
		costs := bruteCosts(wt, travel, req, cands, now, hist)
		best := slices.Min(append([]float64{math.Inf(1)}, costs...))
		search := matcher.SearchFor(req, now, travel, 0)
		var found []matcher.Candidate
		for _, i := range ix.Near(nil, search, 24, func(i int) bool { return cands[i].Worker.Qualifies(req) }) {
			found = append(found, cands[i])
		}
		for _, tc := range []struct {
			name  string
			cands []matcher.Candidate
		}{{"quote", cands}, {"booking", found}} {
			res := m.Match(req, tc.cands, now, hist)
			if math.IsInf(best, 1) {
				if len(res.Options) > 0 {
					t.Fatalf("seed %d %s: picked %s, but brute force finds no feasible worker", seed, tc.name, res.Options[0].WorkerID)
				}
				continue
			}
			if len(res.Options) == 0 {
				t.Fatalf("seed %d %s: no option, brute force finds one at cost %.4f", seed, tc.name, best)
			}
			i := slices.IndexFunc(cands, func(c matcher.Candidate) bool { return c.Worker.ID == res.Options[0].WorkerID })
			if got := costs[i]; math.Abs(got-best) > costEps {
				t.Fatalf("seed %d %s: picked %s at documented cost %.6f, brute force best %.6f (costs %v)", seed, tc.name, res.Options[0].WorkerID, got, best, costs)
			}
			picked++
		}

		// Batch: one round of the construction, every worker at most one
		// request (TestAssignOptimalAcrossRounds checks the whole of Assign
		// against brute force over several jobs a worker).
		items := m.BatchItems(reqs, hists, cands, ix, now, 0, 24)
		work := slices.Clone(cands)
		res, err := m.Assign(items, work, now, roundsOnly(1))
		if err != nil {
			t.Fatalf("seed %d: Assign: %v", seed, err)
		}
		cost := make([][]float64, len(reqs))
		for k := range reqs {
			cost[k] = bruteCosts(wt, travel, reqs[k], cands, now, hists[k])
		}
		var got score
		for _, a := range res.Assignments {
			got = got.add(reqs[a.Item], cost[a.Item][a.Worker])
		}
		want := bestAssignment(reqs, cost, 0, make([]bool, len(cands)), score{})
		if got.urgent != want.urgent || got.served != want.served || math.Abs(got.cost-want.cost) > 1e-6 {
			t.Fatalf("seed %d batch: Assign serves %+v, brute force %+v", seed, got, want)
		}
		batches++
	}
	t.Logf("over %d cities: %d quote and booking picks, %d batches checked", n, picked, batches)
}

// score ranks a batch assignment: more urgent requests served, then more
// requests, then less documented cost.
type score struct {
	urgent, served int
	cost           float64
}

func (s score) add(r *doorstep.Request, c float64) score {
	s.served++
	if r.Urgency == doorstep.Urgent {
		s.urgent++
	}
	s.cost += c
	return s
}

func (s score) better(o score) bool {
	if s.urgent != o.urgent {
		return s.urgent > o.urgent
	}
	if s.served != o.served {
		return s.served > o.served
	}
	return s.cost < o.cost-1e-9
}

// bestAssignment enumerates every assignment of requests k.. to distinct
// feasible workers (or none) and returns the best score.
func bestAssignment(reqs []*doorstep.Request, cost [][]float64, k int, used []bool, acc score) score {
	if k == len(reqs) {
		return acc
	}
	best := bestAssignment(reqs, cost, k+1, used, acc)
	for w, c := range cost[k] {
		if used[w] || math.IsInf(c, 1) {
			continue
		}
		used[w] = true
		if s := bestAssignment(reqs, cost, k+1, used, acc.add(reqs[k], c)); s.better(best) {
			best = s
		}
		used[w] = false
	}
	return best
}
