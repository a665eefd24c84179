package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep/sim"
)

// The summary says what the report's own numbers say.
func TestSummaryMatchesReport(t *testing.T) {
	s := mustScenario(t, "../examples/scenarios/city.json")
	s.Scale, s.Seed = 0.15, 3
	rep, err := sim.Replicate(context.Background(), s, 3, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := rep.Summary
	if len(sum) != 2+len(rep.Variants)-1 {
		t.Fatalf("summary has %d paragraphs:\n%s", len(sum), strings.Join(sum, "\n"))
	}
	b := rep.Variants[0]
	iv := b.Replications["urgent_on_time_share"]
	if want := fmt.Sprintf("within the hour %.1f%% (%.1f-%.1f)", 100*iv.Mean, 100**iv.CI95Low, 100**iv.CI95High); !strings.Contains(sum[0], want) {
		t.Errorf("first paragraph %q lacks %q", sum[0], want)
	}
	top, n := "", 0
	for c, k := range b.Totals.MissesByCause {
		if k > n || k == n && c < top {
			top, n = c, k
		}
	}
	if want := fmt.Sprintf("%d are %s", n, top); !strings.Contains(sum[1], want) {
		t.Errorf("cause paragraph %q lacks %q", sum[1], want)
	}
	for i, v := range rep.Variants[1:] {
		p := sum[2+i]
		if !strings.HasPrefix(p, v.Name+" (") {
			t.Errorf("paragraph %d is not about %s: %q", 2+i, v.Name, p)
		}
		d := v.Differences["unserved"]
		want := fmt.Sprintf("unserved %+.1f (95%% interval %+.1f to %+.1f; ", d.Mean, *d.CI95Low, *d.CI95High)
		if d.Mean == 0 && d.SD == 0 {
			want = "unserved unchanged on every seed"
		}
		if !strings.Contains(p, want) {
			t.Errorf("%q lacks %q", p, want)
		}
		if sig := strings.Contains(p[strings.Index(p, "unserved"):], "significant over the seeds"); sig != d.Significant && !(d.Mean == 0 && d.SD == 0) {
			t.Errorf("%s: summary says significant %v, report %v", v.Name, sig, d.Significant)
		}
		// The overtime a variant used is its price: said when there is any.
		if ot := v.Replications["overtime_jobs"]; ot.Mean > 0 {
			if want := fmt.Sprintf("Jobs run past their shift's end: %.1f (", ot.Mean); !strings.Contains(p, want) {
				t.Errorf("%q lacks %q", p, want)
			}
		} else if strings.Contains(p, "past their shift's end") {
			t.Errorf("%s used no overtime, but its summary says %q", v.Name, p)
		}
	}
	if ot := rep.Variants[len(rep.Variants)-1]; ot.Replications["overtime_jobs"].Mean == 0 {
		t.Errorf("the example's %s used no overtime at this scale: the check above is idle", ot.Name)
	}

	// One seed: the summary says so.
	one, _ := mustRun(t, s, sim.Options{})
	if !strings.Contains(strings.Join(one.Summary, " "), "One seed is one draw") {
		t.Errorf("single-seed summary does not warn: %v", one.Summary)
	}
}
