package apitest_test

import (
	"net/http"
	"testing"

	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// TestHarness: the harness serves the API on its own Redis, Do sends keys,
// bodies and headers, and Decode reads the answer.
func TestHarness(t *testing.T) {
	h := apitest.New(t, apitest.Options{Keys: "ops-key-0123456789abc:ops"})
	tests := []struct {
		name, method, path, key string
		body                    any
		want                    int
	}{
		{"ready", http.MethodGet, "/readyz", "", nil, http.StatusOK},
		{"no key", http.MethodGet, "/v1/workers/w-1", "", nil, http.StatusUnauthorized},
		{"a key, no worker", http.MethodGet, "/v1/workers/w-1", "ops-key-0123456789abc", nil, http.StatusNotFound},
		{"a bad body", http.MethodPut, "/v1/workers/w-1", "ops-key-0123456789abc", "{", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.Do(t, tt.method, tt.path, tt.key, tt.body)
			if r.Status != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, r.Status, r.Body, tt.want)
			}
			if tt.want >= 400 {
				if p := apitest.Decode[map[string]any](t, r); p["code"] == nil {
					t.Errorf("problem without a code: %s", r.Body)
				}
			}
		})
	}
}
