package dispatch_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
)

// TestSearchCountsWorkersWhoCouldServe: the candidate search counts only
// workers who could serve (qualified, not excluded, on a shift that can
// hold the job before the class deadline). 26 plumbers next door who are
// off shift, or excluded by the customer, must not use up the budget and
// hide the 4 on-shift plumbers 3-4 km away: the urgent request is booked,
// not refused with "shift: 26".
func TestSearchCountsWorkersWhoCouldServe(t *testing.T) {
	tests := []struct {
		name string
		edit func(req *doorstep.Request, neighbours []*doorstep.Worker)
	}{
		{"off shift", func(_ *doorstep.Request, ns []*doorstep.Worker) {
			for _, w := range ns {
				w.Shifts = nil
			}
		}},
		{"excluded", func(req *doorstep.Request, ns []*doorstep.Worker) {
			for _, w := range ns {
				req.ExcludedWorkers = append(req.ExcludedWorkers, w.ID)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, at(9, 0), nil)
			req := urgent("plumbing", base, mins(60))
			var neighbours []*doorstep.Worker
			for i := range 26 {
				neighbours = append(neighbours, worker(fmt.Sprintf("near-%02d", i), offset(base, 0.01*float64(i), 0), dayShift(), "plumbing"))
			}
			tt.edit(&req, neighbours)
			e.put(t, neighbours...)
			far := []doorstep.Location{offset(base, 3, 0), offset(base, 0, 3.5), offset(base, -3.5, 0), offset(base, 0, -4)}
			for i, loc := range far {
				if geo.IndexCell(loc) == geo.IndexCell(base) {
					t.Fatal("fixture: a far worker shares the request's cell")
				}
				e.put(t, worker(fmt.Sprintf("far-%d", i), loc, dayShift(), "plumbing"))
			}
			b := e.book(t, req)
			if got := b.Booking.WorkerID; len(got) < 4 || got[:4] != "far-" {
				t.Errorf("booked %s, want one of the far workers", got)
			}
			req.ID = "r"
			out, err := e.svc.Assign(t.Context(), []doorstep.Request{req}, false, tenant)
			if err != nil {
				t.Fatalf("Assign: %v", err)
			}
			if len(out.Placements) != 1 {
				t.Fatalf("Assign placed %d requests, want 1 (unplaced: %+v)", len(out.Placements), out.Unplaced)
			}
		})
	}
}

// TestSearchFindsTheBestOption: 26 poorly rated plumbers next door who can
// all serve must not hide a better option 3 km away: the urgent search
// widens until no worker farther out can beat the best option found, and
// the quote's best cost is the least over all workers (brute force).
func TestSearchFindsTheBestOption(t *testing.T) {
	e := newEnv(t, at(9, 0), nil)
	var all []*doorstep.Worker
	for i := range 26 {
		w := worker(fmt.Sprintf("near-%02d", i), offset(base, 0.2+0.01*float64(i), 0), dayShift(), "plumbing")
		w.Rating = 1
		if geo.IndexCell(w.Home) != geo.IndexCell(base) {
			t.Fatal("fixture: a neighbour is not in the request's cell")
		}
		all = append(all, w)
	}
	for i, loc := range []doorstep.Location{offset(base, -3, 0), offset(base, -2.6, -1.5), offset(base, -1.5, -2.6), offset(base, -2.6, 1.5)} {
		for _, ring := range geo.Rings(geo.IndexCell(base), 1) {
			if slices.Contains(ring, geo.IndexCell(loc)) {
				t.Fatal("fixture: a far worker is within the first ring")
			}
		}
		all = append(all, worker(fmt.Sprintf("far-%d", i), loc, dayShift(), "plumbing"))
	}
	e.put(t, all...)
	q, err := e.svc.Quote(t.Context(), urgent("plumbing", base, mins(60)), tenant)
	if err != nil {
		t.Fatalf("Quote: %v", err)
	}
	m, err := matcher.New(matcher.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var cands []matcher.Candidate
	for _, w := range all {
		cands = append(cands, matcher.Candidate{Worker: w})
	}
	brute := m.Match(q.Request, cands, at(9, 0), matcher.History{})
	if len(brute.Options) == 0 || len(q.Options) == 0 {
		t.Fatalf("options: quote %d, brute force %d", len(q.Options), len(brute.Options))
	}
	if got, want := q.Options[0].Cost, brute.Options[0].Cost; got != want {
		t.Errorf("quoted best cost %.2f (%s), brute force over all workers %.2f (%s)",
			got, q.Options[0].WorkerID, want, brute.Options[0].WorkerID)
	}
}
