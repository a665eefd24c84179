package dispatch_test

import (
	"testing"

	"github.com/doorstep-dev/doorstep/geo"
)

// TestStalePositionDoesNotHideWorker: the index and the planner agree on
// where a worker is. A worker living 1 km from an urgent request, whose
// last report (3 hours ago, before its shift) was 40 km away, starts its
// shift from home: the search must find it there and book it, rather than
// look for it only where it was last seen (where the planner would not
// start it). A fresh report still counts: the same worker reporting 40 km
// away during its shift is too far.
func TestStalePositionDoesNotHideWorker(t *testing.T) {
	home := offset(base, 1, 0)
	away := offset(base, 40, 0)
	if geo.IndexCell(home) == geo.IndexCell(away) {
		t.Fatal("fixture: home and the report share a cell")
	}
	tests := []struct {
		name     string
		reported int // hour of the report (the shift starts at 8)
		want     bool
	}{
		{"report 3 h old, before the shift: from home", 6, true},
		{"report during the shift: from there", 9, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, at(tt.reported, 0), nil)
			e.put(t, worker("w", home, dayShift(), "plumbing"))
			if err := e.svc.Locate(t.Context(), "w", away, at(tt.reported, 0)); err != nil {
				t.Fatalf("Locate: %v", err)
			}
			e.clk.Set(at(tt.reported+3, 0))
			b, err := e.svc.Book(t.Context(), urgent("plumbing", base, mins(60)), tenant)
			if !tt.want {
				wantUnservable(t, err, "")
				return
			}
			if err != nil {
				t.Fatalf("Book: %v", err)
			}
			if b.Booking.WorkerID != "w" {
				t.Errorf("booked %s, want w", b.Booking.WorkerID)
			}
			if got, want := b.Booking.Arrival, at(tt.reported+3, 0).Add(travel(home, base, at(tt.reported+3, 0))); !got.Equal(want) {
				t.Errorf("arrival %v, want %v (from home)", got, want)
			}
		})
	}
}
