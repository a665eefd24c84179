package api_test

import (
	"net/http"
	"testing"
)

// TestIdempotencyKeyCanonicalBody: a retry is recognised by what its body
// means, not how it is spelled. The same JSON with other spacing, key
// order, escapes or number spelling replays the first answer; a body that
// means something else is still refused as a reuse of the key.
func TestIdempotencyKeyCanonicalBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	const first = `{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"customer_id":"cust-1","window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"}}`
	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, first, "Idempotency-Key", "k-1")
	wantStatus(t, r, http.StatusCreated)
	booked := decodeBody[booking](t, r)

	same := []struct{ name, body string }{
		{"spacing", "{\n  \"service\": \"cleaning\",\n  \"urgency\": \"normal\",\n  \"location\": { \"lat\": 52.52, \"lng\": 13.405 },\n  \"customer_id\": \"cust-1\",\n  \"window\": { \"start\": \"2026-11-23T10:00:00Z\", \"end\": \"2026-11-23T11:00:00Z\" }\n}\n"},
		{"key order", `{"window":{"end":"2026-11-23T11:00:00Z","start":"2026-11-23T10:00:00Z"},"customer_id":"cust-1","location":{"lng":13.405,"lat":52.52},"urgency":"normal","service":"cleaning"}`},
		{"escapes and numbers", `{"service":"\u0063leaning","urgency":"normal","location":{"lat":52.520,"lng":1.3405e1},"customer_id":"cust-1","window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"}}`},
		{"empty lists and nulls", `{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"customer_id":"cust-1","window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"},"skills":[],"recurrence":null}`},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, tt.body, "Idempotency-Key", "k-1")
			wantStatus(t, r, http.StatusCreated)
			if got := r.Header.Get("Idempotent-Replayed"); got != "true" {
				t.Errorf("Idempotent-Replayed %q, want true", got)
			}
			if got := decodeBody[booking](t, r); got.ID != booked.ID {
				t.Errorf("booking %s, want the first, %s", got.ID, booked.ID)
			}
		})
	}

	different := []struct{ name, body string }{
		{"another customer", `{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"customer_id":"cust-2","window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"}}`},
		{"another place", `{"service":"cleaning","urgency":"normal","location":{"lat":52.521,"lng":13.405},"customer_id":"cust-1","window":{"start":"2026-11-23T10:00:00Z","end":"2026-11-23T11:00:00Z"}}`},
		{"the window in another zone", `{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"customer_id":"cust-1","window":{"start":"2026-11-23T11:00:00+01:00","end":"2026-11-23T12:00:00+01:00"}}`},
	}
	for _, tt := range different {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, tt.body, "Idempotency-Key", "k-1"),
				http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
		})
	}
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 1 {
		t.Errorf("timeline: %d bookings, want 1", len(tl))
	}
}
