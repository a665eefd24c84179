package lsap

import "math"

// colState is the sparse solver's state of one column, packed so that
// relaxing an arc touches one cache line. Between searches d is +Inf; a
// search sets it to the tentative distance when it reaches the column, and
// to -Inf when it settles it (keeping the distance in the solver's dist), so
// that one comparison both skips settled columns and detects improvements.
type colState struct {
	v, d float64 // potential; distance in the current search
}

// sparseSolver solves a csr problem with nr <= nc by JV's phases over the
// allowed pairs: column reduction (square problems), augmenting row
// reduction, then shortest augmenting paths by Dijkstra's algorithm with a
// 4-ary heap, skipping the levels of a row's arcs that cannot help
// (levels.go).
//
// Column nc is the pool: a column every row may take at cost 0, holding up
// to poolCap rows. It is opened only when the arcs admit no full assignment,
// with poolCap the number of rows that must stay unassigned (see solve).
// As in dense, only column potentials are kept: an assigned row's is
// implied by its pair (the pool's rows: cost 0).
type sparseSolver struct {
	g       *csr
	cs      []colState // per column, and the pool at index nc
	pred    []int32    // per column and pool: the row before it on the path
	predArc []int32    // per column and pool: the arc from pred, -1 for the pool
	dist    []float64  // the distances of the columns in scanned
	bound   float64    // the least distance of a free column reached
	touched []int32    // the columns reached in this search
	lb      []float64  // per row and level: at most the least reduced cost c - v of its arcs
	rowSol  []int32    // column (or pool) of each row, -1 if none
	rowArc  []int32    // arc of each row's pair, -1 for the pool or none
	colSol  []int32    // row of each column, -1 if none
	matches []int32
	scanned []int32
	heap    minHeap
	free    []int32
	failed  []int32

	poolCap  int
	poolRows []int32
	poolPos  []int32 // per row: index in poolRows
}

// solve solves g. First every row is assigned along shortest augmenting
// paths over the arcs; a row with no augmenting path is set aside. A row
// that has none can never get one by later augmentations, so the rows then
// assigned form a maximum matching. If some rows were set aside, the pool
// is opened for exactly that many rows and they are assigned in turn: every
// full assignment now has the maximum number of real pairs, and the
// potentials kept from the first phase stay valid (the pool's is set at or
// below minus every assigned row's), so the result is the cheapest such.
//
// The first phase starts with JV's column reduction when g is square. Its
// potentials leave free columns at nonzero values, which the pool phase
// cannot accept (a column left free at the end must have potential 0), so
// if rows were set aside it is run again with the row reduction alone.
func (p *sparseSolver) solve(g *csr) {
	g.buildLevels()
	p.g = g
	m := g.nc + 1
	p.cs = grow(p.cs, m)
	for j := range p.cs {
		p.cs[j] = colState{d: math.Inf(1)}
	}
	p.pred = grow(p.pred, m)
	p.predArc = grow(p.predArc, m)
	p.rowSol = grow(p.rowSol, g.nr)
	p.rowArc = grow(p.rowArc, g.nr)
	p.matches = grow(p.matches, g.nr)
	p.poolPos = grow(p.poolPos, g.nr)
	p.colSol = grow(p.colSol, g.nc)

	square := g.nr == g.nc
	if p.pass(square) == 0 {
		return
	}
	if square && p.pass(false) == 0 {
		panic("lsap: sparse passes disagree on the maximum matching")
	}
	p.poolCap = len(p.failed)
	vp := 0.0
	for i, j := range p.rowSol {
		if j >= 0 {
			vp = min(vp, -(g.cost[p.rowArc[i]] - p.cs[j].v))
		}
	}
	p.cs[g.nc].v = vp
	for _, f := range p.failed {
		if !p.augment(f) {
			panic("lsap: sparse problem with pool has no full assignment")
		}
	}
}

// result fills res from the solution, mapping back a transposition.
func (p *sparseSolver) result(res *Result, transposed bool) {
	for i, j := range p.rowSol {
		if int(j) >= p.g.nc { // the pool
			continue
		}
		res.Assigned++
		res.Cost += p.g.cost[p.rowArc[i]]
		if transposed {
			res.RowToCol[j] = i
		} else {
			res.RowToCol[i] = int(j)
		}
	}
}

// pass resets the solution and assigns every row it can, with the pool
// closed, starting with column reduction if asked. It returns the number of
// rows it set aside, listed in p.failed.
func (p *sparseSolver) pass(columnReduction bool) int {
	for j := range p.cs {
		p.cs[j].v = 0
	}
	for j := range p.colSol {
		p.colSol[j] = -1
	}
	for i := range p.rowSol {
		p.rowSol[i], p.rowArc[i] = -1, -1
	}
	p.poolCap = 0
	p.poolRows = p.poolRows[:0]
	p.free = p.free[:0]
	if columnReduction {
		p.columnReduction()
	} else {
		for i := range p.g.nr {
			p.free = append(p.free, int32(i))
		}
	}
	p.levelBounds()
	p.augmentingRowReduction()
	p.failed = p.failed[:0]
	for _, f := range p.free {
		if !p.augment(f) {
			p.failed = append(p.failed, f)
		}
	}
	return len(p.failed)
}

// levelBounds sets each level's bound to the least reduced cost c - v of
// its arcs. Potentials only decrease from here on, so the bounds stay lower
// bounds; relax tightens those of the levels it scans.
func (p *sparseSolver) levelBounds() {
	g, cs := p.g, p.cs
	p.lb = grow(p.lb, g.nr*numLevels)
	for i := range g.nr {
		from := g.start[i]
		for l, to := range g.lvEnd[i*numLevels : i*numLevels+numLevels] {
			lb := math.Inf(1)
			for k := from; k < to; k++ {
				if r := g.cost[k] - cs[g.col[k]].v; r < lb {
					lb = r
				}
			}
			p.lb[i*numLevels+l] = lb
			from = to
		}
	}
}

// assign pairs row i with column j through arc k.
func (p *sparseSolver) assign(i, j, k int32) {
	p.rowSol[i], p.rowArc[i], p.colSol[j] = j, k, i
}

// columnReduction is dense.columnReduction over the arcs.
func (p *sparseSolver) columnReduction() {
	g, cs := p.g, p.cs[:p.g.nc]
	imin, karg := p.pred[:g.nc], p.predArc[:g.nc] // scratch
	for j := range cs {
		cs[j].v, imin[j] = math.Inf(1), -1
	}
	for i := range g.nr {
		for k := g.start[i]; k < g.start[i+1]; k++ {
			if j := g.col[k]; g.cost[k] < cs[j].v {
				cs[j].v, imin[j], karg[j] = g.cost[k], int32(i), k
			}
		}
	}
	matches := p.matches
	clear(matches)
	for j := len(cs) - 1; j >= 0; j-- {
		i := imin[j]
		if i < 0 {
			cs[j].v = 0
			continue
		}
		matches[i]++
		if matches[i] == 1 {
			p.assign(i, int32(j), karg[j])
		} else if j1 := p.rowSol[i]; cs[j].v < cs[j1].v {
			p.colSol[j1] = -1
			p.assign(i, int32(j), karg[j])
		}
	}
	for i := range g.nr {
		switch matches[i] {
		case 0:
			p.free = append(p.free, int32(i))
		case 1:
			j1 := p.rowSol[i]
			m := math.Inf(1)
			for k := g.start[i]; k < g.start[i+1]; k++ {
				if j := g.col[k]; j != j1 {
					if h := g.cost[k] - cs[j].v; h < m {
						m = h
					}
				}
			}
			if !math.IsInf(m, 1) {
				cs[j1].v -= m
			}
		}
	}
}

// augmentingRowReduction is dense.augmentingRowReduction over the arcs.
func (p *sparseSolver) augmentingRowReduction() {
	g, cs := p.g, p.cs
	colSol, rowSol := p.colSol, p.rowSol
	free := p.free
	inf := math.Inf(1)
	for range arrPasses {
		k, prev, nfree := 0, len(free), 0
		budget := 4*g.nr + 16
		for k < prev {
			i := free[k]
			k++
			umin, usub := inf, inf
			k1, k2 := int32(-1), int32(-1)
			for a := g.start[i]; a < g.start[i+1]; a++ {
				h := g.cost[a] - cs[g.col[a]].v
				if h < usub {
					if h >= umin {
						usub, k2 = h, a
					} else {
						usub, umin, k2, k1 = umin, h, k1, a
					}
				}
			}
			if k1 < 0 {
				free[nfree] = i
				nfree++
				continue
			}
			j1 := g.col[k1]
			i0 := colSol[j1]
			immediate := false
			switch {
			case math.IsInf(usub, 1):
			case umin < usub:
				cs[j1].v -= usub - umin
				immediate = true
			case i0 >= 0:
				k1 = k2
				j1 = g.col[k1]
				i0 = colSol[j1]
			}
			p.assign(i, j1, k1)
			if i0 < 0 {
				continue
			}
			rowSol[i0], p.rowArc[i0] = -1, -1
			if immediate && budget > 0 {
				budget--
				k--
				free[k] = i0
			} else {
				free[nfree] = i0
				nfree++
			}
		}
		free = free[:nfree]
		if nfree == 0 {
			break
		}
	}
	p.free = free
}

// augment assigns free row f along a shortest augmenting path found by
// Dijkstra's algorithm over reduced costs, and updates the potentials. It
// returns false, changing nothing, when no augmenting path from f exists.
func (p *sparseSolver) augment(f int32) bool {
	g, cs := p.g, p.cs
	pool := int32(g.nc)
	p.heap = p.heap[:0]
	p.scanned = p.scanned[:0]
	p.dist = p.dist[:0]
	p.touched = p.touched[:0]
	p.bound = math.Inf(1)
	p.relax(f, 0)
	end, mind := int32(-1), 0.0
	for len(p.heap) > 0 {
		it := p.heap.pop()
		j := it.j
		c := &cs[j]
		if it.d > c.d {
			continue // stale, or settled (d is -Inf)
		}
		if j == pool && len(p.poolRows) < p.poolCap || j != pool && p.colSol[j] < 0 {
			end, mind = j, it.d
			break
		}
		c.d = math.Inf(-1)
		p.scanned = append(p.scanned, j)
		p.dist = append(p.dist, it.d)
		if j == pool {
			base := it.d + c.v // the pool's rows have reduced cost 0 to it
			for _, i := range p.poolRows {
				p.relax(i, base)
			}
			continue
		}
		i := p.colSol[j]
		p.relax(i, it.d-(g.cost[p.rowArc[i]]-c.v))
	}
	inf := math.Inf(1)
	for _, j := range p.touched {
		cs[j].d = inf
	}
	if end < 0 {
		return false
	}
	for k, j := range p.scanned {
		cs[j].v += p.dist[k] - mind
	}
	for j := end; ; {
		i, arc := p.pred[j], p.predArc[j]
		prev := p.rowSol[i]
		if j == pool {
			p.poolPos[i] = int32(len(p.poolRows))
			p.poolRows = append(p.poolRows, i)
			p.rowSol[i], p.rowArc[i] = j, -1
		} else {
			p.assign(i, j, arc)
		}
		if prev == pool {
			p.poolRemove(i)
		}
		if i == f {
			break
		}
		j = prev
	}
	return true
}

// relax offers the columns of row i's arcs (and the pool, when open and i
// is not in it) at distance base plus their reduced cost, unless settled.
// It stops at the first level of arcs that cannot reach any column nearer
// than the nearest free column reached (see levels.go).
func (p *sparseSolver) relax(i int32, base float64) {
	g, cs := p.g, p.cs
	from := g.start[i]
	ends := g.lvEnd[int(i)*numLevels : int(i)*numLevels+numLevels]
	lbs := p.lb[int(i)*numLevels : int(i)*numLevels+numLevels]
	for l, to := range ends {
		if from == to {
			continue
		}
		if base+lbs[l] >= p.bound {
			from = to
			continue
		}
		cols, costs := g.col[from:to], g.cost[from:to]
		lb := math.Inf(1)
		for k, j := range cols {
			c := &cs[j]
			r := costs[k] - c.v
			if r < lb {
				lb = r
			}
			if nd := base + r; nd < c.d {
				if c.d > math.MaxFloat64 {
					p.touched = append(p.touched, j)
				}
				c.d = nd
				p.pred[j], p.predArc[j] = i, from+int32(k)
				// A column no nearer than a free one already reached cannot
				// be settled before the search ends: leave it out of the heap.
				if nd < p.bound {
					if p.colSol[j] < 0 {
						p.bound = nd
					}
					p.heap.push(nd, j)
				}
			}
		}
		lbs[l] = lb
		from = to
	}
	pool := int32(g.nc)
	if p.poolCap == 0 || p.rowSol[i] == pool {
		return
	}
	c := &cs[pool]
	if nd := base - c.v; nd < c.d {
		if c.d > math.MaxFloat64 {
			p.touched = append(p.touched, pool)
		}
		c.d = nd
		p.pred[pool], p.predArc[pool] = i, -1
		if nd < p.bound {
			if len(p.poolRows) < p.poolCap {
				p.bound = nd
			}
			p.heap.push(nd, pool)
		}
	}
}

// poolRemove takes row i out of the pool.
func (p *sparseSolver) poolRemove(i int32) {
	k := p.poolPos[i]
	last := p.poolRows[len(p.poolRows)-1]
	p.poolRows[k], p.poolPos[last] = last, k
	p.poolRows = p.poolRows[:len(p.poolRows)-1]
}
