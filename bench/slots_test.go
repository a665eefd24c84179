package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// weekAppointments is how many appointments seedWeek books over the week
// before measuring, so that the timelines read are not empty.
const weekAppointments = 1000

// seedWeek stores n workers of the city (seedCity's people) working
// 08:00-17:00 UTC on five of the seven days from benchNow's, then books
// weekAppointments appointments of two hours at random places and days.
func seedWeek(tb testing.TB, ts *apitest.Harness, n int) {
	tb.Helper()
	services := doorstep.DefaultCatalogue().Names()
	rng := rand.New(rand.NewPCG(7, 1))
	day0 := benchNow.Truncate(24 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	workers := make([]*doorstep.Worker, n)
	for i := range workers {
		w := cityWorker(rng, i, services)
		w.Shifts = nil
		off := rng.IntN(7)
		for d := range 7 {
			if d == off || d == (off+3)%7 {
				continue
			}
			day := day0.AddDate(0, 0, d)
			w.Shifts = append(w.Shifts, doorstep.Shift{Start: day.Add(8 * time.Hour), End: day.Add(17 * time.Hour)})
		}
		workers[i] = w
	}
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				if _, err := ts.Store.PutWorker(context.Background(), workers[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatalf("seed week: %v", err)
	}
	for range weekAppointments {
		start := day0.AddDate(0, 0, 1+rng.IntN(6)).Add(time.Duration(8+rng.IntN(7)) * time.Hour)
		req := doorstep.Request{Service: services[rng.IntN(len(services))], Location: cityPoint(rng), Urgency: doorstep.Normal,
			Window: &doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}}
		if _, err := ts.Service.Book(context.Background(), req, ""); err != nil && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
			tb.Fatalf("seed week: book: %v", err)
		}
	}
}

// BenchmarkSlotsHTTP is POST /v1/slots end to end for a 7-day range in
// windows of two hours (84 windows), on real Redis, against POST /v1/match
// of the same (windowless) requests in the same run as the baseline.
func BenchmarkSlotsHTTP(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
			ts := apitest.New(b, apitest.Options{Now: func() time.Time { return benchNow },
				Configure: func(c *api.Config) { c.Limits = api.Limits{RatePerKey: -1} }}) // latency, not policy
			seedWeek(b, ts, n)
			services := doorstep.DefaultCatalogue().Names()
			post := func(b *testing.B, path string, body func(req map[string]any) any) {
				rng := rand.New(rand.NewPCG(3, 3))
				var samples []time.Duration
				b.ReportAllocs()
				for b.Loop() {
					req := map[string]any{"service": services[rng.IntN(len(services))], "urgency": "normal",
						"location": cityPoint(rng), "duration_minutes": 60}
					data, _ := json.Marshal(body(req))
					t0 := time.Now()
					resp, err := ts.Client.Post(ts.URL+path, "application/json", bytes.NewReader(data))
					if err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
					samples = append(samples, time.Since(t0))
					if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnprocessableEntity {
						b.Fatalf("%s: status %d", path, resp.StatusCode)
					}
				}
				reportLatency(b, samples)
			}
			b.Run("slots", func(b *testing.B) {
				post(b, "/v1/slots", func(req map[string]any) any {
					return map[string]any{"request": req, "from": benchNow, "to": benchNow.Add(7 * 24 * time.Hour), "slot_minutes": 120, "limit": 20}
				})
			})
			b.Run("match", func(b *testing.B) {
				post(b, "/v1/match", func(req map[string]any) any { return req })
			})
		})
	}
}
