package schedule

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// Planner finds slots. The zero value is not usable: Travel is required.
type Planner struct {
	Travel geo.TravelModel
}

// event is something that occupies a worker inside a shift: a stop (with a
// place) or a fixed break (no job runs in it and no trip crosses it:
// trip.go). Flexible breaks are not events: they are placed in the idle
// time the events leave (breaks.go).
type event struct {
	start, end time.Time
	stop       *Stop // nil for a break
}

// EarliestSlot returns the earliest-starting feasible slot for job in w's
// timeline tl: inside a shift and outside its fixed breaks, not overlapping
// another stop including the travel from the previous place and to the next
// stop (no trip crossing a fixed break: trip.go), leaving room for every
// flexible break of the shift that is not over yet (breaks.go), within the
// job's bounds and the worker's daily caps.
// When there is none it returns one of ErrShift, ErrCap, ErrBusy,
// ErrShiftEnd or ErrDeadline: the most telling reason met (deadline over
// shift end over busy over cap over shift). A slot refused only because a
// flexible break would no longer fit counts as ErrBusy, as a fixed break in
// the way does.
//
// The worker starts each shift at home, except the shift under way at
// job.NotBefore, which it starts from its last reported position.
func (p *Planner) EarliestSlot(w *doorstep.Worker, tl Timeline, job Job) (Slot, error) {
	reason := ErrShift
	capped := false
	note := func(err error) {
		if rank(err) > rank(reason) {
			reason = err
		}
	}
	var buf [8]event  // most days have fewer events: no allocation
	events := buf[:0] // reused across shifts
	for si := range w.Shifts {
		sh := &w.Shifts[si]
		lo, hi := job.StartsIn(sh)
		if lo.After(hi) {
			if lo.Before(sh.End) && !lo.After(job.LatestStart) {
				// The shift runs at a start the job allows but ends
				// before the job could: that is not "no shift".
				note(ErrShiftEnd)
			}
			continue
		}
		if capFull(w, sh, tl, lo, job.Duration) && capFull(w, sh, tl, hi, job.Duration) {
			// The whole range of starts falls on days whose cap is reached:
			// say so, rather than blaming the bookings that fill the day.
			capped = true
			continue
		}
		// The shift under way starts from the position reported during it
		// or just before it; any other from home (doorstep.Worker.StartPlace,
		// which the candidate search reads too).
		place := w.StartPlace(sh, job.NotBefore)
		startPlace, flex := place, sh.HasFlexibleBreak()
		events = shiftEvents(events[:0], sh, tl)
		// The gap before events[i] opens at avail; the worker is free at
		// place from free (the end of the last stop), and the events from
		// since to i are the breaks in between (trip).
		avail, free, since := sh.Start, sh.Start, 0
		for i := 0; i <= len(events); i++ {
			var next *event
			if i < len(events) {
				next = &events[i]
			}
			g := gap{place: place, free: free, avail: avail}
			slot, err := p.tryGap(w, sh, tl, job, g, events[since:i], events[i:], next)
			if err == nil && flex {
				slot, err = p.withBreaks(w, sh, tl, job, startPlace, g, events[since:i], hi, events, i, slot)
			}
			if err == nil {
				return slot, nil
			}
			note(err)
			if next == nil {
				break
			}
			if next.stop != nil {
				if !next.end.Before(avail) {
					// The worker leaves from the stop that ends last: a
					// stop that overlaps a longer one (a booking kept at
					// risk on the timeline) does not move it.
					place = placeAfter(w, next.stop)
				}
				free, since = latest(free, next.end), i+1
			}
			avail = latest(avail, next.end)
			if avail.After(hi) {
				note(ErrBusy)
				break
			}
		}
	}
	if capped && reason != ErrDeadline {
		return Slot{}, ErrCap
	}
	return Slot{}, reason
}

// capFull reports whether the working day of start (in the shift's time
// zone) has no room left for a job of duration d under the worker's caps.
func capFull(w *doorstep.Worker, sh *doorstep.Shift, tl Timeline, start time.Time, d time.Duration) bool {
	if w.MaxJobsPerDay <= 0 && w.MaxWorkMinutesPerDay <= 0 {
		return false
	}
	s := Slot{Start: start}
	return checkCaps(w, sh, tl, &s, d) != nil
}

// gap is where the worker is when a gap between events opens at avail: at
// place, free from free (at most avail: the fixed breaks between the two
// are the gap's before events, which the trip to a job may not cross). It
// holds no slice of the events: in one struct with the times, escape
// analysis would send the planner's event buffer to the heap.
type gap struct {
	place       doorstep.Location
	free, avail time.Time
}

// tryGap places the job in gap g, after the events before and before next
// (nil: the shift's end); rest is next and the events after it.
func (p *Planner) tryGap(w *doorstep.Worker, sh *doorstep.Shift, tl Timeline, job Job, g gap,
	before, rest []event, next *event) (Slot, error) {
	place, avail := g.place, g.avail
	open := latest(avail, job.NotBefore)
	if open.After(job.LatestStart) || (!job.LatestArrival.IsZero() && open.After(job.LatestArrival)) {
		return Slot{}, ErrBusy // occupied until after the deadline
	}
	if next != nil && !next.start.After(open) {
		return Slot{}, ErrBusy // the gap closes before the job could start
	}
	// The trip may be over before the breaks that open the gap.
	depart, arrival := p.trip(place, job.Location, latest(g.free, job.NotBefore), before)
	t1 := arrival.Sub(depart)
	start := latest(arrival, job.EarliestStart, sh.Start, avail)
	if (!job.LatestArrival.IsZero() && arrival.After(job.LatestArrival)) || start.After(job.LatestStart) {
		return Slot{}, ErrDeadline
	}
	if sh.UrgentOvertimeMinutes > 0 && job.Urgent() && start.After(sh.End) {
		// Overtime is for a job begun in the shift. (Without it, the end
		// check below refuses such a start.)
		return Slot{}, ErrShiftEnd
	}
	end := start.Add(job.Duration)
	if start.After(arrival) {
		// The worker would wait: it leaves later and arrives as the
		// service starts, which is what the customer is told.
		arrival = start
	}
	slot := Slot{Arrival: arrival, Start: start, End: end, Travel: t1,
		ShiftMinutes: int(sh.End.Sub(sh.Start).Minutes())}
	if end.After(sh.End) {
		slot.Overtime = end.Sub(sh.End) // only an urgent job in its overtime gets this far
	}
	slot.AddedTravel = t1

	// The job must be over, and the worker at the next stop, in time.
	if next == nil {
		if end.After(sh.EndFor(job.Urgent())) {
			return Slot{}, ErrShiftEnd
		}
	} else if next.stop != nil {
		t2 := p.Travel.Travel(job.Location, next.stop.Location, end)
		if end.Add(t2).After(next.start) {
			return Slot{}, ErrBusy
		}
		slot.AddedTravel += t2 - p.Travel.Travel(place, next.stop.Location, avail)
	} else {
		// A break: the job ends before it; the trip to the next stop
		// crosses none of the breaks that follow one another (trip).
		if end.After(next.start) {
			return Slot{}, ErrBusy
		}
		for k := 1; k < len(rest); k++ {
			if e := &rest[k]; e.stop != nil {
				leave, reach := p.trip(job.Location, e.stop.Location, end, rest[:k])
				if reach.After(e.start) {
					return Slot{}, ErrBusy
				}
				slot.AddedTravel += reach.Sub(leave) - p.Travel.Travel(place, e.stop.Location, rest[k-1].end)
				break
			}
		}
	}
	if err := checkCaps(w, sh, tl, &slot, job.Duration); err != nil {
		return Slot{}, err
	}
	// Computed last: only the gap that succeeds needs it.
	slot.DistanceKm = geo.DistanceKm(place, job.Location)
	return slot, nil
}

// PositionFreshBeforeShift is how long before a shift starts a reported
// position still tells where the worker starts it (see
// doorstep.Worker.StartPlace).
const PositionFreshBeforeShift = doorstep.PositionFreshBeforeShift

// placeAfter is where the worker is after stop: the stop's place, unless
// the worker has reported a position since the stop ended.
func placeAfter(w *doorstep.Worker, s *Stop) doorstep.Location {
	if w.Location != nil && w.LocatedAt.After(s.End) {
		return *w.Location
	}
	return s.Location
}

// checkCaps fills the day's counts into slot and reports ErrCap when the job
// would exceed the worker's job or minute cap for the working day (the
// calendar day of the start in the shift's time zone).
func checkCaps(w *doorstep.Worker, sh *doorstep.Shift, tl Timeline, slot *Slot, d time.Duration) error {
	loc := sh.Start.Location()
	day := dayOf(slot.Start, loc)
	for i := range tl {
		if dayOf(tl[i].Start, loc) == day {
			slot.DayJobs++
			slot.DayMinutes += int(tl[i].End.Sub(tl[i].Start).Minutes())
		}
	}
	if w.MaxJobsPerDay > 0 && slot.DayJobs >= w.MaxJobsPerDay {
		return ErrCap
	}
	if w.MaxWorkMinutesPerDay > 0 && slot.DayMinutes+int(d.Minutes()) > w.MaxWorkMinutesPerDay {
		return ErrCap
	}
	return nil
}

func dayOf(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return y*10000 + int(m)*100 + d
}

// shiftEvents appends to dst the stops and fixed breaks that overlap the
// shift, ordered by start; an urgent stop that starts as the shift ends,
// in its overtime, is the shift's too.
func shiftEvents(dst []event, sh *doorstep.Shift, tl Timeline) []event {
	bi := 0
	breaks := sh.Breaks
	for i := range tl {
		s := &tl[i]
		if !s.End.After(sh.Start) || s.Start.After(sh.End) ||
			s.Start.Equal(sh.End) && !(s.Urgent && sh.UrgentOvertimeMinutes > 0) {
			continue
		}
		for ; bi < len(breaks) && breaks[bi].Earliest.Before(s.Start); bi++ {
			if breaks[bi].Fixed() {
				dst = append(dst, event{start: breaks[bi].Earliest, end: breaks[bi].Latest})
			}
		}
		if s.Held {
			// A booking kept at risk holds the worker's time but is no
			// place the worker goes: planned around as a break is.
			dst = append(dst, event{start: s.Start, end: s.End})
			continue
		}
		dst = append(dst, event{start: s.Start, end: s.End, stop: s})
	}
	for ; bi < len(breaks); bi++ {
		if breaks[bi].Fixed() {
			dst = append(dst, event{start: breaks[bi].Earliest, end: breaks[bi].Latest})
		}
	}
	return dst
}

func rank(err error) int {
	switch err {
	case ErrDeadline:
		return 5
	case ErrShiftEnd:
		return 4
	case ErrBusy:
		return 3
	case ErrCap:
		return 2
	}
	return 1
}

func latest(t time.Time, ts ...time.Time) time.Time {
	for _, u := range ts {
		if u.After(t) {
			t = u
		}
	}
	return t
}
