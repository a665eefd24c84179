package matcher_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

func TestPlanSeries(t *testing.T) {
	now := clock(7, 0)
	week := 7 * 24 * time.Hour
	// onWeeks gives w the 08:00-20:00 shift on the given weeks' test day.
	onWeeks := func(w *doorstep.Worker, weeks ...int) matcher.Candidate {
		w.Shifts = nil
		for _, k := range weeks {
			d := time.Duration(k) * week
			w.Shifts = append(w.Shifts, doorstep.Shift{Start: clock(8, 0).Add(d), End: clock(20, 0).Add(d)})
		}
		return matcher.Candidate{Worker: w, Region: "r"}
	}
	occ := make([]*doorstep.Request, 4)
	for k := range occ {
		d := time.Duration(k) * week
		occ[k] = mustResolve(t, doorstep.Request{Service: "cleaning", Location: base, Urgency: doorstep.Normal, RequestedAt: now.Add(d),
			Window: &doorstep.Window{Start: clock(10, 0).Add(d), End: clock(12, 0).Add(d)}})
	}
	tests := []struct {
		name   string
		cands  []matcher.Candidate
		want   []string // worker per occurrence, "" missed
		missed []matcher.SeriesMiss
		ok     bool
	}{
		{
			name:  "the worker who can take them all, though another is nearer",
			cands: []matcher.Candidate{onWeeks(withHomeAt(newWorker("near", "cleaning"), base), 0, 1, 2), onWeeks(withHomeAt(newWorker("all", "cleaning"), at(5, 0)), 0, 1, 2, 3)},
			want:  []string{"all", "all", "all", "all"}, ok: true,
		},
		{
			name:  "an occurrence its worker cannot take goes to another",
			cands: []matcher.Candidate{onWeeks(newWorker("a", "cleaning"), 0, 1, 3), onWeeks(newWorker("b", "cleaning"), 2)},
			want:  []string{"a", "a", "b", "a"}, ok: true,
		},
		{
			name: "a missed occurrence says shift, though unqualified workers outnumber",
			cands: []matcher.Candidate{onWeeks(newWorker("a", "cleaning"), 0, 1, 3),
				onWeeks(newWorker("p1", "plumbing"), 0, 1, 2, 3), onWeeks(newWorker("p2", "plumbing"), 0, 1, 2, 3)},
			want:   []string{"a", "a", "", "a"},
			missed: []matcher.SeriesMiss{{Occurrence: 2, Reason: matcher.ReasonShift}}, ok: true,
		},
		{
			name:  "nobody can take any",
			cands: []matcher.Candidate{onWeeks(newWorker("p1", "plumbing"), 0, 1, 2, 3)},
		},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, ok := m.PlanSeries(occ, tt.cands, now, matcher.History{})
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			got := make([]string, len(occ))
			for k, o := range plan.Options {
				if o != nil {
					got[k] = o.WorkerID
					if w := occ[k].Window; !w.Contains(o.Slot.Start) {
						t.Errorf("occurrence %d starts %v outside %v", k, o.Slot.Start, w)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("workers mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missed, plan.Missed, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("missed mismatch (-want +got):\n%s", diff)
			}
			if plan.Region != "r" {
				t.Errorf("region %q, want r", plan.Region)
			}
		})
	}
}
