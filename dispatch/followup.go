package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
)

// FollowUpStore keeps follow-ups and feedback (*store.Store on Redis). It
// is apart from Store so that a Store that keeps none (a what-if) needs
// none of it: Config.Store is used when it implements it.
type FollowUpStore interface {
	OpenFollowUp(ctx context.Context, f *doorstep.FollowUp) (*doorstep.FollowUp, bool, error)
	OpenFollowUps(ctx context.Context, q store.FollowUpQuery) (store.FollowUpPage, error)
	RecordFeedback(ctx context.Context, bookingID string, fb doorstep.Feedback, now time.Time) (*doorstep.FollowUp, bool, error)
	RateWorker(ctx context.Context, workerID string, rate func(store.FeedbackTally) float64) error
	OverdueFollowUps(ctx context.Context, now time.Time) (int64, error)
	// PublishEvent announces a follow-up opened (store.FollowUpDueEvent).
	PublishEvent(ctx context.Context, ev store.Event) error
}

var _ FollowUpStore = (*store.Store)(nil)

// followUps is the store's FollowUpStore, or an internal error when it
// keeps none.
func (s *Service) followUps() (FollowUpStore, error) {
	if fs, ok := s.st.(FollowUpStore); ok {
		return fs, nil
	}
	return nil, errors.New("dispatch: the store keeps no follow-ups")
}

// OpenFollowUp opens the follow-up of booking b, completed at completedAt:
// due doorstep.FollowUpWindow later, for the booking's owner to close with
// a feedback. The completion of a booking calls it. Opening it again (a
// repeated completion report) changes nothing and returns the follow-up
// first opened, with created false: a "follow-up due" event is for a
// created one.
func (s *Service) OpenFollowUp(ctx context.Context, b *doorstep.Booking, completedAt time.Time) (f *doorstep.FollowUp, created bool, err error) {
	fs, err := s.followUps()
	if err != nil {
		return nil, false, err
	}
	if b.Status == doorstep.StatusCancelled {
		return nil, false, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is cancelled: it has no follow-up", b.ID)
	}
	f = &doorstep.FollowUp{BookingID: b.ID, WorkerID: b.WorkerID, Service: b.Service, Owner: b.Owner,
		CompletedAt: completedAt, Due: completedAt.Add(doorstep.FollowUpWindow)}
	f, created, err = fs.OpenFollowUp(ctx, f)
	if err != nil {
		return nil, false, fmt.Errorf("open the follow-up of booking %s: %w", b.ID, err)
	}
	return f, created, nil
}

// OpenFollowUps pages through the open follow-ups by due time (the
// operators' list).
func (s *Service) OpenFollowUps(ctx context.Context, q store.FollowUpQuery) (store.FollowUpPage, error) {
	fs, err := s.followUps()
	if err != nil {
		return store.FollowUpPage{}, err
	}
	return fs.OpenFollowUps(ctx, q)
}

// OverdueFollowUps counts the open follow-ups past their due time.
func (s *Service) OverdueFollowUps(ctx context.Context) (int64, error) {
	fs, err := s.followUps()
	if err != nil {
		return 0, err
	}
	return fs.OverdueFollowUps(ctx, s.cfg.Now())
}

// Feedback records owner's feedback fb on booking id: it closes the
// booking's follow-up and sets its worker's rating to the smoothed average
// of every feedback the worker has (doorstep.SmoothedRating), which the
// matcher ranks by. Only the booking's owner may give it (another owner's
// booking is not found); only for a completed booking (its follow-up
// open; ECONFLICT otherwise); and once: the same feedback again answers
// the recorded one with replay true (and finishes the rating, should the
// first attempt have stopped before it), another one is ECONFLICT.
func (s *Service) Feedback(ctx context.Context, id, owner string, fb doorstep.Feedback) (f *doorstep.FollowUp, replay bool, err error) {
	if err := fb.Validate(); err != nil {
		return nil, false, err
	}
	fs, err := s.followUps()
	if err != nil {
		return nil, false, err
	}
	b, err := s.st.GetBooking(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if b.Owner != owner {
		return nil, false, doorstep.Errorf(doorstep.ENOTFOUND, "", "booking %s not found", id)
	}
	f, replay, err = fs.RecordFeedback(ctx, id, fb, s.cfg.Now())
	if err != nil {
		return nil, false, err
	}
	if err := s.rate(ctx, fs, f.WorkerID); err != nil {
		return nil, false, err
	}
	return f, replay, nil
}

// rate sets worker id's rating from its feedback tally. A retired worker
// has no profile to rate.
func (s *Service) rate(ctx context.Context, fs FollowUpStore, id string) error {
	err := fs.RateWorker(ctx, id, func(t store.FeedbackTally) float64 { return doorstep.SmoothedRating(t.N, t.Sum) })
	if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
		return nil
	}
	return err
}
