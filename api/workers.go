package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/go-chi/chi/v5"
)

func (s *Server) handlePutWorker(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	var wk doorstep.Worker
	if err := decode(r, &wk); err != nil {
		s.writeError(w, r, err)
		return
	}
	if wk.ID == "" {
		wk.ID = id
	} else if wk.ID != id {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "id", "the body's id %q differs from the path's %q", wk.ID, id))
		return
	}
	created, rp, err := s.svc.PutWorker(r.Context(), &wk)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, workerChangedJSON{Worker: workerOut(&wk), Replanned: replannedOut(rp)})
}

func (s *Server) handleGetWorker(w http.ResponseWriter, r *http.Request) {
	wk, err := s.svc.Worker(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, workerOut(wk))
}

func (s *Server) handleDeleteWorker(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	rp, err := s.svc.RetireWorker(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, retiredJSON{ID: id, Replanned: replannedOut(rp)})
}

func (s *Server) handleAbsence(w http.ResponseWriter, r *http.Request) {
	var body absenceBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.From == nil {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "from", "from is required"))
		return
	}
	if body.To == nil {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "to", "to is required"))
		return
	}
	wk, rp, err := s.svc.Absent(r.Context(), chi.URLParam(r, "id"), doorstep.Window{Start: *body.From, End: *body.To})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, workerChangedJSON{Worker: workerOut(wk), Replanned: replannedOut(rp)})
}

func (s *Server) handleAtRisk(w http.ResponseWriter, r *http.Request) {
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bs, err := s.svc.AtRisk(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Bookings []bookingJSON `json:"bookings"`
	}{Bookings: bookingsOut(bs)})
}

func (s *Server) handleLocation(w http.ResponseWriter, r *http.Request) {
	var body locationBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Lat == nil {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "lat", "lat is required"))
		return
	}
	if body.Lng == nil {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "lng", "lng is required"))
		return
	}
	var at time.Time
	if body.At != nil {
		at = *body.At
	}
	loc := doorstep.Location{Lat: *body.Lat, Lng: *body.Lng}
	if err := loc.Validate("location"); err != nil {
		// The body's fields are lat and lng, not location.lat and .lng.
		var e *doorstep.Error
		if errors.As(err, &e) {
			e.Field = strings.TrimPrefix(e.Field, "location.")
		}
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.Locate(r.Context(), chi.URLParam(r, "id"), loc, at); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleWorkerBookings(w http.ResponseWriter, r *http.Request) {
	now := s.svc.Now()
	from, err := timeParam(r, "from", now.Add(-24*time.Hour))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	to, err := timeParam(r, "to", from.Add(7*24*time.Hour))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bs, err := s.svc.WorkerBookings(r.Context(), chi.URLParam(r, "id"), from, to)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Bookings []bookingJSON `json:"bookings"`
	}{Bookings: make([]bookingJSON, 0, len(bs))}
	for _, b := range bs {
		out.Bookings = append(out.Bookings, bookingOut(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// timeParam reads an RFC 3339 query parameter, def when absent.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	var t time.Time
	if err := t.UnmarshalText([]byte(v)); err != nil {
		return time.Time{}, doorstep.Errorf(doorstep.EINVALID, name, "must be an RFC 3339 time such as 2026-11-23T09:00:00Z")
	}
	return t, doorstep.CheckTime(name, t)
}

func errNotFound(msg string) error { return doorstep.Errorf(doorstep.ENOTFOUND, "", "%s", msg) }

func errMethod(method string) error {
	return &doorstep.Error{Code: "method_not_allowed", Message: "method " + method + " is not allowed on this route"}
}

// workerOut is a worker as answered: lists are [] rather than null.
func workerOut(w *doorstep.Worker) *doorstep.Worker {
	c := *w
	if c.Shifts == nil {
		c.Shifts = []doorstep.Shift{}
	}
	if c.Skills == nil {
		c.Skills = []string{}
	}
	return &c
}
