package schedule

import (
	"time"

	"github.com/doorstep-dev/doorstep"
)

// Trips and fixed breaks.
//
// No trip crosses a fixed break (or a held stop, which the planner treats
// as one): a trip leaves when the worker is free and arrives before the
// next break starts, or it waits until that break is over. A worker whose
// trip is over before a break waits at the next door through it. The
// planner and Verify use this one rule (trip), so that a day the planner
// books passes Verify, and a day left by a removal (a cancellation, a
// booking moved away) that the worker can still keep passes it too: the
// stop that made the trip short is gone, and the trip from the stop before
// it is made before the break instead of after.

// trip returns when a worker free at from at depart leaves for to and
// arrives there, crossing no break among events (the events without a
// stop, ordered by start; stops among them are skipped).
func (p *Planner) trip(from, to doorstep.Location, depart time.Time, events []event) (leave, arrive time.Time) {
	for i := range events {
		e := &events[i]
		if e.stop != nil || !e.end.After(depart) {
			continue
		}
		if arrive := depart.Add(p.Travel.Travel(from, to, depart)); !arrive.After(e.start) {
			return depart, arrive
		}
		depart = e.end
	}
	return depart, depart.Add(p.Travel.Travel(from, to, depart))
}
