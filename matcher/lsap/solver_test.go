package lsap

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"
)

var inf = math.Inf(1)

func TestSolveTable(t *testing.T) {
	tests := []struct {
		name string
		cost [][]float64
		want Result
	}{
		{"1x1", [][]float64{{7}}, Result{RowToCol: []int{0}, Cost: 7, Assigned: 1}},
		{"square", [][]float64{{4, 1, 3}, {2, 0, 5}, {3, 2, 2}}, Result{RowToCol: []int{1, 0, 2}, Cost: 5, Assigned: 3}},
		{"wide", [][]float64{{9, 2, 9, 9}, {9, 9, 9, 1}}, Result{RowToCol: []int{1, 3}, Cost: 3, Assigned: 2}},
		{"tall", [][]float64{{5}, {1}, {3}}, Result{RowToCol: []int{-1, 0, -1}, Cost: 1, Assigned: 1}},
		{"negative", [][]float64{{-1, -5}, {-2, -3}}, Result{RowToCol: []int{1, 0}, Cost: -7, Assigned: 2}},
		{"forbidden row", [][]float64{{inf, inf}, {1, 2}}, Result{RowToCol: []int{-1, 0}, Cost: 1, Assigned: 1}},
		{"all forbidden", [][]float64{{inf, inf}, {inf, inf}}, Result{RowToCol: []int{-1, -1}, Cost: 0, Assigned: 0}},
		// Row 0 alone can take column 0 at 10, row 1 at 1: the one pair to
		// make is the cheaper, although row 0 comes first.
		{"cheaper row wins", [][]float64{{10, inf}, {1, inf}}, Result{RowToCol: []int{-1, 0}, Cost: 1, Assigned: 1}},
		// Serving rows 0 and 1 needs the expensive pair (0,1): cardinality
		// comes before cost.
		{"cardinality first", [][]float64{{1, 100}, {1, inf}}, Result{RowToCol: []int{1, 0}, Cost: 101, Assigned: 2}},
		{"huge costs", [][]float64{{1e300, 1e299}, {1e299, 1e300}}, Result{RowToCol: []int{1, 0}, Cost: 2e299, Assigned: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Solve(toDense(tt.cost))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("Solve (-got +want):\n%s", diff)
			}
			got, err = SolveSparse(len(tt.cost[0]), toArcs(rand.New(rand.NewPCG(1, 1)), tt.cost))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("SolveSparse (-got +want):\n%s", diff)
			}
		})
	}
}

func TestSolveErrors(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		cost     [][]float64
		want     error
		row, col int
	}{
		{"nan", [][]float64{{1, 2, 3}, {4, 5, nan}}, ErrNaN, 1, 2},
		{"neg inf", [][]float64{{1, math.Inf(-1)}, {4, 5}}, ErrNegInf, 0, 1},
		// Transposed internally: the position must still be the caller's.
		{"nan tall", [][]float64{{1}, {2}, {nan}}, ErrNaN, 2, 0},
		{"neg inf tall", [][]float64{{1, 2}, {3, 4}, {5, math.Inf(-1)}}, ErrNegInf, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range []mat.Matrix{toDense(tt.cost), toDense(tt.cost).T().T()} {
				_, err := Solve(m)
				var ce *CostError
				if !errors.Is(err, tt.want) || !errors.As(err, &ce) {
					t.Fatalf("Solve error = %v, want %v", err, tt.want)
				}
				if ce.Row != tt.row || ce.Col != tt.col {
					t.Errorf("error at (%d, %d), want (%d, %d)", ce.Row, ce.Col, tt.row, tt.col)
				}
			}
			adj := make([][]Arc, len(tt.cost))
			for i, row := range tt.cost {
				for j, c := range row {
					adj[i] = append(adj[i], Arc{Col: j, Cost: c})
				}
			}
			_, err := SolveSparse(len(tt.cost[0]), adj)
			var ce *CostError
			if !errors.Is(err, tt.want) || !errors.As(err, &ce) || ce.Row != tt.row || ce.Col != tt.col {
				t.Errorf("SolveSparse error = %v, want %v at (%d, %d)", err, tt.want, tt.row, tt.col)
			}
		})
	}
	for _, adj := range [][][]Arc{{{{Col: 2, Cost: 1}}}, {{{Col: -1, Cost: 1}}}} {
		if _, err := SolveSparse(2, adj); !errors.Is(err, ErrColumn) {
			t.Errorf("SolveSparse(%v) error = %v, want ErrColumn", adj, err)
		}
	}
	wide := [][]float64{{-1e307, 1e307}, {0, 1}}
	if _, err := Solve(toDense(wide)); !errors.Is(err, ErrRange) {
		t.Errorf("Solve(%v) error = %v, want ErrRange", wide, err)
	}
	if _, err := SolveSparse(2, [][]Arc{{{Col: 0, Cost: -1e307}}, {{Col: 1, Cost: 1e307}}}); !errors.Is(err, ErrRange) {
		t.Errorf("SolveSparse with costs +-1e307: error = %v, want ErrRange", err)
	}
	if _, err := SolveSparse(0, [][]Arc{{{Col: 0, Cost: 1}}}); !errors.Is(err, ErrColumn) {
		t.Errorf("SolveSparse with no columns: error = %v, want ErrColumn", err)
	}
}

func TestSolveEmpty(t *testing.T) {
	got, err := Solve(&mat.Dense{})
	if err != nil || len(got.RowToCol) != 0 || got.Assigned != 0 {
		t.Errorf("Solve(empty) = %+v, %v", got, err)
	}
	got, err = SolveSparse(3, [][]Arc{nil, nil})
	want := Result{RowToCol: []int{-1, -1}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("SolveSparse(no arcs) (-got +want):\n%s", diff)
	}
}

// TestSolveMatrixKinds checks that a matrix read through At (a transposed
// view) and a submatrix with a stride give the same answer as a plain one.
func TestSolveMatrixKinds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := range 200 {
		r, c := 1+rng.IntN(9), 1+rng.IntN(9)
		m := randomProblem(rng, r, c, []float64{0, 0.3, 0.8}[iter%3], 0.1, 50)
		want, err := Solve(toDense(m))
		if err != nil {
			t.Fatal(err)
		}
		// A transposed view of the transpose: not a RawMatrixer.
		tr := mat.DenseCopyOf(toDense(m).T())
		got, err := Solve(tr.T())
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "At", m, got, want.Assigned, want.Cost)
		// A view with a stride wider than its columns.
		big := mat.NewDense(r+1, c+2, nil)
		big.Slice(1, r+1, 2, c+2).(*mat.Dense).Copy(toDense(m))
		got, err = Solve(big.Slice(1, r+1, 2, c+2))
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "strided", m, got, want.Assigned, want.Cost)
	}
}

// maxMatching returns the size of a maximum matching of the finite pairs of
// m by Kuhn's augmenting paths: the cardinality oracle for problems too big
// to enumerate.
func maxMatching(m [][]float64) int {
	owner := make([]int, len(m[0]))
	for j := range owner {
		owner[j] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j, c := range m[i] {
			if math.IsInf(c, 1) || seen[j] {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || try(owner[j], seen) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	n := 0
	for i := range m {
		if try(i, make([]bool, len(owner))) {
			n++
		}
	}
	return n
}

// TestDenseAgreesWithSparse checks the two solvers against each other, and
// their cardinality against maxMatching, on problems too big for brute
// force, with real-valued costs, forbidden pairs and dead rows and columns.
func TestDenseAgreesWithSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s Solver
	for iter := range 300 {
		r, c := 5+rng.IntN(60), 5+rng.IntN(60)
		if iter%3 == 0 {
			c = r
		}
		m := randomProblem(rng, r, c, []float64{0, 0.5, 0.8, 0.95}[iter%4], []float64{0, 0.2}[iter%2], 1000)
		for i := range m {
			for j := range m[i] {
				m[i][j] += rng.Float64() // break ties
			}
		}
		if iter%5 == 0 { // a dead column
			for i := range m {
				m[i][0] = inf
			}
		}
		wantN := maxMatching(m)
		dres, err := s.Solve(toDense(m))
		if err != nil {
			t.Fatal(err)
		}
		sres, err := s.SolveSparse(c, toArcs(rng, m))
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "Solve", m, dres, wantN, sres.Cost)
		checkResult(t, "SolveSparse", m, sres, wantN, dres.Cost)
	}
}
