package dispatch

import (
	"context"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
)

// CauseProgress: a job's progress report (a completion, a no-show, an
// early start) changed its worker's day without making the job later;
// a report that makes it later re-plans as CauseOverrun.
const CauseProgress = "progress"

// Report is one progress report of a job (POST /v1/bookings/{id}/progress).
type Report struct {
	doorstep.ProgressAt
	// Position, when set, is where the worker was at At.
	Position *doorstep.Location
	// Worker, when set, is the only worker whose booking may be reported
	// (a field key bound to it): another worker's booking is EFORBIDDEN.
	Worker string
}

// Progress applies report rep to booking id (doorstep.Booking.Advance:
// the lifecycle, the job's new times, the report kept in its history) and
// re-plans what its new times change on the worker's day in the same
// store step (rework): a completion or a no-show ends the job at rep.At,
// freeing the rest of the slot; a delay, a late start or a late
// completion shifts the worker's later bookings, moving to another worker
// or marking at risk those whose promise would break. A zero At is now;
// At may not lie more than doorstep.ProgressSkew in the future. Repeating
// the last report exactly (a retry) changes nothing and answers the
// booking as it is.
//
// After the step, the worker's position is set to rep.Position or, for a
// completion or a no-show, to the job's location, at rep.At (Locate). It
// returns the booking as it now is and what the re-plan did.
//
// Every progress change of a booking is made here. Its booking.progress
// event is written with the change (store.Apply's outbox); a completion
// also opens the booking's follow-up (OpenFollowUp) and announces it
// (booking.followup_due).
func (s *Service) Progress(ctx context.Context, id string, rep Report) (*doorstep.Booking, *Replanned, error) {
	now := s.cfg.Now()
	if rep.At.IsZero() {
		rep.At = now
	}
	if err := doorstep.CheckTime("at", rep.At); err != nil {
		return nil, nil, err
	}
	if rep.At.After(now.Add(doorstep.ProgressSkew)) {
		return nil, nil, doorstep.Errorf(doorstep.EINVALID, "at", "at is in the future")
	}
	for _, t := range []struct {
		field string
		at    time.Time
	}{{"expected_end", rep.ExpectedEnd}, {"expected_arrival", rep.ExpectedArrival}} {
		if !t.at.IsZero() {
			if err := doorstep.CheckTime(t.field, t.at); err != nil {
				return nil, nil, err
			}
		}
	}
	if rep.Position != nil {
		if err := rep.Position.Validate("position"); err != nil {
			return nil, nil, err
		}
	}
	b, rp, err := s.rework(ctx, id, func(b *doorstep.Booking, now time.Time) (*doorstep.Booking, string, error) {
		if rep.Worker != "" && b.WorkerID != rep.Worker {
			return nil, "", doorstep.Errorf(doorstep.EFORBIDDEN, "", "booking %s is not worker %s's", id, rep.Worker)
		}
		if b.Status == doorstep.StatusConfirmed && b.Repeats(rep.ProgressAt) {
			return nil, "", nil
		}
		next, err := b.Advance(rep.ProgressAt, now)
		if err != nil {
			return nil, "", err
		}
		if next.End.After(b.End) {
			return next, CauseOverrun, nil
		}
		return next, CauseProgress, nil
	})
	if err != nil {
		return nil, nil, err
	}
	at := rep.Position
	if at == nil && (rep.Status == doorstep.ProgressCompleted || rep.Status == doorstep.ProgressNoShow) {
		at = &b.Location
	}
	if at != nil {
		// A retired worker has no position to keep (ENOTFOUND).
		if err := s.st.SetLocation(ctx, b.WorkerID, *at, rep.At); err != nil && doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
			return nil, nil, err
		}
	}
	if b.State() == doorstep.ProgressCompleted {
		// Also on a repeated completion: a retry after a failure here
		// opens the follow-up the first attempt did not (opening is
		// idempotent, and only a new one is announced).
		if err := s.followUpOnCompletion(ctx, b); err != nil {
			return nil, nil, err
		}
	}
	return b, rp, nil
}

// followUpOnCompletion opens completed booking b's follow-up and, when it
// is new, publishes its "follow-up due" event to b's owner. A store that
// keeps no follow-ups (FollowUpStore: a what-if's) opens none.
func (s *Service) followUpOnCompletion(ctx context.Context, b *doorstep.Booking) error {
	fs, ok := s.st.(FollowUpStore)
	if !ok {
		return nil
	}
	// A completion ends the job at its report's time (Booking.Advance).
	f, created, err := s.OpenFollowUp(ctx, b, b.End)
	if err != nil || !created {
		return err
	}
	return fs.PublishEvent(ctx, store.FollowUpDueEvent(b, f.Due, s.cfg.Now()))
}
