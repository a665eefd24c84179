package doorstep

import (
	"errors"
	"fmt"
	"time"
)

// Application error codes. The API maps each to one HTTP status in one table.
const (
	ECONFLICT      = "conflict"     // state changed under us; retry
	EINTERNAL      = "internal"     // a bug
	EINVALID       = "invalid"      // bad input; Field names it
	ENOTFOUND      = "not_found"    // no such resource
	EUNSERVABLE    = "unservable"   // no worker can meet the service level
	EUNAVAILABLE   = "unavailable"  // a dependency (Redis) is down or slow
	ETOOLARGE      = "too_large"    // a batch or body beyond the limits
	EUNAUTHORIZED  = "unauthorized" // no or unknown key
	EFORBIDDEN     = "forbidden"    // key lacks the role
	ERATELIMITED   = "rate_limited" // too many requests
	EUNSUPPORTEDMT = "unsupported_media_type"
	ESTORERESET    = "store_reset" // the store lost its data or is another one
)

// Error is the application error: a code, a human message and, for invalid
// input, the offending field in JSON-path-like form ("window.end").
type Error struct {
	Code    string
	Field   string
	Message string
	// Rejected counts, by reason, the candidates that failed a hard rule; it
	// explains EUNSERVABLE.
	Rejected map[string]int
	// Reason is, for EUNSERVABLE, the most telling rule that stopped the
	// candidates ("no_candidates" when there were none).
	Reason string
	// EarliestArrival is, for EUNSERVABLE, the earliest a qualified worker
	// could arrive past the class deadline; zero when none could.
	EarliestArrival time.Time
	// Rule is, for EUNSERVABLE, the promise that could not be kept
	// (doorstep.Request.Rule: urgent_1h, normal_24h, appointment_window).
	Rule string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("doorstep error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("doorstep error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code, field and formatted message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic message for other errors (whose text may leak internals).
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
