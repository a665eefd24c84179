package lsap

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// uniformMatrix returns an r x c matrix of integer costs uniform in [0, 1000).
func uniformMatrix(rng *rand.Rand, r, c int) *mat.Dense {
	data := make([]float64, r*c)
	for k := range data {
		data[k] = float64(rng.IntN(1000))
	}
	return mat.NewDense(r, c, data)
}

// geometricMatrix returns the euclidean distances in metres between r and c
// points uniform in a 20 km square, +Inf beyond limit metres (if > 0).
func geometricMatrix(rng *rand.Rand, r, c int, limit float64) *mat.Dense {
	const side = 20000.0
	px, py := make([]float64, r), make([]float64, r)
	for i := range px {
		px[i], py[i] = rng.Float64()*side, rng.Float64()*side
	}
	data := make([]float64, r*c)
	for j := range c {
		x, y := rng.Float64()*side, rng.Float64()*side
		for i := range r {
			d := math.Hypot(px[i]-x, py[i]-y)
			if limit > 0 && d > limit {
				d = math.Inf(1)
			}
			data[i*c+j] = d
		}
	}
	return mat.NewDense(r, c, data)
}

// denseToArcs lists the finite entries of m per row.
func denseToArcs(m *mat.Dense) [][]Arc {
	r, c := m.Dims()
	adj := make([][]Arc, r)
	for i := range r {
		for j := range c {
			if x := m.At(i, j); !math.IsInf(x, 1) {
				adj[i] = append(adj[i], Arc{Col: j, Cost: x})
			}
		}
	}
	return adj
}

// deficientMatrix returns a uniform n x n matrix with every third row
// forbidden everywhere but in one column shared by all of them, so that no
// full assignment exists and the solver's maximum-cardinality phase runs.
func deficientMatrix(rng *rand.Rand, n int) *mat.Dense {
	m := uniformMatrix(rng, n, n)
	for i := 0; i < n; i += 3 {
		for j := 1; j < n; j++ {
			m.Set(i, j, math.Inf(1))
		}
	}
	return m
}

func BenchmarkSolve(b *testing.B) {
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(1, 1)) }
	cases := []struct {
		name string
		make func() *mat.Dense
	}{
		{"uniform/n=100", func() *mat.Dense { return uniformMatrix(rng(), 100, 100) }},
		{"uniform/n=1000", func() *mat.Dense { return uniformMatrix(rng(), 1000, 1000) }},
		{"geometric/n=1000", func() *mat.Dense { return geometricMatrix(rng(), 1000, 1000, 0) }},
		{"geometric/1000x5000", func() *mat.Dense { return geometricMatrix(rng(), 1000, 5000, 0) }},
		{"geometric/5000x1000", func() *mat.Dense { return geometricMatrix(rng(), 5000, 1000, 0) }},
		{"geometric6km/n=1000", func() *mat.Dense { return geometricMatrix(rng(), 1000, 1000, 6000) }},
		{"deficient/n=1000", func() *mat.Dense { return deficientMatrix(rng(), 1000) }},
	}
	for _, tt := range cases {
		b.Run(tt.name, func(b *testing.B) {
			m := tt.make()
			b.ReportAllocs()
			var s Solver
			for b.Loop() {
				if _, err := s.Solve(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSolveSparse(b *testing.B) {
	for _, n := range []int{1000, 2000} {
		b.Run(fmt.Sprintf("geometric6km/n=%d", n), func(b *testing.B) {
			m := geometricMatrix(rand.New(rand.NewPCG(1, 1)), n, n, 6000)
			adj := denseToArcs(m)
			b.ReportAllocs()
			var s Solver
			for b.Loop() {
				if _, err := s.SolveSparse(n, adj); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
