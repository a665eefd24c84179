package matcher_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// nightProfile expects 1 urgent plumbing call per plumber on duty in each
// hour from 21:00 to 07:00 (few are on duty: the night is scarce) and 0.1
// in each day hour, with a lead of one hour.
func nightProfile() *matcher.UrgentProfile {
	var r [24]float64
	for h := range r {
		r[h] = 0.1
		if h >= 21 || h < 7 {
			r[h] = 1
		}
	}
	return &matcher.UrgentProfile{Zone: time.UTC, Rate: map[string][24]float64{"plumbing": r}, Lead: time.Hour}
}

// TestProtection places a one-hour normal plumbing job asked at 20:00 at
// the plumbers' door (no travel, no rating or fairness cost) under
// nightProfile, with the default weights (protection 300 per call, wait
// 0.05 a minute). Night is the night plumber N (21:00-07:00), day the day
// plumber D (07:00-15:00 the next day). The protection of a slot is 300 x
// the calls expected from an hour before it starts (never before the
// clock) to its end:
//
//	N 21:00: 20:00-22:00 = 0.1 + 1   -> 330, wait  3 -> 333
//	N 22:00 or later: two night hours -> 600 + wait
//	D 07:00: 06:00-08:00 = 1 + 0.1   -> 330, wait 33 -> 363
//	D 08:00: 07:00-09:00 = 0.1 + 0.1 ->  60, wait 36 ->  96 (best)
//	D 09:00 and later: 60, wait 39 and more
//
// so the job goes to D at 08:00, inside its 24-hour promise, and the
// night stays free. A window ending at 23:00 leaves only N: 21:00 (330,
// wait 0) beats 22:00 (600 + 3). Weight 0 books today's earliest slot (N
// at 21:00, cost 3). Asked at 20:30 with a window of exactly 21:00, the
// lead is cut at the clock: 20:30-22:00 = 0.5 x 0.1 + 1 -> 315.
func TestProtection(t *testing.T) {
	off := matcher.DefaultWeights
	off.Protection = 0
	tests := []struct {
		name     string
		weights  matcher.Weights // zero: the defaults
		asked    time.Time
		window   *doorstep.Window
		profile  *matcher.UrgentProfile
		urgency  doorstep.Urgency
		worker   string
		start    time.Time
		prot     float64
		wait     float64
		feasible int
	}{
		{name: "promise leaves room: off the night to the day plumber", asked: clock(20, 0), profile: nightProfile(),
			worker: "D", start: clock(32, 0), prot: 60, wait: 36, feasible: 2},
		{name: "promise ends at 23:00: stays on the night, earliest", asked: clock(20, 0), profile: nightProfile(),
			window: &doorstep.Window{Start: clock(21, 0), End: clock(23, 0)}, worker: "N", start: clock(21, 0), prot: 330, wait: 0, feasible: 1},
		{name: "weight 0: today's earliest slot", weights: off, asked: clock(20, 0), profile: nightProfile(),
			worker: "N", start: clock(21, 0), prot: 0, wait: 3, feasible: 2},
		{name: "no profile: no term", asked: clock(20, 0),
			worker: "N", start: clock(21, 0), prot: 0, wait: 3, feasible: 2},
		{name: "lead cut at the clock", asked: clock(20, 30), profile: nightProfile(),
			window: &doorstep.Window{Start: clock(21, 0), End: clock(21, 0)}, worker: "N", start: clock(21, 0), prot: 315, wait: 0, feasible: 1},
		{name: "urgent: never priced", asked: clock(21, 0), profile: nightProfile(), urgency: doorstep.Urgent,
			worker: "N", start: clock(21, 0), prot: 0, wait: 0, feasible: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, Weights: tc.weights, Urgent: tc.profile})
			night := newWorker("N", "plumbing")
			night.Shifts = []doorstep.Shift{{Start: clock(21, 0), End: clock(31, 0)}}
			day := newWorker("D", "plumbing")
			day.Shifts = []doorstep.Shift{{Start: clock(31, 0), End: clock(39, 0)}}
			urgency := tc.urgency
			if urgency == "" {
				urgency = doorstep.Normal
			}
			req := mustResolve(t, doorstep.Request{ID: "r1", Service: "plumbing", Urgency: urgency,
				Location: base, Duration: time.Hour, RequestedAt: tc.asked, Window: tc.window})
			res := m.Match(req, []matcher.Candidate{cand(night), cand(day)}, tc.asked, matcher.History{})
			if res.Feasible != tc.feasible || len(res.Options) == 0 {
				t.Fatalf("feasible = %d (options %d, rejected %v), want %d", res.Feasible, len(res.Options), res.Rejected, tc.feasible)
			}
			o := res.Options[0]
			if o.WorkerID != tc.worker || !o.Slot.Start.Equal(tc.start) {
				t.Errorf("best = %s at %s, want %s at %s", o.WorkerID, o.Slot.Start.Format("Jan 2 15:04"), tc.worker, tc.start.Format("Jan 2 15:04"))
			}
			if math.Abs(o.Breakdown.Protection-tc.prot) > 1e-9 || math.Abs(o.Breakdown.Wait-tc.wait) > 1e-9 {
				t.Errorf("protection, wait = %v, %v; want %v, %v", o.Breakdown.Protection, o.Breakdown.Wait, tc.prot, tc.wait)
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

// TestProtectionDefaultLead: a profile without a lead takes
// DefaultUrgentLead (two hours): a one-hour job at 21:00 asked at 12:00
// under a rate of 1 in every hour is kept from calls 19:00-22:00, 3 calls,
// 900 at the default weight.
func TestProtectionDefaultLead(t *testing.T) {
	var all [24]float64
	for h := range all {
		all[h] = 1
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, Urgent: &matcher.UrgentProfile{Rate: map[string][24]float64{"plumbing": all}}})
	w := newWorker("p1", "plumbing")
	w.Shifts = []doorstep.Shift{{Start: clock(12, 0), End: clock(24, 0)}}
	req := mustResolve(t, doorstep.Request{ID: "r1", Service: "plumbing", Urgency: doorstep.Normal, Location: base,
		Duration: time.Hour, RequestedAt: clock(12, 0), Window: &doorstep.Window{Start: clock(21, 0), End: clock(21, 0)}})
	res := m.Match(req, []matcher.Candidate{cand(w)}, clock(12, 0), matcher.History{})
	if len(res.Options) != 1 {
		t.Fatalf("options = %d, want 1 (rejected %v)", len(res.Options), res.Rejected)
	}
	if got := res.Options[0].Breakdown.Protection; math.Abs(got-900) > 1e-9 {
		t.Errorf("protection = %v, want 900", got)
	}
}

// TestUrgentProfileValidate: New refuses a profile with a negative,
// infinite or NaN rate (in Rate or a region) or a negative lead.
func TestUrgentProfileValidate(t *testing.T) {
	bad := func(v float64) map[string][24]float64 {
		var r [24]float64
		r[5] = v
		return map[string][24]float64{"plumbing": r}
	}
	tests := []struct {
		name    string
		profile matcher.UrgentProfile
		want    string
	}{
		{"negative rate", matcher.UrgentProfile{Rate: bad(-1)}, "plumbing hour 5"},
		{"NaN rate", matcher.UrgentProfile{Rate: bad(math.NaN())}, "plumbing hour 5"},
		{"infinite region rate", matcher.UrgentProfile{Regions: map[string]map[string][24]float64{"831f8dfffffffff": bad(math.Inf(1))}}, "region 831f8dfffffffff"},
		{"negative lead", matcher.UrgentProfile{Lead: -time.Minute}, "lead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := matcher.New(matcher.Config{Urgent: &tc.profile})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := matcher.New(matcher.Config{Urgent: nightProfile()}); err != nil {
		t.Errorf("New(night profile) = %v, want nil", err)
	}
}
