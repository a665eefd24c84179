package geo_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// TestCoveredFromKm: every point within CoveredFromKm of a place lies in
// the disk of k rings around the place's cell (checked on points in every
// direction, just inside the distance, around places in three cities), and
// the figure is never short of CoveredKm's, and most often well beyond it.
func TestCoveredFromKm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	cities := []doorstep.Location{{Lat: 48.8566, Lng: 2.3522}, {Lat: 40.73, Lng: -73.99}, {Lat: -33.87, Lng: 151.21}}
	beyond, places := 0, 0
	for range 60 {
		c := cities[rng.IntN(len(cities))]
		loc := doorstep.Location{Lat: c.Lat + (rng.Float64()-0.5)*0.2, Lng: c.Lng + (rng.Float64()-0.5)*0.2}
		cell := geo.IndexCell(loc)
		disk := map[geo.Cell]bool{}
		for k := range 6 {
			for _, x := range geo.Rings(cell, k)[k] {
				disk[x] = true
			}
			covered := geo.CoveredFromKm(cell, loc, k)
			if conservative := geo.CoveredKm(geo.IndexResolution, k); covered < conservative {
				t.Fatalf("%v, %d rings: %.3f km, short of CoveredKm's %.3f", loc, k, covered, conservative)
			} else if covered > conservative+0.5 {
				beyond++
			}
			places++
			for i := range 360 {
				bearing := float64(i) * math.Pi / 180
				p := offset(loc, covered*0.999, bearing)
				if !disk[geo.IndexCell(p)] {
					t.Fatalf("%v, %d rings: %v at %.3f km (bearing %d°) lies outside the disk, CoveredFromKm says %.3f", loc, k, p, geo.DistanceKm(loc, p), i, covered)
				}
			}
		}
	}
	if beyond < places/2 {
		t.Errorf("CoveredFromKm beat CoveredKm by half a kilometre at only %d of %d places and ring counts", beyond, places)
	}
}
