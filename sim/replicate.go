package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/doorstep-dev/doorstep"
)

// MaxReplications bounds Replicate's count: a what-if is answered by tens
// of seeds, not thousands.
const MaxReplications = 1000

// Replications describes a replicated report: which seeds were run.
type Replications struct {
	Count int      `json:"count"`
	Seeds []uint64 `json:"seeds"`
}

// Interval is a metric's mean over the replications with its 95%
// confidence interval (Student's t over N values; N < 2 gives no
// interval). A metric with no value in a replication (a share without a
// denominator) is left out of N.
type Interval struct {
	N        int      `json:"n"`
	Mean     float64  `json:"mean"`
	SD       float64  `json:"sd"`
	CI95Low  *float64 `json:"ci95_low"`
	CI95High *float64 `json:"ci95_high"`
}

// Difference is a variant's metric minus the first variant's, paired by
// seed: the mean of the per-seed differences with its 95% confidence
// interval. Significant says the interval excludes zero: over these seeds
// the variant changed the metric, beyond the spread from seed to seed.
type Difference struct {
	Interval
	Significant bool `json:"significant"`
	// Ahead counts the seeds on which the variant's value is higher.
	Ahead int `json:"ahead"`
}

// Replicate runs s once per seed s.Seed, s.Seed+1, ..., s.Seed+k-1 and
// returns the first seed's report (per hour, per region and charts are of
// that seed) with, for every variant, each totals field's mean and 95%
// confidence interval over the k runs (VariantReport.Replications) and,
// from the second variant on, the paired difference to the first variant
// (VariantReport.Differences). Seeds run one after the other, each with
// opts.Parallelism variants at once; the report is a function of s and k.
// k = 1 is Run.
func Replicate(ctx context.Context, s *Scenario, k int, opts Options) (*Report, error) {
	if k < 1 || k > MaxReplications {
		return nil, doorstep.Errorf(doorstep.EINVALID, "replications", "replications must be 1 to %d, not %d", MaxReplications, k)
	}
	if l := opts.Limits.MaxReplications; l > 0 && k > l {
		return nil, doorstep.Errorf(doorstep.ETOOLARGE, "replications", "%d replications exceed the limit of %d", k, l)
	}
	if k == 1 {
		return Run(ctx, s, opts)
	}
	// Progress counts over every replication: the seeds draw about as
	// many requests each, so the total is scaled from the first.
	prog := opts.Progress
	var first *Report
	values := [][]map[string]float64{} // [variant][seed] totals
	seeds := make([]uint64, k)
	for r := range k {
		sc := *s
		sc.Seed = s.Seed + uint64(r)
		seeds[r] = sc.Seed
		o := opts
		if prog != nil {
			o.Progress = func(done, total int) { prog(r*total+done, k*total) }
		}
		rep, err := Run(ctx, &sc, o)
		if err != nil {
			return nil, fmt.Errorf("replication %d (seed %d): %w", r+1, sc.Seed, err)
		}
		if first == nil {
			first = rep
			values = make([][]map[string]float64, len(rep.Variants))
		} else if first.Timing != nil && rep.Timing != nil {
			first.Timing.Seconds += rep.Timing.Seconds
			for i := range first.Timing.Variants {
				t, u := &first.Timing.Variants[i], rep.Timing.Variants[i]
				t.Requests += u.Requests
				t.Seconds += u.Seconds
				t.SolveSeconds += u.SolveSeconds
				if t.Seconds > 0 {
					t.RequestsPerSecond = float64(t.Requests) / t.Seconds
				}
			}
		}
		for i := range rep.Variants {
			m, err := numericFields(&rep.Variants[i].Totals)
			if err != nil {
				return nil, err
			}
			values[i] = append(values[i], m)
		}
	}
	first.Replications = &Replications{Count: k, Seeds: seeds}
	for i := range first.Variants {
		v := &first.Variants[i]
		v.Replications = map[string]Interval{}
		for _, f := range fieldNames(values[i]) {
			var xs []float64
			for _, m := range values[i] {
				if x, ok := m[f]; ok {
					xs = append(xs, x)
				}
			}
			v.Replications[f] = interval(xs)
		}
		if i == 0 {
			continue
		}
		v.Differences = map[string]Difference{}
		for _, f := range fieldNames(values[i]) {
			var ds []float64
			ahead := 0
			for r, m := range values[i] {
				x, ok1 := m[f]
				y, ok2 := values[0][r][f]
				if !ok1 || !ok2 {
					continue
				}
				ds = append(ds, x-y)
				if x > y {
					ahead++
				}
			}
			d := Difference{Interval: interval(ds), Ahead: ahead}
			d.Significant = d.CI95Low != nil && (*d.CI95Low > 0 || *d.CI95High < 0)
			v.Differences[f] = d
		}
	}
	first.Summary = Summarize(first)
	return first, nil
}

// numericFields returns the totals' numeric fields by JSON name; null
// fields are absent.
func numericFields(m *Metrics) (map[string]float64, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for k, v := range raw {
		if x, ok := v.(float64); ok {
			out[k] = x
		}
	}
	return out, nil
}

// fieldNames lists the fields present in any of ms, sorted.
func fieldNames(ms []map[string]float64) []string {
	var names []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	return names
}

// interval is the mean of xs with its 95% Student-t confidence interval.
func interval(xs []float64) Interval {
	iv := Interval{N: len(xs)}
	if len(xs) == 0 {
		return iv
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	iv.Mean = sum / float64(len(xs))
	if len(xs) < 2 {
		iv.Mean = round4(iv.Mean)
		return iv
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - iv.Mean) * (x - iv.Mean)
	}
	n := float64(len(xs))
	iv.SD = math.Sqrt(ss / (n - 1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975)
	half := t * iv.SD / math.Sqrt(n)
	lo, hi := round4(iv.Mean-half), round4(iv.Mean+half)
	iv.Mean, iv.SD = round4(iv.Mean), round4(iv.SD)
	iv.CI95Low, iv.CI95High = &lo, &hi
	return iv
}
