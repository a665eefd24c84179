package lsap

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. A *CostError wraps one of them.
var (
	// ErrNaN reports a NaN cost.
	ErrNaN = errors.New("cost is NaN")
	// ErrNegInf reports a -Inf cost (forbidden pairs are +Inf).
	ErrNegInf = errors.New("cost is -Inf")
	// ErrColumn reports a sparse arc whose column is out of range.
	ErrColumn = errors.New("column out of range")
	// ErrRange reports finite costs so far apart (their spread times the
	// number of rows near the float64 limit) that path lengths could
	// overflow.
	ErrRange = errors.New("finite costs span too wide a range")
)

// checkRange returns an error wrapping ErrRange unless the finite costs
// from lo to hi (lo > hi when there are none) are safe for n rows: every
// distance the solvers compute is a sum of at most 2n+2 reduced costs.
func checkRange(lo, hi float64, n int) error {
	if lo > hi || (hi-lo)*float64(2*n+4) < math.MaxFloat64/4 {
		return nil
	}
	return fmt.Errorf("lsap: costs from %g to %g for %d rows: %w", lo, hi, n, ErrRange)
}

// CostError reports a bad cost at a row and column of the caller's input
// (not of any internal transposition). Err is ErrNaN, ErrNegInf or ErrColumn.
type CostError struct {
	Row, Col int
	Err      error
}

// Error implements the error interface.
func (e *CostError) Error() string {
	return fmt.Sprintf("lsap: row %d, column %d: %v", e.Row, e.Col, e.Err)
}

// Unwrap returns the sentinel error.
func (e *CostError) Unwrap() error { return e.Err }
