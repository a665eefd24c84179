package matcher

import (
	"time"

	"github.com/doorstep-dev/doorstep"
)

// BookingFor is the new booking (version 1, made at clock reading now) of
// option o for req, with id and owner (the API key that books). The server
// stores it; the simulator keeps it so that a rescue may move it.
func BookingFor(req *doorstep.Request, o *Option, id, owner string, now time.Time) *doorstep.Booking {
	return &doorstep.Booking{
		ID:               id,
		WorkerID:         o.WorkerID,
		Service:          req.Service,
		Urgency:          req.Urgency,
		RequestedAt:      req.RequestedAt,
		Deadline:         req.Deadline(),
		Start:            o.Slot.Start,
		End:              o.Slot.End,
		Arrival:          o.Slot.Arrival,
		Status:           doorstep.StatusConfirmed,
		Location:         req.Location,
		Window:           req.Window,
		CustomerID:       req.CustomerID,
		Owner:            owner,
		Skills:           req.Skills,
		Certificates:     req.Certificates,
		PreferredWorkers: req.PreferredWorkers,
		ExcludedWorkers:  req.ExcludedWorkers,
		Version:          1,
		UpdatedAt:        now,
	}
}
