package dispatch

import (
	"context"
	"time"

	"github.com/doorstep-dev/doorstep/store"
)

// followUpTimeout bounds the writes that follow a booking (its recorded
// answer) when the request has no deadline of its own.
const followUpTimeout = 2 * time.Second

// IdemKey names one booking request made under an Idempotency-Key.
type IdemKey struct {
	// Scope is whose key it is (the API key's id), so that clients cannot
	// collide; it is also the owner the recovered bookings are read as.
	Scope string
	// Key is the Idempotency-Key itself.
	Key string
	// Fingerprint identifies what the request means; a retry with another
	// fingerprint is refused (OnceKeyReused).
	Fingerprint string
	// Region is where the request will most likely book (the region of its
	// location), or empty (see store.IdemOptions.Region).
	Region string
	// TTL is how long the answer is kept; zero means
	// store.DefaultIdempotencyTTL.
	TTL time.Duration
	// Customer is the request's customer (of Scope), or empty: its last
	// worker is read with the claim (store.IdemOptions.Customer).
	Customer string
}

// Made is what a booking request made: a booking (with its rescue, if
// any) or a series.
type Made struct {
	Booked *Booked
	Series *SeriesOutcome
}

// bookingIDs are the ids of the bookings m made.
func (m *Made) bookingIDs() []string {
	var ids []string
	if m.Booked != nil {
		ids = append(ids, m.Booked.Booking.ID)
	}
	if m.Series != nil {
		for _, b := range m.Series.Bookings {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// Answer is the recorded answer of a booking request, in the caller's
// encoding: dispatch and the store keep Status and Body as they are.
type Answer struct {
	Status int
	Body   []byte
}

// OnceKind says which of BookOnce's outcomes happened.
type OnceKind int

const (
	// OnceFresh: the request ran now (book was called) and Answer is its
	// answer, now recorded.
	OnceFresh OnceKind = iota
	// OnceReplay: an earlier request with the key finished; Answer is its
	// recorded answer.
	OnceReplay
	// OnceRecovered: an earlier request with the key booked but its answer
	// was never recorded (it ran out of time); Answer encodes the bookings
	// as they stand now, now recorded. A rescue's details and a series'
	// missed occurrences were not kept and are not repeated.
	OnceRecovered
	// OnceInProgress: an earlier request with the key may still be
	// running; retry after RetryAfter.
	OnceInProgress
	// OnceKeyReused: the key was used with a request of another
	// fingerprint.
	OnceKeyReused
)

// Once is the outcome of BookOnce.
type Once struct {
	Kind OnceKind
	// Answer is the answer to give, for OnceFresh, OnceReplay and
	// OnceRecovered.
	Answer Answer
	// Made is what the answer encodes, for OnceFresh and OnceRecovered.
	Made *Made
	// RetryAfter is, for OnceInProgress, how long the earlier request may
	// still be running.
	RetryAfter time.Duration
	// Unrecorded is set when the answer could not be recorded (or the key
	// not released after a failure): the outcome stands all the same, and
	// a retry recovers it from the store. Callers log it.
	Unrecorded error
}

// BookOnce runs book at most once per key (and scope), under the key's
// claim (store.BeginIdempotent), and gives every retry the first answer:
// encode turns what book made into the answer to record. A retry of a
// request that ran out of time waits for that request's deadline if it is
// near, then gets the bookings it made (OnceRecovered, read as they stand
// now and encoded by encode), or runs book if it made none; never a second
// booking.
//
// When book fails, BookOnce releases the key so that a retry may go ahead
// at once (it still makes sure that nothing was booked, or finds what was)
// and returns book's error, with a Once whose Unrecorded reports a failed
// release. The answer is recorded after book within ctx's deadline, even if
// ctx is cancelled; a recording that misses it is recovered by a retry, so
// that no success is answered late.
func (s *Service) BookOnce(ctx context.Context, k IdemKey, book func(context.Context) (*Made, error), encode func(*Made) Answer) (*Once, error) {
	rec, fresh, err := s.st.BeginIdempotent(ctx, k.Scope, k.Key, k.Fingerprint, store.IdemOptions{TTL: k.TTL, Region: k.Region, Customer: k.Customer})
	if err != nil {
		return nil, err
	}
	if !fresh {
		switch {
		case rec.Fingerprint != k.Fingerprint:
			return &Once{Kind: OnceKeyReused}, nil
		case len(rec.Booked) > 0:
			made, err := s.recover(ctx, rec.Booked[0], k.Scope)
			if err != nil {
				return nil, err
			}
			return s.finish(ctx, OnceRecovered, rec.Claim, made, encode), nil
		case rec.Pending:
			return &Once{Kind: OnceInProgress, RetryAfter: rec.LeaseLeft}, nil
		}
		return &Once{Kind: OnceReplay, Answer: Answer{Status: rec.Status, Body: rec.Body}}, nil
	}
	made, err := book(store.WithClaim(ctx, rec.Claim))
	if err != nil {
		fctx, cancel := FollowUp(ctx)
		defer cancel()
		return &Once{Kind: OnceFresh, Unrecorded: s.st.AbortIdempotent(fctx, rec.Claim)}, err
	}
	return s.finish(ctx, OnceFresh, rec.Claim, made, encode), nil
}

// recover reads what an earlier request made, from the first booking it
// created (the booking, the first occurrence of a series, or the urgent
// booking of a rescue), as owner sees it now.
func (s *Service) recover(ctx context.Context, first, owner string) (*Made, error) {
	b, err := s.Booking(ctx, first, owner)
	if err != nil {
		return nil, err
	}
	if b.SeriesID == "" {
		return &Made{Booked: &Booked{Booking: b}}, nil
	}
	v, err := s.Series(ctx, b.SeriesID, owner)
	if err != nil {
		return nil, err
	}
	return &Made{Series: &SeriesOutcome{SeriesID: b.SeriesID, Bookings: v.Bookings, Missed: v.Missed, Total: v.Total, Pending: v.Pending, NextAt: v.NextAt}}, nil
}

// finish encodes made and records it as the answer of claim c.
func (s *Service) finish(ctx context.Context, kind OnceKind, c *store.Claim, made *Made, encode func(*Made) Answer) *Once {
	a := encode(made)
	fctx, cancel := FollowUp(ctx)
	defer cancel()
	err := s.st.FinishIdempotentBehind(fctx, c, store.IdemAnswer{Status: a.Status, Body: a.Body, Bookings: made.bookingIDs()})
	return &Once{Kind: kind, Answer: a, Made: made, Unrecorded: err}
}

// FollowUp returns the context of the writes that follow a successful
// action (its recorded answer, its audit event): they outlive a caller that
// hangs up right after its booking is made (the moment it is most likely
// to retry), but never ctx's deadline, so that no success is answered late.
// A write that misses it is recovered later (see store.BeginIdempotent).
func FollowUp(ctx context.Context) (context.Context, context.CancelFunc) {
	after := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(after, dl)
	}
	return context.WithTimeout(after, followUpTimeout)
}
