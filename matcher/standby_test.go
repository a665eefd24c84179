package matcher_test

import (
	"math"
	"slices"
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

// TestMatcherStandby pins the standby decision the server answers and the
// simulator follows: the urgent calls expected are the profile's rate at
// now's hour times the workers with the skill on shift NOW and standing in
// the area, and a skill is urgent only when calls of it are expected in
// the hour. North 30 is 30 minutes from home and 3.336 km, so a move
// there needs 6.67 call-minutes saved.
//
// The workers: plumbers a (idle at home), b (idle, 33 km north), c (shift
// from 10:30), f (booked 11:00-12:00 at north: busy, free at 12:00, too
// late to cover within the urgent hour); electrician d (idle at home).
// The profile: 0.1 urgent plumbing calls per plumber on duty at 10, one
// electrical call per electrician on duty at 14. The recent calls: two
// plumbing ones at north, one electrical at south.
//
// The simulator's former weighting (the rate times the roster's average
// on duty in the hour, counted at half past, everywhere) expected 0.4
// plumbing calls at 10 (a, b, c, f) and moved a in both plans at 10, with
// a gain of 12; and its former predicate (a rate in any hour) counted d
// at 10 and the plumbers at 14.
func TestMatcherStandby(t *testing.T) {
	north, south := at(30, 0), at(-30, 0)
	var plumbing, electrical [24]float64
	plumbing[10], electrical[14] = 0.1, 1
	profile := &matcher.UrgentProfile{Rate: map[string][24]float64{"plumbing": plumbing, "electrical": electrical}}
	a, b, c := newWorker("a", "plumbing"), newWorker("b", "plumbing"), newWorker("c", "plumbing")
	b.Home = at(300, 0)
	c.Shifts = []doorstep.Shift{{Start: clock(10, 30), End: clock(20, 0)}}
	d, f := newWorker("d", "electrical"), newWorker("f", "plumbing")
	cands := []matcher.Candidate{{Worker: a}, {Worker: b}, {Worker: c}, {Worker: d}, {Worker: f, Timeline: schedule.Timeline{
		{BookingID: "f1", Arrival: clock(11, 0), Start: clock(11, 0), End: clock(12, 0), Location: north}}}}
	recent := []matcher.StandbyCall{
		{At: north, Skills: []string{"plumbing"}}, {At: north, Skills: []string{"plumbing"}},
		{At: south, Skills: []string{"electrical"}}}
	type move struct {
		worker string
		to     doorstep.Location
		gain   float64
	}
	cases := []struct {
		name     string
		profile  *matcher.UrgentProfile
		now      time.Time
		area     matcher.StandbyArea
		expected map[string]float64
		idle     []string
		busy     []string
		weights  []float64
		moves    []move
	}{
		{
			// On shift in 10 km at 10: a and f, 2 x 0.1 = 0.2 expected,
			// 0.1 a call. Moving a saves 0.2 x 30 = 6, under the bar.
			name: "10 km at 10:00", profile: profile, now: clock(10, 0), area: matcher.StandbyArea{Center: base, RadiusKm: 10},
			expected: map[string]float64{"plumbing": 0.2}, idle: []string{"a"}, busy: []string{"f"}, weights: []float64{0.1, 0.1},
		},
		{
			// Everywhere: a, b and f on shift, 0.3 expected, 0.15 a call.
			// Moving a saves 0.3 x 30 = 9; b is 27 km from north.
			name: "everywhere at 10:00", profile: profile, now: clock(10, 0),
			expected: map[string]float64{"plumbing": 0.3}, idle: []string{"a", "b"}, busy: []string{"f"}, weights: []float64{0.15, 0.15},
			moves: []move{{"a", north, 9}},
		},
		{
			// Only electrical calls are expected at 14: d alone may move,
			// and saves the one call 30 minutes by going south.
			name: "everywhere at 14:00", profile: profile, now: clock(14, 0),
			expected: map[string]float64{"electrical": 1}, idle: []string{"d"}, weights: []float64{1},
			moves: []move{{"d", south, 30}},
		},
		{
			// Without a profile, the window's own calls: 2 and 1 in 24
			// hours, every trade urgent; too little to drive for.
			name: "no profile", now: clock(10, 0),
			expected: map[string]float64{"plumbing": 2.0 / 24, "electrical": 1.0 / 24},
			idle:     []string{"a", "b", "d"}, busy: []string{"f"}, weights: []float64{1.0 / 24, 1.0 / 24, 1.0 / 24},
		},
	}
	near := func(x, y float64) bool { return math.Abs(x-y) < 1e-9 }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := matcher.New(matcher.Config{Travel: gridTravel{}, Urgent: tc.profile})
			if err != nil {
				t.Fatal(err)
			}
			got := m.Standby(tc.now, tc.area, cands, recent, 24*time.Hour, matcher.StandbyConfig{})
			if len(got.Expected) != len(tc.expected) {
				t.Errorf("expected %v, want %v", got.Expected, tc.expected)
			}
			for sk, v := range tc.expected {
				if !near(got.Expected[sk], v) {
					t.Errorf("expected %v, want %v", got.Expected, tc.expected)
				}
			}
			var idle, busy []string
			for i, w := range got.Workers {
				idle = append(idle, w.Worker.ID)
				if cands[got.Of[i]].Worker != w.Worker {
					t.Errorf("Of[%d] = %d, not worker %s", i, got.Of[i], w.Worker.ID)
				}
			}
			for _, b := range got.Busy {
				busy = append(busy, b.Worker.ID)
			}
			if !slices.Equal(idle, tc.idle) || !slices.Equal(busy, tc.busy) {
				t.Errorf("idle %v busy %v, want %v %v", idle, busy, tc.idle, tc.busy)
			}
			if len(got.Calls) != len(tc.weights) {
				t.Fatalf("calls %+v, want weights %v", got.Calls, tc.weights)
			}
			for i, w := range tc.weights {
				if !near(got.Calls[i].Weight, w) {
					t.Errorf("call %d weight %v, want %v", i, got.Calls[i].Weight, w)
				}
			}
			if len(got.Moves) != len(tc.moves) {
				t.Fatalf("moves %+v, want %+v", got.Moves, tc.moves)
			}
			for i, w := range tc.moves {
				g := got.Moves[i]
				if got.Workers[g.Worker].Worker.ID != w.worker || g.To != w.to || !near(g.Gain, w.gain) {
					t.Errorf("move %d = %+v (worker %s), want %+v", i, g, got.Workers[g.Worker].Worker.ID, w)
				}
			}
		})
	}
	for _, r := range recent {
		if r.Weight != 0 {
			t.Errorf("the caller's calls were weighted: %+v", recent)
		}
	}
}
