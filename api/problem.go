package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// statusOf maps application error codes to HTTP status codes: the one table.
var statusOf = map[string]int{
	doorstep.ECONFLICT:       http.StatusConflict,
	doorstep.EINTERNAL:       http.StatusInternalServerError,
	doorstep.EINVALID:        http.StatusBadRequest,
	doorstep.ENOTFOUND:       http.StatusNotFound,
	doorstep.EUNSERVABLE:     http.StatusUnprocessableEntity,
	doorstep.EUNAVAILABLE:    http.StatusServiceUnavailable,
	doorstep.ESTORERESET:     http.StatusServiceUnavailable,
	doorstep.ETOOLARGE:       http.StatusRequestEntityTooLarge,
	doorstep.EUNAUTHORIZED:   http.StatusUnauthorized,
	doorstep.EFORBIDDEN:      http.StatusForbidden,
	doorstep.ERATELIMITED:    http.StatusTooManyRequests,
	doorstep.EUNSUPPORTEDMT:  http.StatusUnsupportedMediaType,
	"method_not_allowed":     http.StatusMethodNotAllowed,
	codeIdempotencyKeyReused: http.StatusUnprocessableEntity,
}

// codeIdempotencyKeyReused answers an Idempotency-Key sent again with
// another body: the client's mistake, not an unservable request.
const codeIdempotencyKeyReused = "idempotency_key_reused"

// Problem is an RFC 9457 problem details body. Field names the offending
// input; Rejected explains an unservable request.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Code     string         `json:"code"`
	Field    string         `json:"field,omitempty"`
	Rejected map[string]int `json:"rejected,omitempty"`
	// Reason is the most telling rule that stopped an unservable request's
	// candidates, EarliestArrival the earliest a qualified worker could
	// arrive past its deadline.
	Reason          string    `json:"reason,omitempty"`
	EarliestArrival time.Time `json:"earliest_arrival,omitzero"`
	// Rule is the promise an unservable request could not be kept to
	// (urgent_1h, normal_24h, appointment_window).
	Rule string `json:"rule,omitempty"`
	// Errors are the invalid workers of a refused import, one each.
	Errors []LineError `json:"errors,omitempty"`
}

// retryAfterSeconds is what a 503 or 429 tells the client to wait.
const retryAfterSeconds = 1

// writeError answers err as problem+json. Internal errors are logged (with
// the request id) and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeProblem(w, r, err, nil)
}

// writeProblem is writeError with edit, when not nil, adding to the
// problem before it is written.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error, edit func(*Problem)) {
	code := doorstep.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := Problem{
		Type:     "https://doorstep.dev/problems/" + code,
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   doorstep.ErrorMessage(err),
		Instance: r.URL.Path,
		Code:     code,
	}
	var e *doorstep.Error
	if errors.As(err, &e) {
		p.Field = e.Field
		p.Rejected, p.Reason, p.EarliestArrival, p.Rule = e.Rejected, e.Reason, e.EarliestArrival, e.Rule
	}
	switch code {
	case doorstep.EINTERNAL:
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "path", r.URL.Path)
	case doorstep.EUNAVAILABLE:
		s.log.WarnContext(r.Context(), "dependency unavailable", "err", err, "path", r.URL.Path)
		s.metrics.redisErrors.Inc()
	}
	if rec, ok := r.Context().Value(callerKey{}).(*requestRecord); ok {
		rec.code = code // for the request's log line
	}
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if edit != nil {
		edit(&p)
	}
	writeJSONType(w, status, "application/problem+json", p)
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, ctype string, v any) {
	body, err := json.Marshal(v)
	writeEncoded(w, status, ctype, body, err)
}

// writeEncoded answers body, a JSON value whose encoding gave err: a 500
// when it failed, else as writeBody.
func writeEncoded(w http.ResponseWriter, status int, ctype string, body []byte, err error) {
	if err != nil {
		http.Error(w, `{"title":"encode response"}`, http.StatusInternalServerError)
		return
	}
	writeBody(w, status, ctype, body)
}

// writeBody answers body, a JSON value, and a newline.
func writeBody(w http.ResponseWriter, status int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
