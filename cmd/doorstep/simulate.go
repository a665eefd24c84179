package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/sim"
)

// simulateUsage is the help text of the simulate subcommand.
const simulateUsage = `usage: doorstep simulate -scenario FILE [-out DIR] [-seed N] [-scale X] [-replications K]

Runs a what-if simulation: the scenario's roster serves its demand (synthetic,
or a replayed trace whose path is relative to the scenario file) through the
production matcher, once per variant, on the same demand draw. Writes to DIR:

  report.json   the figures per variant, per hour and per region
                (byte-identical for the same scenario and seed)
  timing.json   wall-clock timings
  *.svg         charts: urgent arrival times, on-time share and utilisation by hour
  report.html   a self-contained page with the key table and the charts
  urgent-profile.json
                the urgent demand profile the first variant prices normal
                jobs with, for doorstep serve -urgent-profile

and prints the key table. With -replications K (or the scenario's
"replications") it runs seeds N..N+K-1 and adds, per variant and metric, the
mean and 95% confidence interval over them, and each variant's difference to
the first one paired by seed, marked where significant (report.json:
variants[i].replications and variants[i].differences); the per-hour and
per-region figures and the charts are of seed N. A bad scenario exits with status 2 naming the field.

Flags:
`

// runSimulate runs `doorstep simulate` with the arguments after the
// subcommand.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	path := fset.String("scenario", "", "scenario `FILE` (JSON)")
	out := fset.String("out", "", "output `DIR` (default: a new temporary directory, printed at the end; never the current directory)")
	seed := fset.Uint64("seed", 0, "seed `N`, replacing the scenario's")
	scale := fset.Float64("scale", 0, "scale `X` of roster and demand, replacing the scenario's (e.g. 0.1 for a quick run)")
	reps := fset.Int("replications", 0, "run seeds N..N+`K`-1 and report means with 95% confidence intervals (default: the scenario's, else 1)")
	parallel := fset.Int("parallel", runtime.GOMAXPROCS(0), "variants simulated at once")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), simulateUsage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); errors.Is(err, flag.ErrHelp) {
		return errHelp
	} else if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("simulate: %w", err)}
	}
	if *path == "" || fset.NArg() > 0 {
		fset.Usage()
		return &exitError{code: 2, err: errors.New("simulate: want -scenario FILE and no other arguments")}
	}
	set := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { set[f.Name] = true })

	data, err := os.ReadFile(*path)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("simulate: read scenario: %w", err)}
	}
	s, err := sim.ParseScenario(data)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("simulate: scenario %s: %s", *path, describeErr(err))}
	}
	if set["seed"] {
		s.Seed = *seed
	}
	if set["scale"] {
		if !(*scale > 0 && *scale <= 100) {
			return &exitError{code: 2, err: fmt.Errorf("simulate: -scale %v must be in (0, 100]", *scale)}
		}
		s.Scale = *scale
	}
	if set["replications"] {
		if *reps < 1 || *reps > sim.MaxReplications {
			return &exitError{code: 2, err: fmt.Errorf("simulate: -replications %d must be in [1, %d]", *reps, sim.MaxReplications)}
		}
		s.Replications = *reps
	}
	if *parallel < 1 {
		return &exitError{code: 2, err: fmt.Errorf("simulate: -parallel %d must be at least 1", *parallel)}
	}
	base := filepath.Dir(*path)
	opts := sim.Options{
		Open:        traceOpener(base),
		Now:         time.Now,
		Parallelism: *parallel,
	}
	bar := newSimProgress(stderr)
	opts.Progress = bar.update
	rep, err := sim.Replicate(ctx, s, s.Replications, opts)
	bar.finish()
	if err != nil {
		if doorstep.ErrorCode(err) == doorstep.EINVALID {
			return &exitError{code: 2, err: fmt.Errorf("simulate: scenario %s: %s", *path, describeErr(err))}
		}
		return fmt.Errorf("simulate: %w", err)
	}
	dir := *out
	if dir == "" {
		// Not the current directory, which is often a checkout: a fresh
		// temporary one, named after the scenario and printed below.
		name := strings.TrimSuffix(filepath.Base(*path), filepath.Ext(*path))
		if dir, err = os.MkdirTemp("", "doorstep-sim-"+name+"-"); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	if err := writeReport(dir, rep); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := writeUrgentProfile(dir, s, opts); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if err := sim.WriteTable(stdout, rep); err != nil {
		return err
	}
	if err := sim.WriteReplicatedTable(stdout, rep); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, p := range rep.Summary {
		fmt.Fprintln(stdout, p)
	}
	fmt.Fprintf(stdout, "\nwrote %s (report.json, timing.json, charts, report.html, urgent-profile.json) in %.1fs\n", dir, rep.Timing.Seconds)
	return nil
}

// describeErr renders a scenario error as "field: message".
func describeErr(err error) string {
	var e *doorstep.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}

// writeReport writes the report's files into dir.
func writeReport(dir string, rep *sim.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := rep.JSON()
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	tj, err := rep.Timing.JSON()
	if err != nil {
		return fmt.Errorf("encode timing: %w", err)
	}
	charts, err := sim.Charts(rep)
	if err != nil {
		return err
	}
	files := map[string][]byte{"report.json": js, "timing.json": tj}
	for _, c := range charts {
		files[c.Name] = c.SVG
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	if err := sim.WriteHTML(f, rep, charts); err != nil {
		f.Close()
		return fmt.Errorf("write report.html: %w", err)
	}
	return f.Close()
}

// simProgress renders the simulation's progress on stderr when it is a
// terminal, and nothing otherwise.
type simProgress struct {
	w   io.Writer
	on  bool
	bar *progressbar.ProgressBar
}

func newSimProgress(w io.Writer) *simProgress {
	f, ok := w.(*os.File)
	return &simProgress{w: w, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *simProgress) update(done, total int) {
	if !p.on {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("simulating requests"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = p.bar.Set(done) // a failed write to the terminal is not worth failing the run
}

func (p *simProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// writeUrgentProfile writes the urgent profile of s into dir.
func writeUrgentProfile(dir string, s *sim.Scenario, opts sim.Options) error {
	opts.Progress = nil
	p, err := s.UrgentProfile(opts)
	if err != nil {
		return fmt.Errorf("urgent profile: %w", err)
	}
	b, err := marshalUrgentProfile(p)
	if err != nil {
		return fmt.Errorf("encode urgent profile: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "urgent-profile.json"), b, 0o644)
}

// traceOpener opens a scenario's replayed trace by the path it gives,
// relative to base (the scenario file's folder).
func traceOpener(base string) func(string) (io.ReadCloser, error) {
	return func(name string) (io.ReadCloser, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(base, name)
		}
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("trace %s not found (demand.replay.path is relative to the scenario file): %w", name, err)
		}
		return f, err
	}
}
