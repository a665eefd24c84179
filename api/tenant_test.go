package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// continuityOf returns each option's continuity term in a match answer.
func continuityOf(tb testing.TB, r *response) map[string]float64 {
	tb.Helper()
	wantStatus(tb, r, http.StatusOK)
	out := map[string]float64{}
	for _, o := range decodeBody[match](tb, r).Options {
		out[o.WorkerID] = o.Breakdown[matcher.TermContinuity]
	}
	return out
}

// TestCrossTenantCustomer: customer ids are each booking system's own, so
// two systems' customers of one id are two households. Key B's match with
// key A's customer id shows no continuity from A's booking; B's booking
// does not change A's history; an erasure by A erases A's customer only,
// and an admin's erasure erases the id everywhere.
func TestCrossTenantCustomer(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	ids := keyIDs(t)
	h.mustPutWorker(t, newWorker("w-a", base))
	h.mustPutWorker(t, newWorker("w-b", offset(base, 1, 0)))
	const cust = "cust-shared-1"
	req := func(i int, from, to int, preferred string) map[string]any {
		return with(cleaning(place(i)), "customer_id", cust, "duration_minutes", 60, "preferred_workers", []string{preferred},
			"window", doorstep.Window{Start: at(from, 0), End: at(to, 0)})
	}
	quote := with(cleaning(base), "customer_id", cust, "duration_minutes", 60)

	// A's customer is served by w-b (A's customer asked for w-b).
	a := h.mustBook(t, keyBooking, req(1, 9, 10, "w-b"), "Idempotency-Key", "a-1")
	if a.WorkerID != "w-b" {
		t.Fatalf("fixture: A's booking went to %s, want w-b", a.WorkerID)
	}
	if c := continuityOf(t, h.do(t, http.MethodPost, "/v1/match", keyBooking, quote)); c["w-b"] == 0 {
		t.Fatalf("A's own match shows no continuity on w-b: %v", c)
	}
	// B's match for its own customer of that id knows nothing of A's.
	if c := continuityOf(t, h.do(t, http.MethodPost, "/v1/match", keyBooking2, quote)); c["w-a"] != 0 || c["w-b"] != 0 {
		t.Errorf("B's match shows continuity from A's booking: %v", c)
	}
	// B books its customer with w-a: A's history still says w-b.
	b := h.mustBook(t, keyBooking2, req(2, 11, 12, "w-a"), "Idempotency-Key", "b-1")
	if b.WorkerID != "w-a" {
		t.Fatalf("fixture: B's booking went to %s, want w-a", b.WorkerID)
	}
	if c := continuityOf(t, h.do(t, http.MethodPost, "/v1/match", keyBooking, quote)); c["w-b"] == 0 || c["w-a"] != 0 {
		t.Errorf("after B's booking, A's match shows continuity %v; want on w-b only", c)
	}
	if c := continuityOf(t, h.do(t, http.MethodPost, "/v1/match", keyBooking2, quote)); c["w-a"] == 0 || c["w-b"] != 0 {
		t.Errorf("B's match shows continuity %v; want on w-a only", c)
	}

	// A erases its customer: A's booking loses the id, B's keeps it, B's
	// history and idempotent answer stay.
	r := h.do(t, http.MethodDelete, "/v1/customers/"+cust, keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	if string(r.Body) != `{"bookings_erased":1}`+"\n" {
		t.Errorf("A's erasure: %s; want 1 booking", r.Body)
	}
	if got := h.mustStored(t, a.ID); got.CustomerID != "" {
		t.Errorf("A's booking still names the customer: %q", got.CustomerID)
	}
	if got := h.mustStored(t, b.ID); got.CustomerID != cust || got.Status != doorstep.StatusConfirmed || got.Cell != "" {
		t.Errorf("B's booking after A's erasure: customer %q, status %s, cell %q; want untouched", got.CustomerID, got.Status, got.Cell)
	}
	if last, err := h.Store.LastWorker(t.Context(), ids[keyBooking], cust); err != nil || last != "" {
		t.Errorf("A's history after A's erasure: %q, %v; want none", last, err)
	}
	if last, err := h.Store.LastWorker(t.Context(), ids[keyBooking2], cust); err != nil || last != "w-a" {
		t.Errorf("B's history after A's erasure: %q, %v; want w-a", last, err)
	}
	replay := h.do(t, http.MethodPost, "/v1/bookings", keyBooking2, req(2, 11, 12, "w-a"), "Idempotency-Key", "b-1")
	if replay.Header.Get("Idempotent-Replayed") != "true" || decodeBody[booking](t, replay).ID != b.ID {
		t.Errorf("B's retry after A's erasure was not replayed: %d %s", replay.Status, replay.Body)
	}

	// The audit log stays the operator's: booking systems cannot read it.
	for _, key := range []string{keyBooking, keyBooking2, keyOps} {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/audit", key, nil), http.StatusForbidden, doorstep.EFORBIDDEN, "")
	}
	// A's erasure is the last step: its event is among the last ones, the
	// events of the same millisecond (the cancellation it makes is written
	// to its region's stream in that millisecond, and events of one
	// millisecond in two streams have no order between them).
	events := h.mustAudit(t)
	lastMs := strings.SplitN(events[len(events)-1].ID, "-", 2)[0]
	erased := false
	for i := len(events) - 1; i >= 0 && strings.SplitN(events[i].ID, "-", 2)[0] == lastMs; i-- {
		if e := events[i]; e.Action == "erase_customer" && e.KeyID == ids[keyBooking] && e.Role == "booking" {
			erased = true
		}
	}
	if !erased {
		t.Errorf("last audit events end with %+v; want A's erasure among the last millisecond's", events[len(events)-1])
	}

	// The admin (the operator) erases the id in every tenant's records.
	r = h.do(t, http.MethodDelete, "/v1/customers/"+cust, keyAdmin, nil)
	wantStatus(t, r, http.StatusOK)
	if string(r.Body) != `{"bookings_erased":1}`+"\n" {
		t.Errorf("admin's erasure: %s; want B's booking", r.Body)
	}
	if last, err := h.Store.LastWorker(t.Context(), ids[keyBooking2], cust); err != nil || last != "" {
		t.Errorf("B's history after the admin's erasure: %q, %v; want none", last, err)
	}
	if keys := storetest.FindIn(h.dump(t), cust); len(keys) > 0 {
		t.Errorf("customer id still stored after the admin's erasure, in %v", keys)
	}
}

// assignAnswer is the answer to POST /v1/assign.
type assignAnswer struct {
	Assignments []struct {
		RequestID string    `json:"request_id"`
		WorkerID  string    `json:"worker_id"`
		Start     time.Time `json:"start"`
		End       time.Time `json:"end"`
		Arrival   time.Time `json:"arrival"`
		Cost      float64   `json:"cost"`
		BookingID string    `json:"booking_id"`
		Moves     []rescue  `json:"moves"`
		Replayed  bool      `json:"replayed"`
	} `json:"assignments"`
	Unassigned []struct {
		RequestID string `json:"request_id"`
		Reason    string `json:"reason"`
	} `json:"unassigned"`
	Objective   float64 `json:"objective"`
	SolveMs     float64 `json:"solve_ms"`
	Rounds      int     `json:"rounds"`
	Optimal     bool    `json:"optimal"`
	ServedBound int     `json:"served_bound"`
	UrgentBound int     `json:"urgent_bound"`
	Committed   bool    `json:"committed"`
}

// rescueMatch is a match answer with the rescue it would make.
type rescueMatch struct {
	match
	Rescue *rescue  `json:"rescue,omitempty"`
	Moves  []rescue `json:"moves,omitempty"`
}

// movedRef is the reference the API gives key id for moved booking id.
func movedRef(keyID, id string) string {
	sum := sha256.Sum256([]byte(keyID + "\x00" + id))
	return "mv_" + hex.EncodeToString(sum[:16])
}

// gardenInTheWay is a gardener 2 km from base and key A's normal 2-hour
// job at base, to start in 08:30-13:00, booked at once: an urgent
// gardening request at base (the request garden, made urgent) is served
// only by moving that job later.
func gardenInTheWay(t *testing.T) (*storeHarness, map[string]any, booking) {
	h := newStoreHarness(t, allKeys, options{})
	h.mustPutWorker(t, newWorker("w-g", offset(base, 2, 0), "gardening"))
	garden := map[string]any{"service": "gardening", "location": base, "duration_minutes": 120}
	normal := h.mustBook(t, keyBooking, with(garden, "urgency", "normal", "window", doorstep.Window{Start: at(8, 30), End: at(13, 0)}))
	return h, garden, normal
}

// TestRescueAcrossTenants: an urgent booking of key B moves a normal
// booking of key A. B's match and booking answers say that a booking moved
// and when to, under an opaque reference, never A's booking id; A (and an
// admin) see the id. The moved booking is at version 2, with updated_at and
// a last change that says it was a rescue, from where.
func TestRescueAcrossTenants(t *testing.T) {
	t.Parallel()
	h, garden, normal := gardenInTheWay(t)
	ids := keyIDs(t)
	if normal.Version != 1 || !normal.UpdatedAt.Equal(now) || normal.LastChange != nil {
		t.Errorf("new booking: version %d, updated_at %v, last change %+v; want 1, %v, none", normal.Version, normal.UpdatedAt, normal.LastChange, now)
	}
	urgent := with(garden, "urgency", "urgent")

	tests := []struct {
		key    string
		wantID string
	}{
		{keyBooking2, ""},       // another booking system: a reference only
		{keyBooking, normal.ID}, // the owner
		{keyAdmin, normal.ID},   // the operator
	}
	for _, tt := range tests {
		r := h.do(t, http.MethodPost, "/v1/match", tt.key, urgent)
		wantStatus(t, r, http.StatusOK)
		q := decodeBody[rescueMatch](t, r)
		if q.Rescue == nil {
			t.Fatalf("%s's match: no rescue: %s", roles[tt.key], r.Body)
		}
		if q.Rescue.MovedBookingID != tt.wantID || q.Rescue.MovedBookingRef != movedRef(ids[tt.key], normal.ID) {
			t.Errorf("%s's match: rescue %+v; want id %q and ref %s", roles[tt.key], q.Rescue, tt.wantID, movedRef(ids[tt.key], normal.ID))
		}
		if len(q.Moves) != 1 || q.Moves[0] != *q.Rescue {
			t.Errorf("%s's match: moves %+v; want the one rescue %+v", roles[tt.key], q.Moves, *q.Rescue)
		}
		if tt.wantID == "" && strings.Contains(string(r.Body), normal.ID) {
			t.Errorf("%s's match names the moved booking: %s", roles[tt.key], r.Body)
		}
	}

	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking2, urgent)
	wantStatus(t, r, http.StatusCreated)
	got := decodeBody[booking](t, r)
	if strings.Contains(string(r.Body), normal.ID) {
		t.Errorf("B's booking answer names A's moved booking: %s", r.Body)
	}
	if got.Rescue == nil || got.Rescue.MovedBookingRef != movedRef(ids[keyBooking2], normal.ID) || got.Rescue.OldStart != normal.Start {
		t.Fatalf("B's booking: rescue %+v; want the reference of A's booking, moved from %v", got.Rescue, normal.Start)
	}
	if len(got.Moves) != 1 || got.Moves[0] != *got.Rescue {
		t.Errorf("B's booking: moves %+v; want the one rescue %+v", got.Moves, *got.Rescue)
	}

	// A sees its booking moved: version 2, when, why and from where.
	r = h.do(t, http.MethodGet, "/v1/bookings/"+normal.ID, keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	moved := decodeBody[booking](t, r)
	want := &doorstep.BookingChange{Reason: doorstep.ChangeRescue, At: now, PreviousWorkerID: normal.WorkerID, PreviousStart: normal.Start}
	if moved.Version != 2 || !moved.UpdatedAt.Equal(now) || moved.LastChange == nil || *moved.LastChange != *want {
		t.Errorf("moved booking: version %d, updated_at %v, last change %+v; want 2, %v, %+v", moved.Version, moved.UpdatedAt, moved.LastChange, now, want)
	}
	if !moved.Start.Equal(got.Rescue.NewStart) || moved.WorkerID != got.Rescue.ToWorker {
		t.Errorf("moved booking at %s on %s; the rescue said %s on %s", moved.Start, moved.WorkerID, got.Rescue.NewStart, got.Rescue.ToWorker)
	}

	// Operations see each plan searched for (three quotes, one booking)
	// and the one made.
	r = h.do(t, http.MethodGet, "/metrics", keyOps, nil)
	for _, line := range []string{
		`doorstep_rescue_plan_seconds_count{class="urgent",outcome="found"} 4`,
		`doorstep_rescues_total{class="urgent",moves="1"} 1`,
	} {
		if !strings.Contains(string(r.Body), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// TestAssignCommitMakesRoomAcrossTenants: a committed batch books an urgent
// request its assignment could not place by moving another tenant's normal
// booking, as POST /v1/bookings would, and says so in the placement's
// moves under the same rules (the operations key, not the moved booking's
// owner, sees its reference, not its id); a plan of the same batch moves
// nothing and leaves it unplaced.
func TestAssignCommitMakesRoomAcrossTenants(t *testing.T) {
	t.Parallel()
	h, garden, normal := gardenInTheWay(t)
	ids := keyIDs(t)
	batch := []any{with(garden, "urgency", "urgent", "id", "u-1")}

	r := h.do(t, http.MethodPost, "/v1/assign", keyOps, map[string]any{"requests": batch, "commit": false})
	wantStatus(t, r, http.StatusOK)
	plan := decodeBody[assignAnswer](t, r)
	if len(plan.Assignments) != 0 || len(plan.Unassigned) != 1 || plan.Unassigned[0].RequestID != "u-1" {
		t.Fatalf("plan: %s; want u-1 unplaced", r.Body)
	}

	r = h.do(t, http.MethodPost, "/v1/assign", keyOps, map[string]any{"requests": batch, "commit": true})
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[assignAnswer](t, r)
	if len(got.Assignments) != 1 || len(got.Unassigned) != 0 {
		t.Fatalf("commit: %s; want u-1 placed", r.Body)
	}
	a := got.Assignments[0]
	if a.RequestID != "u-1" || a.WorkerID != "w-g" || a.BookingID == "" {
		t.Errorf("commit placed %+v; want u-1 booked on w-g", a)
	}
	if len(a.Moves) != 1 || a.Moves[0].MovedBookingID != "" || a.Moves[0].MovedBookingRef != movedRef(ids[keyOps], normal.ID) ||
		a.Moves[0].OldStart != normal.Start || a.Moves[0].NewStart.Before(a.End) {
		t.Errorf("commit's moves %+v; want the reference of %s, moved from %v to after %s", a.Moves, normal.ID, normal.Start, a.End)
	}
	if strings.Contains(string(r.Body), normal.ID) {
		t.Errorf("the operations key's answer names another tenant's booking: %s", r.Body)
	}
	r = h.do(t, http.MethodGet, "/v1/bookings/"+normal.ID, keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	if moved := decodeBody[booking](t, r); len(a.Moves) == 1 && !moved.Start.Equal(a.Moves[0].NewStart) {
		t.Errorf("the moved booking starts %v; the answer said %v", moved.Start, a.Moves[0].NewStart)
	}
}
