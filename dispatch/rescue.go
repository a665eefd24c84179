package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
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

// errRescueLost reports that a rescue lost a race; the caller starts over.
var errRescueLost = errors.New("rescue lost a race")

// rescueOf describes plan rp as the answer shows it.
func rescueOf(rp *matcher.RescuePlan) *Rescue {
	return &Rescue{MovedBookingID: rp.Moved.ID, MovedOwner: rp.Moved.Owner, FromWorker: rp.Moved.WorkerID, ToWorker: rp.To.WorkerID,
		OldStart: rp.Moved.Start, NewStart: rp.To.Start}
}

// applyRescue books the urgent request and moves the booking of plan rp
// (matcher.PlanRescue) in one atomic store step (both workers are in one
// region, so one hash slot), which also records the move in the audit log
// with its reason (doorstep.ChangeRescue): the moved booking's owner may be
// another booking system.
func (s *Service) applyRescue(ctx context.Context, req *doorstep.Request, rp *matcher.RescuePlan, owner string, now time.Time) (*doorstep.Booking, error) {
	ub := matcher.BookingFor(req, &rp.Urgent, store.NewBookingID(rp.Region), owner, now)
	to := rp.To
	err := s.st.Apply(ctx, store.Change{Region: rp.Region, Expect: rp.Expect, Create: []*doorstep.Booking{ub}, Update: []*doorstep.Booking{&to},
		Reason: doorstep.ChangeRescue})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
		s.cfg.Observer.Conflict()
		return nil, errRescueLost
	}
	if err != nil {
		return nil, fmt.Errorf("rescue urgent request by moving booking %s: %w", rp.Moved.ID, err)
	}
	s.cfg.Observer.Rescued()
	return ub, nil
}
