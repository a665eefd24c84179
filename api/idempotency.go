package api

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
)

// bookOnce answers a booking request that carries Idempotency-Key key,
// fingerprint identifying its body (bodyFingerprint), region where it will
// most likely book: book runs at most
// once per key (and caller), under the key's claim (store.BeginIdempotent),
// and a retry gets the first answer. A retry of a request that ran out of
// time (any 5xx) waits for the first request's deadline if it is near, then
// gets the booking that request made, or books cleanly if it made none;
// never a second one.
func (s *Server) bookOnce(w http.ResponseWriter, r *http.Request, key, fingerprint, region string, book func(context.Context) (string, any, error)) {
	scope := principalFrom(r.Context()).KeyID
	rec, fresh, err := s.st.BeginIdempotent(r.Context(), scope, key, fingerprint, store.IdemOptions{TTL: s.idemTTL, Region: region})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !fresh {
		switch {
		case rec.Fingerprint != fingerprint:
			s.writeError(w, r, &doorstep.Error{Code: codeIdempotencyKeyReused, Field: "Idempotency-Key", Message: "this key was used with a different request body"})
		case len(rec.Booked) > 0:
			s.answerRecovered(w, r, rec)
		case rec.Pending:
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(rec.LeaseLeft.Seconds())))))
			s.writeError(w, r, doorstep.Errorf(doorstep.ECONFLICT, "Idempotency-Key", "a request with this key is still in progress"))
		default:
			replay(w, rec.Status, rec.Body)
		}
		return
	}
	loc, v, err := book(store.WithClaim(r.Context(), rec.Claim))
	ctx, cancel := followUp(r)
	defer cancel()
	if err != nil {
		// Let a retry with this key go ahead at once (it still makes sure
		// that nothing was booked, or finds what was).
		if aerr := s.st.AbortIdempotent(ctx, rec.Claim); aerr != nil {
			s.log.WarnContext(r.Context(), "release idempotency key", "err", aerr)
		}
		s.writeError(w, r, err)
		return
	}
	out, _ := json.Marshal(v)
	out = append(out, '\n')
	s.finish(ctx, r, rec.Claim, loc, out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(out)
}

// finish records the answer of the request that holds claim c. It runs
// within the request's deadline; if it misses it, the booking is answered
// all the same and a retry recovers it from the store.
func (s *Server) finish(ctx context.Context, r *http.Request, c *store.Claim, loc string, out []byte) {
	if err := s.st.FinishIdempotent(ctx, c, http.StatusCreated, out); err != nil {
		s.log.WarnContext(r.Context(), "record idempotent answer (a retry will recover it)", "err", err, "location", loc)
	}
}

// answerRecovered answers a retry of a request that booked but never
// answered (or whose answer was never recorded): the booking as it stands
// now (a series with its occurrences), recorded as the key's answer. A
// rescue's details and a series' missed occurrences were not kept and are
// not repeated.
func (s *Server) answerRecovered(w http.ResponseWriter, r *http.Request, rec *store.IdempotencyRecord) {
	owner := principalFrom(r.Context()).KeyID
	b, err := s.svc.Booking(r.Context(), rec.Booked[0], owner)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	loc, v := "/v1/bookings/"+b.ID, any(bookedOut(&dispatch.Booked{Booking: b}, principalFrom(r.Context())))
	if b.SeriesID != "" {
		bs, err := s.svc.Series(r.Context(), b.SeriesID, owner)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		loc, v = "/v1/series/"+b.SeriesID, seriesOut(&dispatch.SeriesOutcome{SeriesID: b.SeriesID, Bookings: bs})
	}
	out, _ := json.Marshal(v)
	out = append(out, '\n')
	ctx, cancel := followUp(r)
	defer cancel()
	s.finish(ctx, r, rec.Claim, loc, out)
	w.Header().Set("Location", loc)
	replay(w, http.StatusCreated, out)
}

// replay answers a recorded answer again, marked Idempotent-Replayed.
func replay(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Idempotent-Replayed", "true")
	if loc := replayLocation(body); loc != "" {
		w.Header().Set("Location", loc)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
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
