package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/google/go-cmp/cmp"
)

// TestBookUrgentOvertime: through Redis, an urgent call late in a shift
// with an hour of urgent overtime is booked to run past the shift's end,
// and observed as overtime;
// the same call on a shift without overtime is refused for the shift's
// end, and a normal job never runs over.
func TestBookUrgentOvertime(t *testing.T) {
	e := newEnv(t, at(17, 30), nil)
	over := worker("over", base, dayShift(), "plumbing")
	over.Shifts[0].UrgentOvertimeMinutes = 60
	e.put(t, over)
	east1 := offset(base, 0, 1)
	call := urgent("plumbing", east1, mins(60))

	bk := e.book(t, call)
	b := bk.Booking
	if b.WorkerID != "over" || !b.End.After(at(18, 0)) || b.End.After(at(19, 0)) {
		t.Fatalf("booked %s %v..%v, want on over, ending in its overtime (18:00-19:00)", b.WorkerID, b.Start, b.End)
	}
	if jobs, minutes := e.obs.overtimeJobs.Load(), e.obs.overtimeMinutes.Load(); jobs != 1 || minutes != int64(b.End.Sub(at(18, 0))/time.Minute) {
		t.Errorf("observed %d bookings into overtime, %d minutes; want 1 and %v", jobs, minutes, b.End.Sub(at(18, 0)))
	}
	normal := normal(east1, mins(60), at(17, 30), at(17, 45))
	normal.Service = "plumbing"
	_, err := e.svc.Book(t.Context(), normal, tenant)
	wantUnservable(t, err, "shift_end")

	e2 := newEnv(t, at(17, 30), nil)
	e2.put(t, worker("plain", base, dayShift(), "plumbing"))
	_, err = e2.svc.Book(t.Context(), call, tenant)
	wantUnservable(t, err, "shift_end")
	e.verifyAll(t)
}

// TestReplanIntoOvertime: a's urgent job (17:10-17:55) is displaced by an
// absence. b, 3 km east, ends at 17:30 with an hour of urgent overtime: it
// takes the job inside its hour, running past 17:30, and the move is
// observed as overtime, as a booking made there would be.
func TestReplanIntoOvertime(t *testing.T) {
	e := newEnv(t, at(17, 0), nil)
	e.put(t, worker("a", base, dayShift(), "plumbing"))
	u := e.fixture(t, "a", urgent("plumbing", base, mins(45)), at(17, 10))
	b := worker("b", homeB, []doorstep.Shift{shift(at(8, 0), at(17, 30))}, "plumbing")
	b.Shifts[0].UrgentOvertimeMinutes = 60
	e.put(t, b)

	w, rp, err := e.svc.Absent(t.Context(), "a", doorstep.Window{Start: at(17, 0), End: at(18, 0)})
	if err != nil {
		t.Fatal(err)
	}
	e.workers["a"] = w
	if diff := cmp.Diff(rp, &dispatch.Replanned{Moved: 1}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	e.wantMovedIntoOvertime(t, u.ID)
	e.verifyReplanned(t)
}

// TestRescueIntoOvertime: an urgent electrical call at a's door, and a
// (the only electrician) holds an urgent plumbing job 1.5 km east until
// 17:55, which would keep the call past its hour. The rescue moves that
// job to b, the plumber 3 km east whose shift ends at 17:30 with an hour
// of urgent overtime: b reaches it inside its hour and runs past 17:30,
// and the move is observed as overtime.
func TestRescueIntoOvertime(t *testing.T) {
	e := newEnv(t, at(17, 0), nil)
	e.put(t, worker("a", base, []doorstep.Shift{shift(at(8, 0), at(19, 0))}, "plumbing", "electrical"))
	u := e.fixture(t, "a", urgent("plumbing", offset(base, 0, 1.5), mins(45)), at(17, 10))
	b := worker("b", homeB, []doorstep.Shift{shift(at(8, 0), at(17, 30))}, "plumbing")
	b.Shifts[0].UrgentOvertimeMinutes = 60
	e.put(t, b)

	bk := e.book(t, urgent("electrical", base, mins(60)))
	if bk.Booking.WorkerID != "a" || len(bk.Moves) != 1 || bk.Moves[0].MovedBookingID != u.ID {
		t.Fatalf("booked on %s with moves %+v, want on a, moving %s", bk.Booking.WorkerID, bk.Moves, u.ID)
	}
	e.wantMovedIntoOvertime(t, u.ID)
	e.verifyAll(t)
}

// wantMovedIntoOvertime checks that urgent booking id (requested at 17:00)
// is now on b, reached within its hour and running past b's shift end at
// 17:30, and that the move was observed as the only placement into
// overtime, with its minutes over.
func (e *env) wantMovedIntoOvertime(t *testing.T, id string) {
	t.Helper()
	got := e.get(t, id)
	if got.WorkerID != "b" || !got.End.After(at(17, 30)) || got.Arrival.After(at(18, 0)) {
		t.Fatalf("moved booking on %s %v..%v, want on b, reached by 18:00, ending past 17:30", got.WorkerID, got.Arrival, got.End)
	}
	over := got.End.Sub(at(17, 30))
	if jobs, minutes := e.obs.overtimeJobs.Load(), e.obs.overtimeMinutes.Load(); jobs != 1 || minutes != int64(over/time.Minute) {
		t.Errorf("observed %d placements into overtime, %d minutes; want 1 and %v", jobs, minutes, over)
	}
}

// TestReplanKeepsOvertime: a's 16:10 job overruns until 16:55 and its
// 16:40 job moves to 16:55. Its urgent job in its overtime (17:20-18:10,
// the shift ending at 17:30), re-planned after them, keeps its time:
// keeping it is no new overtime, and nothing is observed.
func TestReplanKeepsOvertime(t *testing.T) {
	e := newEnv(t, at(16, 30), nil)
	a := worker("a", base, []doorstep.Shift{shift(at(8, 0), at(17, 30))}, "plumbing")
	a.Shifts[0].UrgentOvertimeMinutes = 60
	e.put(t, a)
	plumbing := func(r doorstep.Request) doorstep.Request { r.Service = "plumbing"; return r }
	j1 := e.fixture(t, "a", plumbing(normal(base, mins(30), time.Time{}, time.Time{})), at(16, 10))
	j2 := e.fixture(t, "a", plumbing(normal(base, mins(20), at(16, 40), at(17, 0))), at(16, 40))
	u := e.fixture(t, "a", urgent("plumbing", base, mins(50)), at(17, 20))
	_, rp, err := e.svc.Overrun(t.Context(), j1.ID, at(16, 55))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rp, &dispatch.Replanned{Moved: 1}); diff != "" {
		t.Errorf("replanned (-got +want):\n%s", diff)
	}
	e.wantBooking(t, j2.ID, "a", at(16, 55), "", 2)
	e.wantBooking(t, u.ID, "a", at(17, 20), "", 1)
	if jobs := e.obs.overtimeJobs.Load(); jobs != 0 {
		t.Errorf("observed %d placements into overtime, want none: the booking in overtime kept its time", jobs)
	}
	e.verifyReplanned(t)
}
