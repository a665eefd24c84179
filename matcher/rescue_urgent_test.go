package matcher_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestPlanRescueMovesUrgentInsideItsHour: an unstarted urgent booking
// gives way to a new urgent call when another worker still reaches it
// within its own hour. A tiny city counted by hand (gridTravel: one minute
// per millidegree), the clock at 10:00, plumbing jobs of 90 minutes:
//
//   - near (home at base) holds u1, requested 09:50 (arrive by 10:50), at
//     at(0, 20), arriving 10:30. The new call r is at base, requested
//     10:00 (arrive by 11:00). near cannot take both: r 10:00-11:30, then
//     u1 at 11:50; u1 first ends 12:00, then r at 12:20.
//   - far (home at at(0, 65)) reaches r at 11:05, too late, but u1 at
//     10:45, inside u1's hour.
//
// So the plan is r on near at 10:00 and u1 on far at 10:45. Not when far
// lives at at(0, 75) (u1 at 10:55, past 10:50), not for a normal request
// (an urgent booking never gives way to normal work), not once near has
// arrived at u1.
func TestPlanRescueMovesUrgentInsideItsHour(t *testing.T) {
	now := clock(10, 0)
	u1 := func() *doorstep.Booking {
		b := booking("u1", clock(10, 30), clock(12, 0), at(0, 20))
		b.WorkerID, b.Service, b.Skills, b.Urgency, b.RequestedAt, b.Version =
			"near", "plumbing", []string{"plumbing"}, doorstep.Urgent, clock(9, 50), 1
		return b
	}
	candOf := func(w *doorstep.Worker, version int64, bs ...*doorstep.Booking) matcher.Candidate {
		return matcher.Candidate{Worker: w, Timeline: schedule.TimelineOf(bs), Version: version, Region: "r", Bookings: bs}
	}
	pool := func(farE float64, b *doorstep.Booking) []matcher.Candidate {
		return []matcher.Candidate{
			candOf(newWorker("near", "plumbing"), 3, b),
			candOf(withHomeAt(newWorker("far", "plumbing"), at(0, farE)), 7),
		}
	}
	urgent := urgentAt(t, "plumbing", base, now)
	normal := mustResolve(t, doorstep.Request{Service: "plumbing", Location: base, Urgency: doorstep.Normal, RequestedAt: now,
		Window: &doorstep.Window{Start: now, End: clock(10, 30)}})
	type plan struct {
		Worker, Start, Moved, To, ToArrival string
		Expect                              map[string]int64
	}
	tests := []struct {
		name  string
		req   *doorstep.Request
		cands []matcher.Candidate
		want  *plan // nil: no rescue
	}{
		{
			name:  "the urgent booking moves to a worker who still reaches it within its hour",
			req:   urgent,
			cands: pool(65, u1()),
			want:  &plan{Worker: "near", Start: "10:00", Moved: "u1", To: "far", ToArrival: "10:45", Expect: map[string]int64{"near": 3, "far": 7}},
		},
		{
			name:  "not when the other worker would reach it after its hour",
			req:   urgent,
			cands: pool(75, u1()),
		},
		{
			name:  "an urgent booking never gives way to a normal request",
			req:   normal,
			cands: pool(65, u1()),
		},
		{
			name: "not once its worker has arrived",
			req:  urgent,
			cands: func() []matcher.Candidate {
				b := u1()
				b.Arrival = now
				return pool(65, b)
			}(),
		},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := m.Match(tt.req, tt.cands, now, matcher.History{}); len(res.Options) != 0 {
				t.Fatalf("Match found %s at %s: the case needs no rescue", res.Options[0].WorkerID, res.Options[0].Slot.Start.Format("15:04"))
			}
			rp := m.PlanRescue(tt.req, tt.cands, now, matcher.History{})
			if tt.want == nil {
				if rp != nil {
					t.Fatalf("PlanRescue moved %s to %s, want no rescue", rp.Moves[0].From.ID, rp.Moves[0].To.WorkerID)
				}
				return
			}
			if rp == nil {
				t.Fatal("PlanRescue = nil, want a rescue")
			}
			if len(rp.Moves) != 1 {
				t.Fatalf("plan moves %d bookings, want 1", len(rp.Moves))
			}
			mv := rp.Moves[0]
			got := &plan{Worker: rp.Option.WorkerID, Start: rp.Option.Slot.Start.Format("15:04"), Moved: mv.From.ID,
				To: mv.To.WorkerID, ToArrival: mv.To.Arrival.Format("15:04"), Expect: rp.Expect}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
			if mv.To.Urgency != doorstep.Urgent || mv.To.Arrival.After(mv.To.RequestedAt.Add(doorstep.UrgentArrival)) {
				t.Errorf("moved booking %s arrives %s, past its hour (requested %s)", mv.To.ID, mv.To.Arrival.Format("15:04"), mv.To.RequestedAt.Format("15:04"))
			}
		})
	}
}
