package dispatch

import (
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// Price is what a job of req's service and urgency costs when it starts at
// start and ends at end, by the catalogue in use (doorstep.Tariff.Price in
// the catalogue's pricing time zone); nil for an unpriced service. It is
// the price every booking is made at, and the one quotes show.
func (s *Service) Price(req *doorstep.Request, start, end time.Time) *doorstep.Price {
	return s.cfg.Catalogue.Price(req.Service, req.Urgency, start, end.Sub(start))
}

// newBooking is the booking of option o for req (matcher.BookingFor) in
// region, with a new id and its price fixed: the booking keeps it.
func (s *Service) newBooking(req *doorstep.Request, o *matcher.Option, region, owner string, now time.Time) *doorstep.Booking {
	b := matcher.BookingFor(req, o, store.NewBookingID(region), owner, now)
	b.Price = s.Price(req, b.Start, b.End)
	return b
}

// priced fills q.Prices, one per option.
func (s *Service) priced(q *Quote) *Quote {
	q.Prices = make([]*doorstep.Price, len(q.Options))
	for i := range q.Options {
		q.Prices[i] = s.Price(q.Request, q.Options[i].Slot.Start, q.Options[i].Slot.End)
	}
	return q
}
