package lsap

import "math"

// dense is the working state of the dense Jonker-Volgenant solver for an
// nr x nc problem with nr <= nc, costs row-major in cost with the given
// stride (+Inf forbidden). The costs are only read.
//
// Only column potentials v are kept: the potential of an assigned row i is
// implied by complementary slackness, u[i] = cost[i][rowSol[i]] - v[rowSol[i]].
// Invariants between phases: every reduced cost c[i][j] - u[i] - v[j] of an
// assigned row is >= 0 and is 0 on its own pair; when nr < nc every
// unassigned column has v = 0 and every assigned one v <= 0, so the columns
// left free at the end satisfy the rectangular problem's dual constraints.
type dense struct {
	nr, nc, stride int
	cost           []float64

	v, d    []float64
	colList []int32
	pred    []int32
	rowSol  []int32 // column of each row, -1 if none
	colSol  []int32 // row of each column, -1 if none
	free    []int32
	matches []int32
}

// reset prepares s for an nr x nc problem on cost, reusing buffers.
func (s *dense) reset(nr, nc, stride int, cost []float64) {
	if nr > nc || stride < nc || len(cost) < (nr-1)*stride+nc {
		panic("lsap: bad dense problem shape")
	}
	s.nr, s.nc, s.stride, s.cost = nr, nc, stride, cost
	s.v = grow(s.v, nc)
	s.d = grow(s.d, nc)
	s.colList = grow(s.colList, nc)
	s.pred = grow(s.pred, nc)
	s.colSol = grow(s.colSol, nc)
	s.rowSol = grow(s.rowSol, nr)
	s.matches = grow(s.matches, nr)
	s.free = grow(s.free, nr)[:0]
}

// grow returns buf resliced to n elements, reallocated if too small. The
// contents are unspecified.
func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// row returns the costs of row i.
func (s *dense) row(i int) []float64 {
	return s.cost[i*s.stride : i*s.stride+s.nc]
}

// arrPasses is the number of augmenting row reduction passes, as in JV.
const arrPasses = 2

// run solves the problem and returns the number of assigned rows. It is
// less than nr only when no assignment of every row exists; then the rows
// assigned form a maximum matching, but not necessarily a cheapest one.
func (s *dense) run() int {
	for j := range s.v {
		s.v[j] = 0
	}
	for j := range s.colSol {
		s.colSol[j] = -1
	}
	for i := range s.rowSol {
		s.rowSol[i] = -1
	}
	if s.nr == s.nc {
		s.columnReduction()
	} else {
		for i := range s.nr {
			s.free = append(s.free, int32(i))
		}
	}
	s.augmentingRowReduction()
	matched := s.nr - len(s.free)
	for _, f := range s.free {
		if s.augment(int(f)) {
			matched++
		}
	}
	return matched
}

// columnReduction is JV's first phase for square problems: each column's
// potential is its least cost and the column goes to that row if the row is
// still free; then each row holding exactly one column hands its slack to the
// column (reduction transfer). The rows left free are put in s.free.
func (s *dense) columnReduction() {
	n := s.nc
	v := s.v[:n]
	imin := s.pred[:n]
	for j := range v {
		v[j] = math.Inf(1)
		imin[j] = -1
	}
	for i := range n {
		row := s.row(i)
		for j, c := range row {
			if c < v[j] {
				v[j] = c
				imin[j] = int32(i)
			}
		}
	}
	matches := s.matches[:n]
	for i := range matches {
		matches[i] = 0
	}
	rowSol, colSol := s.rowSol[:n], s.colSol[:n]
	// Reverse order, as in JV: it gives better starting assignments.
	for j := n - 1; j >= 0; j-- {
		i := imin[j]
		if i < 0 { // a column with no allowed row
			v[j] = 0
			continue
		}
		matches[i]++
		if matches[i] == 1 {
			rowSol[i], colSol[j] = int32(j), i
		} else if j1 := rowSol[i]; v[j] < v[j1] {
			rowSol[i], colSol[j], colSol[j1] = int32(j), i, -1
		}
	}
	for i := range n {
		switch matches[i] {
		case 0:
			s.free = append(s.free, int32(i))
		case 1:
			j1 := int(rowSol[i])
			row := s.row(i)
			m := math.Inf(1)
			// Branches, not min: a running min is a dependency chain.
			for j, c := range row[:j1] {
				if h := c - v[j]; h < m {
					m = h
				}
			}
			for j, c := range row[j1+1:] {
				if h := c - v[j1+1+j]; h < m {
					m = h
				}
			}
			if !math.IsInf(m, 1) {
				v[j1] -= m
			}
		}
	}
}

// augmentingRowReduction is JV's second phase: each free row takes the column
// of its least reduced cost, raising that column's price to the row's second
// least reduced cost, and the row it displaces is reduced next; an auction
// with a bounded number of passes. Rows left free stay in s.free.
func (s *dense) augmentingRowReduction() {
	n := s.nc
	v := s.v[:n]
	rowSol, colSol := s.rowSol, s.colSol[:n]
	free := s.free
	inf := math.Inf(1)
	for range arrPasses {
		k, prev, nfree := 0, len(free), 0
		// Immediate re-reductions are bounded so that a run of tiny price
		// steps cannot stall; a displaced row then waits for the next pass.
		budget := 4*s.nr + 16
		for k < prev {
			i := free[k]
			k++
			row := s.row(int(i))
			umin, usub := inf, inf
			j1, j2 := -1, -1
			for j, c := range row {
				h := c - v[j]
				if h < usub {
					if h >= umin {
						usub, j2 = h, j
					} else {
						usub, umin, j2, j1 = umin, h, j1, j
					}
				}
			}
			if j1 < 0 { // no allowed column
				free[nfree] = i
				nfree++
				continue
			}
			i0 := colSol[j1]
			immediate := false
			switch {
			case math.IsInf(usub, 1): // a single allowed column: take it
			case umin < usub:
				v[j1] -= usub - umin
				immediate = true
			case i0 >= 0: // tie: prefer the second column if it is free
				j1, i0 = j2, colSol[j2]
			}
			rowSol[i], colSol[j1] = int32(j1), i
			if i0 < 0 {
				continue
			}
			rowSol[i0] = -1
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
	s.free = free
}

// augment assigns free row f along a shortest augmenting path and updates
// the column potentials: JV's Dijkstra over columns, which settles all the
// columns at the least distance together (a "scan set"; many when costs are
// small integers, and any reached through a tight pair). It returns false,
// changing nothing, when no augmenting path from f exists.
func (s *dense) augment(f int) bool {
	n := s.nc
	v := s.v[:n]
	d := s.d[:n]
	pred := s.pred[:n]
	colList := s.colList[:n]
	colSol := s.colSol[:n]
	rowSol := s.rowSol

	row := s.row(f)
	for j := range n {
		colList[j] = int32(j)
		pred[j] = int32(f)
		d[j] = row[j] - v[j]
	}
	low, up, last := 0, 0, 0
	mind := 0.0
	end := -1
	for end < 0 {
		if up == low {
			last = low
			mind = d[colList[up]]
			up++
			for k := up; k < n; k++ {
				j := colList[k]
				if h := d[j]; h <= mind {
					if h < mind {
						up, mind = low, h
					}
					colList[k], colList[up] = colList[up], j
					up++
				}
			}
			if math.IsInf(mind, 1) {
				return false
			}
			for k := low; k < up; k++ {
				if j := colList[k]; colSol[j] < 0 {
					end = int(j)
					break
				}
			}
			if end >= 0 {
				break
			}
		}
		j1 := colList[low]
		low++
		i := int(colSol[j1])
		ri := s.row(i)
		h := ri[j1] - v[j1] - mind
		for k := up; k < n; k++ {
			j := colList[k]
			v2 := ri[j] - v[j] - h
			if v2 < d[j] {
				pred[j] = int32(i)
				if v2 == mind {
					if colSol[j] < 0 {
						end = int(j)
						break
					}
					colList[k], colList[up] = colList[up], j
					up++
				}
				d[j] = v2
			}
		}
	}
	for _, j := range colList[:last] {
		v[j] += d[j] - mind
	}
	for j := int32(end); ; {
		i := pred[j]
		colSol[j] = i
		next := rowSol[i]
		rowSol[i] = j
		if int(i) == f {
			break
		}
		j = next
	}
	return true
}
