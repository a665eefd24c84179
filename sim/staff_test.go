package sim

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// fourAtOnce is four urgent plumbing calls at the same minute in one block
// and a single plumber living there. A plumbing job takes 90 minutes, so a
// plumber serves one of the four within the hour: urgent on time is
// min(plumbers, 4)/4, on every seed.
const fourAtOnce = `{
  "name": "four-at-once", "seed": 1, "start": "2025-06-02T08:00:00Z", "horizon_hours": 2,
  "regions": {"named": [{"name": "block", "places": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 0.5}]}]},
  "roster": {
    "shifts": [{"name": "day", "start": "08:00", "end": "18:00"}, {"name": "night", "start": "20:00", "end": "23:00"}],
    "groups": [{"name": "plumbers", "count": 1, "skills": ["plumbing"], "shifts": ["day"],
                "homes": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 0.5}]}]
  },
  "demand": {"replay": {"path": "four.csv", "rules": [{"where": {"kind": "u"}, "service": "plumbing", "urgency": "urgent"}]}}
}`

const fourCSV = `created,latitude,longitude,kind
2025-06-02T08:00:00Z,40.701,-74.0,u
2025-06-02T08:00:00Z,40.702,-74.0,u
2025-06-02T08:00:00Z,40.699,-74.0,u
2025-06-02T08:00:00Z,40.698,-74.0,u
`

func TestStaff(t *testing.T) {
	opts := Options{Open: memTrace(fourCSV)}
	tests := []struct {
		name        string
		q           StaffQuery
		reached     bool
		added       int
		mean, less  float64
		evaluations int
	}{
		// 0 added: 0.25; 1: 0.5 (doubling), 2: 0.75 reaches; bisection has
		// nothing between 1 and 2.
		{"three quarters", StaffQuery{Group: "plumbers", Metric: "urgent_on_time_share", Target: 0.74, Replications: 3}, true, 2, 0.75, 0.5, 3},
		// 1, 2, 4 by doubling; 3 by bisection.
		{"all", StaffQuery{Group: "plumbers", Region: "block", Metric: "urgent_on_time_share", Target: 1, Replications: 3}, true, 3, 1, 0.75, 5},
		{"unserved is a ceiling", StaffQuery{Group: "plumbers", Metric: "unserved", Target: 1, Replications: 2}, true, 2, 1, 2, 3},
		{"already there", StaffQuery{Group: "plumbers", Metric: "urgent_on_time_share", Target: 0.2, Replications: 2}, true, 0, 0.25, 0, 1},
		{"out of reach", StaffQuery{Group: "plumbers", Metric: "urgent_on_time_share", Target: 1, Replications: 2, Max: 2}, false, 2, 0.75, 0.5, 3},
		// At night nobody is on shift at 08:00, whatever the count.
		{"shift structure", StaffQuery{Group: "plumbers", Metric: "urgent_on_time_share", Target: 0.5, Replications: 2, Max: 4, Shifts: []string{"night"}}, false, 4, 0, 0, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(t, fourAtOnce)
			r, err := Staff(context.Background(), s, tt.q, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Reached != tt.reached || r.Added != tt.added || r.Count != 1+tt.added || r.Mean != tt.mean || r.Evaluations != tt.evaluations {
				t.Fatalf("got reached %v, added %d (count %d), mean %v, %d evaluations; want %v, %d, %v, %d",
					r.Reached, r.Added, r.Count, r.Mean, r.Evaluations, tt.reached, tt.added, tt.mean, tt.evaluations)
			}
			if tt.added > 0 && (r.MeanAtOneLess == nil || *r.MeanAtOneLess != tt.less) {
				t.Errorf("mean at one less = %v, want %v", r.MeanAtOneLess, tt.less)
			}
			if !tt.reached && !strings.Contains(r.Limit, "short of") {
				t.Errorf("limit = %q, want what stops it", r.Limit)
			}
			if tt.name == "shift structure" && !strings.Contains(r.Limit, `"shift"`) {
				t.Errorf("limit = %q, want the shift named as the cause", r.Limit)
			}
			if !tt.reached || tt.added == 0 {
				return
			}
			// The answer holds when the scenario is run as an operations
			// team would: the count returned reaches, one less does not.
			for n, want := range map[int]bool{tt.added: true, tt.added - 1: false} {
				v := `{"name": "n"}`
				if n > 0 {
					v = fmt.Sprintf(`{"name": "n", "add_workers": {"like": "plumbers", "count": %d}}`, n)
				}
				if tt.q.Region != "" {
					v = strings.Replace(v, `"count"`, `"homes": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 0.5}], "region": "block", "count"`, 1)
				}
				sc := MustParse(t, strings.Replace(fourAtOnce, `"demand"`, `"variants": [`+v+`], "demand"`, 1))
				rep, err := Replicate(context.Background(), sc, tt.q.Replications, opts)
				if err != nil {
					t.Fatal(err)
				}
				m := rep.Variants[0].Replications[tt.q.Metric].Mean
				got := m >= tt.q.Target
				if tt.q.Metric == "unserved" {
					got = m <= tt.q.Target
				}
				if got != want {
					t.Errorf("%d added: %s %v; reaching %v is wrong", n, tt.q.Metric, m, tt.q.Target)
				}
			}
		})
	}
}

func TestStaffErrors(t *testing.T) {
	s := MustParse(t, fourAtOnce)
	opts := Options{Open: memTrace(fourCSV)}
	for _, tt := range []struct {
		q     StaffQuery
		field string
	}{
		{StaffQuery{Group: "nobody", Metric: "unserved", Target: 1}, "group"},
		{StaffQuery{Group: "plumbers", Region: "nowhere", Metric: "unserved", Target: 1}, "region"},
		{StaffQuery{Group: "plumbers", Metric: "happiness", Target: 1}, "metric"},
		{StaffQuery{Group: "plumbers", Metric: "unserved", Target: 1, Shifts: []string{"dawn"}}, "shift"},
	} {
		_, err := Staff(context.Background(), s, tt.q, opts)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: got %v, want an error naming %s", tt.q, err, tt.field)
		}
	}
}
