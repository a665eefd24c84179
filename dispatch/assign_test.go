package dispatch_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/google/go-cmp/cmp"
)

func withID(id string, r doorstep.Request) doorstep.Request {
	r.ID = id
	return r
}

// placed returns request id -> worker id of the placements.
func placed(out *dispatch.BatchOutcome) map[string]string {
	m := map[string]string{}
	for _, p := range out.Placements {
		m[p.RequestID] = p.WorkerID
	}
	return m
}

func unplaced(out *dispatch.BatchOutcome) map[string]string {
	m := map[string]string{}
	for _, u := range out.Unplaced {
		m[u.RequestID] = u.Reason
	}
	return m
}

// TestAssignPlanAndCommit: a plan writes nothing; a commit books every
// placement, as the plan said.
func TestAssignPlanAndCommit(t *testing.T) {
	east2 := offset(base, 0, 2)
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()), worker("b", east2, dayShift()))
	reqs := func() []doorstep.Request {
		return []doorstep.Request{
			withID("r1", normal(base, mins(60), at(9, 0), at(10, 0))),
			withID("r2", normal(east2, mins(60), at(9, 0), at(10, 0))),
			withID("r3", normal(base, mins(60), at(13, 0), at(14, 0))),
		}
	}
	want := map[string]string{"r1": "a", "r2": "b", "r3": "a"}

	plan, err := e.svc.Assign(t.Context(), reqs(), false, "")
	if err != nil {
		t.Fatalf("Assign (plan): %v", err)
	}
	if diff := cmp.Diff(placed(plan), want); diff != "" {
		t.Errorf("plan (-got +want):\n%s", diff)
	}
	for _, p := range plan.Placements {
		if p.Booking != nil {
			t.Errorf("plan booked %s", p.RequestID)
		}
	}
	for _, w := range []string{"a", "b"} {
		if n := len(e.timeline(t, w)); n != 0 {
			t.Errorf("a plan wrote %d bookings for %s", n, w)
		}
	}

	out, err := e.svc.Assign(t.Context(), reqs(), true, "")
	if err != nil {
		t.Fatalf("Assign (commit): %v", err)
	}
	if diff := cmp.Diff(placed(out), want); diff != "" {
		t.Errorf("commit (-got +want):\n%s", diff)
	}
	for i, p := range out.Placements {
		if p.Booking == nil {
			t.Fatalf("commit did not book %s", p.RequestID)
		}
		if pp := plan.Placements[i]; !p.Start.Equal(pp.Start) || p.WorkerID != pp.WorkerID {
			t.Errorf("%s: committed %s at %v, planned %s at %v", p.RequestID, p.WorkerID, p.Start, pp.WorkerID, pp.Start)
		}
		if diff := cmp.Diff(e.get(t, p.Booking.ID), p.Booking); diff != "" {
			t.Errorf("%s: stored differs (-stored +answer):\n%s", p.RequestID, diff)
		}
	}
	if n := len(e.timeline(t, "a")) + len(e.timeline(t, "b")); n != 3 {
		t.Errorf("%d bookings in the timelines, want 3", n)
	}
	e.verifyAll(t)

	for _, tt := range []struct {
		name  string
		reqs  []doorstep.Request
		field string
	}{
		{"no id", []doorstep.Request{normal(base, mins(60), at(9, 0), at(10, 0))}, "requests[0].id"},
		{"twice the same id", []doorstep.Request{withID("x", normal(base, mins(60), at(9, 0), at(10, 0))), withID("x", normal(base, mins(60), at(9, 0), at(10, 0)))}, "requests[1].id"},
		{"a bad request", []doorstep.Request{withID("x", normal(base, 0, at(9, 0), at(8, 0)))}, "requests[0].window.end"},
	} {
		_, err := e.svc.Assign(t.Context(), tt.reqs, true, "")
		var de *doorstep.Error
		if !asError(err, &de) || de.Code != doorstep.EINVALID || de.Field != tt.field {
			t.Errorf("%s: got %v, want %s on %s", tt.name, err, doorstep.EINVALID, tt.field)
		}
	}
}

// TestAssignUrgentFirst: one worker, room for one job: the urgent request
// is served though the normal one would be cheaper.
func TestAssignUrgentFirst(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("w", base, []doorstep.Shift{shift(at(8, 0), at(10, 0))}))
	reqs := []doorstep.Request{
		withID("n", normal(base, mins(120), at(8, 0), at(8, 30))),
		withID("u", urgent("cleaning", offset(base, 3, 0), mins(90))),
	}
	out, err := e.svc.Assign(t.Context(), reqs, true, "")
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if diff := cmp.Diff(placed(out), map[string]string{"u": "w"}); diff != "" {
		t.Errorf("placements (-got +want):\n%s", diff)
	}
	if _, ok := unplaced(out)["n"]; !ok {
		t.Errorf("the normal request is not reported unplaced: %v", out.Unplaced)
	}
	e.verifyAll(t)
}

// TestAssignCommitConflict: a booking that lands between the plan and the
// commit makes the reservation on its worker lose its race, and leaves the
// other workers' placements booked; the request that lost is then booked
// as a booking would be, on the workers as they are now.
func TestAssignCommitConflict(t *testing.T) {
	east2 := offset(base, 0, 2)
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()), worker("b", east2, dayShift()))
	var sneaked *doorstep.Booking
	hook := func() {
		// Another booking system books a at 15:00 meanwhile.
		r := normal(base, mins(60), at(15, 0), at(15, 30))
		r.PreferredWorkers = []string{"a"}
		sneaked = e.book(t, r).Booking
	}
	e.obs.onBatch.Store(&hook)
	reqs := []doorstep.Request{
		withID("r1", normal(base, mins(60), at(9, 0), at(10, 0))),
		withID("r2", normal(east2, mins(60), at(9, 0), at(10, 0))),
	}
	out, err := e.svc.Assign(t.Context(), reqs, true, "")
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if sneaked == nil || sneaked.WorkerID != "a" {
		t.Fatalf("the concurrent booking did not land on a: %v", sneaked)
	}
	// a still has 9:00 free: the booking path books r1 there.
	if diff := cmp.Diff(placed(out), map[string]string{"r1": "a", "r2": "b"}); diff != "" {
		t.Errorf("placements (-got +want):\n%s", diff)
	}
	if len(out.Unplaced) != 0 {
		t.Errorf("unplaced: %v", out.Unplaced)
	}
	var r1 *doorstep.Booking
	for _, p := range out.Placements {
		if p.RequestID == "r1" {
			r1 = p.Booking
		}
	}
	if r1 == nil {
		t.Fatal("r1 placed without a booking")
	}
	if got, want := ids(e.timeline(t, "a")), []string{r1.ID, sneaked.ID}; !cmp.Equal(got, want) {
		t.Errorf("a's timeline %v, want %v", got, want)
	}
	if got := len(e.timeline(t, "b")); got != 1 {
		t.Errorf("b has %d bookings, want 1", got)
	}
	if e.obs.conflicts.Load() == 0 {
		t.Errorf("no conflict reported")
	}
	e.verifyAll(t)
}

// TestAssignCommitMakesRoom: a committed batch serves a request the
// assignment could not place by moving an unstarted normal booking inside
// its window, as a booking of the request alone would (issue 11: a batch
// serves as many as possible); a plan moves nothing and reports it
// unplaced.
func TestAssignCommitMakesRoom(t *testing.T) {
	north5, west1 := offset(base, 5, 0), offset(base, 0, -1)
	e := newEnv(t, at(9, 0), nil)
	e.put(t, worker("u", base, dayShift()))
	orig := e.book(t, normal(north5, mins(120), at(9, 10), at(14, 0))).Booking
	e.clk.Set(at(9, 5))
	reqs := []doorstep.Request{withID("x", urgent("cleaning", west1, mins(60)))}

	plan, err := e.svc.Assign(t.Context(), reqs, false, "")
	if err != nil {
		t.Fatalf("Assign (plan): %v", err)
	}
	if diff := cmp.Diff(unplaced(plan), map[string]string{"x": "busy"}); diff != "" {
		t.Errorf("plan's unplaced (-got +want):\n%s", diff)
	}
	if got := e.get(t, orig.ID); !got.Start.Equal(orig.Start) {
		t.Errorf("a plan moved the booking: %v -> %v", orig.Start, got.Start)
	}

	out, err := e.svc.Assign(t.Context(), reqs, true, "")
	if err != nil {
		t.Fatalf("Assign (commit): %v", err)
	}
	if diff := cmp.Diff(placed(out), map[string]string{"x": "u"}); diff != "" {
		t.Fatalf("placements (-got +want):\n%s; unplaced %v", diff, out.Unplaced)
	}
	p := out.Placements[0]
	if p.Booking == nil || !p.Start.Equal(at(9, 5).Add(travel(base, west1, at(9, 5)))) {
		t.Errorf("x booked %v from %v, want at once", p.Booking, p.Start)
	}
	moved := e.get(t, orig.ID)
	want := []dispatch.Rescue{{MovedBookingID: orig.ID, MovedOwner: orig.Owner, FromWorker: "u", ToWorker: "u", OldStart: orig.Start, NewStart: moved.Start}}
	if diff := cmp.Diff(p.Moves, want); diff != "" {
		t.Errorf("moves (-got +want):\n%s", diff)
	}
	if !moved.Start.After(p.End) || moved.Start.After(at(14, 0)) {
		t.Errorf("the moved booking starts %v, want after the urgent job (%v) and by 14:00", moved.Start, p.End)
	}
	if p.Cost <= 0 || out.Objective != p.Cost {
		t.Errorf("cost %v, objective %v: want the booked option's cost in both", p.Cost, out.Objective)
	}
	e.verifyAll(t)
}

// TestAssignContinuity: a batch honours the customer's last worker as a
// single booking does (issue 10: /v1/assign ignored it).
func TestAssignContinuity(t *testing.T) {
	e := continuityEnv(t)
	next := withID("r1", normal(base, mins(60), at(13, 0), at(16, 0)))
	next.CustomerID = "c1"
	other := withID("r2", normal(base, mins(60), at(13, 0), at(16, 0)))
	other.CustomerID = "c2"
	// Quoted alone, c1's request goes to b (continuity), c2's to a (nearer).
	q, _ := e.quote(t, next)
	if q.Options[0].WorkerID != "b" {
		t.Fatalf("fixture: quote ranks %s first, want b", q.Options[0].WorkerID)
	}
	for _, tt := range []struct {
		name string
		reqs []doorstep.Request
		want map[string]string
	}{
		{"alone", []doorstep.Request{next}, map[string]string{"r1": "b"}},
		{"beside another customer", []doorstep.Request{next, other}, map[string]string{"r1": "b", "r2": "a"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.svc.Assign(t.Context(), tt.reqs, false, tenant)
			if err != nil {
				t.Fatalf("Assign: %v", err)
			}
			if diff := cmp.Diff(placed(out), tt.want); diff != "" {
				t.Errorf("placements (-got +want):\n%s", diff)
			}
		})
	}
}

// downStore fails every Apply once armed, as a Redis gone away would, and
// counts the calls.
type downStore struct {
	*store.Store
	armed atomic.Bool
	calls atomic.Int32
}

func (d *downStore) Apply(ctx context.Context, ch store.Change) error {
	if !d.armed.Load() {
		return d.Store.Apply(ctx, ch)
	}
	d.calls.Add(1)
	return doorstep.Errorf(doorstep.EUNAVAILABLE, "", "redis is down (injected)")
}

// TestAssignCommitStopsAtAFault: the store fails while a committed batch
// books what its assignment left. The request being booked is reported
// with the fault's code, the next one is not tried (no second write) and
// keeps the assignment's reason, the answer stands (the bookings made
// before the fault would be in it) and nothing moved.
func TestAssignCommitStopsAtAFault(t *testing.T) {
	ds := &downStore{}
	e := newEnv(t, at(9, 0), func(c *dispatch.Config) {
		ds.Store = c.Store.(*store.Store)
		c.Store = ds
	})
	north5 := offset(base, 5, 0)
	e.put(t, worker("u", base, dayShift()))
	orig := e.book(t, normal(north5, mins(120), at(9, 10), at(14, 0))).Booking
	e.clk.Set(at(9, 5))
	ds.armed.Store(true)
	reqs := []doorstep.Request{
		withID("x", urgent("cleaning", offset(base, 0, -1), mins(60))),
		withID("y", urgent("cleaning", offset(base, 0, 1), mins(60))),
	}
	out, err := e.svc.Assign(t.Context(), reqs, true, "")
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if diff := cmp.Diff(unplaced(out), map[string]string{"x": doorstep.EUNAVAILABLE, "y": "busy"}); diff != "" {
		t.Errorf("unplaced (-got +want):\n%s", diff)
	}
	if len(out.Placements) != 0 {
		t.Errorf("placements %+v", out.Placements)
	}
	if n := ds.calls.Load(); n != 1 {
		t.Errorf("%d writes tried, want 1: nothing after the fault", n)
	}
	ds.armed.Store(false)
	if got := e.get(t, orig.ID); !got.Start.Equal(orig.Start) || got.WorkerID != "u" {
		t.Errorf("the booking in the way moved: %v on %s", got.Start, got.WorkerID)
	}
	e.verifyAll(t)
}

// TestAssignCommitConcurrent: committed batches, which book what their
// assignment left through the booking path (moving bookings to make room),
// race single bookings for a few workers whose days fill up. Whatever the
// interleaving, every booking answered is confirmed, in exactly one
// timeline; nothing else is booked; and every day passes schedule.Verify
// and every promise holds.
func TestAssignCommitConcurrent(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	for i := range 4 {
		e.put(t, worker(fmt.Sprintf("w%d", i), offset(base, float64(i), 0), dayShift(), "cleaning", "plumbing"))
	}
	e.clk.Set(at(9, 0))
	place := func(k int) doorstep.Location { return offset(base, float64(k%5)-1, float64(k%3)) }
	var (
		mu       sync.Mutex
		answered = map[string]bool{}
		moved    int
	)
	note := func(id string, moves int) {
		mu.Lock()
		defer mu.Unlock()
		if answered[id] {
			t.Errorf("booking %s answered twice", id)
		}
		answered[id] = true
		moved += moves
	}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() { // committed batches
			for round := range 4 {
				var reqs []doorstep.Request
				for k := range 4 {
					r := normal(place(g+round+k), mins(60+15*k), at(9, 30), at(17, 0))
					if k == 0 {
						r = urgent("plumbing", place(g+round), mins(60))
					}
					reqs = append(reqs, withID(fmt.Sprintf("g%d-r%d-%d", g, round, k), r))
				}
				out, err := e.svc.Assign(t.Context(), reqs, true, tenant)
				if err != nil {
					t.Errorf("Assign: %v", err)
					return
				}
				for _, p := range out.Placements {
					note(p.Booking.ID, len(p.Moves))
				}
				for _, u := range out.Unplaced {
					if u.Reason == doorstep.EUNAVAILABLE || u.Reason == doorstep.EINTERNAL {
						t.Errorf("batch left %s for a fault: %s", u.RequestID, u.Reason)
					}
				}
			}
		})
		wg.Go(func() { // single bookings
			for k := range 8 {
				r := normal(place(g*7+k), mins(45), at(9, 30), at(17, 0))
				if k%3 == 0 {
					r = urgent("plumbing", place(g*7+k), mins(45))
				}
				b, err := e.svc.Book(t.Context(), r, tenant)
				switch {
				case err == nil:
					note(b.Booking.ID, len(b.Moves))
				case doorstep.ErrorCode(err) != doorstep.EUNSERVABLE && doorstep.ErrorCode(err) != doorstep.ECONFLICT:
					t.Errorf("Book: %v", err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for id := range e.workers {
		for _, b := range e.timeline(t, id) {
			switch {
			case seen[b.ID]:
				t.Errorf("booking %s in two timelines", b.ID)
			case !answered[b.ID]:
				t.Errorf("booking %s on %s was never answered", b.ID, id)
			case b.Status != doorstep.StatusConfirmed:
				t.Errorf("booking %s is %s", b.ID, b.Status)
			}
			seen[b.ID] = true
		}
	}
	for id := range answered {
		if !seen[id] {
			t.Errorf("answered booking %s is in no timeline", id)
		}
	}
	if len(answered) < 8 {
		t.Errorf("only %d bookings made: the days did not fill", len(answered))
	}
	t.Logf("%d bookings, %d moves to make room", len(answered), moved)
	e.verifyAll(t)
}

// TestAssignCommitBooksUrgentLeftFirst: u's only free time is taken by a
// normal job that may move later in its window. The batch lists a normal
// request first (start by 10:00) and an urgent one second, both near u and
// both left by the assignment: booked in the batch's order the normal one
// would take the room the urgent call needs. What the assignment left is
// booked urgent first, so the urgent call gets u and the normal request,
// which can no longer start by 10:00, is left.
func TestAssignCommitBooksUrgentLeftFirst(t *testing.T) {
	north5, west1 := offset(base, 5, 0), offset(base, 0, -1)
	e := newEnv(t, at(9, 0), nil)
	e.put(t, worker("u", base, dayShift()))
	e.book(t, normal(north5, mins(120), at(9, 10), at(14, 0)))
	e.clk.Set(at(9, 5))
	reqs := []doorstep.Request{
		withID("n", normal(west1, mins(60), at(9, 10), at(10, 0))),
		withID("x", urgent("cleaning", west1, mins(60))),
	}
	out, err := e.svc.Assign(t.Context(), reqs, true, "")
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if diff := cmp.Diff(placed(out), map[string]string{"x": "u"}); diff != "" {
		t.Errorf("placements (-got +want):\n%s", diff)
	}
	if _, ok := unplaced(out)["n"]; !ok {
		t.Errorf("the normal request is not left: %+v", out.Unplaced)
	}
	e.verifyAll(t)
}
