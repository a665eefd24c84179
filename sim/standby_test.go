package sim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestStandbyMechanics drives the solo plumber (hand-checked distances in
// engine_test.go) to a standby place and checks, step by step, where the
// planner then starts it from and what the drive costs. The trace's one
// urgent call, at 10:00, makes the urgent calls expected in hour 10 one
// for the one plumber on shift, so four recent calls weigh 0.25 each.
func TestStandbyMechanics(t *testing.T) {
	s := MustParse(t, soloScenario(`{"name": "insertion", "standby": true}`, "20:00", "", 24))
	e := buildEngine(t, s, Options{Open: memTrace(trace("10:00 " + p4 + " urgent"))}, 0)
	home := e.workers[0].Home
	plan := func(now time.Time) matcher.StandbyDecision {
		return e.m.Standby(now, e.standbyArea(), e.cands, []matcher.StandbyCall{{At: home, Skills: []string{"plumbing"}}}, matcher.StandbyWindow, e.sb.cfg)
	}
	if got := plan(at(10, 0, 0)).Expected["plumbing"]; got != 1 {
		t.Fatalf("urgent plumbing calls expected at 10:00 = %v, want 1", got)
	}
	loc := func(s string) doorstep.Location {
		var l doorstep.Location
		f := strings.Split(s, ",")
		l.Lat, l.Lng = parse(t, f[0]), parse(t, f[1])
		return l
	}
	P1, P2 := loc(p1), loc(p2)
	seen := func(at doorstep.Location, n int) {
		e.sb.recent = e.sb.recent[:0]
		for range n {
			e.sb.recent = append(e.sb.recent, recentCall{at: at9, call: matcher.StandbyCall{At: at, Skills: []string{"plumbing"}}})
		}
	}
	near := func(a, b doorstep.Location) bool { return geo.DistanceKm(a, b) < 1e-6 }

	// Four calls at P1, 11 min 15 s from home: 11.25 call-minutes saved
	// for 2.0015 km, over the bar of 4.003.
	seen(P1, 4)
	e.advance(at(10, 0, 0))
	e.standby(at(10, 0, 0))
	r := e.sb.reloc[0]
	if r == nil || r.to != P1 || r.travel != 11*time.Minute+15*time.Second || e.sb.moves != 1 {
		t.Fatalf("after the plan at 10:00: relocation %+v, moves %d; want to P1 in 11m15s", r, e.sb.moves)
	}
	// 10:05: 300 s of 675 on the way, 0.008 of latitude north.
	e.standby(at(10, 5, 0))
	mid := doorstep.Location{Lat: 40.70 + 0.018*300/675, Lng: -74.0}
	w := e.workers[0]
	if !near(e.pos[0], mid) || !near(*w.Location, mid) || !w.LocatedAt.Equal(at(10, 5, 0)) {
		t.Fatalf("10:05: at %v, reported %v at %v; want %v at 10:05", e.pos[0], *w.Location, w.LocatedAt, mid)
	}
	e.standby(at(10, 12, 0))
	if e.sb.reloc[0] != nil || !near(e.pos[0], P1) || math.Abs(e.sb.km-2.0015114) > 1e-6 {
		t.Fatalf("10:12: relocation %+v, at %v, %v km; want arrived at P1, 2.0015 km", e.sb.reloc[0], e.pos[0], e.sb.km)
	}
	// The planner starts the plumber from P1 now: P2 is 8 min 8 s away
	// (from home it would be 14 min 22 s).
	req := e.arr[0].req
	req.Location, req.RequestedAt = P2, at(10, 20, 0)
	res := e.m.Match(&req, []matcher.Candidate{e.cands[0]}, req.RequestedAt, matcher.History{})
	if len(res.Options) == 0 || !res.Options[0].Slot.Arrival.Equal(at(10, 28, 8)) {
		t.Fatalf("urgent call at P2 at 10:20: options %+v; want an arrival at 10:28:08 from P1", res.Options)
	}

	// Back home (four calls there), then a job booked on the way: the
	// drive stops where the plumber was when booked, and only the part
	// driven counts.
	seen(home, 4)
	e.standby(at(10, 30, 0))
	if r := e.sb.reloc[0]; r == nil || r.to != home {
		t.Fatalf("after the plan at 10:30: relocation %+v; want home", r)
	}
	e.standby(at(10, 33, 0))
	part := doorstep.Location{Lat: P1.Lat - 0.018*180/675, Lng: -74.0}
	e.cands[0].Timeline = e.cands[0].Timeline.Insert(schedule.Stop{BookingID: "x", Arrival: at(10, 45, 0),
		Start: at(10, 45, 0), End: at(12, 15, 0), Location: P2})
	e.standby(at(10, 35, 0))
	if e.sb.reloc[0] != nil || !near(e.pos[0], part) || math.Abs(e.sb.km-2.0015114*(1+180.0/675)) > 1e-6 {
		t.Fatalf("booked on the way: relocation %+v, at %v, %v km; want stopped at %v", e.sb.reloc[0], e.pos[0], e.sb.km, part)
	}
	if d := plan(at(10, 40, 0)); len(d.Workers) != 0 || len(d.Busy) != 1 {
		t.Errorf("a worker with a job booked later in its shift: %d idle, %d busy; want it busy, not sent to standby", len(d.Workers), len(d.Busy))
	}
}

var at9 = at(9, 0, 0)

// TestStandbyInTheCity runs the example city with and without standby:
// the standby variant moves workers and drives, passes the end-of-run
// check (every stop reachable from where its worker was), and leaves the
// variant without it exactly as it is alone.
func TestStandbyInTheCity(t *testing.T) {
	if testing.Short() {
		t.Skip("the example city takes a few seconds")
	}
	alone := cityVariants(t, `{"name": "baseline"}`)
	both := cityVariants(t, `{"name": "baseline"}`, `{"name": "standby", "policy": {"name": "insertion", "standby": true}}`)
	a, b := alone.Variants[0].Totals, both.Variants[0].Totals
	if *a.UrgentOnTimeShare != *b.UrgentOnTimeShare || a.Unserved != b.Unserved || *a.TravelKmPerJob != *b.TravelKmPerJob || a.StandbyMoves != 0 {
		t.Errorf("baseline changed by a standby variant beside it: %+v vs %+v", a, b)
	}
	sb := both.Variants[1]
	if sb.Totals.StandbyMoves == 0 || sb.Totals.StandbyKm <= 0 || sb.Policy != "insertion with standby" {
		t.Errorf("standby variant: %d moves, %v km, policy %q", sb.Totals.StandbyMoves, sb.Totals.StandbyKm, sb.Policy)
	}
}

func TestStandbyOnlyForInsertion(t *testing.T) {
	_, err := ParseScenario([]byte(soloScenario(`{"name": "greedy", "standby": true}`, "20:00", "", 24)))
	if err == nil || !strings.Contains(err.Error(), "policy.standby") {
		t.Errorf("greedy with standby: %v, want an error naming policy.standby", err)
	}
}

func parse(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cityVariants runs the example city with only the given variants (JSON).
func cityVariants(t *testing.T, variants ...string) *Report {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustReadFile(t, "../examples/scenarios/city.json"), &m); err != nil {
		t.Fatal(err)
	}
	vs := make([]any, len(variants))
	for i, v := range variants {
		if err := json.Unmarshal([]byte(v), &vs[i]); err != nil {
			t.Fatal(err)
		}
	}
	m["variants"] = vs
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return MustRun(t, MustParse(t, string(data)), Options{})
}
