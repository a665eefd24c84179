package api_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/redis/go-redis/v9"
)

// TestStoreReset: with an epoch guard, a flushed store fails readiness and
// every route that reads or writes the store answers a documented 503
// store_reset, while the simulator and the probes' liveness go on.
func TestStoreReset(t *testing.T) {
	t.Parallel()
	var guard *store.EpochGuard
	h := newHarness(t, allKeys, func(cfg *api.Config) {
		e, _, err := cfg.Store.EnsureEpoch(t.Context(), "")
		if err != nil {
			t.Fatalf("EnsureEpoch: %v", err)
		}
		guard = store.NewEpochGuard(cfg.Store, e.ID, nil, slog.New(slog.DiscardHandler))
		cfg.Epoch = guard
	})
	h.mustPutWorker(t, newWorker("w-epoch-1", base))
	b := h.mustBook(t, keyBooking, cleaning(base))

	rdb := redis.NewClient(&redis.Options{Addr: h.Redis.Addr})
	defer rdb.Close()
	if err := rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	// The probe checks the marker itself; the routes see its finding.
	wantProblem(t, h.do(t, http.MethodGet, "/readyz", "", nil), http.StatusServiceUnavailable, doorstep.ESTORERESET, "")
	for _, tt := range []struct {
		method, path, key string
		body              any
	}{
		{http.MethodPost, "/v1/bookings", keyBooking, cleaning(base)},
		{http.MethodGet, "/v1/bookings/" + b.ID, keyBooking, nil},
		{http.MethodPost, "/v1/bookings/" + b.ID + "/cancel", keyBooking, nil},
		{http.MethodPost, "/v1/match", keyBooking, cleaning(base)},
		{http.MethodGet, "/v1/workers/w-epoch-1", keyOps, nil},
		{http.MethodPut, "/v1/workers/w-epoch-2", keyOps, newWorker("w-epoch-2", base)},
		{http.MethodGet, "/v1/audit", keyAdmin, nil},
	} {
		r := h.do(t, tt.method, tt.path, tt.key, tt.body)
		wantProblem(t, r, http.StatusServiceUnavailable, doorstep.ESTORERESET, "")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", tt.method, tt.path)
		}
	}
	wantStatus(t, h.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)
	// Auth still comes first: no key, no word about the store.
	wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings", "", cleaning(base)), http.StatusUnauthorized)
	if n := rdb.DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("the refused requests wrote %d keys", n)
	}
}
