package geo

import (
	"fmt"
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// TravelModel turns a trip into minutes. It is an interface so that a
// road-network engine can replace the straight-line model.
type TravelModel interface {
	// Travel returns the time to go from a to b when leaving at depart.
	Travel(a, b doorstep.Location, depart time.Time) time.Duration
	// ReachKm returns an upper bound on the straight-line distance that can
	// be covered in d at any hour: candidate search never looks further.
	ReachKm(d time.Duration) float64
}

// Linear is the default travel model: great-circle distance times a detour
// factor, at a speed that may depend on the hour of departure, plus a fixed
// overhead (parking, stairs, finding the door). A trip between points closer
// than SamePlaceKm takes no time at all (the worker stays where it is).
type Linear struct {
	// Detour is the ratio of road distance to straight-line distance.
	// Zero means 1.3.
	Detour float64
	// SpeedKmh is the average road speed. Zero means 25 km/h.
	SpeedKmh float64
	// HourSpeedKmh optionally overrides SpeedKmh for departures in a given
	// hour of the day (in depart's time zone); a zero entry means SpeedKmh.
	HourSpeedKmh [24]float64
	// Overhead is added to every trip. Zero means 5 minutes; use a negative
	// value for none.
	Overhead time.Duration
}

// SamePlaceKm is the distance below which two places are the same place.
const SamePlaceKm = 0.01

var _ TravelModel = Linear{}

// Defaults of the Linear model.
const (
	DefaultDetour   = 1.3
	DefaultSpeedKmh = 25.0
	DefaultOverhead = 5 * time.Minute
)

// Validate rejects impossible settings.
func (m Linear) Validate() error {
	if m.Detour != 0 && (m.Detour < 1 || m.Detour > 5 || math.IsNaN(m.Detour)) {
		return fmt.Errorf("travel model: detour %v must be in [1, 5]", m.Detour)
	}
	if m.SpeedKmh != 0 && !(m.SpeedKmh > 0 && m.SpeedKmh <= 200) {
		return fmt.Errorf("travel model: speed %v km/h must be in (0, 200]", m.SpeedKmh)
	}
	for h, s := range m.HourSpeedKmh {
		if s != 0 && !(s > 0 && s <= 200) {
			return fmt.Errorf("travel model: speed for hour %d %v km/h must be in (0, 200]", h, s)
		}
	}
	if m.Overhead > time.Hour {
		return fmt.Errorf("travel model: overhead %v exceeds an hour", m.Overhead)
	}
	return nil
}

func (m Linear) detour() float64 {
	if m.Detour == 0 {
		return DefaultDetour
	}
	return m.Detour
}

func (m Linear) speed(hour int) float64 {
	if s := m.HourSpeedKmh[hour]; s != 0 {
		return s
	}
	if m.SpeedKmh == 0 {
		return DefaultSpeedKmh
	}
	return m.SpeedKmh
}

func (m Linear) overhead() time.Duration {
	switch {
	case m.Overhead == 0:
		return DefaultOverhead
	case m.Overhead < 0:
		return 0
	}
	return m.Overhead
}

// Travel implements TravelModel. The result is rounded up to the second.
func (m Linear) Travel(a, b doorstep.Location, depart time.Time) time.Duration {
	return m.TravelKm(DistanceKm(a, b), depart)
}

// TravelKm is Travel for a known great-circle distance.
func (m Linear) TravelKm(km float64, depart time.Time) time.Duration {
	if km < SamePlaceKm {
		return 0
	}
	hours := km * m.detour() / m.speed(depart.Hour())
	return m.overhead() + time.Duration(math.Ceil(hours*3600))*time.Second
}

// ReachKm implements TravelModel.
func (m Linear) ReachKm(d time.Duration) float64 {
	d -= m.overhead()
	if d <= 0 {
		return SamePlaceKm
	}
	fastest := m.speed(0)
	for h := range 24 {
		fastest = max(fastest, m.speed(h))
	}
	// Never below SamePlaceKm: such trips take no time at all.
	return max(d.Hours()*fastest/m.detour(), SamePlaceKm)
}
