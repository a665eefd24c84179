package lsap

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Result is an assignment.
type Result struct {
	// RowToCol[i] is the column assigned to row i, or -1 if row i is
	// unassigned. It has one entry per row of the input.
	RowToCol []int
	// Cost is the sum of the costs of the assigned pairs.
	Cost float64
	// Assigned is the number of assigned rows: the largest number of pairs
	// any assignment using allowed (finite) pairs can make.
	Assigned int
}

// Solver solves assignment problems, reusing its working buffers from one
// call to the next. The zero value is ready to use. A Solver must not be used
// by several goroutines at once; the Results it returns do not alias its
// buffers.
type Solver struct {
	flat []float64 // the costs, row-major, transposed if rows > cols
	aug  []float64 // flat widened with zero-cost "unassigned" columns
	d    dense
	g    csr
	sp   sparseSolver
}

// sparseShare: Solve hands a matrix whose finite entries are at most
// 1/sparseShare of all to the sparse solver, which then relaxes fewer pairs
// than the dense one scans columns.
const sparseShare = 3

// Solve returns an assignment of maximum cardinality and, among those, of
// minimum total cost for the cost matrix. +Inf marks a forbidden pair. The
// matrix may be rectangular either way round. A NaN or -Inf cost yields a
// *CostError wrapping ErrNaN or ErrNegInf; finite costs so far apart that
// sums of them could overflow (a spread beyond about 1e307 divided by twice
// the number of rows) yield an error wrapping ErrRange.
//
// Solve is a convenience for new(Solver).Solve(cost).
func Solve(cost mat.Matrix) (Result, error) {
	var s Solver
	return s.Solve(cost)
}

// Solve is like the package-level Solve, reusing s's buffers.
func (s *Solver) Solve(cost mat.Matrix) (Result, error) {
	r, c := cost.Dims()
	res := Result{RowToCol: make([]int, r)}
	for i := range res.RowToCol {
		res.RowToCol[i] = -1
	}
	if r == 0 || c == 0 {
		return res, nil
	}
	transposed := r > c
	nr, nc := r, c
	if transposed {
		nr, nc = c, r
	}
	flat, stride, finite, err := s.load(cost, transposed)
	if err != nil {
		return Result{}, err
	}
	if finite <= nr*nc/sparseShare {
		s.g.fromDense(nr, nc, stride, finite, flat)
		s.sp.solve(&s.g)
		s.sp.result(&res, transposed)
		return res, nil
	}
	s.d.reset(nr, nc, stride, flat)
	if k := s.d.run(); k < nr {
		s.widen(flat, stride, nr, nc, nr-k)
		s.d.reset(nr, nc+nr-k, nc+nr-k, s.aug)
		if s.d.run() != nr {
			panic("lsap: widened problem has no full assignment")
		}
	}
	for i, j := range s.d.rowSol[:nr] {
		if int(j) >= nc { // an "unassigned" column
			continue
		}
		res.Assigned++
		res.Cost += flat[i*stride+int(j)]
		if transposed {
			res.RowToCol[j] = i
		} else {
			res.RowToCol[i] = int(j)
		}
	}
	return res, nil
}

// load returns the costs row-major with their stride, transposed if asked,
// and the number of finite ones, after checking their values. A *mat.Dense
// (or any RawMatrixer) that needs no transposition is read in place;
// anything else is copied to s.flat.
func (s *Solver) load(cost mat.Matrix, transposed bool) (flat []float64, stride, finite int, err error) {
	r, c := cost.Dims()
	nr, nc := r, c
	if transposed {
		nr, nc = c, r
	}
	var st stats
	rm, raw := cost.(mat.RawMatrixer)
	switch {
	case raw && !transposed:
		m := rm.RawMatrix()
		flat, stride = m.Data[:(r-1)*m.Stride+c], m.Stride
		for i := range r {
			st.add(flat[i*stride:i*stride+c], i)
		}
	case raw:
		m := rm.RawMatrix()
		s.flat = grow(s.flat, nr*nc)
		flat, stride = s.flat, nc
		transpose(flat, m.Data, r, c, m.Stride, &st)
	default:
		s.flat = grow(s.flat, nr*nc)
		flat, stride = s.flat, nc
		row := make([]float64, c)
		for i := range r {
			mat.Row(row, i, cost)
			st.add(row, i)
			for j, x := range row {
				if transposed {
					flat[j*nc+i] = x
				} else {
					flat[i*nc+j] = x
				}
			}
		}
	}
	if st.badRow >= 0 {
		e := &CostError{Row: st.badRow, Col: st.badCol, Err: ErrNegInf}
		if math.IsNaN(st.bad) {
			e.Err = ErrNaN
		}
		return nil, 0, 0, e
	}
	if err := checkRange(st.lo, st.hi, nr); err != nil {
		return nil, 0, 0, err
	}
	return flat, stride, st.finite, nil
}

// stats gathers what load checks of the caller's costs: how many are
// finite, their least and greatest, and the first NaN or -Inf (in the
// order added) at badRow, badCol.
type stats struct {
	finite         int
	lo, hi         float64
	badRow, badCol int
	bad            float64
	started        bool
}

// add takes in costs of row i.
func (st *stats) add(costs []float64, i int) { st.addAt(costs, i, 0) }

// addAt takes in costs of row i, from column col0 on.
func (st *stats) addAt(costs []float64, i, col0 int) {
	if !st.started {
		*st = stats{lo: math.Inf(1), hi: math.Inf(-1), badRow: -1, started: true}
	}
	lo, hi, other := st.lo, st.hi, 0
	for j, x := range costs {
		// Most costs lie within the range already seen; comparing against
		// it, rather than taking a running min and max, keeps the loop free
		// of a dependency chain.
		if x >= lo && x <= hi {
			continue
		}
		switch {
		case x > math.MaxFloat64: // +Inf
			other++
		case !(x >= -math.MaxFloat64): // NaN or -Inf
			other++
			if st.badRow < 0 {
				st.badRow, st.badCol, st.bad = i, col0+j, x
			}
		default:
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	st.lo, st.hi, st.finite = lo, hi, st.finite+len(costs)-other
}

// transpose writes the transpose of the r x c matrix in src (with stride)
// to dst (c x r, stride r), in cache-sized blocks, taking the costs into
// st on the way.
func transpose(dst, src []float64, r, c, stride int, st *stats) {
	const block = 64
	for i0 := 0; i0 < r; i0 += block {
		i1 := min(i0+block, r)
		for j0 := 0; j0 < c; j0 += block {
			j1 := min(j0+block, c)
			for i := i0; i < i1; i++ {
				row := src[i*stride+j0 : i*stride+j1]
				st.addAt(row, i, j0)
				for j, x := range row {
					dst[(j0+j)*r+i] = x
				}
			}
		}
	}
}

// widen fills s.aug with the nr x nc costs of flat (with stride) followed,
// on each row, by extra zero-cost columns. Every full assignment of the
// widened problem uses exactly extra of them when extra is nr minus the
// maximum cardinality of the original, so its cheapest full assignment is
// the cheapest maximum one of the original.
func (s *Solver) widen(flat []float64, stride, nr, nc, extra int) {
	w := nc + extra
	s.aug = grow(s.aug, nr*w)
	for i := range nr {
		copy(s.aug[i*w:i*w+nc], flat[i*stride:i*stride+nc])
		clear(s.aug[i*w+nc : i*w+w])
	}
}
