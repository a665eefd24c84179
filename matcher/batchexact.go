package matcher

import (
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// components splits the batch's items into groups linked by a shared
// candidate worker (union-find over the candidate lists), each group's
// items in increasing order, the groups by their first item. No worker is
// a candidate of two groups, so each is solved on its own.
func (s *batchState) components() [][]int {
	parent := make([]int, len(s.items))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[int]int{} // worker -> an item listing it
	for i := range s.items {
		for _, c := range s.items[i].Candidates {
			if j, ok := owner[c]; ok {
				if a, b := find(i), find(j); a != b {
					parent[max(a, b)] = min(a, b)
				}
			} else {
				owner[c] = i
			}
		}
	}
	index := map[int]int{}
	var comps [][]int
	for i := range s.items {
		r := find(i)
		k, ok := index[r]
		if !ok {
			k = len(comps)
			index[r] = k
			comps = append(comps, nil)
		}
		comps[k] = append(comps[k], i)
	}
	return comps
}

// feasibleCounts is how many items of comp, and urgent items, have a
// candidate feasible on the timelines as read (servable, the first job a
// worker takes must be one of them), and how many, and urgent ones, could
// be served in any assignment (bound, bu; see relaxedFeasible).
func (s *batchState) feasibleCounts(comp []int) (servable, bound, bu int) {
	for _, i := range comp {
		if len(s.feas[i]) > 0 {
			servable++
		}
		if len(s.feas[i]) > 0 || s.relaxedFeasible(i) {
			bound++
			if s.items[i].Request.Urgency == doorstep.Urgent {
				bu++
			}
		}
	}
	return servable, bound, bu
}

// noTravel is the travel model of the bound's relaxation: every trip
// takes no time.
type noTravel struct{}

func (noTravel) Travel(_, _ doorstep.Location, _ time.Time) time.Duration { return 0 }
func (noTravel) ReachKm(time.Duration) float64                            { return math.Inf(1) }

// relaxedFeasible reports whether item i has a candidate with a slot on
// its timeline as read when travel takes no time. It is necessary for
// serving i in any assignment: with no travel, the interval a job takes in
// any day that holds it (with other batch jobs or not) is free in the
// day as read, inside a shift, outside the breaks, inside its bounds,
// with no more booked on its day. Travel itself is not so: a batch job
// can bring the worker nearer to another before a break it may not
// travel across, so a request no worker can reach alone may be served
// after another.
func (s *batchState) relaxedFeasible(i int) bool {
	p := schedule.Planner{Travel: noTravel{}}
	req := s.items[i].Request
	for _, c := range s.items[i].Candidates {
		w := s.workers[c].Worker
		if slices.Contains(req.ExcludedWorkers, w.ID) || w.Lacks(req) != "" {
			continue
		}
		if _, err := p.EarliestSlot(w, s.orig[c], s.jobs[i]); err == nil {
			return true
		}
	}
	return false
}

// batchValue is the objective of a set of placed jobs, compared
// lexicographically by better.
type batchValue struct {
	urgent, served int
	cost           float64
}

func (a batchValue) add(b batchValue) batchValue {
	return batchValue{a.urgent + b.urgent, a.served + b.served, a.cost + b.cost}
}

// better reports whether a beats b: more urgent served, then more served,
// then less cost.
func (a batchValue) better(b batchValue) bool {
	if a.urgent != b.urgent {
		return a.urgent > b.urgent
	}
	if a.served != b.served {
		return a.served > b.served
	}
	return a.cost < b.cost
}

// column is a set of a component's items (a bit mask over the component's
// order) one worker can take, with the cheapest insertion order found.
type column struct {
	mask uint32
	seq  []int // items, in insertion order
	opts []Option
	val  batchValue
}

// solveExact assigns component comp optimally (see Assign) and returns
// the urgent and total requests served, or false, leaving the assignment
// as it was, when the enumeration needs more than budget slot
// evaluations.
func (s *batchState) solveExact(comp []int, budget int) (urgent, served int, ok bool) {
	bit := make(map[int]uint32, len(comp))
	for k, i := range comp {
		bit[i] = 1 << k
	}
	var ws []int // the component's workers, in increasing order
	for _, i := range comp {
		ws = append(ws, s.items[i].Candidates...)
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)
	limit := s.evals + budget
	cols := make([][]column, len(ws))
	for k, w := range ws {
		var cands []int // the component's items w may take
		for _, i := range comp {
			if slices.Contains(s.items[i].Candidates, w) {
				cands = append(cands, i)
			}
		}
		if cols[k], ok = s.enumerate(w, cands, bit, limit); !ok {
			return 0, 0, false
		}
	}
	// best[used] is the best value of the workers so far taking the items
	// of used; from[k][used] the column of worker k that reached it (0:
	// none; else its index + 1) and prev[k][used] the state before it.
	n := 1 << len(comp)
	best := make([]batchValue, n)
	reached := make([]bool, n)
	reached[0] = true
	from := make([][]int32, len(ws))
	prev := make([][]uint32, len(ws))
	for k := range ws {
		from[k] = make([]int32, n)
		prev[k] = make([]uint32, n)
		nb, nr := slices.Clone(best), slices.Clone(reached)
		for used := range n {
			if !reached[used] {
				continue
			}
			for c := range cols[k] {
				col := &cols[k][c]
				if col.mask&uint32(used) != 0 {
					continue
				}
				to := uint32(used) | col.mask
				v := best[used].add(col.val)
				if !nr[to] || v.better(nb[to]) {
					nb[to], nr[to] = v, true
					from[k][to], prev[k][to] = int32(c+1), uint32(used)
				}
			}
		}
		best, reached = nb, nr
	}
	end := 0
	for used := 1; used < n; used++ {
		if reached[used] && best[used].better(best[end]) {
			end = used
		}
	}
	for _, w := range ws {
		s.set(w, nil, nil, 0)
	}
	state := uint32(end)
	for k := len(ws) - 1; k >= 0; k-- {
		c := from[k][state]
		if c == 0 {
			continue
		}
		col := &cols[k][c-1]
		s.set(ws[k], col.seq, col.opts, col.val.cost)
		state = prev[k][state]
	}
	return best[end].urgent, best[end].served, true
}

// enumerate lists, for worker w, every set of items of cands it
// can take in some insertion order, each with its cheapest order: a depth
// first search over insertion sequences, a branch ending where a job finds
// no slot (every longer sequence has that prefix). It stops, reporting
// false, when s.evals passes limit.
func (s *batchState) enumerate(w int, cands []int, bit map[int]uint32, limit int) ([]column, bool) {
	var cols []column
	at := map[uint32]int{} // mask -> index in cols
	var seq []int
	var opts []Option
	var dfs func(tl schedule.Timeline, mask uint32, val batchValue) bool
	dfs = func(tl schedule.Timeline, mask uint32, val batchValue) bool {
		for _, i := range cands {
			if mask&bit[i] != 0 {
				continue
			}
			if s.evals >= limit {
				return false
			}
			o, reason := s.evaluate(i, w, tl)
			if reason != "" {
				continue
			}
			m := mask | bit[i]
			v := val.add(batchValue{served: 1, cost: o.Cost})
			if s.items[i].Request.Urgency == doorstep.Urgent {
				v.urgent++
			}
			seq, opts = append(seq, i), append(opts, o)
			if k, ok := at[m]; !ok {
				at[m] = len(cols)
				cols = append(cols, column{mask: m, seq: slices.Clone(seq), opts: slices.Clone(opts), val: v})
			} else if v.cost < cols[k].val.cost {
				cols[k] = column{mask: m, seq: slices.Clone(seq), opts: slices.Clone(opts), val: v}
			}
			if bits.OnesCount32(m) < len(cands) {
				if !dfs(tl.Insert(s.stopOf(i, &o)), m, v) {
					return false
				}
			}
			seq, opts = seq[:len(seq)-1], opts[:len(opts)-1]
		}
		return true
	}
	ok := dfs(s.orig[w], 0, batchValue{})
	return cols, ok
}
