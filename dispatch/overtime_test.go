package dispatch_test

import (
	"testing"
	"time"
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
