// Package schedule places jobs in workers' days: shifts and their breaks, a
// worker's timeline of booked stops, the 1 h / 24 h service-level bounds and
// the search for the earliest feasible slot, travel included. It is pure and
// deterministic: the caller passes the clock's reading and a travel model.
//
// # Breaks
//
// A fixed break (doorstep.Break whose Duration fills [Earliest, Latest)) is
// an event of the day like a stop: no job overlaps it and no trip crosses
// it (the trip to the next stop is over before it starts, the worker then
// waiting at that door, or leaves when it is over; see trip.go). A
// flexible break is no event: it is Duration of idle time, inside
// [Earliest, Latest], that the day must leave. Idle time is the time in
// which the worker neither travels nor serves: from the shift's start, a
// stop's end or a fixed break's end until the departure to the next stop
// (waiting before a job counts: the worker leaves late, as late as the
// trip allows, so a trip that must be over before a fixed break leaves
// early enough for that), until the next fixed break, or until the
// shift's end. Planner.EarliestSlot returns a
// slot only when every flexible break of the shift not over at
// Job.NotBefore still fits, taking a break in the gap before the job when
// leaving later is what lets the job in; a slot refused for a flexible
// break alone is ErrBusy, as a fixed break in the way is. Verify holds a
// timeline to the same rule. Shifts without a flexible break take the
// fixed-break path and pay nothing for the rule.
package schedule

import (
	"errors"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// Reasons a worker has no slot for a job. The matcher counts them to explain
// a request that nobody can serve.
var (
	// ErrShift: no shift of the worker covers a start the job allows.
	ErrShift = errors.New("no shift covers the requested time")
	// ErrBusy: shifts cover the time, but existing bookings (and the travel
	// between them) leave no gap long enough.
	ErrBusy = errors.New("existing bookings leave no gap")
	// ErrDeadline: a gap exists, but the worker cannot get there in time:
	// arrival after the urgent deadline or start after the latest start.
	ErrDeadline = errors.New("cannot arrive before the deadline")
	// ErrShiftEnd: the worker could start the job in time, but not finish
	// it before its shift ends (a job never overruns a shift).
	ErrShiftEnd = errors.New("cannot finish before the shift ends")
	// ErrCap: the working day's job or minute cap is reached.
	ErrCap = errors.New("daily cap reached")
)

// Stop is a booked job in a worker's timeline.
type Stop struct {
	BookingID string
	Arrival   time.Time
	Start     time.Time
	End       time.Time
	Location  doorstep.Location
	// Held marks a booking kept at risk (doorstep.Booking.AtRisk): its
	// worker can no longer serve it as planned, so a re-plan may have put
	// other work over it. It still holds the worker's time, so that nothing
	// new is planned there, but it is not a place the worker starts from
	// or travels to: the planner treats it as a break.
	Held bool
	// Urgent marks the stop of an urgent job: it may run into its shift's
	// urgent overtime (doorstep.Shift.UrgentOvertimeMinutes).
	Urgent bool
}

// StopOf returns the stop a booking occupies.
func StopOf(b *doorstep.Booking) Stop {
	return Stop{BookingID: b.ID, Arrival: b.Arrival, Start: b.Start, End: b.End, Location: b.Location,
		Urgent: b.Urgency == doorstep.Urgent}
}

// Timeline is a worker's confirmed stops ordered by start. The zero value is
// an empty day.
type Timeline []Stop

// TimelineOf builds a timeline from confirmed bookings, in any order; a
// booking at risk is a held stop (Stop.Held).
func TimelineOf(bs []*doorstep.Booking) Timeline {
	tl := make(Timeline, 0, len(bs))
	for _, b := range bs {
		if b.Status == doorstep.StatusCancelled {
			continue
		}
		st := StopOf(b)
		st.Held = b.AtRisk != nil
		tl = append(tl, st)
	}
	tl.sort()
	return tl
}

func (tl Timeline) sort() {
	// Insertion sort: timelines are short and usually already ordered.
	for i := 1; i < len(tl); i++ {
		for j := i; j > 0 && tl[j].Start.Before(tl[j-1].Start); j-- {
			tl[j], tl[j-1] = tl[j-1], tl[j]
		}
	}
}

// Insert returns a copy of tl with s added in order.
func (tl Timeline) Insert(s Stop) Timeline {
	out := make(Timeline, 0, len(tl)+1)
	i := 0
	for i < len(tl) && !s.Start.Before(tl[i].Start) {
		i++
	}
	out = append(out, tl[:i]...)
	out = append(out, s)
	return append(out, tl[i:]...)
}

// Without returns a copy of tl without the stop of bookingID.
func (tl Timeline) Without(bookingID string) Timeline {
	out := make(Timeline, 0, len(tl))
	for _, s := range tl {
		if s.BookingID != bookingID {
			out = append(out, s)
		}
	}
	return out
}

// Job is what is to be placed, with the bounds its service level sets.
type Job struct {
	Location doorstep.Location
	Duration time.Duration
	// NotBefore is the clock's reading: nobody departs in the past.
	NotBefore time.Time
	// EarliestStart and LatestStart bound the service start.
	EarliestStart time.Time
	LatestStart   time.Time
	// LatestArrival bounds the arrival; zero means no bound (normal class).
	LatestArrival time.Time
}

// Urgent reports whether the job is of the urgent class (it has an
// arrival bound): only such a job may run into a shift's urgent overtime
// (doorstep.Shift.UrgentOvertimeMinutes).
func (j *Job) Urgent() bool { return !j.LatestArrival.IsZero() }

// StartsIn returns the range of starts [lo, hi] shift sh allows the job:
// none when lo is after hi. EarliestSlot tries no other starts in the
// shift, and the service starts, so the worker arrives, no earlier than lo.
// The job ends by the shift's end, or an urgent one by the end of its
// overtime (doorstep.Shift.EndFor), starting by the shift's end.
func (j *Job) StartsIn(sh *doorstep.Shift) (lo, hi time.Time) {
	lo = latest(sh.Start, j.EarliestStart, j.NotBefore)
	hi = j.LatestStart
	if last := sh.EndFor(j.Urgent()).Add(-j.Duration); last.Before(hi) {
		hi = last
	}
	if sh.End.Before(hi) {
		hi = sh.End
	}
	return lo, hi
}

// JobFor turns a request (already resolved against the catalogue) into a job
// at clock reading now, by its promise (doorstep.Request.Rule): an urgent
// job must arrive by requested_at + 1 h and starts on arrival; an
// appointment (a normal request with a window) starts inside its window,
// not before now; any other normal job starts by requested_at + 24 h.
func JobFor(r *doorstep.Request, now time.Time) Job {
	j := Job{Location: r.Location, Duration: r.Duration, NotBefore: now, EarliestStart: now, LatestStart: r.Deadline()}
	switch r.Rule() {
	case doorstep.RuleUrgent:
		j.LatestArrival = j.LatestStart
	case doorstep.RuleAppointment:
		if r.Window.Start.After(now) {
			j.EarliestStart = r.Window.Start
		}
	}
	return j
}

// Slot is a feasible placement of a job in a worker's timeline.
type Slot struct {
	Arrival time.Time
	Start   time.Time
	End     time.Time
	// Travel is the trip from the previous place to the job, DistanceKm its
	// great-circle length.
	Travel     time.Duration
	DistanceKm float64
	// AddedTravel is the travel the job adds to the worker's day: the trips
	// to and from it less the direct trip it replaces.
	AddedTravel time.Duration
	// DayJobs and DayMinutes are what the worker already has booked on the
	// working day of the slot, before this job.
	DayJobs    int
	DayMinutes int
	// ShiftMinutes is the length of the shift the slot lies in.
	ShiftMinutes int
	// Overtime is how long an urgent job runs past its shift's end, into
	// the shift's urgent overtime (doorstep.Shift.UrgentOvertimeMinutes);
	// zero for a job inside its shift.
	Overtime time.Duration
}
