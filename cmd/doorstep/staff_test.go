package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// staffScenario writes a scenario where urgent on time is plumbers/4 (four
// urgent calls at once, 90-minute jobs, one plumber) and its trace.
func staffScenario(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	const scen = `{
  "name": "four", "seed": 1, "start": "2025-06-02T08:00:00Z", "horizon_hours": 2,
  "roster": {
    "shifts": [{"name": "day", "start": "08:00", "end": "18:00"}, {"name": "night", "start": "20:00", "end": "23:00"}],
    "groups": [{"name": "plumbers", "count": 1, "skills": ["plumbing"], "shifts": ["day"],
                "homes": [{"center": {"lat": 40.70, "lng": -74.0}, "radius_km": 0.5}]}]
  },
  "demand": {"replay": {"path": "four.csv", "rules": [{"where": {"kind": "u"}, "service": "plumbing", "urgency": "urgent"}]}}
}`
	const trace = "created,latitude,longitude,kind\n" +
		"2025-06-02T08:00:00Z,40.701,-74.0,u\n2025-06-02T08:00:00Z,40.702,-74.0,u\n" +
		"2025-06-02T08:00:00Z,40.699,-74.0,u\n2025-06-02T08:00:00Z,40.698,-74.0,u\n"
	if err := os.WriteFile(filepath.Join(dir, "four.csv"), []byte(trace), 0o644); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, "four.json")
	if err := os.WriteFile(p, []byte(scen), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestRunStaff(t *testing.T) {
	path := staffScenario(t)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"staff", "-scenario", path, "-group", "plumbers", "-target", "0.99", "-replications", "2"}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("staff: %v\n%s", err, stderr.String())
	}
	var r struct {
		Group         string   `json:"group"`
		Count         int      `json:"count"`
		Added         int      `json:"added"`
		Mean          float64  `json:"mean"`
		MeanAtOneLess *float64 `json:"mean_at_one_less"`
		Evaluations   int      `json:"evaluations"`
		Reached       bool     `json:"reached"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if !r.Reached || r.Count != 4 || r.Added != 3 || r.Mean != 1 || r.MeanAtOneLess == nil || *r.MeanAtOneLess != 0.75 {
		t.Errorf("got %s, want 4 plumbers (3 added) for 100%%, 75%% with one less", stdout.String())
	}

	// Shift options: one result per option; the night shift cannot reach
	// the target and says so on stderr.
	stdout.Reset()
	stderr.Reset()
	if err := run(context.Background(), []string{"staff", "-scenario", path, "-group", "plumbers", "-target", "0.99", "-replications", "2",
		"-max", "4", "-shift", "day", "-shift", "night"}, nil, &stdout, &stderr); err != nil {
		t.Fatalf("staff -shift: %v\n%s", err, stderr.String())
	}
	var rs []struct {
		Shifts  []string `json:"shifts"`
		Reached bool     `json:"reached"`
		Limit   string   `json:"limit"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rs); err != nil || len(rs) != 2 {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if !rs[0].Reached || rs[1].Reached || rs[1].Limit == "" || !strings.Contains(stderr.String(), "with shifts night") {
		t.Errorf("shift options: %s\nstderr: %s", stdout.String(), stderr.String())
	}
}

func TestRunStaffErrors(t *testing.T) {
	path := staffScenario(t)
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-scenario", path, "-group", "plumbers"}, "-target"},
		{[]string{"-scenario", path, "-group", "cooks", "-target", "1"}, `no group "cooks"`},
		{[]string{"-scenario", path, "-group", "plumbers", "-target", "1", "-replications", "0"}, "-replications"},
		{[]string{"-scenario", path, "-group", "plumbers", "-target", "1", "-shift", ","}, "-shift"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"staff"}, tt.args...), nil, &stdout, &stderr)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error()+stderr.String(), tt.msg) {
			t.Errorf("%v: got %v, want exit 2 naming %s", tt.args, err, tt.msg)
		}
	}
}
