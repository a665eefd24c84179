package matcher_test

import (
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// urgentAt returns an urgent request for service at loc, made at requested.
func urgentAt(tb testing.TB, service string, loc doorstep.Location, requested time.Time) *doorstep.Request {
	tb.Helper()
	return mustResolve(tb, doorstep.Request{Service: service, Location: loc, Urgency: doorstep.Urgent, RequestedAt: requested})
}

// hardRuleCases are candidates for an urgent cleaning request at base made
// at 10:00, each failing (or passing) one hard rule.
func hardRuleCases() []struct {
	name string
	cand matcher.Candidate
	want string
} {
	withHome := func(w *doorstep.Worker, l doorstep.Location) *doorstep.Worker { w.Home = l; return w }
	withShifts := func(w *doorstep.Worker, s ...doorstep.Shift) *doorstep.Worker { w.Shifts = s; return w }
	early := doorstep.Shift{Start: clock(6, 0), End: clock(9, 0)}
	late := doorstep.Shift{Start: clock(9, 30), End: clock(20, 0)}
	jobCap := func(id string, n int) *doorstep.Worker {
		w := withShifts(newWorker(id, "cleaning"), early, late)
		w.MaxJobsPerDay = n
		return w
	}
	minuteCap := newWorker("minute-cap", "cleaning")
	minuteCap.MaxWorkMinutesPerDay = 60 // a cleaning takes 120

	return []struct {
		name string
		cand matcher.Candidate
		want string
	}{
		{"feasible", cand(withHome(newWorker("ok", "cleaning", "laundry"), at(10, 0))), ""},
		{"skills: none of them", cand(newWorker("no-skill", "laundry")), matcher.ReasonSkills},
		{"skills: no skills at all", cand(newWorker("no-skills")), matcher.ReasonSkills},
		{"excluded", cand(newWorker("excluded", "cleaning")), matcher.ReasonExcluded},
		{"shift: starts after the deadline", cand(withShifts(newWorker("shift-late", "cleaning"),
			doorstep.Shift{Start: clock(14, 0), End: clock(20, 0)})), matcher.ReasonShift},
		{"shift: over before now", cand(withShifts(newWorker("shift-over", "cleaning"), early)), matcher.ReasonShift},
		{"shift_end: the shift is too short for the job", cand(withShifts(newWorker("shift-short", "cleaning"),
			doorstep.Shift{Start: clock(10, 0), End: clock(11, 0)})), matcher.ReasonShiftEnd},
		{"shift_end: the trip makes the job overrun the shift", cand(withShifts(withHome(newWorker("shift-overrun", "cleaning"), at(30, 0)),
			doorstep.Shift{Start: clock(8, 0), End: clock(12, 15)})), matcher.ReasonShiftEnd},
		{"shift_end: fits before the shift ends", cand(withShifts(withHome(newWorker("shift-fits", "cleaning"), at(30, 0)),
			doorstep.Shift{Start: clock(8, 0), End: clock(12, 30)})), ""},
		{"shift: none", cand(withShifts(newWorker("shift-none", "cleaning"))), matcher.ReasonShift},
		{"busy: booked through the hour", cand(newWorker("busy", "cleaning"),
			booking("b1", clock(9, 0), clock(13, 0), base)), matcher.ReasonBusy},
		{"busy: next booking too soon", cand(newWorker("busy-soon", "cleaning"),
			booking("b2", clock(10, 30), clock(12, 0), base)), matcher.ReasonBusy},
		{"busy: on a job now, home far away", cand(withHome(newWorker("busy-home-far", "cleaning"), at(70, 0)),
			booking("b5", clock(9, 0), clock(12, 0), at(10, 0))), matcher.ReasonBusy},
		{"deadline: 61 minutes away", cand(withHome(newWorker("far", "cleaning"), at(61, 0))), matcher.ReasonDeadline},
		{"cap: jobs per day", cand(jobCap("job-cap", 1), booking("b3", clock(7, 0), clock(8, 0), base)), matcher.ReasonCap},
		{"cap: jobs per day not reached", cand(jobCap("job-cap-ok", 2), booking("b4", clock(7, 0), clock(8, 0), base)), ""},
		{"cap: minutes per day", cand(minuteCap), matcher.ReasonCap},
	}
}

func TestMatchHardRules(t *testing.T) {
	now := clock(10, 0)
	req := urgentAt(t, "cleaning", base, now)
	req.ExcludedWorkers = []string{"excluded"}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})

	for _, tt := range hardRuleCases() {
		t.Run(tt.name, func(t *testing.T) {
			res := m.Match(req, []matcher.Candidate{tt.cand}, now, matcher.History{})
			got := struct {
				Feasible int
				Rejected map[string]int
				Options  []string
			}{res.Feasible, res.Rejected, ids(res.Options)}
			want := got
			want.Feasible, want.Rejected, want.Options = 1, map[string]int{}, []string{tt.cand.Worker.ID}
			if tt.want != "" {
				want.Feasible, want.Rejected, want.Options = 0, map[string]int{tt.want: 1}, []string{}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Match mismatch (-want +got):\n%s", diff)
			}
			if res.Considered != 1 {
				t.Errorf("Considered = %d, want 1", res.Considered)
			}
			// Evaluate gives the same verdict on its own.
			_, reason := m.Evaluate(req, schedule.JobFor(req, now), &tt.cand, matcher.History{})
			if reason != tt.want {
				t.Errorf("Evaluate reason = %q, want %q", reason, tt.want)
			}
		})
	}
}

func TestMatchCertificates(t *testing.T) {
	now := clock(10, 0)
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	certified := func(id string, certs ...string) matcher.Candidate {
		w := newWorker(id, "childcare", "elder_care")
		w.Certificates = certs
		return cand(w)
	}
	tests := []struct {
		service string
		cand    matcher.Candidate
		want    string
	}{
		{"childcare", certified("none"), matcher.ReasonCertificates},
		{"childcare", certified("other", "elder_care"), matcher.ReasonCertificates},
		{"childcare", certified("both", "elder_care", "childcare"), ""},
		{"elder_care", certified("childcare-only", "childcare"), matcher.ReasonCertificates},
		{"elder_care", certified("elder", "elder_care"), ""},
		{"cleaning", cand(newWorker("cleaner", "cleaning")), ""}, // no certificate needed
		{"childcare", cand(newWorker("nanny-no-skill", "cleaning")), matcher.ReasonSkills},
	}
	for _, tt := range tests {
		t.Run(tt.service+"/"+tt.cand.Worker.ID, func(t *testing.T) {
			req := urgentAt(t, tt.service, base, now) // resolve adds the certificate
			res := m.Match(req, []matcher.Candidate{tt.cand}, now, matcher.History{})
			got := ""
			for reason := range res.Rejected {
				got = reason
			}
			if got != tt.want || (tt.want == "") != (res.Feasible == 1) {
				t.Errorf("rejected %v feasible %d, want reason %q", res.Rejected, res.Feasible, tt.want)
			}
		})
	}
}

func TestMatchCounts(t *testing.T) {
	now := clock(10, 0)
	req := urgentAt(t, "cleaning", base, now)
	req.ExcludedWorkers = []string{"excluded"}
	// Room for every option, so that every worker is evaluated (none is
	// outranked: TestMatchRanking).
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, MaxOptions: 100})

	var cands []matcher.Candidate
	wantRejected := map[string]int{}
	wantFeasible := 0
	for _, tt := range hardRuleCases() {
		cands = append(cands, tt.cand)
		if tt.want == "" {
			wantFeasible++
		} else {
			wantRejected[tt.want]++
		}
	}
	res := m.Match(req, cands, now, matcher.History{})
	got := struct {
		Considered, Feasible, Options int
		Rejected                      map[string]int
	}{res.Considered, res.Feasible, len(res.Options), res.Rejected}
	want := got
	want.Considered, want.Feasible, want.Options, want.Rejected = len(cands), wantFeasible, wantFeasible, wantRejected
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}
	if want := map[string]int{"skills": 2, "excluded": 1, "shift": 3, "shift_end": 2, "busy": 3, "deadline": 1, "cap": 2}; !cmp.Equal(res.Rejected, want) {
		t.Errorf("Rejected = %v, want %v (every reason represented)", res.Rejected, want)
	}
	if !res.Deadline.Equal(now.Add(time.Hour)) {
		t.Errorf("Deadline = %v, want %v", res.Deadline, now.Add(time.Hour))
	}

	// Nobody at all: an empty, explained answer.
	res = m.Match(req, nil, now, matcher.History{})
	if res.Considered != 0 || res.Feasible != 0 || len(res.Options) != 0 || res.Rejected == nil {
		t.Errorf("Match(no candidates) = %+v, want zero counts and a non-nil Rejected", res)
	}
}

// north returns the point km kilometres due north of base.
func north(km float64) doorstep.Location {
	return doorstep.Location{Lat: base.Lat + km/geo.EarthRadiusKm*180/math.Pi, Lng: base.Lng}
}

// linearKm is the distance the default Linear model covers in driving time d
// (the 5-minute overhead not included).
func linearKm(d time.Duration) float64 { return d.Hours() * geo.DefaultSpeedKmh / geo.DefaultDetour }

func TestMatchUrgentDeadlineEdges(t *testing.T) {
	now := clock(10, 0)
	reach := geo.Linear{}.ReachKm(doorstep.UrgentArrival)
	tests := []struct {
		name        string
		travel      geo.TravelModel
		home        doorstep.Location
		requested   time.Time
		want        string    // rejection reason; "" means feasible
		wantArrival time.Time // checked when not zero, to the second Linear rounds up
	}{
		{"grid: 59 minutes", gridTravel{}, at(59, 0), now, "", clock(10, 59)},
		{"grid: 60 minutes", gridTravel{}, at(0, 60), now, "", clock(11, 0)},
		{"grid: 61 minutes", gridTravel{}, at(30, 31), now, matcher.ReasonDeadline, time.Time{}},
		{"grid: 59 minutes, asked a minute ago", gridTravel{}, at(59, 0), now.Add(-time.Minute), "", clock(10, 59)},
		{"grid: 60 minutes, asked a minute ago", gridTravel{}, at(60, 0), now.Add(-time.Minute), matcher.ReasonDeadline, time.Time{}},
		{"grid: same place", gridTravel{}, base, now, "", now},
		{"linear: 59 minutes", geo.Linear{}, north(linearKm(54 * time.Minute)), now, "", clock(10, 59)},
		{"linear: two seconds under 60", geo.Linear{}, north(linearKm(54*time.Minute + 58*time.Second)), now, "", clock(10, 59).Add(58 * time.Second)},
		{"linear: 61 minutes", geo.Linear{}, north(linearKm(56 * time.Minute)), now, matcher.ReasonDeadline, time.Time{}},
		{"linear: just inside the urgent reach", geo.Linear{}, north(reach * 0.999), now, "", time.Time{}},
		{"linear: just beyond the urgent reach", geo.Linear{}, north(reach * 1.001), now, matcher.ReasonDeadline, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMatcher(t, matcher.Config{Travel: tt.travel})
			req := urgentAt(t, "plumbing", base, tt.requested)
			w := newWorker("w", "plumbing")
			w.Home = tt.home
			res := m.Match(req, []matcher.Candidate{cand(w)}, now, matcher.History{})
			if tt.want != "" {
				if res.Rejected[tt.want] != 1 || res.Feasible != 0 {
					t.Fatalf("rejected %v feasible %d, want one %q rejection", res.Rejected, res.Feasible, tt.want)
				}
				return
			}
			if res.Feasible != 1 || len(res.Options) != 1 {
				t.Fatalf("rejected %v feasible %d, want feasible", res.Rejected, res.Feasible)
			}
			s := res.Options[0].Slot
			if d := s.Arrival.Sub(tt.wantArrival); !tt.wantArrival.IsZero() && (d < 0 || d > time.Second) {
				t.Errorf("arrival %v, want %v", s.Arrival.Format(time.TimeOnly), tt.wantArrival.Format(time.TimeOnly))
			}
			if s.Arrival.After(req.Deadline()) || !s.Start.Equal(s.Arrival) {
				t.Errorf("slot %v..%v (arrival %v) breaks the urgent promise by %v", s.Start, s.End, s.Arrival, req.Deadline())
			}
		})
	}
}

// rankingCands are urgent cleaning candidates around base with known costs
// under DefaultWeights and gridTravel (travel t minutes costs 2t: travel
// plus wait). Their order, cheapest first, is rankingOrder.
func rankingCands() []matcher.Candidate {
	w := func(id string, home doorstep.Location, rating float64) matcher.Candidate {
		x := newWorker(id, "cleaning")
		if id == "h-no-skill" {
			x.Skills = []string{"laundry"}
		}
		x.Home, x.Rating = home, rating
		return cand(x)
	}
	return []matcher.Candidate{
		w("h-no-skill", base, 5),
		w("g", at(2, 0), 2),    // 4 + 18 = 22
		w("f", at(20, 0), 5),   // 40 - 15 (preferred) = 25
		w("e", at(8, 0), 5),    // 16, arrives 10:08
		w("c", at(0, 5), 4),    // 10 + 6 = 16, arrives 10:05
		w("b", at(5, 0), 4),    // 16, arrives 10:05
		w("a", at(10, 0), 5),   // 20
		w("i", at(0, 30), 5),   // 60 - 10 (continuity) = 50
		w("j", at(40, 0), 4.5), // 80 + 3 = 83
	}
}

var (
	rankingOrder = []string{"b", "c", "e", "a", "g", "f", "i", "j"}
	rankingCosts = []float64{16, 16, 16, 20, 22, 25, 50, 83}
)

func TestMatchRanking(t *testing.T) {
	now := clock(10, 0)
	req := urgentAt(t, "cleaning", base, now)
	req.PreferredWorkers = []string{"f"}
	cands := rankingCands()
	hist := matcher.History{LastWorker: "i"}

	for _, k := range []int{1, 2, 3, 5, 8, 9, 1000} {
		t.Run("MaxOptions="+strconv.Itoa(k), func(t *testing.T) {
			m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, MaxOptions: k})
			res := m.Match(req, cands, now, hist)
			n := min(k, len(rankingOrder))
			if diff := cmp.Diff(rankingOrder[:n], ids(res.Options)); diff != "" {
				t.Errorf("order mismatch (-want +got):\n%s", diff)
			}
			costs := make([]float64, len(res.Options))
			for i, o := range res.Options {
				costs[i] = o.Cost
			}
			if diff := cmp.Diff(rankingCosts[:n], costs, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("costs mismatch (-want +got):\n%s", diff)
			}
			// Once k options are kept, a worker whose rating and
			// shortest trip alone cost more is not evaluated. For k = 1,
			// in the order added: g (22) is kept; f is outranked (2.22 km
			// off, a trip of over 18.5 minutes, which with the preferred
			// bonus costs over 22); e (16), c (16, earlier) and b (16,
			// first by id) each take the place; a (over 16 from 8 minutes
			// of trip), i (over 26 with its continuity bonus: 13 minutes)
			// and j are outranked. For k = 2 and 3, f is kept, and a, i
			// and j are outranked; for k = 5, a is kept too (its trip of
			// over 12.5 minutes needed to cost over 25 is not shown), and
			// i and j are outranked. With room for every option nobody is.
			if res.Feasible+res.Outranked != len(rankingOrder) {
				t.Errorf("Feasible %d + Outranked %d, want %d", res.Feasible, res.Outranked, len(rankingOrder))
			}
			if want := map[int]int{1: 4, 2: 3, 3: 3, 5: 2, 8: 0, 9: 0, 1000: 0}; want[k] != res.Outranked {
				t.Errorf("Outranked = %d, want %d", res.Outranked, want[k])
			}
		})
	}

	// The order does not depend on the order of the candidates.
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, MaxOptions: 100})
	want := ids(m.Match(req, cands, now, hist).Options)
	rev := slices.Clone(cands)
	slices.Reverse(rev)
	if diff := cmp.Diff(want, ids(m.Match(req, rev, now, hist).Options)); diff != "" {
		t.Errorf("reversed candidates give another order (-want +got):\n%s", diff)
	}
	// The default is five options.
	if got := len(mustMatcher(t, matcher.Config{Travel: gridTravel{}}).Match(req, cands, now, hist).Options); got != 5 {
		t.Errorf("default MaxOptions gave %d options, want 5", got)
	}
}

func TestMatchBreakdown(t *testing.T) {
	wt := matcher.Weights{Travel: 2, UrgentWait: 3, NormalWait: 0.5, Rating: 7, Fairness: 12, Preferred: 11, Continuity: 13}
	now := clock(10, 0)
	window := &doorstep.Window{Start: clock(14, 0), End: clock(18, 0)}
	worker := func(home doorstep.Location, rating float64) *doorstep.Worker {
		w := newWorker("w", "cleaning")
		w.Home, w.Rating = home, rating
		return w
	}
	tests := []struct {
		name      string
		urgency   doorstep.Urgency
		window    *doorstep.Window
		preferred []string
		hist      matcher.History
		cand      matcher.Candidate
		want      matcher.Breakdown
	}{
		{name: "urgent: travel and wait", urgency: doorstep.Urgent, cand: cand(worker(at(10, 0), 5)),
			want: matcher.Breakdown{Travel: 2 * 10, Wait: 3 * 10}},
		{name: "urgent: rating", urgency: doorstep.Urgent, cand: cand(worker(base, 3.5)),
			want: matcher.Breakdown{Rating: 7 * 1.5}},
		{name: "urgent: rating zero", urgency: doorstep.Urgent, cand: cand(worker(base, 0)),
			want: matcher.Breakdown{Rating: 7 * 5}},
		{name: "urgent: fairness", urgency: doorstep.Urgent,
			cand: cand(worker(base, 5), booking("pm", clock(15, 0), clock(18, 0), base)),
			want: matcher.Breakdown{Fairness: 12 * 180.0 / 720}},
		{name: "urgent: fairness counts the day only", urgency: doorstep.Urgent,
			cand: cand(worker(base, 5), booking("tomorrow", clock(24+9, 0), clock(24+12, 0), base)),
			want: matcher.Breakdown{}},
		{name: "urgent: preferred", urgency: doorstep.Urgent, preferred: []string{"x", "w"}, cand: cand(worker(base, 5)),
			want: matcher.Breakdown{Preferred: -11}},
		{name: "urgent: continuity", urgency: doorstep.Urgent, hist: matcher.History{LastWorker: "w"}, cand: cand(worker(base, 5)),
			want: matcher.Breakdown{Continuity: -13}},
		{name: "urgent: another worker's continuity", urgency: doorstep.Urgent, hist: matcher.History{LastWorker: "v"}, cand: cand(worker(base, 5)),
			want: matcher.Breakdown{}},
		{name: "urgent: everything", urgency: doorstep.Urgent, preferred: []string{"w"}, hist: matcher.History{LastWorker: "w"},
			cand: cand(worker(at(0, 20), 4), booking("pm", clock(14, 0), clock(16, 0), at(0, 20))),
			// From home (the booking's place): arrives 10:20, ends 12:20,
			// back by 12:40: added travel 20 + 20 - 0.
			want: matcher.Breakdown{Travel: 2 * 40, Wait: 3 * 20, Rating: 7, Fairness: 12 * 120.0 / 720, Preferred: -11, Continuity: -13}},
		{name: "normal: wait after now", urgency: doorstep.Normal, cand: cand(worker(at(10, 0), 5)),
			want: matcher.Breakdown{Travel: 2 * 10, Wait: 0.5 * 10}},
		{name: "normal: no wait for an early arrival", urgency: doorstep.Normal, window: window, cand: cand(worker(at(10, 0), 5)),
			want: matcher.Breakdown{Travel: 2 * 10}},
		{name: "normal: wait after the window's start", urgency: doorstep.Normal, window: window,
			cand: cand(worker(at(10, 0), 5), booking("mid", clock(13, 0), clock(15, 0), base)),
			// Starts at 15:00 where the booking ended, no travel.
			want: matcher.Breakdown{Wait: 0.5 * 60, Fairness: 12 * 120.0 / 720}},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, Weights: wt})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustResolve(t, doorstep.Request{Service: "cleaning", Location: base, Urgency: tt.urgency,
				RequestedAt: now, Window: tt.window, PreferredWorkers: tt.preferred})
			res := m.Match(req, []matcher.Candidate{tt.cand}, now, tt.hist)
			if len(res.Options) != 1 {
				t.Fatalf("no option: rejected %v", res.Rejected)
			}
			o := res.Options[0]
			if diff := cmp.Diff(tt.want, o.Breakdown, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("breakdown mismatch (-want +got):\n%s", diff)
			}
			if o.Cost != o.Breakdown.Total() {
				t.Errorf("Cost = %v, Breakdown.Total() = %v", o.Cost, o.Breakdown.Total())
			}
			if got, want := o.Breakdown.Travel, wt.Travel*o.Slot.AddedTravel.Minutes(); math.Abs(got-want) > 1e-9 {
				t.Errorf("travel term %v, want weight x added travel = %v", got, want)
			}
		})
	}
}

func TestBreakdownTotalAndMap(t *testing.T) {
	b := matcher.Breakdown{Travel: 1, Wait: 2, Rating: 4, Fairness: 8, Preferred: -16, Continuity: -32, Overtime: 128, Protection: 64}
	if got, want := b.Total(), 159.0; got != want {
		t.Errorf("Total() = %v, want %v", got, want)
	}
	want := map[string]float64{
		matcher.TermTravel: 1, matcher.TermWait: 2, matcher.TermRating: 4,
		matcher.TermFairness: 8, matcher.TermPreferred: -16, matcher.TermContinuity: -32,
		matcher.TermOvertime: 128, matcher.TermProtection: 64,
	}
	if diff := cmp.Diff(want, b.Map()); diff != "" {
		t.Errorf("Map() mismatch (-want +got):\n%s", diff)
	}
	names := []string{"travel", "wait", "rating", "fairness", "preferred", "continuity", "overtime", "protection"}
	for _, n := range names {
		if _, ok := (matcher.Breakdown{}).Map()[n]; !ok {
			t.Errorf("Map() of a zero breakdown lacks %q", n)
		}
	}
}

// TestMatchTravelAroundBookings places a 30-minute job at R between a job at
// P1 (ends 12:00, 50 minutes from R) and one at P2 (50 minutes from R, 60
// from P1): the travel before and after the new job shapes the slot.
func TestMatchTravelAroundBookings(t *testing.T) {
	now := clock(10, 0)
	r, p1, p2 := at(20, 0), at(0, 30), at(0, -30)
	tests := []struct {
		name   string
		aEnd   time.Time // end of the job at P1 (starts 10:30)
		bStart time.Time // start of the one-hour job at P2
		want   schedule.Slot
	}{
		{"room between", clock(12, 0), clock(15, 0), schedule.Slot{
			Arrival: clock(12, 50), Start: clock(12, 50), End: clock(13, 20), Travel: 50 * time.Minute,
			DistanceKm: geo.DistanceKm(p1, r), AddedTravel: (50 + 50 - 60) * time.Minute}},
		{"exactly room between", clock(12, 0), clock(14, 10), schedule.Slot{
			Arrival: clock(12, 50), Start: clock(12, 50), End: clock(13, 20), Travel: 50 * time.Minute,
			DistanceKm: geo.DistanceKm(p1, r), AddedTravel: (50 + 50 - 60) * time.Minute}},
		{"a minute short: after the last job", clock(12, 0), clock(14, 9), schedule.Slot{
			Arrival: clock(15, 59), Start: clock(15, 59), End: clock(16, 29), Travel: 50 * time.Minute,
			DistanceKm: geo.DistanceKm(p2, r), AddedTravel: 50 * time.Minute}},
		{"earlier job ends later", clock(12, 30), clock(15, 0), schedule.Slot{
			Arrival: clock(13, 20), Start: clock(13, 20), End: clock(13, 50), Travel: 50 * time.Minute,
			DistanceKm: geo.DistanceKm(p1, r), AddedTravel: 40 * time.Minute}},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustResolve(t, doorstep.Request{Service: "plumbing", Location: r, Urgency: doorstep.Normal,
				RequestedAt: now, Duration: 30 * time.Minute})
			// Bookings handed over out of order: TimelineOf sorts them.
			c := cand(newWorker("w", "plumbing"),
				booking("b", tt.bStart, tt.bStart.Add(time.Hour), p2),
				booking("a", clock(10, 30), tt.aEnd, p1))
			res := m.Match(req, []matcher.Candidate{c}, now, matcher.History{})
			if len(res.Options) != 1 {
				t.Fatalf("no option: rejected %v", res.Rejected)
			}
			o := res.Options[0]
			want := tt.want
			want.DayJobs = 2
			want.DayMinutes = int(tt.aEnd.Sub(clock(10, 30)).Minutes()) + 60
			want.ShiftMinutes = 12 * 60
			if diff := cmp.Diff(want, o.Slot); diff != "" {
				t.Errorf("slot mismatch (-want +got):\n%s", diff)
			}
			if got, want := o.Breakdown.Travel, o.Slot.AddedTravel.Minutes(); got != want {
				t.Errorf("travel term %v, want the added travel %v", got, want)
			}
			if err := schedule.Verify(c.Worker, c.Timeline.Insert(schedule.Stop{BookingID: "new",
				Arrival: o.Slot.Arrival, Start: o.Slot.Start, End: o.Slot.End, Location: r}), gridTravel{}); err != nil {
				t.Errorf("the new timeline breaks a rule: %v", err)
			}
		})
	}
}

func TestMatchNormalWindow(t *testing.T) {
	now := clock(10, 0)
	win := func(from, to time.Time) *doorstep.Window { return &doorstep.Window{Start: from, End: to} }
	afternoon := win(clock(14, 0), clock(16, 0))
	tests := []struct {
		name      string
		window    *doorstep.Window
		shift     *doorstep.Shift
		busyUntil time.Time // end of a booking at base from 12:00; zero: none
		wantStart time.Time // zero: rejected
		wantWhy   string
	}{
		{name: "early arrival waits for the window", window: afternoon, wantStart: clock(14, 0)},
		{name: "starts after a booking inside the window", window: afternoon, busyUntil: clock(15, 30), wantStart: clock(15, 30)},
		{name: "starts at the window's end", window: afternoon, busyUntil: clock(16, 0), wantStart: clock(16, 0)},
		{name: "busy past the window", window: afternoon, busyUntil: clock(16, 1), wantWhy: matcher.ReasonBusy},
		{name: "window already open", window: win(clock(9, 0), clock(12, 0)), wantStart: clock(10, 10)},
		{name: "window open, shift ends too soon", window: afternoon,
			shift: &doorstep.Shift{Start: clock(8, 0), End: clock(15, 0)}, wantWhy: matcher.ReasonShiftEnd},
		{name: "window tomorrow morning", window: win(clock(24+8, 0), clock(24+9, 0)),
			shift: &doorstep.Shift{Start: clock(24+8, 30), End: clock(24+18, 0)}, wantStart: clock(24+8, 40)},
		{name: "no window: as soon as possible", wantStart: clock(10, 10)},
	}
	m := mustMatcher(t, matcher.Config{Travel: gridTravel{}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustResolve(t, doorstep.Request{Service: "cleaning", Location: base, Urgency: doorstep.Normal,
				RequestedAt: now, Window: tt.window})
			w := newWorker("w", "cleaning")
			w.Home = at(10, 0)
			if tt.shift != nil {
				w.Shifts = []doorstep.Shift{*tt.shift}
			}
			var bs []*doorstep.Booking
			if !tt.busyUntil.IsZero() {
				bs = append(bs, booking("b", clock(12, 0), tt.busyUntil, base))
			}
			res := m.Match(req, []matcher.Candidate{cand(w, bs...)}, now, matcher.History{})
			if tt.wantStart.IsZero() {
				if res.Feasible != 0 || res.Rejected[tt.wantWhy] != 1 {
					t.Fatalf("rejected %v feasible %d, want rejected as %q", res.Rejected, res.Feasible, tt.wantWhy)
				}
				return
			}
			if len(res.Options) != 1 {
				t.Fatalf("no option: rejected %v", res.Rejected)
			}
			s := res.Options[0].Slot
			if !s.Start.Equal(tt.wantStart) {
				t.Errorf("start %v, want %v", s.Start, tt.wantStart)
			}
			if tt.window != nil && !tt.window.Contains(s.Start) {
				t.Errorf("start %v outside the window %v..%v", s.Start, tt.window.Start, tt.window.End)
			}
			if s.Arrival.After(s.Start) || !s.End.Equal(s.Start.Add(req.Duration)) || s.Start.After(req.Deadline()) {
				t.Errorf("slot arrival %v start %v end %v is inconsistent", s.Arrival, s.Start, s.End)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	bad := []struct {
		name string
		cfg  matcher.Config
	}{
		{"negative travel weight", matcher.Config{Weights: matcher.Weights{Travel: -1}}},
		{"negative fairness weight", matcher.Config{Weights: matcher.Weights{Travel: 1, Fairness: -0.5}}},
		{"NaN weight", matcher.Config{Weights: matcher.Weights{Rating: math.NaN()}}},
		{"infinite weight", matcher.Config{Weights: matcher.Weights{Preferred: math.Inf(1)}}},
		{"negative continuity weight", matcher.Config{Weights: matcher.Weights{Continuity: -10}}},
		{"negative max options", matcher.Config{MaxOptions: -1}},
		{"too many options", matcher.Config{MaxOptions: 1001}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := matcher.New(tt.cfg); err == nil {
				t.Errorf("New(%+v) = %+v, want an error", tt.cfg, m.Config())
			}
		})
	}

	good := []struct {
		name string
		cfg  matcher.Config
		want matcher.Config
	}{
		{"zero value: all defaults", matcher.Config{},
			matcher.Config{Travel: geo.Linear{}, Weights: matcher.DefaultWeights, MaxOptions: 5}},
		{"given values kept", matcher.Config{Travel: gridTravel{}, Weights: matcher.Weights{Travel: 2}, MaxOptions: 1000},
			matcher.Config{Travel: gridTravel{}, Weights: matcher.Weights{Travel: 2}, MaxOptions: 1000}},
		{"one option", matcher.Config{MaxOptions: 1},
			matcher.Config{Travel: geo.Linear{}, Weights: matcher.DefaultWeights, MaxOptions: 1}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			m, err := matcher.New(tt.cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if diff := cmp.Diff(tt.want, m.Config()); diff != "" {
				t.Errorf("Config() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMatchWeighsOvertime: an urgent call at 19:30, 10 minutes from a late
// technician whose shift ends at 20:00 with an hour of urgent overtime (an
// hour's job: arrives 19:40, ends 20:40, 40 minutes over) and 20 minutes
// from a night technician on shift from 19:00 (arrives 19:50, inside the
// shift). By default the overtime weighs 1.5 a minute: late costs 10
// travel + 10 wait + 60 overtime = 80, night 20 + 20 = 40, so the night
// technician goes. Without the weight the late one is cheaper (20).
func TestMatchWeighsOvertime(t *testing.T) {
	now := clock(19, 30)
	late := newWorker("late", "plumbing")
	late.Shifts = []doorstep.Shift{{Start: clock(12, 0), End: clock(20, 0), UrgentOvertimeMinutes: 60}}
	night := newWorker("night", "plumbing")
	night.Home = at(30, 0)
	night.Shifts = []doorstep.Shift{{Start: clock(19, 0), End: clock(19, 0).Add(12 * time.Hour)}}
	req := mustResolve(t, doorstep.Request{Service: "plumbing", Location: at(10, 0), Urgency: doorstep.Urgent,
		RequestedAt: now, Duration: time.Hour})
	free := matcher.DefaultWeights
	free.Overtime = 0
	for _, tt := range []struct {
		name    string
		weights matcher.Weights
		want    string
		costs   map[string]float64
	}{
		{"overtime weighed", matcher.DefaultWeights, "night", map[string]float64{"late": 80, "night": 40}},
		{"overtime free", free, "late", map[string]float64{"late": 20, "night": 40}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMatcher(t, matcher.Config{Travel: gridTravel{}, Weights: tt.weights})
			res := m.Match(req, []matcher.Candidate{cand(late), cand(night)}, now, matcher.History{})
			if len(res.Options) != 2 || res.Options[0].WorkerID != tt.want {
				t.Fatalf("options %+v (rejected %v), want %s first", res.Options, res.Rejected, tt.want)
			}
			for _, o := range res.Options {
				if o.Cost != tt.costs[o.WorkerID] {
					t.Errorf("%s costs %v (%+v), want %v", o.WorkerID, o.Cost, o.Breakdown, tt.costs[o.WorkerID])
				}
				if o.WorkerID == "late" && (o.Slot.Overtime != 40*time.Minute || !o.Slot.End.Equal(clock(20, 40))) {
					t.Errorf("late's slot %+v: want 19:40-20:40, 40 minutes over", o.Slot)
				}
			}
		})
	}
}
