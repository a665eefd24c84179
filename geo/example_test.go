package geo_test

import (
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

func ExampleCellOf() {
	loc := doorstep.Location{Lat: 37.775938728915946, Lng: -122.41795063018799}
	fmt.Println(geo.CellOf(loc, 9))
	fmt.Println(geo.IndexCell(loc), geo.IndexCell(loc).Resolution())
	fmt.Println(geo.RegionOf(loc))
	// Output:
	// 8928308280fffff
	// 872830828ffffff 7
	// 832830fffffffff
}

func ExampleLinear_Travel() {
	paris := doorstep.Location{Lat: 48.8566, Lng: 2.3522}
	eiffel := doorstep.Location{Lat: 48.8584, Lng: 2.2945}
	depart := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

	var m geo.Linear // 1.3 detour, 25 km/h, 5 minutes' overhead
	fmt.Printf("%.2f km\n", geo.DistanceKm(paris, eiffel))
	fmt.Println(m.Travel(paris, eiffel, depart))
	fmt.Println(m.Travel(paris, paris, depart))
	fmt.Println(m.TravelKm(10, depart))

	m.HourSpeedKmh[9] = 10 // slow in the morning rush
	fmt.Println(m.TravelKm(10, depart))
	// Output:
	// 4.23 km
	// 18m12s
	// 0s
	// 36m12s
	// 1h23m0s
}
