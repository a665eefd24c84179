package dispatch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// applyHook is the store with a function run before the first Apply: a
// competing server's booking, landing between this server's read of the
// candidates and its reservation.
type applyHook struct {
	*store.Store
	once   sync.Once
	before func()
}

func (h *applyHook) Apply(ctx context.Context, ch store.Change) error {
	h.once.Do(h.before)
	return h.Store.Apply(ctx, ch)
}

// TestReadModelNeverBooksAStaleWorker: two servers on one redis-server,
// each with its own store and so its own read model of the workers. Server
// A has read worker w (a Quote: w's day is empty in its read model), then
// server B books w. A booking through A must see B's booking: its read
// model serves w only at the version Redis holds now, so A books the slot
// after B's. And when B's booking lands after A read the candidates but
// before A reserves, A's reservation, pinned to the version it read, is
// refused and the retry books after it. Either way no two bookings of w
// overlap.
func TestReadModelNeverBooksAStaleWorker(t *testing.T) {
	rs := storetest.RunRedis(t)
	a := openEnv(t, rs.URL(), at(9, 0), nil)
	b := openEnv(t, rs.URL(), at(9, 0), nil)
	a.put(t, worker("w", base, dayShift()))
	b.workers = a.workers
	req := normal(base, mins(60), time.Time{}, time.Time{})

	warm := func() {
		t.Helper()
		q, err := a.svc.Quote(t.Context(), req, tenant)
		if err != nil || len(q.Options) == 0 {
			t.Fatalf("Quote through A: %v", err)
		}
	}
	t.Run("changed before the read", func(t *testing.T) {
		warm()
		first := b.book(t, req)
		second := a.book(t, req)
		if second.Booking.Start.Before(first.Booking.End) {
			t.Errorf("A booked w at %v-%v over B's booking %v-%v: its read model served w's day as it was before B's booking",
				second.Booking.Start, second.Booking.End, first.Booking.Start, first.Booking.End)
		}
		a.verifyAll(t)
	})
	t.Run("changed between the read and the reservation", func(t *testing.T) {
		warm()
		var competing *dispatch.Booked
		hook := &applyHook{Store: a.st, before: func() { competing = b.book(t, req) }}
		c := openEnv(t, rs.URL(), at(9, 0), func(cfg *dispatch.Config) { cfg.Store = hook })
		// c shares A's store, so A's read model, warmed above.
		c.workers = a.workers
		conflicts := c.obs.conflicts.Load()
		got := c.book(t, req)
		if competing == nil {
			t.Fatal("the competing booking was not made")
		}
		if c.obs.conflicts.Load() == conflicts {
			t.Errorf("no version conflict: A's reservation pinned to the version it read should have been refused")
		}
		if got.Booking.Start.Before(competing.Booking.End) && competing.Booking.Start.Before(got.Booking.End) {
			t.Errorf("A booked w at %v-%v over B's booking %v-%v", got.Booking.Start, got.Booking.End,
				competing.Booking.Start, competing.Booking.End)
		}
		c.verifyAll(t)
	})
}
