package schedule

import (
	"fmt"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// Verify checks a worker's timeline against every hard rule of a day: each
// stop lies inside one shift and outside its fixed breaks; consecutive stops
// leave room for the travel between them, which crosses no fixed break
// (it is over before one or leaves after it, see trip.go); every
// flexible break of a shift fits in the idle time its stops leave (the
// planner's rule, with the shift started from home or from the reported
// position, either of which the planner may have used); the daily job and
// minute caps hold. It is the invariant the store's reservations
// and the property tests hold the rest of the code to.
func Verify(w *doorstep.Worker, tl Timeline, travel geo.TravelModel) error {
	planner := Planner{Travel: travel}
	var breaksOf *doorstep.Shift
	var breaks []event // the fixed breaks of shift breaksOf
	for i := range tl {
		s := &tl[i]
		if !s.End.After(s.Start) {
			return fmt.Errorf("stop %s: end %v not after start %v", s.BookingID, s.End, s.Start)
		}
		sh := shiftOf(w, s)
		if sh == nil {
			return fmt.Errorf("stop %s (%v..%v): outside every shift", s.BookingID, s.Start, s.End)
		}
		for _, b := range sh.Breaks {
			if b.Fixed() && s.Start.Before(b.Latest) && b.Earliest.Before(s.End) {
				return fmt.Errorf("stop %s: overlaps a break %v..%v", s.BookingID, b.Earliest, b.Latest)
			}
		}
		if i == 0 {
			continue
		}
		p := &tl[i-1]
		if shiftOf(w, p) != sh {
			continue // a new shift starts from home
		}
		if breaksOf != sh {
			breaksOf, breaks = sh, shiftEvents(breaks[:0], sh, nil)
		}
		// The trip crosses no fixed break: over before one, or after it.
		if leave, arrive := planner.trip(p.Location, s.Location, p.End, breaks); arrive.After(s.Start) {
			return fmt.Errorf("stops %s and %s overlap with travel: %v + %v > %v", p.BookingID, s.BookingID, leave, arrive.Sub(leave), s.Start)
		}
	}
	if err := verifyFlexibleBreaks(w, tl, travel); err != nil {
		return err
	}
	jobs, minutes := map[int]int{}, map[int]int{}
	for i := range tl {
		s := &tl[i]
		d := dayOf(s.Start, shiftOf(w, s).Start.Location())
		jobs[d]++
		minutes[d] += int(s.End.Sub(s.Start).Minutes())
		if w.MaxJobsPerDay > 0 && jobs[d] > w.MaxJobsPerDay {
			return fmt.Errorf("day %d: %d jobs over the cap of %d", d, jobs[d], w.MaxJobsPerDay)
		}
		if w.MaxWorkMinutesPerDay > 0 && minutes[d] > w.MaxWorkMinutesPerDay {
			return fmt.Errorf("day %d: %d minutes over the cap of %d", d, minutes[d], w.MaxWorkMinutesPerDay)
		}
	}
	return nil
}

// shiftOf is the shift stop s lies in: it starts in it and ends by its
// end, or, an urgent stop, by the end of its overtime.
func shiftOf(w *doorstep.Worker, s *Stop) *doorstep.Shift {
	for i := range w.Shifts {
		sh := &w.Shifts[i]
		if !s.Start.Before(sh.Start) && !s.Start.After(sh.End) && !s.End.After(sh.EndFor(s.Urgent)) {
			return sh
		}
	}
	return nil
}

// verifyFlexibleBreaks reports a flexible break that the stops of its shift
// leave no idle time for.
func verifyFlexibleBreaks(w *doorstep.Worker, tl Timeline, travel geo.TravelModel) error {
	p := Planner{Travel: travel}
	for i := range w.Shifts {
		sh := &w.Shifts[i]
		if !sh.HasFlexibleBreak() {
			continue
		}
		events := shiftEvents(nil, sh, tl)
		j := p.unplacedBreak(w, sh, w.Home, events, 0, nil, sh.Start)
		if j >= 0 {
			if at := w.StartPlace(sh, sh.Start); at != w.Home {
				j = p.unplacedBreak(w, sh, at, events, 0, nil, sh.Start)
			}
		}
		if j >= 0 {
			b := sh.Breaks[j]
			return fmt.Errorf("shift %v..%v: no idle time for the %v break in %v..%v", sh.Start, sh.End, b.Duration, b.Earliest, b.Latest)
		}
	}
	return nil
}
