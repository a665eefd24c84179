package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// simScenario copies the sim package's tiny scenario and its trace into a
// temporary directory, applying replace to the scenario, and returns the
// scenario's path.
func simScenario(tb testing.TB, replace ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	for _, name := range []string{"tiny.json", "tiny.csv"} {
		data, err := os.ReadFile(filepath.Join("../../sim/testdata", name))
		if err != nil {
			tb.Fatal(err)
		}
		if name == "tiny.json" {
			data = []byte(strings.NewReplacer(replace...).Replace(string(data)))
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return filepath.Join(dir, "tiny.json")
}

// TestRunSimulateDefaultOut runs simulate without -out: it writes into a
// new directory under the temporary directory and says where, and nothing
// into the current directory (a checkout, often).
func TestRunSimulateDefaultOut(t *testing.T) {
	path := simScenario(t)
	cwd, tmp := t.TempDir(), t.TempDir()
	t.Chdir(cwd)
	t.Setenv("TMPDIR", tmp)
	var stdout, stderr bytes.Buffer
	if err := runSimulate(context.Background(), []string{"-scenario", path}, &stdout, &stderr); err != nil {
		t.Fatalf("runSimulate: %v\nstderr: %s", err, stderr.String())
	}
	if ents, _ := os.ReadDir(cwd); len(ents) != 0 {
		t.Errorf("simulate wrote %v into the current directory", ents)
	}
	_, after, ok := strings.Cut(stdout.String(), "\nwrote ")
	dir, _, _ := strings.Cut(after, " ")
	if !ok || filepath.Dir(dir) != tmp || !strings.HasPrefix(filepath.Base(dir), "doorstep-sim-tiny-") {
		t.Fatalf("simulate says it wrote %q, want a doorstep-sim-tiny-* directory in %s:\n%s", dir, tmp, stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err != nil {
		t.Errorf("the printed directory has no report: %v", err)
	}
}

func TestRunSimulate(t *testing.T) {
	path := simScenario(t)
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if err := runSimulate(context.Background(), []string{"-scenario", path, "-out", out, "-seed", "9"}, &stdout, &stderr); err != nil {
		t.Fatalf("runSimulate: %v\nstderr: %s", err, stderr.String())
	}
	for _, name := range []string{"report.json", "timing.json", "report.html", "arrivals.svg", "ontime_by_hour.svg", "utilisation_by_hour.svg"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Seed     uint64 `json:"seed"`
		Variants []struct {
			Name string `json:"name"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Seed != 9 || len(rep.Variants) != 3 {
		t.Errorf("report: seed %d, %d variants; want seed 9, 3 variants", rep.Seed, len(rep.Variants))
	}
	if !strings.Contains(stdout.String(), "| variant |") || !strings.Contains(stdout.String(), "| greedy |") {
		t.Errorf("stdout lacks the key table:\n%s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet got: %q", stderr.String())
	}

	// The same scenario and seed give the same report.json.
	out2 := filepath.Join(t.TempDir(), "out")
	if err := runSimulate(context.Background(), []string{"-scenario", path, "-out", out2, "-seed", "9"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(out2, "report.json")); !bytes.Equal(data, again) {
		t.Error("report.json differs between two runs")
	}
}

// -replications K runs K seeds and reports intervals in report.json and
// the printed table.
func TestRunSimulateReplications(t *testing.T) {
	path := simScenario(t)
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	if err := runSimulate(context.Background(), []string{"-scenario", path, "-out", out, "-seed", "9", "-replications", "3"}, &stdout, &stderr); err != nil {
		t.Fatalf("runSimulate: %v\nstderr: %s", err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Seed         uint64 `json:"seed"`
		Replications struct {
			Seeds []uint64 `json:"seeds"`
		} `json:"replications"`
		Variants []struct {
			Replications map[string]any `json:"replications"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Seed != 9 || !slices.Equal(rep.Replications.Seeds, []uint64{9, 10, 11}) || len(rep.Variants[0].Replications) == 0 {
		t.Errorf("report: seed %d, replications %v, variant 0 %v", rep.Seed, rep.Replications.Seeds, rep.Variants[0].Replications)
	}
	if !strings.Contains(stdout.String(), "Over 3 seeds (9-11)") {
		t.Errorf("stdout lacks the replicated table:\n%s", stdout.String())
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(string(html), "Over 3 seeds") {
		t.Errorf("report.html lacks the replicated table (%v)", err)
	}
}

func TestRunSimulateErrors(t *testing.T) {
	tests := []struct {
		name string
		args func(tb testing.TB) []string
		code int
		msg  string
	}{
		{"no scenario", func(testing.TB) []string { return nil }, 2, "-scenario"},
		{"missing file", func(tb testing.TB) []string {
			return []string{"-scenario", filepath.Join(tb.TempDir(), "none.json")}
		}, 2, "read scenario"},
		{"bad field", func(tb testing.TB) []string {
			return []string{"-scenario", simScenario(tb, `"count": 1`, `"count": -1`)}
		}, 2, "roster.groups[0].count"},
		{"unknown field", func(tb testing.TB) []string {
			return []string{"-scenario", simScenario(tb, `"seed": 1`, `"seed": 1, "sead": 2`)}
		}, 2, `unknown field "sead"`},
		{"bad scale", func(tb testing.TB) []string {
			return []string{"-scenario", simScenario(tb), "-scale", "0"}
		}, 2, "-scale"},
		{"bad replications", func(tb testing.TB) []string {
			return []string{"-scenario", simScenario(tb), "-replications", "0"}
		}, 2, "-replications"},
		{"trace not found", func(tb testing.TB) []string {
			return []string{"-scenario", simScenario(tb, "tiny.csv", "gone.csv"), "-out", tb.TempDir()}
		}, 1, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runSimulate(context.Background(), tt.args(t), &stdout, &stderr)
			if err == nil {
				t.Fatal("no error")
			}
			code := 1
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			if code != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got exit %d %q, want exit %d naming %q", code, err, tt.code, tt.msg)
			}
		})
	}
}
