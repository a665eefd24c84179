package lsap

import "math"

// csr is a sparse nr x nc problem in compressed rows: row i's allowed pairs
// are col[start[i]:start[i+1]] at the same positions of cost. Costs are
// finite and no row lists a column twice.
type csr struct {
	nr, nc int
	start  []int32
	col    []int32
	cost   []float64
	mark   []int32 // scratch per column, for dedupe

	// Levels (see levels.go): row i's level l is the arcs from the end of
	// level l-1 (or start[i]) to lvEnd[i*numLevels+l].
	lvEnd   []int32
	sample  []float64 // scratch
	tmpCol  []int32   // scratch
	tmpCost []float64 // scratch
}

// fromArcs builds the problem of rows (over cols columns), transposed if
// asked, with +Inf arcs dropped and repeated pairs merged at their least
// cost. It returns a *CostError for a bad arc, and an error wrapping
// ErrRange if the costs span too wide a range.
func (g *csr) fromArcs(cols int, rows [][]Arc, transposed bool) error {
	nr, nc := len(rows), cols
	if transposed {
		nr, nc = nc, nr
	}
	g.nr, g.nc = nr, nc
	g.start = grow(g.start, nr+1)
	clear(g.start)
	n := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, arcs := range rows {
		for _, a := range arcs {
			if err := checkArc(cols, i, a); err != nil {
				return err
			}
			if math.IsInf(a.Cost, 1) {
				continue
			}
			if a.Cost < lo {
				lo = a.Cost
			}
			if a.Cost > hi {
				hi = a.Cost
			}
			n++
			if transposed {
				g.start[a.Col+1]++
			} else {
				g.start[i+1]++
			}
		}
	}
	if err := checkRange(lo, hi, nr); err != nil {
		return err
	}
	for i := range nr {
		g.start[i+1] += g.start[i]
	}
	g.col = grow(g.col, n)
	g.cost = grow(g.cost, n)
	// Fill by counting sort, g.mark holding each row's write position.
	pos := grow(g.mark, max(nr, nc))
	copy(pos, g.start[:nr])
	for i, arcs := range rows {
		for _, a := range arcs {
			if math.IsInf(a.Cost, 1) {
				continue
			}
			r, c := i, a.Col
			if transposed {
				r, c = c, r
			}
			g.col[pos[r]] = int32(c)
			g.cost[pos[r]] = a.Cost
			pos[r]++
		}
	}
	g.mark = pos
	g.dedupe()
	return nil
}

// dedupe merges repeated columns within each row, keeping the least cost,
// compacting the arcs in place.
func (g *csr) dedupe() {
	// mark[c] is where row i's arc to column c went, if that is at or after
	// the row's new start.
	mark := grow(g.mark, g.nc)
	for c := range mark {
		mark[c] = -1
	}
	w := int32(0)
	for i := range g.nr {
		lo, hi := g.start[i], g.start[i+1]
		g.start[i] = w
		for k := lo; k < hi; k++ {
			c := g.col[k]
			if at := mark[c]; at >= g.start[i] {
				g.cost[at] = min(g.cost[at], g.cost[k])
				continue
			}
			mark[c] = w
			g.col[w], g.cost[w] = c, g.cost[k]
			w++
		}
	}
	g.start[g.nr] = w
	g.col, g.cost = g.col[:w], g.cost[:w]
	g.mark = mark
}

// fromDense builds the problem of the finite entries of an nr x nc dense
// problem (row-major with stride), which the caller has checked and found
// to have the given number of finite entries.
func (g *csr) fromDense(nr, nc, stride, finite int, flat []float64) {
	g.nr, g.nc = nr, nc
	g.start = grow(g.start, nr+1)
	g.col = grow(g.col, finite)
	g.cost = grow(g.cost, finite)
	n := int32(0)
	for i := range nr {
		g.start[i] = n
		for j, x := range flat[i*stride : i*stride+nc] {
			if x <= math.MaxFloat64 {
				g.col[n], g.cost[n] = int32(j), x
				n++
			}
		}
	}
	g.start[nr] = n
}
