// Package geo holds points, Uber H3 cells and the travel-time model. It is
// pure and deterministic, and it is the only package that imports h3-go.
//
// # Resolutions
//
// Worker positions are indexed at IndexResolution (7): a hexagon of about
// 5.2 km² whose centre is about 2.1 km from its neighbours' — some six
// minutes of travel in the default model. Candidate search walks rings of
// that same resolution outwards from the request's cell: the urgent reach
// (the farthest a worker can be and still arrive within the hour, about
// 18 km with the defaults) is at most fourteen rings (631 cells, one
// pipelined round trip to Redis), and a dense city has enough candidates
// within one or two rings. A finer index (resolution 8: 0.74 km²) would
// need about seven times as many cell reads for the same reach without
// ranking any better, because candidates are ranked on exact distances, not
// on cells.
// A coarser one (resolution 6: 36 km²) would hand the matcher hundreds of
// needless candidates in a dense city.
//
// Keys are grouped by region, the RegionResolution (3) parent of a worker's
// home cell (about 12,000 km², a metropolitan area), so that one atomic
// Redis step may touch every worker of a city (DESIGN.md section 5).
//
// # Travel models
//
// Linear, the default, turns great-circle distance into minutes at an
// hourly speed. Table (ParseTable) takes measured times from data: a CSV of
// from_cell,to_cell,minutes and an optional hour (0-23) column, cells at
// TableResolution (the index resolution, 7) in H3's hexadecimal form, and
// a trip's ends mapped to cells by IndexCell. Rows are directed, a row for
// the departure hour wins over one for every hour, and Linear answers
// where the table is silent. Table.ReachKm stays a true upper bound, so
// the candidate search misses no worker a fast row brings within reach:
// it is the larger of Linear's reach and the widest span (centre distance
// plus both circumradii) of the rows no longer than the time given. The
// package reads no file: the caller opens it and hands ParseTable an
// io.Reader.
package geo

import (
	"fmt"
	"math"
	"strconv"

	"github.com/doorstep-dev/doorstep"
	"github.com/uber/h3-go/v4"
)

// Resolutions used by Doorstep; see the package documentation for why.
const (
	IndexResolution  = 7
	RegionResolution = 3
)

// EarthRadiusKm is the mean Earth radius used for great-circle distances.
const EarthRadiusKm = 6371.0088

// Cell is an H3 cell index.
type Cell uint64

// CellOf returns the cell of resolution res that contains loc.
// It panics if res is outside [0, 15]: that is a programmer error.
func CellOf(loc doorstep.Location, res int) Cell {
	if res < 0 || res > 15 {
		panic(fmt.Sprintf("geo: resolution %d out of range", res))
	}
	return Cell(h3.LatLngToCell(h3.NewLatLng(loc.Lat, loc.Lng), res))
}

// IndexCell is CellOf(loc, IndexResolution).
func IndexCell(loc doorstep.Location) Cell { return CellOf(loc, IndexResolution) }

// PrivacyCell is CellOf(loc, doorstep.PrivacyResolution): the cell, and
// with its Center the place, a customer's exact location is reduced to
// wherever it is kept beyond the job (a finished booking, a recent urgent
// call).
func PrivacyCell(loc doorstep.Location) Cell { return CellOf(loc, doorstep.PrivacyResolution) }

// RegionOf is the RegionResolution parent of IndexCell(loc): the region
// whose hash tag groups a worker's keys. It is not CellOf(loc,
// RegionResolution): H3 children do not tile their parent exactly, and a
// region must be a function of the index cell.
func RegionOf(loc doorstep.Location) Cell { return IndexCell(loc).Parent(RegionResolution) }

// String returns the cell in H3's canonical hexadecimal form.
func (c Cell) String() string { return strconv.FormatUint(uint64(c), 16) }

// ParseCell parses a cell in H3's hexadecimal form.
func ParseCell(s string) (Cell, error) {
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || !h3.Cell(v).IsValid() {
		return 0, fmt.Errorf("parse cell %q: not a valid H3 cell", s)
	}
	return Cell(v), nil
}

// The layout of an H3 cell index (H3's h3Index.h): the resolution in bits
// 52-55, then one 3-bit digit a resolution from 1 at bits 42-44 to 15 at
// bits 0-2, a digit past the cell's resolution set to 7. Resolution and
// Parent read and set them here rather than through a cgo call each: a
// search asks them of every cell it reads.
const (
	h3ResOffset = 52
	h3ResMask   = uint64(0xf) << h3ResOffset
	h3DigitBits = 3
	h3MaxRes    = 15
)

// Resolution returns the cell's resolution.
func (c Cell) Resolution() int { return int((uint64(c) & h3ResMask) >> h3ResOffset) }

// Parent returns the ancestor of c at resolution res (<= c's resolution).
func (c Cell) Parent(res int) Cell {
	cr := c.Resolution()
	if res < 0 || res > cr {
		return Cell(h3.Cell(c).Parent(res)) // h3 says what that is
	}
	x := uint64(c)&^h3ResMask | uint64(res)<<h3ResOffset
	for r := res + 1; r <= cr; r++ {
		x |= 7 << ((h3MaxRes - r) * h3DigitBits)
	}
	return Cell(x)
}

// Center returns the centre of the cell.
func (c Cell) Center() doorstep.Location {
	ll := h3.Cell(c).LatLng()
	return doorstep.Location{Lat: ll.Lat, Lng: ll.Lng}
}

// Boundary returns the cell's corners (five or six for most cells), in
// order around it.
func (c Cell) Boundary() []doorstep.Location {
	b := h3.Cell(c).Boundary()
	out := make([]doorstep.Location, len(b))
	for i, p := range b {
		out[i] = doorstep.Location{Lat: p.Lat, Lng: p.Lng}
	}
	return out
}

// Rings returns the cells at grid distance 0, 1, ..., k from c: element i
// is the ring at distance i (element 0 holds c itself).
func Rings(c Cell, k int) [][]Cell {
	rings := h3.Cell(c).GridDiskDistances(k)
	out := make([][]Cell, len(rings))
	for i, r := range rings {
		out[i] = make([]Cell, 0, len(r))
		for _, x := range r {
			if x != 0 {
				out[i] = append(out[i], Cell(x))
			}
		}
	}
	return out
}

// RingsFor returns the smallest k such that the disk of k rings around the
// cell (of resolution res) containing a point holds every point within
// radiusKm of it. It errs on the side of one ring too many.
func RingsFor(res int, radiusKm float64) int {
	edge := h3.HexagonEdgeLengthAvgKm(res)
	// A point may sit up to one edge from its cell's centre. Neighbouring
	// centres are sqrt(3)*edge apart, but the nearest cells k rings out lie
	// across a flat side of the ring, only k*sqrt(3)*edge*sqrt(3)/2 =
	// k*1.5*edge away; and cells vary in size and shape (the nearest seen
	// are about 0.84 of that), hence the margins.
	spacing := 1.5 * edge * 0.8
	k := int(math.Ceil((radiusKm + 2*edge) / spacing))
	return max(k, 1)
}

// CoveredKm is the inverse of RingsFor: every point within CoveredKm of a
// point lies in the disk of k rings (of resolution res) around the cell
// containing it, so a worker indexed outside the disk is farther than
// that. It errs on the short side, as RingsFor errs on the wide one.
func CoveredKm(res, k int) float64 {
	edge := h3.HexagonEdgeLengthAvgKm(res)
	spacing := 1.5 * edge * 0.8                   // as in RingsFor
	return max(float64(k)*spacing-2*edge-1e-9, 0) // short of rounding up
}

// ApartBeyondKm reports whether any two places at latitudes a and b
// (degrees) lie farther than km apart, as DistanceKm measures them,
// wherever their longitudes: a great circle between two parallels is no
// shorter than the meridian arc between them. The margin covers the
// rounding of both. A search outward from a place by latitude stops at
// the first parallel this is true of.
func ApartBeyondKm(a, b, km float64) bool {
	const rad = math.Pi / 180
	return EarthRadiusKm*math.Abs(a-b)*rad > km*(1+1e-9)+1e-9
}

// DistanceKm is the great-circle (haversine) distance between a and b. It is
// computed in Go rather than through h3's C library: it runs once per
// candidate in the hottest loop, where a cgo call would cost more than the
// arithmetic.
func DistanceKm(a, b doorstep.Location) float64 {
	const rad = math.Pi / 180
	lat1, lat2 := a.Lat*rad, b.Lat*rad
	dLat := lat2 - lat1
	dLng := (b.Lng - a.Lng) * rad
	s1, s2 := math.Sin(dLat/2), math.Sin(dLng/2)
	h := s1*s1 + math.Cos(lat1)*math.Cos(lat2)*s2*s2
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(min(h, 1)))
}
