package matcher

import (
	"fmt"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
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
	// Seq is the job's place in the sequence its worker's batch jobs were
	// inserted in (0 first): Option was evaluated with the worker's jobs
	// of lower Seq in its timeline.
	Seq int
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
	// Objective is the total soft cost of the assignments, each job's cost
	// as evaluated at its insertion into its worker's timeline with the
	// batch jobs inserted before it (Assignment.Seq) already in it.
	Objective float64
	// Served and UrgentServed count the requests placed.
	Served, UrgentServed int
	// ServedBound and UrgentBound are upper bounds on Served and
	// UrgentServed over every assignment (see Assign); Gap is their
	// difference from what was served.
	ServedBound, UrgentBound int
	// Optimal reports that the answer is proven optimal for the whole
	// objective (urgent served, served, cost): every component of the
	// batch was solved exactly. Otherwise the served counts may still
	// meet their bounds (Gap is zero) while the cost is only improved,
	// not proven least.
	Optimal bool
	// Components is how many independent parts (requests linked by a
	// shared candidate worker) the batch split into; Exact how many of
	// them were solved exactly.
	Components, Exact int
	// Evaluations is how many slot evaluations (Evaluate calls) the
	// assignment made in all.
	Evaluations int
	// Rounds is how many assignment rounds the construction ran.
	Rounds int
	// Solve is the time spent in the assignment solver alone (the LSAP
	// rounds); Search the time of the exact search and the improvement
	// search after them.
	Solve, Search time.Duration
}

// Gap is how many more requests, and urgent requests, the bounds allow
// than were served: zero for both when the served counts are proven
// optimal.
func (r *BatchResult) Gap() (served, urgent int) {
	return r.ServedBound - r.Served, r.UrgentBound - r.UrgentServed
}

// ReasonNoCandidates marks a batch request with no candidate worker at all.
const ReasonNoCandidates = "no_candidates"

// Defaults of BatchOptions.
const (
	// DefaultMaxRounds bounds the construction's rounds.
	DefaultMaxRounds = 16
	// DefaultExactRequests is the largest component solved exactly.
	DefaultExactRequests = 8
	// DefaultExactBudget bounds the slot evaluations of one component's
	// exact search.
	DefaultExactBudget = 20000
	// DefaultImproveBudget bounds the slot evaluations of the improvement
	// search: 10,000 keeps a 150-request batch over 30 workers to about
	// half a second under the race detector (100,000 took five, against
	// 0.3 s for the rounds alone), so POST /v1/assign answers well within
	// its deadline and a server drains within its grace period.
	DefaultImproveBudget = 10000
	maxExactRequests     = 12
)

// BatchOptions tune Assign. The zero value takes every default.
type BatchOptions struct {
	// MaxRounds bounds the construction's rounds; 0 means
	// DefaultMaxRounds.
	MaxRounds int
	// ExactRequests is the largest component (in requests) solved
	// exactly; 0 means DefaultExactRequests, negative means none; at most
	// 12 (the exact search keeps a state per subset of a component's
	// requests for each of its workers).
	ExactRequests int
	// ExactBudget bounds the slot evaluations of one component's exact
	// search, beyond which the component is improved instead; 0 means
	// DefaultExactBudget.
	ExactBudget int
	// ImproveBudget bounds the slot evaluations of the improvement
	// search; 0 means DefaultImproveBudget, negative means no
	// improvement (with ExactRequests negative: the rounds alone).
	ImproveBudget int
}

func (o *BatchOptions) fill() {
	if o.MaxRounds == 0 {
		o.MaxRounds = DefaultMaxRounds
	}
	if o.ExactRequests == 0 {
		o.ExactRequests = DefaultExactRequests
	}
	o.ExactRequests = min(o.ExactRequests, maxExactRequests)
	if o.ExactBudget == 0 {
		o.ExactBudget = DefaultExactBudget
	}
	if o.ImproveBudget == 0 {
		o.ImproveBudget = DefaultImproveBudget
	}
}

// Assign places a batch of requests, best first by the lexicographic
// objective:
//
//  1. the most urgent requests served,
//  2. then the most requests served,
//  3. then the least total soft cost,
//
// where a worker may take several of the batch's jobs one after the other.
// The jobs a worker takes are inserted into its timeline in a sequence,
// each at its earliest feasible slot (Evaluate) in the timeline holding the
// worker's bookings and the batch jobs inserted before it; its cost is the
// one evaluated at that insertion. An assignment is therefore which worker
// takes which requests and in which order it takes them; every placement
// obeys the same hard rules as a single booking. The order matters: a job
// placed first at its earliest slot may shut a later job out of its window
// where the other order serves both.
//
// Assign works in three steps.
//
// Construction: rounds of linear sum assignment (matcher/lsap, exact,
// sparse): each round costs every (open request, candidate) pair at the
// worker's current timeline and assigns at most one job per worker, the
// largest number served with the most urgent among them (a premium on
// normal requests) at least cost; the round's jobs join the timelines and
// the requests left over are tried again, until a round places nothing or
// MaxRounds. Each round is optimal; a sequence of rounds need not be.
//
// Exact search: the batch splits into components, requests linked by a
// shared candidate worker, which no assignment couples. A component of at
// most ExactRequests requests is solved exactly: for each of its workers a
// depth-first search enumerates every feasible insertion sequence of the
// component's requests it is a candidate for (a sequence is feasible when
// each prefix is, so an infeasible prefix ends the branch) and keeps, for
// each set of requests, the cheapest order; a dynamic programme over the
// workers then picks one set per worker, disjoint, lexicographically best.
// Every insertion order is tried, so no argument about which orders
// suffice is needed. When the enumeration exceeds ExactBudget slot
// evaluations the component is left to the next step.
//
// Improvement search, on the other components: moves that each strictly
// improve the objective, so the answer is never worse than the rounds':
// an unserved request inserted at any position of any candidate feasible
// for it on the timelines as read; an ejection, where it takes the place
// of an assigned request which is re-inserted at its best position on one
// of its 8 nearest feasible candidates (or the same worker), or dropped
// when an urgent request displaces a normal one; and, for the cost, a job
// of a worker holding several batch jobs relocated to any position of any
// of its feasible candidates. Passes repeat
// until none improves or ImproveBudget evaluations are spent.
//
// Bounds: for an exact component, its optimum; for another, the requests
// with a candidate that has a slot on its timeline as read when travel
// takes no time (a relaxation: being feasible alone with travel is not
// necessary, as a batch job may bring a worker nearer to another before a
// break). BatchResult.Optimal says whether the whole objective is proven
// optimal, Gap how far the served counts may be from their bounds; the
// cost of a non-exact component has no bound.
//
// Assign updates the workers' timelines in place with the jobs assigned,
// each stop named by its request's ID ("batch-<item>" without one).
func (m *Matcher) Assign(items []BatchItem, workers []Candidate, now time.Time, opts BatchOptions) (BatchResult, error) {
	opts.fill()
	for i, it := range items {
		for _, c := range it.Candidates {
			if c < 0 || c >= len(workers) {
				return BatchResult{}, fmt.Errorf("matcher: item %d: candidate %d out of range", i, c)
			}
		}
	}
	s := newBatchState(m, items, workers, now)
	var res BatchResult
	if err := s.construct(opts.MaxRounds, &res); err != nil {
		return BatchResult{}, err
	}
	t0 := time.Now()
	comps := s.components()
	res.Components = len(comps)
	active := make([]bool, len(items)) // items left to the improvement search
	for _, comp := range comps {
		servable, bound, urgent := s.feasibleCounts(comp)
		if servable == 0 {
			// No worker can take any of them first: nothing is served.
			res.Exact++
			continue
		}
		if len(comp) <= opts.ExactRequests {
			if u, n, ok := s.solveExact(comp, opts.ExactBudget); ok {
				res.Exact++
				res.UrgentBound += u
				res.ServedBound += n
				continue
			}
		}
		res.ServedBound += bound
		res.UrgentBound += urgent
		for _, i := range comp {
			active[i] = true
		}
	}
	if opts.ImproveBudget > 0 {
		s.improve(active, s.evals+opts.ImproveBudget)
	}
	res.Search = time.Since(t0)
	res.Optimal = res.Exact == res.Components
	s.finish(&res)
	return res, nil
}

// batchState is an assignment under way: for each worker the batch jobs
// it takes, in insertion order, with their options and total cost, and
// the timelines as read to replay them from.
type batchState struct {
	m         *Matcher
	items     []BatchItem
	jobs      []schedule.Job
	workers   []Candidate
	orig      []schedule.Timeline // by worker: the timeline as read
	seq       [][]int             // by worker: its batch items in insertion order
	opts      [][]Option          // by worker: their options, as seq
	cost      []float64           // by worker: the sum of opts' costs
	where     []int               // by item: its worker, or -1
	feas      [][]int             // by item: the candidates feasible on the timelines as read
	touched   []int               // workers that held a batch job at some point
	isTouched []bool              // by worker: in touched
	changed   []int               // by worker: the step of its last change
	step      int                 // counts changes
	evals     int
}

func newBatchState(m *Matcher, items []BatchItem, workers []Candidate, now time.Time) *batchState {
	s := &batchState{
		m: m, items: items, workers: workers,
		jobs:      make([]schedule.Job, len(items)),
		orig:      make([]schedule.Timeline, len(workers)),
		seq:       make([][]int, len(workers)),
		opts:      make([][]Option, len(workers)),
		cost:      make([]float64, len(workers)),
		changed:   make([]int, len(workers)),
		isTouched: make([]bool, len(workers)),
		where:     make([]int, len(items)),
		feas:      make([][]int, len(items)),
	}
	for i := range items {
		s.jobs[i] = schedule.JobFor(items[i].Request, now)
		s.where[i] = -1
	}
	for w := range workers {
		s.orig[w] = workers[w].Timeline
	}
	return s
}

// evaluate is Evaluate of item i on worker w with timeline tl.
func (s *batchState) evaluate(i, w int, tl schedule.Timeline) (Option, string) {
	s.evals++
	c := s.workers[w] // a copy: only its timeline differs
	c.Timeline = tl
	it := &s.items[i]
	return s.m.Evaluate(it.Request, s.jobs[i], &c, it.History)
}

// stopOf is the stop batch item i occupies when placed at o, named by the
// request's ID ("batch-<i>" when it has none), as the caller knows it.
func (s *batchState) stopOf(i int, o *Option) schedule.Stop {
	id := s.items[i].Request.ID
	if id == "" {
		id = fmt.Sprintf("batch-%d", i)
	}
	req := s.items[i].Request
	return schedule.Stop{BookingID: id, Arrival: o.Slot.Arrival, Start: o.Slot.Start, End: o.Slot.End, Location: req.Location,
		Urgent: req.Urgency == doorstep.Urgent}
}

// replay inserts seq into worker w's timeline as read, in order, and
// returns the options and their total cost, or false when a job of seq
// finds no feasible slot.
func (s *batchState) replay(w int, seq []int) ([]Option, float64, bool) {
	return s.replayFrom(w, s.orig[w], seq, nil, 0)
}

// replayFrom is replay from timeline tl, which already holds the jobs of
// options pre (of total cost preCost) inserted before seq.
func (s *batchState) replayFrom(w int, tl schedule.Timeline, seq []int, pre []Option, preCost float64) ([]Option, float64, bool) {
	opts := make([]Option, len(pre), len(pre)+len(seq))
	copy(opts, pre)
	cost := preCost
	for k, i := range seq {
		o, reason := s.evaluate(i, w, tl)
		if reason != "" {
			return nil, 0, false
		}
		opts = append(opts, o)
		cost += o.Cost
		if k < len(seq)-1 {
			tl = tl.Insert(s.stopOf(i, &o))
		}
	}
	return opts, cost, true
}

// set makes seq worker w's batch jobs, with their options and cost.
func (s *batchState) set(w int, seq []int, opts []Option, cost float64) {
	if !s.isTouched[w] && len(seq) > 0 {
		s.isTouched[w] = true
		s.touched = append(s.touched, w)
	}
	for _, i := range s.seq[w] {
		s.where[i] = -1
	}
	for _, i := range seq {
		s.where[i] = w
	}
	s.step++
	s.changed[w] = s.step
	s.seq[w], s.opts[w], s.cost[w] = seq, opts, cost
}

// construct runs the LSAP rounds (see Assign) on the workers' timelines.
func (s *batchState) construct(maxRounds int, res *BatchResult) error {
	open := make([]int, len(s.items)) // items not yet placed
	for i := range open {
		open[i] = i
	}
	tl := slices.Clone(s.orig) // by worker: as the rounds leave it
	var solver lsap.Solver
	var rows [][]lsap.Arc
	var arcs []lsap.Arc // backing store of rows, reused across rounds
	for round := 0; round < maxRounds && len(open) > 0; round++ {
		rows, arcs = rows[:0], arcs[:0]
		feasible := 0
		for _, i := range open {
			from := len(arcs)
			for _, c := range s.items[i].Candidates {
				o, reason := s.evaluate(i, c, tl[c])
				if reason != "" {
					continue
				}
				arcs = append(arcs, lsap.Arc{Col: c, Cost: o.Cost})
				if round == 0 {
					s.feas[i] = append(s.feas[i], c)
				}
			}
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
			if s.items[i].Request.Urgency != doorstep.Urgent {
				for k := range rows[r] {
					rows[r][k].Cost += premium
				}
			}
		}
		t0 := time.Now()
		sol, err := solver.SolveSparse(len(s.workers), rows)
		res.Solve += time.Since(t0)
		if err != nil {
			return fmt.Errorf("matcher: round %d: %w", round, err)
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
			o, _ := s.evaluate(i, c, tl[c])
			s.set(c, append(s.seq[c], i), append(s.opts[c], o), s.cost[c]+o.Cost)
			tl[c] = tl[c].Insert(s.stopOf(i, &o))
		}
		open = next
	}
	return nil
}

// finish writes the assignment into the workers' timelines and res.
func (s *batchState) finish(res *BatchResult) {
	slices.Sort(s.touched)
	for _, w := range s.touched {
		tl := s.orig[w]
		for k, i := range s.seq[w] {
			o := s.opts[w][k]
			tl = tl.Insert(s.stopOf(i, &o))
			res.Assignments = append(res.Assignments, Assignment{Item: i, Worker: w, Option: o, Seq: k})
			res.Objective += o.Cost
			res.Served++
			if s.items[i].Request.Urgency == doorstep.Urgent {
				res.UrgentServed++
			}
		}
		s.workers[w].Timeline = tl
	}
	slices.SortFunc(res.Assignments, func(a, b Assignment) int { return a.Item - b.Item })
	for i := range s.items {
		if s.where[i] >= 0 {
			continue
		}
		// Why, against the timelines the batch leaves.
		rej := map[string]int{}
		for _, c := range s.items[i].Candidates {
			if _, reason := s.evaluate(i, c, s.workers[c].Timeline); reason != "" {
				rej[reason]++
			}
		}
		res.Unassigned = append(res.Unassigned, Unassigned{Item: i, Reason: ReasonOf(rej, len(s.items[i].Candidates)), Rejected: rej})
	}
	res.Evaluations = s.evals
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
