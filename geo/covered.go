package geo

import (
	"slices"
	"sync"

	"github.com/doorstep-dev/doorstep"
)

// CoveredFromKm is CoveredKm for a point known: every point within it of
// loc lies in the disk of k rings around c, the cell of loc (at any
// resolution), so a worker indexed outside the disk is farther than that.
// It measures the cells k+1 rings out, the nearest a point outside the
// disk can lie in (a straight line from loc crosses every ring on its
// way out, and neighbouring cells are one ring apart): the least, over
// them, of the distance from loc to the cell's centre less the farthest of
// its corners from it. A point rarely sits at its cell's worst place, and
// a cell is not the average, so this is most often a kilometre or more
// beyond CoveredKm, which it never falls short of. Each cell's ring and
// its geometry are computed once and kept (Rings is a cgo call).
func CoveredFromKm(c Cell, loc doorstep.Location, k int) float64 {
	covered := CoveredKm(c.Resolution(), k)
	ring := outerRing(c, k+1)
	if len(ring) == 0 {
		return covered // a pentagon's distortion: the conservative figure
	}
	least := DistanceKm(loc, ring[0].center) - ring[0].radius
	for _, x := range ring[1:] {
		least = min(least, DistanceKm(loc, x.center)-x.radius)
	}
	return max(covered, least)
}

// ringCell is a cell of a ring, with its centre and the distance from it
// to its farthest corner (a convex cell holds no point farther), widened
// by a thousandth for the rounding of both.
type ringCell struct {
	center doorstep.Location
	radius float64
}

// ringKey names ring k around a cell.
type ringKey struct {
	c Cell
	k int
}

// rings caches the rings outerRing computed, starting over past
// 4,096 of them: a city's searches start from a few hundred
// cells and settle within a few rings, so this holds a metropolitan
// area's (well under a megabyte) and never more than a few megabytes.
var rings = newKept[ringKey, []ringCell](4096, nil)

// kept is a cache safe for concurrent use that starts over once what it
// holds weighs max (weigh, one a value when nil): what geo keeps of the
// grid's geometry, a city's worth.
type kept[K comparable, V any] struct {
	mu     sync.RWMutex
	m      map[K]V
	weigh  func(V) int
	weight int
	max    int
}

func newKept[K comparable, V any](max int, weigh func(V) int) *kept[K, V] {
	return &kept[K, V]{m: map[K]V{}, max: max, weigh: weigh}
}

func (k *kept[K, V]) get(key K) (V, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	v, ok := k.m[key]
	return v, ok
}

func (k *kept[K, V]) put(key K, v V) {
	w := 1
	if k.weigh != nil {
		w = k.weigh(v)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; ok {
		return // another computed it meanwhile: the same value
	}
	if k.weight+w > k.max {
		clear(k.m)
		k.weight = 0
	}
	k.weight += w
	k.m[key] = v
}

// outerRing returns the cells at exactly k rings from c, with their
// geometry, or nil when the grid there has a pentagon's gap.
func outerRing(c Cell, k int) []ringCell {
	key := ringKey{c, k}
	if r, ok := rings.get(key); ok {
		return r
	}
	var r []ringCell
	all := Rings(c, k)
	if len(all) <= k || len(all[k]) != 6*k {
		r = nil // a pentagon nearby: the ring is not whole
	} else {
		r = make([]ringCell, len(all[k]))
		for i, x := range all[k] {
			center := x.Center()
			far := 0.0
			for _, v := range x.Boundary() {
				far = max(far, DistanceKm(center, v))
			}
			r[i] = ringCell{center: center, radius: far * 1.001}
		}
	}
	rings.put(key, r)
	return r
}

// diskKey names the cells from ring from to ring to around a cell.
type diskKey struct {
	c        Cell
	from, to int
}

// disks caches DiskCells, starting over once they hold 262,144 cells (2
// MB), as rings does: a city's searches start from its few hundred cells
// and take a few steps each, most of them a ring or two (a whole urgent
// reach, 14 rings, is 631 cells).
var disks = newKept[diskKey, []Cell](1<<18, func(c []Cell) int { return len(c) })

// DiskCells returns the cells at grid distance from to to around c, ring
// by ring outwards (as Rings lists them). The slice is shared by every
// caller asking the same: it must not be changed. A search asks it of
// every step, and each new disk is a cgo call and a few allocations.
func DiskCells(c Cell, from, to int) []Cell {
	key := diskKey{c, from, to}
	if cells, ok := disks.get(key); ok {
		return cells
	}
	all := Rings(c, to)
	cells := slices.Concat(all[min(from, len(all)):min(to+1, len(all))]...)
	disks.put(key, cells)
	return cells
}

// regionNames caches RegionName. Earth has 41,162 cells at
// RegionResolution and a deployment meets a few, so it never starts over
// in practice.
var regionNames = newKept[Cell, string](1<<16, nil)

// RegionName is the name (String) of c's ancestor at RegionResolution:
// the region whose hash tag holds c's index set. A search asks it of every
// cell it reads, so names are kept once spelt.
func RegionName(c Cell) string {
	r := c.Parent(RegionResolution)
	if name, ok := regionNames.get(r); ok {
		return name
	}
	name := r.String()
	regionNames.put(r, name)
	return name
}
