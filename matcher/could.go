package matcher

import (
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// DefaultWant is how many candidates that could serve a request (see
// CouldServe) the candidate search widens for before it stops, unless the
// class's reach ends first. The server (dispatch.Config.WantCandidates)
// and the simulator (sim's matching.candidates) both default to it.
const DefaultWant = 24

// CouldServe reports whether w might serve req at clock reading now, by a
// test cheap enough to run on every worker the search reads: w is
// qualified (skills and certificates), not excluded by the customer, and
// has a shift that can hold the job within the class: one where some start
// between the earliest start allowed and the latest (the class deadline, or
// the end of the customer's window) leaves the whole duration inside the
// shift. It ignores bookings, breaks, travel and daily caps, which the
// matcher checks: a worker it rejects cannot serve, one it accepts may not.
//
// The candidate search counts only such workers, so that workers who
// cannot serve (off shift, excluded) never use up its budget.
func CouldServe(w *doorstep.Worker, req *doorstep.Request, now time.Time) bool {
	if slices.Contains(req.ExcludedWorkers, w.ID) || !w.Qualifies(req) {
		return false
	}
	return ShiftCanHold(w, schedule.JobFor(req, now))
}

// ShiftCanHold reports whether some shift of w has room for job between
// its earliest and latest start, as schedule.Planner.EarliestSlot bounds
// the starts it tries in a shift: CouldServe for a worker known to be
// qualified and not excluded (a narrow search's), for job, the request's
// schedule.JobFor.
func ShiftCanHold(w *doorstep.Worker, job schedule.Job) bool { return ShiftVerdict(w, job) == "" }

// ShiftVerdict is ShiftCanHold with the reason when it is false: the
// reason Evaluate gives a qualified worker none of whose shifts can hold
// job, which depends on the shifts alone (ReasonShiftEnd when one runs at
// a start the job allows but ends before the job could, else
// ReasonShift). It is "" when some shift can hold it.
func ShiftVerdict(w *doorstep.Worker, job schedule.Job) string { return ShiftsVerdict(w.Shifts, job) }

// ShiftsVerdict is ShiftVerdict of a worker whose shifts are shifts: it
// reads their starts and ends alone.
func ShiftsVerdict(shifts []doorstep.Shift, job schedule.Job) string {
	reason := ReasonShift
	for i := range shifts {
		sh := &shifts[i]
		lo, hi := job.StartsIn(sh)
		if !lo.After(hi) {
			return ""
		}
		if lo.Before(sh.End) && !lo.After(job.LatestStart) {
			reason = ReasonShiftEnd // as EarliestSlot ranks it
		}
	}
	return reason
}
