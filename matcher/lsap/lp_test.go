package lsap

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// lpOptimum solves the assignment LP of the square matrix m with gonum's
// simplex: a variable per allowed pair, one equality per row and per column
// but the last (the 2n equalities have rank 2n-1, and the simplex rejects a
// singular system). The assignment polytope is integral, so the LP optimum
// is the assignment optimum.
func lpOptimum(t *testing.T, m [][]float64) float64 {
	t.Helper()
	n := len(m)
	var c []float64
	type pair struct{ i, j int }
	var vars []pair
	for i, row := range m {
		for j, x := range row {
			if !math.IsInf(x, 1) {
				c = append(c, x)
				vars = append(vars, pair{i, j})
			}
		}
	}
	a := mat.NewDense(2*n-1, len(vars), nil)
	for k, p := range vars {
		a.Set(p.i, k, 1)
		if p.j < n-1 {
			a.Set(n+p.j, k, 1)
		}
	}
	b := make([]float64, 2*n-1)
	for k := range b {
		b[k] = 1
	}
	opt, _, err := lp.Simplex(c, a, b, 1e-10, nil)
	if err != nil {
		t.Fatalf("lp.Simplex: %v on %v", err, m)
	}
	return opt
}

func TestLPOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	checked := 0
	for iter := range 300 {
		n := 2 + iter%9 // 2..10
		m := randomProblem(rng, n, n, []float64{0, 0, 0.3}[iter%3], 0, 100)
		if iter%2 == 0 { // real-valued costs
			for i := range m {
				for j := range m[i] {
					m[i][j] = rng.NormFloat64() * 50
				}
			}
		}
		res, err := Solve(toDense(m))
		if err != nil {
			t.Fatal(err)
		}
		if res.Assigned < n {
			continue // no full assignment: the LP is infeasible
		}
		want := lpOptimum(t, m)
		if math.Abs(res.Cost-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("n=%d: cost %g, LP optimum %g; matrix %v", n, res.Cost, want, m)
		}
		sres, err := SolveSparse(n, toArcs(rng, m))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(sres.Cost-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Fatalf("n=%d: sparse cost %g, LP optimum %g", n, sres.Cost, want)
		}
		checked++
	}
	if checked < 200 {
		t.Fatalf("only %d problems checked against the LP", checked)
	}
}
