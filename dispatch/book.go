package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// Booked is the outcome of Book: the confirmed booking and, when normal
// bookings had to move to make room for it, the moves.
type Booked struct {
	Booking *doorstep.Booking
	// Rescue is the first move (the one off the worker who took the
	// request), kept for the answer's `rescue` field; Moves lists every
	// move, Rescue first.
	Rescue *Rescue
	Moves  []Rescue
	// Cost is the soft cost of the option booked (matcher.Option.Cost).
	Cost float64
}

// Book matches req and reserves the best option atomically. When a
// reservation loses a race (the worker's timeline changed since it was
// read) the next option is tried; when every option of a round lost, the
// candidates are read again, up to MaxAttempts rounds. A request (urgent
// or normal) that no candidate can serve within its class is served when
// moving up to matcher.MaxRescueMoves not-yet-started bookings (normal;
// urgent too for an urgent request) inside their promises makes room (matcher.PlanRescue), in one atomic
// step; a plan that loses a race is made again. owner names the API key
// that books: the tenant whose customer history the booking reads and
// writes (an empty owner keeps none).
func (s *Service) Book(ctx context.Context, req doorstep.Request, owner string) (*Booked, error) {
	if err := s.Prepare(&req); err != nil {
		return nil, err
	}
	return s.book(ctx, &req, owner, true)
}

// book is Book for a request Prepare has resolved and checked; with
// record it also counts the request as urgent demand (recordUrgent), which
// a caller that counted it already does not ask for.
func (s *Service) book(ctx context.Context, req *doorstep.Request, owner string, record bool) (*Booked, error) {
	ctx, hist, err := s.historyBefore(ctx, owner, req.CustomerID, geo.RegionOf(req.Location).String())
	if err != nil {
		return nil, err
	}
	if record {
		s.recordUrgent(ctx, req, s.cfg.Now())
	}
	for range s.cfg.MaxAttempts {
		now := s.cfg.Now()
		p, res, err := s.matchPool(ctx, req, now, hist)
		if err != nil {
			return nil, err
		}
		if len(res.Options) == 0 {
			rp := s.planRescue(&p, req, now, hist)
			if rp == nil {
				err := s.unservable(req, p, &res, now, hist)
				p.done()
				return nil, err
			}
			p.done() // the plan is made; applying it is one write
			b, err := s.applyRescue(ctx, req, rp, owner, now)
			switch {
			case errors.Is(err, errRescueLost):
				continue
			case err != nil:
				return nil, err
			}
			s.booked(ctx, owner, req, b, rp.Option.Slot.Overtime)
			moves := rescuesOf(rp)
			return &Booked{Booking: b, Rescue: &moves[0], Moves: moves, Cost: rp.Option.Cost}, nil
		}
		p.done()
		for i := range res.Options {
			b, err := s.reserve(ctx, req, &res.Options[i], p.region(res.Options[i].WorkerID), owner, now)
			if errors.Is(err, store.ErrConflict) {
				s.cfg.Observer.Conflict()
				continue
			}
			if err != nil {
				return nil, err
			}
			s.booked(ctx, owner, req, b, res.Options[i].Slot.Overtime)
			return &Booked{Booking: b, Cost: res.Options[i].Cost}, nil
		}
	}
	return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "every suitable worker was booked by someone else meanwhile; retry")
}

// booked records a confirmed booking, run overtime past its worker's
// shift: metrics, and the last worker of the owner's customer for
// continuity next time.
func (s *Service) booked(ctx context.Context, owner string, req *doorstep.Request, b *doorstep.Booking, overtime time.Duration) {
	s.cfg.Observer.Booked(req.Urgency, req.Rule())
	s.overtime(overtime)
	if req.CustomerID != "" && owner != "" {
		// Continuity is a soft preference: losing it to a Redis hiccup costs
		// a little ranking quality, never a booking, so it is not an error.
		_ = s.st.SetLastWorker(ctx, owner, req.CustomerID, b.WorkerID)
	}
}

// overtime records a booking placed d into its shift's urgent overtime
// (nothing when d is zero).
func (s *Service) overtime(d time.Duration) {
	if d > 0 {
		s.cfg.Observer.Overtime(d)
	}
}

// history reads what owner (the tenant) knows of its customer: another
// tenant's customer of the same id is another household.
func (s *Service) history(ctx context.Context, owner, customerID string) (matcher.History, error) {
	_, h, err := s.historyBefore(ctx, owner, customerID, "")
	return h, err
}

// historyBefore is history for a request in region (none: "") whose
// search for workers comes next: the store reads region's change feed in
// the same round trip when it can (Store.LastWorkerFresh), and the ctx
// returned carries that read to the search, which then needs no read of
// its own.
func (s *Service) historyBefore(ctx context.Context, owner, customerID, region string) (context.Context, matcher.History, error) {
	if customerID == "" || owner == "" {
		return ctx, matcher.History{}, nil // no tenant, no history
	}
	ctx, last, err := s.st.LastWorkerFresh(ctx, owner, customerID, region)
	if err != nil {
		return ctx, matcher.History{}, fmt.Errorf("read customer history: %w", err)
	}
	return ctx, matcher.History{LastWorker: last}, nil
}

// reserve books option o for req through one atomic store step.
func (s *Service) reserve(ctx context.Context, req *doorstep.Request, o *matcher.Option, region, owner string, now time.Time) (*doorstep.Booking, error) {
	b := s.newBooking(req, o, region, owner, now)
	err := s.st.Apply(ctx, store.Change{
		Region: region,
		Expect: map[string]int64{o.WorkerID: o.Version},
		Create: []*doorstep.Booking{b},
	})
	if err != nil {
		return nil, fmt.Errorf("reserve worker %s: %w", o.WorkerID, err)
	}
	return b, nil
}

// Booking returns booking id as seen by owner: a booking of another owner
// is not found. An empty owner sees every booking (the admin role).
func (s *Service) Booking(ctx context.Context, id, owner string) (*doorstep.Booking, error) {
	b, err := s.st.GetBooking(ctx, id)
	if err != nil {
		return nil, err
	}
	if owner != "" && b.Owner != owner {
		return nil, doorstep.Errorf(doorstep.ENOTFOUND, "", "booking %s not found", id)
	}
	return b, nil
}

// Cancel cancels booking id and frees its slot at once. Cancelling a
// cancelled booking returns it unchanged; a booking that has already
// started cannot be cancelled.
func (s *Service) Cancel(ctx context.Context, id, owner string) (*doorstep.Booking, error) {
	b, err := s.Booking(ctx, id, owner)
	if err != nil {
		return nil, err
	}
	if b.Status == doorstep.StatusCancelled {
		return b, nil
	}
	if !s.cfg.Now().Before(b.Start) {
		return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s started at %s and can no longer be cancelled", id, b.Start.Format(time.RFC3339))
	}
	c, err := s.st.CancelBooking(ctx, id, s.cfg.Now())
	if errors.Is(err, store.ErrNotConfirmed) {
		return s.Booking(ctx, id, owner) // cancelled meanwhile: same answer
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}
