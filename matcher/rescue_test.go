package matcher_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

func TestPlanRescue(t *testing.T) {
	now := clock(10, 0)
	// normalBooking is worker w's normal cleaning of 10:10-12:10 at base,
	// requested at 08:00 with the window win (nil: none).
	normalBooking := func(id, w string, win *doorstep.Window) *doorstep.Booking {
		b := booking(id, clock(10, 10), clock(12, 10), base)
		b.WorkerID, b.Service, b.Skills, b.Urgency, b.RequestedAt, b.Window, b.Version =
			w, "cleaning", []string{"cleaning"}, doorstep.Normal, clock(8, 0), win, 1
		return b
	}
	candOf := func(w *doorstep.Worker, region string, version int64, bs ...*doorstep.Booking) matcher.Candidate {
		return matcher.Candidate{Worker: w, Timeline: schedule.TimelineOf(bs), Version: version, Region: region, Bookings: bs}
	}
	allDay := &doorstep.Window{Start: clock(10, 0), End: clock(16, 0)}
	// later is a cleaner 10 minutes away whose shift starts at noon: no
	// help for the urgent request, free for the moved booking.
	later := func() *doorstep.Worker {
		return withShift(withHomeAt(newWorker("later", "cleaning"), at(10, 0)), clock(12, 0), clock(20, 0))
	}
	type want struct {
		Urgent, UrgentStart, To, ToStart string
		Expect                           map[string]int64
	}
	tests := []struct {
		name  string
		cands func() []matcher.Candidate
		want  *want // nil: no rescue
	}{
		{
			name: "the booking moves to a later slot of its own worker",
			cands: func() []matcher.Candidate {
				return []matcher.Candidate{candOf(newWorker("busy", "cleaning"), "r", 3, normalBooking("b1", "busy", allDay)), candOf(later(), "r", 5)}
			},
			want: &want{Urgent: "busy", UrgentStart: "10:00", To: "busy", ToStart: "12:00", Expect: map[string]int64{"busy": 3}},
		},
		{
			name: "the booking moves to another worker of the region",
			cands: func() []matcher.Candidate {
				busy := withShift(newWorker("busy", "cleaning"), clock(8, 0), clock(12, 30))
				return []matcher.Candidate{candOf(busy, "r", 3, normalBooking("b1", "busy", allDay)), candOf(later(), "r", 5)}
			},
			want: &want{Urgent: "busy", UrgentStart: "10:00", To: "later", ToStart: "12:10", Expect: map[string]int64{"busy": 3, "later": 5}},
		},
		{
			name: "never to a worker of another region (not one atomic step)",
			cands: func() []matcher.Candidate {
				busy := withShift(newWorker("busy", "cleaning"), clock(8, 0), clock(12, 30))
				return []matcher.Candidate{candOf(busy, "r", 3, normalBooking("b1", "busy", allDay)), candOf(later(), "elsewhere", 5)}
			},
		},
		{
			name: "a booking without a window keeps its start, so it cannot move",
			cands: func() []matcher.Candidate {
				return []matcher.Candidate{candOf(newWorker("busy", "cleaning"), "r", 3, normalBooking("b1", "busy", nil)), candOf(later(), "r", 5)}
			},
		},
		{
			name: "an urgent booking moves only inside its hour (this one's, from 08:00, is over)",
			cands: func() []matcher.Candidate {
				b := normalBooking("b1", "busy", allDay)
				b.Urgency = doorstep.Urgent
				return []matcher.Candidate{candOf(newWorker("busy", "cleaning"), "r", 3, b), candOf(later(), "r", 5)}
			},
		},
		{
			name: "a booking under way is never moved",
			cands: func() []matcher.Candidate {
				b := normalBooking("b1", "busy", allDay)
				b.Arrival = now
				return []matcher.Candidate{candOf(newWorker("busy", "cleaning"), "r", 3, b), candOf(later(), "r", 5)}
			},
		},
		{
			name: "an unqualified worker is not freed",
			cands: func() []matcher.Candidate {
				return []matcher.Candidate{candOf(newWorker("busy", "plumbing"), "r", 3, normalBooking("b1", "busy", allDay)), candOf(later(), "r", 5)}
			},
		},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	hhmm := func(t time.Time) string { return t.Format("15:04") }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := urgentAt(t, "cleaning", base, now)
			rp := m.PlanRescue(req, tt.cands(), now, matcher.History{})
			if tt.want == nil {
				if rp != nil {
					t.Fatalf("PlanRescue = %+v, want no rescue", rp)
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
			got := &want{Urgent: rp.Option.WorkerID, UrgentStart: hhmm(rp.Option.Slot.Start), To: mv.To.WorkerID, ToStart: hhmm(mv.To.Start), Expect: rp.Expect}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
			if mv.From.ID != "b1" || rp.Region != "r" || mv.To.Version != 2 || mv.To.Status != doorstep.StatusConfirmed {
				t.Errorf("moved %s region %q to version %d status %s; want b1, r, 2, confirmed", mv.From.ID, rp.Region, mv.To.Version, mv.To.Status)
			}
		})
	}
}

// withHomeAt moves w's home to l.
func withHomeAt(w *doorstep.Worker, l doorstep.Location) *doorstep.Worker {
	w.Home = l
	return w
}

// TestPlanRescueShapes: each shape of plan on a tiny city whose answer is
// counted by hand (gridTravel: one minute per millidegree). Every
// cleaner's home is at base, except those of w2 and w3, 10 minutes north
// (at(10, 0)). The clock reads 09:50; the request is at base.
//
//   - other worker: busy (08:00-12:00) holds b1 10:00-11:30 (window
//     10:00-13:00). The urgent job (60 min, arrive by 10:50) fits only
//     without b1: 09:50-10:50. b1 cannot follow it on busy (ends 12:20,
//     after the shift), so it goes to w2 (shift from 12:00, 10 minutes
//     away): 12:10.
//   - same worker later: as above with busy on 08:00-20:00: b1 follows the
//     urgent job at 10:50 (cheaper than w2's 12:10: less waiting, and the
//     continuity of its own worker).
//   - chain of two: b1's window ends at 12:15 and w2 (12:00-14:00) holds b2
//     12:10-13:40 (window 12:00-20:00); w3 (14:00-20:00) is free. b1 fits
//     nowhere as things stand (w2 is taken at 12:10, w3 starts after its
//     window), so b1 goes to w2 at 12:10 and b2 on to w3 at 14:10.
//   - two off one worker: busy (08:00-20:00) holds b1 09:55-10:55 and b2
//     11:00-11:30 and the urgent job lasts 90 minutes: with either left it
//     cannot fit (09:50-11:20 meets both, after b1 is past 10:50), with
//     neither it does; b1 then follows at 11:20, b2 at 12:20.
//   - normal request: a normal plumbing job (60 min, window 10:00-11:00)
//     on busy (cleaning and plumbing, 08:00-12:00, b1 10:00-11:30): b1
//     moves to w2 at 12:10, the job takes 10:00.
//   - nothing possible: as "other worker" without w2.
//   - an urgent booking, for an urgent request: near (plumbing, home at
//     base) holds u1 (requested 09:40, so arrive by 10:40) at at(0, 20),
//     10:20-11:50. The urgent plumbing call (90 min, arrive by 10:50) fits
//     near only without u1 (09:50-11:20, then u1 at 11:40; or u1 first,
//     then the call at 12:10). far, home at at(0, 65), reaches the call at
//     10:55, too late, but u1 at 10:35, inside u1's hour: u1 moves to far.
//     Not when far lives at at(0, 75) (u1 at 10:45), not for a normal
//     request (plumbing, 60 min, window 10:00-10:20, which would fit near
//     the same way), not once near has arrived at u1.
func TestPlanRescueShapes(t *testing.T) {
	now := clock(9, 50)
	north := at(10, 0)
	cleaning := func(id, w string, from, to time.Time, win *doorstep.Window) *doorstep.Booking {
		b := booking(id, from, to, base)
		b.WorkerID, b.Service, b.Skills, b.Urgency, b.RequestedAt, b.Window, b.Version =
			w, "cleaning", []string{"cleaning"}, doorstep.Normal, clock(8, 0), win, 1
		return b
	}
	win := func(h1, m1, h2, m2 int) *doorstep.Window {
		return &doorstep.Window{Start: clock(h1, m1), End: clock(h2, m2)}
	}
	worker := func(id string, home doorstep.Location, from, to time.Time, skills ...string) *doorstep.Worker {
		return withShift(withHomeAt(newWorker(id, skills...), home), from, to)
	}
	candOf := func(w *doorstep.Worker, version int64, bs ...*doorstep.Booking) matcher.Candidate {
		return matcher.Candidate{Worker: w, Timeline: schedule.TimelineOf(bs), Version: version, Region: "r", Bookings: bs}
	}
	urgent := func(d time.Duration) *doorstep.Request {
		return &doorstep.Request{Service: "cleaning", Skills: []string{"cleaning"}, Location: base, Urgency: doorstep.Urgent, Duration: d, RequestedAt: now}
	}
	// plumbers returns near holding u1 (arrival: when near reaches it) and
	// far, home farE millidegrees east (see the comment above).
	plumbers := func(farE float64, arrival time.Time) []matcher.Candidate {
		u1 := booking("u1", clock(10, 20), clock(11, 50), at(0, 20))
		u1.WorkerID, u1.Service, u1.Skills, u1.Urgency, u1.RequestedAt, u1.Version, u1.Arrival =
			"near", "plumbing", []string{"plumbing"}, doorstep.Urgent, clock(9, 40), 1, arrival
		return []matcher.Candidate{
			candOf(worker("near", base, clock(8, 0), clock(20, 0), "plumbing"), 10, u1),
			candOf(worker("far", at(0, farE), clock(8, 0), clock(20, 0), "plumbing"), 20),
		}
	}
	urgentPlumbing := &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base, Urgency: doorstep.Urgent,
		Duration: 90 * time.Minute, RequestedAt: now}
	w2 := func() matcher.Candidate {
		return candOf(worker("w2", north, clock(12, 0), clock(20, 0), "cleaning"), 20)
	}
	type move struct{ ID, From, To, Start string }
	type want struct {
		Worker, Start string
		Moves         []move
		Expect        map[string]int64
	}
	tests := []struct {
		name  string
		req   *doorstep.Request
		cands []matcher.Candidate
		want  *want // nil: no plan
	}{
		{
			name: "to another worker",
			req:  urgent(60 * time.Minute),
			cands: []matcher.Candidate{
				candOf(worker("busy", base, clock(8, 0), clock(12, 0), "cleaning"), 10, cleaning("b1", "busy", clock(10, 0), clock(11, 30), win(10, 0, 13, 0))),
				w2(),
			},
			want: &want{Worker: "busy", Start: "09:50", Moves: []move{{"b1", "busy", "w2", "12:10"}}, Expect: map[string]int64{"busy": 10, "w2": 20}},
		},
		{
			name: "to a later slot of its own worker",
			req:  urgent(60 * time.Minute),
			cands: []matcher.Candidate{
				candOf(worker("busy", base, clock(8, 0), clock(20, 0), "cleaning"), 10, cleaning("b1", "busy", clock(10, 0), clock(11, 30), win(10, 0, 16, 0))),
				w2(),
			},
			want: &want{Worker: "busy", Start: "09:50", Moves: []move{{"b1", "busy", "busy", "10:50"}}, Expect: map[string]int64{"busy": 10}},
		},
		{
			name: "a chain of two",
			req:  urgent(60 * time.Minute),
			cands: []matcher.Candidate{
				candOf(worker("busy", base, clock(8, 0), clock(12, 0), "cleaning"), 10, cleaning("b1", "busy", clock(10, 0), clock(11, 30), win(10, 0, 12, 15))),
				candOf(worker("w2", north, clock(12, 0), clock(14, 0), "cleaning"), 20, cleaning("b2", "w2", clock(12, 10), clock(13, 40), win(12, 0, 20, 0))),
				candOf(worker("w3", north, clock(14, 0), clock(20, 0), "cleaning"), 30),
			},
			want: &want{Worker: "busy", Start: "09:50", Moves: []move{{"b1", "busy", "w2", "12:10"}, {"b2", "w2", "w3", "14:10"}},
				Expect: map[string]int64{"busy": 10, "w2": 20, "w3": 30}},
		},
		{
			name: "two bookings off one worker",
			req:  urgent(90 * time.Minute),
			cands: []matcher.Candidate{
				candOf(worker("busy", base, clock(8, 0), clock(20, 0), "cleaning"), 10,
					cleaning("b1", "busy", clock(9, 55), clock(10, 55), win(9, 30, 16, 0)), cleaning("b2", "busy", clock(11, 0), clock(11, 30), win(9, 30, 16, 0))),
			},
			want: &want{Worker: "busy", Start: "09:50", Moves: []move{{"b1", "busy", "busy", "11:20"}, {"b2", "busy", "busy", "12:20"}},
				Expect: map[string]int64{"busy": 10}},
		},
		{
			name: "a normal request",
			req: &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base, Urgency: doorstep.Normal,
				Duration: 60 * time.Minute, RequestedAt: now, Window: win(10, 0, 11, 0)},
			cands: []matcher.Candidate{
				candOf(worker("busy", base, clock(8, 0), clock(12, 0), "cleaning", "plumbing"), 10, cleaning("b1", "busy", clock(10, 0), clock(11, 30), win(10, 0, 13, 0))),
				w2(),
			},
			want: &want{Worker: "busy", Start: "10:00", Moves: []move{{"b1", "busy", "w2", "12:10"}}, Expect: map[string]int64{"busy": 10, "w2": 20}},
		},
		{
			name:  "an urgent booking, for an urgent request, to a worker who still reaches it within its hour",
			req:   urgentPlumbing,
			cands: plumbers(65, clock(10, 20)),
			want:  &want{Worker: "near", Start: "09:50", Moves: []move{{"u1", "near", "far", "10:35"}}, Expect: map[string]int64{"near": 10, "far": 20}},
		},
		{
			name:  "not an urgent booking its new worker would reach after its hour",
			req:   urgentPlumbing,
			cands: plumbers(75, clock(10, 20)),
		},
		{
			name: "never an urgent booking for a normal request",
			req: &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base, Urgency: doorstep.Normal,
				Duration: 60 * time.Minute, RequestedAt: now, Window: win(10, 0, 10, 20)},
			cands: plumbers(65, clock(10, 20)),
		},
		{
			name:  "not an urgent booking its worker has reached",
			req:   urgentPlumbing,
			cands: plumbers(65, now),
		},
		{
			name: "nothing possible",
			req:  urgent(60 * time.Minute),
			cands: []matcher.Candidate{
				candOf(worker("busy", base, clock(8, 0), clock(12, 0), "cleaning"), 10, cleaning("b1", "busy", clock(10, 0), clock(11, 30), win(10, 0, 13, 0))),
			},
		},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	hhmm := func(t time.Time) string { return t.Format("15:04") }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := m.Match(tt.req, tt.cands, now, matcher.History{}); len(res.Options) != 0 {
				t.Fatalf("fixture: %s can serve the request as things stand", res.Options[0].WorkerID)
			}
			// The plan does not depend on the order of the candidates.
			reversed := slices.Clone(tt.cands)
			slices.Reverse(reversed)
			for _, order := range [][]matcher.Candidate{tt.cands, reversed} {
				rp := m.PlanRescue(tt.req, order, now, matcher.History{})
				if tt.want == nil {
					if rp != nil {
						t.Fatalf("PlanRescue = %+v, want no plan", rp)
					}
					continue
				}
				if rp == nil {
					t.Fatal("PlanRescue = nil, want a plan")
				}
				got := &want{Worker: rp.Option.WorkerID, Start: hhmm(rp.Option.Slot.Start), Expect: rp.Expect}
				for _, mv := range rp.Moves {
					got.Moves = append(got.Moves, move{mv.From.ID, mv.From.WorkerID, mv.To.WorkerID, hhmm(mv.To.Start)})
					if mv.To.WorkerID != mv.Option.WorkerID || !mv.To.Start.Equal(mv.Option.Slot.Start) || mv.To.Version != mv.From.Version+1 ||
						mv.To.LastChange == nil || mv.To.LastChange.Reason != doorstep.ChangeRescue {
						t.Errorf("move %+v: To does not follow its option and the booking read", mv)
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("plan mismatch (-want +got):\n%s", diff)
				}
				checkPlan(t, tt.req, order, rp, now)
			}
		})
	}
}

// checkPlan applies rp to cands and checks every touched worker's day
// against the hard rules (schedule.Verify) and every move's promise.
func checkPlan(t *testing.T, req *doorstep.Request, cands []matcher.Candidate, rp *matcher.RescuePlan, now time.Time) {
	t.Helper()
	tl := map[string]schedule.Timeline{}
	worker := map[string]*doorstep.Worker{}
	for _, c := range cands {
		tl[c.Worker.ID], worker[c.Worker.ID] = c.Timeline, c.Worker
	}
	for _, mv := range rp.Moves {
		tl[mv.From.WorkerID] = tl[mv.From.WorkerID].Without(mv.From.ID)
	}
	tl[rp.Option.WorkerID] = tl[rp.Option.WorkerID].Insert(schedule.Stop{BookingID: "new", Arrival: rp.Option.Slot.Arrival,
		Start: rp.Option.Slot.Start, End: rp.Option.Slot.End, Location: req.Location})
	for _, mv := range rp.Moves {
		tl[mv.To.WorkerID] = tl[mv.To.WorkerID].Insert(schedule.StopOf(&mv.To))
		broken := mv.From.Window == nil && !mv.To.Start.Equal(mv.From.Start) || mv.From.Window != nil && !mv.From.Window.Contains(mv.To.Start) ||
			mv.To.Start.After(mv.From.RequestedAt.Add(doorstep.NormalStart))
		if mv.From.Urgency == doorstep.Urgent {
			broken = req.Urgency != doorstep.Urgent || mv.To.Arrival.After(mv.From.RequestedAt.Add(doorstep.UrgentArrival))
		}
		if broken || !mv.From.Arrival.After(now) {
			t.Errorf("move %s breaks its promise: %v -> %v", mv.From.ID, mv.From.Start, mv.To.Start)
		}
	}
	for id, w := range worker {
		if err := schedule.Verify(w, tl[id], gridTravel{}); err != nil {
			t.Errorf("worker %s after the plan: %v", id, err)
		}
	}
}

// TestPlanRescueFreesWorkersWhoseShiftHoldsTheJob: PlanRescue frees at most
// MaxRescueWorkers workers, nearest first; a worker none of whose shifts
// can hold the job is not one of them, however near, since no move frees
// it for the job. Here 40 cleaners at the door, each with a movable
// booking, start their shift at noon, after the urgent request's hour: the
// one on shift a minute away is freed, its booking moved to its own later
// slot. Were the 40 tried first, the bounded search would end on them
// with no plan; and with them alone there is none to try (Rescuable).
func TestPlanRescueFreesWorkersWhoseShiftHoldsTheJob(t *testing.T) {
	now := clock(10, 0)
	req := urgentAt(t, "cleaning", base, now)
	allDay := &doorstep.Window{Start: clock(10, 0), End: clock(18, 0)}
	normal := func(id, w string, from time.Time) *doorstep.Booking {
		b := booking(id, from, from.Add(2*time.Hour), base)
		b.WorkerID, b.Service, b.Skills, b.Urgency, b.RequestedAt, b.Window, b.Version =
			w, "cleaning", []string{"cleaning"}, doorstep.Normal, clock(8, 0), allDay, 1
		return b
	}
	candOf := func(w *doorstep.Worker, bs ...*doorstep.Booking) matcher.Candidate {
		return matcher.Candidate{Worker: w, Timeline: schedule.TimelineOf(bs), Version: 1, Region: "r", Bookings: bs}
	}
	var late []matcher.Candidate
	for i := range 2 * matcher.MaxRescueWorkers {
		id := fmt.Sprintf("noon%02d", i)
		late = append(late, candOf(withShift(newWorker(id, "cleaning"), clock(12, 0), clock(20, 0)), normal("b"+id, id, clock(12, 10))))
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	if m.Rescuable(req, late, now) {
		t.Error("Rescuable with only workers whose shift cannot hold the job, want false")
	}
	if rp := m.PlanRescue(req, late, now, matcher.History{}); rp != nil {
		t.Fatalf("PlanRescue = %+v on workers whose shift cannot hold the job, want none", rp)
	}
	busy := candOf(withHomeAt(newWorker("busy", "cleaning"), at(1, 0)), normal("b1", "busy", clock(10, 10)))
	cands := append(late, busy)
	if !m.Rescuable(req, cands, now) {
		t.Fatal("Rescuable = false with a worker on shift to free")
	}
	rp := m.PlanRescue(req, cands, now, matcher.History{})
	if rp == nil {
		t.Fatal("PlanRescue = nil, want busy freed")
	}
	if rp.Option.WorkerID != "busy" || len(rp.Moves) != 1 || rp.Moves[0].From.ID != "b1" {
		t.Fatalf("plan puts the request on %s moving %d bookings (first %s), want on busy moving b1", rp.Option.WorkerID, len(rp.Moves), rp.Moves[0].From.ID)
	}
	checkPlan(t, req, cands, rp, now)
}
