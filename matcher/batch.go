package matcher

import (
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher/lsap"
	"github.com/doorstep-dev/doorstep/schedule"
)

// BatchItem is one request of a batch with the candidates it may go to, as
// indices into the batch's worker slice (usually the nearest qualified
// workers found through an Index or the store's cell index).
type BatchItem struct {
	Request    *doorstep.Request
	Candidates []int
	History    History
}

// Assignment is a request placed on a worker by Assign.
type Assignment struct {
	Item   int // index into the batch's items
	Worker int // index into the batch's workers
	Option Option
	Round  int
}

// Unassigned is a request Assign could not place, with the hard rule that
// ruled out most of its candidates (or "no_candidates").
type Unassigned struct {
	Item     int
	Reason   string
	Rejected map[string]int
}

// BatchResult is the answer of Assign.
type BatchResult struct {
	Assignments []Assignment
	Unassigned  []Unassigned
	// Objective is the total soft cost of the assignments.
	Objective float64
	// Rounds is how many assignment rounds ran.
	Rounds int
	// Solve is the time spent in the assignment solver alone.
	Solve time.Duration
}

// ReasonNoCandidates marks a batch request with no candidate worker at all.
const ReasonNoCandidates = "no_candidates"

// DefaultMaxRounds bounds Assign's rounds when BatchOptions.MaxRounds is 0.
const DefaultMaxRounds = 16

// BatchOptions tune Assign.
type BatchOptions struct {
	// MaxRounds bounds the rounds; 0 means DefaultMaxRounds.
	MaxRounds int
}

// Assign places a batch of requests optimally. Each round builds the cost of
// every (request, candidate) pair — the soft cost of the worker's earliest
// feasible slot, or forbidden where a hard rule fails — and solves the
// linear sum assignment exactly (matcher/lsap, sparse form): the largest
// number of requests served, then, among those, urgent requests first, then
// the least total cost. Because the requests a set of workers can serve form
// a matroid, a largest assignment that also serves the most urgent requests
// always exists, so the three goals are met together and in that order.
//
// A worker takes at most one new job a round; the round's jobs are added to
// the workers' timelines (which Assign updates in place) and the requests
// left over are tried again against the updated timelines, until a round
// places nothing. Every placement obeys the same hard rules as a single
// booking.
func (m *Matcher) Assign(items []BatchItem, workers []Candidate, now time.Time, opts BatchOptions) (BatchResult, error) {
	maxRounds := opts.MaxRounds
	if maxRounds == 0 {
		maxRounds = DefaultMaxRounds
	}
	for i, it := range items {
		for _, c := range it.Candidates {
			if c < 0 || c >= len(workers) {
				return BatchResult{}, fmt.Errorf("matcher: item %d: candidate %d out of range", i, c)
			}
		}
	}
	var res BatchResult
	jobs := make([]schedule.Job, len(items))
	for i := range items {
		jobs[i] = schedule.JobFor(items[i].Request, now)
	}
	open := make([]int, len(items)) // items not yet placed
	for i := range open {
		open[i] = i
	}
	lastRejected := make([]map[string]int, len(items))
	var solver lsap.Solver
	var rows [][]lsap.Arc
	var arcs []lsap.Arc // backing store of rows, reused across rounds
	for round := 0; round < maxRounds && len(open) > 0; round++ {
		rows, arcs = rows[:0], arcs[:0]
		feasible := 0
		for _, i := range open {
			it := &items[i]
			from := len(arcs)
			rej := map[string]int{}
			for _, c := range it.Candidates {
				o, reason := m.Evaluate(it.Request, jobs[i], &workers[c], it.History)
				if reason != "" {
					rej[reason]++
					continue
				}
				arcs = append(arcs, lsap.Arc{Col: c, Cost: o.Cost})
			}
			lastRejected[i] = rej
			feasible += len(arcs) - from
			rows = append(rows, arcs[from:len(arcs):len(arcs)])
		}
		if feasible == 0 {
			break
		}
		// Serving a normal request costs a premium larger than any spread of
		// soft costs, so that among the largest assignments the solver
		// prefers those serving more urgent requests.
		premium := urgentPremium(rows)
		for r, i := range open {
			if items[i].Request.Urgency != doorstep.Urgent {
				for k := range rows[r] {
					rows[r][k].Cost += premium
				}
			}
		}
		t0 := time.Now()
		sol, err := solver.SolveSparse(len(workers), rows)
		res.Solve += time.Since(t0)
		if err != nil {
			return BatchResult{}, fmt.Errorf("matcher: round %d: %w", round, err)
		}
		res.Rounds = round + 1
		if sol.Assigned == 0 {
			break
		}
		next := open[:0:0]
		for r, i := range open {
			c := sol.RowToCol[r]
			if c < 0 {
				next = append(next, i)
				continue
			}
			// Evaluating the chosen pair again gives the option the cost
			// came from (the worker's timeline has not changed this round:
			// it takes one job a round) without keeping an option per arc.
			w := &workers[c]
			o, _ := m.Evaluate(items[i].Request, jobs[i], w, items[i].History)
			res.Assignments = append(res.Assignments, Assignment{Item: i, Worker: c, Option: o, Round: round})
			res.Objective += o.Cost
			w.Timeline = w.Timeline.Insert(schedule.Stop{
				BookingID: fmt.Sprintf("batch-%d-%d", round, i), Arrival: o.Slot.Arrival, Start: o.Slot.Start,
				End: o.Slot.End, Location: items[i].Request.Location,
			})
		}
		open = next
	}
	for _, i := range open {
		u := Unassigned{Item: i, Reason: ReasonNoCandidates, Rejected: lastRejected[i]}
		if len(items[i].Candidates) > 0 {
			u.Reason = MainReason(lastRejected[i])
		}
		res.Unassigned = append(res.Unassigned, u)
	}
	return res, nil
}

// urgentPremium exceeds the total spread of the finite costs, so that any
// assignment serving one more urgent request (in place of a normal one) is
// cheaper whatever the other pairs cost.
func urgentPremium(rows [][]lsap.Arc) float64 {
	lo, hi := 0.0, 0.0
	first := true
	for _, arcs := range rows {
		for _, a := range arcs {
			if first {
				lo, hi, first = a.Cost, a.Cost, false
			}
			lo, hi = min(lo, a.Cost), max(hi, a.Cost)
		}
	}
	return (hi-lo)*float64(len(rows)) + 1
}

// BatchItems gives each request of a batch its candidates, as Assign takes
// them: the want workers of ix nearest to it (by the positions ix holds)
// that could serve it (CouldServe) and lie within its class's reach
// (SearchFor with normalReachKm) — or, when none could, the qualified ones
// within reach, so that the request is explained — and hist[i] as its customer's history (hist may be nil:
// no history). Workers are named in ix by their index in the batch's
// worker slice. The server and the simulator both select through it.
func (m *Matcher) BatchItems(reqs []*doorstep.Request, hist []History, workers []Candidate, ix *Index, now time.Time,
	normalReachKm float64, want int) []BatchItem {
	items := make([]BatchItem, len(reqs))
	for i, r := range reqs {
		search := SearchFor(r, now, m.cfg.Travel, normalReachKm)
		keep := func(w int) bool {
			return CouldServe(workers[w].Worker, r, now) && geo.DistanceKm(ix.loc[w], r.Location) <= search.ReachKm
		}
		cands := ix.Nearest(nil, search, r.Location, want, keep)
		if len(cands) == 0 {
			// Nobody could serve: hand Assign the qualified workers within
			// reach, whom it will reject, so that the request is explained
			// by what stopped them (shift, shift_end, ...) as a single
			// booking's 422 is, not as "no_candidates".
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
