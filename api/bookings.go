package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
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
	writeJSON(w, http.StatusOK, matchOut(q, p))
}

// bookBody is a booking request: a household request, optionally recurring.
type bookBody struct {
	requestBody
	Recurrence *recurrenceBody `json:"recurrence,omitempty"`
}

type recurrenceBody struct {
	IntervalDays int `json:"interval_days"`
	Count        int `json:"count"`
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

// handleBook books the best worker, or a recurring series. With an
// Idempotency-Key header, a retried request (same key, same body, same
// caller) gets the first answer again instead of a second booking.
func (s *Server) handleBook(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || strings.ContainsAny(key, "\r\n") {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "Idempotency-Key", "at most %d characters on one line", maxIdempotencyKey))
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
	book := func() (string, any, error) {
		if rc := body.Recurrence; rc != nil {
			out, err := s.svc.BookSeries(r.Context(), req, dispatch.Recurrence{IntervalDays: rc.IntervalDays, Count: rc.Count}, scope)
			if err != nil {
				s.audit(r, auditCreate, "", err)
				return "", nil, err
			}
			for _, b := range out.Bookings {
				s.audit(r, auditCreate, b.ID, nil)
			}
			return "/v1/series/" + out.SeriesID, seriesOut(out), nil
		}
		bk, err := s.svc.Book(r.Context(), req, scope)
		if err != nil {
			s.audit(r, auditCreate, "", err)
			return "", nil, err
		}
		s.audit(r, auditCreate, bk.Booking.ID, nil)
		if bk.Rescue != nil {
			s.audit(r, auditMove, bk.Rescue.MovedBookingID, nil)
		}
		return "/v1/bookings/" + bk.Booking.ID, bookedOut(bk, principalFrom(r.Context())), nil
	}
	if key == "" {
		loc, v, err := book()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", loc)
		writeJSON(w, http.StatusCreated, v)
		return
	}
	sum := sha256.Sum256(raw)
	fingerprint := hex.EncodeToString(sum[:])
	rec, fresh, err := s.st.BeginIdempotent(r.Context(), scope, key, fingerprint, s.idemTTL)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !fresh {
		switch {
		case rec.Fingerprint != fingerprint:
			s.writeError(w, r, &doorstep.Error{Code: codeIdempotencyKeyReused, Field: "Idempotency-Key", Message: "this key was used with a different request body"})
		case rec.Pending:
			s.writeError(w, r, doorstep.Errorf(doorstep.ECONFLICT, "Idempotency-Key", "a request with this key is still in progress"))
		default:
			w.Header().Set("Idempotent-Replayed", "true")
			if loc := replayLocation(rec.Body); loc != "" {
				w.Header().Set("Location", loc)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(rec.Body)))
			w.WriteHeader(rec.Status)
			_, _ = w.Write(rec.Body)
		}
		return
	}
	loc, v, err := book()
	ctx, cancel := settle(r, err)
	defer cancel()
	if err != nil {
		// Nothing was booked: let the client retry with the same key.
		// (After EUNAVAILABLE something may have been, and ctx has run
		// out with the request's deadline: the key stays pending.)
		_ = s.st.AbortIdempotent(ctx, scope, key)
		s.writeError(w, r, err)
		return
	}
	out, _ := json.Marshal(v)
	out = append(out, '\n')
	if err := s.st.FinishIdempotent(ctx, scope, key, http.StatusCreated, out); err != nil {
		s.log.WarnContext(r.Context(), "record idempotent answer", "err", err, "location", loc)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// replayLocation is the Location header of a recorded answer of
// handleBook: the booking's, or the series'.
func replayLocation(body []byte) string {
	var v struct {
		ID       string `json:"id"`
		SeriesID string `json:"series_id"`
	}
	switch {
	case json.Unmarshal(body, &v) != nil:
		return ""
	case v.ID != "":
		return "/v1/bookings/" + v.ID
	case v.SeriesID != "":
		return "/v1/series/" + v.SeriesID
	}
	return ""
}

func (s *Server) handleGetBooking(w http.ResponseWriter, r *http.Request) {
	b, err := s.svc.Booking(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()).owner())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bookingOut(b))
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	b, err := s.svc.Cancel(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()).owner())
	s.audit(r, auditCancel, chi.URLParam(r, "id"), err)
	if err != nil {
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
	s.audit(r, auditReschedule, chi.URLParam(r, "id"), err)
	if err != nil {
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
	for _, b := range out.Cancelled {
		s.audit(r, auditCancel, b.ID, nil)
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
	bs, err := s.svc.Series(r.Context(), id, principalFrom(r.Context()).owner())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SeriesID string        `json:"series_id"`
		Bookings []bookingJSON `json:"bookings"`
	}{id, bookingsOut(bs)})
}
