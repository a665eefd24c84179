package matcher

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestOutrankedOnlyWhoCannotMakeTheOptions holds a tally that leaves
// outranked workers unevaluated (Tally.outranked) to one that evaluates
// every worker, on random urgent requests in random cities: workers of
// every rating with shifts under way or not, reported positions, bookings
// before and after the request, some preferred, one the customer's last,
// MaxOptions from 1 to 6, random weights, under the linear model with
// hourly speeds and under a travel table with fast rows. Workers are added
// in parts, as a search adds them. The options, the best cost the search's
// stopping rule reads and the workers considered must be the same; the
// pruning must skip evaluations at all (else it is untested).
func TestOutrankedOnlyWhoCannotMakeTheOptions(t *testing.T) {
	now := time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)
	centre := doorstep.Location{Lat: 40.73, Lng: -73.99}
	linear, table := travelModels(t, centre, 9)
	rng := rand.New(rand.NewPCG(21, 22))
	outranked, feasible := 0, 0
	for trial := range 2000 {
		m, req, cands := outrankCity(t, rng, trial, now, centre, linear, table, func() float64 { return 3 + float64(rng.IntN(21))/10 })
		var hist *History
		switch rng.IntN(3) {
		case 0:
			hist = &History{LastWorker: cands[rng.IntN(len(cands))].Worker.ID}
		case 1:
			hist = &History{}
		}
		exact := m.NewTally(req, now, hist)
		exact.exhaustive = true
		fast := m.NewTally(req, now, hist)
		exact.Add(cands)
		for rest := cands; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			fast.Add(rest[:n])
			rest = rest[n:]
		}
		want, got := exact.Result(), fast.Result()
		if diff := cmp.Diff(want.Options, got.Options); diff != "" {
			t.Fatalf("trial %d (%T, k %d, weights %+v): options differ (-every worker evaluated +outranked skipped):\n%s",
				trial, m.cfg.Travel, m.cfg.MaxOptions, m.cfg.Weights, diff)
		}
		if exact.BestCost() != fast.BestCost() || got.Considered != want.Considered {
			t.Fatalf("trial %d: best cost %v, considered %d; every worker evaluated: %v, %d",
				trial, fast.BestCost(), got.Considered, exact.BestCost(), want.Considered)
		}
		if got.Feasible+got.Outranked < want.Feasible || got.Feasible > want.Feasible {
			t.Fatalf("trial %d: feasible %d and outranked %d, every worker evaluated: feasible %d", trial, got.Feasible, got.Outranked, want.Feasible)
		}
		outranked += got.Outranked
		feasible += want.Feasible
	}
	t.Logf("of %d feasible workers, %d were outranked unevaluated", feasible, outranked)
	if outranked < feasible/10 {
		t.Errorf("only %d of %d feasible workers were outranked: the pruning was hardly exercised", outranked, feasible)
	}
}

// outrankCity is a random city of the outranked tests: a matcher with
// 1 to 6 options, random weights half the time, the linear model or (one
// trial in three) the travel table; an urgent request near centre; and
// 5 to 64 workers rated by rating, an eighth of them preferred.
func outrankCity(t *testing.T, rng *rand.Rand, trial int, now time.Time, centre doorstep.Location, linear geo.Linear, table *geo.Table, rating func() float64) (*Matcher, *doorstep.Request, []Candidate) {
	t.Helper()
	cfg := Config{Travel: linear, MaxOptions: 1 + rng.IntN(6)}
	if trial%3 == 2 {
		cfg.Travel = table
	}
	if rng.IntN(2) == 0 {
		cfg.Weights = Weights{Travel: rng.Float64() * 3, UrgentWait: rng.Float64() * 3, Rating: rng.Float64() * 10,
			Fairness: rng.Float64() * 40, Preferred: rng.Float64() * 30, Continuity: rng.Float64() * 30}
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := &doorstep.Request{Service: "cleaning", Location: offset(centre, rng.Float64()*6-3, rng.Float64()*6-3),
		Urgency: doorstep.Urgent, RequestedAt: now}
	if err := doorstep.DefaultCatalogue().Resolve(req); err != nil {
		t.Fatal(err)
	}
	cands := make([]Candidate, 5+rng.IntN(60))
	for i := range cands {
		cands[i] = randomBeyondCandidate(rng, i, now, centre, req)
		cands[i].Worker.Rating = rating()
		if rng.IntN(8) == 0 {
			req.PreferredWorkers = append(req.PreferredWorkers, cands[i].Worker.ID)
		}
	}
	return m, req, cands
}

// TestOutranksLeavesOutOnlyWhomTheTallyWould holds a search that leaves
// out, before each part, the workers with no stop whom Outranks places
// too far (counting them as AddKnown would: outranked when their shifts
// can hold the job, else rejected by the shifts' verdict) to the tally
// that meets every worker: on the cities of the test above, the results
// must be equal, counts and all. It fails if Outranks leaves out a worker
// the tally would evaluate: a bonus or the rating term allowed for too
// little, the best cost or the last option misread, a reported position
// left out. And it must leave workers out at all.
func TestOutranksLeavesOutOnlyWhomTheTallyWould(t *testing.T) {
	now := time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)
	centre := doorstep.Location{Lat: 40.73, Lng: -73.99}
	linear, table := travelModels(t, centre, 9)
	rng := rand.New(rand.NewPCG(23, 24))
	left, outranked := 0, 0
	for trial := range 2000 {
		// Ratings outside [0, 5] too.
		m, req, cands := outrankCity(t, rng, trial, now, centre, linear, table, func() float64 { return float64(rng.IntN(61))/10 - 0.5 })
		var hist *History
		switch rng.IntN(3) {
		case 0:
			// Often one met late, free, a few kilometres off: one whom
			// only its bonus may bring into the options.
			last := &cands[len(cands)/2+rng.IntN(len(cands)-len(cands)/2)]
			if rng.IntN(2) == 0 {
				last.Worker.Home, last.Worker.Location = offset(req.Location, 2+rng.Float64()*6, 0), nil
				last.Timeline, last.Bookings = nil, nil
			}
			hist = &History{LastWorker: last.Worker.ID}
		case 1:
			hist = &History{}
		}
		whole, search := m.NewTally(req, now, hist), m.NewTally(req, now, hist)
		whole.Add(cands)
		out := Result{Rejected: map[string]int{}}
		job := search.job
		for rest := cands; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			km, ok := search.Outranks()
			var kept []Candidate
			for _, c := range rest[:n] {
				w := c.Worker
				far := ok && len(c.Timeline) == 0 && geo.DistanceKm(w.Home, req.Location) > km &&
					(w.Location == nil || geo.DistanceKm(*w.Location, req.Location) > km)
				if !far {
					kept = append(kept, c)
					continue
				}
				left++
				out.Considered++
				if v := ShiftVerdict(w, job); v != "" {
					out.Rejected[v]++
				} else {
					out.Outranked++
				}
			}
			search.Add(kept)
			rest = rest[n:]
		}
		got := search.Result()
		got.Considered += out.Considered
		got.Outranked += out.Outranked
		for r, n := range out.Rejected {
			got.Rejected[r] += n
		}
		if diff := cmp.Diff(whole.Result(), got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("trial %d (%T, k %d, weights %+v): the search that left workers out answers differently (-tally +search):\n%s",
				trial, m.cfg.Travel, m.cfg.MaxOptions, m.cfg.Weights, diff)
		}
		outranked += whole.Result().Outranked
	}
	t.Logf("%d workers left out before the tally met them, of %d it outranked or rejected unevaluated", left, outranked)
	if left < outranked/4 {
		t.Errorf("only %d of %d outranked workers were left out: the rule was hardly exercised", left, outranked)
	}
}
