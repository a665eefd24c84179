package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// TestCancelFreesSlot: a cancelled booking's slot is free at once, and the
// next booking takes exactly that slot.
func TestCancelFreesSlot(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("w", base, dayShift()))
	req := normal(base, mins(120), at(9, 0), at(9, 5))
	first := e.book(t, req).Booking
	if !first.Start.Equal(at(9, 0)) {
		t.Fatalf("got start %v, want 09:00", first.Start)
	}
	_, err := e.svc.Book(t.Context(), req, "")
	wantUnservable(t, err, "busy")

	c, err := e.svc.Cancel(t.Context(), first.ID, "")
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if c.Status != doorstep.StatusCancelled {
		t.Errorf("got status %s, want cancelled", c.Status)
	}
	if got := e.get(t, first.ID).Status; got != doorstep.StatusCancelled {
		t.Errorf("stored status %s, want cancelled", got)
	}
	again := e.book(t, req).Booking
	if again.WorkerID != "w" || !again.Start.Equal(first.Start) || !again.End.Equal(first.End) {
		t.Errorf("got %v, want the cancelled slot %v..%v", again, first.Start, first.End)
	}
	if got, want := ids(e.timeline(t, "w")), []string{again.ID}; !cmp.Equal(got, want) {
		t.Errorf("timeline %v, want %v", got, want)
	}

	// Cancelling twice answers the cancelled booking; a started booking
	// cannot be cancelled.
	if c, err := e.svc.Cancel(t.Context(), first.ID, ""); err != nil || c.Status != doorstep.StatusCancelled {
		t.Errorf("second Cancel: %v, %v", c, err)
	}
	e.clk.Set(at(9, 30))
	if _, err := e.svc.Cancel(t.Context(), again.ID, ""); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("Cancel of a started booking: got %v, want %s", err, doorstep.ECONFLICT)
	}
	if got := e.get(t, again.ID).Status; got != doorstep.StatusConfirmed {
		t.Errorf("a refused cancel changed the status to %s", got)
	}
	e.verifyAll(t)
}

func TestReschedule(t *testing.T) {
	east3 := offset(base, 0, 3)
	// a works 08:00-12:00, b 08:00-18:00 three km east; the booking is
	// made at b's door, for a by preference.
	pool := newPool(t)
	setup := func(t *testing.T) (*env, *doorstep.Booking) {
		e := pool.newEnv(t, at(8, 0), nil)
		e.put(t, worker("a", base, []doorstep.Shift{shift(at(8, 0), at(12, 0))}),
			worker("b", east3, dayShift()))
		req := normal(east3, mins(60), at(9, 0), at(9, 30))
		req.PreferredWorkers = []string{"a"}
		b := e.book(t, req).Booking
		if b.WorkerID != "a" {
			t.Fatalf("fixture booked on %s, want a", b.WorkerID)
		}
		return e, b
	}
	tests := []struct {
		name       string
		window     doorstep.Window
		wantWorker string // "" when the reschedule must fail
		wantStart  doorstep.Window
	}{
		{
			// b is nearer (and the preference is not part of the new
			// request), but a can serve the new window: a keeps it.
			name:       "its own worker keeps it when it can",
			window:     doorstep.Window{Start: at(10, 30), End: at(11, 0)},
			wantWorker: "a",
		},
		{
			name:       "another worker takes it when its own cannot",
			window:     doorstep.Window{Start: at(15, 0), End: at(15, 30)},
			wantWorker: "b",
		},
		{
			name:   "nobody can: refused, the booking untouched",
			window: doorstep.Window{Start: at(19, 0), End: at(19, 30)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, orig := setup(t)
			got, err := e.svc.Reschedule(t.Context(), orig.ID, "", tt.window)
			if tt.wantWorker == "" {
				wantUnservable(t, err, "")
				if diff := cmp.Diff(e.get(t, orig.ID), orig); diff != "" {
					t.Errorf("a failed reschedule changed the booking (-got +want):\n%s", diff)
				}
				if got := ids(e.timeline(t, "a")); !cmp.Equal(got, []string{orig.ID}) {
					t.Errorf("a's timeline %v, want the booking", got)
				}
				e.verifyAll(t)
				return
			}
			if err != nil {
				t.Fatalf("Reschedule: %v", err)
			}
			if got.ID != orig.ID || got.WorkerID != tt.wantWorker {
				t.Errorf("got %s on %s, want %s on %s", got.ID, got.WorkerID, orig.ID, tt.wantWorker)
			}
			if !tt.window.Contains(got.Start) {
				t.Errorf("new start %v outside the new window %v..%v", got.Start, tt.window.Start, tt.window.End)
			}
			stored := e.get(t, orig.ID)
			if diff := cmp.Diff(stored, got); diff != "" {
				t.Errorf("stored booking differs from the answer (-stored +answer):\n%s", diff)
			}
			if stored.Window == nil || *stored.Window != tt.window || !stored.RequestedAt.Equal(at(8, 0)) {
				t.Errorf("stored window %v requested_at %v, want the new window, requested now", stored.Window, stored.RequestedAt)
			}
			// The old slot is released: the booking is in exactly one
			// timeline, at its new start.
			for _, w := range []string{"a", "b"} {
				want := []string{}
				if w == tt.wantWorker {
					want = []string{orig.ID}
				}
				if got := ids(e.timeline(t, w)); !cmp.Equal(got, want) {
					t.Errorf("%s's timeline %v, want %v", w, got, want)
				}
			}
			e.verifyAll(t)
		})
	}
}

func TestRescheduleRefusals(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, dayShift()), worker("b", offset(base, 0, 3), dayShift()))
	nb := e.book(t, normal(base, mins(60), at(9, 0), at(9, 30))).Booking
	ub := e.book(t, urgent("cleaning", base, mins(30))).Booking
	w := doorstep.Window{Start: at(14, 0), End: at(15, 0)}

	if _, err := e.svc.Reschedule(t.Context(), ub.ID, "", w); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("urgent booking: got %v, want %s", err, doorstep.EINVALID)
	}
	// A window beyond 24 hours from now is an appointment: nobody works
	// then (422); one ending past the horizon is refused (400).
	far := doorstep.Window{Start: at(8, 0).AddDate(0, 0, 1), End: at(9, 0).AddDate(0, 0, 1)}
	if _, err := e.svc.Reschedule(t.Context(), nb.ID, "", far); doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
		t.Errorf("window past 24 h: got %v, want %s", err, doorstep.EUNSERVABLE)
	}
	beyond := doorstep.Window{Start: at(8, 0).AddDate(0, 0, 60), End: at(8, 0).Add(doorstep.DefaultHorizon).Add(mins(1))}
	if _, err := e.svc.Reschedule(t.Context(), nb.ID, "", beyond); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("window past the horizon: got %v, want %s", err, doorstep.EINVALID)
	}
	// Another owner does not see it.
	if _, err := e.svc.Reschedule(t.Context(), nb.ID, "someone-else", w); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("other owner: got %v, want %s", err, doorstep.ENOTFOUND)
	}
	// Cancelled, or under way: refused.
	e2 := newEnv(t, at(8, 0), nil)
	e2.put(t, worker("a", base, dayShift()))
	b1 := e2.book(t, normal(base, mins(60), at(9, 0), at(9, 30))).Booking
	b2 := e2.book(t, normal(base, mins(60), at(11, 0), at(11, 30))).Booking
	if _, err := e2.svc.Cancel(t.Context(), b2.ID, ""); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := e2.svc.Reschedule(t.Context(), b2.ID, "", w); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("cancelled: got %v, want %s", err, doorstep.ECONFLICT)
	}
	e2.clk.Set(b1.Arrival)
	if _, err := e2.svc.Reschedule(t.Context(), b1.ID, "", w); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("under way: got %v, want %s", err, doorstep.ECONFLICT)
	}
	// Reported under way before its arrival (the worker set off): refused.
	b3 := e2.book(t, normal(base, mins(60), at(13, 0), at(13, 30))).Booking
	if _, _, err := e2.svc.Progress(t.Context(), b3.ID, report(doorstep.ProgressEnRoute, e2.clk.Now(), time.Time{})); err != nil {
		t.Fatalf("Progress: %v", err)
	}
	if _, err := e2.svc.Reschedule(t.Context(), b3.ID, "", w); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("reported en route: got %v, want %s", err, doorstep.ECONFLICT)
	}
}
