package api_test

import (
	"testing"
	"time"
)

// TestBehindMetrics: a booking's customer history is written behind the
// request and counted on /metrics, none of it lost.
func TestBehindMetrics(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	h.mustPutWorker(t, newWorker("w-1", base, "cleaning"))
	h.mustBook(t, keyBooking, map[string]any{"service": "cleaning", "urgency": "normal", "location": base,
		"window": map[string]string{"start": at(10, 0).Format(time.RFC3339), "end": at(11, 0).Format(time.RFC3339)}, "customer_id": "cust-1"})
	if err := h.Store.Flush(); err != nil {
		t.Fatal(err)
	}
	wantGauge(t, h.harness, "doorstep_store_behind_writes_total", "1")
	wantGauge(t, h.harness, "doorstep_store_behind_lost_writes_total", "0")
}
