package api

import (
	"cmp"
	"net/http"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// slotsBody asks for the start windows a request could be booked in
// (dispatch.SlotQuery).
type slotsBody struct {
	Request     *requestBody `json:"request"`
	From        *time.Time   `json:"from"`
	To          *time.Time   `json:"to"`
	SlotMinutes *int         `json:"slot_minutes,omitempty"`
	Limit       *int         `json:"limit,omitempty"`
}

// slotJSON is one offered start window: a booking of the request with
// this window is served inside it, as things stand. The worker who would
// take it now is not shown: an offer reserves nobody, and the booking
// picks the best worker when it is made.
type slotJSON struct {
	Start     time.Time     `json:"start"`
	End       time.Time     `json:"end"`
	Cost      float64       `json:"cost"`
	Breakdown breakdownJSON `json:"breakdown"`
	// Price is what the best booking in this window would cost as things
	// stand (a booking's price is fixed when it is made, at its own start
	// and length); absent for an unpriced service.
	Price *doorstep.Price `json:"price,omitempty"`
}

type slotsJSON struct {
	Slots []slotJSON `json:"slots"`
	// Rule is the promise a booking of an offered window is held to.
	Rule string `json:"rule"`
}

// handleSlots offers the windows a request could be booked in, cheapest
// first. It reserves nothing.
func (s *Server) handleSlots(w http.ResponseWriter, r *http.Request) {
	var body slotsBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	q, err := body.query()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	offers, err := s.svc.Slots(r.Context(), q, principalFrom(r.Context()).KeyID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := slotsJSON{Slots: make([]slotJSON, 0, len(offers)), Rule: doorstep.RuleAppointment}
	for _, o := range offers {
		out.Slots = append(out.Slots, slotJSON{Start: o.Window.Start, End: o.Window.End,
			Cost: round2(o.Option.Cost), Breakdown: breakdownOut(o.Option.Breakdown), Price: o.Price})
	}
	writeJSON(w, http.StatusOK, out)
}

// query checks what JSON cannot and returns the domain query; ranges and
// bounds are checked by dispatch.
func (b *slotsBody) query() (dispatch.SlotQuery, error) {
	var q dispatch.SlotQuery
	if b.Request == nil {
		return q, doorstep.Errorf(doorstep.EINVALID, "request", "request is required")
	}
	req, err := b.Request.request("request.")
	if err != nil {
		return q, err
	}
	q.Request = req
	if b.From == nil {
		return q, doorstep.Errorf(doorstep.EINVALID, "from", "from is required")
	}
	if b.To == nil {
		return q, doorstep.Errorf(doorstep.EINVALID, "to", "to is required")
	}
	q.From, q.To = *b.From, *b.To
	// An explicit 0 is out of range, not the default: -1 says so.
	if b.SlotMinutes != nil {
		q.Minutes = cmp.Or(*b.SlotMinutes, -1)
	}
	if b.Limit != nil {
		q.Limit = cmp.Or(*b.Limit, -1)
	}
	return q, nil
}
