package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// BenchmarkBookHTTPBusy is POST /v1/bookings end to end, as
// BenchmarkBookHTTP, in a city too small for its demand: 200 workers take
// 1,000 bookings, 30% urgent (60 minutes), the rest normal (120 minutes,
// a three-hour window within the shift), so that past the first few
// hundred many requests find nobody free and the server looks for room
// (matcher.PlanRescue) before it answers 201 or 422. It reports the
// latency percentiles over every request, the share answered 201 and how
// many were 503 (past the request deadline: a loaded machine).
func BenchmarkBookHTTPBusy(b *testing.B) {
	const n = 200
	b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
		ts := apitest.New(b, apitest.Options{Now: func() time.Time { return benchNow },
			Configure: func(c *api.Config) { c.Limits = api.Limits{RatePerKey: -1} }})
		seedCity(b, ts.Store, n, 1)
		services := doorstep.DefaultCatalogue().Names()
		rng := rand.New(rand.NewPCG(4, 4))
		var samples []time.Duration
		created, unavailable := 0, 0
		b.ReportAllocs()
		for b.Loop() {
			req := map[string]any{"service": services[rng.IntN(len(services))], "location": cityPoint(rng)}
			if rng.IntN(10) < 3 {
				req["urgency"], req["duration_minutes"] = "urgent", 60
			} else {
				start := benchNow.Add(time.Duration(rng.IntN(7*60)) * time.Minute)
				req["urgency"], req["duration_minutes"] = "normal", 120
				req["window"] = doorstep.Window{Start: start, End: start.Add(3 * time.Hour)}
			}
			body, _ := json.Marshal(req)
			t0 := time.Now()
			resp, err := ts.Client.Post(ts.URL+"/v1/bookings", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			samples = append(samples, time.Since(t0))
			switch resp.StatusCode {
			case http.StatusCreated:
				created++
			case http.StatusUnprocessableEntity:
			case http.StatusServiceUnavailable:
				unavailable++ // over the request deadline on a loaded machine
			default:
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
		reportLatency(b, samples)
		b.ReportMetric(float64(created)/float64(len(samples)), "created")
		b.ReportMetric(float64(unavailable), "unavailable")
	})
}
