package matcher_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

func TestSettled(t *testing.T) {
	now := clock(9, 0)
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := func(u doorstep.Urgency, customer string) *doorstep.Request {
		return &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base,
			Urgency: u, Duration: time.Hour, RequestedAt: now, CustomerID: customer}
	}
	search := matcher.SearchFor(req(doorstep.Urgent, ""), now, geo.Linear{}, 0)
	// Beyond 1 ring (from base, 1.6 km at resolution 7: geo.CoveredKm's
	// conservative figure for any point of the cell would be 0) a trip
	// takes more than the 5-minute overhead, so an urgent option costs
	// more than 5, yet less than 15: a continuity bonus of 10 may beat it.
	if km := geo.CoveredFromKm(search.Center, base, 1); km < 0.5 || km > 3 {
		t.Fatalf("1 ring covers %.2f km from base: the cases below assume 0.5-3", km)
	}
	tests := []struct {
		name  string
		req   *doorstep.Request
		rings int
		best  float64
		want  bool
	}{
		{"urgent, none found yet", req(doorstep.Urgent, ""), 1, math.Inf(1), false},
		{"urgent, best too dear", req(doorstep.Urgent, ""), 1, 35, false},
		{"urgent, best cheaper than any trip from farther", req(doorstep.Urgent, ""), 1, 5, true},
		{"urgent, continuity bonus possible", req(doorstep.Urgent, "c1"), 1, 5, false},
		{"urgent, reach covered", req(doorstep.Urgent, ""), search.MaxRings, math.Inf(1), true},
		{"normal: no bound, count decides", req(doorstep.Normal, ""), 0, math.Inf(1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Settled(tt.req, search, tt.rings, tt.best); got != tt.want {
				t.Errorf("Settled = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSettleRings: the ring SettleRings names is the first at which
// Settled holds for that best cost, for costs across the reach; a normal
// request needs none, and a search without an option reads the reach.
func TestSettleRings(t *testing.T) {
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := matcher.Search{Center: geo.IndexCell(base), MaxRings: 12}
	urgent := &doorstep.Request{Urgency: doorstep.Urgent, Location: base}
	if got := m.SettleRings(&doorstep.Request{Urgency: doorstep.Normal}, s, 50); got != 0 {
		t.Errorf("normal: %d rings, want 0", got)
	}
	if got := m.SettleRings(urgent, s, math.Inf(1)); got != s.MaxRings {
		t.Errorf("no option: %d rings, want the reach (%d)", got, s.MaxRings)
	}
	seen := map[int]bool{}
	for best := 0.0; best <= 200; best += 0.5 {
		k := m.SettleRings(urgent, s, best)
		seen[k] = true
		if !m.Settled(urgent, s, k, best) {
			t.Fatalf("best %v: not settled at ring %d, which SettleRings names", best, k)
		}
		if k > 0 && m.Settled(urgent, s, k-1, best) {
			t.Fatalf("best %v: settled at ring %d already, SettleRings names %d", best, k-1, k)
		}
	}
	if len(seen) < 4 {
		t.Errorf("costs 0-200 settle at only %d ring counts: the test does not cover the reach", len(seen))
	}
}

// TestSearchNext: steps double, end early at a ring need names inside the
// next step, and stop at the reach.
func TestSearchNext(t *testing.T) {
	s := matcher.Search{MaxRings: 10}
	for _, tc := range []struct {
		step [2]int
		need int
		want [2]int
		ok   bool
	}{
		{[2]int{0, 0}, 0, [2]int{1, 1}, true},
		{[2]int{1, 1}, 0, [2]int{2, 3}, true},
		{[2]int{2, 3}, 0, [2]int{4, 7}, true},
		{[2]int{2, 3}, 5, [2]int{4, 5}, true},
		{[2]int{2, 3}, 3, [2]int{4, 7}, true}, // already read: doubles
		{[2]int{2, 3}, 9, [2]int{4, 7}, true}, // beyond the step: doubles
		{[2]int{4, 7}, 0, [2]int{8, 10}, true},
		{[2]int{8, 10}, 0, [2]int{8, 10}, false},
	} {
		got, ok := s.Next(tc.step, tc.need)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Next(%v, %d) = %v, %v; want %v, %v", tc.step, tc.need, got, ok, tc.want, tc.ok)
		}
	}
	// Without a need, Next doubles from the own cell to the reach (Steps
	// is that walk).
	var walked [][2]int
	for step, ok := s.First(), true; ok; step, ok = s.Next(step, 0) {
		walked = append(walked, step)
	}
	if want := [][2]int{{0, 0}, {1, 1}, {2, 3}, {4, 7}, {8, 10}}; !slices.Equal(walked, want) {
		t.Errorf("walked %v, want %v", walked, want)
	}
}

// A tally knows the customer's history: the continuity bonus keeps a
// search widening only when the customer has a last worker, or when the
// history is not known. The best option found costs 0 (a worker at the
// door, rated 5, idle): at one ring (no trip from beyond it is under the
// 5-minute overhead) it settles unless a bonus of 10 could make a worker
// from farther cheaper.
func TestTallySettled(t *testing.T) {
	now := clock(9, 0)
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	req := &doorstep.Request{Service: "plumbing", Skills: []string{"plumbing"}, Location: base,
		Urgency: doorstep.Urgent, Duration: time.Hour, RequestedAt: now, CustomerID: "c1"}
	search := matcher.SearchFor(req, now, geo.Linear{}, 0)
	door := []matcher.Candidate{cand(newWorker("door", "plumbing"))}
	tests := []struct {
		name string
		hist *matcher.History
		want bool
	}{
		{"history not known: the bonus allowed for", nil, false},
		{"no last worker: nobody earns the bonus", &matcher.History{}, true},
		{"a last worker: the bonus allowed for", &matcher.History{LastWorker: "far"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tally := m.NewTally(req, now, tt.hist)
			tally.Add(door)
			if got := tally.BestCost(); got != 0 {
				t.Fatalf("BestCost = %v, want 0", got)
			}
			if got := tally.Settled(search, 1); got != tt.want {
				t.Errorf("Settled at 1 ring = %v, want %v", got, tt.want)
			}
			// SettleRings names the first ring Settled holds at.
			k := tally.SettleRings(search)
			if !tally.Settled(search, k) || (k > 0 && tally.Settled(search, k-1)) {
				t.Errorf("SettleRings = %d, not the first ring Settled holds at", k)
			}
			if tt.want != (k <= 1) {
				t.Errorf("SettleRings = %d, want <= 1: %v", k, tt.want)
			}
		})
	}
}
