package matcher

import (
	"slices"

	"github.com/doorstep-dev/doorstep"
)

// ejectTargets is how many of an ejected request's feasible candidates
// (nearest first) an ejection tries to re-insert it on.
const ejectTargets = 8

// costEps is the least cost decrease the improvement search counts as
// one, so that rounding never makes it cycle.
const costEps = 1e-9

// batchMove is a change of one or two workers' sequences the improvement
// search found, with what it gains: urgent and total requests served more,
// and the change of cost (negative: cheaper).
type batchMove struct {
	gain   batchValue // urgent and served gained; cost: the change
	w1, w2 int        // workers changed (w2 -1: one worker)
	seq1   []int
	opts1  []Option
	cost1  float64
	seq2   []int
	opts2  []Option
	cost2  float64
}

// improves reports whether the move makes the objective strictly better.
func (m *batchMove) improves() bool {
	return m.gain.better(batchValue{cost: -costEps})
}

func (s *batchState) apply(m *batchMove) {
	s.set(m.w1, m.seq1, m.opts1, m.cost1)
	if m.w2 >= 0 {
		s.set(m.w2, m.seq2, m.opts2, m.cost2)
	}
}

// inserted returns seq with item i inserted at position p, in a new slice.
func inserted(seq []int, p, i int) []int {
	out := make([]int, 0, len(seq)+1)
	out = append(out, seq[:p]...)
	out = append(out, i)
	return append(out, seq[p:]...)
}

// without returns seq without item i, in a new slice.
func without(seq []int, i int) []int {
	return slices.DeleteFunc(slices.Clone(seq), func(x int) bool { return x == i })
}

// bestInsert finds the cheapest position to insert item i into base, the
// sequence of worker w: the new sequence, its options and cost. The jobs
// before the position keep their slots, so each prefix is evaluated once
// (not at all when base is the worker's sequence).
func (s *batchState) bestInsert(w int, base []int, i int) (seq []int, opts []Option, cost float64, ok bool) {
	tl := s.orig[w]
	known := slices.Equal(base, s.seq[w])
	var pre []Option
	preCost := 0.0
	for p := 0; p <= len(base); p++ {
		if p > 0 {
			var o Option
			if known {
				o = s.opts[w][p-1]
			} else {
				var reason string
				if o, reason = s.evaluate(base[p-1], w, tl); reason != "" {
					break // no longer prefix is feasible either
				}
			}
			pre = append(pre, o)
			preCost += o.Cost
			tl = tl.Insert(s.stopOf(base[p-1], &o))
		}
		ns := inserted(base, p, i)
		o, c, feasible := s.replayFrom(w, tl, ns[p:], pre, preCost)
		if feasible && (!ok || c < cost) {
			seq, opts, cost, ok = ns, o, c, true
		}
	}
	return seq, opts, cost, ok
}

// improve runs the improvement search (see Assign) on the items marked
// active until no move improves or s.evals reaches limit. A move is tried
// again only when a worker it reads has changed since it last failed, so
// the search ends at a local optimum of its moves, not merely at the
// first pass that found nothing new.
func (s *batchState) improve(active []bool, limit int) {
	var unserved []int // urgent first, then by index
	for i := range s.items {
		if active[i] && len(s.feas[i]) > 0 {
			unserved = append(unserved, i)
		}
	}
	slices.SortStableFunc(unserved, func(a, b int) int {
		return doorstep.CompareUrgency(s.items[a].Request.Urgency, s.items[b].Request.Urgency)
	})
	// by item: the step its last failed insertion, ejection or
	// relocation saw; 0 never
	triedInsert, triedEject, triedMove := make([]int, len(s.items)), make([]int, len(s.items)), make([]int, len(s.items))
	for changed := true; changed && s.evals < limit; {
		changed = false
		// Insertions first (cheap), then ejections, for every unserved
		// request, urgent ones first.
		for _, eject := range []bool{false, true} {
			tried := triedInsert
			if eject {
				tried = triedEject
			}
			for _, u := range unserved {
				if s.where[u] >= 0 || s.evals >= limit || (tried[u] > 0 && !s.changedSince(u, tried[u], eject)) {
					continue
				}
				if m := s.placeOrEject(u, eject, limit); m != nil {
					s.apply(m)
					changed = true
				} else {
					tried[u] = s.step + 1
				}
			}
		}
		for _, w := range slices.Clone(s.touched) {
			if len(s.seq[w]) < 2 {
				continue
			}
			for _, a := range slices.Clone(s.seq[w]) {
				if s.evals >= limit || s.where[a] != w {
					break
				}
				if !active[a] || (triedMove[a] > 0 && !s.changedSince(a, triedMove[a], false)) {
					continue
				}
				if m := s.relocate(a); m != nil {
					s.apply(m)
					changed = true
				} else {
					triedMove[a] = s.step + 1
				}
			}
		}
	}
}

// changedSince reports whether a worker a move of item i reads changed at
// or after step: its feasible candidates, its own worker, and, for an
// ejection (eject), the candidates of the items on its candidates.
func (s *batchState) changedSince(i, step int, eject bool) bool {
	if w := s.where[i]; w >= 0 && s.changed[w] >= step {
		return true
	}
	for _, w := range s.feas[i] {
		if s.changed[w] >= step {
			return true
		}
		if eject {
			for _, a := range s.seq[w] {
				for _, w2 := range s.feas[a] {
					if s.changed[w2] >= step {
						return true
					}
				}
			}
		}
	}
	return false
}

// placeOrEject returns a move that serves unserved item u: without eject,
// its cheapest insertion into a feasible candidate's sequence; with
// eject, the ejection of an assigned item a from such a sequence, a
// re-inserted at its cheapest position on one of its ejectTargets nearest
// feasible candidates (or the same worker), or dropped when u is urgent
// and a is not (or cheaper, both of a class). Nil when none improves.
func (s *batchState) placeOrEject(u int, eject bool, limit int) *batchMove {
	var best *batchMove
	consider := func(m *batchMove) {
		if m.improves() && (best == nil || m.gain.better(best.gain)) {
			best = m
		}
	}
	uval := batchValue{served: 1}
	if s.items[u].Request.Urgency == doorstep.Urgent {
		uval.urgent = 1
	}
	if !eject {
		for _, w := range s.feas[u] {
			if seq, opts, c, ok := s.bestInsert(w, s.seq[w], u); ok {
				consider(&batchMove{gain: batchValue{uval.urgent, 1, c - s.cost[w]}, w1: w, w2: -1, seq1: seq, opts1: opts, cost1: c})
			}
		}
		return best
	}
	for _, w := range s.feas[u] {
		for _, a := range s.seq[w] {
			if s.evals >= limit {
				return best
			}
			seq, opts, c, ok := s.bestInsert(w, without(s.seq[w], a), u)
			if !ok {
				continue
			}
			aval := batchValue{served: 1}
			if s.items[a].Request.Urgency == doorstep.Urgent {
				aval.urgent = 1
			}
			// a dropped
			consider(&batchMove{gain: batchValue{uval.urgent - aval.urgent, 0, c - s.cost[w]},
				w1: w, w2: -1, seq1: seq, opts1: opts, cost1: c})
			// a re-inserted: the first (w, a) that serves one more is
			// taken, at its cheapest re-insertion
			if best != nil && best.gain.served > 0 {
				return best
			}
			for k, w2 := range s.feas[a] {
				if k == ejectTargets {
					break
				}
				if w2 == w {
					if seq2, opts2, c2, ok := s.bestInsert(w, seq, a); ok {
						consider(&batchMove{gain: batchValue{uval.urgent, 1, c2 - s.cost[w]}, w1: w, w2: -1, seq1: seq2, opts1: opts2, cost1: c2})
					}
					continue
				}
				if seq2, opts2, c2, ok := s.bestInsert(w2, s.seq[w2], a); ok {
					consider(&batchMove{gain: batchValue{uval.urgent, 1, c - s.cost[w] + c2 - s.cost[w2]},
						w1: w, w2: w2, seq1: seq, opts1: opts, cost1: c, seq2: seq2, opts2: opts2, cost2: c2})
				}
			}
		}
	}
	return best
}

// relocate returns the cheapest move of assigned item a to another
// position of its worker's sequence or of another feasible candidate's,
// when it lowers the cost; else nil.
func (s *batchState) relocate(a int) *batchMove {
	w := s.where[a]
	rest := without(s.seq[w], a)
	ropts, rc, ok := s.replay(w, rest)
	if !ok {
		return nil // the others need a where it is
	}
	var best *batchMove
	for _, w2 := range s.feas[a] {
		var m *batchMove
		if w2 == w {
			if seq, opts, c, ok := s.bestInsert(w, rest, a); ok {
				m = &batchMove{gain: batchValue{cost: c - s.cost[w]}, w1: w, w2: -1, seq1: seq, opts1: opts, cost1: c}
			}
		} else if seq, opts, c, ok := s.bestInsert(w2, s.seq[w2], a); ok {
			m = &batchMove{gain: batchValue{cost: rc - s.cost[w] + c - s.cost[w2]}, w1: w, w2: w2,
				seq1: rest, opts1: ropts, cost1: rc, seq2: seq, opts2: opts, cost2: c}
		}
		if m != nil && m.improves() && (best == nil || m.gain.better(best.gain)) {
			best = m
		}
	}
	return best
}
