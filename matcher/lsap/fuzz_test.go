package lsap

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// fuzzProblem decodes a small problem from fuzz input: the first two bytes
// give the shape (1..6 each), each further byte a cost (bytes from 240 up are
// forbidden pairs, the rest are costs -40..199), cycling if short.
func fuzzProblem(data []byte) [][]float64 {
	if len(data) < 3 {
		return nil
	}
	r, c := 1+int(data[0])%6, 1+int(data[1])%6
	body := data[2:]
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, c)
		for j := range m[i] {
			b := body[(i*c+j)%len(body)]
			if b >= 240 {
				m[i][j] = math.Inf(1)
			} else {
				m[i][j] = float64(b) - 40
			}
		}
	}
	return m
}

func FuzzSolve(f *testing.F) {
	f.Add([]byte{2, 2, 1, 2, 3, 4})
	f.Add([]byte{5, 1, 9, 250, 3, 250, 7, 8})
	f.Add([]byte{1, 5, 250, 250, 0, 250})
	f.Add([]byte{3, 3, 10, 250, 250, 11, 250, 250, 12, 250, 250})
	f.Add([]byte{4, 4, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{5, 5, 250, 1, 2, 250, 3, 4, 250, 5, 6, 7, 250, 8, 9})
	f.Add([]byte{2, 5, 100, 1, 255, 255, 3, 7, 40, 41})
	f.Fuzz(func(t *testing.T, data []byte) {
		m := fuzzProblem(data)
		if m == nil {
			return
		}
		wantN, wantCost := bruteForce(m)
		res, err := Solve(toDense(m))
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "Solve", m, res, wantN, wantCost)
		res, err = SolveSparse(len(m[0]), toArcs(rand.New(rand.NewPCG(uint64(len(data)), 1)), m))
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, "SolveSparse", m, res, wantN, wantCost)
	})
}

// fuzzParsed solves a small parsed matrix against brute force: whatever a
// parser accepts, Solve must handle.
func fuzzParsed(t *testing.T, m [][]float64) {
	if len(m)*len(m[0]) > 36 || len(m) > 6 || len(m[0]) > 6 {
		return
	}
	for _, row := range m {
		for _, x := range row {
			if math.Abs(x) > 1e12 { // keep sums exact enough to compare
				return
			}
		}
	}
	wantN, wantCost := bruteForce(m)
	res, err := Solve(toDense(m))
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, "Solve", m, res, wantN, wantCost)
}

func FuzzReadCSV(f *testing.F) {
	for _, tt := range csvTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		fuzzParsed(t, rowsOf(m))
	})
}

func FuzzReadORLib(f *testing.F) {
	for _, tt := range orlibTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ReadORLib(strings.NewReader(in))
		if err != nil {
			return
		}
		fuzzParsed(t, rowsOf(m))
	})
}
