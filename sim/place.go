package sim

import (
	"math"
	"math/rand/v2"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// kmPerDegree is the length of a degree of latitude.
const kmPerDegree = 111.32

// h3EdgeKm is the average H3 hexagon edge length by resolution (H3's
// published table), used to bound the rejection sampling of cells.
var h3EdgeKm = [16]float64{
	1281.256011, 483.0568391, 182.5129565, 68.97922179, 26.07175968, 9.854090990,
	3.724532667, 1.406475763, 0.531414010, 0.200786148, 0.075863783, 0.028663897,
	0.010830188, 0.004092010, 0.001546100, 0.000584169,
}

func (p *Place) weight() float64 {
	if p.Weight == 0 {
		return 1
	}
	return p.Weight
}

// offsetKm returns the point dx km east and dy km north of c.
func offsetKm(c doorstep.Location, dx, dy float64) doorstep.Location {
	lat := c.Lat + dy/kmPerDegree
	lng := c.Lng + dx/(kmPerDegree*math.Cos(c.Lat*math.Pi/180))
	return doorstep.Location{Lat: max(-90, min(90, lat)), Lng: max(-180, min(180, lng))}
}

// inDisc returns a uniform point of the disc of radius km around c.
func inDisc(r *rand.Rand, c doorstep.Location, km float64) doorstep.Location {
	if km <= 0 {
		return c
	}
	d := km * math.Sqrt(r.Float64())
	a := 2 * math.Pi * r.Float64()
	return offsetKm(c, d*math.Cos(a), d*math.Sin(a))
}

// point returns a uniform point of the place.
func (p *Place) point(r *rand.Rand) doorstep.Location {
	if p.Center != nil {
		return inDisc(r, *p.Center, p.RadiusKm)
	}
	// A hexagon lies within two average edges of its centre (cells vary in
	// size); sample that disc and keep the first point inside the cell.
	res := p.cell.Resolution()
	c := p.cell.Center()
	for range 64 {
		q := inDisc(r, c, 2*h3EdgeKm[res])
		if geo.CellOf(q, res) == p.cell {
			return q
		}
	}
	return c
}

// contains reports whether loc lies in the place.
func (p *Place) contains(loc doorstep.Location) bool {
	if p.Center != nil {
		return geo.DistanceKm(*p.Center, loc) <= p.RadiusKm
	}
	return geo.CellOf(loc, p.cell.Resolution()) == p.cell
}

// pick draws a place by weight; ps must not be empty.
func pick(r *rand.Rand, ps []Place) *Place {
	if len(ps) == 1 {
		return &ps[0]
	}
	total := 0.0
	for i := range ps {
		total += ps[i].weight()
	}
	x := r.Float64() * total
	for i := range ps {
		x -= ps[i].weight()
		if x < 0 {
			return &ps[i]
		}
	}
	return &ps[len(ps)-1]
}

// otherRegion is the region of points outside every named region.
const otherRegion = "other"

// regionOf names the report region of loc.
func (s *Scenario) regionOf(loc doorstep.Location) string {
	if len(s.Regions.Named) == 0 {
		return geo.CellOf(loc, s.Regions.H3Resolution).String()
	}
	for _, r := range s.Regions.Named {
		for i := range r.Places {
			if r.Places[i].contains(loc) {
				return r.Name
			}
		}
	}
	return otherRegion
}

// areaPlaces is the area as a list of one place.
func (s *Scenario) areaPlaces() []Place {
	c := s.Area.Center
	return []Place{{Center: &c, RadiusKm: s.Area.RadiusKm}}
}
