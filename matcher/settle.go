package matcher

import (
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// Settled reports whether a candidate search for req that has read the
// rings of s up to rings, and found among them an option of cost best
// (+Inf when none), can stop widening as far as cost goes: whether no
// worker indexed farther out can have a cheaper option. Callers stop when
// enough candidates could serve (DefaultWant) and the search is settled,
// so that 26 poorly rated workers next door do not hide a better one a few
// kilometres away.
//
// Only urgent requests have such a bound: their wait term grows with the
// trip, at least UrgentWait per minute of the shortest trip from beyond
// the rings read (geo.CoveredFromKm, at the speed geo.TravelModel.ReachKm
// allows), while every other term is non-negative but the preferred and
// continuity bonuses, subtracted when the request could earn them. (It
// takes a worker to start from where it is indexed, as the search does,
// and added travel to be non-negative.) A normal request's cost has no
// such bound; its search stops on the count alone.
//
// Not knowing the customer's history, it allows for a continuity bonus
// whenever the request names a customer (Tally.Settled knows it).
func (m *Matcher) Settled(req *doorstep.Request, s Search, rings int, best float64) bool {
	return m.settled(req, req.CustomerID != "", s, rings, best)
}

// settled is Settled, with the continuity bonus allowed for when
// continuity.
func (m *Matcher) settled(req *doorstep.Request, continuity bool, s Search, rings int, best float64) bool {
	if rings >= s.MaxRings || req.Urgency != doorstep.Urgent {
		return true
	}
	return best <= m.urgentBound(req, continuity, geo.CoveredFromKm(s.Center, req.Location, rings))
}

// SettleRings returns the fewest rings of s a search for req must have
// read for Settled to hold with the best option found costing best: where
// the next widening step may stop instead of doubling, since a step that
// reads up to it settles whatever it finds (a cheaper option only lowers
// best). It is 0 for a normal request (no bound: the count alone stops
// it) and s.MaxRings when no ring within the reach settles (best +Inf).
func (m *Matcher) SettleRings(req *doorstep.Request, s Search, best float64) int {
	return m.settleRings(req, req.CustomerID != "", s, best)
}

// settleRings is SettleRings, with the continuity bonus allowed for when
// continuity.
func (m *Matcher) settleRings(req *doorstep.Request, continuity bool, s Search, best float64) int {
	if req.Urgency != doorstep.Urgent {
		return 0
	}
	if math.IsInf(best, 1) {
		return s.MaxRings // no option yet: no ring settles it
	}
	for k := 0; k < s.MaxRings; k++ {
		if best <= m.urgentBound(req, continuity, geo.CoveredFromKm(s.Center, req.Location, k)) {
			return k
		}
	}
	return s.MaxRings
}

// urgentBound is the least cost an urgent option of req can have from a
// worker who starts more than km away; continuity: when that worker may
// be the customer's last one.
func (m *Matcher) urgentBound(req *doorstep.Request, continuity bool, km float64) float64 {
	w := &m.cfg.Weights
	lb := w.UrgentWait * minTrip(m.cfg.Travel, km).Minutes()
	if len(req.PreferredWorkers) > 0 {
		lb -= w.Preferred
	}
	if continuity {
		lb -= w.Continuity
	}
	return lb
}

// minTrip is a lower bound on the time of a trip longer than km: the
// longest whole number of seconds (up to a day) in which, by
// travel.ReachKm, km cannot be covered.
func minTrip(travel geo.TravelModel, km float64) time.Duration {
	lo, hi := time.Duration(0), 24*time.Hour // ReachKm(lo) < km is the invariant when it holds at 0
	if travel.ReachKm(lo) >= km {
		return 0
	}
	for hi-lo > time.Second {
		mid := (lo + hi) / 2
		if travel.ReachKm(mid) < km {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// BestCost is the cost of the best option of cands for req at now without
// the customer's history, or +Inf when none (or when req is not urgent,
// which Settled does not ask about): what a search passes to Settled. The
// history could only lower the cost, which Settled's bound allows for.
func (m *Matcher) BestCost(req *doorstep.Request, cands []Candidate, now time.Time) float64 {
	if req.Urgency != doorstep.Urgent {
		return math.Inf(1)
	}
	t := m.NewTally(req, now, nil)
	t.Add(cands)
	return t.BestCost()
}
