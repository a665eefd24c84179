package api

import (
	"context"
	"net/http"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/go-chi/chi/v5"
)

// progressBody is a job progress report.
type progressBody struct {
	Status          string        `json:"status"`
	At              *time.Time    `json:"at"`
	ExpectedEnd     *time.Time    `json:"expected_end"`
	ExpectedArrival *time.Time    `json:"expected_arrival"`
	Position        *positionBody `json:"position"`
}

// positionBody is where the worker is; both coordinates are required.
type positionBody struct {
	Lat *float64 `json:"lat"`
	Lng *float64 `json:"lng"`
}

// progressOut answers a progress report: the booking as it now is and
// what the re-plan of its worker's day did.
type progressOut struct {
	Booking   bookingJSON    `json:"booking"`
	Replanned *replannedJSON `json:"replanned"`
}

// handleProgress applies a progress report (dispatch.Service.Progress). A
// field key reports only its own worker's bookings; ops and admin any; a
// booking key none (it speaks for the household, not the worker).
func (s *Server) handleProgress(w http.ResponseWriter, r *http.Request) {
	var body progressBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Status == "" {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "status", "status is required"))
		return
	}
	rep := dispatch.Report{ProgressAt: doorstep.ProgressAt{Status: body.Status}}
	if pos := body.Position; pos != nil {
		switch {
		case pos.Lat == nil:
			s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "position.lat", "position.lat is required"))
			return
		case pos.Lng == nil:
			s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "position.lng", "position.lng is required"))
			return
		}
		rep.Position = &doorstep.Location{Lat: *pos.Lat, Lng: *pos.Lng}
	}
	for _, t := range []struct {
		to   *time.Time
		from *time.Time
	}{{&rep.At, body.At}, {&rep.ExpectedEnd, body.ExpectedEnd}, {&rep.ExpectedArrival, body.ExpectedArrival}} {
		if t.from != nil {
			*t.to = *t.from
		}
	}
	if p := principalFrom(r.Context()); p.Role == RoleField {
		rep.Worker = p.Worker
	}
	b, rp, err := s.svc.Progress(r.Context(), chi.URLParam(r, "id"), rep)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.progress.WithLabelValues(body.Status).Inc()
	writeJSON(w, http.StatusOK, progressOut{Booking: bookingOut(b), Replanned: replannedOut(rp)})
}

// booking reads booking id as p may see it: a booking key its own
// bookings, a field key its worker's (another's is EFORBIDDEN), an admin
// every one.
func (s *Server) booking(ctx context.Context, id string, p Principal) (*doorstep.Booking, error) {
	if p.Role != RoleField {
		return s.svc.Booking(ctx, id, p.owner())
	}
	b, err := s.svc.Booking(ctx, id, "")
	if err != nil {
		return nil, err
	}
	if b.WorkerID != p.Worker {
		return nil, doorstep.Errorf(doorstep.EFORBIDDEN, "", "booking %s is not worker %s's", id, p.Worker)
	}
	return b, nil
}
