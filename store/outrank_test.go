package store

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// TestOutrankBeyondIsDistanceKm: the latitudes' shortcut of
// Outrank.beyond answers as geo.DistanceKm does, on random places around
// cities from the equator to the far north, with distances from none to
// 30 km, and on places due north and south of the request at the
// distance itself, where rounding decides. It fails if the shortcut
// outranks a worker DistanceKm would not (a shorter arc, no margin).
func TestOutrankBeyondIsDistanceKm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cities := []doorstep.Location{{Lat: 40.73, Lng: -73.99}, {Lat: -33.87, Lng: 151.21}, {Lat: 0.1, Lng: 32.58}, {Lat: 64.15, Lng: -21.94}, {Lat: 52.52, Lng: 13.405}}
	const degKm = geo.EarthRadiusKm * math.Pi / 180
	short := 0
	for range 200_000 {
		to := cities[rng.IntN(len(cities))]
		o := Outrank{To: to, Km: rng.Float64() * 30}
		loc := doorstep.Location{Lat: to.Lat + (rng.Float64()-0.5)*0.6, Lng: to.Lng + (rng.Float64()-0.5)*0.6}
		if rng.IntN(4) == 0 { // due north or south, at the distance
			loc = doorstep.Location{Lat: to.Lat + math.Copysign(o.Km/degKm, rng.Float64()-0.5), Lng: to.Lng}
			if rng.IntN(2) == 0 {
				loc.Lat = math.Nextafter(loc.Lat, loc.Lat+math.Copysign(1, loc.Lat-to.Lat))
			}
		}
		want := geo.DistanceKm(loc, to) > o.Km
		if got := o.beyond(loc); got != want {
			t.Fatalf("%v from %v, %v km: beyond %v, DistanceKm %v", loc, to, o.Km, got, geo.DistanceKm(loc, to))
		}
		if geo.EarthRadiusKm*math.Abs(loc.Lat-to.Lat)*math.Pi/180 > o.Km*(1+1e-9)+1e-9 {
			short++
		}
	}
	if short < 50_000 {
		t.Errorf("the latitudes decided %d of 200,000: the shortcut was hardly taken", short)
	}
}
