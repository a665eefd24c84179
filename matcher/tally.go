package matcher

import (
	"math"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Tally is Match made in parts, as a search reads its candidates: each
// candidate added is evaluated once, both for the answer (Result) and for
// the search's stopping rule (BestCost). A search that settles an urgent
// request step by step otherwise evaluates every candidate twice, once
// for BestCost and once for the Match that follows.
//
// Adding candidates in parts gives what Match gives on all of them at
// once: the counts add up, and the options are kept by less, a total
// order.
type Tally struct {
	m    *Matcher
	req  *doorstep.Request
	job  schedule.Job
	hist History
	// known: the customer's history is hist (else it is not known, and
	// the options are priced without it).
	known bool
	// qualified: the candidates added are known to be qualified and not
	// excluded (Qualified).
	qualified bool
	res       Result
	// best is the cost of the cheapest option added without the
	// customer's history (Continuity left out), as BestCost prices it.
	best float64
	took time.Duration
	// exhaustive evaluates every candidate added (no outranked): the
	// answer the pruning is tested against.
	exhaustive bool
}

// NewTally starts a Match of req at clock reading now for a customer with
// history *hist; nil when the history is not known (yet): the options are
// then priced without it, as BestCost prices them, and Settled allows for
// any.
func (m *Matcher) NewTally(req *doorstep.Request, now time.Time, hist *History) *Tally {
	t := &Tally{
		m: m, req: req, job: schedule.JobFor(req, now),
		res:  Result{Deadline: req.Deadline(), Rejected: map[string]int{}, Options: make([]Option, 0, m.cfg.MaxOptions+1)},
		best: math.Inf(1),
	}
	if hist != nil {
		t.hist, t.known = *hist, true
	}
	return t
}

// Qualified says that every candidate added will be qualified for the
// request and not excluded by it (a narrow search's): Add need not check.
func (t *Tally) Qualified() { t.qualified = true }

// Add evaluates cands and counts them in.
func (t *Tally) Add(cands []Candidate) { t.AddKnown(cands, nil) }

// AddKnown is Add for candidates some of whose rejections are known:
// cands[i] is counted rejected for known[i] without being evaluated when
// that is not "" (a search that found no shift of the worker can hold the
// job: ShiftVerdict). known may be shorter than cands.
//
// A qualified candidate who cannot make the options kept is counted
// Outranked without being evaluated (outranked): an urgent search reads
// thousands of workers in a dense city, most of them too far off to matter.
func (t *Tally) AddKnown(cands []Candidate, known []string) {
	t0 := time.Now()
	t.res.Considered += len(cands)
	for i := range cands {
		if i < len(known) && known[i] != "" {
			t.res.Rejected[known[i]]++
			continue
		}
		c := &cands[i]
		if !t.qualified {
			if reason := disqualified(t.req, c.Worker); reason != "" {
				t.res.Rejected[reason]++
				continue
			}
		}
		if t.outranked(c) {
			// Counted as evaluating it would, when its shifts alone
			// reject it (so that every search counts a worker alike,
			// whether it learnt the verdict or not).
			if reason := ShiftVerdict(c.Worker, t.job); reason != "" {
				t.res.Rejected[reason]++
			} else {
				t.res.Outranked++
			}
			continue
		}
		o, reason := t.m.evaluateQualified(t.req, t.job, c, t.hist)
		if reason != "" {
			t.res.Rejected[reason]++
			continue
		}
		t.res.Feasible++
		t.res.Options = insertBest(t.res.Options, o, t.m.cfg.MaxOptions)
		b := o.Breakdown
		b.Continuity = 0 // as History{} prices it: the term is never set
		t.best = min(t.best, b.Total())
	}
	t.took += time.Since(t0)
}

// outranked reports whether qualified candidate c cannot make the options
// of an urgent request: whether, with MaxOptions options kept, its option
// would cost more than the last of them and no less than the best without
// the customer's history (BestCost, which the search's stopping rule
// reads), whatever its slot. A worker with no stop after the job's
// earliest start adds exactly its trip to its day, so its option costs at
// least
//
//	(UrgentWait + Travel)·trip + Rating·(5 − rating) − the bonuses it may earn
//
// (the fairness term is never negative), where trip is its shortest
// possible trip: the job lies farther than the travel model's ReachKm(d)
// from every place it may leave from (home, a reported position, its
// stops), so the trip takes longer than d. A worker with a stop after the
// job is always evaluated: its added travel is a detour, which a travel
// table that breaks the triangle inequality may make negative. Only
// EarliestSlot's verdict is lost: an outranked worker may have been busy.
func (t *Tally) outranked(c *Candidate) bool {
	if !t.outranking() || stopAfter(c.Timeline, t.job.NotBefore) {
		return false
	}
	wt, w := &t.m.cfg.Weights, c.Worker
	fixed := wt.Rating * (5 - min(max(w.Rating, 0), 5))
	if slices.Contains(t.req.PreferredWorkers, w.ID) {
		fixed -= wt.Preferred
	}
	withHistory := fixed
	if t.hist.LastWorker != "" && t.hist.LastWorker == w.ID {
		withHistory -= wt.Continuity
	}
	reach, ok := t.outrankKm(fixed, withHistory)
	return ok && nearestPlaceKm(w, c.Timeline, t.job.Location) > reach
}

// outranking reports whether outranked may outrank a candidate now: an
// urgent request with MaxOptions options kept, by a tally that prunes.
func (t *Tally) outranking() bool {
	return !t.exhaustive && t.req.Urgency == doorstep.Urgent && len(t.res.Options) >= t.m.cfg.MaxOptions
}

// outrankKm is the distance beyond which a worker whose fixed terms
// (rating, bonuses) total fixed, and withHistory with the customer's
// history, is outranked when it has no stop after the job: negative when
// every such worker is, wherever it is; false when none is (a travel
// weight of zero prices no trip). Only when outranking.
func (t *Tally) outrankKm(fixed, withHistory float64) (float64, bool) {
	wt := &t.m.cfg.Weights
	// The trip's share of the cost must exceed need (with a margin over
	// the float sums of the costs it is compared with).
	const margin = 1e-6
	need := max(t.res.Options[t.m.cfg.MaxOptions-1].Cost-withHistory, t.best-fixed) + margin
	if need < 0 {
		return -1, true
	}
	per := wt.UrgentWait + wt.Travel
	if per <= 0 {
		return 0, false
	}
	return t.m.reachWithin(time.Duration(math.Ceil(need / per * float64(time.Minute)))), true
}

// Outranks is outranked as a distance, for a search that can tell, before
// it reads a worker, that the worker has no stop in the range it reads:
// such a worker whose home and reported position both lie farther than
// km from the request is outranked, whatever its rating and whatever
// bonus it may earn (the lowest fixed terms any worker can have). False
// while outranked outranks nobody (not an urgent request, fewer than
// MaxOptions options, an exhaustive tally).
//
// The options and BestCost only get cheaper as candidates are added, so
// km only shrinks: a worker beyond it now is outranked when the tally
// meets it, however many are added before. A search may leave such a
// worker out and count it as AddKnown would: Outranked when its shifts
// can hold the job (ShiftVerdict), else rejected by their verdict (the
// narrow pool's store.Narrow.Outrank).
func (t *Tally) Outranks() (km float64, ok bool) {
	if !t.outranking() {
		return 0, false
	}
	// The weights are not negative (Config.validate): the rating term
	// is at least 0, and a bonus at most its weight.
	wt := &t.m.cfg.Weights
	fixed := 0.0
	if len(t.req.PreferredWorkers) > 0 {
		fixed -= wt.Preferred
	}
	withHistory := fixed
	if t.hist.LastWorker != "" {
		withHistory -= wt.Continuity
	}
	return t.outrankKm(fixed, withHistory)
}

// stopAfter reports whether tl holds a stop starting after t: one a job
// placed at t may come before, which its added travel is measured against.
func stopAfter(tl schedule.Timeline, t time.Time) bool {
	for i := range tl {
		if tl[i].Start.After(t) {
			return true
		}
	}
	return false
}

// nearestPlaceKm is the distance to loc from the nearest place a worker
// may leave from for a job (schedule.Planner.EarliestSlot): its home, its
// reported position, or a stop of its timeline.
func nearestPlaceKm(w *doorstep.Worker, tl schedule.Timeline, loc doorstep.Location) float64 {
	d := geo.DistanceKm(w.Home, loc)
	if w.Location != nil {
		d = min(d, geo.DistanceKm(*w.Location, loc))
	}
	for i := range tl {
		d = min(d, geo.DistanceKm(tl[i].Location, loc))
	}
	return d
}

// Considered is how many candidates were added: a search adds the ones
// after them.
func (t *Tally) Considered() int { return t.res.Considered }

// BestCost is BestCost of every candidate added: +Inf for a request that
// is not urgent, or when none of them can serve it.
func (t *Tally) BestCost() float64 {
	if t.req.Urgency != doorstep.Urgent {
		return math.Inf(1)
	}
	return t.best
}

// Settled is Matcher.Settled for the options added, knowing the history:
// the continuity bonus is allowed for only when the customer has a last
// worker. (A search for a customer without one need not read farther to
// find a worker whom a bonus nobody can earn would make cheaper.)
func (t *Tally) Settled(s Search, rings int) bool {
	return t.m.settled(t.req, t.continuity(), s, rings, t.BestCost())
}

// SettleRings is Matcher.SettleRings for the options added, knowing the
// history as Settled does.
func (t *Tally) SettleRings(s Search) int {
	return t.m.settleRings(t.req, t.continuity(), s, t.BestCost())
}

// continuity reports whether a worker not yet read may earn the
// continuity bonus.
func (t *Tally) continuity() bool {
	return t.req.CustomerID != "" && (!t.known || t.hist.LastWorker != "")
}

// Result is the answer so far: Match's on every candidate added.
func (t *Tally) Result() Result { return t.res }

// Took is the time spent evaluating candidates.
func (t *Tally) Took() time.Duration { return t.took }
