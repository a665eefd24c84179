package matcher_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

func TestBatchItems(t *testing.T) {
	now := clock(10, 0)
	workers := []matcher.Candidate{
		cand(withHomeAt(newWorker("near", "cleaning"), at(1, 0))),
		cand(withHomeAt(newWorker("plumber", "plumbing"), at(0, 1))),
		cand(withHomeAt(newWorker("mid", "cleaning"), at(5, 0))),
		cand(withHomeAt(newWorker("far", "cleaning"), at(20, 0))),
		cand(withHomeAt(newWorker("beyond", "cleaning"), at(900, 0))), // ~100 km: out of any reach
	}
	ix := matcher.NewIndex()
	for i, c := range workers {
		ix.Put(i, c.Worker.Home)
	}
	urgent := urgentAt(t, "cleaning", base, now)
	normal := mustResolve(t, doorstep.Request{Service: "cleaning", Location: base, Urgency: doorstep.Normal, RequestedAt: now})
	tests := []struct {
		name     string
		want     int
		hist     []matcher.History
		cand     [][]int
		wantHist []matcher.History
	}{
		{name: "every qualified worker within reach, nearest first", want: 10, cand: [][]int{{0, 2, 3}, {0, 2, 3}},
			wantHist: []matcher.History{{}, {}}},
		// All idle: the urgent request's cheapest options are the nearest;
		// the normal one keeps the whole first step read (near and mid
		// share the request's cell).
		{name: "the want cheapest, or whole steps", want: 2, cand: [][]int{{0, 2}, {0, 2}}, wantHist: []matcher.History{{}, {}}},
		{name: "with the customers' histories", want: 1, hist: []matcher.History{{LastWorker: "mid"}, {}}, cand: [][]int{{0}, {0, 2}},
			wantHist: []matcher.History{{LastWorker: "mid"}, {}}},
	}
	m := mustMatcher(t, matcher.Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := m.BatchItems([]*doorstep.Request{urgent, normal}, tt.hist, workers, ix, now, 0, tt.want)
			var gotCand [][]int
			var gotHist []matcher.History
			for _, it := range items {
				gotCand = append(gotCand, it.Candidates)
				gotHist = append(gotHist, it.History)
			}
			if diff := cmp.Diff(tt.cand, gotCand); diff != "" {
				t.Errorf("candidates mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantHist, gotHist); diff != "" {
				t.Errorf("histories mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// An urgent request's candidates are the workers with its cheapest
// options, not the nearest: "near" (100 m away) is booked all morning, so
// with one candidate wanted the urgent request gets "mid" (550 m), while
// the normal request keeps the whole step of rings read, nearest first.
func TestBatchItemsUrgentCheapest(t *testing.T) {
	now := clock(10, 0)
	busy := booking("b", clock(9, 30), clock(13, 0), at(1, 0))
	workers := []matcher.Candidate{
		cand(withHomeAt(newWorker("near", "cleaning"), at(1, 0)), busy),
		cand(withHomeAt(newWorker("mid", "cleaning"), at(5, 0))),
	}
	ix := matcher.NewIndex()
	for i, c := range workers {
		ix.Put(i, c.Worker.Home)
	}
	urgent := urgentAt(t, "cleaning", base, now)
	normal := mustResolve(t, doorstep.Request{Service: "cleaning", Location: base, Urgency: doorstep.Normal, RequestedAt: now})
	m := mustMatcher(t, matcher.Config{})
	items := m.BatchItems([]*doorstep.Request{urgent, normal}, nil, workers, ix, now, 0, 1)
	var got [][]int
	for _, it := range items {
		got = append(got, it.Candidates)
	}
	if diff := cmp.Diff([][]int{{1}, {0, 1}}, got); diff != "" {
		t.Errorf("candidates mismatch (-want +got):\n%s", diff)
	}
}
