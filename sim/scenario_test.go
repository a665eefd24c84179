package sim_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/sim"
)

// baseScenario returns testdata/tiny.json as a generic JSON value.
func baseScenario(tb testing.TB) map[string]any {
	tb.Helper()
	data, err := os.ReadFile("testdata/tiny.json")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

// get walks a path of keys and indices into a generic JSON value.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func obj(v any, path ...any) map[string]any { return get(v, path...).(map[string]any) }

func TestParseScenarioErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		field  string // the field the error names ("" for none)
		msg    string // a part of the message
	}{
		{"unknown field", func(m map[string]any) { m["colour"] = "blue" }, "", `unknown field "colour"`},
		{"no start", func(m map[string]any) { delete(m, "start") }, "start", "required"},
		{"bad start", func(m map[string]any) { m["start"] = "tomorrow" }, "", "RFC 3339"},
		{"negative horizon", func(m map[string]any) { m["horizon_hours"] = -1 }, "horizon_hours", ""},
		{"huge scale", func(m map[string]any) { m["scale"] = 1000 }, "scale", ""},
		{"wrong type", func(m map[string]any) { m["seed"] = "one" }, "seed", "uint64"},
		{"group count", func(m map[string]any) { obj(m, "roster", "groups", 0)["count"] = -1 }, "roster.groups[0].count", ""},
		{"group skills", func(m map[string]any) { obj(m, "roster", "groups", 0)["skills"] = []any{} }, "roster.groups[0].skills", ""},
		{"group bad skill", func(m map[string]any) { obj(m, "roster", "groups", 0)["skills"] = []any{"ok", "not ok"} }, "roster.groups[0].skills[1]", ""},
		{"group unknown shift", func(m map[string]any) { obj(m, "roster", "groups", 0)["shifts"] = []any{"dusk"} }, "roster.groups[0].shifts[0]", "dusk"},
		{"group rating", func(m map[string]any) { obj(m, "roster", "groups", 0)["rating"] = []any{4, 6} }, "roster.groups[0].rating", ""},
		{"home without center or cell", func(m map[string]any) {
			obj(m, "roster", "groups", 0)["homes"] = []any{map[string]any{"radius_km": 2}}
		}, "roster.groups[0].homes[0]", "exactly one"},
		{"home bad cell", func(m map[string]any) {
			obj(m, "roster", "groups", 0)["homes"] = []any{map[string]any{"cell": "zz"}}
		}, "roster.groups[0].homes[0].cell", ""},
		{"home latitude", func(m map[string]any) {
			obj(m, "roster", "groups", 0, "homes", 0, "center")["lat"] = 91
		}, "roster.groups[0].homes[0].center.lat", ""},
		{"shift clock", func(m map[string]any) { obj(m, "roster", "shifts", 0)["start"] = "8am" }, "roster.shifts[0].start", "HH:MM"},
		{"break outside shift", func(m map[string]any) {
			obj(m, "roster", "shifts", 0)["breaks"] = []any{map[string]any{"start": "19:00", "end": "19:30"}}
		}, "roster.shifts[0].breaks[0].end", "inside"},
		{"break of both forms", func(m map[string]any) {
			obj(m, "roster", "shifts", 0)["breaks"] = []any{map[string]any{"start": "12:00", "end": "12:30", "minutes": 30}}
		}, "roster.shifts[0].breaks[0].earliest", "either"},
		{"flexible break without minutes", func(m map[string]any) {
			obj(m, "roster", "shifts", 0)["breaks"] = []any{map[string]any{"earliest": "11:00", "latest": "14:00"}}
		}, "roster.shifts[0].breaks[0].minutes", "positive"},
		{"flexible break longer than its range", func(m map[string]any) {
			obj(m, "roster", "shifts", 0)["breaks"] = []any{map[string]any{"earliest": "11:00", "latest": "11:20", "minutes": 30}}
		}, "roster.shifts[0].breaks[0].minutes", "fit"},
		{"flexible break clock", func(m map[string]any) {
			obj(m, "roster", "shifts", 0)["breaks"] = []any{map[string]any{"earliest": "11am", "latest": "14:00", "minutes": 30}}
		}, "roster.shifts[0].breaks[0].earliest", "HH:MM"},
		{"flexible ranges overlapping", func(m map[string]any) {
			obj(m, "roster", "shifts", 0)["breaks"] = []any{map[string]any{"earliest": "11:00", "latest": "13:00", "minutes": 30},
				map[string]any{"earliest": "12:00", "latest": "14:00", "minutes": 30}}
		}, "roster.shifts[0].breaks[1].earliest", "overlap"},
		{"two demands", func(m map[string]any) {
			obj(m, "demand")["synthetic"] = map[string]any{"requests_per_hour": 1, "services": []any{}}
		}, "demand", "exactly one"},
		{"replay unknown service", func(m map[string]any) {
			obj(m, "demand", "replay", "rules", 1)["service"] = "juggling"
		}, "demand.replay.rules[1].service", "juggling"},
		{"replay urgency", func(m map[string]any) {
			obj(m, "demand", "replay", "rules", 0)["urgency"] = "asap"
		}, "demand.replay.rules[0].urgency", ""},
		{"replay no path", func(m map[string]any) { delete(obj(m, "demand", "replay"), "path") }, "demand.replay.path", ""},
		{"windows share", func(m map[string]any) {
			obj(m, "demand")["windows"] = map[string]any{"share": 2, "start_after_hours": []any{1, 2}, "length_hours": []any{1, 2}}
		}, "demand.windows.share", ""},
		{"policy", func(m map[string]any) { m["policy"] = map[string]any{"name": "random"} }, "policy.name", "random"},
		{"variant two changes", func(m map[string]any) {
			obj(m, "variants", 1)["scale_urgent"] = map[string]any{"factor": 2, "from_hour": 0, "to_hour": 1}
		}, "variants[1]", "one thing"},
		{"variant duplicate name", func(m map[string]any) { obj(m, "variants", 2)["name"] = "greedy" }, "variants[2].name", "twice"},
		{"variant batch period", func(m map[string]any) {
			obj(m, "variants", 2, "policy")["batch_seconds"] = 7200
		}, "variants[2].policy.batch_seconds", ""},
		{"variant scale_roster group", func(m map[string]any) {
			get(m, "variants").([]any)[0] = map[string]any{"name": "x", "scale_roster": map[string]any{"group": "nobody", "factor": 2}}
		}, "variants[0].scale_roster.group", "nobody"},
		{"variant scale_urgent hours", func(m map[string]any) {
			get(m, "variants").([]any)[0] = map[string]any{"name": "x", "scale_urgent": map[string]any{"factor": 2, "from_hour": 1, "to_hour": 1}}
		}, "variants[0].scale_urgent.to_hour", ""},
		{"variant add_workers like", func(m map[string]any) {
			get(m, "variants").([]any)[0] = map[string]any{"name": "x", "add_workers": map[string]any{"like": "ghosts", "count": 2}}
		}, "variants[0].add_workers.like", "ghosts"},
		{"region without places", func(m map[string]any) { obj(m, "regions", "named", 0)["places"] = []any{} }, "regions.named[0].places", ""},
		{"travel detour", func(m map[string]any) { m["travel"] = map[string]any{"detour": 0.5} }, "travel.detour", ""},
		{"travel table", func(m map[string]any) {
			m["travel"] = map[string]any{"table": "from_cell,to_cell,minutes\n871fb4662ffffff,871fb474dffffff,0\n"}
		}, "travel.table", "line 2, column 3: minutes"},
		{"travel table fallback", func(m map[string]any) {
			m["travel"] = map[string]any{"detour": 9, "table": "from_cell,to_cell,minutes\n"}
		}, "travel.detour", ""},
		{"catalogue", func(m map[string]any) { m["catalogue"] = map[string]any{"services": []any{}} }, "catalogue", "no services"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := baseScenario(t)
			tt.mutate(m)
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = sim.ParseScenario(data)
			var e *doorstep.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *doorstep.Error", err)
			}
			if e.Code != doorstep.EINVALID || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("got code %s field %q message %q, want invalid field %q with %q", e.Code, e.Field, e.Message, tt.field, tt.msg)
			}
		})
	}
}

func TestParseScenarioDefaults(t *testing.T) {
	s, err := sim.ParseScenario([]byte(`{"start": "2025-06-02T00:00:00+02:00", "area": {"center": {"lat": 48.85, "lng": 2.35}, "radius_km": 5},
		"roster": {"shifts": [{"name": "d", "start": "08:00", "end": "16:00"}], "groups": [{"name": "g", "count": 2, "skills": ["cleaning"], "shifts": ["d"]}]},
		"demand": {"synthetic": {"requests_per_hour": 1, "urgent_share": 0, "services": [{"service": "cleaning", "weight": 1}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "scenario" || s.HorizonHours != 24 || s.Scale != 1 || s.Policy.Name != sim.PolicyInsertion ||
		s.Matching.Candidates != matcher.DefaultWant || s.Regions.H3Resolution != 5 {
		t.Errorf("defaults not filled: %+v", s)
	}
	if _, off := s.Start.Zone(); off != 2*3600 {
		t.Errorf("start offset %d, want +02:00", off)
	}
}

// FuzzParseScenario checks that no input panics the parser and that an
// accepted scenario passes the limits check without drawing anything.
func FuzzParseScenario(f *testing.F) {
	for _, p := range []string{"testdata/tiny.json", "testdata/cityday.json", "../examples/scenarios/city.json", "../examples/scenarios/nyc311.json"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"start": "2025-06-02T00:00:00Z", "roster": {"shifts": [{"name": "d", "start": "24:00", "end": "00:00"}]}}`))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte(`{"start": "2025-06-02T00:00:00Z"} {}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := sim.ParseScenario(data)
		if err != nil {
			if s != nil {
				t.Fatal("a scenario with an error")
			}
			if doorstep.ErrorCode(err) == doorstep.EINTERNAL {
				t.Fatalf("not an application error: %v", err)
			}
			return
		}
		_ = sim.Limits{MaxWorkers: 100, MaxRequests: 1000, MaxVariants: 4}.Check(s)
	})
}
