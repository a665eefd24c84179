package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// TestMoveHonoursExcludedWorkers: excluded workers are a hard rule, and a
// rescue or a reschedule that moves a booking must not put it on a worker
// its customer excluded. The booking records the request's excluded (and
// preferred) workers so that the move rebuilds the request with them.
func TestMoveHonoursExcludedWorkers(t *testing.T) {
	east10 := offset(base, 0, 10)
	t.Run("rescue", func(t *testing.T) {
		e := newEnv(t, at(8, 0), nil)
		e.put(t, worker("u", base, dayShift(), "cleaning", "plumbing"))
		r := normal(east10, mins(120), time.Time{}, time.Time{})
		r.ExcludedWorkers = []string{"v"}
		orig := e.book(t, r).Booking
		e.put(t, worker("v", east10, dayShift()))
		e.clk.Set(at(8, 10))
		// Only v could take the booking at its start; v is excluded.
		_, err := e.svc.Book(t.Context(), urgent("plumbing", offset(base, 0, -1), mins(60)), "")
		wantUnservable(t, err, "")
		if got := e.get(t, orig.ID).WorkerID; got != "u" {
			t.Errorf("the booking moved to %s, whom its customer excluded", got)
		}
	})
	t.Run("reschedule", func(t *testing.T) {
		e := newEnv(t, at(8, 0), nil)
		e.put(t, worker("a", base, []doorstep.Shift{shift(at(8, 0), at(12, 0))}), worker("b", offset(base, 0, 3), dayShift()))
		r := normal(base, mins(60), at(9, 0), at(9, 30))
		r.ExcludedWorkers = []string{"b"}
		orig := e.book(t, r).Booking
		// Only b works at 15:00; b is excluded.
		_, err := e.svc.Reschedule(t.Context(), orig.ID, "", doorstep.Window{Start: at(15, 0), End: at(15, 30)})
		wantUnservable(t, err, "")
		if got := e.get(t, orig.ID).WorkerID; got != "a" {
			t.Errorf("the booking moved to %s, whom its customer excluded", got)
		}
	})
}
