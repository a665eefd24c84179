package matcher

import (
	"cmp"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// MaxRescueWorkers bounds how many nearby busy workers PlanRescue examines.
const MaxRescueWorkers = 16

// RescuePlan is an urgent rescue found but not made: the urgent request on
// a freed worker, and the one normal booking moved to free it.
type RescuePlan struct {
	// Urgent is the urgent request's option on the freed worker.
	Urgent Option
	// Moved is the booking moved, as read; To is the same booking after the
	// move (on Urgent's worker's later slot or another worker, touched at
	// the clock reading with reason doorstep.ChangeRescue).
	Moved *doorstep.Booking
	To    doorstep.Booking
	// MovedTo is the moved booking's new option (To's worker and slot).
	MovedTo Option
	// Region holds both workers: the plan is applied in one atomic step.
	Region string
	// Expect is the version of each touched worker the plan was made at.
	Expect map[string]int64
}

// PlanRescue looks for a way to free a qualified worker for the urgent
// request req, which no candidate can serve as things stand, by moving one
// of its normal bookings that has not started — to another candidate of
// the same region, or to a later slot of its own — without breaking that
// booking's promise: its start moves only inside its window (a booking
// without a window keeps its start exactly) and within 24 hours of its
// request. It examines the MaxRescueWorkers qualified candidates nearest
// to req that could reach it within the hour, nearest first, their
// bookings in timeline order, and returns the first plan found, the moved
// booking going to its cheapest option; nil when no rescue exists. The
// candidates must carry their Bookings and Region.
func (m *Matcher) PlanRescue(req *doorstep.Request, cands []Candidate, now time.Time, hist History) *RescuePlan {
	job := schedule.JobFor(req, now)
	reach := m.cfg.Travel.ReachKm(req.Deadline().Sub(now))
	type near struct {
		i  int
		km float64
	}
	var list []near
	for i := range cands {
		w := cands[i].Worker
		if slices.Contains(req.ExcludedWorkers, w.ID) || !w.Qualifies(req) {
			continue
		}
		if km := geo.DistanceKm(w.PositionAt(now), req.Location); km <= reach {
			list = append(list, near{i, km})
		}
	}
	slices.SortFunc(list, func(a, b near) int {
		if c := cmp.Compare(a.km, b.km); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	for _, n := range list[:min(len(list), MaxRescueWorkers)] {
		c := &cands[n.i]
		for _, moved := range c.Bookings {
			if moved.Urgency != doorstep.Normal || moved.Status != doorstep.StatusConfirmed || !moved.Arrival.After(now) {
				continue
			}
			if rp := m.planMove(req, job, cands, c, moved, now, hist); rp != nil {
				return rp
			}
		}
	}
	return nil
}

// planMove frees candidate c for req by moving booking moved, if it can.
func (m *Matcher) planMove(req *doorstep.Request, job schedule.Job, cands []Candidate, c *Candidate,
	moved *doorstep.Booking, now time.Time, hist History) *RescuePlan {
	freed := Candidate{Worker: c.Worker, Timeline: c.Timeline.Without(moved.ID), Version: c.Version}
	urgent, reason := m.Evaluate(req, job, &freed, hist)
	if reason != "" {
		return nil
	}
	// The worker's day with the urgent job in it, where the moved booking
	// may still find a later slot.
	withUrgent := Candidate{Worker: c.Worker, Version: c.Version, Timeline: freed.Timeline.Insert(schedule.Stop{
		BookingID: "urgent", Arrival: urgent.Slot.Arrival, Start: urgent.Slot.Start, End: urgent.Slot.End, Location: req.Location})}
	mreq, mjob := MovedJob(moved, now)
	var best *Option
	var bestCand *Candidate
	consider := func(cand *Candidate) {
		o, reason := m.Evaluate(mreq, mjob, cand, History{LastWorker: moved.WorkerID})
		if reason == "" && (best == nil || o.Cost < best.Cost) {
			best, bestCand = &o, cand
		}
	}
	consider(&withUrgent)
	for i := range cands {
		other := &cands[i]
		if other.Worker.ID != c.Worker.ID && other.Region == c.Region {
			consider(other)
		}
	}
	if best == nil {
		return nil
	}
	to := *moved
	to.Touch(now, doorstep.ChangeRescue)
	to.WorkerID, to.Start, to.End, to.Arrival = best.WorkerID, best.Slot.Start, best.Slot.End, best.Slot.Arrival
	return &RescuePlan{Urgent: urgent, Moved: moved, To: to, MovedTo: *best, Region: c.Region,
		Expect: map[string]int64{c.Worker.ID: c.Version, bestCand.Worker.ID: bestCand.Version}}
}

// MovedJob is the request and job of an existing normal booking being
// moved: its start stays inside its window and within 24 hours of its
// request, and a booking without a window keeps its start exactly (its
// customer was told that time).
func MovedJob(b *doorstep.Booking, now time.Time) (*doorstep.Request, schedule.Job) {
	r := b.Request()
	job := schedule.JobFor(r, now)
	if b.Window == nil {
		job.EarliestStart, job.LatestStart = b.Start, b.Start
	}
	return r, job
}
