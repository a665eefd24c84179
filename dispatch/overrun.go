package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/doorstep-dev/doorstep"
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
// it), even past the end of its shift. It is the use case behind the job
// progress a worker will report (a later API).
func (s *Service) Overrun(ctx context.Context, id string, expectedEnd time.Time) (*doorstep.Booking, *Replanned, error) {
	if err := doorstep.CheckTime("expected_end", expectedEnd); err != nil {
		return nil, nil, err
	}
	for range s.cfg.MaxAttempts {
		now := s.cfg.Now()
		b, err := s.st.GetBooking(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case b.Status != doorstep.StatusConfirmed:
			return nil, nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is %s", id, b.Status)
		case now.Before(b.Arrival):
			return nil, nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is not under way yet", id)
		case !expectedEnd.After(b.End) || !expectedEnd.After(now):
			return nil, nil, doorstep.Errorf(doorstep.EINVALID, "expected_end", "expected_end must be later than the booking's planned end and than now")
		}
		ws, err := s.st.LoadWorker(ctx, b.WorkerID, now.Add(-dayReach), now.Add(replanReach))
		if err != nil {
			return nil, nil, err
		}
		late := *b
		late.Touch(now, doorstep.ChangeOverrun)
		late.End = expectedEnd
		late.AtRisk = b.AtRisk // running late settles nothing (its worker may be retired)
		kept, ds := s.m.Overran(ws.Worker, ws.Bookings, &late, now)
		rp, err := s.relocate(ctx, b.WorkerID, ws, kept, ds, []*doorstep.Booking{&late}, now, CauseOverrun)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
			s.cfg.Observer.Conflict()
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		return &late, rp, nil
	}
	return nil, nil, doorstep.Errorf(doorstep.ECONFLICT, "", "the bookings of booking %s's worker kept changing; retry", id)
}
