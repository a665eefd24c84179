package matcher_test

import (
	"math"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// TestProtection places a one-hour normal plumbing job on a plumber at the
// job's door (no travel), on shift 12:00-24:00, under an urgent profile of
// one call per hour from 18:00 to 21:00 and none otherwise, with the
// default wait weight (0.05 a minute). With protection weight 10, starting
// at 18:00 costs 10 (protection), 19:00 costs 10 + 3 (wait), 20:00 10 + 6,
// 21:00 0 + 9, 22:00 0 + 12: a window of 18:00-22:00 moves the job out of
// the peak to 21:00; a window of 18:00-19:00 keeps it at 18:00 (19:00 costs
// 13); weight 0 keeps today's earliest slot; an urgent job is never priced.
func TestProtection(t *testing.T) {
	var peak [24]float64
	peak[18], peak[19], peak[20] = 1, 1, 1
	profile := &matcher.UrgentProfile{Zone: time.UTC, Rate: map[string][24]float64{"plumbing": peak}}
	tests := []struct {
		name      string
		weight    float64
		urgency   doorstep.Urgency
		window    *doorstep.Window
		wantStart time.Time
		wantProt  float64
		wantWait  float64
		noProfile bool
	}{
		{name: "window allows: moves after the peak", weight: 10, urgency: doorstep.Normal,
			window: &doorstep.Window{Start: clock(18, 0), End: clock(22, 0)}, wantStart: clock(21, 0), wantProt: 0, wantWait: 9},
		{name: "promise forces the peak: stays", weight: 10, urgency: doorstep.Normal,
			window: &doorstep.Window{Start: clock(18, 0), End: clock(19, 0)}, wantStart: clock(18, 0), wantProt: 10, wantWait: 0},
		{name: "weight 0: today's earliest slot", weight: 0, urgency: doorstep.Normal,
			window: &doorstep.Window{Start: clock(18, 0), End: clock(22, 0)}, wantStart: clock(18, 0), wantProt: 0, wantWait: 0},
		{name: "no profile: no term", weight: 10, urgency: doorstep.Normal, noProfile: true,
			window: &doorstep.Window{Start: clock(18, 0), End: clock(22, 0)}, wantStart: clock(18, 0), wantProt: 0, wantWait: 0},
		{name: "half an hour in the peak", weight: 10, urgency: doorstep.Normal,
			window: &doorstep.Window{Start: clock(17, 30), End: clock(17, 30)}, wantStart: clock(17, 30), wantProt: 5, wantWait: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wt := matcher.DefaultWeights
			wt.Protection = tc.weight
			cfg := matcher.Config{Travel: gridTravel{}, Weights: wt, Urgent: profile}
			if tc.noProfile {
				cfg.Urgent = nil
			}
			m := mustMatcher(t, cfg)
			w := newWorker("p1", "plumbing")
			w.Shifts = []doorstep.Shift{{Start: clock(12, 0), End: clock(24, 0)}}
			req := mustResolve(t, doorstep.Request{ID: "r1", Service: "plumbing", Urgency: tc.urgency,
				Location: base, Duration: time.Hour, RequestedAt: clock(12, 0), Window: tc.window})
			res := m.Match(req, []matcher.Candidate{cand(w)}, clock(12, 0), matcher.History{})
			if len(res.Options) != 1 {
				t.Fatalf("options = %d, want 1 (rejected %v)", len(res.Options), res.Rejected)
			}
			o := res.Options[0]
			if !o.Slot.Start.Equal(tc.wantStart) {
				t.Errorf("start = %v, want %v", o.Slot.Start.Format("15:04"), tc.wantStart.Format("15:04"))
			}
			if math.Abs(o.Breakdown.Protection-tc.wantProt) > 1e-9 || math.Abs(o.Breakdown.Wait-tc.wantWait) > 1e-9 {
				t.Errorf("protection, wait = %v, %v; want %v, %v", o.Breakdown.Protection, o.Breakdown.Wait, tc.wantProt, tc.wantWait)
			}
			if got := o.Breakdown.Map()[matcher.TermProtection]; got != o.Breakdown.Protection {
				t.Errorf("Map()[%q] = %v, want %v", matcher.TermProtection, got, o.Breakdown.Protection)
			}
			if o.Cost != o.Breakdown.Total() {
				t.Errorf("cost %v != breakdown total %v", o.Cost, o.Breakdown.Total())
			}
		})
	}
}

// TestProtectionUrgentNotPriced: an urgent job in the peak carries no
// protection term (it is what the capacity is kept for).
func TestProtectionUrgentNotPriced(t *testing.T) {
	var peak [24]float64
	for h := range peak {
		peak[h] = 1
	}
	wt := matcher.DefaultWeights
	wt.Protection = 10
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, Weights: wt,
		Urgent: &matcher.UrgentProfile{Rate: map[string][24]float64{"plumbing": peak}}})
	w := newWorker("p1", "plumbing")
	req := mustResolve(t, doorstep.Request{ID: "u1", Service: "plumbing", Urgency: doorstep.Urgent,
		Location: base, Duration: time.Hour, RequestedAt: clock(9, 0)})
	res := m.Match(req, []matcher.Candidate{cand(w)}, clock(9, 0), matcher.History{})
	if len(res.Options) != 1 || res.Options[0].Breakdown.Protection != 0 {
		t.Fatalf("options %+v, want one with no protection term", res.Options)
	}
}
