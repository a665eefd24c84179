package dispatch_test

import (
	"fmt"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
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
