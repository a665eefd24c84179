package dispatch_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// TestMakeRoom: a request (urgent or normal) that nobody can serve is
// served by moving one or two not-yet-started normal bookings inside their
// promises, in one atomic step; the answer and the audit log name every
// move, the metrics count the plan by size. Every place is base (no
// travel); every worker cleans and lives at base, so a shift starts with
// the worker at the door. The clock reads 09:50 when the request comes.
//
//   - chain: busy (cleaning and plumbing, 08:00-12:00) holds b1 10:00-11:30
//     (window 10:00-12:15), w2 (12:00-14:00) holds b2 12:00-13:30 (window
//     12:00-20:00), w3 (14:00-20:00) is free. An urgent plumbing job of 60
//     minutes (arrive by 10:50) fits busy only without b1; b1 fits only on
//     w2 at 12:00, once b2 goes on to w3 at 14:00.
//   - normal request: the same without w3 and b2: a normal plumbing job
//     (60 minutes, window 10:00-10:30) takes busy at 10:00, b1 goes to w2
//     at 12:00.
//   - two off one worker: busy (08:00-20:00) alone, b1 09:55-10:55 and b2
//     11:00-11:30 (windows to 16:00); an urgent cleaning job of 90
//     minutes needs both gone: 09:50-11:20, then b1 11:20, b2 12:20.
//   - nothing possible: as "normal request" without w2: 422, nothing moved.
func TestMakeRoom(t *testing.T) {
	dayTo := func(h int) []doorstep.Shift { return []doorstep.Shift{shift(at(8, 0), at(h, 0))} }
	type setup struct {
		req    doorstep.Request
		wantOn string // the worker the set-up booking must land on
	}
	type move struct {
		Booking, From, To string // booking: its index in setups
		NewStart          time.Time
	}
	tests := []struct {
		name    string
		workers []*doorstep.Worker
		setups  []setup // booked at 08:00, in order
		req     doorstep.Request
		want    []move // nil: refused
	}{
		{
			name: "chain of two",
			workers: []*doorstep.Worker{worker("busy", base, dayTo(12), "cleaning", "plumbing"),
				worker("w2", base, []doorstep.Shift{shift(at(12, 0), at(14, 0))}), worker("w3", base, []doorstep.Shift{shift(at(14, 0), at(20, 0))})},
			setups: []setup{{normal(base, mins(90), at(10, 0), at(12, 15)), "busy"}, {normal(base, mins(90), at(12, 0), at(20, 0)), "w2"}},
			req:    urgent("plumbing", base, mins(60)),
			want:   []move{{"0", "busy", "w2", at(12, 0)}, {"1", "w2", "w3", at(14, 0)}},
		},
		{
			name: "normal request",
			workers: []*doorstep.Worker{worker("busy", base, dayTo(12), "cleaning", "plumbing"),
				worker("w2", base, []doorstep.Shift{shift(at(12, 0), at(14, 0))})},
			setups: []setup{{normal(base, mins(90), at(10, 0), at(12, 15)), "busy"}},
			req:    doorstep.Request{Service: "plumbing", Location: base, Urgency: doorstep.Normal, Duration: mins(60), Window: &doorstep.Window{Start: at(10, 0), End: at(10, 30)}},
			want:   []move{{"0", "busy", "w2", at(12, 0)}},
		},
		{
			name:    "two off one worker",
			workers: []*doorstep.Worker{worker("busy", base, dayTo(20))},
			setups:  []setup{{normal(base, mins(60), at(9, 55), at(16, 0)), "busy"}, {normal(base, mins(30), at(11, 0), at(16, 0)), "busy"}},
			req:     urgent("cleaning", base, mins(90)),
			want:    []move{{"0", "busy", "busy", at(11, 20)}, {"1", "busy", "busy", at(12, 20)}},
		},
		{
			name:    "nothing possible",
			workers: []*doorstep.Worker{worker("busy", base, dayTo(12), "cleaning", "plumbing")},
			setups:  []setup{{normal(base, mins(90), at(10, 0), at(12, 15)), "busy"}},
			req:     doorstep.Request{Service: "plumbing", Location: base, Urgency: doorstep.Normal, Duration: mins(60), Window: &doorstep.Window{Start: at(10, 0), End: at(10, 30)}},
		},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, at(8, 0), nil)
			e.put(t, tt.workers...)
			var orig []*doorstep.Booking
			for _, s := range tt.setups {
				b := e.book(t, s.req).Booking
				if b.WorkerID != s.wantOn {
					t.Fatalf("fixture: set-up booking on %s at %v, want %s", b.WorkerID, b.Start, s.wantOn)
				}
				orig = append(orig, b)
			}
			e.clk.Set(at(9, 50))
			before := map[string][]string{}
			for _, w := range tt.workers {
				before[w.ID] = ids(e.timeline(t, w.ID))
			}
			q, qerr := e.svc.Quote(t.Context(), tt.req, tenant)
			got, err := e.svc.Book(t.Context(), tt.req, tenant)
			if tt.want == nil {
				wantUnservable(t, qerr, "")
				wantUnservable(t, err, "")
				for _, w := range tt.workers {
					if got := ids(e.timeline(t, w.ID)); !cmp.Equal(got, before[w.ID]) {
						t.Errorf("%s's timeline %v after a refusal, want %v", w.ID, got, before[w.ID])
					}
				}
				if n := e.obs.rescued.Load(); n != 0 {
					t.Errorf("%d rescues reported", n)
				}
				return
			}
			if err != nil || qerr != nil {
				t.Fatalf("Book: %v; Quote: %v", err, qerr)
			}
			var want []dispatch.Rescue
			for _, mv := range tt.want {
				o := orig[mv.Booking[0]-'0']
				want = append(want, dispatch.Rescue{MovedBookingID: o.ID, MovedOwner: tenant, FromWorker: mv.From, ToWorker: mv.To, OldStart: o.Start, NewStart: mv.NewStart})
			}
			if diff := cmp.Diff(got.Moves, want); diff != "" {
				t.Errorf("moves (-got +want):\n%s", diff)
			}
			if got.Rescue == nil || *got.Rescue != want[0] {
				t.Errorf("rescue %+v, want the first move %+v", got.Rescue, want[0])
			}
			if diff := cmp.Diff(q.Moves, want); diff != "" {
				t.Errorf("the quote's moves (-got +want):\n%s", diff)
			}
			// Redis holds the plan whole: the new booking on busy, every
			// moved booking where the answer says, each version one more.
			nb := e.get(t, got.Booking.ID)
			if nb.WorkerID != "busy" || nb.Status != doorstep.StatusConfirmed {
				t.Errorf("new booking %v is %s", nb, nb.Status)
			}
			for i, mv := range want {
				b := e.get(t, mv.MovedBookingID)
				o := orig[tt.want[i].Booking[0]-'0']
				if b.WorkerID != mv.ToWorker || !b.Start.Equal(mv.NewStart) || b.Version != o.Version+1 ||
					b.LastChange == nil || b.LastChange.Reason != doorstep.ChangeRescue || !cmp.Equal(b.Window, o.Window) {
					t.Errorf("moved booking %v version %d change %+v, want on %s at %v, version %d, reason rescue", b, b.Version, b.LastChange, mv.ToWorker, mv.NewStart, o.Version+1)
				}
				if !slices.Contains(ids(e.timeline(t, mv.ToWorker)), b.ID) {
					t.Errorf("moved booking %s is not in %s's timeline", b.ID, mv.ToWorker)
				}
			}
			// The audit log has one move event per moved booking, with
			// its reason, written by the same step.
			events, err := e.st.ReadAudit(t.Context(), "", 100)
			if err != nil {
				t.Fatal(err)
			}
			moved := map[string]string{}
			for _, ev := range events {
				if ev.Action == "move" {
					moved[ev.BookingID] = ev.Reason
				}
			}
			for _, mv := range want {
				if moved[mv.MovedBookingID] != doorstep.ChangeRescue {
					t.Errorf("audit: no move event with reason rescue for %s (%v)", mv.MovedBookingID, moved)
				}
			}
			if len(moved) != len(want) {
				t.Errorf("audit: %d move events, want %d", len(moved), len(want))
			}
			if r, m := e.obs.rescued.Load(), e.obs.rescueMoves.Load(); r != 1 || m != int64(len(want)) {
				t.Errorf("observer: %d rescues moving %d bookings, want 1 moving %d", r, m, len(want))
			}
			e.verifyAll(t)
		})
	}
}

// TestMakeRoomConcurrent: two urgent requests race for the one chain plan
// of TestMakeRoom ("chain of two"): the plan pins all three workers, so
// one wins and the other, whose plan or reservation loses the race, reads
// again and finds busy free right after the first urgent job (arriving
// 10:50, just in time): it is booked without a move. Nothing is moved
// twice or lost.
func TestMakeRoomConcurrent(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("busy", base, []doorstep.Shift{shift(at(8, 0), at(12, 0))}, "cleaning", "plumbing"),
		worker("w2", base, []doorstep.Shift{shift(at(12, 0), at(14, 0))}), worker("w3", base, []doorstep.Shift{shift(at(14, 0), at(20, 0))}))
	b1 := e.book(t, normal(base, mins(90), at(10, 0), at(12, 15))).Booking
	b2 := e.book(t, normal(base, mins(90), at(12, 0), at(20, 0))).Booking
	e.clk.Set(at(9, 50))
	var wg sync.WaitGroup
	res := make([]*dispatch.Booked, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { res[i], errs[i] = e.svc.Book(t.Context(), urgent("plumbing", base, mins(60)), tenant) })
	}
	wg.Wait()
	var moves []int
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if b := e.get(t, res[i].Booking.ID); b.WorkerID != "busy" || b.Status != doorstep.StatusConfirmed {
			t.Errorf("urgent booking %v (%s), want on busy", b, b.Status)
		}
		moves = append(moves, len(res[i].Moves))
	}
	slices.Sort(moves)
	if !slices.Equal(moves, []int{0, 2}) || e.obs.rescued.Load() != 1 || e.obs.rescueMoves.Load() != 2 {
		t.Errorf("moves per answer %v, %d plans moving %d reported; want one plain, one chain", moves, e.obs.rescued.Load(), e.obs.rescueMoves.Load())
	}
	for id, w := range map[string]string{b1.ID: "w2", b2.ID: "w3"} {
		if got := e.get(t, id); got.WorkerID != w || got.Status != doorstep.StatusConfirmed || got.Version != 2 {
			t.Errorf("booking %v (%s, version %d), want on %s at version 2", got, got.Status, got.Version, w)
		}
	}
	e.verifyAll(t)
}
