package geo_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

var (
	nineUTC  = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	newYork  = mustLoadLocation("America/New_York")
	rushHour = func() [24]float64 {
		var h [24]float64
		h[8] = 10 // 08:00-08:59: 10 km/h
		h[22] = 50
		return h
	}()
)

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestLinearTravelKm(t *testing.T) {
	tests := []struct {
		name   string
		model  geo.Linear
		km     float64
		depart time.Time
		want   time.Duration
	}{
		// 5 min + 10 km * 1.3 / 25 km/h = 5 min + 31.2 min.
		{"defaults, 10 km", geo.Linear{}, 10, nineUTC, 36*time.Minute + 12*time.Second},
		{"defaults, 0 km", geo.Linear{}, 0, nineUTC, 0},
		{"defaults, just under the same place", geo.Linear{}, geo.SamePlaceKm * 0.999, nineUTC, 0},
		// 0.01 km * 1.3 / 25 km/h = 1.872 s, rounded up to 2 s.
		{"defaults, at the same-place threshold", geo.Linear{}, geo.SamePlaceKm, nineUTC, 5*time.Minute + 2*time.Second},
		{"rounded up to the second", geo.Linear{Detour: 1, SpeedKmh: 36, Overhead: -1}, 0.0101, nineUTC, 2 * time.Second},
		{"explicit defaults", geo.Linear{Detour: 1.3, SpeedKmh: 25, Overhead: 5 * time.Minute}, 10, nineUTC, 36*time.Minute + 12*time.Second},
		{"negative overhead is none", geo.Linear{Overhead: -time.Second}, 10, nineUTC, 31*time.Minute + 12*time.Second},
		{"custom overhead", geo.Linear{Overhead: 2 * time.Minute}, 10, nineUTC, 33*time.Minute + 12*time.Second},
		{"custom detour and speed", geo.Linear{Detour: 1, SpeedKmh: 60}, 10, nineUTC, 15 * time.Minute},
		// 5 min + 10 * 1.3 / 10 h = 5 + 78 min.
		{"hour override applies in its hour", geo.Linear{HourSpeedKmh: rushHour}, 10, nineUTC.Add(-30 * time.Minute), 83 * time.Minute},
		{"hour override from its first second", geo.Linear{HourSpeedKmh: rushHour}, 10, nineUTC.Add(-time.Hour), 83 * time.Minute},
		{"hour override ends with its hour", geo.Linear{HourSpeedKmh: rushHour}, 10, nineUTC, 36*time.Minute + 12*time.Second},
		{"hour override beats SpeedKmh", geo.Linear{SpeedKmh: 100, HourSpeedKmh: rushHour}, 10, nineUTC.Add(-time.Minute), 83 * time.Minute},
		{"zero hour entries mean SpeedKmh", geo.Linear{SpeedKmh: 13, HourSpeedKmh: rushHour}, 10, nineUTC, 65 * time.Minute},
		// 13:30 UTC is 08:30 in New York (EST in November): the rush hour.
		{"hour in depart's time zone", geo.Linear{HourSpeedKmh: rushHour}, 10, time.Date(2026, 11, 23, 13, 30, 0, 0, time.UTC).In(newYork), 83 * time.Minute},
		{"same instant in UTC is not the rush hour", geo.Linear{HourSpeedKmh: rushHour}, 10, time.Date(2026, 11, 23, 13, 30, 0, 0, time.UTC), 36*time.Minute + 12*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.model.TravelKm(tt.km, tt.depart); got != tt.want {
				t.Errorf("TravelKm(%v, %v) = %v, want %v", tt.km, tt.depart, got, tt.want)
			}
		})
	}
}

func TestLinearTravel(t *testing.T) {
	north := doorstep.Location{Lat: paris.Lat + 10/degreeKm, Lng: paris.Lng} // 10 km north
	tests := []struct {
		name string
		a, b doorstep.Location
		want time.Duration
	}{
		{"10 km", paris, north, 36*time.Minute + 12*time.Second},
		{"10 km back", north, paris, 36*time.Minute + 12*time.Second},
		{"same place", paris, paris, 0},
		{"five metres away is the same place", paris, doorstep.Location{Lat: paris.Lat + 0.005/degreeKm, Lng: paris.Lng}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (geo.Linear{}).Travel(tt.a, tt.b, nineUTC); got != tt.want {
				t.Errorf("Travel(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
	// Travel is TravelKm of the great-circle distance.
	r := rand.New(rand.NewPCG(21, 22))
	m := geo.Linear{HourSpeedKmh: rushHour}
	for range 1000 {
		a := randomLocation(r)
		b := offset(a, r.Float64()*40, r.Float64()*2*math.Pi)
		depart := nineUTC.Add(time.Duration(r.IntN(24*3600)) * time.Second)
		if got, want := m.Travel(a, b, depart), m.TravelKm(geo.DistanceKm(a, b), depart); got != want {
			t.Fatalf("Travel(%v, %v, %v) = %v, TravelKm of the distance = %v", a, b, depart, got, want)
		}
	}
}

func TestLinearReachKm(t *testing.T) {
	tests := []struct {
		name  string
		model geo.Linear
		d     time.Duration
		want  float64
	}{
		// 55 min * 25 km/h / 1.3.
		{"defaults, the urgent hour", geo.Linear{}, time.Hour, 55.0 / 60 * 25 / 1.3},
		{"defaults, the overhead only", geo.Linear{}, 5 * time.Minute, geo.SamePlaceKm},
		{"defaults, less than the overhead", geo.Linear{}, time.Minute, geo.SamePlaceKm},
		{"defaults, negative", geo.Linear{}, -time.Hour, geo.SamePlaceKm},
		{"a second past the overhead is still the same place", geo.Linear{}, 5*time.Minute + time.Second, geo.SamePlaceKm},
		{"no overhead", geo.Linear{Overhead: -1}, time.Hour, 25 / 1.3},
		{"the fastest hour counts", geo.Linear{HourSpeedKmh: rushHour}, time.Hour, 55.0 / 60 * 50 / 1.3},
		{"a slower hour does not", geo.Linear{SpeedKmh: 30, HourSpeedKmh: [24]float64{3: 20}}, time.Hour, 55.0 / 60 * 30 / 1.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.model.ReachKm(tt.d); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("ReachKm(%v) = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
}

// TestLinearReachKmBound: ReachKm(t) is an upper bound on how far one can
// get in t at any hour (beyond it, Travel > t), and, when the speed does not
// depend on the hour, a tight one (within it, Travel <= t). With hourly
// speeds, the bound is tight only at the fastest hour.
func TestLinearReachKmBound(t *testing.T) {
	tests := []struct {
		name  string
		model geo.Linear
		tight bool // Travel <= t within ReachKm(t) at every hour
	}{
		{"defaults", geo.Linear{}, true},
		{"no overhead", geo.Linear{Overhead: -1}, true},
		{"fast and straight", geo.Linear{Detour: 1, SpeedKmh: 90, Overhead: 30 * time.Second}, true},
		{"hourly speeds", geo.Linear{HourSpeedKmh: rushHour}, false},
	}
	r := rand.New(rand.NewPCG(23, 24))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5000 {
				limit := time.Duration(r.IntN(3*3600)) * time.Second
				reach := tt.model.ReachKm(limit)
				inside := reach * r.Float64() * (1 - 1e-9)
				beyond := reach*(1+1e-9) + r.Float64()*0.01
				for h := range 24 {
					depart := nineUTC.Add(time.Duration(h) * time.Hour)
					if got := tt.model.TravelKm(beyond, depart); got <= limit {
						t.Fatalf("ReachKm(%v) = %v km, but %v km takes %v at %v", limit, reach, beyond, got, depart)
					}
					fastest := depart.Hour() == 22 || tt.tight // rushHour is fastest at 22:00
					if got := tt.model.TravelKm(inside, depart); fastest && got > limit {
						t.Fatalf("ReachKm(%v) = %v km, but %v km takes %v at %v", limit, reach, inside, got, depart)
					}
				}
			}
		})
	}
}

func TestLinearValidate(t *testing.T) {
	tests := []struct {
		name    string
		model   geo.Linear
		wantErr bool
	}{
		{"zero value", geo.Linear{}, false},
		{"explicit defaults", geo.Linear{Detour: geo.DefaultDetour, SpeedKmh: geo.DefaultSpeedKmh, Overhead: geo.DefaultOverhead}, false},
		{"detour 1", geo.Linear{Detour: 1}, false},
		{"detour 5", geo.Linear{Detour: 5}, false},
		{"detour below 1", geo.Linear{Detour: 0.99}, true},
		{"negative detour", geo.Linear{Detour: -1.3}, true},
		{"detour above 5", geo.Linear{Detour: 5.01}, true},
		{"NaN detour", geo.Linear{Detour: math.NaN()}, true},
		{"infinite detour", geo.Linear{Detour: math.Inf(1)}, true},
		{"speed 200", geo.Linear{SpeedKmh: 200}, false},
		{"negative speed", geo.Linear{SpeedKmh: -25}, true},
		{"speed above 200", geo.Linear{SpeedKmh: 201}, true},
		{"NaN speed", geo.Linear{SpeedKmh: math.NaN()}, true},
		{"infinite speed", geo.Linear{SpeedKmh: math.Inf(1)}, true},
		{"hourly speeds", geo.Linear{HourSpeedKmh: rushHour}, false},
		{"negative hourly speed", geo.Linear{HourSpeedKmh: [24]float64{17: -1}}, true},
		{"NaN hourly speed", geo.Linear{HourSpeedKmh: [24]float64{23: math.NaN()}}, true},
		{"hourly speed above 200", geo.Linear{HourSpeedKmh: [24]float64{0: 250}}, true},
		{"overhead an hour", geo.Linear{Overhead: time.Hour}, false},
		{"overhead above an hour", geo.Linear{Overhead: time.Hour + time.Second}, true},
		{"negative overhead is none", geo.Linear{Overhead: -time.Hour * 5}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.model.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
