package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// Causes of a re-plan, as Observer.Replanned counts them.
const (
	// CauseProfile: a PUT changed the worker's shifts, skills,
	// certificates or caps.
	CauseProfile = "profile"
	// CauseRetired: the worker was retired.
	CauseRetired = "retired"
	// CauseAbsence: an absence cut the worker's shifts.
	CauseAbsence = "absence"
	// CauseOverrun: a job of the worker runs past its planned end.
	CauseOverrun = "overrun"
)

// Replanned is what re-planning a worker's bookings did.
type Replanned struct {
	// Moved counts the bookings moved to another worker or time inside
	// their promise (last_change reason doorstep.ChangeReplan).
	Moved int
	// AtRisk counts the bookings nobody could take, which stay confirmed
	// with their worker and times and are marked at risk (doorstep.AtRisk),
	// now or by an earlier re-plan.
	AtRisk int
	// Restored counts bookings marked at risk earlier that fit their
	// worker again: the mark is cleared.
	Restored int
}

// replanReach is how far ahead the bookings of a changed worker are
// re-planned: a series may book weeks ahead.
const replanReach = 400 * 24 * time.Hour

// replan re-plans the bookings of worker id that it can no longer serve as
// planned (matcher.Fit), after a change of its profile (or its retirement)
// already stored, for cause. Each is moved to another worker of its region
// or another time inside its promise (matcher.PlanDisplaced), or marked at
// risk, in one store step pinned to the versions read, started over on a
// conflict. A booking made meanwhile bumps the worker's version, so the
// step fails and the next round sees it: nothing is lost or doubled.
func (s *Service) replan(ctx context.Context, id, cause string) (*Replanned, error) {
	for range s.cfg.MaxAttempts {
		now := s.cfg.Now()
		ws, err := s.st.LoadWorker(ctx, id, now.Add(-dayReach), now.Add(replanReach))
		if err != nil {
			return nil, err
		}
		kept, ds := s.m.Fit(ws.Worker, ws.Bookings, "", now)
		rp, err := s.relocate(ctx, id, ws, kept, ds, nil, now, cause)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
			s.cfg.Observer.Conflict()
			continue
		}
		return rp, err
	}
	return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "the bookings of worker %s kept changing while they were re-planned; repeat the request", id)
}

// relocate plans the displaced bookings ds of worker id, read as ws (which
// keeps the timeline kept) and applies the plan in one store step, with
// the bookings of extra (rewrites the same step makes, such as an
// overrunning booking's new end): moves, new at-risk marks, and the
// clearing of marks of bookings the worker keeps.
func (s *Service) relocate(ctx context.Context, id string, ws *store.WorkerState, kept schedule.Timeline, ds []matcher.Displacement,
	extra []*doorstep.Booking, now time.Time, cause string) (*Replanned, error) {
	rp := &Replanned{}
	ch := store.Change{Region: ws.Region, Expect: map[string]int64{id: ws.Version}, Update: slices.Clone(extra), Reason: doorstep.ChangeReplan}
	touched := make(map[string]bool)
	for _, b := range extra {
		touched[b.ID] = true
	}
	// Marks of bookings the worker keeps are cleared.
	for _, b := range ws.Bookings {
		if b.AtRisk != nil && b.End.After(now) && !touched[b.ID] && slices.ContainsFunc(kept, func(st schedule.Stop) bool { return st.BookingID == b.ID }) {
			c := *b
			c.Touch(now, doorstep.ChangeReplan)
			ch.Update = append(ch.Update, &c)
			rp.Restored++
		}
	}
	var plan []matcher.Relocation
	if len(ds) > 0 {
		cands, err := s.displacedPool(ctx, ws, kept, ds, now)
		if err != nil {
			return nil, err
		}
		plan = s.m.PlanDisplaced(ds, cands, now)
	}
	marked := 0
	var overtime []time.Duration // of the bookings moved into their shift's overtime
	for _, r := range plan {
		b := r.Booking
		if touched[b.ID] {
			continue
		}
		switch {
		case r.Unchanged():
			if b.AtRisk != nil {
				c := *b
				c.Touch(now, doorstep.ChangeReplan)
				ch.Update = append(ch.Update, &c)
				rp.Restored++
			}
		case r.To != nil:
			ch.Update = append(ch.Update, r.To)
			ch.Expect[r.Option.WorkerID] = r.Option.Version
			rp.Moved++
			overtime = append(overtime, r.Option.Slot.Overtime)
		case b.AtRisk == nil:
			c := *b
			c.Touch(now, doorstep.ChangeAtRisk)
			c.AtRisk = &doorstep.AtRisk{Reason: r.Reason, Since: now}
			ch.Update = append(ch.Update, &c)
			rp.AtRisk++
			marked++
		default:
			rp.AtRisk++ // marked by an earlier re-plan: left as it is
		}
	}
	if len(ch.Update) == 0 {
		return rp, nil
	}
	if err := s.st.Apply(ctx, ch); err != nil {
		return nil, fmt.Errorf("re-plan the bookings of worker %s: %w", id, err)
	}
	s.cfg.Observer.Replanned(cause, rp.Moved, marked)
	for _, d := range overtime {
		s.overtime(d)
	}
	return rp, nil
}

// displacedPool reads the workers who may take the displaced bookings ds:
// those around each booking that could be moved, in the region of the
// worker read as ws (one atomic step), each read once over one span that
// covers every booking's day, and the worker itself, when still in
// dispatch, with only the stops it keeps.
func (s *Service) displacedPool(ctx context.Context, ws *store.WorkerState, kept schedule.Timeline, ds []matcher.Displacement, now time.Time) ([]matcher.Candidate, error) {
	var movable []*doorstep.Request
	latest := now
	for _, d := range ds {
		if !d.Booking.Arrival.After(now) {
			continue // under way: stays, at risk
		}
		req, job := matcher.DisplacedJob(d.Booking, now)
		movable = append(movable, req)
		if job.LatestStart.After(latest) {
			latest = job.LatestStart
		}
	}
	var out []matcher.Candidate
	seen := make(map[string]bool)
	own := ""
	if ws.Worker != nil {
		own = ws.Worker.ID
		seen[own] = true
		out = append(out, matcher.Candidate{Worker: ws.Worker, Timeline: kept, Version: ws.Version, Region: ws.Region})
	}
	if len(movable) == 0 {
		return out, nil
	}
	from, to := now.Add(-dayReach), latest.Add(dayReach)
	for _, req := range movable {
		p, err := s.candidatesIn(ctx, req, now, from, to)
		if err != nil {
			return nil, err
		}
		for _, c := range p.cands {
			if seen[c.Worker.ID] || c.Region != ws.Region {
				continue
			}
			seen[c.Worker.ID] = true
			out = append(out, c)
		}
	}
	return out, nil
}
