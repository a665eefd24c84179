package matcher

import (
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
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
func (t *Tally) AddKnown(cands []Candidate, known []string) {
	t0 := time.Now()
	t.res.Considered += len(cands)
	evaluate := t.m.Evaluate
	if t.qualified {
		evaluate = t.m.evaluateQualified
	}
	for i := range cands {
		if i < len(known) && known[i] != "" {
			t.res.Rejected[known[i]]++
			continue
		}
		o, reason := evaluate(t.req, t.job, &cands[i], t.hist)
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
