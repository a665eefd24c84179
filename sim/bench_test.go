package sim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/doorstep-dev/doorstep/sim"
)

// BenchmarkCityDay simulates testdata/cityday.json: a city-day of 2,000
// workers (four shift patterns) and about 40,000 requests (15% urgent, 40%
// of normal ones with a window) under the batch policy every 60 seconds.
// The target is under 30 s an operation on a 2-core machine.
//
//	go test ./sim -run '^$' -bench CityDay -benchtime 1x -count 3
func BenchmarkCityDay(b *testing.B) {
	s := mustScenario(b, "testdata/cityday.json")
	workers := 0
	for _, g := range s.Roster.Groups {
		workers += g.Count
	}
	requests := int(s.Demand.Synthetic.RequestsPerHour * 24)
	b.Run(fmt.Sprintf("workers=%d/requests=%d/batch=%ds", workers, requests, s.Policy.BatchSeconds), func(b *testing.B) {
		b.ReportAllocs()
		var r *sim.Report
		for b.Loop() {
			var err error
			if r, err = sim.Run(context.Background(), s, sim.Options{}); err != nil {
				b.Fatal(err)
			}
		}
		t := r.Variants[0].Totals
		b.ReportMetric(float64(t.Requests), "requests")
		b.ReportMetric(float64(t.Requests)*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	})
}
