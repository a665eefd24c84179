package lsap

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/mat"
)

// rowsOf returns the rows of m.
func rowsOf(m *mat.Dense) [][]float64 {
	r, c := m.Dims()
	rows := make([][]float64, r)
	for i := range rows {
		rows[i] = make([]float64, c)
		mat.Row(rows[i], i, m)
	}
	return rows
}

// parseTest is a parser case: the rows wanted, or the error and line.
type parseTest struct {
	name string
	in   string
	want [][]float64
	err  error
	line int
}

var csvTests = []parseTest{
	{name: "plain", in: "1,2\n3,4\n", want: [][]float64{{1, 2}, {3, 4}}},
	{name: "spaces crlf no final newline", in: " 1 , 2.5 \r\n3,-4", want: [][]float64{{1, 2.5}, {3, -4}}},
	{name: "forbidden", in: "1,,INF\ninf, +Inf ,2\n", want: [][]float64{{1, inf, inf}, {inf, inf, 2}}},
	{name: "blank lines skipped", in: "\n1,2\n\n  \n3,4\n\n", want: [][]float64{{1, 2}, {3, 4}}},
	{name: "one column", in: "1\ninf\n3\n", want: [][]float64{{1}, {inf}, {3}}},
	{name: "trailing comma", in: "1,2,\n3,4,5\n", want: [][]float64{{1, 2, inf}, {3, 4, 5}}},
	{name: "exponent", in: "1e3,2E-1\n", want: [][]float64{{1000, 0.2}}},
	{name: "ragged", in: "1,2\n3,4\n\n5\n", err: ErrRagged, line: 4},
	{name: "ragged long", in: "1,2\n3,4,5\n", err: ErrRagged, line: 2},
	{name: "word", in: "1,2\n3,x\n", err: ErrSyntax, line: 2},
	{name: "header", in: "a,b\n1,2\n", err: ErrSyntax, line: 1},
	{name: "nan", in: "1,2\n3,4\nNaN,5\n", err: ErrNaN, line: 3},
	{name: "neg inf", in: "1,-inf\n", err: ErrNegInf, line: 1},
	{name: "out of range", in: "1e999\n", err: ErrSyntax, line: 1},
	{name: "empty", in: "", err: ErrEmpty, line: 0},
	{name: "only blank", in: "\n \n", err: ErrEmpty, line: 2},
}

var orlibTests = []parseTest{
	{name: "one line", in: "2 1 2 3 4", want: [][]float64{{1, 2}, {3, 4}}},
	{name: "wrapped", in: " 3\n 1 2 3 4\n 5 6 7\n 8 9\n", want: [][]float64{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}},
	{name: "inf and reals", in: "2\n1.5 inf\n-2 0\n", want: [][]float64{{1.5, inf}, {-2, 0}}},
	{name: "short", in: "2\n1 2\n3\n", err: ErrCount, line: 3},
	{name: "long", in: "2\n1 2\n3 4\n5\n", err: ErrCount, line: 4},
	{name: "bad n", in: "x\n1\n", err: ErrCount, line: 1},
	{name: "zero n", in: "0\n", err: ErrCount, line: 1},
	{name: "negative n", in: "\n-3\n", err: ErrCount, line: 2},
	{name: "real n", in: "2.5 1 2", err: ErrCount, line: 1},
	{name: "huge n", in: "99999999999 1", err: ErrCount, line: 1},
	{name: "word", in: "2\n1 2\n3 four\n", err: ErrSyntax, line: 3},
	{name: "nan", in: "1\nnan\n", err: ErrNaN, line: 2},
	{name: "neg inf", in: "1 -Inf", err: ErrNegInf, line: 1},
	{name: "empty", in: "  \n", err: ErrEmpty, line: 1},
}

func TestReadCSV(t *testing.T) {
	runParseTests(t, csvTests, ReadCSV)
}

func TestReadORLib(t *testing.T) {
	runParseTests(t, orlibTests, ReadORLib)
}

// runParseTests runs the parser cases through read.
func runParseTests(t *testing.T, tests []parseTest, read func(io.Reader) (*mat.Dense, error)) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := read(strings.NewReader(tt.in))
			if tt.err != nil {
				var pe *ParseError
				if !errors.Is(err, tt.err) || !errors.As(err, &pe) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				if pe.Line != tt.line {
					t.Errorf("error %q on line %d, want line %d", err, pe.Line, tt.line)
				}
				if !strings.Contains(err.Error(), "line ") {
					t.Errorf("error %q does not name the line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := rowsOf(m)
			if diff := cmp.Diff(got, tt.want, cmp.Comparer(func(a, b float64) bool { return a == b || math.IsInf(a, 1) && math.IsInf(b, 1) })); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}
