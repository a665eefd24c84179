package geo_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

func benchPoints(n int) []doorstep.Location {
	r := rand.New(rand.NewPCG(31, 32))
	pts := make([]doorstep.Location, n)
	for i := range pts {
		pts[i] = doorstep.Location{Lat: 48.8 + r.Float64()*0.2, Lng: 2.2 + r.Float64()*0.3}
	}
	return pts
}

func BenchmarkDistanceKm(b *testing.B) {
	pts := benchPoints(1024)
	b.ReportAllocs()
	i, sum := 0, 0.0
	for b.Loop() {
		sum += geo.DistanceKm(pts[i&1023], pts[(i+1)&1023])
		i++
	}
	_ = sum
}

func BenchmarkTravel(b *testing.B) {
	pts := benchPoints(1024)
	depart := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	models := []struct {
		name string
		m    geo.TravelModel
	}{
		{"model=defaults", geo.Linear{}},
		{"model=hourly", geo.Linear{HourSpeedKmh: [24]float64{8: 10, 17: 12}}},
		{"model=table-hit", benchTable(b, pts, 1)},
		{"model=table-miss", benchTable(b, pts, 2)},
	}
	for _, mm := range models {
		b.Run(mm.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			var sum time.Duration
			for b.Loop() {
				sum += mm.m.Travel(pts[i&1023], pts[(i+1)&1023], depart)
				i++
			}
			_ = sum
		})
	}
}

func BenchmarkRingsFor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		geo.RingsFor(geo.IndexResolution, 17.6)
	}
}

// benchTable returns a table with a row for each trip pts[i] ->
// pts[i+step] (mod 1024): the benchmark's trips hit it with step 1.
func benchTable(tb testing.TB, pts []doorstep.Location, step int) *geo.Table {
	var sb strings.Builder
	sb.WriteString("from_cell,to_cell,minutes\n")
	seen := map[string]bool{}
	for i := range pts {
		row := fmt.Sprintf("%v,%v,%d\n", geo.IndexCell(pts[i]), geo.IndexCell(pts[(i+step)&1023]), 1+i%60)
		if !seen[row[:31]] {
			seen[row[:31]] = true
			sb.WriteString(row)
		}
	}
	return mustParseTable(tb, sb.String())
}
