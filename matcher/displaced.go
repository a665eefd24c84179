package matcher

import (
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Reasons a booking no longer fits its worker (Displacement.Reason, and the
// doorstep.AtRisk reason of a booking nobody could take).
const (
	// DisplacedRetired: the worker was retired.
	DisplacedRetired = "retired"
	// DisplacedSkills and DisplacedCertificates: the worker lost a skill or
	// a certificate the booking needs.
	DisplacedSkills       = ReasonSkills
	DisplacedCertificates = ReasonCertificates
	// DisplacedShift: the stop lies outside every shift of the worker, or
	// in a break (a shift cut, an absence).
	DisplacedShift = ReasonShift
	// DisplacedTravel: the stop fits a shift but leaves no room for the
	// travel from the stop before it (a stop kept earlier moved or grew).
	DisplacedTravel = "travel"
	// DisplacedCap: the worker's daily job or minute cap is exceeded.
	DisplacedCap = ReasonCap
	// DisplacedOverrun: an earlier job of the worker runs past its planned
	// end and leaves no room for this one as planned.
	DisplacedOverrun = "overrun"
	// DisplacedLate: its own worker, not arrived yet, reported it will
	// arrive or start later than the booking's promise allows.
	DisplacedLate = "late"
)

// Displacement is a confirmed booking its worker can no longer serve as
// planned, and why (a Displaced* reason).
type Displacement struct {
	Booking *doorstep.Booking
	Reason  string
}

// Fit splits the confirmed bookings of worker w (nil once retired) into
// those the worker can still serve as planned, as the timeline kept, and
// those it cannot, with the reason. Booking pinned (an id, or "") is kept
// whatever it breaks: the job its worker is doing and overrunning. The
// others are taken in order of start,
// each kept when it still fits with the ones kept before it: the worker
// qualifies for it (doorstep.Worker.Lacks), and schedule.Verify accepts
// the kept timeline with it (inside a shift and outside its breaks, travel
// from and to the neighbouring stops, daily caps). A booking over at now
// is never displaced (nothing is left to re-plan), but is kept when it
// fits, so that it counts towards its day's caps. A retired worker keeps
// nothing: each booking not over is displaced as DisplacedRetired.
func (m *Matcher) Fit(w *doorstep.Worker, bookings []*doorstep.Booking, pinned string, now time.Time) (kept schedule.Timeline, out []Displacement) {
	bs := slices.Clone(bookings)
	slices.SortStableFunc(bs, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	for _, b := range bs {
		if b.ID == pinned && b.Status == doorstep.StatusConfirmed && w != nil {
			stop := schedule.StopOf(b)
			kept = kept.Insert(stop)
			w = stretched(w, stop)
		}
	}
	for _, b := range bs {
		if b.Status != doorstep.StatusConfirmed || b.ID == pinned {
			continue
		}
		over := !b.End.After(now)
		if w == nil {
			if !over {
				out = append(out, Displacement{Booking: b, Reason: DisplacedRetired})
			}
			continue
		}
		reason := m.misfit(w, kept, b)
		switch {
		case reason == "":
			kept = kept.Insert(schedule.StopOf(b))
		case !over:
			out = append(out, Displacement{Booking: b, Reason: reason})
		}
	}
	return kept, out
}

// stretched is w with its day stretched around the pinned stop, so that
// schedule.Verify accepts the job its worker is overrunning and still
// checks every other stop against it and against the rules of the day: the
// shifts the job overlaps (or touches) become one shift spanning them and
// the job, whose breaks are theirs and the gaps between them, each less
// the job's own span.
func stretched(w *doorstep.Worker, pinned schedule.Stop) *doorstep.Worker {
	lo, hi := pinned.Start, pinned.End
	merged := make([]bool, len(w.Shifts))
	for grown := true; grown; {
		grown = false
		for i, sh := range w.Shifts {
			if merged[i] || sh.Start.After(hi) || sh.End.Before(lo) {
				continue
			}
			merged[i], grown = true, true
			if sh.Start.Before(lo) {
				lo = sh.Start
			}
			if sh.End.After(hi) {
				hi = sh.End
			}
		}
	}
	// What the merged shift may not use: the breaks of its shifts and the
	// time between them.
	// A flexible break stays flexible: the planner keeps room for it in
	// the idle time of the merged shift.
	var off []doorstep.Window
	var flexible []doorstep.Break
	at := lo
	urgentEnd := lo // the end of the last merged shift's urgent overtime
	for i, sh := range w.Shifts {
		if !merged[i] {
			continue
		}
		if sh.Start.After(at) {
			off = append(off, doorstep.Window{Start: at, End: sh.Start})
		}
		for _, b := range sh.Breaks {
			if b.Fixed() {
				off = append(off, doorstep.Window{Start: b.Earliest, End: b.Latest})
			} else {
				flexible = append(flexible, b)
			}
		}
		at, urgentEnd = sh.End, sh.EndFor(true)
	}
	if hi.After(at) && !at.Equal(lo) {
		off = append(off, doorstep.Window{Start: at, End: hi})
	}
	one := doorstep.Shift{Start: lo, End: hi}
	// Urgent overtime after the last of the merged shifts, as far as it
	// reaches past the merged end.
	if over := urgentEnd.Sub(hi); over > 0 {
		one.UrgentOvertimeMinutes = int(over / time.Minute)
	}
	for _, b := range off {
		if b.Start.Before(pinned.Start) {
			one.Breaks = append(one.Breaks, doorstep.FixedBreak(b.Start, earliest(b.End, pinned.Start)))
		}
		if b.End.After(pinned.End) {
			one.Breaks = append(one.Breaks, doorstep.FixedBreak(latest(b.Start, pinned.End), b.End))
		}
	}
	one.Breaks = append(one.Breaks, flexible...)
	slices.SortStableFunc(one.Breaks, func(a, b doorstep.Break) int { return a.Earliest.Compare(b.Earliest) })
	c := *w
	c.Shifts = nil
	placed := false
	for i, sh := range w.Shifts {
		if merged[i] {
			continue
		}
		if !placed && sh.Start.After(lo) {
			c.Shifts, placed = append(c.Shifts, one), true
		}
		c.Shifts = append(c.Shifts, sh)
	}
	if !placed {
		c.Shifts = append(c.Shifts, one)
	}
	return &c
}

// misfit names why booking b does not fit worker w's timeline kept, or "".
func (m *Matcher) misfit(w *doorstep.Worker, kept schedule.Timeline, b *doorstep.Booking) string {
	if lack := w.Lacks(b.Request()); lack != "" {
		return lack
	}
	stop := schedule.StopOf(b)
	if schedule.Verify(w, kept.Insert(stop), m.cfg.Travel) == nil {
		return ""
	}
	uncapped := *w
	uncapped.MaxJobsPerDay, uncapped.MaxWorkMinutesPerDay = 0, 0
	switch {
	case schedule.Verify(&uncapped, schedule.Timeline{stop}, m.cfg.Travel) != nil:
		return DisplacedShift
	case schedule.Verify(&uncapped, kept.Insert(stop), m.cfg.Travel) != nil:
		return DisplacedTravel
	}
	return DisplacedCap
}

// Overran is Fit for a worker whose booking late, under way, now ends
// later than planned (bookings are the worker's bookings as stored, late
// among them with its old end). The job is pinned (kept whatever it
// breaks). Bookings it displaces that were not displaced before are
// DisplacedOverrun, and so is every later booking the worker kept after
// the first of them, so that the chain of the worker's day can shift as a
// whole (PlanDisplaced keeps each at its start when there is room).
func (m *Matcher) Overran(w *doorstep.Worker, bookings []*doorstep.Booking, late *doorstep.Booking, now time.Time) (kept schedule.Timeline, out []Displacement) {
	_, before := m.Fit(w, bookings, "", now)
	was := make(map[string]bool, len(before))
	for _, d := range before {
		was[d.Booking.ID] = true
	}
	byID := make(map[string]*doorstep.Booking, len(bookings))
	swapped := make([]*doorstep.Booking, 0, len(bookings))
	for _, b := range bookings {
		if b.ID == late.ID {
			b = late
		}
		byID[b.ID] = b
		swapped = append(swapped, b)
	}
	kept, out = m.Fit(w, swapped, late.ID, now)
	var first time.Time
	for i := range out {
		if !was[out[i].Booking.ID] {
			out[i].Reason = DisplacedOverrun
			if first.IsZero() || out[i].Booking.Start.Before(first) {
				first = out[i].Booking.Start
			}
		}
	}
	if first.IsZero() {
		return kept, out
	}
	var still schedule.Timeline
	for _, st := range kept {
		if st.BookingID != late.ID && st.Start.After(first) {
			out = append(out, Displacement{Booking: byID[st.BookingID], Reason: DisplacedOverrun})
			continue
		}
		still = append(still, st)
	}
	return still, out
}

// Relocation is the plan for one displaced booking: To is the booking
// after its move (touched at the clock reading with reason
// doorstep.ChangeReplan, on Option's worker and slot), or nil when nobody
// can take it inside its promise and it is to be marked at risk. A
// booking placed back where it was (Unchanged) needs no change.
type Relocation struct {
	Displacement
	To     *doorstep.Booking
	Option Option
}

// Unchanged reports whether the booking was placed back on its worker at
// its times.
func (r *Relocation) Unchanged() bool {
	b := r.Booking
	return r.To != nil && r.To.WorkerID == b.WorkerID && r.To.Start.Equal(b.Start) && r.To.End.Equal(b.End) && r.To.Arrival.Equal(b.Arrival)
}

// PlanDisplaced re-plans displaced bookings on cands, the workers that may
// take them: all of one region, so that the plan is one atomic step. The
// displaced bookings' own worker, when it is still in dispatch, is among
// cands with only the stops it keeps (Fit) in its timeline.
//
// Bookings are placed greedily, urgent ones first, then by start; each
// placed one joins its new worker's timeline before the next is placed.
// A booking keeps its promise wherever it goes (DisplacedJob): a normal one
// starts inside its window and within 24 hours of its request, an urgent
// one arrives within the hour of its request; the customer's excluded
// workers are never used and the preferred ones and its own worker
// (continuity) are favoured by the usual costs. The options tried, first
// that has any:
//
//  1. for an overrun, the booking's own worker, at its start or later
//     (the chain of a worker running late shifts where travel and the
//     promises allow);
//  2. for a normal booking, any candidate at its start unchanged (the time
//     its customer was told);
//  3. any candidate, anywhere in its promise.
//
// A booking under way at now (its worker has arrived) cannot be moved: it
// is to be marked at risk, as is one no option fits. The result follows
// the order of placement.
func (m *Matcher) PlanDisplaced(ds []Displacement, cands []Candidate, now time.Time) []Relocation {
	pool := slices.Clone(cands)
	order := slices.Clone(ds)
	slices.SortStableFunc(order, func(a, b Displacement) int {
		if c := doorstep.CompareUrgency(a.Booking.Urgency, b.Booking.Urgency); c != 0 {
			return c
		}
		return a.Booking.Start.Compare(b.Booking.Start)
	})
	out := make([]Relocation, 0, len(order))
	for _, d := range order {
		r := Relocation{Displacement: d}
		if b := d.Booking; b.Arrival.After(now) {
			if i, o, ok := m.placeDisplaced(b, d.Reason, pool, now); ok {
				to := *b
				to.Touch(now, doorstep.ChangeReplan)
				to.WorkerID, to.Start, to.End, to.Arrival = o.WorkerID, o.Slot.Start, o.Slot.End, o.Slot.Arrival
				r.To, r.Option = &to, o
				pool[i].Timeline = pool[i].Timeline.Insert(schedule.StopOf(&to))
			}
		}
		out = append(out, r)
	}
	return out
}

// placeDisplaced finds the option for displaced booking b (see
// PlanDisplaced): the candidate's index in pool and the option.
func (m *Matcher) placeDisplaced(b *doorstep.Booking, reason string, pool []Candidate, now time.Time) (int, Option, bool) {
	req, job := DisplacedJob(b, now)
	hist := History{LastWorker: b.WorkerID}
	best := func(job schedule.Job, only string) (int, Option, bool) {
		at, found := -1, Option{}
		for i := range pool {
			if only != "" && pool[i].Worker.ID != only {
				continue
			}
			o, why := m.Evaluate(req, job, &pool[i], hist)
			if why == "" && (at < 0 || less(&o, &found)) {
				at, found = i, o
			}
		}
		return at, found, at >= 0
	}
	if reason == DisplacedOverrun {
		later := job
		if b.Start.After(later.EarliestStart) {
			later.EarliestStart = b.Start
		}
		if i, o, ok := best(later, b.WorkerID); ok {
			return i, o, true
		}
	}
	if b.Urgency == doorstep.Normal && !b.Start.Before(job.EarliestStart) && !b.Start.After(job.LatestStart) {
		exact := job
		exact.EarliestStart, exact.LatestStart = b.Start, b.Start
		if i, o, ok := best(exact, ""); ok {
			return i, o, true
		}
	}
	return best(job, "")
}

// DisplacedJob is the request and job of a displaced booking: its promise,
// at clock reading now. An appointment (a normal booking with a window)
// starts inside its window; a normal booking without one within 24 hours
// of its request and no earlier than the start its customer was told (who
// expects nobody before it) —
// unlike MovedJob, which keeps that start exactly: a rescue moves a
// booking only when it loses nothing, whereas a displaced booking has
// already lost its worker, and a later start inside its promise, made
// known to its owner through its last_change, serves its customer better
// than a booking at risk. An urgent booking arrives within the hour of its
// request.
func DisplacedJob(b *doorstep.Booking, now time.Time) (*doorstep.Request, schedule.Job) {
	r := b.Request()
	job := schedule.JobFor(r, now)
	if b.Urgency == doorstep.Normal && b.Window == nil && b.Start.After(job.EarliestStart) {
		job.EarliestStart = b.Start
	}
	return r, job
}
