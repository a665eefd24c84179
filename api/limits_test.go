package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
)

// A batch beyond dispatch.MaxBatch is refused with 413 naming "requests",
// before any work is done.
func TestAssignBatchTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	reqs := make([]any, dispatch.MaxBatch+1)
	for i := range reqs {
		reqs[i] = with(cleaning(base), "id", fmt.Sprintf("r%d", i))
	}
	r := h.do(t, http.MethodPost, "/v1/assign", keyOps, map[string]any{"requests": reqs})
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "too_large", "requests")
}

// Simulations beyond the size limits answer 413 naming the part that is too
// large; one that outlasts the time limit answers 422.
func TestSimulationLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		limits api.SimulationLimits
		body   string
		status int
		code   string
		field  string
	}{
		{"too many workers", api.SimulationLimits{MaxWorkers: 2}, tinyScenario, http.StatusRequestEntityTooLarge, "too_large", "roster"},
		{"too many requests", api.SimulationLimits{MaxRequests: 1}, tinyScenario, http.StatusRequestEntityTooLarge, "too_large", "demand"},
		{"out of time", api.SimulationLimits{Timeout: time.Nanosecond}, strings.Replace(tinyScenario, `"requests_per_hour": 4`, `"requests_per_hour": 400`, 1),
			http.StatusUnprocessableEntity, "unservable", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, allKeys, func(c *api.Config) { c.Simulations = tt.limits })
			r := h.do(t, http.MethodPost, "/v1/simulations", keyOps, tt.body)
			wantProblem(t, r, tt.status, tt.code, tt.field)
		})
	}
}

// A replicated simulation answers each variant's means with intervals and
// the paired differences; more replications than the limit are refused
// with 413 naming "replications".
func TestSimulationReplications(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys, func(c *api.Config) { c.Simulations = api.SimulationLimits{MaxReplications: 3} })
	body := strings.Replace(tinyScenario, `"seed": 1,`, `"seed": 1, "replications": 3, "variants": [{"name": "base"}, {"name": "greedy", "policy": {"name": "greedy"}}],`, 1)
	r := h.do(t, http.MethodPost, "/v1/simulations", keyOps, body)
	wantStatus(t, r, http.StatusOK)
	var rep struct {
		Replications struct {
			Count int      `json:"count"`
			Seeds []uint64 `json:"seeds"`
		} `json:"replications"`
		Variants []struct {
			Replications map[string]struct {
				N        int      `json:"n"`
				Mean     float64  `json:"mean"`
				CI95Low  *float64 `json:"ci95_low"`
				CI95High *float64 `json:"ci95_high"`
			} `json:"replications"`
			Differences map[string]struct {
				Significant bool `json:"significant"`
			} `json:"differences"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Replications.Count != 3 || len(rep.Variants) != 2 {
		t.Fatalf("report: %s", r.Body)
	}
	if iv := rep.Variants[0].Replications["requests"]; iv.N != 3 || iv.CI95Low == nil {
		t.Errorf("requests over replications: %+v", iv)
	}
	if _, ok := rep.Variants[1].Differences["unserved"]; !ok {
		t.Errorf("greedy has no paired difference of unserved: %s", r.Body)
	}
	r = h.do(t, http.MethodPost, "/v1/simulations", keyOps, strings.Replace(body, `"replications": 3`, `"replications": 4`, 1))
	wantProblem(t, r, http.StatusRequestEntityTooLarge, "too_large", "replications")
}
