package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/doorstep-dev/doorstep/matcher/lsap"
)

// assignUsage is the help text of the assign subcommand.
const assignUsage = `usage: doorstep assign [-format csv|orlib] FILE

Solves the linear sum assignment problem of the cost matrix in FILE ("-" for
standard input): each row gets at most one column and each column at most one
row, as many rows as possible are assigned and, among such assignments, the
total cost is least. Prints one JSON object:

  {"rows", "cols", "assigned", "cost", "assignment": [column per row, -1 if
  none], "solve_ms": the time of the solve alone, in milliseconds}

Formats:
  csv    (the default) one row per line, comma-separated; an empty cell or
         "inf" is a forbidden pair
  orlib  the OR-Library assignment format: n, then the n*n costs

Bad input exits with status 2 and a message naming the line.

Flags:
`

// assignOutput is the JSON answer of the assign subcommand.
type assignOutput struct {
	Rows       int     `json:"rows"`
	Cols       int     `json:"cols"`
	Assigned   int     `json:"assigned"`
	Cost       float64 `json:"cost"`
	Assignment []int   `json:"assignment"`
	SolveMS    float64 `json:"solve_ms"`
}

// runAssign runs `doorstep assign` with the arguments after the subcommand.
func runAssign(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("assign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "csv", "input `format`: csv or orlib")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), assignUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return errHelp
	} else if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("assign: %w", err)}
	}
	var read func(io.Reader) (*mat.Dense, error)
	switch *format {
	case "csv":
		read = lsap.ReadCSV
	case "orlib":
		read = lsap.ReadORLib
	default:
		return &exitError{code: 2, err: fmt.Errorf("assign: unknown -format %q (want csv or orlib)", *format)}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("assign: want exactly one FILE (or - for standard input)")}
	}

	name := fs.Arg(0)
	in := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("assign: %w", err)
		}
		defer f.Close()
		in = f
	}
	cost, err := read(in)
	if err != nil {
		var pe *lsap.ParseError
		if errors.As(err, &pe) {
			return &exitError{code: 2, err: fmt.Errorf("assign: %s: %w", name, err)}
		}
		return fmt.Errorf("assign: read %s: %w", name, err)
	}

	start := time.Now()
	res, err := lsap.Solve(cost)
	elapsed := time.Since(start)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("assign: %s: %w", name, err)}
	}
	r, c := cost.Dims()
	out := assignOutput{
		Rows:       r,
		Cols:       c,
		Assigned:   res.Assigned,
		Cost:       res.Cost,
		Assignment: res.RowToCol,
		SolveMS:    float64(elapsed.Microseconds()) / 1000,
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return fmt.Errorf("assign: write: %w", err)
	}
	return nil
}
