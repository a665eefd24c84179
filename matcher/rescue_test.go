package matcher_test

import (
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
			name: "an urgent booking is never moved",
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
			got := &want{Urgent: rp.Urgent.WorkerID, UrgentStart: hhmm(rp.Urgent.Slot.Start), To: rp.To.WorkerID, ToStart: hhmm(rp.To.Start), Expect: rp.Expect}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan mismatch (-want +got):\n%s", diff)
			}
			if rp.Moved.ID != "b1" || rp.Region != "r" || rp.To.Version != 2 || rp.To.Status != doorstep.StatusConfirmed {
				t.Errorf("moved %s region %q to version %d status %s; want b1, r, 2, confirmed", rp.Moved.ID, rp.Region, rp.To.Version, rp.To.Status)
			}
		})
	}
}

// withHomeAt moves w's home to l.
func withHomeAt(w *doorstep.Worker, l doorstep.Location) *doorstep.Worker {
	w.Home = l
	return w
}
