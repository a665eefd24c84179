package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// auditEvent and auditLog are GET /v1/audit's answer on the wire (its
// shape is held to the OpenAPI document by checkResponse).
type (
	auditEvent = api.AuditEvent
	auditLog   = api.AuditLog
)

// keyIDs maps each key of allKeys to the id the server names it by.
func keyIDs(tb testing.TB) map[string]string {
	tb.Helper()
	parsed, err := api.ParseKeys(allKeys)
	if err != nil {
		tb.Fatal(err)
	}
	ids := map[string]string{}
	for i, k := range []string{keyBooking, keyOps, keyAdmin, keyBooking2} {
		ids[k] = parsed[i].ID
	}
	return ids
}

// roles maps each key of allKeys to its role.
var roles = map[string]string{keyBooking: "booking", keyOps: "ops", keyAdmin: "admin", keyBooking2: "booking"}

// mustAudit reads the whole audit log, oldest first.
func (h *harness) mustAudit(tb testing.TB) []auditEvent {
	tb.Helper()
	r := h.do(tb, http.MethodGet, "/v1/audit?limit=1000", keyAdmin, nil)
	wantStatus(tb, r, http.StatusOK)
	events := decodeBody[auditLog](tb, r).Events
	slices.Reverse(events)
	return events
}

// TestAuditActions runs every booking action through the API and checks
// that each appends exactly the expected events: who (key id, never the
// key, and role), what, which booking, the result and the request id the
// client was answered with; refusals are recorded with their code, reads
// and replays are not; no event holds a customer id or a place.
func TestAuditActions(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	ids := keyIDs(t)
	cleaner := newWorker("w-c", base, "cleaning")
	cleaner.Shifts = append(cleaner.Shifts, doorstep.Shift{Start: at(8, 0).AddDate(0, 0, 1), End: at(18, 0).AddDate(0, 0, 1)})
	h.mustPutWorker(t, cleaner)
	h.mustPutWorker(t, newWorker("w-c2", offset(base, 1, 0), "cleaning"))
	h.mustPutWorker(t, newWorker("w-g", offset(base, 2, 0), "gardening"))
	const customer = "cust-audit-7"

	type want struct {
		action, booking, result, key string
	}
	seen := len(h.mustAudit(t))
	step := func(name string, r *response, wants ...want) {
		t.Helper()
		events := h.mustAudit(t)
		got := events[seen:]
		seen = len(events)
		reqID := r.Header.Get("X-Request-Id")
		if reqID == "" {
			t.Errorf("%s: no X-Request-Id in the answer", name)
		}
		var gotW, wantW []want
		for _, e := range got {
			gotW = append(gotW, want{e.Action, e.BookingID, e.Result, e.KeyID})
			if e.Role != roles[keyOf(ids, e.KeyID)] || e.RequestID != reqID || !e.At.Equal(now) || e.ID == "" {
				t.Errorf("%s: event %+v: want role %s, request id %q (the answer's), at %s", name, e, roles[keyOf(ids, e.KeyID)], reqID, now)
			}
		}
		for _, w := range wants {
			w.key = ids[w.key]
			wantW = append(wantW, w)
		}
		if diff := cmp.Diff(gotW, wantW, cmp.AllowUnexported(want{})); diff != "" {
			t.Errorf("%s: events (-got +want):\n%s", name, diff)
		}
	}

	req := with(cleaning(place(1)), "customer_id", customer, "duration_minutes", 60)
	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req)
	wantStatus(t, r, http.StatusCreated)
	b1 := decodeBody[booking](t, r)
	step("create", r, want{"create", b1.ID, "ok", keyBooking})

	munich := doorstep.Location{Lat: 48.137, Lng: 11.575}
	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "location", munich))
	wantStatus(t, r, http.StatusUnprocessableEntity)
	step("unservable create", r, want{"create", "", "unservable", keyBooking})

	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "phone", "+49 30 1234567"))
	wantStatus(t, r, http.StatusBadRequest)
	step("create refused by the decoder (never reaches a booking)", r)

	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "location", map[string]float64{"lat": 91, "lng": 0}))
	wantStatus(t, r, http.StatusBadRequest)
	step("create refused by validation", r, want{"create", "", "invalid", keyBooking})

	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "location", place(2)), "Idempotency-Key", "k-1")
	wantStatus(t, r, http.StatusCreated)
	b2 := decodeBody[booking](t, r)
	step("idempotent create", r, want{"create", b2.ID, "ok", keyBooking})
	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "location", place(2)), "Idempotency-Key", "k-1")
	wantStatus(t, r, http.StatusCreated)
	step("replay", r)

	resched := "/v1/bookings/" + b1.ID + "/reschedule"
	r = h.do(t, http.MethodPost, resched, keyBooking, map[string]any{"window": doorstep.Window{Start: at(14, 0), End: at(15, 0)}})
	wantStatus(t, r, http.StatusOK)
	step("reschedule", r, want{"reschedule", b1.ID, "ok", keyBooking})
	r = h.do(t, http.MethodPost, resched, keyBooking, map[string]any{"window": doorstep.Window{Start: at(21, 0), End: at(22, 0)}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	step("unservable reschedule", r, want{"reschedule", b1.ID, "unservable", keyBooking})

	r = h.do(t, http.MethodPost, "/v1/bookings/"+b1.ID+"/cancel", keyBooking2, nil)
	wantStatus(t, r, http.StatusNotFound)
	step("cancel by another booking system", r, want{"cancel", b1.ID, "not_found", keyBooking2})
	r = h.do(t, http.MethodPost, "/v1/bookings/"+b1.ID+"/cancel", keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	step("cancel", r, want{"cancel", b1.ID, "ok", keyBooking})

	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(req, "window", doorstep.Window{Start: at(10, 0), End: at(11, 0)},
		"recurrence", map[string]int{"interval_days": 1, "count": 2}))
	wantStatus(t, r, http.StatusCreated)
	s := decodeBody[series](t, r)
	if len(s.Bookings) != 2 {
		t.Fatalf("series: %s", r.Body)
	}
	step("series", r, want{"create", s.Bookings[0].ID, "ok", keyBooking}, want{"create", s.Bookings[1].ID, "ok", keyBooking})
	r = h.do(t, http.MethodPost, "/v1/series/"+s.SeriesID+"/cancel", keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	step("series cancel", r, want{"cancel", s.Bookings[0].ID, "ok", keyBooking}, want{"cancel", s.Bookings[1].ID, "ok", keyBooking})

	// Rescue: w-g, the only gardener, has a normal job at 08:30 that an
	// urgent one can only fit by moving it later in its window.
	garden := map[string]any{"service": "gardening", "location": base, "duration_minutes": 120, "customer_id": customer}
	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(garden, "urgency", "normal", "window", doorstep.Window{Start: at(8, 30), End: at(13, 0)}))
	wantStatus(t, r, http.StatusCreated)
	normal := decodeBody[booking](t, r)
	step("create the job to move", r, want{"create", normal.ID, "ok", keyBooking})
	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking2, with(garden, "urgency", "urgent"))
	wantStatus(t, r, http.StatusCreated)
	urgent := decodeBody[booking](t, r)
	// (keyBooking2 moved keyBooking's job: it sees no id, only a reference.)
	if urgent.Rescue == nil || urgent.Rescue.MovedBookingID != "" || urgent.Rescue.MovedBookingRef == "" || urgent.Rescue.FromWorker != normal.WorkerID {
		t.Fatalf("the urgent job did not move %s (or named it): %s", normal.ID, r.Body)
	}
	step("rescue", r, want{"create", urgent.ID, "ok", keyBooking2}, want{"move", normal.ID, "ok", keyBooking2})
	// The move is recorded with its reason: the moved booking's owner
	// (another booking system) did not ask for it.
	if events := h.mustAudit(t); events[len(events)-1].Reason != "rescue" {
		t.Errorf("rescue: the move event %+v has no reason rescue", events[len(events)-1])
	}

	batch := map[string]any{"requests": []any{
		with(cleaning(place(3)), "id", "r-1", "duration_minutes", 30, "customer_id", customer),
		with(cleaning(place(4)), "id", "r-2", "duration_minutes", 30),
	}}
	r = h.do(t, http.MethodPost, "/v1/assign", keyOps, with(batch, "commit", false))
	wantStatus(t, r, http.StatusOK)
	step("batch plan", r)
	r = h.do(t, http.MethodPost, "/v1/assign", keyOps, with(batch, "commit", true))
	wantStatus(t, r, http.StatusOK)
	placed := decodeLoose[struct {
		Assignments []struct {
			BookingID string `json:"booking_id"`
		} `json:"assignments"`
	}](t, r)
	if len(placed.Assignments) != 2 {
		t.Fatalf("batch: %s", r.Body)
	}
	step("batch commit", r, want{"create", placed.Assignments[0].BookingID, "ok", keyOps}, want{"create", placed.Assignments[1].BookingID, "ok", keyOps})

	// Reads write nothing.
	r = h.do(t, http.MethodGet, "/v1/bookings/"+b2.ID, keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	step("read", r)
	r = h.do(t, http.MethodPost, "/v1/match", keyBooking, req)
	wantStatus(t, r, http.StatusOK)
	step("quote", r)

	// No event names a customer or a place, in the API or in Redis.
	r = h.do(t, http.MethodGet, "/v1/audit?limit=1000", keyAdmin, nil)
	raw := h.dump(t)[auditStream]
	for _, text := range []string{string(r.Body), raw} {
		for _, needle := range append([]string{customer, keyBooking, keyOps, keyAdmin, keyBooking2}, append(storetest.CoordNeedles(place(1)), storetest.CoordNeedles(base)...)...) {
			if strings.Contains(text, needle) {
				t.Errorf("the audit log holds %q", needle)
			}
		}
	}
}

// keyOf is the key of allKeys that ids names id.
func keyOf(ids map[string]string, id string) string {
	for k, v := range ids {
		if v == id {
			return k
		}
	}
	return ""
}

// decodeLoose decodes r's JSON body into a T, ignoring fields T lacks.
func decodeLoose[T any](tb testing.TB, r *response) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		tb.Fatalf("%s %s: decode %T from %s: %v", r.Method, r.Path, v, r.Body, err)
	}
	return v
}

// TestAuditRead pages through the log with before and limit, and checks
// the refusals.
func TestAuditRead(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	empty := h.do(t, http.MethodGet, "/v1/audit", keyAdmin, nil)
	wantStatus(t, empty, http.StatusOK)
	if string(empty.Body) != `{"events":[]}`+"\n" {
		t.Errorf("empty log: %s", empty.Body)
	}
	// Five events: cancels of bookings that do not exist.
	for i := range 5 {
		wantStatus(t, h.do(t, http.MethodPost, fmt.Sprintf("/v1/bookings/b-%d/cancel", i), keyBooking, nil), http.StatusNotFound)
	}
	var got []string
	before := ""
	for page := 0; page < 10; page++ {
		path := "/v1/audit?limit=2"
		if before != "" {
			path += "&before=" + before
		}
		r := h.do(t, http.MethodGet, path, keyAdmin, nil)
		wantStatus(t, r, http.StatusOK)
		events := decodeBody[auditLog](t, r).Events
		if len(events) > 2 {
			t.Fatalf("page %d: %d events, limit 2", page, len(events))
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			got = append(got, e.BookingID)
		}
		before = events[len(events)-1].ID
	}
	if diff := cmp.Diff(got, []string{"b-4", "b-3", "b-2", "b-1", "b-0"}); diff != "" {
		t.Errorf("pages (-got +want):\n%s", diff)
	}
	all := decodeBody[auditLog](t, h.do(t, http.MethodGet, "/v1/audit", keyAdmin, nil)).Events
	if len(all) != 5 {
		t.Errorf("default page: %d events, want all 5", len(all))
	}

	for _, q := range []string{"limit=0", "limit=1001", "limit=-1", "limit=x", "limit=1.5", "limit=", "limit=99999999999999999999"} {
		r := h.do(t, http.MethodGet, "/v1/audit?"+q, keyAdmin, nil)
		if q == "limit=" {
			wantStatus(t, r, http.StatusOK) // empty means the default
			continue
		}
		wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, "limit")
	}
	for _, q := range []string{"before=zzz", "before=1", "before=-", "before=1-x"} {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/audit?"+q, keyAdmin, nil), http.StatusBadRequest, doorstep.EINVALID, "before")
	}
	for _, key := range []string{keyBooking, keyOps} {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/audit", key, nil), http.StatusForbidden, doorstep.EFORBIDDEN, "")
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/audit", "", nil), http.StatusUnauthorized, doorstep.EUNAUTHORIZED, "")
}

// TestAuditRetention: with a small retention the stream stays near its
// bound (Redis trims whole macro nodes of 100 entries).
func TestAuditRetention(t *testing.T) {
	t.Parallel()
	const retention, sent = 10, 300
	h := newStoreHarness(t, allKeys, options{AuditRetention: retention, Limits: api.Limits{RatePerKey: -1}})
	for i := range sent {
		wantStatus(t, h.do(t, http.MethodPost, fmt.Sprintf("/v1/bookings/b-%d/cancel", i), keyBooking, nil), http.StatusNotFound)
	}
	n, err := h.RDB.XLen(t.Context(), auditStream).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n < retention || n > retention+100 {
		t.Errorf("XLEN %s = %d after %d events with retention %d", auditStream, n, sent, retention)
	}
	events := h.mustAudit(t)
	if len(events) == 0 || events[len(events)-1].BookingID != fmt.Sprintf("b-%d", sent-1) {
		t.Errorf("the newest event is not the last one sent")
	}
}

// TestRequestID: every answer carries X-Request-Id; a client's own id is
// kept when it is a short printable token, and is what the audit records;
// any other is replaced by a generated one.
func TestRequestID(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	generated := regexp.MustCompile(`^[A-Z2-7]{26}$`)
	seen := map[string]bool{}
	for _, tt := range []struct{ method, path, key string }{
		{http.MethodGet, "/healthz", ""},
		{http.MethodGet, "/v1/audit", ""},
		{http.MethodGet, "/v1/audit", keyBooking},
		{http.MethodGet, "/v1/audit", keyAdmin},
		{http.MethodGet, "/v1/nowhere", keyAdmin},
	} {
		r := h.do(t, tt.method, tt.path, tt.key, nil)
		id := r.Header.Get("X-Request-Id")
		if !generated.MatchString(id) || seen[id] {
			t.Errorf("%s %s: X-Request-Id %q, want a fresh generated id", tt.method, tt.path, id)
		}
		seen[id] = true
	}
	for _, tt := range []struct {
		sent string
		kept bool
	}{
		{"client-req-42", true},
		{"3f2a9c1e-0b7d-4e5f-8a6b-1c2d3e4f5a6b", true},
		{"trace:abc/def=1+2", true},
		{strings.Repeat("x", 65), false},
		{"with space", false},
		{"semi;colon", false},
		{"ümlaut", false},
	} {
		r := h.do(t, http.MethodPost, "/v1/bookings/b-x/cancel", keyBooking, nil, "X-Request-Id", tt.sent)
		id := r.Header.Get("X-Request-Id")
		if tt.kept && id != tt.sent || !tt.kept && !generated.MatchString(id) {
			t.Errorf("sent X-Request-Id %q, answered %q; kept: %v", tt.sent, id, tt.kept)
		}
		events := h.mustAudit(t)
		if e := events[len(events)-1]; e.RequestID != id {
			t.Errorf("sent X-Request-Id %q: audit recorded %q, answered %q", tt.sent, e.RequestID, id)
		}
	}
}

// hangUp is an observer that cancels a request's context right after its
// booking is reserved: the client that hangs up then.
type hangUp struct {
	*api.Metrics
	cancel atomic.Pointer[context.CancelFunc]
}

func (o *hangUp) Booked(class doorstep.Urgency, rule string) {
	o.Metrics.Booked(class, rule)
	if c := o.cancel.Load(); c != nil {
		(*c)()
	}
}

// TestBookingSurvivesHangUp: a client that hangs up after its booking is
// reserved (the moment a client is most likely to retry) still gets it
// audited and its Idempotency-Key answered, so that its retry replays the
// booking instead of waiting for a stuck pending record to expire and then
// booking twice.
func TestBookingSurvivesHangUp(t *testing.T) {
	t.Parallel()
	obs := &hangUp{}
	h := newStoreHarness(t, allKeys, options{Observer: func(m *api.Metrics) dispatch.Observer { obs.Metrics = m; return obs }})
	h.mustPutWorker(t, newWorker("w-1", base))
	body := `{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405}}`

	ctx, cancel := context.WithCancel(t.Context())
	obs.cancel.Store(&cancel)
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/bookings", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+keyBooking)
	req.Header.Set("Idempotency-Key", "k-hangup")
	rec := httptest.NewRecorder()
	h.Server.ServeHTTP(rec, req)
	obs.cancel.Store(nil)
	if ctx.Err() == nil {
		t.Fatal("the observer did not hang up")
	}
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	first := decodeBody[booking](t, &response{Method: "POST", Path: "/v1/bookings", Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()})

	events := h.mustAudit(t)
	if len(events) != 1 || events[0].Action != "create" || events[0].BookingID != first.ID || events[0].Result != "ok" {
		t.Errorf("audit after the hang-up: %+v; want the create of %s", events, first.ID)
	}
	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, body, "Idempotency-Key", "k-hangup")
	wantStatus(t, r, http.StatusCreated)
	if got := decodeBody[booking](t, r); got.ID != first.ID || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after the hang-up booked %s (replayed %q); want the replay of %s", got.ID, r.Header.Get("Idempotent-Replayed"), first.ID)
	}
}
