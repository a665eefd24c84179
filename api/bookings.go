package api

import (
	"context"
	"net/http"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/go-chi/chi/v5"
)

func (s *Server) handleMatch(w http.ResponseWriter, r *http.Request) {
	var body requestBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := body.request("")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalFrom(r.Context())
	q, err := s.svc.Quote(r.Context(), req, p.KeyID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := matchOut(q, p)
	if body, ok := out.appendJSON(make([]byte, 0, 2048)); ok {
		writeBody(w, http.StatusOK, "application/json", body)
		return
	}
	writeJSON(w, http.StatusOK, out) // what encoding/json answers
}

// bookBody is a booking request: a household request, optionally recurring.
type bookBody struct {
	requestBody
	Recurrence *recurrenceBody `json:"recurrence,omitempty"`
}

type recurrenceBody struct {
	IntervalDays int    `json:"interval_days"`
	Count        int    `json:"count"`
	RRule        string `json:"rrule"`
	TimeZone     string `json:"time_zone"`
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// handleBook books the best worker, or a recurring series. With an
// Idempotency-Key header, a retried request (same key, same body, same
// caller) gets the first answer again instead of a second booking.
func (s *Server) handleBook(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r.Header)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	raw, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body bookBody
	if err := decodeBytes(raw, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := body.request("")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	scope := principalFrom(r.Context()).KeyID
	// Every booking change is audited by the change itself (store.Apply);
	// a refusal is audited here.
	book := func(ctx context.Context) (*dispatch.Made, error) {
		if rc := body.Recurrence; rc != nil {
			out, err := s.svc.BookSeries(ctx, req, dispatch.Recurrence(*rc), scope)
			if err != nil {
				s.audit(r, auditCreate, "", err)
				return nil, err
			}
			return &dispatch.Made{Series: out}, nil
		}
		bk, err := s.svc.Book(ctx, req, scope)
		if err != nil {
			s.audit(r, auditCreate, "", err)
			return nil, err
		}
		return &dispatch.Made{Booked: bk}, nil
	}
	if key == "" {
		m, err := book(r.Context())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", madeLocation(m))
		body, err := madeJSON(m, principalFrom(r.Context()))
		writeEncoded(w, http.StatusCreated, "application/json", body, err)
		return
	}
	region := "" // where it will most likely book; none for a bad location (refused later)
	if req.Location.Validate("location") == nil {
		region = geo.RegionOf(req.Location).String()
	}
	s.bookOnce(w, r, key, bodyFingerprint(&body), region, req.CustomerID, book)
}

func (s *Server) handleGetBooking(w http.ResponseWriter, r *http.Request) {
	b, err := s.booking(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bookingOut(b))
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	b, err := s.svc.Cancel(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()).owner())
	if err != nil {
		s.audit(r, auditCancel, chi.URLParam(r, "id"), err)
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bookingOut(b))
}

type rescheduleBody struct {
	Window *doorstep.Window `json:"window"`
}

func (s *Server) handleReschedule(w http.ResponseWriter, r *http.Request) {
	var body rescheduleBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Window == nil {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "window", "window is required"))
		return
	}
	b, err := s.svc.Reschedule(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()).owner(), *body.Window)
	if err != nil {
		s.audit(r, auditReschedule, chi.URLParam(r, "id"), err)
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bookingOut(b))
}

func (s *Server) handleCancelSeries(w http.ResponseWriter, r *http.Request) {
	out, err := s.svc.CancelSeries(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()).owner())
	if err != nil {
		s.audit(r, auditCancel, "", err)
		s.writeError(w, r, err)
		return
	}
	res := struct {
		SeriesID  string        `json:"series_id"`
		Cancelled []bookingJSON `json:"cancelled"`
		Kept      []bookingJSON `json:"kept"`
	}{SeriesID: out.SeriesID, Cancelled: bookingsOut(out.Cancelled), Kept: bookingsOut(out.Kept)}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleGetSeries(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	v, err := s.svc.Series(r.Context(), id, principalFrom(r.Context()).owner())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, seriesViewOut(v))
}
