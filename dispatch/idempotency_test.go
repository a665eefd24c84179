package dispatch_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
)

// onceCall is one BookOnce call of TestBookOnce: the fingerprint it sends,
// whether its book fails after booking (the request "dies" after its
// reservation), and what it must come to.
type onceCall struct {
	fingerprint string
	// failBefore and failAfter fail book before or after it reserves.
	failBefore, failAfter bool
	// nested, when set, is called from inside book, while this call holds
	// the key (a concurrent retry).
	nested *onceCall
	// wantKind is the outcome; wantErr that book's error came back;
	// wantRan that book ran.
	wantKind dispatch.OnceKind
	wantErr  bool
	wantRan  bool
}

// errDied is the failure of a book that died (before or after it
// reserved).
var errDied = doorstep.Errorf(doorstep.EUNAVAILABLE, "", "the request died after its reservation")

// TestBookOnce: BookOnce books at most once per key and gives each retry
// the outcome the protocol promises: the first answer, a refusal of a
// reused key, "in progress" while the first request holds the key, and the
// bookings of a request that died after booking, recorded with the ids of
// the bookings the answer names.
func TestBookOnce(t *testing.T) {
	tests := []struct {
		name  string
		calls []onceCall
		// wantBookings is how many bookings exist at the end.
		wantBookings int
	}{
		{
			name: "a retry replays the first answer",
			calls: []onceCall{
				{fingerprint: "fp", wantKind: dispatch.OnceFresh, wantRan: true},
				{fingerprint: "fp", wantKind: dispatch.OnceReplay},
			},
			wantBookings: 1,
		},
		{
			name: "another request with the key is refused",
			calls: []onceCall{
				{fingerprint: "fp", wantKind: dispatch.OnceFresh, wantRan: true},
				{fingerprint: "other", wantKind: dispatch.OnceKeyReused},
			},
			wantBookings: 1,
		},
		{
			name: "a retry while the first request runs is told to wait",
			calls: []onceCall{
				{fingerprint: "fp", wantKind: dispatch.OnceFresh, wantRan: true,
					nested: &onceCall{fingerprint: "fp", wantKind: dispatch.OnceInProgress}},
				{fingerprint: "fp", wantKind: dispatch.OnceReplay},
			},
			wantBookings: 1,
		},
		{
			name: "a request that failed before booking frees the key at once",
			calls: []onceCall{
				{fingerprint: "fp", failBefore: true, wantKind: dispatch.OnceFresh, wantErr: true, wantRan: true},
				{fingerprint: "other", wantKind: dispatch.OnceFresh, wantRan: true},
				{fingerprint: "other", wantKind: dispatch.OnceReplay},
			},
			wantBookings: 1,
		},
		{
			name: "a retry of a request that died after booking recovers its booking",
			calls: []onceCall{
				{fingerprint: "fp", failAfter: true, wantKind: dispatch.OnceFresh, wantErr: true, wantRan: true},
				{fingerprint: "fp", wantKind: dispatch.OnceRecovered},
				{fingerprint: "fp", wantKind: dispatch.OnceReplay},
			},
			wantBookings: 1,
		},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, at(8, 0), nil)
			e.put(t, worker("w", base, dayShift()))
			key := dispatch.IdemKey{Scope: tenant, Key: "k-1"}
			var booked []string
			var first dispatch.Answer
			var run func(t *testing.T, c onceCall, ctx context.Context)
			run = func(t *testing.T, c onceCall, ctx context.Context) {
				ran := false
				book := func(ctx context.Context) (*dispatch.Made, error) {
					ran = true
					if c.nested != nil {
						// A deadline well inside the holder's lease: the
						// retry answers at once instead of waiting for it.
						nctx, cancel := context.WithTimeout(ctx, time.Second)
						defer cancel()
						run(t, *c.nested, nctx)
					}
					if c.failBefore {
						return nil, errDied
					}
					bk, err := e.svc.Book(ctx, normal(base, mins(60), time.Time{}, time.Time{}), tenant)
					if err != nil {
						return nil, err
					}
					booked = append(booked, bk.Booking.ID)
					if c.failAfter {
						return nil, errDied
					}
					return &dispatch.Made{Booked: bk}, nil
				}
				encode := func(m *dispatch.Made) dispatch.Answer {
					return dispatch.Answer{Status: 201, Body: []byte("answer naming " + m.Booked.Booking.ID)}
				}
				k := key
				k.Fingerprint = c.fingerprint
				once, err := e.svc.BookOnce(ctx, k, book, encode)
				switch {
				case c.wantErr && !errors.Is(err, errDied):
					t.Fatalf("BookOnce(%s) = %v, want the book's error", c.fingerprint, err)
				case !c.wantErr && err != nil:
					t.Fatalf("BookOnce(%s): %v", c.fingerprint, err)
				case once == nil || once.Kind != c.wantKind:
					t.Fatalf("BookOnce(%s) = %+v, want kind %d", c.fingerprint, once, c.wantKind)
				case ran != c.wantRan:
					t.Errorf("BookOnce(%s) ran book: %v, want %v", c.fingerprint, ran, c.wantRan)
				case once.Unrecorded != nil:
					t.Errorf("BookOnce(%s): answer unrecorded: %v", c.fingerprint, once.Unrecorded)
				}
				switch once.Kind {
				case dispatch.OnceInProgress:
					if once.RetryAfter <= 0 {
						t.Errorf("in progress with RetryAfter %v, want > 0", once.RetryAfter)
					}
				case dispatch.OnceFresh, dispatch.OnceRecovered:
					if !c.wantErr {
						first = once.Answer
					}
				case dispatch.OnceReplay:
					if string(once.Answer.Body) != string(first.Body) || once.Answer.Status != first.Status {
						t.Errorf("replay = %d %q, want the first answer %d %q", once.Answer.Status, once.Answer.Body, first.Status, first.Body)
					}
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			for _, c := range tt.calls {
				run(t, c, ctx)
			}
			if len(booked) != tt.wantBookings {
				t.Errorf("booked %v, want %d bookings", booked, tt.wantBookings)
			}
			// The recorded answer names its booking for erasure, in a typed
			// field beside the opaque body.
			rec, fresh, err := e.st.BeginIdempotent(ctx, key.Scope, key.Key, tt.calls[len(tt.calls)-1].fingerprint, store.IdemOptions{})
			if err != nil || fresh || rec.Pending {
				t.Fatalf("record = %+v, fresh %v, %v; want finished", rec, fresh, err)
			}
			if !slices.Equal(rec.AnswerBookings, booked) {
				t.Errorf("record names bookings %v, want %v", rec.AnswerBookings, booked)
			}
		})
	}
}
