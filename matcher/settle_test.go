package matcher_test

import (
	"math"
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
	// Beyond 3 rings (about 2 km at resolution 7) a trip takes more than
	// the 5-minute overhead, so an urgent option costs more than 5.
	tests := []struct {
		name  string
		req   *doorstep.Request
		rings int
		best  float64
		want  bool
	}{
		{"urgent, none found yet", req(doorstep.Urgent, ""), 3, math.Inf(1), false},
		{"urgent, best too dear", req(doorstep.Urgent, ""), 3, 35, false},
		{"urgent, best cheaper than any trip from farther", req(doorstep.Urgent, ""), 3, 5, true},
		{"urgent, continuity bonus possible", req(doorstep.Urgent, "c1"), 3, 5, false},
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
