package dispatch_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
)

// TestRescue: an urgent request nobody can reach within the hour is served
// by moving one not-yet-started normal booking of a qualified worker, in one
// atomic step, without breaking the moved booking's promise.
func TestRescue(t *testing.T) {
	north5 := offset(base, 5, 0)
	east10 := offset(base, 0, 10)
	west1 := offset(base, 0, -1)
	east3, east15, east20, west6 := offset(base, 0, 3), offset(base, 0, 15), offset(base, 0, 20), offset(base, 0, -6)
	if geo.RegionOf(base) != geo.RegionOf(east10) || geo.RegionOf(base) != geo.RegionOf(east20) || geo.RegionOf(base) != geo.RegionOf(west6) {
		t.Fatal("fixture: the places lie in different regions")
	}
	type setup struct {
		now  time.Time
		req  doorstep.Request
		late []*doorstep.Worker // workers who join after the booking
	}
	tests := []struct {
		name    string
		workers []*doorstep.Worker
		moved   setup // the normal booking that may move
		now     time.Time
		urgent  doorstep.Request
		// wantTo is the worker the moved booking goes to ("" when the
		// urgent request must be refused); wantStart its new start.
		wantTo    string
		wantStart time.Time
	}{
		{
			// u drives to a job 5 km north that may start until 14:00; an
			// urgent job at u's home is served first and the normal one
			// starts later, inside its window.
			name:    "a later slot inside the booking's window",
			workers: []*doorstep.Worker{worker("u", base, dayShift())},
			moved:   setup{now: at(9, 0), req: normal(north5, mins(120), at(9, 10), at(14, 0))},
			now:     at(9, 5), urgent: urgent("cleaning", base, mins(60)),
			wantTo: "u", wantStart: at(10, 5).Add(travel(base, north5, at(10, 5))),
		},
		{
			// The booking has no window: its start is a promise. v (no
			// plumber, so no help for the urgent job itself) joined after
			// it was booked and takes it at the very same start.
			name:    "another qualified worker takes it at the same start",
			workers: []*doorstep.Worker{worker("u", base, dayShift(), "cleaning", "plumbing")},
			moved: setup{now: at(8, 0), req: normal(east10, mins(120), time.Time{}, time.Time{}),
				late: []*doorstep.Worker{worker("v", east10, dayShift())}},
			now: at(8, 10), urgent: urgent("plumbing", west1, mins(60)),
			wantTo: "v", wantStart: at(8, 0).Add(travel(base, east10, at(8, 0))),
		},
		{
			name:    "no window and nobody else: refused",
			workers: []*doorstep.Worker{worker("u", base, dayShift(), "cleaning", "plumbing")},
			moved:   setup{now: at(8, 0), req: normal(east10, mins(120), time.Time{}, time.Time{})},
			now:     at(8, 10), urgent: urgent("plumbing", west1, mins(60)),
		},
		{
			name:    "a window that allows no later start: refused",
			workers: []*doorstep.Worker{worker("u", base, dayShift())},
			moved:   setup{now: at(9, 0), req: normal(north5, mins(120), at(9, 10), at(9, 40))},
			now:     at(9, 5), urgent: urgent("cleaning", base, mins(60)),
		},
		{
			// The other worker could take it, but not at its start.
			name:    "the other worker cannot keep the start: refused",
			workers: []*doorstep.Worker{worker("u", base, dayShift(), "cleaning", "plumbing")},
			moved: setup{now: at(8, 0), req: normal(east10, mins(120), time.Time{}, time.Time{}),
				late: []*doorstep.Worker{worker("v", offset(east10, 8, 0), dayShift())}},
			now: at(8, 10), urgent: urgent("plumbing", west1, mins(60)),
		},
		{
			// The booking is urgent, at 09:00, 3 km east: u (home at base)
			// sets out for it. At 09:05 an urgent call 6 km west comes,
			// which only u can reach within its hour, but not with the
			// first (9 km between them, an hour of work each). v, who
			// joined since, lives 12 km beyond the first: too far for the
			// call (21 km), near enough to reach the first before 10:00.
			name:    "an urgent booking for an urgent call, inside its own hour",
			workers: []*doorstep.Worker{worker("u", base, dayShift())},
			moved: setup{now: at(9, 0), req: urgent("cleaning", east3, mins(60)),
				late: []*doorstep.Worker{worker("v", east15, dayShift())}},
			now: at(9, 5), urgent: urgent("cleaning", west6, mins(60)),
			wantTo: "v", wantStart: at(9, 5).Add(travel(east15, east3, at(9, 5))),
		},
		{
			// As above with v 17 km beyond the first booking: it would
			// arrive after 10:00.
			name:    "an urgent booking nobody else reaches inside its hour: refused",
			workers: []*doorstep.Worker{worker("u", base, dayShift())},
			moved: setup{now: at(9, 0), req: urgent("cleaning", east3, mins(60)),
				late: []*doorstep.Worker{worker("v", east20, dayShift())}},
			now: at(9, 5), urgent: urgent("cleaning", west6, mins(60)),
		},
		{
			// The worker is already at the door: the booking is under way.
			name:    "a booking under way does not move: refused",
			workers: []*doorstep.Worker{worker("u", base, dayShift())},
			moved:   setup{now: at(9, 0), req: normal(north5, mins(120), at(9, 10), at(14, 0))},
			now:     at(9, 25), urgent: urgent("cleaning", base, mins(60)),
		},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, tt.moved.now, nil)
			e.put(t, tt.workers...)
			orig := e.book(t, tt.moved.req).Booking
			e.put(t, tt.moved.late...)
			e.clk.Set(tt.now)
			// The quote offers the rescue Book then makes, and moves nothing.
			q, qerr := e.svc.Quote(t.Context(), tt.urgent, "")
			switch {
			case tt.wantTo == "" && qerr == nil:
				t.Errorf("Quote offered %+v (rescue %+v), want unservable", q.Options, q.Rescue)
			case tt.wantTo != "" && (qerr != nil || q.Rescue == nil || q.Rescue.ToWorker != tt.wantTo || !q.Rescue.NewStart.Equal(tt.wantStart)):
				t.Errorf("Quote = %+v, %v; want a rescue moving the booking to %s at %s", q, qerr, tt.wantTo, tt.wantStart)
			}
			if diff := cmp.Diff(e.get(t, orig.ID), orig); diff != "" {
				t.Errorf("a quote moved the booking (-got +want):\n%s", diff)
			}
			got, err := e.svc.Book(t.Context(), tt.urgent, "")
			if tt.wantTo == "" {
				wantUnservable(t, err, "")
				if diff := cmp.Diff(e.get(t, orig.ID), orig); diff != "" {
					t.Errorf("a refused rescue changed the booking (-got +want):\n%s", diff)
				}
				if n := e.obs.rescued.Load(); n != 0 {
					t.Errorf("%d rescues reported", n)
				}
				e.verifyAll(t)
				return
			}
			if err != nil {
				t.Fatalf("Book: %v", err)
			}
			r := got.Rescue
			if r == nil {
				t.Fatalf("served without a rescue: %v", got.Booking)
			}
			want := dispatch.Rescue{MovedBookingID: orig.ID, MovedOwner: orig.Owner, FromWorker: orig.WorkerID, ToWorker: tt.wantTo,
				OldStart: orig.Start, NewStart: tt.wantStart}
			if diff := cmp.Diff(*r, want); diff != "" {
				t.Errorf("rescue (-got +want):\n%s", diff)
			}
			if orig.Urgency == doorstep.Urgent && r.NewStart.After(orig.RequestedAt.Add(doorstep.UrgentArrival)) {
				t.Errorf("an urgent booking requested at %v moved to %v, past its hour", orig.RequestedAt, r.NewStart)
			}
			if orig.Urgency == doorstep.Normal && orig.Window == nil && !r.NewStart.Equal(orig.Start) {
				t.Errorf("a booking without a window moved from %v to %v", orig.Start, r.NewStart)
			}
			if orig.Window != nil && !orig.Window.Contains(r.NewStart) {
				t.Errorf("new start %v outside the window %v..%v", r.NewStart, orig.Window.Start, orig.Window.End)
			}
			// Both halves are in Redis: the urgent booking on the freed
			// worker within the hour, the moved one at its new place.
			ub := e.get(t, got.Booking.ID)
			if ub.Status != doorstep.StatusConfirmed || ub.WorkerID != orig.WorkerID || ub.Arrival.After(tt.now.Add(time.Hour)) {
				t.Errorf("urgent booking %v status %s arrival %v", ub, ub.Status, ub.Arrival)
			}
			mb := e.get(t, orig.ID)
			if mb.Status != doorstep.StatusConfirmed || mb.WorkerID != tt.wantTo || !mb.Start.Equal(tt.wantStart) ||
				!mb.RequestedAt.Equal(orig.RequestedAt) || !cmp.Equal(mb.Window, orig.Window) {
				t.Errorf("moved booking %v status %s requested %v window %v", mb, mb.Status, mb.RequestedAt, mb.Window)
			}
			wantTL := map[string][]string{orig.WorkerID: {ub.ID}}
			wantTL[tt.wantTo] = append(wantTL[tt.wantTo], mb.ID)
			if tt.wantTo == orig.WorkerID {
				wantTL[orig.WorkerID] = []string{ub.ID, mb.ID} // by start
			}
			for w, want := range wantTL {
				if got := ids(e.timeline(t, w)); !cmp.Equal(got, want) {
					t.Errorf("%s's timeline %v, want %v", w, got, want)
				}
			}
			if n := e.obs.rescued.Load(); n != 1 {
				t.Errorf("%d rescues reported, want 1", n)
			}
			e.verifyAll(t)
		})
	}
}

// TestRescueConcurrent: two urgent requests race for the same rescue; each
// is served or refused, nothing is moved twice, nothing is lost.
func TestRescueConcurrent(t *testing.T) {
	north5 := offset(base, 5, 0)
	e := newEnv(t, at(9, 0), nil)
	e.put(t, worker("u", base, dayShift()))
	orig := e.book(t, normal(north5, mins(120), at(9, 10), at(16, 0))).Booking
	e.clk.Set(at(9, 5))
	var wg sync.WaitGroup
	res := make([]*dispatch.Booked, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { res[i], errs[i] = e.svc.Book(t.Context(), urgent("cleaning", base, mins(30)), "") })
	}
	wg.Wait()
	rescues := 0
	want := []string{orig.ID}
	for i := range 2 {
		switch {
		case errs[i] != nil:
			wantUnservable(t, errs[i], "")
		case res[i].Rescue != nil:
			rescues++
			fallthrough
		default:
			want = append(want, res[i].Booking.ID)
		}
	}
	if rescues == 0 || int64(rescues) != e.obs.rescued.Load() {
		t.Errorf("%d rescues in the answers, %d reported; want at least one, the same", rescues, e.obs.rescued.Load())
	}
	got := ids(e.timeline(t, "u"))
	if len(got) != len(want) {
		t.Errorf("timeline %v, want the bookings %v", got, want)
	}
	for _, id := range want {
		if b := e.get(t, id); b.Status != doorstep.StatusConfirmed || b.WorkerID != "u" {
			t.Errorf("booking %v is %s", b, b.Status)
		}
	}
	e.verifyAll(t)
}

// planHeld is the fixture of the tests of a plan's turn: one cleaner, u,
// booked from 9:10 five kilometres north, so that an urgent cleaning at
// base at 9:05 needs a plan that moves the booking; and the one turn
// (MaxRescues 1 in cfg) held, as by another request's plan, with what
// ends it.
func planHeld(t *testing.T, cfg func(*dispatch.Config)) (*env, *doorstep.Booking, func()) {
	t.Helper()
	e := newEnv(t, at(9, 0), cfg)
	e.put(t, worker("u", base, dayShift()))
	orig := e.book(t, normal(offset(base, 5, 0), mins(120), at(9, 10), at(14, 0))).Booking
	e.clk.Set(at(9, 5))
	release, err := e.svc.RescueTurn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return e, orig, release
}

// refusedMovedNothing checks that shed requests were reported refused for
// a plan's turn, and that orig did not move.
func refusedMovedNothing(t *testing.T, e *env, orig *doorstep.Booking, shed int64) {
	t.Helper()
	if n := e.obs.rescueShed.Load(); n != shed {
		t.Errorf("%d shed reported, want %d", n, shed)
	}
	if diff := cmp.Diff(e.get(t, orig.ID), orig); diff != "" {
		t.Errorf("a refused request moved the booking (-got +want):\n%s", diff)
	}
}

// TestRescueWaitsForItsTurn: while as many rescue plans as MaxRescues
// allows are being made, a quote or booking that needs one waits
// RescueWait for its turn, then is refused with ERATELIMITED, moving
// nothing; a request served without one does not wait. Once a turn ends,
// the plan is made, and its turn ends with it.
func TestRescueWaitsForItsTurn(t *testing.T) {
	e, orig, release := planHeld(t, func(c *dispatch.Config) { c.MaxRescues, c.RescueWait = 1, 20*time.Millisecond })
	ctx := t.Context()
	if _, err := e.svc.Quote(ctx, urgent("cleaning", base, mins(60)), ""); doorstep.ErrorCode(err) != doorstep.ERATELIMITED {
		t.Errorf("Quote during another plan: %v, want %s", err, doorstep.ERATELIMITED)
	}
	if _, err := e.svc.Book(ctx, urgent("cleaning", base, mins(60)), ""); doorstep.ErrorCode(err) != doorstep.ERATELIMITED {
		t.Errorf("Book during another plan: %v, want %s", err, doorstep.ERATELIMITED)
	}
	refusedMovedNothing(t, e, orig, 2)
	// u can take a normal job after the booking: no plan, no wait.
	if q, err := e.svc.Quote(ctx, normal(base, mins(60), time.Time{}, time.Time{}), ""); err != nil || len(q.Options) == 0 || q.Rescue != nil {
		t.Errorf("a direct quote during another plan: %+v, %v; want an option without a rescue", q, err)
	}
	release()
	got, err := e.svc.Book(ctx, urgent("cleaning", base, mins(60)), "")
	if err != nil || got.Rescue == nil {
		t.Fatalf("Book after the other plan: %+v, %v; want a rescue", got, err)
	}
	// Its plan's turn ended with it: another is taken at once.
	again, err := e.svc.RescueTurn(ctx)
	if err != nil {
		t.Fatalf("a turn after the plan: %v", err)
	}
	again()
	e.verifyAll(t)
}

// A request that needs a plan's turn waits for it while fewer than
// RescueQueue wait; one more is turned away at once, moving nothing, and
// the one waiting gets the turn when it ends.
func TestRescueQueueTurnsTheExcessAway(t *testing.T) {
	e, orig, release := planHeld(t, func(c *dispatch.Config) { c.MaxRescues, c.RescueQueue, c.RescueWait = 1, 1, time.Minute })
	ctx := t.Context()
	waited := make(chan error, 1)
	go func() { // a second plan, waiting for the turn
		again, err := e.svc.RescueTurn(ctx)
		if err == nil {
			again()
		}
		waited <- err
	}()
	for e.svc.RescueWaiting() == 0 {
		runtime.Gosched()
	}
	// The queue is full: a third is refused without waiting for the
	// minute (a deadline well short of it tells one that waited).
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := e.svc.Book(short, urgent("cleaning", base, mins(60)), ""); doorstep.ErrorCode(err) != doorstep.ERATELIMITED {
		t.Errorf("Book with the queue full: %v, want %s", err, doorstep.ERATELIMITED)
	}
	refusedMovedNothing(t, e, orig, 1)
	release()
	if err := <-waited; err != nil {
		t.Errorf("the request waiting: %v, want the turn once the plan ended", err)
	}
	if n := e.svc.RescueWaiting(); n != 0 {
		t.Errorf("%d still counted waiting", n)
	}
	got, err := e.svc.Book(ctx, urgent("cleaning", base, mins(60)), "")
	if err != nil || got.Rescue == nil {
		t.Fatalf("Book after the plans: %+v, %v; want a rescue", got, err)
	}
	e.verifyAll(t)
}

// MaxRescues -1 sets no bound; below it is refused.
func TestMaxRescuesConfig(t *testing.T) {
	st := newEnv(t, at(9, 0), nil).st
	if _, err := dispatch.New(dispatch.Config{Store: st, MaxRescues: -2}); err == nil {
		t.Error("MaxRescues -2 accepted")
	}
	if _, err := dispatch.New(dispatch.Config{Store: st, RescueQueue: -2}); err == nil {
		t.Error("RescueQueue -2 accepted")
	}
	// RescueQueue -1: nobody waits, whatever the wait.
	one, err := dispatch.New(dispatch.Config{Store: st, MaxRescues: 1, RescueQueue: -1, RescueWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	release, err := one.RescueTurn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := one.RescueTurn(short); doorstep.ErrorCode(err) != doorstep.ERATELIMITED {
		t.Errorf("a second turn with no queue: %v, want %s at once", err, doorstep.ERATELIMITED)
	}
	release()
	svc, err := dispatch.New(dispatch.Config{Store: st, MaxRescues: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := svc.RescueTurn(t.Context()); err != nil {
			t.Fatalf("no bound: %v", err)
		}
	}
}

// TestRescueSearchesObserved: every rescue plan searched for is reported
// with whether one was found and how long its turn was held; a request
// served directly, or that no plan could help (nobody to free), reports
// none.
func TestRescueSearchesObserved(t *testing.T) {
	ctx := t.Context()
	// Found: u's booking has a window and moves later (planHeld's city).
	e, _, release := planHeld(t, nil)
	release()
	if q, err := e.svc.Quote(ctx, urgent("cleaning", base, mins(60)), ""); err != nil || q.Rescue == nil {
		t.Fatalf("Quote: %+v, %v; want a rescue", q, err)
	}
	if none, found := e.obs.searched[0].Load(), e.obs.searched[1].Load(); none != 0 || found != 1 {
		t.Errorf("searched: %d found, %d none; want 1, 0", found, none)
	}
	if e.obs.held.Load() <= 0 {
		t.Errorf("turn held %v, want more than nothing", time.Duration(e.obs.held.Load()))
	}
	// Served directly: no search.
	if _, err := e.svc.Quote(ctx, normal(base, mins(60), time.Time{}, time.Time{}), ""); err != nil {
		t.Fatal(err)
	}
	if n := e.obs.searched[0].Load() + e.obs.searched[1].Load(); n != 1 {
		t.Errorf("%d searches after a direct quote, want still 1", n)
	}

	// None: u's booking has no window, so it keeps its start, and nobody
	// else could take it. A plan is searched for and none found.
	e = newEnv(t, at(9, 0), nil)
	e.put(t, worker("u", base, dayShift()))
	e.book(t, normal(offset(base, 5, 0), mins(120), time.Time{}, time.Time{}))
	e.clk.Set(at(9, 5))
	if _, err := e.svc.Book(ctx, urgent("cleaning", base, mins(60)), ""); doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
		t.Fatalf("Book: %v, want %s", err, doorstep.EUNSERVABLE)
	}
	if none, found := e.obs.searched[0].Load(), e.obs.searched[1].Load(); none != 1 || found != 0 {
		t.Errorf("searched: %d found, %d none; want 0, 1", found, none)
	}
	// Nobody to free (a plumbing call, no plumber): no search.
	if _, err := e.svc.Book(ctx, urgent("plumbing", base, mins(60)), ""); doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
		t.Fatalf("Book plumbing: %v, want %s", err, doorstep.EUNSERVABLE)
	}
	if n := e.obs.searched[0].Load() + e.obs.searched[1].Load(); n != 1 {
		t.Errorf("%d searches after a request nobody could be freed for, want still 1", n)
	}
	e.verifyAll(t)
}
