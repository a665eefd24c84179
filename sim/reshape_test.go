package sim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// fourPlumbers is a town of four plumbers on day and late shifts (workers
// 0 and 2 on day, 1 and 3 on late) and the variant under test.
func fourPlumbers(variant string) string {
	return `{
  "name": "four", "seed": 1, "start": "2025-06-02T08:00:00Z", "horizon_hours": 2,
  "roster": {
    "shifts": [{"name": "day", "start": "08:00", "end": "16:00"}, {"name": "late", "start": "13:00", "end": "21:00"}],
    "groups": [{"name": "plumbers", "count": 4, "skills": ["plumbing"], "shifts": ["day", "late"], "max_jobs_per_day": 4,
                "homes": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 1}]}]
  },
  "demand": {"replay": {"path": "t.csv", "rules": [{"where": {"u": "n"}, "service": "plumbing", "urgency": "normal"}]}},
  "variants": [{"name": "base"}, ` + variant + `]
}`
}

const fourTrace = "created,latitude,longitude,u\n2025-06-02T08:00:00Z,40.70,-74.0,n\n"

func TestReshape(t *testing.T) {
	clock := func(ws []time.Time) []string {
		var out []string
		for _, t := range ws {
			out = append(out, t.Format("15:04"))
		}
		return out
	}
	tests := []struct {
		name    string
		variant string
		starts  []string // each worker's first shift start
		jobs    int      // worker 0's daily cap
		minutes int      // the plumbing job's duration
	}{
		{"unchanged", `{"name": "same", "policy": {"name": "greedy"}}`, []string{"08:00", "13:00", "08:00", "13:00"}, 4, 90},
		// Of the two on late (workers 1 and 3), half: worker 1.
		{"half of late to mid", `{"name": "v", "reshape": {"shifts": [{"name": "mid", "start": "15:00", "end": "23:00"}],
			"groups": [{"group": "plumbers", "move": {"from": "late", "to": "mid", "share": 0.5}}]}}`, []string{"08:00", "15:00", "08:00", "13:00"}, 4, 90},
		{"all on a new shift, caps and durations", `{"name": "v", "reshape": {"shifts": [{"name": "mid", "start": "15:00", "end": "23:00"}],
			"groups": [{"group": "plumbers", "shifts": ["mid"], "max_jobs_per_day": 2}], "durations": [{"service": "plumbing", "factor": 0.5}]}}`,
			[]string{"15:00", "15:00", "15:00", "15:00"}, 2, 45},
		// Replacing a pattern by name changes every worker on it.
		{"late starts later", `{"name": "v", "reshape": {"shifts": [{"name": "late", "start": "14:00", "end": "22:00", "breaks": [{"start": "18:00", "end": "18:30"}]}]}}`,
			[]string{"08:00", "14:00", "08:00", "14:00"}, 4, 90},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustParse(t, fourPlumbers(tt.variant))
			vs := s.variants()
			v := &vs[1]
			ws, _, err := s.reshaped(v.Reshape).buildRoster(1, v)
			if err != nil {
				t.Fatal(err)
			}
			base, _, _ := s.buildRoster(0, &vs[0])
			var starts []time.Time
			for i, w := range ws {
				starts = append(starts, w.Shifts[0].Start) // today's: none of these runs over midnight
				if w.Home != base[i].Home || w.Rating != base[i].Rating {
					t.Errorf("worker %d changed home or rating: the same people work other hours", i)
				}
			}
			if got := clock(starts); strings.Join(got, " ") != strings.Join(tt.starts, " ") {
				t.Errorf("shift starts %v, want %v", got, tt.starts)
			}
			if ws[0].MaxJobsPerDay != tt.jobs {
				t.Errorf("cap %d, want %d", ws[0].MaxJobsPerDay, tt.jobs)
			}
			d, err := s.drawDemand(&Options{Open: memTrace(fourTrace)})
			if err != nil {
				t.Fatal(err)
			}
			if got := s.variantDemand(1, v, d.arrivals)[0].req.Duration; got != time.Duration(tt.minutes)*time.Minute {
				t.Errorf("duration %v, want %d min", got, tt.minutes)
			}
			if d.arrivals[0].req.Duration != 90*time.Minute {
				t.Error("the shared demand was changed")
			}
			if tt.name == "late starts later" && len(ws[1].Shifts[0].Breaks) != 1 {
				t.Errorf("the replaced pattern's break is missing: %+v", ws[1].Shifts[0])
			}
			rep := MustRun(t, s, Options{Open: memTrace(fourTrace)})
			if tt.name != "unchanged" && !strings.HasPrefix(rep.Variants[1].Change, "reshape: ") {
				t.Errorf("change %q", rep.Variants[1].Change)
			}
		})
	}
}

func TestReshapeInvalid(t *testing.T) {
	for _, tt := range []struct{ variant, field string }{
		{`{"name": "v", "reshape": {}}`, "variants[1].reshape"},
		{`{"name": "v", "reshape": {"groups": [{"group": "cooks", "shifts": ["day"]}]}}`, "variants[1].reshape.groups[0].group"},
		{`{"name": "v", "reshape": {"groups": [{"group": "plumbers", "shifts": ["dawn"]}]}}`, "variants[1].reshape.groups[0].shifts[0]"},
		{`{"name": "v", "reshape": {"groups": [{"group": "plumbers", "move": {"from": "night", "to": "day", "share": 0.5}}]}}`, "variants[1].reshape.groups[0].move.from"},
		{`{"name": "v", "reshape": {"groups": [{"group": "plumbers", "move": {"from": "late", "to": "day", "share": 1.5}}]}}`, "variants[1].reshape.groups[0].move.share"},
		{`{"name": "v", "reshape": {"groups": [{"group": "plumbers", "max_jobs_per_day": -1}]}}`, "variants[1].reshape.groups[0].max_jobs_per_day"},
		{`{"name": "v", "reshape": {"shifts": [{"name": "mid", "start": "25:00", "end": "23:00"}]}}`, "variants[1].reshape.shifts[0].start"},
		{`{"name": "v", "reshape": {"durations": [{"service": "knitting", "factor": 2}]}}`, "variants[1].reshape.durations[0].service"},
		{`{"name": "v", "reshape": {"durations": [{"service": "plumbing", "factor": 0}]}}`, "variants[1].reshape.durations[0].factor"},
		{`{"name": "v", "policy": {"name": "greedy"}, "reshape": {"groups": [{"group": "plumbers", "max_jobs_per_day": 2}]}}`, "variants[1]"},
	} {
		_, err := ParseScenario([]byte(fourPlumbers(tt.variant)))
		var e *doorstep.Error
		if !errors.As(err, &e) || e.Field != tt.field {
			t.Errorf("%s: got %v, want an error naming %s", tt.variant, err, tt.field)
		}
	}
}
