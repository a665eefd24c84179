package sim

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// Options are how Run runs a scenario. The zero value runs it sequentially,
// without progress, timings or limits, and cannot replay traces.
type Options struct {
	// Open opens a replayed trace by the path the scenario gives (relative
	// to the scenario file: the caller resolves it). Nil refuses replay
	// scenarios with ErrNoTraces.
	Open func(name string) (io.ReadCloser, error)
	// Progress, when set, is called as requests are simulated with the
	// number done and the total over all variants. Calls are serialised.
	Progress func(done, total int)
	// Limits bound the size of what is simulated.
	Limits Limits
	// Now is the wall clock Report.Timing is measured with; nil means no
	// timings. The simulation itself never reads it.
	Now func() time.Time
	// Parallelism is how many variants run at once; 0 means 1. The report
	// is the same whatever it is.
	Parallelism int
}

// Limits bound a simulation; zero fields are unlimited. A scenario beyond
// them fails with an *doorstep.Error of code ETOOLARGE naming the field.
type Limits struct {
	MaxWorkers  int // per variant
	MaxRequests int // per variant
	MaxVariants int
	// MaxReplications bounds Replicate's seeds.
	MaxReplications int
}

// Check reports whether s fits within l without drawing anything: the
// variants, the roster of each variant and the expected synthetic demand.
// Run checks the actual demand again once drawn.
func (l Limits) Check(s *Scenario) error {
	vs := s.variants()
	if l.MaxVariants > 0 && len(vs) > l.MaxVariants {
		return doorstep.Errorf(doorstep.ETOOLARGE, "variants", "%d variants exceed the limit of %d", len(vs), l.MaxVariants)
	}
	for i := range vs {
		if n := s.rosterSize(&vs[i]); l.MaxWorkers > 0 && n > l.MaxWorkers {
			return doorstep.Errorf(doorstep.ETOOLARGE, "roster", "variant %q has %d workers, over the limit of %d", vs[i].Name, n, l.MaxWorkers)
		}
	}
	if y := s.Demand.Synthetic; y != nil && l.MaxRequests > 0 {
		expected := y.RequestsPerHour * s.Scale * s.HorizonHours
		for _, v := range vs {
			f := 1.0
			if u := v.ScaleUrgent; u != nil {
				f = 1 + y.UrgentShare*max(u.Factor-1, 0)
			}
			if expected*f > float64(l.MaxRequests) {
				return doorstep.Errorf(doorstep.ETOOLARGE, "demand", "variant %q expects about %.0f requests, over the limit of %d", v.Name, expected*f, l.MaxRequests)
			}
		}
	}
	return nil
}

// rosterSize is the number of workers buildRoster draws for v.
func (s *Scenario) rosterSize(v *Variant) int {
	n := 0
	for _, g := range s.Roster.Groups {
		c := scaled(g.Count, s.Scale)
		if r := v.ScaleRoster; r != nil && (r.Group == g.Name || r.Skill != "" && slices.Contains(g.Skills, r.Skill)) {
			c = int(math.Round(float64(c) * r.Factor))
		}
		n += c
	}
	if a := v.AddWorkers; a != nil {
		n += scaled(a.Count, s.Scale)
	}
	return n
}

// Run simulates every variant of s on the same demand draw and reports
// them side by side. It returns ctx's error, wrapped, when ctx ends first.
// The report is a function of the scenario alone (and the trace it
// replays): the same scenario and seed give the same report.
func Run(ctx context.Context, s *Scenario, opts Options) (*Report, error) {
	if err := opts.Limits.Check(s); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = func() time.Time { return time.Time{} }
	}
	t0 := now()
	base, err := s.drawDemand(&opts)
	if err != nil {
		return nil, err
	}
	vs := s.variants()
	demands := make([][]arrival, len(vs))
	total := 0
	for i := range vs {
		demands[i] = s.variantDemand(i, &vs[i], base.arrivals)
		if l := opts.Limits.MaxRequests; l > 0 && len(demands[i]) > l {
			return nil, doorstep.Errorf(doorstep.ETOOLARGE, "demand", "variant %q has %d requests, over the limit of %d", vs[i].Name, len(demands[i]), l)
		}
		total += len(demands[i])
	}
	prog := newProgress(opts.Progress, total)

	rep := &Report{
		Scenario:     s.Name,
		Seed:         s.Seed,
		Scale:        round4(s.Scale),
		Start:        s.Start.Format(time.RFC3339),
		HorizonHours: round4(s.HorizonHours),
		Trace:        base.trace,
		Variants:     make([]VariantReport, len(vs)),
	}
	timing := &Timing{Variants: make([]VariantTiming, len(vs))}
	par := max(opts.Parallelism, 1)
	sem := make(chan struct{}, par)
	errs := make([]error, len(vs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range vs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			v0 := now()
			vr, solve, err := s.runVariant(ctx, i, &vs[i], demands[i], prog)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			rep.Variants[i] = *vr
			d := now().Sub(v0)
			timing.Variants[i] = VariantTiming{Name: vs[i].Name, Requests: len(demands[i]),
				Seconds: d.Seconds(), SolveSeconds: solve.Seconds()}
			if d > 0 {
				timing.Variants[i].RequestsPerSecond = float64(len(demands[i])) / d.Seconds()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	rep.Summary = Summarize(rep)
	timing.Seconds = now().Sub(t0).Seconds()
	if opts.Now != nil {
		rep.Timing = timing
	}
	return rep, nil
}

// runVariant simulates one variant.
func (s *Scenario) runVariant(ctx context.Context, vi int, v *Variant, arr []arrival, prog *progress) (*VariantReport, time.Duration, error) {
	s = s.reshaped(v.Reshape)
	workers, regions, err := s.buildRoster(vi, v)
	if err != nil {
		return nil, 0, err
	}
	policy := s.Policy
	if v.Policy != nil {
		policy = *v.Policy
	}
	m, err := s.matcherFor(policy, workers, arr)
	if err != nil {
		return nil, 0, err
	}
	e := newEngine(s, policy, m, workers, arr, prog)
	e.regions = regions
	if err := e.run(ctx); err != nil {
		return nil, 0, err
	}
	if err := e.verify(); err != nil {
		return nil, 0, err
	}
	vr := e.report()
	vr.Name = v.Name
	vr.Change = s.describe(v)
	return vr, e.solve, nil
}

// describe says in a few words what a variant changes, as done at the
// scenario's scale.
func (s *Scenario) describe(v *Variant) string {
	switch {
	case v.Policy != nil:
		return "policy: " + v.Policy.String()
	case v.ScaleRoster != nil:
		r := v.ScaleRoster
		if r.Group != "" {
			return fmt.Sprintf("group %s x%g", r.Group, r.Factor)
		}
		return fmt.Sprintf("workers with skill %s x%g", r.Skill, r.Factor)
	case v.AddWorkers != nil:
		a := v.AddWorkers
		if n := scaled(a.Count, s.Scale); n != a.Count {
			return fmt.Sprintf("+%d workers like %s (%d at scale %g)", n, a.Like, a.Count, s.Scale)
		}
		return fmt.Sprintf("+%d workers like %s", a.Count, a.Like)
	case v.ScaleUrgent != nil:
		u := v.ScaleUrgent
		return fmt.Sprintf("urgent demand x%g in hours %g-%g", u.Factor, u.FromHour, u.ToHour)
	case v.Reshape != nil:
		return describeReshape(v.Reshape)
	}
	return "none"
}

// progress serialises progress reports from the variants, throttled to
// about a thousand calls a run.
type progress struct {
	mu          sync.Mutex
	fn          func(done, total int)
	done, total int
	step, next  int
}

func newProgress(fn func(done, total int), total int) *progress {
	p := &progress{fn: fn, total: total, step: max(total/1000, 1)}
	p.next = p.step
	return p
}

// add records n more requests done.
func (p *progress) add(n int) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.done >= p.next || p.done == p.total {
		p.next = p.done + p.step
		p.fn(p.done, p.total)
	}
}

// matcherFor returns the matcher policy decides with: the server's, which
// prices urgent capacity by the scenario's urgent profile, except for
// greedy, which knows no profile and books each worker's earliest slot.
func (s *Scenario) matcherFor(policy Policy, workers []*doorstep.Worker, arr []arrival) (*matcher.Matcher, error) {
	if policy.Name == PolicyGreedy {
		return newMatcherWith(s, nil)
	}
	return newMatcherWith(s, s.urgentProfile(workers, arr))
}

// newMatcherWith returns the matcher of the scenario's travel model and
// weights that prices urgent capacity by p (nil: not at all).
func newMatcherWith(s *Scenario, p *matcher.UrgentProfile) (*matcher.Matcher, error) {
	cfg := matcher.Config{Travel: s.travelModel(), Urgent: p}
	if s.Matching.Weights != nil {
		cfg.Weights = *s.Matching.Weights
	}
	m, err := matcher.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return m, nil
}
