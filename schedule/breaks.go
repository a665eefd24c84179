package schedule

import (
	"time"

	"github.com/doorstep-dev/doorstep"
)

// Flexible breaks.
//
// A flexible break (doorstep.Break that does not fill its range) is no
// event of the day: it is taken in the worker's idle time, the time in
// which the worker neither travels nor serves: from the shift's start (or
// a fixed break's end, or a stop's end) until the departure to the next
// stop, or until the next fixed break, or until the shift's end. The worker
// stays where it is during a break, so no travel crosses one; the waiting a
// worker does before a job (it leaves late enough to arrive as the service
// starts) is idle time too.
//
// A day is feasible when every flexible break fits in some idle span of its
// shift: inside [Earliest, Latest], ending early enough that the trip to
// the next stop, leaving at the break's end, is over by the stop's start
// without crossing a fixed break (trip.go): before a fixed break whose
// far side the trip only reaches in time by being over before it, the
// flexible break must leave the trip its room.
// doorstep.Worker.Validate keeps the ranges of a shift's flexible breaks
// apart, so each break fits or not on its own, and the earliest start in an
// idle span is the only one to try (with a travel model where leaving
// later never arrives earlier; the hourly speeds of geo.Linear may break
// that by seconds at an hour's turn, and then the planner and Verify, which
// use the same rule, both refuse a break that a later start would fit).

// breakSet is a bit per break of a shift (doorstep.MaxBreaks <= 64).
type breakSet uint64

// unplacedBreak returns the index in sh.Breaks of the first flexible break
// (among those ending after from) that the day cannot hold, or -1 when all
// fit. The day is events (shiftEvents of sh) with extra, when not nil,
// inserted before events[at]; the worker starts the shift at start.
func (p *Planner) unplacedBreak(w *doorstep.Worker, sh *doorstep.Shift, start doorstep.Location,
	events []event, at int, extra *Stop, from time.Time) int {
	var todo breakSet
	for j := range sh.Breaks {
		if b := &sh.Breaks[j]; !b.Fixed() && b.Latest.After(from) {
			todo |= 1 << j
		}
	}
	cur, place := sh.Start, start
	n := len(events)
	if extra != nil {
		n++
	}
	for k := 0; k <= n && todo != 0; k++ {
		// The k-th event of the day with extra inserted, in separate
		// variables: in one struct, escape analysis would send extra to
		// the heap along with the times.
		var evStart, evEnd time.Time
		var evStop *Stop
		end := k == n
		switch {
		case end:
		case extra != nil && k == at:
			evStart, evEnd, evStop = extra.Start, extra.End, extra
		case extra != nil && k > at:
			evStart, evEnd, evStop = events[k-1].start, events[k-1].end, events[k-1].stop
		default:
			evStart, evEnd, evStop = events[k].start, events[k].end, events[k].stop
		}
		for j := range sh.Breaks {
			if todo&(1<<j) == 0 {
				continue
			}
			b := &sh.Breaks[j]
			bs := latest(cur, b.Earliest)
			be := bs.Add(b.Duration)
			if be.After(b.Latest) {
				continue
			}
			var fits bool
			switch {
			case end:
				fits = !be.After(sh.End)
			case evStop == nil:
				// Before a fixed break (or a held stop): the worker,
				// leaving at the break's end, must still reach the next
				// stop without crossing this break or the ones after it.
				fits = !be.After(evStart) && p.reaches(place, be, events, at, extra, k)
			default:
				fits = !be.After(evStart) && !be.Add(p.Travel.Travel(place, evStop.Location, be)).After(evStart)
			}
			if fits {
				todo &^= 1 << j
			}
		}
		if end {
			break
		}
		if evStop != nil {
			place = placeAfter(w, evStop)
		}
		if evEnd.After(cur) {
			cur = evEnd
		}
	}
	for j := range sh.Breaks {
		if todo&(1<<j) != 0 {
			return j
		}
	}
	return -1
}

// reaches reports whether a worker leaving place at depart reaches the
// first stop at or after the k-th event of the day (events with extra
// inserted before events[at], as in unplacedBreak; the k-th is a break) in
// time, crossing none of the breaks before it (trip). With no stop left
// in the shift there is no trip.
func (p *Planner) reaches(place doorstep.Location, depart time.Time, events []event, at int, extra *Stop, k int) bool {
	r, limit := k, len(events) // r: the k-th event's index in events
	if extra != nil {
		if k > at {
			r--
		} else {
			limit = at // extra comes after the breaks from r
		}
	}
	j := r
	for j < limit && events[j].stop == nil {
		j++
	}
	var to *Stop
	switch {
	case j < limit:
		to = events[j].stop
	case extra != nil && j == at && k <= at:
		to = extra
	default:
		return true
	}
	_, arrive := p.trip(place, to.Location, depart, events[r:j])
	return !arrive.After(to.Start)
}

// withBreaks takes slot, found by tryGap in gap g (after the events before,
// before events[at]), when the shift's flexible breaks still fit with it;
// else it tries leaving later, after taking a flexible break at the
// worker's place first (at its earliest, in the idle time between g.free
// and the fixed breaks of before): the earliest such departure that lets
// every break fit is the earliest start this gap allows (a later
// departure only shortens the idle time after the job). A slot no
// departure saves is ErrBusy.
func (p *Planner) withBreaks(w *doorstep.Worker, sh *doorstep.Shift, tl Timeline, job Job,
	start doorstep.Location, g gap, before []event, hi time.Time, events []event, at int, slot Slot) (Slot, error) {
	stop := Stop{Arrival: slot.Arrival, Start: slot.Start, End: slot.End, Location: job.Location, Urgent: job.Urgent()}
	if p.unplacedBreak(w, sh, start, events, at, &stop, job.NotBefore) < 0 {
		return slot, nil
	}
	var next *event
	if at < len(events) {
		next = &events[at]
	}
	depart := latest(g.free, job.NotBefore)
	for j := range sh.Breaks {
		b := &sh.Breaks[j]
		if b.Fixed() {
			continue
		}
		bs := latest(g.free, b.Earliest)
		for _, e := range before {
			if e.stop == nil && e.end.After(bs) && e.start.Before(bs.Add(b.Duration)) {
				bs = e.end // not in a fixed break: after it
			}
		}
		be := bs.Add(b.Duration)
		if be.After(b.Latest) || !be.After(depart) {
			continue // the break cannot be taken here, or not before leaving
		}
		if be.After(hi) {
			break // later breaks end later still
		}
		after := g
		after.free = be
		later, err := p.tryGap(w, sh, tl, job, after, before, events[at:], next)
		if err != nil {
			return Slot{}, err
		}
		stop = Stop{Arrival: later.Arrival, Start: later.Start, End: later.End, Location: job.Location, Urgent: job.Urgent()}
		if p.unplacedBreak(w, sh, start, events, at, &stop, job.NotBefore) < 0 {
			return later, nil
		}
	}
	return Slot{}, ErrBusy
}
