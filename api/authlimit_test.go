package api_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/doorstep-dev/doorstep"
)

// TestFailedAuthRateLimit: a burst of 400 requests with a wrong key from
// one address is answered 429 (problem+json, Retry-After) once the
// address has used its budget (Limits.FailedAuthPerMinute, 60 by
// default), while valid keys, from that address or another, pass, and
// another address keeps a budget of its own.
func TestFailedAuthRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	const burst, budget = 400, 60
	status := make([]int, burst)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < burst; i += 8 {
				r := h.do(t, http.MethodGet, "/v1/workers/w-1", "wrong-key-0123456789", nil)
				status[i] = r.Status
				if r.Status == http.StatusTooManyRequests {
					p := checkProblem(t, r)
					if p.Code != doorstep.ERATELIMITED {
						t.Errorf("429 with code %q", p.Code)
					}
					if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
						t.Errorf("429 with Retry-After %q, want 1-60 seconds", r.Header.Get("Retry-After"))
					}
				}
			}
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range status {
		count[s]++
	}
	t.Logf("%d wrong keys: %v", burst, count)
	// A burst that straddles the turn of a minute gets up to twice the
	// budget through (httprate's sliding window weighs the last minute).
	if count[http.StatusUnauthorized] < budget || count[http.StatusUnauthorized] > 2*budget ||
		count[http.StatusUnauthorized]+count[http.StatusTooManyRequests] != burst {
		t.Errorf("answers %v: want %d to %d 401s and the rest 429", count, budget, 2*budget)
	}

	// Valid keys are not slowed: from the same address, and from another.
	wantStatus(t, h.do(t, http.MethodGet, "/openapi.json", keyBooking, nil), http.StatusOK)
	other := func(key string) int {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/openapi.json", nil)
		req.RemoteAddr = "192.0.2.7:40000"
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.Server.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := other(keyOps); got != http.StatusOK {
		t.Errorf("valid key from another address: %d, want 200", got)
	}
	// Another address has a budget of its own.
	if got := other("wrong-key-0123456789"); got != http.StatusUnauthorized {
		t.Errorf("wrong key from another address: %d, want 401", got)
	}
	// And the one that failed is still refused.
	wantStatus(t, h.do(t, http.MethodGet, "/openapi.json", "", nil), http.StatusTooManyRequests)
}
