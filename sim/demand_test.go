package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

func TestIntoClockHours(t *testing.T) {
	tests := []struct {
		in, want time.Time
	}{
		{at(10, 0, 0), at(10, 0, 0)},      // inside [8, 17)
		{at(8, 0, 0), at(8, 0, 0)},        // the start is inside
		{at(17, 0, 0), at(24+8, 0, 0)},    // the end is not: next day's 08:00
		{at(19, 30, 0), at(24+10, 30, 0)}, // 2.5 h past 17:00 -> 2.5 h past 08:00
		{at(6, 0, 0), at(8, 0, 0). /* 13 h past 17:00; 13 mod 9 = 4 */ Add(4 * time.Hour)},
	}
	for _, tt := range tests {
		if got := intoClockHours(tt.in, 8, 17); !got.Equal(tt.want) {
			t.Errorf("intoClockHours(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestMultiply(t *testing.T) {
	s := MustParse(t, soloScenario(policies[0], "18:00", "", 4))
	var in []arrival
	for i := range 200 {
		u := doorstep.Normal
		if i%2 == 0 {
			u = doorstep.Urgent
		}
		in = append(in, arrival{req: doorstep.Request{ID: fmt.Sprintf("r%06d", i), Urgency: u,
			RequestedAt: at(8, 0, 0).Add(time.Duration(i) * time.Minute), Location: doorstep.Location{Lat: 40.7, Lng: -74}}})
	}
	lo, hi := at(9, 0, 0), at(10, 0, 0)
	urgentIn := func(a *arrival) bool {
		return a.req.Urgency == doorstep.Urgent && !a.req.RequestedAt.Before(lo) && a.req.RequestedAt.Before(hi)
	}
	tests := []struct {
		factor float64
		lo, hi int // bounds on the selected requests after
	}{
		{0, 0, 0},
		{1, 30, 30},
		{2, 60, 60},
		{2.5, 70, 80},
		{0.5, 8, 22},
	}
	for _, tt := range tests {
		out := s.multiply(newRand(1, 9), in, urgentIn, tt.factor, lo, hi)
		sel, others := 0, 0
		ids := map[string]bool{}
		for i := range out {
			a := &out[i]
			if ids[a.req.ID] {
				t.Fatalf("factor %v: id %s twice", tt.factor, a.req.ID)
			}
			ids[a.req.ID] = true
			if i > 0 && a.req.RequestedAt.Before(out[i-1].req.RequestedAt) {
				t.Fatalf("factor %v: out of order at %d", tt.factor, i)
			}
			if urgentIn(a) {
				sel++
			} else {
				others++
			}
		}
		if sel < tt.lo || sel > tt.hi || others != 170 {
			t.Errorf("factor %v: %d selected (want %d-%d), %d others (want 170)", tt.factor, sel, tt.lo, tt.hi, others)
		}
	}
}

// A trace whose rows carry their region, with a building-wide outage
// reported three times and a row of another agency.
func TestReplayRegionsSkipDedupe(t *testing.T) {
	scenario := strings.Replace(soloScenario(policies[0], "18:00", "", 4), `"path": "trace.csv",`,
		`"path": "trace.csv", "region_column": "borough", "dedupe_minutes": 60, "skip": [{"agency": "NYPD"}],`, 1)
	s := MustParse(t, scenario)
	csv := "created,latitude,longitude,urgency,borough,agency\n" +
		"2025-06-02T08:00:00Z,40.718,-74.0,urgent,BROOKLYN,HPD\n" +
		"2025-06-02T08:20:00Z,40.718,-74.0,urgent,BROOKLYN,HPD\n" + // same place within the hour
		"2025-06-02T09:10:00Z,40.718,-74.0,urgent,BROOKLYN,HPD\n" + // 70 min after the kept one
		"2025-06-02T09:15:00Z,40.727,-74.0,normal,QUEENS,HPD\n" +
		"2025-06-02T09:20:00Z,40.727,-74.0,normal,QUEENS,NYPD\n" +
		"2025-06-02T09:30:00Z,40.727,-74.0,noise,QUEENS,HPD\n" + // no rule, no default
		"2025-06-02T13:00:00Z,40.727,-74.0,normal,QUEENS,HPD\n" + // after the horizon
		"yesterday,40.727,-74.0,normal,QUEENS,HPD\n"
	d, err := s.drawDemand(&Options{Open: memTrace(csv)})
	if err != nil {
		t.Fatal(err)
	}
	got := *d.trace
	want := TraceStats{Rows: 8, OutsideHorizon: 1, Unparseable: 1, Skipped: 1, Unmapped: 1, Duplicates: 1,
		Requests: 3, UrgentRequests: 2, ScaledRequests: 3}
	if got != want {
		t.Errorf("trace stats:\n got %+v\nwant %+v", got, want)
	}
	var regions []string
	for _, a := range d.arrivals {
		regions = append(regions, a.region)
	}
	if strings.Join(regions, ",") != "brooklyn,brooklyn,queens" {
		t.Errorf("regions %v", regions)
	}
}

// Greedy sends the nearest idle worker, even past a nearer busy one.
func TestGreedyPrefersIdle(t *testing.T) {
	scenario := strings.Replace(soloScenario(`{"name": "greedy"}`, "18:00", "", 2),
		`"rating": [5, 5]}]`,
		`"rating": [5, 5]}, {"name": "far", "count": 1, "skills": ["plumbing"], "shifts": ["day"],
		  "homes": [{"center": {"lat": 40.745, "lng": -74.0}}], "rating": [5, 5]}]`, 1)
	s := MustParse(t, scenario)
	// r1 goes to solo (2 km against 3 km); r2 is at solo's home, 5 km from
	// far, while solo is on its way to r1.
	e := runEngine(t, s, Options{Open: memTrace(trace("08:00 "+p1+" urgent", "08:05 40.70,-74.0 normal"))}, 0)
	if got := [2]int32{e.out[0].worker, e.out[1].worker}; got != [2]int32{0, 1} {
		t.Errorf("workers %v, want [0 1] (solo, then far)", got)
	}
}
