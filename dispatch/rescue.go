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

// Rescue describes one booking moved, inside its promise, to make room
// for a request nobody could otherwise serve (matcher.PlanRescue): a
// normal one, or for an urgent request an urgent one (matcher.MayMove).
// The moved booking may be another owner's: show MovedBookingID only to
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

// rescuesOf describes every move of plan rp as the answer shows it, in
// the plan's order (the move off the freed worker first).
func rescuesOf(rp *matcher.RescuePlan) []Rescue {
	out := make([]Rescue, len(rp.Moves))
	for i, mv := range rp.Moves {
		out[i] = Rescue{MovedBookingID: mv.From.ID, MovedOwner: mv.From.Owner, FromWorker: mv.From.WorkerID, ToWorker: mv.To.WorkerID,
			OldStart: mv.From.Start, NewStart: mv.To.Start}
	}
	return out
}

// applyRescue books req and moves every booking of plan rp
// (matcher.PlanRescue) in one atomic store step: every touched worker is
// in the plan's region, so one hash slot, and pinned at the version the
// plan was made at. The same step records each move in the audit log with
// its reason (doorstep.ChangeRescue): a moved booking's owner may be
// another booking system.
func (s *Service) applyRescue(ctx context.Context, req *doorstep.Request, rp *matcher.RescuePlan, owner string, now time.Time) (*doorstep.Booking, error) {
	nb := s.newBooking(req, &rp.Option, rp.Region, owner, now)
	update := make([]*doorstep.Booking, len(rp.Moves))
	for i := range rp.Moves {
		to := rp.Moves[i].To
		update[i] = &to
	}
	err := s.st.Apply(ctx, store.Change{Region: rp.Region, Expect: rp.Expect, Create: []*doorstep.Booking{nb}, Update: update,
		Reason: doorstep.ChangeRescue})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotConfirmed) {
		s.cfg.Observer.Conflict()
		return nil, errRescueLost
	}
	if err != nil {
		return nil, fmt.Errorf("make room for the request by moving booking %s: %w", rp.Moves[0].From.ID, err)
	}
	s.cfg.Observer.Rescued(req.Urgency, len(rp.Moves))
	for i := range rp.Moves {
		s.overtime(rp.Moves[i].Option.Slot.Overtime)
	}
	return nb, nil
}
