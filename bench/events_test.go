package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// BenchmarkEvents measures integrator events on a real Redis, one server
// as doorstep serve runs it (relay and webhook deliveries on, default
// poll): POST /v1/bookings with events on and off, alternating booking by
// booking in the same run (store.SetEvents), and the latency from a
// booking request to its event's webhook delivery at a local receiver
// (from the request sent, and from its answer: the change is committed
// between the two).
func BenchmarkEvents(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
	ts := apitest.New(b, apitest.Options{Now: func() time.Time { return benchNow },
		Configure: func(c *api.Config) { c.Limits = api.Limits{RatePerKey: -1} },
		Events:    func(c *events.Config) { c.Webhooks.AllowPrivate = true }})
	seedCity(b, ts.Store, 1000, 1)

	var mu sync.Mutex
	arrived := map[string]time.Time{} // booking id -> first delivery
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			BookingID string `json:"booking_id"`
		}
		json.Unmarshal(body, &ev)
		mu.Lock()
		if _, ok := arrived[ev.BookingID]; !ok {
			arrived[ev.BookingID] = t
		}
		mu.Unlock()
	}))
	defer recv.Close()
	hook, _ := json.Marshal(map[string]string{"url": recv.URL})
	if res, err := ts.Client.Post(ts.URL+"/v1/webhooks", "application/json", bytes.NewReader(hook)); err != nil || res.StatusCode != http.StatusCreated {
		b.Fatalf("create webhook: %v %v", res, err)
	}

	services := doorstep.DefaultCatalogue().Names()
	rng := rand.New(rand.NewPCG(5, 5))
	type sent struct{ start, answered time.Time }
	booked := map[string]sent{}
	var on, off []time.Duration
	unavailable := 0
	book := func(events bool) {
		ts.Store.SetEvents(events)
		body, _ := json.Marshal(map[string]any{"service": services[rng.IntN(len(services))], "urgency": "normal",
			"location": cityPoint(rng), "duration_minutes": 60})
		t0 := time.Now()
		res, err := ts.Client.Post(ts.URL+"/v1/bookings", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		t1 := time.Now()
		if events {
			on = append(on, t1.Sub(t0))
		} else {
			off = append(off, t1.Sub(t0))
		}
		switch res.StatusCode {
		case http.StatusCreated:
			var bk struct{ ID string }
			json.Unmarshal(data, &bk)
			if events {
				booked[bk.ID] = sent{t0, t1}
			}
		case http.StatusUnprocessableEntity:
		case http.StatusServiceUnavailable:
			unavailable++ // the request deadline passed: a starved machine
		default:
			b.Fatalf("status %d: %s", res.StatusCode, data)
		}
	}
	// Blocks of 50 bookings, on and off in turn: the relay and deliveries
	// an event starts run beside the bookings after it, so a block, not a
	// single booking, is the unit (only a block's first bookings see the
	// other mode's background work).
	const block = 50
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		book(i/block%2 == 0)
		i++
	}
	ts.Store.SetEvents(true)
	// Wait for every delivery (bounded).
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := 0
		for id := range booked {
			if _, ok := arrived[id]; ok {
				n++
			}
		}
		mu.Unlock()
		if n == len(booked) {
			break
		}
		if time.Now().After(end) {
			b.Fatalf("%d of %d events delivered within 30 s", n, len(booked))
		}
	}
	var fromSent, fromAnswer []time.Duration
	for id, s := range booked {
		fromSent = append(fromSent, arrived[id].Sub(s.start))
		fromAnswer = append(fromAnswer, arrived[id].Sub(s.answered))
	}
	q := func(xs []time.Duration, p float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		slices.Sort(xs)
		return float64(xs[int(p*float64(len(xs)-1))].Nanoseconds())
	}
	b.ReportMetric(q(on, 0.5), "book-on-p50-ns")
	b.ReportMetric(q(on, 0.99), "book-on-p99-ns")
	b.ReportMetric(q(off, 0.5), "book-off-p50-ns")
	b.ReportMetric(q(off, 0.99), "book-off-p99-ns")
	b.ReportMetric(q(fromSent, 0.5), "deliver-from-request-p50-ns")
	b.ReportMetric(q(fromSent, 0.99), "deliver-from-request-p99-ns")
	b.ReportMetric(q(fromAnswer, 0.5), "deliver-from-answer-p50-ns")
	b.ReportMetric(q(fromAnswer, 0.99), "deliver-from-answer-p99-ns")
	if len(off) > 0 && q(off, 0.99) > 0 {
		b.ReportMetric(q(on, 0.99)/q(off, 0.99), "p99-on/off")
	}
	b.ReportMetric(float64(unavailable), "unavailable")
	b.Logf("%d bookings with events (%d delivered), %d without", len(on), len(booked), len(off))
}
