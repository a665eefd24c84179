package matcher_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/google/go-cmp/cmp"
)

// A match made in parts, as a search reads its steps, answers what one
// match of every candidate does, and its BestCost is BestCost's: the
// customer's history left out.
func TestTally(t *testing.T) {
	now := clock(10, 0)
	req := urgentAt(t, "cleaning", base, now)
	req.PreferredWorkers = []string{"f"}
	cands := rankingCands()
	for _, tt := range hardRuleCases() {
		if tt.want != "" { // rejected ones, for the counts
			cands = append(cands, tt.cand)
		}
	}
	req.ExcludedWorkers = []string{"excluded"}
	// b is the cheapest (16): as the last worker it costs 6 with the
	// history, and the best cost without it is still 16 (b, c and e).
	hist := matcher.History{LastWorker: "b"}
	for _, k := range []int{1, 2, 5} {
		m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, MaxOptions: k})
		want := m.Match(req, cands, now, hist)
		if want.Options[0].WorkerID != "b" || math.Abs(want.Options[0].Cost-6) > 1e-9 {
			t.Fatalf("MaxOptions=%d: best option %s at %v, want b at 6", k, want.Options[0].WorkerID, want.Options[0].Cost)
		}
		for cut := 0; cut <= len(cands); cut++ {
			t.Run("MaxOptions="+strconv.Itoa(k)+"/cut="+strconv.Itoa(cut), func(t *testing.T) {
				tally := m.NewTally(req, now, &hist)
				tally.Add(cands[:cut])
				if got := tally.Considered(); got != cut {
					t.Errorf("Considered after the first part = %d, want %d", got, cut)
				}
				if got, want := tally.BestCost(), m.BestCost(req, cands[:cut], now); got != want {
					t.Errorf("BestCost of the first part = %v, want %v", got, want)
				}
				tally.Add(cands[cut:])
				if diff := cmp.Diff(want, tally.Result()); diff != "" {
					t.Errorf("parts answer differently from one match (-one +parts):\n%s", diff)
				}
				if got := tally.BestCost(); math.Abs(got-16) > 1e-9 {
					t.Errorf("BestCost = %v, want 16 (the history left out)", got)
				}
			})
		}
	}
	// A request that is not urgent has no bound to settle: +Inf, as
	// BestCost says.
	normal := *req
	normal.Urgency = doorstep.Normal
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	tally := m.NewTally(&normal, now, &hist)
	tally.Add(cands)
	if got := tally.BestCost(); !math.IsInf(got, 1) {
		t.Errorf("BestCost of a normal request = %v, want +Inf", got)
	}
}
