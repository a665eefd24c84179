package api_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// event is an event as GET /v1/events and webhooks carry it.
type event struct {
	ID        string          `json:"id"`
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	At        time.Time       `json:"at"`
	BookingID string          `json:"booking_id"`
	Reason    string          `json:"reason"`
	Data      json.RawMessage `json:"data"`
}

type eventList struct {
	Events []event `json:"events"`
	Next   string  `json:"next"`
}

// webhookOut is a webhook as the API answers it.
type webhookOut struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	URL       string    `json:"url"`
	Secret    string    `json:"secret"`
	CreatedAt time.Time `json:"created_at"`
	Delivery  struct {
		Cursor      string    `json:"cursor"`
		Pending     int64     `json:"pending"`
		Delivered   int64     `json:"delivered"`
		Failures    int64     `json:"failures"`
		FailedTotal int64     `json:"failed_total"`
		Skipped     int64     `json:"skipped"`
		LastSuccess time.Time `json:"last_success"`
		LastFailure time.Time `json:"last_failure"`
		LastStatus  int       `json:"last_status"`
		LastError   string    `json:"last_error"`
		NextAttempt time.Time `json:"next_attempt"`
	} `json:"delivery"`
}

// newEventsHarness is newHarness with the events relay and webhook
// deliveries running, configured by configure (retries fast, loopback
// allowed: the receivers are httptest servers).
func newEventsHarness(t *testing.T, configure func(*events.Config)) *harness {
	t.Helper()
	opt := harnessOptions(allKeys, func() time.Time { return now })
	opt.Events = func(c *events.Config) {
		c.Poll = 20 * time.Millisecond
		c.Webhooks.AllowPrivate = true
		c.Webhooks.BackoffBase, c.Webhooks.BackoffMax = 5*time.Millisecond, 40*time.Millisecond
		if configure != nil {
			configure(c)
		}
	}
	return &harness{apitest.New(t, opt)}
}

// keyID is the key id (the tenant) of an API key.
func keyID(t testing.TB, key string) string {
	ks, err := api.ParseKeys(key + ":booking")
	if err != nil {
		t.Fatal(err)
	}
	return ks[0].ID
}

// eventually polls cond until it holds or a generous bound passes (a
// bound on waiting, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 30 s", what)
}

// allEvents reads the events key sees (of tenant for ops keys).
func (h *harness) allEvents(t *testing.T, key, query string) []event {
	t.Helper()
	r := h.do(t, http.MethodGet, "/v1/events?limit=1000"+query, key, nil)
	wantStatus(t, r, http.StatusOK)
	return decodeBody[eventList](t, r).Events
}

// TestEventsTenants: every booking change is an event in its owner's
// stream, and tenants never see each other's events: a booking key reads
// its own stream and may not name another; ops may.
func TestEventsTenants(t *testing.T) {
	t.Parallel()
	h := newEventsHarness(t, nil)
	h.mustPutWorker(t, newWorker("w-1", base))
	b1 := h.mustBook(t, keyBooking, cleaning(base))
	b2 := h.mustBook(t, keyBooking2, cleaning(base))
	wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings/"+b2.ID+"/cancel", keyBooking2, nil), http.StatusOK)
	eventually(t, "events relayed", func() bool { return len(h.allEvents(t, keyBooking2, "")) == 2 })
	one := h.allEvents(t, keyBooking, "")
	if len(one) != 1 || one[0].Type != "booking.created" || one[0].BookingID != b1.ID || one[0].Seq != 1 {
		t.Errorf("booking key's events = %+v, want b1 created", one)
	}
	two := h.allEvents(t, keyBooking2, "")
	if two[0].BookingID != b2.ID || two[1].Type != "booking.cancelled" || two[1].Reason != "cancel" || two[1].Seq != 2 {
		t.Errorf("second booking key's events = %+v, want b2 created and cancelled", two)
	}
	for _, e := range append(one, two...) {
		if strings.Contains(string(e.Data), "customer") || strings.Contains(string(e.Data), "location") {
			t.Errorf("event data holds personal data: %s", e.Data)
		}
	}
	// Another tenant's stream is refused to a booking key, open to ops.
	wantProblem(t, h.do(t, http.MethodGet, "/v1/events?tenant="+keyID(t, keyBooking2), keyBooking, nil), http.StatusForbidden, "forbidden", "tenant")
	if got := h.allEvents(t, keyOps, "&tenant="+keyID(t, keyBooking2)); len(got) != 2 || got[0].ID != two[0].ID {
		t.Errorf("ops reading the second tenant: %+v", got)
	}
	if got := h.allEvents(t, keyOps, ""); len(got) != 0 {
		t.Errorf("ops' own tenant holds %+v", got)
	}
	// after pages; a bad after or wait is refused naming it.
	if got := h.allEvents(t, keyBooking2, "&after="+two[0].ID); len(got) != 1 || got[0].ID != two[1].ID {
		t.Errorf("after %s: %+v", two[0].ID, got)
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/events?after=x", keyBooking, nil), http.StatusBadRequest, "invalid", "after")
	wantProblem(t, h.do(t, http.MethodGet, "/v1/events?wait=26", keyBooking, nil), http.StatusBadRequest, "invalid", "wait")
}

// TestEventsLongPoll: a long poll with nothing to read waits for the next
// event and answers it.
func TestEventsLongPoll(t *testing.T) {
	t.Parallel()
	h := newEventsHarness(t, nil)
	h.mustPutWorker(t, newWorker("w-1", base))
	got := make(chan *response, 1)
	go func() { got <- h.Do(t, http.MethodGet, "/v1/events?wait=20", keyBooking, nil) }()
	b := h.mustBook(t, keyBooking, cleaning(base))
	r := <-got
	h.checkResponse(t, r)
	wantStatus(t, r, http.StatusOK)
	list := decodeBody[eventList](t, r)
	if len(list.Events) != 1 || list.Events[0].BookingID != b.ID || list.Next != list.Events[0].ID {
		t.Errorf("long poll answered %+v, want b created", list)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, typ, data string }

// openStream opens GET /v1/events as Server-Sent Events and sends what it
// reads on the channel; the stream closes with the test or cancel.
func openStream(t *testing.T, h *harness, key, lastID string) (<-chan sseEvent, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, ct)
	}
	out := make(chan sseEvent, 16)
	go func() {
		defer res.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.id != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	return out, cancel
}

func next(t *testing.T, c <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30 s")
	}
	return sseEvent{}
}

// TestEventsSSE: a stream sends each event as it comes, and a reconnect
// with Last-Event-ID resumes after it.
func TestEventsSSE(t *testing.T) {
	t.Parallel()
	h := newEventsHarness(t, nil)
	h.mustPutWorker(t, newWorker("w-1", base))
	stream, cancel := openStream(t, h, keyBooking, "")
	b1 := h.mustBook(t, keyBooking, cleaning(base))
	h.mustBook(t, keyBooking2, cleaning(base)) // not this tenant's
	b3 := h.mustBook(t, keyBooking, cleaning(offset(base, 1, 0)))
	first, second := next(t, stream), next(t, stream)
	cancel()
	var e event
	if err := json.Unmarshal([]byte(first.data), &e); err != nil || e.BookingID != b1.ID || first.typ != "booking.created" || first.id != e.ID {
		t.Errorf("first event %+v (%v), want b1 created", first, err)
	}
	if err := json.Unmarshal([]byte(second.data), &e); err != nil || e.BookingID != b3.ID {
		t.Errorf("second event %+v, want b3's (the other tenant's is not sent)", second)
	}
	resumed, cancel := openStream(t, h, keyBooking, first.id)
	defer cancel()
	if again := next(t, resumed); again.id != second.id {
		t.Errorf("resumed after %s with %+v, want %s", first.id, again, second.id)
	}
}

// receiver is a webhook endpoint that checks signatures itself (not with
// package events: the test must not trust the code it tests) and answers
// as told.
type receiver struct {
	mu       sync.Mutex
	secret   string
	answers  []int // per request, in order; then 200
	delay    map[int]time.Duration
	requests int
	bad      []string // what failed verification
	got      []event  // events received (duplicates included)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := rc.requests
	rc.requests++
	ts, sig := r.Header.Get("Doorstep-Timestamp"), r.Header.Get("Doorstep-Signature")
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write([]byte(ts + "." + string(body)))
	if want := "v1=" + hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) {
		rc.bad = append(rc.bad, "signature of request "+ts)
	}
	var e event
	if err := json.Unmarshal(body, &e); err != nil || e.ID != r.Header.Get("Doorstep-Event-Id") || e.Type != r.Header.Get("Doorstep-Event-Type") {
		rc.bad = append(rc.bad, "body or headers of request "+ts)
	}
	rc.got = append(rc.got, e)
	status, delay := http.StatusOK, rc.delay[n]
	if n < len(rc.answers) {
		status = rc.answers[n]
	}
	rc.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
	}
	w.WriteHeader(status)
}

func (rc *receiver) received() (ids []string, bad []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, e := range rc.got {
		ids = append(ids, e.ID)
	}
	return ids, slices.Clone(rc.bad)
}

// TestWebhookDelivery: a receiver that fails (503), then times out, then
// takes the event gets it signed, again and again until it is taken (at
// least once: the attempt that timed out may have arrived too, under the
// same event id), the next in order after it; operators see the state of
// the delivery.
func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	h := newEventsHarness(t, func(c *events.Config) { c.Webhooks.Timeout = 300 * time.Millisecond })
	rc := &receiver{secret: "a-shared-secret-of-the-tenant", answers: []int{503, 500, 200},
		delay: map[int]time.Duration{2: 5 * time.Second}}
	recv := httptest.NewServer(rc)
	defer recv.Close()
	r := h.do(t, http.MethodPost, "/v1/webhooks", keyBooking, map[string]string{"url": recv.URL + "/hook", "secret": rc.secret})
	wantStatus(t, r, http.StatusCreated)
	wh := decodeBody[webhookOut](t, r)
	if wh.Secret != rc.secret || wh.Tenant != keyID(t, keyBooking) || r.Header.Get("Location") != "/v1/webhooks/"+wh.ID {
		t.Errorf("created %+v", wh)
	}
	h.mustPutWorker(t, newWorker("w-1", base))
	b1 := h.mustBook(t, keyBooking, cleaning(base))
	b2 := h.mustBook(t, keyBooking, cleaning(offset(base, 1, 0)))
	h.mustBook(t, keyBooking2, cleaning(base)) // another tenant's: never sent here
	var state webhookOut
	eventually(t, "both events delivered", func() bool {
		state = decodeBody[webhookOut](t, h.do(t, http.MethodGet, "/v1/webhooks/"+wh.ID, keyOps, nil))
		return state.Delivery.Delivered == 2
	})
	ids, bad := rc.received()
	if len(bad) > 0 {
		t.Errorf("receiver refused: %v", bad)
	}
	evs := h.allEvents(t, keyBooking, "")
	if len(evs) != 2 || evs[0].BookingID != b1.ID || evs[1].BookingID != b2.ID {
		t.Fatalf("events %+v", evs)
	}
	// 503, 500, timed out: four deliveries of b1's event, then b2's.
	want := []string{evs[0].ID, evs[0].ID, evs[0].ID, evs[0].ID, evs[1].ID}
	if !slices.Equal(ids, want) {
		t.Errorf("received %v, want %v", ids, want)
	}
	d := state.Delivery
	// The last failure was the timeout: no status.
	if d.Pending != 0 || d.Failures != 0 || d.FailedTotal != 3 || d.LastStatus != 0 || d.Cursor != evs[1].ID ||
		d.LastSuccess.IsZero() || d.LastFailure.IsZero() || !strings.Contains(d.LastError, "Timeout") {
		t.Errorf("delivery state %+v", d)
	}
	// Operators list every tenant's webhooks; a booking key only its own,
	// and another's is not found to it.
	mine := decodeBody[struct{ Webhooks []webhookOut }](t, h.do(t, http.MethodGet, "/v1/webhooks", keyBooking2, nil))
	if len(mine.Webhooks) != 0 {
		t.Errorf("second booking key lists %+v", mine)
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/webhooks/"+wh.ID, keyBooking2, nil), http.StatusNotFound, "not_found", "")
	wantProblem(t, h.do(t, http.MethodDelete, "/v1/webhooks/"+wh.ID, keyBooking2, nil), http.StatusNotFound, "not_found", "")
	all := decodeBody[struct{ Webhooks []webhookOut }](t, h.do(t, http.MethodGet, "/v1/webhooks", keyOps, nil))
	if len(all.Webhooks) != 1 || all.Webhooks[0].Secret != "" {
		t.Errorf("ops lists %+v (secrets are never listed)", all)
	}
}

// TestWebhookInput: only http(s) URLs without credentials, public ones
// unless allowed; secrets long enough; a generated secret answered once.
func TestWebhookInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys) // the default policy: public addresses only
	for _, url := range []string{"ftp://example.com/x", "file:///etc/passwd", "https://user:pw@example.com/", "http://127.0.0.1:8080/",
		"http://[::1]/", "http://10.0.0.8/", "http://169.254.169.254/latest/meta-data", "/relative", "https://"} {
		wantProblem(t, h.do(t, http.MethodPost, "/v1/webhooks", keyBooking, map[string]string{"url": url}), http.StatusBadRequest, "invalid", "url")
	}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/webhooks", keyBooking, map[string]string{}), http.StatusBadRequest, "invalid", "url")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/webhooks", keyBooking, map[string]string{"url": "https://example.com/", "secret": "short"}),
		http.StatusBadRequest, "invalid", "secret")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/webhooks", keyBooking, map[string]string{"url": "https://example.com/", "tenant": "key-other"}),
		http.StatusForbidden, "forbidden", "tenant")
	r := h.do(t, http.MethodPost, "/v1/webhooks", keyBooking, map[string]string{"url": "https://example.com/"})
	wantStatus(t, r, http.StatusCreated)
	wh := decodeBody[webhookOut](t, r)
	if !strings.HasPrefix(wh.Secret, "whsec_") || len(wh.Secret) < 40 {
		t.Errorf("generated secret %q", wh.Secret)
	}
	again := decodeBody[webhookOut](t, h.do(t, http.MethodGet, "/v1/webhooks/"+wh.ID, keyBooking, nil))
	if again.Secret != "" {
		t.Error("the secret is answered again")
	}
	wantStatus(t, h.do(t, http.MethodDelete, "/v1/webhooks/"+wh.ID, keyBooking, nil), http.StatusNoContent)
	wantProblem(t, h.do(t, http.MethodGet, "/v1/webhooks/"+wh.ID, keyBooking, nil), http.StatusNotFound, "not_found", "")
	// Ops may register for a tenant.
	r = h.do(t, http.MethodPost, "/v1/webhooks", keyOps, map[string]string{"url": "https://hooks.example.com/", "tenant": keyID(t, keyBooking2)})
	wantStatus(t, r, http.StatusCreated)
	if got := decodeBody[webhookOut](t, r).Tenant; got != keyID(t, keyBooking2) {
		t.Errorf("ops registered for %q", got)
	}
}

// TestEventsNotifyMovedOwner: the owner of a booking another booking
// system's request moved (a rescue) learns it from its own stream, and
// the other never sees the moved booking's events; a re-plan after a
// worker change and a mark at risk are events of the owner too.
func TestEventsNotifyMovedOwner(t *testing.T) {
	t.Parallel()
	h := newEventsHarness(t, nil)
	h.mustPutWorker(t, newWorker("w-g", offset(base, 2, 0), "gardening"))
	garden := map[string]any{"service": "gardening", "location": base, "duration_minutes": 120}
	normal := h.mustBook(t, keyBooking, with(garden, "urgency", "normal", "window", map[string]any{"start": at(8, 30), "end": at(13, 0)}))
	urgent := h.mustBook(t, keyBooking2, with(garden, "urgency", "urgent"))
	if urgent.Rescue == nil {
		t.Fatalf("fixture: the urgent booking moved nothing")
	}
	eventually(t, "A's move relayed", func() bool { return len(h.allEvents(t, keyBooking, "")) == 2 })
	a := h.allEvents(t, keyBooking, "")
	if a[1].Type != "booking.moved" || a[1].Reason != "rescue" || a[1].BookingID != normal.ID {
		t.Errorf("A's events %+v, want its booking moved by a rescue", a)
	}
	b := h.allEvents(t, keyBooking2, "")
	if len(b) != 1 || b[0].BookingID != urgent.ID {
		t.Errorf("B's events %+v, want only its own booking's creation", b)
	}
	// The gardener's shift is cut: the moved booking can go nowhere else.
	g := newWorker("w-g", offset(base, 2, 0), "gardening")
	g.Shifts[0].End = at(9, 30)
	wantStatus(t, h.do(t, http.MethodPut, "/v1/workers/w-g", keyOps, g), http.StatusOK)
	eventually(t, "the mark at risk relayed", func() bool { return len(h.allEvents(t, keyBooking, "")) == 3 })
	if a = h.allEvents(t, keyBooking, ""); a[2].Type != "booking.at_risk" || a[2].Reason != "shift" || a[2].BookingID != normal.ID {
		t.Errorf("A's events %+v, want its booking at risk for its worker's shift", a)
	}
}
