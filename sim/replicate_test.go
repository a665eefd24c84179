package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/sim"
)

// totalsOf returns a report's totals per variant as numbers by JSON name.
func totalsOf(tb testing.TB, r *sim.Report) []map[string]float64 {
	tb.Helper()
	out := make([]map[string]float64, len(r.Variants))
	for i := range r.Variants {
		b, err := json.Marshal(r.Variants[i].Totals)
		if err != nil {
			tb.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			tb.Fatal(err)
		}
		out[i] = map[string]float64{}
		for k, v := range raw {
			if x, ok := v.(float64); ok {
				out[i][k] = x
			}
		}
	}
	return out
}

// TestReplicateAgreesWithSeparateRuns runs the city example at a small
// scale for three seeds through Replicate and through Run seed by seed,
// and checks every mean and paired difference against the separate runs,
// and that the first seed's report is unchanged.
func TestReplicateAgreesWithSeparateRuns(t *testing.T) {
	s := mustScenario(t, "../examples/scenarios/city.json")
	s.Scale, s.Seed = 0.1, 40
	const k = 3
	rep, err := sim.Replicate(context.Background(), s, k, sim.Options{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Replications == nil || rep.Replications.Count != k || len(rep.Replications.Seeds) != k || rep.Replications.Seeds[2] != 42 {
		t.Fatalf("replications = %+v, want 3 seeds 40-42", rep.Replications)
	}
	var runs [][]map[string]float64
	for r := range k {
		sc := *s
		sc.Seed = s.Seed + uint64(r)
		one, _ := mustRun(t, &sc, sim.Options{})
		if r == 0 {
			if got, want := rep.Variants[0].Totals, one.Variants[0].Totals; !jsonEqual(t, got, want) {
				t.Errorf("first seed's totals differ from its own run")
			}
		}
		runs = append(runs, totalsOf(t, one))
	}
	for i, v := range rep.Variants {
		for _, f := range []string{"urgent_on_time_share", "unserved", "travel_km_per_job"} {
			mean, dmean := 0.0, 0.0
			for r := range k {
				mean += runs[r][i][f] / k
				dmean += (runs[r][i][f] - runs[r][0][f]) / k
			}
			iv := v.Replications[f]
			if iv.N != k || math.Abs(iv.Mean-mean) > 1e-4 {
				t.Errorf("%s %s: mean %v over %d, want %v over %d", v.Name, f, iv.Mean, iv.N, mean, k)
			}
			if iv.CI95Low == nil || *iv.CI95Low > iv.Mean || *iv.CI95High < iv.Mean {
				t.Errorf("%s %s: interval %v-%v does not hold the mean %v", v.Name, f, iv.CI95Low, iv.CI95High, iv.Mean)
			}
			if i == 0 {
				if len(v.Differences) != 0 {
					t.Errorf("the first variant has differences to itself")
				}
				continue
			}
			if d := v.Differences[f]; d.N != k || math.Abs(d.Mean-dmean) > 1e-4 {
				t.Errorf("%s %s: paired difference %v, want %v", v.Name, f, d.Mean, dmean)
			}
		}
	}
	// Deterministic: the same scenario and count give the same bytes.
	again, err := sim.Replicate(context.Background(), s, k, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := rep.JSON()
	b, _ := again.JSON()
	if !bytes.Equal(a, b) {
		t.Error("two replicated runs differ")
	}
	var tab bytes.Buffer
	if err := sim.WriteReplicatedTable(&tab, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "Over 3 seeds (40-42)") || !strings.Contains(tab.String(), "| greedy |") {
		t.Errorf("replicated table:\n%s", tab.String())
	}
}

func jsonEqual(tb testing.TB, a, b any) bool {
	tb.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		tb.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// TestReplicateOne is Run: no replication fields.
func TestReplicateOne(t *testing.T) {
	s := mustScenario(t, "testdata/tiny.json")
	rep, err := sim.Replicate(context.Background(), s, 1, sim.Options{Open: opener("testdata")})
	if err != nil {
		t.Fatal(err)
	}
	_, want := mustRun(t, s, sim.Options{Open: opener("testdata")})
	got, _ := rep.JSON()
	if !bytes.Equal(got, want) {
		t.Error("one replication differs from Run")
	}
}

func TestReplicateLimits(t *testing.T) {
	s := mustScenario(t, "testdata/tiny.json")
	opts := sim.Options{Open: opener("testdata"), Limits: sim.Limits{MaxReplications: 4}}
	for _, tt := range []struct {
		k    int
		code string
	}{{0, doorstep.EINVALID}, {sim.MaxReplications + 1, doorstep.EINVALID}, {5, doorstep.ETOOLARGE}} {
		_, err := sim.Replicate(context.Background(), s, tt.k, opts)
		if doorstep.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), "replications") {
			t.Errorf("k=%d: got %v, want %s naming replications", tt.k, err, tt.code)
		}
	}
	if _, err := sim.ParseScenario([]byte(strings.Replace(string(mustRead(t, "testdata/tiny.json")), `"seed"`, `"replications": -2, "seed"`, 1))); doorstep.ErrorCode(err) != doorstep.EINVALID || !strings.Contains(err.Error(), "replications") {
		t.Errorf("replications -2: got %v, want invalid naming replications", err)
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
