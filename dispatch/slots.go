package dispatch

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// Bounds of a slot query (Service.Slots).
const (
	// DefaultSlotLength is the length of an offered start window unless
	// the query says otherwise.
	DefaultSlotLength = 2 * time.Hour
	// MinSlotLength and MaxSlotLength bound it.
	MinSlotLength = 15 * time.Minute
	MaxSlotLength = 24 * time.Hour
	// DefaultSlotLimit is how many slots are offered unless the query says
	// otherwise; MaxSlotLimit bounds it.
	DefaultSlotLimit = 20
	MaxSlotLimit     = 500
	// MaxSlots bounds the windows one query evaluates ((to - from) /
	// length): a week of quarter hours.
	MaxSlots = 7 * 24 * 4
)

// SlotQuery asks for the start windows in which a normal request without a
// window could be booked: the windows of Minutes that tile [From, To) from
// From (a last window that would end after To is not offered).
type SlotQuery struct {
	Request  doorstep.Request
	From, To time.Time
	// Minutes is each window's length; 0 means DefaultSlotLength.
	Minutes int
	// Limit is how many slots to offer at most; 0 means DefaultSlotLimit.
	Limit int
}

// Offer is a start window the company can serve, with the best option a
// booking of the request in that window would have as things stand (its
// cost and breakdown; its worker is who would be booked now, not a
// promise).
type Offer struct {
	Window doorstep.Window
	Option matcher.Option
	// Price is what the option would cost booked now (Service.Price: the
	// catalogue's tariff at the option's start and for its length); nil for
	// an unpriced service.
	Price *doorstep.Price
}

// check reports the first problem with q at clock reading now, within
// horizon, naming the query's field, fills its defaults and returns the
// windows' length.
func (q *SlotQuery) check(now time.Time, horizon time.Duration) (time.Duration, error) {
	switch {
	case q.Request.Window != nil:
		return 0, doorstep.Errorf(doorstep.EINVALID, "request.window", "a slot query takes a request without a window: the offered slots are its windows")
	case q.Request.Urgency != doorstep.Normal:
		return 0, doorstep.Errorf(doorstep.EINVALID, "request.urgency", "only normal requests are booked in offered slots (an urgent one is served within the hour)")
	case q.Minutes == 0:
		q.Minutes = int(DefaultSlotLength.Minutes())
	}
	length := time.Duration(q.Minutes) * time.Minute
	switch {
	case q.Minutes < int(MinSlotLength.Minutes()) || q.Minutes > int(MaxSlotLength.Minutes()):
		return 0, doorstep.Errorf(doorstep.EINVALID, "slot_minutes", "slot_minutes must be a whole number in [%d, %d]", int(MinSlotLength.Minutes()), int(MaxSlotLength.Minutes()))
	case q.Limit == 0:
		q.Limit = DefaultSlotLimit
	}
	switch last := now.Add(horizon); {
	case q.Limit < 1 || q.Limit > MaxSlotLimit:
		return 0, doorstep.Errorf(doorstep.EINVALID, "limit", "limit must be in [1, %d]", MaxSlotLimit)
	case q.From.IsZero():
		return 0, doorstep.Errorf(doorstep.EINVALID, "from", "from is required")
	case q.To.IsZero():
		return 0, doorstep.Errorf(doorstep.EINVALID, "to", "to is required")
	case q.To.Sub(q.From) < length:
		return 0, doorstep.Errorf(doorstep.EINVALID, "to", "to must be at least one slot (%d minutes) after from", int(length.Minutes()))
	case !q.To.After(now):
		return 0, doorstep.Errorf(doorstep.EINVALID, "to", "the range has already passed")
	case q.To.After(last):
		return 0, doorstep.Errorf(doorstep.EINVALID, "to", "to must lie within the booking horizon of %s (by %s)", doorstep.Days(horizon), last.Format(time.RFC3339))
	case q.To.Sub(q.From)/length > MaxSlots:
		return 0, doorstep.Errorf(doorstep.EINVALID, "slot_minutes", "the range holds %d slots of %d minutes, more than %d: ask for a shorter range or longer slots",
			q.To.Sub(q.From)/length, int(length.Minutes()), MaxSlots)
	}
	return length, nil
}

// Slots offers the start windows of q in which its request could be booked
// for owner (whose customer history it reads, as Book does), cheapest first
// (ties by start), each with the best option there as things stand, at
// most q.Limit. It reserves nothing: booking one of them afterwards (a
// normal request with that window) succeeds unless the workers' days
// changed in between. Windows that have passed are not offered; one under
// way is, for the starts it has left.
//
// The candidates are read once for the whole range (one search with the
// range as the request's window, their bookings over its days), and every
// window is evaluated on them in memory: a booking of a window searches no
// fewer candidates (a worker who could serve the window could serve the
// range, so its search widens at least as far), so an offered window is
// bookable while nothing changes. An offer is a plain option; a booking may
// also be served by moving other bookings (a rescue), which offers do not
// plan.
func (s *Service) Slots(ctx context.Context, q SlotQuery, owner string) ([]Offer, error) {
	now := s.cfg.Now()
	length, err := q.check(now, s.cfg.Horizon)
	if err != nil {
		return nil, err
	}
	req := q.Request
	req.Window = &doorstep.Window{Start: q.From, End: q.To}
	if err := s.Prepare(&req); err != nil {
		return nil, err
	}
	p, hist, err := s.poolFor(ctx, &req, owner, now)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	var offers []Offer
	for start := q.From; !start.Add(length).After(q.To); start = start.Add(length) {
		w := doorstep.Window{Start: start, End: start.Add(length)}
		if !w.End.After(now) {
			continue
		}
		r := req
		r.Window = &w
		if o, ok := s.m.Best(&r, p.cands, now, hist); ok {
			offers = append(offers, Offer{Window: w, Option: o})
		}
	}
	s.cfg.Observer.Matched(req.Urgency, len(p.cands), time.Since(t0))
	slices.SortStableFunc(offers, func(a, b Offer) int {
		return cmp.Or(cmp.Compare(a.Option.Cost, b.Option.Cost), a.Window.Start.Compare(b.Window.Start))
	})
	offers = offers[:min(len(offers), q.Limit)]
	for i := range offers {
		offers[i].Price = s.Price(&req, offers[i].Option.Slot.Start, offers[i].Option.Slot.End)
	}
	return offers, nil
}
