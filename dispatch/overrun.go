package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// Overrun records that booking id, under way, will end at expectedEnd,
// later than planned, and re-plans what that breaks (CauseOverrun): the
// worker's later bookings that no longer fit are shifted later on the
// same worker where travel and their promises allow, else moved to
// another worker inside their promise, else marked at risk
// (matcher.PlanDisplaced), in the same store step as the booking's new
// end (last_change reason doorstep.ChangeOverrun; a mark at risk stays).
// It returns the booking
// as changed. The job is kept whatever it breaks (its worker is doing
// it), even past the end of its shift. Job progress (Progress) re-plans
// the same way.
func (s *Service) Overrun(ctx context.Context, id string, expectedEnd time.Time) (*doorstep.Booking, *Replanned, error) {
	if err := doorstep.CheckTime("expected_end", expectedEnd); err != nil {
		return nil, nil, err
	}
	return s.rework(ctx, id, func(b *doorstep.Booking, now time.Time) (*doorstep.Booking, string, error) {
		switch {
		case b.Status != doorstep.StatusConfirmed:
			return nil, "", doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is %s", id, b.Status)
		case now.Before(b.Arrival):
			return nil, "", doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is not under way yet", id)
		case !expectedEnd.After(b.End) || !expectedEnd.After(now):
			return nil, "", doorstep.Errorf(doorstep.EINVALID, "expected_end", "expected_end must be later than the booking's planned end and than now")
		}
		late := *b
		late.Touch(now, doorstep.ChangeOverrun)
		late.End = expectedEnd
		late.AtRisk = b.AtRisk // running late settles nothing (its worker may be retired)
		return &late, CauseOverrun, nil
	})
}

// rework rewrites booking id as edit makes it from the booking read (edit
// returns the booking touched, with the cause of the re-plan; nil for no
// change) and re-plans, in the same store step, what the booking's new
// times change on its worker's day: matcher.Overran pins the booking
// (kept whatever it breaks: its worker is on it) and displaces what it
// newly breaks and the worker's later bookings, which relocate shifts,
// moves or marks at risk, while marks of bookings that fit again are
// cleared. A booking whose worker has not arrived yet and whose new times
// break its own promise is marked at risk (matcher.DisplacedLate). The
// step is pinned to the versions read and started over, with the booking
// read again, on a conflict: no update of the booking or of the worker's
// timeline is lost between two writers.
func (s *Service) rework(ctx context.Context, id string,
	edit func(b *doorstep.Booking, now time.Time) (*doorstep.Booking, string, error)) (*doorstep.Booking, *Replanned, error) {
	for range s.cfg.MaxAttempts {
		now := s.cfg.Now()
		b, err := s.st.GetBooking(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		next, cause, err := edit(b, now)
		if err != nil {
			return nil, nil, err
		}
		if next == nil {
			return b, &Replanned{}, nil
		}
		ws, err := s.st.LoadWorker(ctx, b.WorkerID, now.Add(-dayReach), now.Add(replanReach))
		if err != nil {
			return nil, nil, err
		}
		late := next.AtRisk == nil && !next.Terminal() && breaksPromise(next, now)
		if late {
			next.AtRisk = &doorstep.AtRisk{Reason: matcher.DisplacedLate, Since: now}
		}
		kept, ds := s.m.Overran(ws.Worker, ws.Bookings, next, now)
		rp, err := s.relocate(ctx, b.WorkerID, ws, kept, ds, []*doorstep.Booking{next}, now, cause)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
			s.cfg.Observer.Conflict()
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if late {
			rp.AtRisk++
			s.cfg.Observer.Replanned(cause, 0, 1)
		}
		return next, rp, nil
	}
	return nil, nil, doorstep.Errorf(doorstep.ECONFLICT, "", "the bookings of booking %s's worker kept changing; retry", id)
}

// breaksPromise reports whether booking b, whose worker has not arrived
// yet, now arrives (urgent) or starts (normal) later than its promise
// allows.
func breaksPromise(b *doorstep.Booking, now time.Time) bool {
	if st := b.State(); (st != doorstep.StatusConfirmed && st != doorstep.ProgressEnRoute) || !b.Arrival.After(now) {
		return false
	}
	job := schedule.JobFor(b.Request(), now)
	if b.Urgency == doorstep.Urgent {
		return b.Arrival.After(job.LatestArrival)
	}
	return b.Start.After(job.LatestStart)
}
