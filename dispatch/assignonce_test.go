package dispatch_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/google/go-cmp/cmp"
)

// encodePlacement is the answer the tests record for a placement.
func encodePlacement(p *dispatch.Placement) dispatch.Answer {
	return dispatch.Answer{Status: 200, Body: fmt.Appendf(nil, "%s on %s as %s", p.RequestID, p.WorkerID, p.Booking.ID)}
}

// earlierAnswers are once's recorded answers, as strings.
func earlierAnswers(once *dispatch.BatchOnce) []string {
	var out []string
	for _, a := range once.Earlier {
		out = append(out, string(a.Body))
	}
	return out
}

// bookingOf is the booking out placed request id in, or nil.
func bookingOf(out *dispatch.BatchOutcome, id string) *doorstep.Booking {
	for _, p := range out.Placements {
		if p.RequestID == id {
			return p.Booking
		}
	}
	return nil
}

// TestAssignOnce: a committed batch under an Idempotency-Key books each
// request at most once. A retry gets the recorded placements back and
// books only what the first call left (a request nobody could serve is
// tried again, and served once a worker can); another batch under the key
// is refused and books nothing; a retry when every request is placed runs
// nothing. Two requests placed on one worker are two steps under two
// claims.
func TestAssignOnce(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	north3 := offset(base, 3, 0)
	e.put(t, worker("a", base, dayShift()))
	reqs := func() []doorstep.Request {
		r3 := normal(north3, mins(60), at(9, 0), at(10, 0))
		r3.Service = "plumbing" // nobody yet
		return []doorstep.Request{
			withID("r1", normal(base, mins(60), at(9, 0), at(10, 0))),
			withID("r2", normal(base, mins(60), at(13, 0), at(14, 0))),
			withID("r3", r3),
		}
	}
	k := dispatch.BatchKey{Scope: tenant, Key: "batch-1", Fingerprint: "fp"}
	call := func(k dispatch.BatchKey) *dispatch.BatchOnce {
		t.Helper()
		once, err := e.svc.AssignOnce(t.Context(), reqs(), k, encodePlacement)
		if err != nil {
			t.Fatalf("AssignOnce: %v", err)
		}
		if once.Unrecorded != nil {
			t.Fatalf("AssignOnce: unrecorded: %v", once.Unrecorded)
		}
		return once
	}

	first := call(k)
	if first.Kind != dispatch.OnceFresh {
		t.Fatalf("first call: kind %d, want fresh", first.Kind)
	}
	if diff := cmp.Diff(placed(first.Outcome), map[string]string{"r1": "a", "r2": "a"}); diff != "" {
		t.Fatalf("first call's placements (-got +want):\n%s", diff)
	}
	if _, ok := unplaced(first.Outcome)["r3"]; !ok {
		t.Fatalf("r3 placed by nobody and not reported unplaced: %v", first.Outcome.Unplaced)
	}
	if n := e.obs.conflicts.Load(); n != 0 {
		t.Errorf("%d conflicts: a's second step must pin the version its first left", n)
	}
	b1, b2 := bookingOf(first.Outcome, "r1"), bookingOf(first.Outcome, "r2")
	wantEarlier := []string{"r1 on a as " + b1.ID, "r2 on a as " + b2.ID}

	second := call(k)
	if second.Kind != dispatch.OnceFresh || len(second.Outcome.Placements) != 0 {
		t.Errorf("second call: kind %d, placements %+v; want r3 tried again and nothing else", second.Kind, second.Outcome.Placements)
	}
	if diff := cmp.Diff(earlierAnswers(second), wantEarlier); diff != "" {
		t.Errorf("second call's recorded answers (-got +want):\n%s", diff)
	}
	if second.Outcome.ServedBound < 2 {
		t.Errorf("served bound %d counts not the two placed before", second.Outcome.ServedBound)
	}

	other := k
	other.Fingerprint = "another batch"
	if got := call(other); got.Kind != dispatch.OnceKeyReused {
		t.Errorf("another batch under the key: kind %d, want refused", got.Kind)
	}

	e.put(t, worker("p", north3, dayShift(), "plumbing"))
	third := call(k)
	if diff := cmp.Diff(placed(third.Outcome), map[string]string{"r3": "p"}); diff != "" {
		t.Errorf("third call's placements (-got +want):\n%s", diff)
	}
	b3 := bookingOf(third.Outcome, "r3")

	last := call(k)
	if last.Kind != dispatch.OnceReplay || len(last.Outcome.Placements) != 0 || len(last.Outcome.Unplaced) != 0 {
		t.Errorf("last call: kind %d, outcome %+v; want every placement replayed", last.Kind, last.Outcome)
	}
	if diff := cmp.Diff(earlierAnswers(last), append(wantEarlier, "r3 on p as "+b3.ID)); diff != "" {
		t.Errorf("last call's recorded answers (-got +want):\n%s", diff)
	}
	if got, want := ids(e.timeline(t, "a")), []string{b1.ID, b2.ID}; !cmp.Equal(got, want) {
		t.Errorf("a's timeline %v, want %v", got, want)
	}
	if got := len(e.timeline(t, "p")); got != 1 {
		t.Errorf("p has %d bookings, want 1", got)
	}
	e.verifyAll(t)
}

// diesStore records no answer once armed: FinishIdempotentBehind gives the
// claim up instead (its bookings stand), as a server that died after the
// batch booked, before it answered.
type diesStore struct {
	*store.Store
	armed atomic.Bool
}

func (d *diesStore) FinishIdempotentBehind(ctx context.Context, c *store.Claim, a store.IdemAnswer) error {
	if d.armed.Load() {
		return d.Store.AbortIdempotent(ctx, c)
	}
	return d.Store.FinishIdempotentBehind(ctx, c, a)
}

// TestAssignOnceRecovers: a committed batch whose server died after it
// booked, before it recorded its answers, is answered on a retry with its
// bookings as they stand, marked earlier, and nothing is booked again;
// the answers are recorded then, so the next retry replays them.
func TestAssignOnceRecovers(t *testing.T) {
	ds := &diesStore{}
	e := newEnv(t, at(8, 0), func(c *dispatch.Config) {
		ds.Store = c.Store.(*store.Store)
		c.Store = ds
	})
	e.put(t, worker("a", base, dayShift()), worker("b", offset(base, 0, 2), dayShift()))
	reqs := func() []doorstep.Request {
		return []doorstep.Request{
			withID("r1", normal(base, mins(60), at(9, 0), at(10, 0))),
			withID("r2", normal(offset(base, 0, 2), mins(60), at(9, 0), at(10, 0))),
		}
	}
	k := dispatch.BatchKey{Scope: tenant, Key: "batch-2", Fingerprint: "fp"}
	ds.armed.Store(true)
	died, err := e.svc.AssignOnce(t.Context(), reqs(), k, encodePlacement)
	if err != nil || died.Kind != dispatch.OnceFresh || len(died.Outcome.Placements) != 2 {
		t.Fatalf("first call: %+v, %v; want both placed", died, err)
	}
	ds.armed.Store(false)

	again, err := e.svc.AssignOnce(t.Context(), reqs(), k, encodePlacement)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if again.Kind != dispatch.OnceReplay || len(again.Earlier) != 0 {
		t.Fatalf("retry: kind %d, recorded %q; want the bookings recovered", again.Kind, earlierAnswers(again))
	}
	var want []string
	for _, p := range died.Outcome.Placements {
		got := bookingOf(again.Outcome, p.RequestID)
		if got == nil || got.ID != p.Booking.ID {
			t.Errorf("%s recovered as %v, want booking %s", p.RequestID, got, p.Booking.ID)
		}
		want = append(want, string(encodePlacement(&p).Body))
	}
	for _, p := range again.Outcome.Placements {
		if !p.Earlier || p.WorkerID != p.Booking.WorkerID || !p.Start.Equal(p.Booking.Start) {
			t.Errorf("recovered placement %+v: want marked earlier, as its booking stands", p)
		}
	}

	replay, err := e.svc.AssignOnce(t.Context(), reqs(), k, encodePlacement)
	if err != nil {
		t.Fatalf("second retry: %v", err)
	}
	if diff := cmp.Diff(earlierAnswers(replay), want); replay.Kind != dispatch.OnceReplay || diff != "" {
		t.Errorf("second retry: kind %d, recorded answers (-got +want):\n%s", replay.Kind, diff)
	}
	for _, w := range []string{"a", "b"} {
		if got := len(e.timeline(t, w)); got != 1 {
			t.Errorf("%s has %d bookings, want 1", w, got)
		}
	}
	e.verifyAll(t)
}

// TestAssignOnceInProgress: a retry while the first call still books is
// told to come back (after the first call's lease at most), runs nothing
// and takes no request's claim from it; the first call's answers are then
// replayed.
func TestAssignOnceInProgress(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()))
	reqs := func() []doorstep.Request {
		return []doorstep.Request{withID("r1", normal(base, mins(60), at(9, 0), at(10, 0)))}
	}
	k := dispatch.BatchKey{Scope: tenant, Key: "batch-3", Fingerprint: "fp"}
	var nested *dispatch.BatchOnce
	hook := func() {
		// A deadline well inside the first call's lease: the retry
		// answers at once instead of waiting for it.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		var err error
		if nested, err = e.svc.AssignOnce(ctx, reqs(), k, encodePlacement); err != nil {
			t.Errorf("retry while the first call runs: %v", err)
		}
	}
	e.obs.onBatch.Store(&hook)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	first, err := e.svc.AssignOnce(ctx, reqs(), k, encodePlacement)
	if err != nil || first.Unrecorded != nil || len(first.Outcome.Placements) != 1 {
		t.Fatalf("first call: %+v, %v", first, err)
	}
	if nested == nil || nested.Kind != dispatch.OnceInProgress || nested.RetryAfter <= 0 {
		t.Fatalf("retry while the first call runs: %+v, want in progress with a time to retry", nested)
	}
	replay, err := e.svc.AssignOnce(t.Context(), reqs(), k, encodePlacement)
	if err != nil || replay.Kind != dispatch.OnceReplay || len(replay.Earlier) != 1 ||
		!strings.HasSuffix(string(replay.Earlier[0].Body), first.Outcome.Placements[0].Booking.ID) {
		t.Errorf("retry after: %+v, %v; want the first call's answer", replay, err)
	}
	if got := len(e.timeline(t, "a")); got != 1 {
		t.Errorf("a has %d bookings, want 1", got)
	}
}

// TestAssignOnceConcurrent: calls of one batch under one key race. Each
// request is booked once: every call that answers names the same booking
// for it, whether it placed it, replayed it or waited, and no worker holds
// more bookings than the batch asked for.
func TestAssignOnceConcurrent(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()), worker("b", offset(base, 0, 2), dayShift()))
	reqs := func() []doorstep.Request {
		return []doorstep.Request{
			withID("r1", normal(base, mins(60), at(9, 0), at(10, 0))),
			withID("r2", normal(offset(base, 0, 2), mins(60), at(9, 0), at(10, 0))),
			withID("r3", normal(base, mins(60), at(13, 0), at(14, 0))),
		}
	}
	k := dispatch.BatchKey{Scope: tenant, Key: "batch-4", Fingerprint: "fp"}
	const calls = 6
	answers := make([]map[string]string, calls) // request id -> booking id, per call
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			// A deadline, as a server's request has: a call that finds
			// another holding the batch answers at once.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			once, err := e.svc.AssignOnce(ctx, reqs(), k, encodePlacement)
			switch {
			case err != nil:
				t.Errorf("call %d: %v", i, err)
				return
			case once.Kind == dispatch.OnceInProgress:
				return
			}
			got := map[string]string{}
			for _, p := range once.Outcome.Placements {
				got[p.RequestID] = p.Booking.ID
			}
			for _, a := range once.Earlier {
				f := strings.Fields(string(a.Body)) // "r on w as id"
				got[f[0]] = f[4]
			}
			answers[i] = got
		})
	}
	wg.Wait()
	var want map[string]string
	for i, got := range answers {
		switch {
		case got == nil:
		case want == nil:
			want = got
		default:
			if diff := cmp.Diff(got, want); diff != "" {
				t.Errorf("call %d's bookings differ from another's (-got +want):\n%s", i, diff)
			}
		}
	}
	if len(want) != 3 {
		t.Fatalf("placed %v, want all three", want)
	}
	if n := len(e.timeline(t, "a")) + len(e.timeline(t, "b")); n != 3 {
		t.Errorf("%d bookings made, want 3", n)
	}
	e.verifyAll(t)
}
