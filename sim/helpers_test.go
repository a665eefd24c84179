package sim

import (
	"context"
	"io"
	"strings"
	"testing"
)

// memTrace returns an opener that serves csv for any name.
func memTrace(csv string) func(string) (io.ReadCloser, error) {
	return func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csv)), nil }
}

// MustParse parses a scenario or fails the test.
func MustParse(tb testing.TB, data string) *Scenario {
	tb.Helper()
	s, err := ParseScenario([]byte(data))
	if err != nil {
		tb.Fatalf("ParseScenario: %v", err)
	}
	return s
}

// MustRun runs a scenario or fails the test.
func MustRun(tb testing.TB, s *Scenario, opts Options) *Report {
	tb.Helper()
	r, err := Run(context.Background(), s, opts)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return r
}

// runEngine simulates variant vi of s and returns the engine, so that a
// test can read each request's outcome.
func runEngine(tb testing.TB, s *Scenario, opts Options, vi int) *engine {
	tb.Helper()
	e := buildEngine(tb, s, opts, vi)
	if err := e.run(context.Background()); err != nil {
		tb.Fatalf("run: %v", err)
	}
	if err := e.verify(); err != nil {
		tb.Fatal(err)
	}
	return e
}

// buildEngine returns the engine of variant vi of s, before its run.
func buildEngine(tb testing.TB, s *Scenario, opts Options, vi int) *engine {
	tb.Helper()
	d, err := s.drawDemand(&opts)
	if err != nil {
		tb.Fatalf("drawDemand: %v", err)
	}
	v := &s.variants()[vi]
	ws, rs, err := s.buildRoster(vi, v)
	if err != nil {
		tb.Fatalf("buildRoster: %v", err)
	}
	arr := s.variantDemand(vi, v, d.arrivals)
	policy := s.Policy
	if v.Policy != nil {
		policy = *v.Policy
	}
	m, err := s.matcherFor(policy, ws, arr)
	if err != nil {
		tb.Fatal(err)
	}
	e := newEngine(s, policy, m, ws, arr, newProgress(nil, 0))
	e.regions = rs
	return e
}
