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

// BenchmarkProgressHTTP is the cost of a job progress report end to end
// (POST /v1/bookings/{id}/progress: HTTP, the booking and its worker's
// bookings read from a real Redis, the lifecycle, the re-plan check and
// the atomic Lua step), beside a booking (POST /v1/bookings) in the same
// run, on a city of 1,000 workers. Every iteration books a normal job; the
// case op=book times the booking, the cases op=progress/* time one report
// of the job just booked: en_route, and en_route with a position (which
// also moves the worker's position index). p50-ns and p99-ns are the
// timed call's; ns/op counts the whole iteration.
func BenchmarkProgressHTTP(b *testing.B) {
	for _, op := range []string{"book", "progress/en_route", "progress/en_route+position"} {
		b.Run("workers=1000/op="+op, func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
			ts := apitest.New(b, apitest.Options{Now: func() time.Time { return benchNow },
				Configure: func(c *api.Config) { c.Limits = api.Limits{RatePerKey: -1} }}) // latency, not policy
			seedCity(b, ts.Store, 1000, 1)
			services := doorstep.DefaultCatalogue().Names()
			rng := rand.New(rand.NewPCG(4, 4))
			post := func(path string, body any, want int) (time.Duration, []byte) {
				data, _ := json.Marshal(body)
				t0 := time.Now()
				resp, err := ts.Client.Post(ts.URL+path, "application/json", bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				var out bytes.Buffer
				out.ReadFrom(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != want {
					b.Fatalf("%s: status %d, want %d: %s", path, resp.StatusCode, want, out.Bytes())
				}
				return d, out.Bytes()
			}
			var samples []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				at := cityPoint(rng)
				d, raw := post("/v1/bookings", map[string]any{
					"service": services[rng.IntN(len(services))], "urgency": "normal",
					"location": at, "duration_minutes": 60,
				}, http.StatusCreated)
				if op == "book" {
					samples = append(samples, d)
					continue
				}
				var bk struct {
					ID string `json:"id"`
				}
				if err := json.Unmarshal(raw, &bk); err != nil {
					b.Fatal(err)
				}
				body := map[string]any{"status": "en_route"}
				if op == "progress/en_route+position" {
					body["position"] = at
				}
				d, _ = post(fmt.Sprintf("/v1/bookings/%s/progress", bk.ID), body, http.StatusOK)
				samples = append(samples, d)
			}
			reportLatency(b, samples)
		})
	}
}
