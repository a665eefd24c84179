package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/sim"
)

const staffUsage = `usage: doorstep staff -scenario FILE -group NAME -target X [-metric NAME] [-region NAME]
                     [-replications K] [-max N] [-seed N] [-shift A,B ...]

Finds the smallest number of workers to add like group NAME (homed in the
scenario's named region when -region is given) for the mean of a report
metric over K seeds to reach the target: urgent_on_time_share >= 0.99, or
unserved <= 50 (for metrics where less is better the target is a ceiling).
The scenario's variants are ignored: each count is simulated alone, on the
same seeds. Prints JSON:

  {"group","region","count","added","mean","ci95_low","ci95_high",
   "mean_at_one_less","evaluations","reached",...}

and, when no count up to -max reaches the target, says so and what stops
the requests still unserved. -shift A,B (repeatable) replaces the group's
shifts by the listed shifts of the roster, one search per option; the
answer is then a JSON array, one result per option.

Flags:
`

// runStaff runs `doorstep staff`.
func runStaff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("staff", flag.ContinueOnError)
	fset.SetOutput(stderr)
	path := fset.String("scenario", "", "scenario `FILE` (JSON)")
	group := fset.String("group", "", "the roster group to add workers like")
	region := fset.String("region", "", "a named region of the scenario where the added workers live")
	metric := fset.String("metric", "urgent_on_time_share", "a totals field of the report")
	target := fset.Float64("target", 0, "the target for the metric's mean (required)")
	reps := fset.Int("replications", 10, "seeds `K` each count is judged over")
	maxAdd := fset.Int("max", 0, "at most `N` workers added (default: 10 times the group)")
	seed := fset.Uint64("seed", 0, "first seed `N`, replacing the scenario's")
	parallel := fset.Int("parallel", runtime.GOMAXPROCS(0), "shift options searched at once")
	var shifts [][]string
	fset.Func("shift", "a shift option `A,B`: the group's shifts replaced by these (repeatable)", func(v string) error {
		var names []string
		for n := range strings.SplitSeq(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return errors.New("want shift names separated by commas")
		}
		shifts = append(shifts, names)
		return nil
	})
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), staffUsage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); errors.Is(err, flag.ErrHelp) {
		return errHelp
	} else if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("staff: %w", err)}
	}
	set := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *path == "" || *group == "" || !set["target"] || fset.NArg() > 0:
		fset.Usage()
		return &exitError{code: 2, err: errors.New("staff: want -scenario FILE, -group NAME and -target X, and no other arguments")}
	case *reps < 1 || *reps > sim.MaxReplications:
		return &exitError{code: 2, err: fmt.Errorf("staff: -replications %d must be in [1, %d]", *reps, sim.MaxReplications)}
	case *maxAdd < 0:
		return &exitError{code: 2, err: fmt.Errorf("staff: -max %d must be positive", *maxAdd)}
	case *parallel < 1:
		return &exitError{code: 2, err: fmt.Errorf("staff: -parallel %d must be at least 1", *parallel)}
	}
	data, err := os.ReadFile(*path)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("staff: read scenario: %w", err)}
	}
	s, err := sim.ParseScenario(data)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("staff: scenario %s: %s", *path, describeErr(err))}
	}
	if set["seed"] {
		s.Seed = *seed
	}
	base := filepath.Dir(*path)
	opts := sim.Options{Open: traceOpener(base)}
	q := sim.StaffQuery{Group: *group, Region: *region, Metric: *metric, Target: *target, Replications: *reps, Max: *maxAdd}
	options := shifts
	if len(options) == 0 {
		options = [][]string{nil}
	}
	results := make([]*sim.StaffResult, len(options))
	errs := make([]error, len(options))
	sem := make(chan struct{}, *parallel)
	done := make(chan struct{})
	for i, sh := range options {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; done <- struct{}{} }()
			qi := q
			qi.Shifts = sh
			results[i], errs[i] = sim.Staff(ctx, s, qi, opts)
		}()
	}
	for range options {
		<-done
	}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if doorstep.ErrorCode(err) == doorstep.EINVALID {
			return &exitError{code: 2, err: fmt.Errorf("staff: %s", describeErr(err))}
		}
		return fmt.Errorf("staff: %w", err)
	}
	var out any = results[0]
	if len(shifts) > 0 {
		out = results
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	for _, r := range results {
		if !r.Reached {
			fmt.Fprintf(stderr, "staff: target not reached%s: %s\n", shiftLabel(r.Shifts), r.Limit)
		}
	}
	return nil
}

func shiftLabel(shifts []string) string {
	if len(shifts) == 0 {
		return ""
	}
	return " with shifts " + strings.Join(shifts, ",")
}
