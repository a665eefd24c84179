package matcher

import (
	"cmp"
	"slices"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// Index is an in-memory H3 cell index of workers' positions, for callers
// that hold a whole roster in memory (the simulator, benchmarks). The server
// keeps the same index in Redis. Workers are named by their position in the
// caller's roster slice. The zero value is not usable; call NewIndex.
type Index struct {
	cells map[geo.Cell][]int
	at    map[int]geo.Cell
	loc   map[int]doorstep.Location
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{cells: map[geo.Cell][]int{}, at: map[int]geo.Cell{}, loc: map[int]doorstep.Location{}}
}

// Put places worker i at loc, moving it if it was elsewhere.
func (ix *Index) Put(i int, loc doorstep.Location) {
	c := geo.IndexCell(loc)
	ix.loc[i] = loc
	if old, ok := ix.at[i]; ok {
		if old == c {
			return
		}
		ix.remove(i, old)
	}
	ix.at[i] = c
	ix.cells[c] = append(ix.cells[c], i)
}

// Remove drops worker i from the index.
func (ix *Index) Remove(i int) {
	if old, ok := ix.at[i]; ok {
		ix.remove(i, old)
		delete(ix.at, i)
		delete(ix.loc, i)
	}
}

func (ix *Index) remove(i int, c geo.Cell) {
	list := ix.cells[c]
	for j, v := range list {
		if v == i {
			list[j] = list[len(list)-1]
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(ix.cells, c)
	} else {
		ix.cells[c] = list
	}
}

// Near appends to dst the workers in the search's rings, widening step by
// step until keep has accepted at least want of them or the reach is
// covered. keep may be nil (accept all).
func (ix *Index) Near(dst []int, s Search, want int, keep func(i int) bool) []int {
	return ix.Widen(dst, s, keep, func(found []int, _ int) bool { return len(found) >= want })
}

// Nearest is Near keeping only the want accepted workers nearest to loc
// (by great-circle distance to the position they were Put at), nearest
// first. Near reads whole rings, so it may accept several times want
// workers; ranking them all costs more than it helps.
func (ix *Index) Nearest(dst []int, s Search, loc doorstep.Location, want int, keep func(i int) bool) []int {
	start := len(dst)
	dst = ix.Near(dst, s, want, keep)
	found := dst[start:]
	if len(found) <= want {
		return dst
	}
	type near struct {
		i  int
		km float64
	}
	byDist := make([]near, len(found))
	for k, i := range found {
		byDist[k] = near{i, geo.DistanceKm(ix.loc[i], loc)}
	}
	slices.SortFunc(byDist, func(a, b near) int {
		if c := cmp.Compare(a.km, b.km); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	for k := range want {
		found[k] = byDist[k].i
	}
	return dst[:start+want]
}
