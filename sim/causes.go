package sim

import (
	"cmp"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Causes of a miss: what would have served a request that went unserved.
// They are tried in this order, and the first that holds is the cause.
const (
	// CauseStructural: no worker of the roster could serve the request on
	// an empty day: nobody has the skills and certificates, or no
	// qualified worker within reach has a shift at the hours the promise
	// allows. More of the same roster does not help; another group or
	// other shifts do.
	CauseStructural = "structural"
	// CauseOutOfReach: qualified workers exist, but none lives within
	// reach of the request: no one could arrive in time even with an
	// empty day.
	CauseOutOfReach = "out_of_reach"
	// CauseShiftEnd: a qualified worker within reach could have started it
	// on an empty day but not finished before the shift ends (nobody
	// nearby could do it otherwise): later or longer shifts would serve it.
	CauseShiftEnd = "shift_end"
	// CauseBusyNormal: a qualified worker within reach would have served
	// it but for normal bookings that had not started and could have
	// moved: the lever is re-planning or protecting urgent capacity.
	CauseBusyNormal = "busy_normal"
	// CauseBusyUrgent: workers within reach were held by urgent work or by
	// jobs already started: only more workers at that hour would help.
	CauseBusyUrgent = "busy_urgent"
	// CauseOverrunDelay: an urgent request booked in time that its worker
	// reached late because an earlier job ran long (Disruptions): the
	// only way a booked request misses its promise.
	CauseOverrunDelay = "overrun_delay"
)

// maxCauseWorkers bounds the workers missCause evaluates for one request:
// the nearest qualified ones (by home or present place).
const maxCauseWorkers = 64

// missCause classifies request i, which the policy could not serve at now,
// by what would have served it (the Cause constants): it asks the matcher
// again about the qualified workers within the class's reach (by home or
// by where they are), first as if their day were empty, then with only
// their normal bookings that had not started taken out. It is a
// diagnosis, made after the decision: it changes nothing.
func (e *engine) missCause(i int, now time.Time) string {
	req := &e.arr[i].req
	reach := matcher.SearchFor(req, now, e.travel, e.s.Matching.NormalReachKm).ReachKm
	type near struct {
		w  int
		km float64
	}
	var list []near
	qualified := false
	for w, wk := range e.workers {
		if !wk.Qualifies(req) {
			continue
		}
		qualified = true
		km := min(geo.DistanceKm(wk.Home, req.Location), geo.DistanceKm(e.pos[w], req.Location))
		if km <= reach {
			list = append(list, near{w, km})
		}
	}
	switch {
	case !qualified:
		return CauseStructural
	case len(list) == 0:
		return CauseOutOfReach
	}
	slices.SortFunc(list, func(a, b near) int { return cmp.Or(cmp.Compare(a.km, b.km), cmp.Compare(a.w, b.w)) })
	list = list[:min(len(list), maxCauseWorkers)]

	job := schedule.JobFor(req, now)
	empty, shiftEnd, deadline := false, false, false
	for _, n := range list {
		_, reason := e.m.Evaluate(req, job, &matcher.Candidate{Worker: e.workers[n.w]}, matcher.History{})
		if reason == "" {
			empty = true
			break
		}
		shiftEnd = shiftEnd || reason == matcher.ReasonShiftEnd
		deadline = deadline || reason == matcher.ReasonDeadline
	}
	switch {
	case empty:
	case shiftEnd:
		return CauseShiftEnd
	case deadline:
		return CauseOutOfReach
	default:
		return CauseStructural
	}
	for _, n := range list {
		c := e.cands[n.w]
		c.Timeline = slices.DeleteFunc(slices.Clone(c.Timeline), func(st schedule.Stop) bool {
			j, ok := e.byID[st.BookingID]
			return ok && e.arr[j].req.Urgency == doorstep.Normal && st.Arrival.After(now)
		})
		if _, reason := e.m.Evaluate(req, job, &c, matcher.History{}); reason == "" {
			return CauseBusyNormal
		}
	}
	return CauseBusyUrgent
}
