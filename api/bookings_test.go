package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
)

func TestBookingLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	window := doorstep.Window{Start: at(10, 0), End: at(11, 0)}
	req := with(cleaning(base), "customer_id", "cust-42", "window", window)

	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req)
	wantStatus(t, r, http.StatusCreated)
	// Exactly the documented fields: every one is set here but series_id
	// (for a recurring booking), last_change (for a booking changed since
	// its creation), rescue and moves (for one that moved others),
	// progress (for one whose worker reported progress).
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for k := range raw {
		gotKeys = append(gotKeys, k)
	}
	sort.Strings(gotKeys)
	schema := mustResolve(t, mustDoc(t), map[string]any{"$ref": "#/components/schemas/Booking"})
	documented := slices.DeleteFunc(keys(schema["properties"].(map[string]any)), func(k string) bool {
		return k == "series_id" || k == "rescue" || k == "moves" || k == "last_change" || k == "at_risk" || k == "progress"
	})
	if diff := cmp.Diff(gotKeys, documented); diff != "" {
		t.Errorf("booking fields (-got +documented):\n%s", diff)
	}
	b := decodeBody[booking](t, r)
	if got, want := r.Header.Get("Location"), "/v1/bookings/"+b.ID; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if b.Arrival.Before(now) || b.Arrival.After(b.Start) {
		t.Errorf("arrival %s outside [now, start %s]", b.Arrival, b.Start)
	}
	want := booking{
		ID: b.ID, WorkerID: "w-1", Service: "cleaning", Urgency: doorstep.Normal,
		RequestedAt: now, Deadline: window.End, Rule: doorstep.RuleAppointment,
		Start: at(10, 0), End: at(12, 0), Arrival: b.Arrival,
		Status: doorstep.StatusConfirmed, Window: &window, CustomerID: "cust-42",
		Version: 1, UpdatedAt: now, Price: nightCleaning2h,
	}
	if diff := cmp.Diff(b, want); diff != "" {
		t.Errorf("booking (-got +want):\n%s", diff)
	}

	if diff := cmp.Diff(h.mustTimeline(t, "w-1"), []booking{want}); diff != "" {
		t.Errorf("timeline (-got +want):\n%s", diff)
	}
	for _, key := range []string{keyBooking, keyAdmin} {
		r = h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, key, nil)
		wantStatus(t, r, http.StatusOK)
		if diff := cmp.Diff(decodeBody[booking](t, r), want); diff != "" {
			t.Errorf("GET (-got +want):\n%s", diff)
		}
	}
	// Another booking system can neither see nor cancel it.
	wantProblem(t, h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, keyBooking2, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", keyBooking2, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")

	r = h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	cancelled := want
	cancelled.Status, cancelled.Version, cancelled.UpdatedAt = doorstep.StatusCancelled, 2, now
	cancelled.LastChange = &doorstep.BookingChange{Reason: doorstep.ChangeCancel, At: now, PreviousWorkerID: "w-1", PreviousStart: want.Start}
	if diff := cmp.Diff(decodeBody[booking](t, r), cancelled); diff != "" {
		t.Errorf("cancel (-got +want):\n%s", diff)
	}
	first := r.Body
	r = h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	if string(r.Body) != string(first) {
		t.Errorf("second cancel answered %s, want the first answer %s", r.Body, first)
	}
	r = h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, keyBooking, nil)
	if diff := cmp.Diff(decodeBody[booking](t, r), cancelled); diff != "" {
		t.Errorf("GET after cancel (-got +want):\n%s", diff)
	}
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 0 {
		t.Errorf("timeline after cancel: %d bookings, want none", len(tl))
	}

	// The slot is free again: the same request gets the same worker and start.
	again := h.mustBook(t, keyBooking, req)
	if again.ID == b.ID || again.WorkerID != "w-1" || !again.Start.Equal(b.Start) {
		t.Errorf("rebooked %s: worker %s at %s, want a new booking of w-1 at %s", again.ID, again.WorkerID, again.Start, b.Start)
	}
}

func TestBookingNotFoundAndStarted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	unknown := "b" + geo.RegionOf(base).String() + "_" + strings.Repeat("a", 26)
	for _, id := range []string{unknown, "nonsense"} {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/bookings/"+id, keyAdmin, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
		wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+id+"/cancel", keyAdmin, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	}
	// An urgent job for a worker on the spot starts now: too late to cancel.
	b := h.mustBook(t, keyBooking, map[string]any{"service": "cleaning", "urgency": "urgent", "location": base})
	if !b.Start.Equal(now) || !b.Deadline.Equal(now.Add(time.Hour)) {
		t.Fatalf("urgent booking starts %s with deadline %s, want %s and %s", b.Start, b.Deadline, now, now.Add(time.Hour))
	}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", keyBooking, nil), http.StatusConflict, doorstep.ECONFLICT, "")
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	req := with(cleaning(base), "customer_id", "cust-1")

	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req, "Idempotency-Key", "k-1")
	wantStatus(t, r, http.StatusCreated)
	if got := r.Header.Get("Idempotent-Replayed"); got != "" {
		t.Errorf("first answer has Idempotent-Replayed %q", got)
	}
	first := decodeBody[booking](t, r)
	firstBody, firstLocation := r.Body, r.Header.Get("Location")

	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req, "Idempotency-Key", "k-1")
	wantStatus(t, r, http.StatusCreated)
	if got := r.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("replay has Idempotent-Replayed %q, want true", got)
	}
	if string(r.Body) != string(firstBody) {
		t.Errorf("replay answered %s, want %s", r.Body, firstBody)
	}
	if got := r.Header.Get("Location"); got != firstLocation {
		t.Errorf("replay Location %q, want %q", got, firstLocation)
	}
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 1 || tl[0].ID != first.ID {
		t.Errorf("timeline after a replay: %+v, want only %s", tl, first.ID)
	}

	// The same key with another body is the client's mistake.
	p := wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "customer_id", "cust-2"), "Idempotency-Key", "k-1"),
		http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
	if !strings.Contains(p.Detail, "different request body") {
		t.Errorf("detail %q", p.Detail)
	}

	// Keys are scoped to the API key: another booking system's k-1 is its own.
	other := h.mustBook(t, keyBooking2, req, "Idempotency-Key", "k-1")
	if other.ID == first.ID {
		t.Error("another API key's k-1 replayed the first key's booking")
	}

	// A bad place with a key is refused as without one.
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "location", map[string]float64{"lat": 91, "lng": 0}), "Idempotency-Key", "k-bad"),
		http.StatusBadRequest, doorstep.EINVALID, "location.lat")

	// A request that failed without effect does not use up its key.
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "service", "astrology"), "Idempotency-Key", "k-2"),
		http.StatusBadRequest, doorstep.EINVALID, "service")
	far := with(req, "location", doorstep.Location{Lat: 48.137, Lng: 11.575})
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, far, "Idempotency-Key", "k-2"),
		http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
	h.mustBook(t, keyBooking, req, "Idempotency-Key", "k-2")

	long := strings.Repeat("k", 256)
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req, "Idempotency-Key", long),
		http.StatusBadRequest, doorstep.EINVALID, "Idempotency-Key")
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 3 {
		t.Errorf("timeline: %d bookings, want 3 (k-1 of each key, k-2)", len(tl))
	}
}

// TestIdempotencyKeyConcurrent sends one key and body many times at once:
// one booking, every other answer a replay of it or 409 (still running).
func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	req := cleaning(base)
	const n = 8
	var wg sync.WaitGroup
	answers := make([]*response, n)
	for i := range n {
		wg.Go(func() {
			answers[i] = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req, "Idempotency-Key", "k-same")
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ids := map[string]bool{}
	for _, r := range answers {
		switch r.Status {
		case http.StatusCreated:
			ids[decodeBody[booking](t, r).ID] = true
		case http.StatusConflict:
			wantProblem(t, r, http.StatusConflict, doorstep.ECONFLICT, "Idempotency-Key")
		default:
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	}
	if len(ids) != 1 {
		t.Errorf("%d distinct bookings answered, want 1", len(ids))
	}
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 1 {
		t.Errorf("timeline: %d bookings, want 1", len(tl))
	}
}

// TestBookingRace races two bookings for the only worker with room for
// one job: exactly one wins, the other is told why, and the timeline
// holds one booking.
func TestBookingRace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	for round := range 5 {
		id := fmt.Sprintf("w-%d", round)
		w := newWorker(id, base)
		w.MaxJobsPerDay = 1
		h.mustPutWorker(t, w) // the workers of earlier rounds are full
		var wg sync.WaitGroup
		answers := make([]*response, 2)
		for i := range answers {
			wg.Go(func() {
				answers[i] = h.do(t, http.MethodPost, "/v1/bookings", []string{keyBooking, keyBooking2}[i], cleaning(base))
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		won := 0
		for _, r := range answers {
			switch r.Status {
			case http.StatusCreated:
				won++
				if b := decodeBody[booking](t, r); b.WorkerID != id {
					t.Errorf("round %d: booked %s, want %s", round, b.WorkerID, id)
				}
			case http.StatusUnprocessableEntity:
				// Every worker is rejected: busy or at its cap.
				p := wantProblem(t, r, http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
				n := 0
				for _, c := range p.Rejected {
					n += c
				}
				if n != round+1 {
					t.Errorf("round %d: rejected %v, want %d workers", round, p.Rejected, round+1)
				}
			case http.StatusConflict:
				wantProblem(t, r, http.StatusConflict, doorstep.ECONFLICT, "")
			default:
				t.Errorf("round %d: status %d: %s", round, r.Status, r.Body)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d bookings won, want 1", round, won)
		}
		if tl := h.mustTimeline(t, id); len(tl) != 1 {
			t.Errorf("round %d: %s has %d bookings, want 1", round, id, len(tl))
		}
	}
}
