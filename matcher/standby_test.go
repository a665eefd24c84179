package matcher_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// The standby plans on the test grid (gridTravel: a minute per
// millidegree). North 30 is 30 minutes away and 3.336 km (0.030 degrees of
// latitude), so the default bar of 2 call-minutes per km is 6.67 minutes.
func TestPlanStandby(t *testing.T) {
	now := clock(10, 0)
	north, south := at(30, 0), at(-30, 0)
	plumber := func(id string) *doorstep.Worker { return newWorker(id, "plumbing") }
	call := func(loc doorstep.Location, w float64) matcher.StandbyCall {
		return matcher.StandbyCall{At: loc, Skills: []string{"plumbing"}, Weight: w}
	}
	type move struct {
		worker int
		to     doorstep.Location
		gain   float64
	}
	cases := []struct {
		name  string
		ws    []matcher.StandbyWorker
		busy  []matcher.StandbyCover
		calls []matcher.StandbyCall
		cfg   matcher.StandbyConfig
		want  []move
	}{
		{
			// 2 x 30 minutes now, 0 at north: saves 60.
			name:  "goes where the calls are",
			ws:    []matcher.StandbyWorker{{Worker: plumber("a"), At: base}},
			calls: []matcher.StandbyCall{call(north, 1), call(north, 1)},
			want:  []move{{0, north, 60}},
		},
		{
			name:  "not farther than MaxKm",
			ws:    []matcher.StandbyWorker{{Worker: plumber("a"), At: base}},
			calls: []matcher.StandbyCall{call(north, 1), call(north, 1)},
			cfg:   matcher.StandbyConfig{MaxKm: 3},
		},
		{
			// 2 x 0.05 x 30 = 3 minutes saved, under the 6.67 bar.
			name:  "not for less than the bar per km",
			ws:    []matcher.StandbyWorker{{Worker: plumber("a"), At: base}},
			calls: []matcher.StandbyCall{call(north, 0.05), call(north, 0.05)},
		},
		{
			name:  "not for calls it cannot serve",
			ws:    []matcher.StandbyWorker{{Worker: newWorker("a", "cleaning"), At: base}},
			calls: []matcher.StandbyCall{call(north, 1), call(north, 1)},
		},
		{
			name:  "not where a busy worker free now already is",
			ws:    []matcher.StandbyWorker{{Worker: plumber("a"), At: base}},
			busy:  []matcher.StandbyCover{{Worker: plumber("b"), At: north, Free: now}},
			calls: []matcher.StandbyCall{call(north, 1), call(north, 1)},
		},
		{
			// The busy worker reaches north in 10 minutes: moving saves
			// 2 x 10.
			name:  "a busy worker free in 10 minutes covers part",
			ws:    []matcher.StandbyWorker{{Worker: plumber("a"), At: base}},
			busy:  []matcher.StandbyCover{{Worker: plumber("b"), At: north, Free: now.Add(10 * time.Minute)}},
			calls: []matcher.StandbyCall{call(north, 1), call(north, 1)},
			want:  []move{{0, north, 20}},
		},
		{
			// a: north or south each save 30 (60 -> 30); the first call
			// wins the tie. b then finds north covered by a (0) and south
			// at 30 from its own place: south saves 30.
			name: "two workers split two clusters",
			ws: []matcher.StandbyWorker{
				{Worker: plumber("a"), At: base}, {Worker: plumber("b"), At: base}},
			calls: []matcher.StandbyCall{call(north, 1), call(south, 1)},
			want:  []move{{0, north, 30}, {1, south, 30}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := matcher.PlanStandby(gridTravel{}, now, tc.ws, tc.busy, tc.calls, tc.cfg)
			if len(got) != len(tc.want) {
				t.Fatalf("moves %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Worker != w.worker || g.To != w.to || g.Gain != w.gain {
					t.Errorf("move %d = %+v, want %+v", i, g, w)
				}
				if km := geo.DistanceKm(tc.ws[w.worker].At, w.to); g.Km != km {
					t.Errorf("move %d km %v, want %v", i, g.Km, km)
				}
			}
		})
	}
}

func TestStandbyReady(t *testing.T) {
	plumbing := func(s string) bool { return s == "plumbing" }
	tomorrow := doorstep.Shift{Start: clock(32, 0), End: clock(44, 0)}
	stop := func(from, to time.Time, loc doorstep.Location) schedule.Stop {
		return schedule.Stop{BookingID: "b", Arrival: from, Start: from, End: to, Location: loc}
	}
	reported := at(20, 0)
	cases := []struct {
		name   string
		now    time.Time
		worker func(w *doorstep.Worker)
		tl     schedule.Timeline
		urgent func(string) bool
		at     doorstep.Location
		ok     bool
	}{
		{name: "off shift", now: clock(7, 0)},
		{name: "too little shift left", now: clock(19, 30)},
		{name: "empty day: from home", now: clock(10, 0), at: base, ok: true},
		{name: "after a stop: from it", now: clock(10, 0),
			tl: schedule.Timeline{stop(clock(9, 0), clock(9, 30), at(10, 0))}, at: at(10, 0), ok: true},
		{name: "reported after the stop: from the report", now: clock(10, 0),
			worker: func(w *doorstep.Worker) { w.Location, w.LocatedAt = &reported, clock(9, 45) },
			tl:     schedule.Timeline{stop(clock(9, 0), clock(9, 30), at(10, 0))}, at: reported, ok: true},
		{name: "booked later today", now: clock(10, 0),
			tl: schedule.Timeline{stop(clock(10, 30), clock(11, 0), at(10, 0))}},
		{name: "on a job", now: clock(10, 0),
			tl: schedule.Timeline{stop(clock(9, 30), clock(10, 30), at(10, 0))}},
		{name: "booked tomorrow only", now: clock(10, 0),
			worker: func(w *doorstep.Worker) { w.Shifts = append(w.Shifts, tomorrow) },
			tl:     schedule.Timeline{stop(clock(33, 0), clock(34, 0), at(10, 0))}, at: base, ok: true},
		{name: "a break still to come", now: clock(10, 0),
			worker: func(w *doorstep.Worker) {
				w.Shifts[0].Breaks = []doorstep.Break{{Earliest: clock(12, 0), Latest: clock(12, 30), Duration: 30 * time.Minute}}
			}},
		{name: "no urgent trade", now: clock(10, 0), urgent: func(string) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorker("a", "plumbing")
			if tc.worker != nil {
				tc.worker(w)
			}
			urgent := tc.urgent
			if urgent == nil {
				urgent = plumbing
			}
			c := matcher.Candidate{Worker: w, Timeline: tc.tl}
			loc, ok := matcher.StandbyReady(&c, tc.now, urgent)
			if ok != tc.ok || loc != tc.at {
				t.Errorf("StandbyReady = %v, %v; want %v, %v", loc, ok, tc.at, tc.ok)
			}
		})
	}
}

func TestStandbyBusy(t *testing.T) {
	plumbing := func(s string) bool { return s == "plumbing" }
	w := newWorker("a", "plumbing")
	c := matcher.Candidate{Worker: w, Timeline: schedule.Timeline{
		{BookingID: "1", Start: clock(10, 0), End: clock(11, 0), Location: at(10, 0)},
		{BookingID: "2", Start: clock(12, 0), End: clock(13, 0), Location: at(20, 0)},
	}}
	got, ok := matcher.StandbyBusy(&c, clock(10, 30), plumbing)
	if !ok || got.At != at(20, 0) || !got.Free.Equal(clock(13, 0)) {
		t.Errorf("StandbyBusy = %+v, %v; want free at 13:00 at the last stop", got, ok)
	}
	if _, ok := matcher.StandbyBusy(&c, clock(13, 30), plumbing); ok {
		t.Error("StandbyBusy after its last stop: a worker idle then is ready, not busy")
	}
	c.Timeline = append(c.Timeline, schedule.Stop{BookingID: "3", Start: clock(18, 0), End: clock(19, 30), Location: base})
	if _, ok := matcher.StandbyBusy(&c, clock(10, 30), plumbing); ok {
		t.Error("StandbyBusy: free 30 minutes before its shift ends still covers calls")
	}
}

func TestWeighStandbyCalls(t *testing.T) {
	c := func(skill string) matcher.StandbyCall { return matcher.StandbyCall{Skills: []string{skill}} }
	got := matcher.WeighStandbyCalls([]matcher.StandbyCall{c("plumbing"), c("electrical"), c("plumbing"), c("gardening"), c("plumbing")},
		map[string]float64{"plumbing": 3, "electrical": 0.5})
	want := []float64{1, 0.5, 1, 1}
	if len(got) != len(want) {
		t.Fatalf("got %d calls %+v, want %d (gardening has no urgent rate)", len(got), got, len(want))
	}
	for i := range want {
		if got[i].Weight != want[i] {
			t.Errorf("call %d weight %v, want %v", i, got[i].Weight, want[i])
		}
	}
}
