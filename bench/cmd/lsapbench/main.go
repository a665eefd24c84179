// Command lsapbench compares the exact assignment solver of matcher/lsap
// with SciPy's linear_sum_assignment on the very same matrices in the same
// run. It generates the matrices from a fixed seed, writes each to a
// temporary file (float64, little-endian, row-major), times the Go solver
// on it, has a small Python script (bench/scipy_lsap.py) load the same file
// and time SciPy, alternating the two sides solve by solve so that both run
// under the same machine load, checks that both reach the same optimal
// cost, and prints a markdown table of the medians of wall and CPU time.
// Only the solve is timed on either side.
//
// Usage (from the repository root; bench/lsap.sh does this):
//
//	go run ./bench/cmd/lsapbench -python /usr/bin/python3 -script bench/scipy_lsap.py [-reps 5] [-seed 1] [-results bench/RESULTS.md]
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/doorstep-dev/doorstep/matcher/lsap"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lsapbench:", err)
		os.Exit(1)
	}
}

// benchCase is one matrix to solve.
type benchCase struct {
	name       string
	rows, cols int
	geometric  bool    // euclidean metres between random points, else uniform integers
	limit      float64 // geometric pairs farther than this many metres are +Inf (0: none)
	sparse     bool    // also time lsap.SolveSparse on the allowed pairs
}

var cases = []benchCase{
	{name: "uniform integers 0..999", rows: 1000, cols: 1000},
	{name: "uniform integers 0..999", rows: 2000, cols: 2000},
	{name: "geometric, 20 km square", rows: 1000, cols: 1000, geometric: true},
	{name: "geometric, 20 km square", rows: 1000, cols: 5000, geometric: true},
	{name: "geometric, pairs > 6 km forbidden", rows: 2000, cols: 2000, geometric: true, limit: 6000, sparse: true},
}

// side is the side of the square the geometric points are drawn in, metres.
const side = 20000.0

// generate returns the case's matrix, drawn from rng.
func (c benchCase) generate(rng *rand.Rand) *mat.Dense {
	data := make([]float64, c.rows*c.cols)
	if !c.geometric {
		for k := range data {
			data[k] = float64(rng.IntN(1000))
		}
		return mat.NewDense(c.rows, c.cols, data)
	}
	xs, ys := make([]float64, c.cols), make([]float64, c.cols)
	for j := range xs {
		xs[j], ys[j] = rng.Float64()*side, rng.Float64()*side
	}
	for i := range c.rows {
		x, y := rng.Float64()*side, rng.Float64()*side
		for j := range xs {
			d := math.Hypot(x-xs[j], y-ys[j])
			if c.limit > 0 && d > c.limit {
				d = math.Inf(1)
			}
			data[i*c.cols+j] = d
		}
	}
	return mat.NewDense(c.rows, c.cols, data)
}

// timing is the outcome of repeated solves.
type timing struct {
	wall, cpu []time.Duration
	cost      float64
	assigned  int
	err       string
}

// medians returns the median wall and CPU times, in milliseconds.
func (t timing) medians() (wall, cpu float64) {
	return median(t.wall), median(t.cpu)
}

// median returns the median of ds in milliseconds (NaN if empty).
func median(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m) / float64(time.Millisecond)
}

// goSolve times one Go solve, on a locked OS thread so that the thread's
// CPU time is the solve's.
func goSolve(t *timing, solve func() (lsap.Result, error)) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	w0, c0 := time.Now(), threadCPU()
	res, err := solve()
	cpu, wall := threadCPU()-c0, time.Since(w0)
	if err != nil {
		return err
	}
	t.wall, t.cpu = append(t.wall, wall), append(t.cpu, cpu)
	t.cost, t.assigned = res.Cost, res.Assigned
	return nil
}

// sciPy is the running SciPy timing script.
type sciPy struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	stderr  bytes.Buffer
	version string
}

// startSciPy starts the script and reads its greeting.
func startSciPy(python, script string) (*sciPy, error) {
	p := &sciPy{cmd: exec.Command(python, script)}
	p.cmd.Stderr = &p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.out = bufio.NewScanner(out)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", python, script, err)
	}
	var hello struct {
		SciPy string `json:"scipy"`
	}
	if err := p.read(&hello); err != nil {
		return nil, err
	}
	p.version = hello.SciPy
	return p, nil
}

// read decodes the script's next line into v.
func (p *sciPy) read(v any) error {
	if !p.out.Scan() {
		return fmt.Errorf("scipy script ended: %v: %s", p.out.Err(), p.stderr.String())
	}
	if err := json.Unmarshal(p.out.Bytes(), v); err != nil {
		return fmt.Errorf("decode scipy script output %q: %w", p.out.Text(), err)
	}
	return nil
}

// solve has the script solve the matrix file once and adds the outcome to t.
func (p *sciPy) solve(t *timing, path string, rows, cols int) error {
	if _, err := fmt.Fprintf(p.in, "%s %d %d\n", path, rows, cols); err != nil {
		return fmt.Errorf("write to scipy script: %w: %s", err, p.stderr.String())
	}
	var r struct {
		Wall, CPU, Cost float64
		Assigned        int
		Error           string
	}
	if err := p.read(&r); err != nil {
		return err
	}
	if r.Error != "" {
		t.err = r.Error
		return nil
	}
	t.wall = append(t.wall, time.Duration(r.Wall*float64(time.Second)))
	t.cpu = append(t.cpu, time.Duration(r.CPU*float64(time.Second)))
	t.cost, t.assigned = r.Cost, r.Assigned
	return nil
}

// close ends the script.
func (p *sciPy) close() error {
	p.in.Close()
	return p.cmd.Wait()
}

// writeMatrix writes m's costs as float64 little-endian, row-major.
func writeMatrix(path string, m *mat.Dense) error {
	raw := m.RawMatrix()
	buf := make([]byte, 0, raw.Rows*raw.Cols*8)
	for i := range raw.Rows {
		for _, x := range raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols] {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
		}
	}
	return os.WriteFile(path, buf, 0o644)
}

// toArcs lists the finite entries of m per row.
func toArcs(m *mat.Dense) [][]lsap.Arc {
	r, c := m.Dims()
	adj := make([][]lsap.Arc, r)
	for i := range r {
		for j, x := range m.RawRowView(i)[:c] {
			if !math.IsInf(x, 1) {
				adj[i] = append(adj[i], lsap.Arc{Col: j, Cost: x})
			}
		}
	}
	return adj
}

// sameCost reports whether the Go and SciPy answers agree: the same number
// of pairs and costs within 1e-6 relative.
func sameCost(g, s timing) bool {
	return g.assigned == s.assigned && math.Abs(g.cost-s.cost) <= 1e-6*math.Max(1, math.Abs(s.cost))
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lsapbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	python := fs.String("python", "/usr/bin/python3", "the `python` with SciPy")
	script := fs.String("script", "bench/scipy_lsap.py", "the SciPy timing `script`")
	reps := fs.Int("reps", 5, "solves per case and side; the median is reported")
	seed := fs.Uint64("seed", 1, "random `seed` of the matrices")
	results := fs.String("results", "", "rewrite the generated part of this `file`'s SciPy section")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reps < 1 {
		return errors.New("-reps must be at least 1")
	}
	dir, err := os.MkdirTemp("", "lsapbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var table strings.Builder
	fmt.Fprintln(&table, "| case | rows x cols | Go ms | SciPy ms | Go/SciPy | Go CPU ms | SciPy CPU ms | CPU Go/SciPy | same optimum |")
	fmt.Fprintln(&table, "|---|---|--:|--:|--:|--:|--:|--:|---|")
	py, err := startSciPy(*python, *script)
	if err != nil {
		return err
	}
	defer py.close()
	allAgree := true
	for k, c := range cases {
		m := c.generate(rand.New(rand.NewPCG(*seed, uint64(k))))
		path := filepath.Join(dir, fmt.Sprintf("case%d.bin", k))
		if err := writeMatrix(path, m); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "case %d: %s %dx%d\n", k, c.name, c.rows, c.cols)
		// Alternate the sides, solve by solve, so that both see the same
		// load from the machine's other tenants.
		var goT, spT, sp timing
		var adj [][]lsap.Arc
		if c.sparse {
			adj = toArcs(m)
		}
		for range *reps {
			if err := goSolve(&goT, func() (lsap.Result, error) { return lsap.Solve(m) }); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			if err := py.solve(&sp, path, c.rows, c.cols); err != nil {
				return err
			}
			if c.sparse {
				if err := goSolve(&spT, func() (lsap.Result, error) { return lsap.SolveSparse(c.cols, adj) }); err != nil {
					return fmt.Errorf("%s sparse: %w", c.name, err)
				}
			}
		}
		rows := []struct {
			label string
			t     timing
		}{{"Solve (dense)", goT}}
		if c.sparse {
			rows = append(rows, struct {
				label string
				t     timing
			}{"SolveSparse", spT})
		}
		os.Remove(path)
		for _, r := range rows {
			gw, gc := r.t.medians()
			sw, sc := sp.medians()
			agree := "n/a: " + sp.err
			if sp.err == "" {
				agree = fmt.Sprintf("yes (%.6g)", r.t.cost)
				if !sameCost(r.t, sp) {
					agree = fmt.Sprintf("NO: Go %.10g (%d), SciPy %.10g (%d)", r.t.cost, r.t.assigned, sp.cost, sp.assigned)
					allAgree = false
				}
			}
			fmt.Fprintf(&table, "| %s, %s | %dx%d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %s |\n",
				c.name, r.label, c.rows, c.cols, gw, sw, gw/sw, gc, sc, gc/sc, agree)
		}
	}

	var report strings.Builder
	fmt.Fprintf(&report, "Run %s on %s (%d cores; load average at the end: %s), %s, SciPy %s; seed %d, median of %d solves per side.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cpuModel(), runtime.NumCPU(), loadAverage(), runtime.Version(), py.version, *seed, *reps)
	report.WriteString(table.String())
	if allAgree {
		report.WriteString("\nBoth sides reached the same optimal cost (within 1e-6 relative) on every case.\n")
	} else {
		report.WriteString("\n**The optimal costs disagree on some case (see the table).**\n")
	}
	fmt.Fprint(stdout, report.String())
	if *results != "" {
		if err := updateResults(*results, report.String()); err != nil {
			return err
		}
	}
	if !allAgree {
		return errors.New("the optima of Go and SciPy disagree")
	}
	return nil
}

// cpuModel returns the CPU's model name, as Linux reports it.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// loadAverage returns the 1, 5 and 15 minute load averages (Linux), which
// say how much the other tenants of the machine disturbed the timings.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// The generated part of the results section lies between these markers.
const (
	resultsHeading = "## Assignment solver vs SciPy"
	beginMarker    = "<!-- lsapbench:begin (generated by bench/lsap.sh; edit outside the markers) -->"
	endMarker      = "<!-- lsapbench:end -->"
)

// updateResults replaces the generated part of the SciPy section of the
// results file with report, creating the section (or the file) if absent.
// Other sections, and hand-written text outside the markers, are kept.
func updateResults(path, report string) error {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(b)
	generated := beginMarker + "\n" + report + endMarker
	switch i, j := strings.Index(text, beginMarker), strings.Index(text, endMarker); {
	case i >= 0 && j > i:
		text = text[:i] + generated + text[j+len(endMarker):]
	case strings.Contains(text, resultsHeading+"\n"):
		text = strings.Replace(text, resultsHeading+"\n", resultsHeading+"\n\n"+generated+"\n", 1)
	default:
		if text == "" {
			text = "# Benchmark results\n"
		}
		text = strings.TrimRight(text, "\n") + "\n\n" + resultsHeading + "\n\n" + generated + "\n"
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
