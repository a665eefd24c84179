package api

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// bookOnce answers a booking request that carries Idempotency-Key key,
// fingerprint identifying its body (bodyFingerprint), region where it will
// most likely book, for customer (whose last worker the claim reads):
// dispatch.Service.BookOnce runs book at most once per
// key (and caller) and gives a retry the first answer; bookOnce only
// translates its outcome to HTTP.
func (s *Server) bookOnce(w http.ResponseWriter, r *http.Request, key, fingerprint, region, customer string, book func(context.Context) (*dispatch.Made, error)) {
	k := dispatch.IdemKey{Scope: principalFrom(r.Context()).KeyID, Key: key, Fingerprint: fingerprint, Region: region, TTL: s.idemTTL, Customer: customer}
	once, err := s.svc.BookOnce(r.Context(), k, book, func(m *dispatch.Made) dispatch.Answer {
		return dispatch.Answer{Status: http.StatusCreated, Body: madeBody(m, principalFrom(r.Context()))}
	})
	if once != nil && once.Unrecorded != nil {
		s.log.WarnContext(r.Context(), "record idempotent answer or release key (a retry will recover it)", "err", once.Unrecorded)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.refuseOnce(w, r, once.Kind, once.RetryAfter, "request body", "request") {
		return
	}
	switch once.Kind {
	case dispatch.OnceFresh:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", madeLocation(once.Made))
		w.WriteHeader(once.Answer.Status)
		_, _ = w.Write(once.Answer.Body)
	case dispatch.OnceRecovered:
		replay(w, madeLocation(once.Made), once.Answer.Status, once.Answer.Body)
	default: // OnceReplay
		replay(w, replayLocation(once.Answer.Body), once.Answer.Status, once.Answer.Body)
	}
}

// refuseOnce answers kind when it refuses a request sent with an
// Idempotency-Key, and reports whether it did: the key used with another
// body (422; body names what differs, "request body" or "batch"), or the
// first call with it still running (409, retry after retryAfter; call
// names it).
func (s *Server) refuseOnce(w http.ResponseWriter, r *http.Request, kind dispatch.OnceKind, retryAfter time.Duration, body, call string) bool {
	switch kind {
	case dispatch.OnceKeyReused:
		s.writeError(w, r, &doorstep.Error{Code: codeIdempotencyKeyReused, Field: "Idempotency-Key", Message: "this key was used with a different " + body})
	case dispatch.OnceInProgress:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retryAfter.Seconds())))))
		s.writeError(w, r, doorstep.Errorf(doorstep.ECONFLICT, "Idempotency-Key", "a %s with this key is still in progress", call))
	default:
		return false
	}
	return true
}

// madeOut is the answer of handleBook for m, as viewer sees it.
func madeOut(m *dispatch.Made, viewer Principal) any {
	if m.Series != nil {
		return seriesOut(m.Series)
	}
	return bookedOut(m.Booked, viewer)
}

// madeBody is madeOut encoded as writeJSON does.
func madeBody(m *dispatch.Made, viewer Principal) []byte {
	body, _ := madeJSON(m, viewer)
	return append(body, '\n')
}

// madeJSON is madeOut encoded as json.Marshal does it: a single booking
// without reflection (bookingJSON.appendJSON).
func madeJSON(m *dispatch.Made, viewer Principal) ([]byte, error) {
	if m.Series == nil {
		out := bookedOut(m.Booked, viewer)
		if body, ok := out.appendJSON(make([]byte, 0, 1024)); ok {
			return body, nil
		}
	}
	return json.Marshal(madeOut(m, viewer))
}

// madeLocation is the Location of what m made: the series', or the
// booking's.
func madeLocation(m *dispatch.Made) string {
	if m.Series != nil {
		return "/v1/series/" + m.Series.SeriesID
	}
	return "/v1/bookings/" + m.Booked.Booking.ID
}

// replay answers a recorded answer again, marked Idempotent-Replayed, with
// loc (when not empty) as its Location.
func replay(w http.ResponseWriter, loc string, status int, body []byte) {
	w.Header().Set("Idempotent-Replayed", "true")
	if loc != "" {
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
