package geo_test

import (
	"math/rand/v2"
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
