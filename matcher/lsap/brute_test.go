package lsap

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// bruteForce returns the maximum number of rows any assignment of allowed
// (finite) pairs covers and the least cost among such assignments, by trying
// every partial injection of rows into columns.
func bruteForce(cost [][]float64) (assigned int, total float64) {
	cols := 0
	if len(cost) > 0 {
		cols = len(cost[0])
	}
	used := make([]bool, cols)
	best, bestCost := -1, math.Inf(1)
	var walk func(i, n int, sum float64)
	walk = func(i, n int, sum float64) {
		if i == len(cost) {
			if n > best || (n == best && sum < bestCost) {
				best, bestCost = n, sum
			}
			return
		}
		walk(i+1, n, sum) // row i unassigned
		for j, c := range cost[i] {
			if used[j] || math.IsInf(c, 1) {
				continue
			}
			used[j] = true
			walk(i+1, n+1, sum+c)
			used[j] = false
		}
	}
	walk(0, 0, 0)
	return best, bestCost
}

// randomProblem returns an r x c cost matrix of small integers, each pair
// forbidden with probability pInf and each row wholly forbidden with
// probability pRow.
func randomProblem(rng *rand.Rand, r, c int, pInf, pRow float64, maxCost int) [][]float64 {
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
		dead := rng.Float64() < pRow
		for j := range m[i] {
			if dead || rng.Float64() < pInf {
				m[i][j] = math.Inf(1)
			} else {
				m[i][j] = float64(rng.IntN(maxCost+1) - maxCost/4)
			}
		}
	}
	return m
}

// toDense turns rows of costs into a *mat.Dense.
func toDense(m [][]float64) *mat.Dense {
	d := mat.NewDense(len(m), len(m[0]), nil)
	for i, row := range m {
		d.SetRow(i, row)
	}
	return d
}

// toArcs lists the finite pairs of m per row, in shuffled order, with some
// duplicated at a higher cost and some +Inf arcs, to exercise the loader.
func toArcs(rng *rand.Rand, m [][]float64) [][]Arc {
	adj := make([][]Arc, len(m))
	for i, row := range m {
		for j, c := range row {
			if math.IsInf(c, 1) {
				if rng.IntN(4) == 0 {
					adj[i] = append(adj[i], Arc{Col: j, Cost: c})
				}
				continue
			}
			adj[i] = append(adj[i], Arc{Col: j, Cost: c})
			if rng.IntN(8) == 0 {
				adj[i] = append(adj[i], Arc{Col: j, Cost: c + 1 + float64(rng.IntN(5))})
			}
		}
		rng.Shuffle(len(adj[i]), func(a, b int) { adj[i][a], adj[i][b] = adj[i][b], adj[i][a] })
	}
	return adj
}

// checkResult fails t unless res is a valid assignment of m (distinct
// columns, finite pairs, Cost and Assigned matching RowToCol) with the given
// cardinality and, within tolerance, cost.
func checkResult(tb testing.TB, name string, m [][]float64, res Result, wantN int, wantCost float64) {
	tb.Helper()
	if len(res.RowToCol) != len(m) {
		tb.Fatalf("%s: len(RowToCol) = %d, want %d", name, len(res.RowToCol), len(m))
	}
	used := map[int]bool{}
	n, sum := 0, 0.0
	for i, j := range res.RowToCol {
		if j == -1 {
			continue
		}
		if j < 0 || j >= len(m[i]) || used[j] {
			tb.Fatalf("%s: row %d -> column %d invalid or reused; %v", name, i, j, res.RowToCol)
		}
		if math.IsInf(m[i][j], 1) {
			tb.Fatalf("%s: row %d -> column %d is forbidden", name, i, j)
		}
		used[j] = true
		n++
		sum += m[i][j]
	}
	if n != res.Assigned {
		tb.Errorf("%s: Assigned = %d, but RowToCol assigns %d", name, res.Assigned, n)
	}
	if !near(sum, res.Cost) {
		tb.Errorf("%s: Cost = %g, but RowToCol costs %g", name, res.Cost, sum)
	}
	if n != wantN {
		tb.Fatalf("%s: assigned %d rows, want %d (maximum); matrix %v", name, n, wantN, m)
	}
	if !near(sum, wantCost) {
		tb.Fatalf("%s: cost %g, want %g; assignment %v, matrix %v", name, sum, wantCost, res.RowToCol, m)
	}
}

// near reports whether a and b agree to 1e-9 relative.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s Solver // reused across problems on purpose
	shapes, deficient := 0, 0
	for iter := range 10000 {
		r, c := 1+rng.IntN(7), 1+rng.IntN(7)
		if iter%4 == 0 {
			c = r
		}
		pInf := []float64{0, 0.1, 0.3, 0.6, 0.9}[iter%5]
		pRow := []float64{0, 0, 0.15}[iter%3]
		maxCost := []int{3, 20, 1000}[iter%3]
		m := randomProblem(rng, r, c, pInf, pRow, maxCost)
		wantN, wantCost := bruteForce(m)

		res, err := s.Solve(toDense(m))
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "Solve", m, res, wantN, wantCost)

		res, err = s.SolveSparse(c, toArcs(rng, m))
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "SolveSparse", m, res, wantN, wantCost)
		if r != c {
			shapes++
		}
		if wantN < min(r, c) {
			deficient++
		}
	}
	// The cases that matter must have been drawn.
	if shapes < 1000 || deficient < 500 {
		t.Fatalf("only %d rectangular and %d deficient problems", shapes, deficient)
	}
	t.Logf("%d rectangular, %d deficient problems", shapes, deficient)
}
