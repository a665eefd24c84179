package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/internal/apitest"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// openRedisStore starts a private redis-server and opens the store on it.
func openRedisStore(tb testing.TB) *store.Store {
	tb.Helper()
	srv := storetest.RunRedis(tb)
	st, err := store.Open(context.Background(), store.Config{URL: srv.URL()})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// reportLatency reports the p50 and p99 of samples as custom metrics.
func reportLatency(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	q := func(p float64) float64 { return float64(samples[int(p*float64(len(samples)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.50), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
}

// BenchmarkQuoteRedis is one POST /v1/match without HTTP: candidates read
// from a real Redis by H3 ring, then ranked by the matcher.
// The case "protected" prices normal requests under an urgent profile of
// 0.1 calls an hour per worker on duty for every skill at every hour (as
// doorstep serve -urgent-profile does).
func BenchmarkQuoteRedis(b *testing.B) {
	var flat [24]float64
	for h := range flat {
		flat[h] = 0.1
	}
	profile := &matcher.UrgentProfile{Rate: map[string][24]float64{}}
	for _, name := range doorstep.DefaultCatalogue().Names() {
		profile.Rate[doorstep.DefaultCatalogue()[name].Skill] = flat
	}
	protected, err := matcher.New(matcher.Config{Urgent: profile})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		n int
		m *matcher.Matcher
	}{{1000, nil}, {10000, nil}, {10000, protected}, {100000, nil}} {
		name := fmt.Sprintf("workers=%d", c.n)
		if c.m != nil {
			name += "/protected"
		}
		n := c.n
		b.Run(name, func(b *testing.B) {
			st := openRedisStore(b)
			seedCity(b, st, n, 1)
			svc, err := dispatch.New(dispatch.Config{Store: st, Matcher: c.m, Now: func() time.Time { return benchNow }})
			if err != nil {
				b.Fatal(err)
			}
			quoteLoop(b, svc)
		})
	}
}

// quoteLoop quotes city requests (the same sequence every call) through
// svc and reports the latency quantiles.
func quoteLoop(b *testing.B, svc *dispatch.Service) { quoteLoopAs(b, svc, "", 0) }

// quoteLoopAs is quoteLoop for API key owner, each request of one of
// customers customers (none: 0), whose last workers the quotes read.
func quoteLoopAs(b *testing.B, svc *dispatch.Service, owner string, customers int) {
	services := doorstep.DefaultCatalogue().Names()
	rng := rand.New(rand.NewPCG(2, 2))
	ctx := context.Background()
	var samples []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		req := cityRequest(rng, services)
		if customers > 0 {
			req.CustomerID = fmt.Sprintf("c%05d", rng.IntN(customers))
		}
		t0 := time.Now()
		_, err := svc.Quote(ctx, req, owner)
		samples = append(samples, time.Since(t0))
		if err != nil && doorstep.ErrorCode(err) != doorstep.EUNSERVABLE {
			b.Fatal(err)
		}
	}
	reportLatency(b, samples)
}

// serveGCPercent mirrors what doorstep serve sets when GOGC is unset
// (cmd/doorstep.ServeGCPercent), so the benchmark measures the server as
// it runs.
const serveGCPercent = 400

// BenchmarkBookHTTP is POST /v1/bookings end to end: HTTP, validation,
// candidates from a real Redis, matching, and the atomic Lua reservation.
func BenchmarkBookHTTP(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
			ts := apitest.New(b, apitest.Options{Now: func() time.Time { return benchNow },
				Configure: func(c *api.Config) { c.Limits = api.Limits{RatePerKey: -1} }}) // latency, not policy
			seedCity(b, ts.Store, n, 1)
			services := doorstep.DefaultCatalogue().Names()
			rng := rand.New(rand.NewPCG(3, 3))
			var samples []time.Duration
			client := ts.Client
			b.ReportAllocs()
			for b.Loop() {
				body, _ := json.Marshal(map[string]any{
					"service": services[rng.IntN(len(services))], "urgency": "normal",
					"location": cityPoint(rng), "duration_minutes": 60,
				})
				t0 := time.Now()
				resp, err := client.Post(ts.URL+"/v1/bookings", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				samples = append(samples, time.Since(t0))
				if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusUnprocessableEntity {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			reportLatency(b, samples)
		})
	}
}
