package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// followUp is a follow-up on the wire.
type followUp struct {
	BookingID   string             `json:"booking_id"`
	WorkerID    string             `json:"worker_id"`
	Service     string             `json:"service"`
	CompletedAt time.Time          `json:"completed_at"`
	Due         time.Time          `json:"due"`
	Status      string             `json:"status"`
	ClosedAt    time.Time          `json:"closed_at,omitzero"`
	Feedback    *doorstep.Feedback `json:"feedback,omitempty"`
}

type followUpPage struct {
	FollowUps  []followUp `json:"followups"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// nightCleaning2h is the built-in price of two hours of cleaning in New
// York's night hours (the fixtures' morning, UTC): base 20.00, two hours at
// 35.00, and the night surcharge of 15.00 an hour.
var nightCleaning2h = &doorstep.Price{Currency: "USD", Total: 12000, Lines: []doorstep.PriceLine{
	{Kind: doorstep.LineBase, Amount: 2000}, {Kind: doorstep.LineHours, Minutes: 120, Amount: 7000},
	{Kind: doorstep.LineNight, Minutes: 120, Amount: 3000}}}

// complete opens booking id's follow-up as the completion of the booking
// does (dispatch.Service.OpenFollowUp), completed at done.
func (h *harness) complete(t *testing.T, id string, done time.Time) {
	t.Helper()
	b, err := h.Service.Booking(t.Context(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Service.OpenFollowUp(t.Context(), b, done); err != nil {
		t.Fatal(err)
	}
}

// TestPricesOnTheWire: a quote's options, the booking made and the booking
// read show the price of the built-in catalogue (USD, New York time: 10:00
// UTC on a Monday is 05:00 there, a night hour).
func TestPricesOnTheWire(t *testing.T) {
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	req := with(cleaning(offset(base, 1, 0)), "window", map[string]any{"start": at(10, 0), "end": at(10, 30)}, "duration_minutes", 90)
	// Cleaning: base 20.00, 35.00 an hour, night 15.00 an hour.
	want := &doorstep.Price{Currency: "USD", Total: 2000 + 5250 + 2250, Lines: []doorstep.PriceLine{
		{Kind: doorstep.LineBase, Amount: 2000}, {Kind: doorstep.LineHours, Minutes: 90, Amount: 5250},
		{Kind: doorstep.LineNight, Minutes: 90, Amount: 2250}}}

	r := h.do(t, http.MethodPost, "/v1/match", keyBooking, req)
	wantStatus(t, r, http.StatusOK)
	m := decodeBody[match](t, r)
	if len(m.Options) == 0 {
		t.Fatalf("no options: %s", r.Body)
	}
	if diff := cmp.Diff(want, m.Options[0].Price); diff != "" {
		t.Errorf("quoted price (-want +got):\n%s", diff)
	}
	b := h.mustBook(t, keyBooking, req)
	if diff := cmp.Diff(want, b.Price); diff != "" {
		t.Errorf("booked price (-want +got):\n%s", diff)
	}
	r = h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(want, decodeBody[booking](t, r).Price); diff != "" {
		t.Errorf("price read back (-want +got):\n%s", diff)
	}
}

// TestFeedbackAPI: the owner's feedback on a completed booking, with its
// refusals, the operators' list of open follow-ups, and the overdue gauge.
func TestFeedbackAPI(t *testing.T) {
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	b := h.mustBook(t, keyBooking, with(cleaning(offset(base, 1, 0)), "window", map[string]any{"start": at(10, 0), "end": at(10, 30)}))
	fbPath := "/v1/bookings/" + b.ID + "/feedback"
	good := map[string]any{"rating": 4, "tags": []string{"tidy", "punctual"}}

	wantProblem(t, h.do(t, http.MethodPost, fbPath, keyBooking, good), http.StatusConflict, "conflict", "")
	h.complete(t, b.ID, at(12, 0))

	// The operators' list: role, filters and bad parameters.
	wantProblem(t, h.do(t, http.MethodGet, "/v1/followups", keyBooking, nil), http.StatusForbidden, "forbidden", "")
	r := h.do(t, http.MethodGet, "/v1/followups?status=open", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	page := decodeBody[followUpPage](t, r)
	want := followUp{BookingID: b.ID, WorkerID: "w-1", Service: "cleaning", CompletedAt: at(12, 0), Due: at(12, 0).Add(24 * time.Hour), Status: "open"}
	if diff := cmp.Diff(followUpPage{FollowUps: []followUp{want}}, page); diff != "" {
		t.Errorf("open follow-ups (-want +got):\n%s", diff)
	}
	r = h.do(t, http.MethodGet, "/v1/followups?due_before="+url.QueryEscape(want.Due.Format(time.RFC3339)), keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if got := decodeBody[followUpPage](t, r).FollowUps; len(got) != 0 {
		t.Errorf("follow-ups due before their due time: %+v", got)
	}
	for _, tt := range []struct{ query, field string }{
		{"status=closed", "status"}, {"due_before=tomorrow", "due_before"}, {"due_before=1999-01-01T00:00:00Z", "due_before"},
		{"limit=0", "limit"}, {"limit=1001", "limit"}, {"cursor=bm9wZQ", "cursor"},
	} {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/followups?"+tt.query, keyOps, nil), http.StatusBadRequest, "invalid", tt.field)
	}

	// Feedback: only its owner, only a rating and known tags.
	wantProblem(t, h.do(t, http.MethodPost, fbPath, keyBooking2, good), http.StatusNotFound, "not_found", "")
	wantProblem(t, h.do(t, http.MethodPost, fbPath, keyOps, good), http.StatusForbidden, "forbidden", "")
	for _, tt := range []struct {
		body  string
		field string
	}{
		{`{"tags": ["tidy"]}`, "rating"},
		{`{"rating": 0}`, "rating"},
		{`{"rating": 6}`, "rating"},
		{`{"rating": 4.5}`, "rating"},
		{`{"rating": "5"}`, "rating"},
		{`{"rating": 5, "comment": "Mrs Smith at 12 Elm St was lovely"}`, "comment"},
		{`{"rating": 5, "tags": ["lovely"]}`, "tags[0]"},
		{`{"rating": 5, "tags": ["tidy", "tidy"]}`, "tags[1]"},
	} {
		wantProblem(t, h.do(t, http.MethodPost, fbPath, keyBooking, tt.body), http.StatusBadRequest, "invalid", tt.field)
	}

	r = h.do(t, http.MethodPost, fbPath, keyBooking, good)
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[followUp](t, r)
	want.Status, want.ClosedAt, want.Feedback = "closed", now, &doorstep.Feedback{Rating: 4, Tags: []string{"punctual", "tidy"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("feedback answer (-want +got):\n%s", diff)
	}
	r = h.do(t, http.MethodPost, fbPath, keyBooking, good)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the same feedback again: Idempotent-Replayed %q, want true", r.Header.Get("Idempotent-Replayed"))
	}
	wantProblem(t, h.do(t, http.MethodPost, fbPath, keyBooking, map[string]any{"rating": 1}), http.StatusConflict, "conflict", "")

	// (4.5 × 5 + 4) / 6 = 4.4166..., rounded to 4.42.
	r = h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if w := decodeBody[doorstep.Worker](t, r); w.Rating != 4.42 {
		t.Errorf("worker rated %v after one 4, want 4.42", w.Rating)
	}

	// The overdue gauge: a booking completed 25 hours before the clock.
	wantGauge(t, h, "doorstep_followups_overdue", "0")
	b2 := h.mustBook(t, keyBooking, with(cleaning(offset(base, 1, 0)), "window", map[string]any{"start": at(14, 0), "end": at(14, 30)}))
	h.complete(t, b2.ID, now.Add(-25*time.Hour))
	wantGauge(t, h, "doorstep_followups_overdue", "1")
}

// wantGauge checks the value of an unlabelled metric on /metrics.
func wantGauge(t *testing.T, h *harness, name, value string) {
	t.Helper()
	r := h.do(t, http.MethodGet, "/metrics", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	for line := range strings.SplitSeq(string(r.Body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			if v != value {
				t.Errorf("%s = %s, want %s", name, v, value)
			}
			return
		}
	}
	t.Errorf("/metrics has no %s", name)
}
