package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestUrgentProfile derives the urgent profile of a synthetic demand by
// hand: 10 requests an hour, half plumbing (urgent with probability 0.5),
// half cleaning (never urgent), met by 2 plumbers, is 10 x 0.5 x 0.5 / 2 =
// 1.25 urgent plumbing calls an hour per plumber, at every hour of a flat
// profile; and at hour 0 only (24 x as much) when the hourly profile puts
// the whole day there.
func TestUrgentProfile(t *testing.T) {
	const tmpl = `{"name": "p", "seed": 1, "start": "2025-06-02T00:00:00Z", "horizon_hours": 24,
	  "regions": {"named": [{"name": "a", "places": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 2}]}]},
	  "roster": {"shifts": [{"name": "day", "start": "08:00", "end": "18:00"}],
	    "groups": [{"name": "pl", "count": 2, "skills": ["plumbing"], "shifts": ["day"], "homes": [{"center": {"lat": 40.70, "lng": -74.0}}]},
	               {"name": "cl", "count": 3, "skills": ["cleaning"], "shifts": ["day"], "homes": [{"center": {"lat": 40.70, "lng": -74.0}}]}]},
	  "demand": {"synthetic": {"requests_per_hour": 10, %s "hotspots": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 1}], "urgent_share": 0,
	    "services": [{"service": "plumbing", "weight": 1, "urgent_share": 0.5}, {"service": "cleaning", "weight": 1}]}}}`
	allAtZero := `"hourly_profile": [24` + strings.Repeat(",0", 23) + `],`
	tests := []struct {
		name    string
		profile string
		want    func(h int) float64
	}{
		{"flat", "", func(int) float64 { return 1.25 }},
		{"all at hour 0", allAtZero, func(h int) float64 {
			if h == 0 {
				return 30
			}
			return 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := MustParse(t, fmt.Sprintf(tmpl, tc.profile))
			v := &s.variants()[0]
			ws, _, err := s.buildRoster(0, v)
			if err != nil {
				t.Fatal(err)
			}
			p := s.urgentProfile(ws, nil)
			if _, ok := p.Rate["cleaning"]; ok {
				t.Errorf("cleaning has an urgent rate, want none")
			}
			r := p.Rate["plumbing"]
			for h := range r {
				if math.Abs(r[h]-tc.want(h)) > 1e-9 {
					t.Errorf("plumbing rate at %02d:00 = %v, want %v", h, r[h], tc.want(h))
				}
			}
		})
	}
}
