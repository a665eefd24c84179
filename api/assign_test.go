package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
)

// TestAssignIdempotencyKey: a committed batch with an Idempotency-Key
// books each request once. A retry answers what the first call placed
// again (replayed) and tries only what it left; once every request is
// placed, a retry runs nothing and says so (Idempotent-Replayed); another
// batch under the key is refused; a plan does not use the key.
func TestAssignIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	north := offset(base, 2, 0)
	batch := map[string]any{"commit": true, "requests": []any{
		with(cleaning(base), "id", "r-1"),
		with(cleaning(north), "id", "r-2", "service", "plumbing"), // nobody yet
	}}

	r := h.do(t, http.MethodPost, "/v1/assign", keyOps, batch, "Idempotency-Key", "b-1")
	wantStatus(t, r, http.StatusOK)
	first := decodeBody[assignAnswer](t, r)
	if len(first.Assignments) != 1 || first.Assignments[0].RequestID != "r-1" || first.Assignments[0].Replayed ||
		len(first.Unassigned) != 1 || first.Unassigned[0].RequestID != "r-2" {
		t.Fatalf("first call: %s; want r-1 booked, r-2 left", r.Body)
	}
	b1 := first.Assignments[0]

	h.mustPutWorker(t, newWorker("w-2", north, "plumbing"))
	r = h.do(t, http.MethodPost, "/v1/assign", keyOps, batch, "Idempotency-Key", "b-1")
	wantStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("a retry that booked r-2 has Idempotent-Replayed %q", got)
	}
	second := decodeBody[assignAnswer](t, r)
	if len(second.Assignments) != 2 || len(second.Unassigned) != 0 {
		t.Fatalf("retry: %s; want r-1 replayed and r-2 booked", r.Body)
	}
	r1, r2 := second.Assignments[0], second.Assignments[1]
	if r1.RequestID != "r-1" || !r1.Replayed || r1.BookingID != b1.BookingID || r1.Cost != b1.Cost || !r1.Start.Equal(b1.Start) {
		t.Errorf("retry answered r-1 as %+v, want the first placement %+v, replayed", r1, b1)
	}
	if r2.RequestID != "r-2" || r2.Replayed || r2.WorkerID != "w-2" || r2.BookingID == "" {
		t.Errorf("retry answered r-2 as %+v, want it booked on w-2 now", r2)
	}
	if second.Objective != r1.Cost+r2.Cost || second.ServedBound < 2 {
		t.Errorf("retry: objective %v, served bound %d; want both placements counted", second.Objective, second.ServedBound)
	}

	r = h.do(t, http.MethodPost, "/v1/assign", keyOps, batch, "Idempotency-Key", "b-1")
	wantStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("a retry that ran nothing has Idempotent-Replayed %q, want true", got)
	}
	last := decodeBody[assignAnswer](t, r)
	if len(last.Assignments) != 2 || !last.Assignments[0].Replayed || !last.Assignments[1].Replayed ||
		last.Assignments[0].BookingID != r1.BookingID || last.Assignments[1].BookingID != r2.BookingID {
		t.Errorf("last retry: %s; want both placements replayed", r.Body)
	}

	other := with(batch, "requests", []any{with(cleaning(base), "id", "r-9")})
	wantProblem(t, h.do(t, http.MethodPost, "/v1/assign", keyOps, other, "Idempotency-Key", "b-1"),
		http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/assign", keyOps, batch, "Idempotency-Key", strings.Repeat("k", 256)),
		http.StatusBadRequest, doorstep.EINVALID, "Idempotency-Key")

	// A plan writes nothing: its key is not used, and another batch under
	// it is a plan like any other.
	r = h.do(t, http.MethodPost, "/v1/assign", keyOps, with(other, "commit", false), "Idempotency-Key", "b-1")
	wantStatus(t, r, http.StatusOK)
	if plan := decodeBody[assignAnswer](t, r); len(plan.Assignments) != 1 || plan.Assignments[0].BookingID != "" {
		t.Errorf("plan under a used key: %s", r.Body)
	}

	for id, want := range map[string]int{"w-1": 1, "w-2": 1} {
		if tl := h.mustTimeline(t, id); len(tl) != want {
			t.Errorf("%s has %d bookings, want %d", id, len(tl), want)
		}
	}
}
