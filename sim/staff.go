package sim

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/doorstep-dev/doorstep"
)

// StaffQuery asks how many workers a group needs for a service level: the
// smallest number added like Group (homed in Region when given) whose mean
// Metric over Replications seeds reaches Target.
type StaffQuery struct {
	Group string
	// Region is a named region of the scenario (regions.named) where the
	// added workers live; "" adds them where the group lives.
	Region string
	// Metric is a totals field (e.g. urgent_on_time_share, unserved).
	// Fields where less is better (LowerIsBetter) reach the target from
	// above.
	Metric string
	Target float64
	// Replications is the seeds each count is judged over; 0 means the
	// scenario's.
	Replications int
	// Max bounds the workers added; 0 means 10 times the group's count.
	Max int
	// Shifts, when set, replace the group's shifts (names of the roster's
	// shifts) for the added workers and the group alike.
	Shifts []string
}

// StaffResult is the answer of Staff.
type StaffResult struct {
	Group  string   `json:"group"`
	Region string   `json:"region,omitempty"`
	Shifts []string `json:"shifts,omitempty"`
	Metric string   `json:"metric"`
	Target float64  `json:"target"`
	// Reached says whether some count up to Max reaches the target.
	Reached bool `json:"reached"`
	// Count is the group's workers with the added ones; Added the added.
	// Without Reached they are the figures at Max.
	Count int `json:"count"`
	Added int `json:"added"`
	// Mean, CI95Low and CI95High are the metric at Added over the seeds.
	Mean     float64  `json:"mean"`
	CI95Low  *float64 `json:"ci95_low"`
	CI95High *float64 `json:"ci95_high"`
	// MeanAtOneLess is the metric with one worker fewer added (nil when
	// none is added): it must miss the target where Reached.
	MeanAtOneLess *float64 `json:"mean_at_one_less"`
	// Evaluations counts the counts simulated (each over every seed).
	Evaluations int      `json:"evaluations"`
	Seeds       []uint64 `json:"seeds"`
	// UnservedByReason is what still stops requests at Added (first seed),
	// and Limit, without Reached, says in words what keeps the target out
	// of reach.
	UnservedByReason map[string]int `json:"unserved_by_reason,omitempty"`
	Limit            string         `json:"limit,omitempty"`
}

// LowerIsBetter lists the totals fields where a smaller value is better.
var LowerIsBetter = []string{"unserved", "travel_km_per_job", "urgent_arrival_p50_minutes", "urgent_arrival_p95_minutes", "fairness_gini"}

// Staff answers q on scenario s: it simulates the scenario with n workers
// added like the group, doubling n from 1 until the mean metric over the
// seeds reaches the target (or n reaches Max), then bisects down to the
// smallest n that reaches it, and checks one less. Every count runs on the
// same seeds, so two counts differ by the workers only. The metric need not
// rise with every worker added (the draw of the added workers' homes and
// shifts differs with n), so the answer is the smallest count found to
// reach the target with one less found to miss it, not a proof that no
// smaller count anywhere reaches it.
func Staff(ctx context.Context, s *Scenario, q StaffQuery, opts Options) (*StaffResult, error) {
	base := *s
	g := slices.IndexFunc(base.Roster.Groups, func(g Group) bool { return g.Name == q.Group })
	if g < 0 {
		return nil, doorstep.Errorf(doorstep.EINVALID, "group", "no group %q in the roster (groups: %s)", q.Group, groupNames(s))
	}
	var homes []Place
	if q.Region != "" {
		r := slices.IndexFunc(base.Regions.Named, func(r NamedRegion) bool { return r.Name == q.Region })
		if r < 0 {
			return nil, doorstep.Errorf(doorstep.EINVALID, "region", "no named region %q in the scenario", q.Region)
		}
		homes = base.Regions.Named[r].Places
	}
	if len(q.Shifts) > 0 {
		for _, name := range q.Shifts {
			if !slices.ContainsFunc(base.Roster.Shifts, func(p ShiftPattern) bool { return p.Name == name }) {
				return nil, doorstep.Errorf(doorstep.EINVALID, "shift", "no shift %q in the roster", name)
			}
		}
		base.Roster.Groups = slices.Clone(base.Roster.Groups)
		base.Roster.Groups[g].Shifts = slices.Clone(q.Shifts)
	}
	k := q.Replications
	if k == 0 {
		k = max(base.Replications, 1)
	}
	limit := q.Max
	if limit == 0 {
		limit = max(10*base.Roster.Groups[g].Count, 10)
	}
	if limit < 1 || limit > maxCount {
		return nil, doorstep.Errorf(doorstep.EINVALID, "max", "must be in [1, %d]", maxCount)
	}
	lower := slices.Contains(LowerIsBetter, q.Metric)
	reaches := func(x float64) bool {
		if lower {
			return x <= q.Target
		}
		return x >= q.Target
	}

	type eval struct {
		iv      Interval
		reasons map[string]int
		seeds   []uint64
	}
	memo := map[int]eval{}
	evaluate := func(n int) (eval, error) {
		if e, ok := memo[n]; ok {
			return e, nil
		}
		sc := base
		sc.Variants = []Variant{{Name: fmt.Sprintf("+%d %s", n, q.Group)}}
		if n > 0 {
			sc.Variants[0].AddWorkers = &AddWorkers{Like: q.Group, Count: n, Homes: homes, Region: q.Region}
		}
		o := opts
		o.Progress = nil
		rep, err := Replicate(ctx, &sc, k, o)
		if err != nil {
			return eval{}, err
		}
		v := &rep.Variants[0]
		iv, ok := v.Replications[q.Metric]
		if k == 1 {
			// One seed: Replicate is Run, without intervals.
			m, err := numericFields(&v.Totals)
			if err != nil {
				return eval{}, err
			}
			x, has := m[q.Metric]
			iv, ok = Interval{N: 1, Mean: x}, has
			rep.Replications = &Replications{Count: 1, Seeds: []uint64{sc.Seed}}
		}
		if !ok || iv.N == 0 {
			return eval{}, doorstep.Errorf(doorstep.EINVALID, "metric", "%q is not a numeric field of the report's totals, or has no value here (fields: %s)", q.Metric, strings.Join(metricNames(v), ", "))
		}
		e := eval{iv: iv, reasons: v.UnservedByReason, seeds: rep.Replications.Seeds}
		memo[n] = e
		return e, nil
	}

	res := &StaffResult{Group: q.Group, Region: q.Region, Shifts: q.Shifts, Metric: q.Metric, Target: q.Target}
	groupCount := scaled(base.Roster.Groups[g].Count, base.Scale)
	finish := func(n int) (*StaffResult, error) {
		e := memo[n]
		res.Added, res.Count = scaled(n, base.Scale), groupCount+scaled(n, base.Scale)
		res.Mean, res.CI95Low, res.CI95High = e.iv.Mean, e.iv.CI95Low, e.iv.CI95High
		res.UnservedByReason, res.Seeds = e.reasons, e.seeds
		if n > 0 {
			less, err := evaluate(n - 1)
			if err != nil {
				return nil, err
			}
			m := less.iv.Mean
			res.MeanAtOneLess = &m
		}
		res.Evaluations = len(memo)
		return res, nil
	}

	e, err := evaluate(0)
	if err != nil {
		return nil, err
	}
	if reaches(e.iv.Mean) {
		res.Reached = true
		return finish(0)
	}
	lo, hi := 0, 0 // lo misses; hi, once found, reaches
	for n := 1; ; n = min(2*n, limit) {
		e, err := evaluate(n)
		if err != nil {
			return nil, err
		}
		if reaches(e.iv.Mean) {
			hi = n
			break
		}
		lo = n
		if n == limit {
			break
		}
	}
	if hi == 0 {
		r, err := finish(limit)
		if err != nil {
			return nil, err
		}
		r.Limit = limitText(q, memo[0].iv.Mean, memo[limit].iv.Mean, limit, memo[limit].reasons)
		return r, nil
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		e, err := evaluate(mid)
		if err != nil {
			return nil, err
		}
		if reaches(e.iv.Mean) {
			hi = mid
		} else {
			lo = mid
		}
	}
	res.Reached = true
	return finish(hi)
}

// limitText says why adding workers did not reach the target: how far the
// metric moved, and the reason that stops most of the requests still
// unserved, in words an operations team can act on.
func limitText(q StaffQuery, at0, atMax float64, limit int, reasons map[string]int) string {
	msg := fmt.Sprintf("adding up to %d workers like %s moves %s from %.4g to %.4g, short of %.4g", limit, q.Group, q.Metric, at0, atMax, q.Target)
	if len(reasons) == 0 {
		return msg
	}
	keys := slices.Collect(maps.Keys(reasons))
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(reasons[b], reasons[a]), cmp.Compare(a, b))
	})
	top := keys[0]
	why := map[string]string{
		"shift":         "no shift covers the hours those requests need (shift structure: try -shift or another shift pattern)",
		"shift_end":     "jobs cannot end before the shifts end (shift structure: later or longer shifts, or breaks at the edge)",
		"deadline":      "workers cannot reach them within the promise (homes too far, or too few on shift at those hours)",
		"busy":          "the workers who could are busy at those hours",
		"cap":           "daily caps stop the workers who could",
		"skills":        "no worker has the skills they need (another group)",
		"certificates":  "no worker has the certificates they need (another group)",
		"no_candidates": "no qualified worker lives within reach of them (another group or region)",
	}[top]
	if why == "" {
		why = top
	}
	return fmt.Sprintf("%s; the requests still unserved at +%d are mostly stopped by %q (%d of %d on the first seed): %s",
		msg, limit, top, reasons[top], sumValues(reasons), why)
}

func sumValues(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func groupNames(s *Scenario) string {
	var names []string
	for _, g := range s.Roster.Groups {
		names = append(names, g.Name)
	}
	return strings.Join(names, ", ")
}

func metricNames(v *VariantReport) []string {
	m, _ := numericFields(&v.Totals)
	return slices.Sorted(maps.Keys(m))
}
