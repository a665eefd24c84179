package api_test

import (
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
