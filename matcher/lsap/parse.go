package lsap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Parse errors. A *ParseError wraps one of them, or ErrNaN or ErrNegInf.
var (
	// ErrEmpty reports input with no costs.
	ErrEmpty = errors.New("no costs")
	// ErrSyntax reports a cell or token that is not a number.
	ErrSyntax = errors.New("not a number")
	// ErrRagged reports a CSV row whose length differs from the first row's.
	ErrRagged = errors.New("ragged row")
	// ErrCount reports an OR-Library file whose number of costs is not n*n,
	// or whose n is not a positive integer of a sensible size.
	ErrCount = errors.New("bad count")
)

// maxLine bounds the length of one input line.
const maxLine = 64 << 20

// maxORLibN bounds an OR-Library file's declared size.
const maxORLibN = 1 << 20

// ParseError reports where a cost matrix file is malformed. Line counts
// from 1; Col, when not 0, is the 1-based cell (CSV) or token (OR-Library)
// on that line.
type ParseError struct {
	Line, Col int
	Err       error
}

// Error implements the error interface.
func (e *ParseError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.Line, e.Col, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// parseCost parses one cost. "inf", "+inf" and "infinity" in any case mean
// +Inf, a forbidden pair; NaN and -Inf are errors.
func parseCost(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%q is out of range: %w", s, ErrSyntax)
	case err != nil:
		return 0, fmt.Errorf("%q: %w", s, ErrSyntax)
	case math.IsNaN(x):
		return 0, ErrNaN
	case math.IsInf(x, -1):
		return 0, ErrNegInf
	}
	return x, nil
}

// newScanner returns a line scanner over r that accepts long lines.
func newScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	return sc
}

// ReadCSV reads a cost matrix with one row per line and comma-separated
// cells. Blank lines are skipped. A cell may be surrounded by spaces; an
// empty cell, or "inf" in any case, is +Inf (a forbidden pair). (So a
// forbidden cell of a one-column matrix must be written "inf".) Every row
// must have as many cells as the first. A cell that is not a number, NaN or
// -Inf yields a *ParseError naming its line and column.
func ReadCSV(r io.Reader) (*mat.Dense, error) {
	sc := newScanner(r)
	var data []float64
	rows, cols, line := 0, 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		cells := strings.Split(text, ",")
		if rows == 0 {
			cols = len(cells)
		} else if len(cells) != cols {
			return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: %d cells, want %d as on the first row", ErrRagged, len(cells), cols)}
		}
		for j, cell := range cells {
			cell = strings.TrimSpace(cell)
			x := math.Inf(1)
			if cell != "" {
				var err error
				if x, err = parseCost(cell); err != nil {
					return nil, &ParseError{Line: line, Col: j + 1, Err: err}
				}
			}
			data = append(data, x)
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Line: line + 1, Err: err}
	}
	if rows == 0 {
		return nil, &ParseError{Line: line, Err: ErrEmpty}
	}
	return mat.NewDense(rows, cols, data), nil
}

// ReadORLib reads a cost matrix in the OR-Library assignment format
// (assign100.txt ... assign800.txt): a whitespace-separated token stream of
// n, then the n*n costs row by row, wrapping over lines at will. Costs are
// as in ReadCSV but cannot be empty. A malformed token, a bad n or a wrong
// number of costs yields a *ParseError naming the line.
func ReadORLib(r io.Reader) (*mat.Dense, error) {
	sc := newScanner(r)
	n, want := 0, 0
	var data []float64
	line := 0
	for sc.Scan() {
		line++
		for k, tok := range strings.Fields(sc.Text()) {
			if n == 0 {
				v, err := strconv.Atoi(tok)
				if err != nil || v <= 0 || v > maxORLibN {
					return nil, &ParseError{Line: line, Col: k + 1, Err: fmt.Errorf("%w: size %q is not an integer in 1..%d", ErrCount, tok, maxORLibN)}
				}
				n, want = v, v*v
				continue
			}
			if len(data) == want {
				return nil, &ParseError{Line: line, Col: k + 1, Err: fmt.Errorf("%w: more than n*n = %d costs", ErrCount, want)}
			}
			x, err := parseCost(tok)
			if err != nil {
				return nil, &ParseError{Line: line, Col: k + 1, Err: err}
			}
			data = append(data, x)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{Line: line + 1, Err: err}
	}
	if n == 0 {
		return nil, &ParseError{Line: line, Err: ErrEmpty}
	}
	if len(data) != want {
		return nil, &ParseError{Line: line, Err: fmt.Errorf("%w: %d costs, want n*n = %d", ErrCount, len(data), want)}
	}
	return mat.NewDense(n, n, data), nil
}
