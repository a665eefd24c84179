package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// hookReceiver records the event ids of the deliveries whose signature it
// verified itself; it answers 503 while down.
type hookReceiver struct {
	secret string
	down   atomic.Bool
	mu     sync.Mutex
	tries  int
	ids    []string
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(h.secret))
	m.Write([]byte(r.Header.Get("Doorstep-Timestamp") + "." + string(body)))
	ok := hmac.Equal([]byte(r.Header.Get("Doorstep-Signature")), []byte("v1="+hex.EncodeToString(m.Sum(nil))))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tries++
	if !ok || h.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.ids = append(h.ids, r.Header.Get("Doorstep-Event-Id"))
}

func (h *hookReceiver) state() (tries int, ids []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tries, slices.Clone(h.ids)
}

// call sends a request to a running Main and decodes its JSON answer.
func call(t *testing.T, m *Main, method, path, key string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, "http://"+m.Addr()+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, data, err)
		}
	}
	if res.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	return res.StatusCode
}

// TestServeEventsSurviveRestart: events written while a server runs, and
// one written by a change no server relayed (its process died right
// after the change), are served by a new server after a restart, which
// delivers the webhook's pending events, in order, signed.
func TestServeEventsSurviveRestart(t *testing.T) {
	t.Parallel()
	const booking, ops = "booking-key-0123456789", "ops-key-0123456789abc"
	rs := storetest.RunRedis(t)
	recv := &hookReceiver{secret: "the-tenant-secret-0123"}
	recv.down.Store(true)
	hook := httptest.NewServer(recv)
	defer hook.Close()
	start := func() *Main {
		m := &Main{Log: slog.New(slog.DiscardHandler), Config: ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(),
			APIKeys: booking + ":booking," + ops + ":ops", Events: events.Config{Poll: 20 * time.Millisecond,
				Webhooks: events.WebhookConfig{URLPolicy: events.URLPolicy{AllowPrivate: true},
					BackoffBase: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}}}}
		if err := m.Open(t.Context()); err != nil {
			t.Fatalf("Open: %v", err)
		}
		return m
	}
	first := start()
	if st := call(t, first, http.MethodPost, "/v1/webhooks", booking, map[string]string{"url": hook.URL, "secret": recv.secret}, nil); st != http.StatusCreated {
		t.Fatalf("create webhook: %d", st)
	}
	now := time.Now().UTC()
	home := doorstep.Location{Lat: 52.52, Lng: 13.405}
	w := doorstep.Worker{ID: "w-1", Skills: []string{"cleaning"}, Home: home, Rating: 5,
		Shifts: []doorstep.Shift{{Start: now.Add(-time.Hour), End: now.Add(12 * time.Hour)}}}
	if st := call(t, first, http.MethodPut, "/v1/workers/w-1", ops, w, nil); st != http.StatusCreated {
		t.Fatalf("put worker: %d", st)
	}
	var b struct{ ID string }
	if st := call(t, first, http.MethodPost, "/v1/bookings", booking, map[string]any{"service": "cleaning", "urgency": "normal", "location": home}, &b); st != http.StatusCreated {
		t.Fatalf("book: %d", st)
	}
	// The receiver is down: the server tries, and stops.
	for tries, _ := recv.state(); tries == 0; tries, _ = recv.state() {
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// A change made by a process that died before any relay: its event
	// is only in the region's outbox.
	st, err := store.Open(t.Context(), store.Config{URL: rs.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CancelBooking(context.Background(), b.ID, now); err != nil {
		t.Fatal(err)
	}
	keys, _ := api.ParseKeys(booking + ":booking")
	tenant := keys[0].ID
	if evs, err := st.ReadEvents(t.Context(), tenant, "", 10); err != nil || len(evs) != 1 {
		t.Fatalf("before the restart the tenant's stream holds %v (%v), want the creation only", evs, err)
	}

	recv.down.Store(false)
	second := start()
	defer second.Close()
	type event struct {
		ID, Type  string
		BookingID string `json:"booking_id"`
	}
	var got []event
	deadline := time.Now().Add(30 * time.Second)
	for after := ""; len(got) < 2 && time.Now().Before(deadline); {
		var list struct {
			Events []event `json:"events"`
			Next   string  `json:"next"`
		}
		if st := call(t, second, http.MethodGet, "/v1/events?wait=5&after="+after, booking, nil, &list); st != http.StatusOK {
			t.Fatalf("GET /v1/events: %d", st)
		}
		got, after = append(got, list.Events...), list.Next
	}
	if len(got) != 2 || got[0].Type != "booking.created" || got[1].Type != "booking.cancelled" || got[1].BookingID != b.ID {
		t.Fatalf("after the restart: %+v, want created and cancelled", got)
	}
	want := []string{got[0].ID, got[1].ID}
	for _, ids := recv.state(); !slices.Equal(ids, want); _, ids = recv.state() {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %v, want %v", ids, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
