package lsap_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/doorstep-dev/doorstep/matcher/lsap"
)

func ExampleSolve() {
	inf := math.Inf(1)
	// Three requests (rows), two workers (columns); minutes of travel,
	// +Inf where a worker cannot serve a request.
	cost := mat.NewDense(3, 2, []float64{
		10, inf,
		4, 7,
		inf, inf,
	})
	res, err := lsap.Solve(cost)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.RowToCol, res.Assigned, res.Cost)
	// Output: [0 1 -1] 2 17
}

func ExampleSolveSparse() {
	// Row i lists the columns it may take.
	rows := [][]lsap.Arc{
		{{Col: 0, Cost: 3}, {Col: 2, Cost: 1}},
		{{Col: 2, Cost: 2}},
	}
	res, err := lsap.SolveSparse(3, rows)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.RowToCol, res.Cost)
	// Output: [0 2] 5
}
