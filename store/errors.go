package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// ErrConflict is matched (with errors.Is) by every error that reports a
// worker whose version is not the one the caller pinned in a Change: the
// worker's timeline or profile changed since it was read. The caller re-reads
// and tries again, or tries its next option.
var ErrConflict = errors.New("store: version conflict")

// ErrNotConfirmed is matched by the error Apply and CancelBooking return when
// a booking to be rewritten is no longer confirmed (it was cancelled).
var ErrNotConfirmed = errors.New("store: booking is not confirmed")

// ConflictError says which pinned worker had moved on. It matches
// ErrConflict and unwraps to a *doorstep.Error with code ECONFLICT.
type ConflictError struct {
	WorkerID string
	Expected int64 // the version the caller pinned
	Actual   int64 // the version found in Redis
}

// Error implements the error interface.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: worker %s is at version %d, not %d", e.WorkerID, e.Actual, e.Expected)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the application error the API answers with.
func (e *ConflictError) Unwrap() error {
	return doorstep.Errorf(doorstep.ECONFLICT, "", "worker %s changed while the request was being matched; retry", e.WorkerID)
}

// errUnavailable is the application error behind every failure to reach
// Redis; its message is safe to show to clients.
func errUnavailable() *doorstep.Error {
	return doorstep.Errorf(doorstep.EUNAVAILABLE, "", "the state store is unavailable; retry later")
}

// notFound returns an ENOTFOUND application error.
func notFound(format string, args ...any) error {
	return doorstep.Errorf(doorstep.ENOTFOUND, "", format, args...)
}

// invalid returns an EINVALID application error naming field.
func invalid(field, format string, args ...any) error {
	return doorstep.Errorf(doorstep.EINVALID, field, format, args...)
}

// wrapErr annotates an error of a Redis call with what was being done. An
// error that means Redis could not be reached in time (refused or reset
// connections, timeouts, an exhausted pool, a closed client, a server that
// is loading or failing over) also carries an EUNAVAILABLE application error,
// so that the API answers 503; the cause stays in the chain. Other errors
// (a script bug, a wrong type) stay internal errors.
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isUnavailable(err):
		return fmt.Errorf("%s: %w: %w", op, errUnavailable(), err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// isUnavailable reports whether err means that Redis was not reachable or
// not serving (or, on Redis Cluster, its slots still moving), as opposed
// to a logical error.
func isUnavailable(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up: not Redis's fault, and nobody is waiting for
		// the answer.
		return false
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.As(err, &ne):
		return true
	case redis.IsLoadingError(err),
		redis.IsClusterDownError(err),
		redis.IsTryAgainError(err),
		redis.IsMasterDownError(err),
		redis.IsReadOnlyError(err),
		redis.IsMaxClientsError(err),
		redis.HasErrorPrefix(err, "MISCONF"),
		redis.HasErrorPrefix(err, "OOM"),
		// A redirection that reached us: the cluster client followed
		// DefaultMaxRedirects of them and the slots still moved, as
		// they do while a master is failed over.
		isRedirect(err):
		return true
	}
	return false
}

// StaleError says that a booking Apply was to rewrite has changed since the
// caller read it: its stored version is not the one the rewrite follows.
// It matches ErrConflict and unwraps to a *doorstep.Error with code
// ECONFLICT.
type StaleError struct {
	BookingID string
	Expected  int64 // the version the rewrite follows
	Actual    int64 // the version found in Redis
}

// Error implements the error interface.
func (e *StaleError) Error() string {
	return fmt.Sprintf("store: booking %s is at version %d, not %d", e.BookingID, e.Actual, e.Expected)
}

// Is reports whether target is ErrConflict.
func (e *StaleError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the application error the API answers with.
func (e *StaleError) Unwrap() error {
	return doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s changed meanwhile; retry", e.BookingID)
}

// staleError builds the StaleError of booking id among updates, whose
// stored version the script reported as actual.
func staleError(updates []*doorstep.Booking, id, actual string) *StaleError {
	e := &StaleError{BookingID: id}
	e.Actual, _ = strconv.ParseInt(actual, 10, 64)
	for _, b := range updates {
		if b.ID == id {
			e.Expected = b.Version - 1
		}
	}
	return e
}
