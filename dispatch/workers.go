package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// PutWorker validates and stores w, creating or replacing it; created
// reports which. Its skills must be needed by services of the catalogue.
// The worker's bookings are then re-planned (CauseProfile): those its new
// profile cannot serve as planned (shifts cut, a skill or certificate
// removed, caps lowered) are moved inside their promises or marked at
// risk, and marks of bookings that fit again are cleared. When the
// re-plan fails the profile is stored all the same and the error says so:
// repeating the PUT finishes the re-plan.
func (s *Service) PutWorker(ctx context.Context, w *doorstep.Worker) (created bool, rp *Replanned, err error) {
	if err := w.Validate(); err != nil {
		return false, nil, err
	}
	if err := s.cfg.Catalogue.CheckWorkerSkills(w); err != nil {
		return false, nil, err
	}
	if created, err = s.st.PutWorker(ctx, w); err != nil {
		return false, nil, err
	}
	rp = s.replanned(ctx, w.ID, CauseProfile, &err)
	return created, rp, err
}

// replanned runs replan and, when it fails, sets *err to say that the
// worker's change is stored but its bookings are not yet re-planned.
func (s *Service) replanned(ctx context.Context, id, cause string, err *error) *Replanned {
	rp, rerr := s.replan(ctx, id, cause)
	if rerr != nil {
		*err = fmt.Errorf("worker %s changed, but its bookings are not re-planned yet (repeat the request): %w", id, rerr)
	}
	return rp
}

// Worker returns worker id.
func (s *Service) Worker(ctx context.Context, id string) (*doorstep.Worker, error) {
	w, _, err := s.st.GetWorker(ctx, id)
	return w, err
}

// RetireWorker removes worker id from dispatch, then re-plans its bookings
// not over (CauseRetired): each goes to another worker inside its promise
// or stays with the retired worker marked at risk (readable, never lost).
// The profile goes first, which bumps the worker's version, so that no
// booking lands on the worker while its bookings are moved away. Retiring
// a retired worker whose bookings are not all re-planned (a re-plan that
// failed, or bookings still at risk) re-plans them again; otherwise it is
// ENOTFOUND, as for a worker that never was.
func (s *Service) RetireWorker(ctx context.Context, id string) (rp *Replanned, err error) {
	derr := s.st.DeleteWorker(ctx, id)
	if derr != nil && doorstep.ErrorCode(derr) != doorstep.ENOTFOUND {
		return nil, derr
	}
	rp = s.replanned(ctx, id, CauseRetired, &err)
	switch {
	case derr == nil:
		return rp, err
	case err != nil && doorstep.ErrorCode(err) == doorstep.ENOTFOUND:
		return nil, derr // never was
	case err == nil && rp.Moved+rp.AtRisk == 0:
		return nil, derr // retired before, nothing left to re-plan
	}
	return rp, err
}

// Absent records that worker id is away during window: its shifts are cut
// by it (doorstep.Worker.Absent) and its bookings re-planned
// (CauseAbsence) as a PUT of the cut profile would. It returns the worker
// as stored. Like a PUT it replaces the profile read: a concurrent PUT of
// the same worker may win over it, or lose to it.
func (s *Service) Absent(ctx context.Context, id string, window doorstep.Window) (*doorstep.Worker, *Replanned, error) {
	if !window.End.After(window.Start) {
		return nil, nil, doorstep.Errorf(doorstep.EINVALID, "to", "to must be after from")
	}
	if err := doorstep.CheckTime("from", window.Start); err != nil {
		return nil, nil, err
	}
	if err := doorstep.CheckTime("to", window.End); err != nil {
		return nil, nil, err
	}
	w, _, err := s.st.GetWorker(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	w.Shifts = w.Absent(window)
	if err := w.Validate(); err != nil {
		return nil, nil, err // a split shift too many
	}
	if _, err := s.st.PutWorker(ctx, w); err != nil {
		return nil, nil, err
	}
	rp := s.replanned(ctx, id, CauseAbsence, &err)
	return w, rp, err
}

// AtRisk returns up to limit confirmed bookings marked at risk that are not
// over, by start, for the operators to act on.
func (s *Service) AtRisk(ctx context.Context, limit int) ([]*doorstep.Booking, error) {
	return s.st.AtRiskBookings(ctx, s.cfg.Now(), limit)
}

// Locate records worker id's position at time at (zero: now).
func (s *Service) Locate(ctx context.Context, id string, loc doorstep.Location, at time.Time) error {
	if err := loc.Validate("location"); err != nil {
		return err
	}
	now := s.cfg.Now()
	if at.IsZero() {
		at = now
	} else if at.After(now.Add(time.Minute)) {
		return doorstep.Errorf(doorstep.EINVALID, "at", "a position cannot be reported from the future")
	}
	return s.st.SetLocation(ctx, id, loc, at)
}

// WorkerBookings returns worker id's confirmed bookings starting in
// [from, to), by start.
func (s *Service) WorkerBookings(ctx context.Context, id string, from, to time.Time) ([]*doorstep.Booking, error) {
	if !to.After(from) {
		return nil, doorstep.Errorf(doorstep.EINVALID, "to", "to must be after from")
	}
	if to.Sub(from) > 31*24*time.Hour {
		return nil, doorstep.Errorf(doorstep.EINVALID, "to", "at most 31 days at a time")
	}
	if _, _, err := s.st.GetWorker(ctx, id); err != nil {
		return nil, err
	}
	return s.st.WorkerBookings(ctx, id, from, to)
}
