package dispatch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// Rescue describes a normal booking moved so that a qualified worker could
// take an urgent request nobody could otherwise reach within the hour. The
// moved booking may be another owner's: show MovedBookingID only to
// MovedOwner (or an admin).
type Rescue struct {
	MovedBookingID string
	MovedOwner     string
	FromWorker     string
	ToWorker       string
	OldStart       time.Time
	NewStart       time.Time
}

// maxRescueWorkers bounds how many nearby busy workers a rescue examines.
const maxRescueWorkers = 16

// errRescueLost reports that a rescue lost a race; the caller starts over.
var errRescueLost = errors.New("rescue lost a race")

// rescuePlan is a rescue found but not yet made: the urgent option on the
// freed worker, and the moved booking as it would be.
type rescuePlan struct {
	urgent matcher.Option
	moved  *doorstep.Booking // as stored
	to     doorstep.Booking  // after the move
	region string
	expect map[string]int64
}

func (rp *rescuePlan) rescue() *Rescue {
	return &Rescue{MovedBookingID: rp.moved.ID, MovedOwner: rp.moved.Owner, FromWorker: rp.moved.WorkerID, ToWorker: rp.to.WorkerID,
		OldStart: rp.moved.Start, NewStart: rp.to.Start}
}

// planRescue looks for a way to free a qualified worker for the urgent
// request req by moving one of its normal bookings that has not started —
// to another worker of the same region, or to a later slot of its own —
// without breaking that booking's promise: its start moves only inside its
// window (a booking without a window keeps its start exactly) and within
// 24 hours of its request. It examines the maxRescueWorkers nearest
// qualified workers and returns nil when no rescue exists. It writes
// nothing: Quote reports the plan, Book applies it.
func (s *Service) planRescue(req *doorstep.Request, p pool, now time.Time, hist matcher.History) *rescuePlan {
	job := schedule.JobFor(req, now)
	reach := s.m.Config().Travel.ReachKm(req.Deadline().Sub(now))
	type near struct {
		i  int
		km float64
	}
	var list []near
	for i := range p.cands {
		w := p.cands[i].Worker
		if slices.Contains(req.ExcludedWorkers, w.ID) || !w.Qualifies(req) {
			continue
		}
		if km := geo.DistanceKm(w.Position(), req.Location); km <= reach {
			list = append(list, near{i, km})
		}
	}
	slices.SortFunc(list, func(a, b near) int {
		if c := cmp.Compare(a.km, b.km); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	for _, n := range list[:min(len(list), maxRescueWorkers)] {
		c := &p.cands[n.i]
		for _, moved := range p.bookings[c.Worker.ID] {
			if moved.Urgency != doorstep.Normal || moved.Status != doorstep.StatusConfirmed || !moved.Arrival.After(now) {
				continue
			}
			if rp := s.planMove(req, job, p, c, moved, now, hist); rp != nil {
				return rp
			}
		}
	}
	return nil
}

// planMove frees worker c for req by moving booking moved, if it can.
func (s *Service) planMove(req *doorstep.Request, job schedule.Job, p pool, c *matcher.Candidate,
	moved *doorstep.Booking, now time.Time, hist matcher.History) *rescuePlan {
	freed := matcher.Candidate{Worker: c.Worker, Timeline: c.Timeline.Without(moved.ID), Version: c.Version}
	urgent, reason := s.m.Evaluate(req, job, &freed, hist)
	if reason != "" {
		return nil
	}
	region := p.regions[c.Worker.ID]
	// The worker's day with the urgent job in it, where the moved booking
	// may still find a later slot.
	withUrgent := matcher.Candidate{Worker: c.Worker, Version: c.Version, Timeline: freed.Timeline.Insert(schedule.Stop{
		BookingID: "urgent", Arrival: urgent.Slot.Arrival, Start: urgent.Slot.Start, End: urgent.Slot.End, Location: req.Location})}
	mreq, mjob := movedJob(moved, now)
	var best *matcher.Option
	var bestCand *matcher.Candidate
	consider := func(cand *matcher.Candidate) {
		o, reason := s.m.Evaluate(mreq, mjob, cand, matcher.History{LastWorker: moved.WorkerID})
		if reason == "" && (best == nil || o.Cost < best.Cost) {
			best, bestCand = &o, cand
		}
	}
	consider(&withUrgent)
	for i := range p.cands {
		other := &p.cands[i]
		if other.Worker.ID != c.Worker.ID && p.regions[other.Worker.ID] == region {
			consider(other)
		}
	}
	if best == nil {
		return nil
	}
	to := *moved
	to.Touch(now, doorstep.ChangeRescue)
	to.WorkerID, to.Start, to.End, to.Arrival = best.WorkerID, best.Slot.Start, best.Slot.End, best.Slot.Arrival
	return &rescuePlan{urgent: urgent, moved: moved, to: to, region: region,
		expect: map[string]int64{c.Worker.ID: c.Version, bestCand.Worker.ID: bestCand.Version}}
}

// applyRescue books the urgent request and moves the booking in one atomic
// store step (both workers are in one region, so one hash slot), which also
// records the move in the audit log with its reason (doorstep.ChangeRescue):
// the moved booking's owner may be another booking system.
func (s *Service) applyRescue(ctx context.Context, req *doorstep.Request, rp *rescuePlan, owner string, now time.Time) (*doorstep.Booking, error) {
	ub := bookingFor(req, &rp.urgent, store.NewBookingID(rp.region), owner, now)
	to := rp.to
	err := s.st.Apply(ctx, store.Change{Region: rp.region, Expect: rp.expect, Create: []*doorstep.Booking{ub}, Update: []*doorstep.Booking{&to},
		Reason: doorstep.ChangeRescue})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
		s.cfg.Observer.Conflict()
		return nil, errRescueLost
	}
	if err != nil {
		return nil, fmt.Errorf("rescue urgent request by moving booking %s: %w", rp.moved.ID, err)
	}
	s.cfg.Observer.Rescued()
	return ub, nil
}

// movedJob is the request and job of an existing normal booking being
// moved: its start stays inside its window and within 24 hours of its
// request, and a booking without a window keeps its start exactly (its
// customer was told that time).
func movedJob(b *doorstep.Booking, now time.Time) (*doorstep.Request, schedule.Job) {
	r := requestOf(b)
	job := schedule.JobFor(r, now)
	if b.Window == nil {
		job.EarliestStart, job.LatestStart = b.Start, b.Start
	}
	return r, job
}

// requestOf rebuilds the request an existing booking serves.
func requestOf(b *doorstep.Booking) *doorstep.Request {
	return &doorstep.Request{
		Service: b.Service, Skills: b.Skills, Certificates: b.Certificates, Location: b.Location,
		Urgency: b.Urgency, Duration: b.End.Sub(b.Start), Window: b.Window, RequestedAt: b.RequestedAt,
		CustomerID: b.CustomerID, PreferredWorkers: b.PreferredWorkers, ExcludedWorkers: b.ExcludedWorkers,
	}
}
