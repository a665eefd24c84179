package matcher_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/google/go-cmp/cmp"
)

func TestSearchFor(t *testing.T) {
	now := clock(10, 0)
	linear := geo.Linear{}
	fast := geo.Linear{SpeedKmh: 200}
	search := func(reach float64) matcher.Search {
		return matcher.Search{Center: geo.IndexCell(base), ReachKm: reach, MaxRings: geo.RingsFor(geo.IndexResolution, reach)}
	}
	tests := []struct {
		name          string
		urgency       doorstep.Urgency
		requested     time.Time
		travel        geo.TravelModel
		normalReachKm float64
		want          matcher.Search
	}{
		{"urgent: the hour's reach", doorstep.Urgent, now, linear, 0, search(linear.ReachKm(time.Hour))},
		{"urgent: half an hour left", doorstep.Urgent, now.Add(-30 * time.Minute), linear, 0, search(linear.ReachKm(30 * time.Minute))},
		{"urgent: another travel model", doorstep.Urgent, now, gridTravel{}, 0, search(gridTravel{}.ReachKm(time.Hour))},
		{"urgent: fast model capped by the normal reach", doorstep.Urgent, now, fast, 0, search(matcher.DefaultNormalReachKm)},
		{"urgent: fast model capped by a given normal reach", doorstep.Urgent, now, fast, 10, search(10)},
		{"urgent: slow model under a given normal reach", doorstep.Urgent, now, linear, 50, search(linear.ReachKm(time.Hour))},
		{"urgent: past its deadline", doorstep.Urgent, now.Add(-2 * time.Hour), linear, 0, search(geo.SamePlaceKm)},
		{"normal: default reach", doorstep.Normal, now, linear, 0, search(matcher.DefaultNormalReachKm)},
		{"normal: given reach", doorstep.Normal, now, linear, 50, search(50)},
		{"normal: negative reach means the default", doorstep.Normal, now, linear, -1, search(matcher.DefaultNormalReachKm)},
		{"normal: travel model does not matter", doorstep.Normal, now, fast, 0, search(matcher.DefaultNormalReachKm)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &doorstep.Request{Service: "plumbing", Location: base, Urgency: tt.urgency, RequestedAt: tt.requested}
			got := matcher.SearchFor(req, now, tt.travel, tt.normalReachKm)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SearchFor mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// The urgent reach of the default model is about 18 km (DESIGN.md,
	// package geo).
	req := &doorstep.Request{Location: base, Urgency: doorstep.Urgent, RequestedAt: now}
	if s := matcher.SearchFor(req, now, linear, 0); s.ReachKm < 17 || s.ReachKm > 18 {
		t.Errorf("urgent search with the default model: %+v, want about 18 km", s)
	}
}

func TestSearchSteps(t *testing.T) {
	tests := []struct {
		maxRings int
		want     [][2]int
	}{
		{0, [][2]int{{0, 0}}},
		{1, [][2]int{{0, 0}, {1, 1}}},
		{2, [][2]int{{0, 0}, {1, 1}, {2, 2}}},
		{3, [][2]int{{0, 0}, {1, 1}, {2, 3}}},
		{4, [][2]int{{0, 0}, {1, 1}, {2, 3}, {4, 4}}},
		{10, [][2]int{{0, 0}, {1, 1}, {2, 3}, {4, 7}, {8, 10}}},
		{16, [][2]int{{0, 0}, {1, 1}, {2, 3}, {4, 7}, {8, 15}, {16, 16}}},
	}
	for _, tt := range tests {
		got := matcher.Search{MaxRings: tt.maxRings}.Steps()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Steps() with MaxRings %d mismatch (-want +got):\n%s", tt.maxRings, diff)
		}
	}

	// Every ring from 0 to MaxRings is read exactly once, in order.
	for maxRings := range 200 {
		steps := matcher.Search{MaxRings: maxRings}.Steps()
		next := 0
		for _, st := range steps {
			if st[0] != next || st[1] < st[0] {
				t.Fatalf("MaxRings %d: steps %v: step %v does not continue at ring %d", maxRings, steps, st, next)
			}
			next = st[1] + 1
		}
		if next != maxRings+1 {
			t.Fatalf("MaxRings %d: steps %v end at ring %d", maxRings, steps, next-1)
		}
	}
}
