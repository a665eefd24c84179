package lsap

import (
	"math"
)

// Arc is an allowed pair of a sparse problem: the row listing it may take
// column Col at cost Cost. A +Inf cost is the same as no arc.
type Arc struct {
	Col  int
	Cost float64
}

// SolveSparse is like Solve for a problem given by its allowed pairs:
// rows[i] lists the arcs of row i, in any order, over columns 0..cols-1.
// A pair listed twice counts at its lower cost. A column out of range, a NaN
// or a -Inf cost yields a *CostError (its Col is the arc's column), costs
// spread too wide an error wrapping ErrRange, as for Solve. It is much
// faster than Solve when each row allows few columns.
//
// SolveSparse is a convenience for new(Solver).SolveSparse(cols, rows).
func SolveSparse(cols int, rows [][]Arc) (Result, error) {
	var s Solver
	return s.SolveSparse(cols, rows)
}

// SolveSparse is like the package-level SolveSparse, reusing s's buffers.
func (s *Solver) SolveSparse(cols int, rows [][]Arc) (Result, error) {
	if cols < 0 {
		panic("lsap: negative column count")
	}
	res := Result{RowToCol: make([]int, len(rows))}
	for i := range res.RowToCol {
		res.RowToCol[i] = -1
	}
	if len(rows) == 0 || cols == 0 {
		return res, validateArcs(cols, rows)
	}
	transposed := len(rows) > cols
	if err := s.g.fromArcs(cols, rows, transposed); err != nil {
		return Result{}, err
	}
	s.sp.solve(&s.g)
	s.sp.result(&res, transposed)
	return res, nil
}

// validateArcs checks every arc's column and cost.
func validateArcs(cols int, rows [][]Arc) error {
	for i, arcs := range rows {
		for _, a := range arcs {
			if err := checkArc(cols, i, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkArc returns a *CostError if arc a of row i is out of range or has a
// NaN or -Inf cost.
func checkArc(cols, i int, a Arc) error {
	switch {
	case a.Col < 0 || a.Col >= cols:
		return &CostError{Row: i, Col: a.Col, Err: ErrColumn}
	case math.IsNaN(a.Cost):
		return &CostError{Row: i, Col: a.Col, Err: ErrNaN}
	case math.IsInf(a.Cost, -1):
		return &CostError{Row: i, Col: a.Col, Err: ErrNegInf}
	}
	return nil
}
