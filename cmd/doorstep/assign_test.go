package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// writeFile writes content to a file in a test's temporary directory and
// returns its path.
func writeFile(tb testing.TB, name, content string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestRunAssign(t *testing.T) {
	tests := []struct {
		name  string
		args  func(tb testing.TB) []string
		stdin string
		want  assignOutput
	}{
		{
			name: "csv file",
			args: func(tb testing.TB) []string {
				return []string{writeFile(tb, "m.csv", "4,1,3\n2,0,5\n3,2,2\n")}
			},
			want: assignOutput{Rows: 3, Cols: 3, Assigned: 3, Cost: 5, Assignment: []int{1, 0, 2}},
		},
		{
			name:  "csv stdin with forbidden pairs",
			args:  func(testing.TB) []string { return []string{"-format", "csv", "-"} },
			stdin: "10,inf\n4,7\n,inf\n",
			want:  assignOutput{Rows: 3, Cols: 2, Assigned: 2, Cost: 17, Assignment: []int{0, 1, -1}},
		},
		{
			name: "orlib file",
			args: func(tb testing.TB) []string {
				return []string{"-format", "orlib", writeFile(tb, "m.txt", " 3\n 4 1 3 2\n 0 5 3 2 2\n")}
			},
			want: assignOutput{Rows: 3, Cols: 3, Assigned: 3, Cost: 5, Assignment: []int{1, 0, 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runAssign(tt.args(t), strings.NewReader(tt.stdin), &stdout, &stderr)
			if err != nil {
				t.Fatalf("runAssign: %v (stderr %q)", err, stderr.String())
			}
			var got assignOutput
			dec := json.NewDecoder(&stdout)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("output is not one JSON object: %v", err)
			}
			if got.SolveMS < 0 {
				t.Errorf("solve_ms = %g", got.SolveMS)
			}
			if diff := cmp.Diff(got, tt.want, cmpopts.IgnoreFields(assignOutput{}, "SolveMS")); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}

func TestRunAssignJSONKeys(t *testing.T) {
	var stdout bytes.Buffer
	if err := runAssign([]string{"-"}, strings.NewReader("1\n"), &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rows", "cols", "assigned", "cost", "assignment", "solve_ms"} {
		if _, ok := got[k]; !ok {
			t.Errorf("output %s lacks %q", stdout.String(), k)
		}
	}
}

// TestRunAssignORLibInstance solves the OR-Library instance assign100
// that ships with the repository (the README's example) through the command.
func TestRunAssignORLibInstance(t *testing.T) {
	path := "../../examples/data/orlib/assign100.txt"
	var stdout bytes.Buffer
	if err := runAssign([]string{"-format", "orlib", path}, nil, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var got assignOutput
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Cost != 305 || got.Assigned != 100 {
		t.Errorf("cost %g with %d assigned, want 305 with 100", got.Cost, got.Assigned)
	}
}

func TestRunAssignErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		contains string
	}{
		{"ragged rows", []string{"-"}, "1,2\n3,4\n5\n", 2, "line 3"},
		{"nan", []string{"-"}, "1,2\nnan,4\n", 2, "line 2"},
		{"not a number", []string{"-"}, "1,2\n3,four\n", 2, "line 2, column 2"},
		{"orlib short", []string{"-format", "orlib", "-"}, "2\n1 2\n3\n", 2, "line 3"},
		{"empty", []string{"-"}, "", 2, "no costs"},
		{"unknown format", []string{"-format", "xlsx", "-"}, "", 2, "xlsx"},
		{"no file", nil, "", 2, "FILE"},
		{"two files", []string{"a", "b"}, "", 2, "FILE"},
		{"bad flag", []string{"-nope", "-"}, "", 2, "nope"},
		{"missing file", []string{filepath.Join(os.TempDir(), "doorstep-no-such-file.csv")}, "", 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runAssign(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if err == nil {
				t.Fatalf("runAssign succeeded: %s", stdout.String())
			}
			code := 1
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d (error %v)", code, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
			if stdout.Len() != 0 {
				t.Errorf("wrote %q to stdout on error", stdout.String())
			}
		})
	}
}

func TestRunAssignHelp(t *testing.T) {
	var stderr bytes.Buffer
	err := runAssign([]string{"-h"}, nil, &bytes.Buffer{}, &stderr)
	if !errors.Is(err, errHelp) {
		t.Errorf("error = %v, want errHelp", err)
	}
	if !strings.Contains(stderr.String(), "usage: doorstep assign") {
		t.Errorf("help text missing: %q", stderr.String())
	}
}
