package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	for _, tt := range []struct{ path, body string }{
		{"/healthz", `{"status":"ok"}` + "\n"},
		{"/readyz", `{"status":"ready"}` + "\n"},
	} {
		r := h.do(t, http.MethodGet, tt.path, "", nil)
		wantStatus(t, r, http.StatusOK)
		if string(r.Body) != tt.body {
			t.Errorf("%s: %q, want %q", tt.path, r.Body, tt.body)
		}
	}

	// Redis stops: readiness fails at once and so does the API, promptly
	// (the client gives up after 5 s), while liveness holds.
	h.Redis.Stop()
	for _, tt := range []struct {
		method, path, key string
		body              any
	}{
		{http.MethodGet, "/readyz", "", nil},
		{http.MethodPost, "/v1/match", keyBooking, cleaning(base)},
		{http.MethodPost, "/v1/bookings", keyBooking, cleaning(base)},
		{http.MethodPost, "/v1/bookings", keyBooking, cleaning(base)},
		{http.MethodGet, "/v1/workers/w-1", keyOps, nil},
		{http.MethodGet, "/v1/standby?lat=52.52&lng=13.405", keyOps, nil},
		{http.MethodPost, "/v1/assign", keyOps, map[string]any{"commit": true, "requests": []any{
			with(cleaning(base), "id", "r-1"), with(with(cleaning(base), "urgency", "urgent"), "id", "r-2")}}},
	} {
		t0 := time.Now()
		r := h.do(t, tt.method, tt.path, tt.key, tt.body)
		wantProblem(t, r, http.StatusServiceUnavailable, doorstep.EUNAVAILABLE, "")
		if got := r.Header.Get("Retry-After"); got == "" {
			t.Errorf("%s %s: 503 without Retry-After", tt.method, tt.path)
		}
		// A generous bound: it catches a request that hangs on the dead
		// Redis; the one-second promise itself is measured, alone on the
		// machine, by store's TestAPIRedisFaults.
		if d := time.Since(t0); d > 10*time.Second {
			t.Errorf("%s %s: answered after %v", tt.method, tt.path, d)
		}
	}
	// With an Idempotency-Key the first step (claiming the key) fails alike.
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, cleaning(base), "Idempotency-Key", "k-down"),
		http.StatusServiceUnavailable, doorstep.EUNAVAILABLE, "")
	wantStatus(t, h.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)

	// Redis is back (empty: persistence is off): so is readiness.
	h.Redis.Restart()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := h.do(t, http.MethodGet, "/readyz", "", nil)
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after Redis restarted", r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDrain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.Server.Drain()
	r := h.do(t, http.MethodGet, "/readyz", "", nil)
	wantProblem(t, r, http.StatusServiceUnavailable, doorstep.EUNAVAILABLE, "")
	if r.Header.Get("Retry-After") == "" {
		t.Error("draining /readyz has no Retry-After")
	}
	wantStatus(t, h.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)
}

// While warming up, /readyz fails (the load balancer waits) but the API
// serves whoever calls it; after, it is ready.
func TestWarming(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.Server.Warming(true)
	r := h.do(t, http.MethodGet, "/readyz", "", nil)
	wantProblem(t, r, http.StatusServiceUnavailable, doorstep.EUNAVAILABLE, "")
	if r.Header.Get("Retry-After") == "" {
		t.Error("warming /readyz has no Retry-After")
	}
	wantStatus(t, h.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)
	h.mustPutWorker(t, newWorker("w-warming-1", base))
	h.Server.Warming(false)
	wantStatus(t, h.do(t, http.MethodGet, "/readyz", "", nil), http.StatusOK)
}

// A server configured warming (Config.Warming) is not ready from its
// first request, before any call to Warming: one already waiting on the
// listener when serving starts must not be told it is ready.
func TestWarmingFromTheStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys, func(cfg *api.Config) { cfg.Warming = true })
	wantProblem(t, h.do(t, http.MethodGet, "/readyz", "", nil), http.StatusServiceUnavailable, doorstep.EUNAVAILABLE, "")
	h.Server.Warming(false)
	wantStatus(t, h.do(t, http.MethodGet, "/readyz", "", nil), http.StatusOK)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-metrics-1", base))
	b := h.mustBook(t, keyBooking, with(cleaning(base), "customer_id", "cust-metrics-1", "window", doorstep.Window{Start: at(12, 0), End: at(13, 0)}))
	wantStatus(t, h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, keyBooking, nil), http.StatusOK)
	wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", keyBooking, nil), http.StatusOK)
	wantStatus(t, h.do(t, http.MethodGet, "/v1/workers/w-metrics-1/bookings", keyOps, nil), http.StatusOK)
	wantStatus(t, h.do(t, http.MethodGet, "/v1/workers/nobody-metrics", keyOps, nil), http.StatusNotFound)
	far := map[string]any{"service": "cleaning", "urgency": "urgent", "location": doorstep.Location{Lat: 48.1, Lng: 11.5}}
	wantStatus(t, h.do(t, http.MethodPost, "/v1/match", keyBooking, far), http.StatusUnprocessableEntity)

	r := h.do(t, http.MethodGet, "/metrics", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	text := string(r.Body)
	for _, want := range []string{
		`doorstep_bookings_total{class="normal",rule="appointment_window"} 1`,
		`doorstep_service_level_misses_total{class="urgent",rule="urgent_1h"} 1`,
		`doorstep_http_request_duration_seconds_count{code="201",method="POST",route="/v1/bookings"} 1`,
		`route="/v1/bookings/{id}"`,
		`route="/v1/workers/{id}/bookings"`,
		`doorstep_match_duration_seconds_count{class="normal"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// No label carries an id: neither the ones used here nor anything
	// shaped like a booking id.
	for _, id := range []string{"w-metrics-1", "nobody-metrics", "cust-metrics-1", b.ID} {
		if strings.Contains(text, id) {
			t.Errorf("/metrics contains the id %q", id)
		}
	}
	if m := regexp.MustCompile(`b[0-9a-f]{15}_[a-z2-7]{26}`).FindString(text); m != "" {
		t.Errorf("/metrics contains a booking id %q", m)
	}
}

// TestRateLimit checks that each API key has its own rate and that the
// excess is a 429 problem with Retry-After, while the probes stay outside.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys, func(c *api.Config) { c.Limits.RatePerKey = 3 })
	var limited *response
	for range 10 {
		r := h.do(t, http.MethodGet, "/v1/workers/nobody", keyOps, nil)
		if r.Status == http.StatusTooManyRequests {
			limited = r
			break
		}
		wantProblem(t, r, http.StatusNotFound, doorstep.ENOTFOUND, "")
	}
	if limited == nil {
		t.Fatal("10 requests in a row were not limited at 3 a second")
	}
	wantProblem(t, limited, http.StatusTooManyRequests, doorstep.ERATELIMITED, "")
	if limited.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Another key has its own allowance; the probes have none.
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/nobody", keyAdmin, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	for range 5 {
		wantStatus(t, h.do(t, http.MethodGet, "/healthz", "", nil), http.StatusOK)
	}
}
