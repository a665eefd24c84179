package matcher_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestMatchProperty checks Match (the fast top-k insertion) against a simple
// oracle on random small rosters and requests: every candidate evaluated on
// its own with Evaluate, the feasible options sorted by (cost, arrival, id)
// with a plain sort and cut to MaxOptions. It also checks that every option
// keeps the request's bounds and every hard rule.
func TestMatchProperty(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	travel := geo.Linear{}
	options := 0
	reasons := map[string]int{}
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 0xd00257e9))
		now := clock(7, 0).Add(time.Duration(r.IntN(11*60)) * time.Minute)
		cands := randomRoster(t, r, travel, now)
		req := randomRequest(t, r, now, cands)
		hist := matcher.History{}
		if r.IntN(3) == 0 {
			hist.LastWorker = fmt.Sprintf("w%d", r.IntN(len(cands)+1))
		}
		cfg := matcher.Config{Travel: travel, MaxOptions: 1 + r.IntN(6)}
		if r.IntN(2) == 0 {
			cfg.Weights = matcher.Weights{Travel: r.Float64() * 3, UrgentWait: r.Float64() * 3, NormalWait: r.Float64(),
				Rating: r.Float64() * 10, Fairness: r.Float64() * 40, Preferred: r.Float64() * 30, Continuity: r.Float64() * 30}
		}
		m := mustMatcher(t, cfg)

		got := m.Match(req, cands, now, hist)
		want := oracle(m, req, cands, now, hist)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(matcher.Result{}, "Rejected", "Feasible", "Outranked")); diff != "" {
			t.Fatalf("seed %d: Match differs from the oracle (-oracle +match):\n%s", seed, diff)
		}
		if err := outrankedCounts(want, got); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		for _, o := range got.Options {
			c := cands[slices.IndexFunc(cands, func(c matcher.Candidate) bool { return c.Worker.ID == o.WorkerID })]
			if err := checkOption(req, &c, o, now, travel); err != nil {
				t.Fatalf("seed %d: worker %s slot %v..%v (arrival %v): %v\nrequest %+v",
					seed, o.WorkerID, o.Slot.Start, o.Slot.End, o.Slot.Arrival, err, req)
			}
		}
		options += len(got.Options)
		for k, v := range got.Rejected {
			reasons[k] += v
		}
		reasons["feasible"] += got.Feasible
		reasons["outranked"] += got.Outranked
	}
	t.Logf("over %d cases: %d options; candidates by verdict: %v", n, options, reasons)
	// The generator must reach every verdict, or the test proves little.
	for _, v := range []string{"feasible", "outranked", matcher.ReasonSkills, matcher.ReasonCertificates, matcher.ReasonShift,
		matcher.ReasonBusy, matcher.ReasonDeadline, matcher.ReasonExcluded, matcher.ReasonCap} {
		if reasons[v] < n/200 {
			t.Errorf("verdict %q reached %d times in %d cases: the generator misses it", v, reasons[v], n)
		}
	}
}

// outrankedCounts reports how got, a match that leaves outranked
// workers unevaluated (matcher.Result.Outranked), counts other than want,
// one that evaluates every worker: only workers the oracle found feasible
// or rejected for their day (busy, late, capped, or ending after their
// shift does) may be outranked instead; the rules that need no look at the
// worker's day (qualification, exclusion, no shift that can hold the job)
// count alike.
func outrankedCounts(want, got matcher.Result) error {
	if want.Outranked != 0 {
		return fmt.Errorf("the oracle outranks %d", want.Outranked)
	}
	total := got.Feasible + got.Outranked
	for _, n := range got.Rejected {
		total += n
	}
	if total != got.Considered {
		return fmt.Errorf("feasible %d, outranked %d and rejected %v do not add up to the %d considered",
			got.Feasible, got.Outranked, got.Rejected, got.Considered)
	}
	lost := want.Feasible - got.Feasible
	for _, r := range []string{matcher.ReasonSkills, matcher.ReasonCertificates, matcher.ReasonExcluded, matcher.ReasonShift} {
		if got.Rejected[r] != want.Rejected[r] {
			return fmt.Errorf("rejected for %s: %d, the oracle %d", r, got.Rejected[r], want.Rejected[r])
		}
	}
	for _, r := range []string{matcher.ReasonBusy, matcher.ReasonDeadline, matcher.ReasonCap, matcher.ReasonShiftEnd} {
		lost += want.Rejected[r] - got.Rejected[r]
		if got.Rejected[r] > want.Rejected[r] {
			return fmt.Errorf("rejected for %s: %d, the oracle %d", r, got.Rejected[r], want.Rejected[r])
		}
	}
	if got.Feasible > want.Feasible || lost != got.Outranked {
		return fmt.Errorf("feasible %d and outranked %d, the oracle's feasible %d and rejected %v",
			got.Feasible, got.Outranked, want.Feasible, want.Rejected)
	}
	return nil
}

// oracle is the simple version of Match.
func oracle(m *matcher.Matcher, req *doorstep.Request, cands []matcher.Candidate, now time.Time, hist matcher.History) matcher.Result {
	res := matcher.Result{Deadline: req.Deadline(), Considered: len(cands), Rejected: map[string]int{}}
	job := schedule.JobFor(req, now)
	var all []matcher.Option
	for i := range cands {
		o, reason := m.Evaluate(req, job, &cands[i], hist)
		if reason != "" {
			res.Rejected[reason]++
			continue
		}
		all = append(all, o)
	}
	res.Feasible = len(all)
	slices.SortFunc(all, func(a, b matcher.Option) int {
		switch {
		case a.Cost != b.Cost:
			return cmpFloat(a.Cost, b.Cost)
		case !a.Slot.Arrival.Equal(b.Slot.Arrival):
			return a.Slot.Arrival.Compare(b.Slot.Arrival)
		}
		return strings.Compare(a.WorkerID, b.WorkerID)
	})
	res.Options = all[:min(len(all), m.Config().MaxOptions)]
	return res
}

func cmpFloat(a, b float64) int {
	if a < b {
		return -1
	}
	return 1
}

// checkOption reports the first bound or hard rule o breaks.
func checkOption(req *doorstep.Request, c *matcher.Candidate, o matcher.Option, now time.Time, travel geo.TravelModel) error {
	s, w := o.Slot, c.Worker
	job := schedule.JobFor(req, now)
	switch {
	case o.Cost != o.Breakdown.Total():
		return fmt.Errorf("cost %v is not the breakdown's total %v", o.Cost, o.Breakdown.Total())
	case o.Version != c.Version:
		return fmt.Errorf("version %d, candidate has %d", o.Version, c.Version)
	case slices.Contains(req.ExcludedWorkers, w.ID):
		return fmt.Errorf("excluded worker")
	case !doorstep.HasAll(w.Skills, req.Skills) || !doorstep.HasAll(w.Certificates, req.Certificates):
		return fmt.Errorf("skills %v / certificates %v do not cover %v / %v", w.Skills, w.Certificates, req.Skills, req.Certificates)
	case s.Arrival.Add(-s.Travel).Before(now):
		return fmt.Errorf("departs %v, before now %v", s.Arrival.Add(-s.Travel), now)
	case s.Start.Before(s.Arrival):
		return fmt.Errorf("starts before arriving")
	case s.Start.Before(job.EarliestStart) || s.Start.After(job.LatestStart):
		return fmt.Errorf("start outside [%v, %v]", job.EarliestStart, job.LatestStart)
	case !s.End.Equal(s.Start.Add(req.Duration)):
		return fmt.Errorf("lasts %v, want %v", s.End.Sub(s.Start), req.Duration)
	case req.Urgency == doorstep.Urgent && (s.Arrival.After(req.Deadline()) || !s.Start.Equal(s.Arrival)):
		return fmt.Errorf("urgent: arrival after the deadline %v or a wait before starting", req.Deadline())
	case req.Urgency == doorstep.Normal && s.Start.After(req.Deadline()):
		return fmt.Errorf("normal: starts after the deadline %v", req.Deadline())
	case req.Window != nil && !req.Window.Contains(s.Start):
		return fmt.Errorf("starts outside the window %v..%v", req.Window.Start, req.Window.End)
	}
	inShift := false
	for _, sh := range w.Shifts {
		if !s.Start.Before(sh.Start) && !s.End.After(sh.End) && !s.Arrival.Add(-s.Travel).Before(sh.Start) {
			inShift = true
			for _, b := range sh.Breaks {
				if s.Start.Before(b.Latest) && b.Earliest.Before(s.End) {
					return fmt.Errorf("overlaps the break %v..%v", b.Earliest, b.Latest)
				}
			}
		}
	}
	if !inShift {
		return fmt.Errorf("outside every shift")
	}
	for _, st := range c.Timeline {
		if s.Start.Before(st.End) && st.Start.Before(s.End) {
			return fmt.Errorf("overlaps booking %s %v..%v", st.BookingID, st.Start, st.End)
		}
	}
	// Travel to and from the neighbouring stops, and the daily caps. Verify
	// plans travel from the previous stop's place, which is where the
	// planner starts too unless the worker has reported a position since.
	if w.Location == nil {
		tl := c.Timeline.Insert(schedule.Stop{BookingID: "new", Arrival: s.Arrival, Start: s.Start, End: s.End, Location: req.Location})
		if err := schedule.Verify(w, tl, travel); err != nil {
			return fmt.Errorf("the new timeline breaks a rule: %w", err)
		}
	}
	return nil
}

var propServices = []string{"cleaning", "plumbing", "childcare"}

// near returns a random point within about 3 km of base.
func near(r *rand.Rand) doorstep.Location {
	return at(r.Float64()*50-25, r.Float64()*60-30)
}

// randomRoster returns 0 to 10 workers with random skills, shifts (today
// from 06:00-09:00 for 6 to 14 hours,
// maybe a break; maybe one tomorrow), caps, ratings and a valid timeline of
// up to five bookings.
func randomRoster(tb testing.TB, r *rand.Rand, travel geo.TravelModel, now time.Time) []matcher.Candidate {
	tb.Helper()
	n := r.IntN(11)
	cands := make([]matcher.Candidate, 0, n)
	for i := range n {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%d", i), Home: near(r), Rating: float64(r.IntN(11)) / 2}
		for _, s := range propServices {
			if r.IntN(10) < 7 {
				w.Skills = append(w.Skills, s)
			}
		}
		if len(w.Skills) == 0 {
			w.Skills = []string{"gardening"}
		}
		if r.IntN(2) == 0 {
			w.Certificates = []string{"childcare"}
		}
		if r.IntN(3) == 0 {
			loc := near(r)
			w.Location, w.LocatedAt = &loc, now.Add(-time.Duration(r.IntN(90))*time.Minute)
		}
		if r.IntN(10) < 9 {
			start := clock(6, 0).Add(time.Duration(r.IntN(7)) * 30 * time.Minute)
			sh := doorstep.Shift{Start: start, End: start.Add(time.Duration(6+r.IntN(9)) * time.Hour)}
			if r.IntN(3) == 0 {
				b := sh.Start.Add(sh.End.Sub(sh.Start) / 2)
				sh.Breaks = []doorstep.Break{doorstep.FixedBreak(b, b.Add(time.Duration(30+r.IntN(31))*time.Minute))}
			}
			w.Shifts = append(w.Shifts, sh)
		}
		if r.IntN(2) == 0 {
			start := clock(24+7, 0).Add(time.Duration(r.IntN(6)) * time.Hour)
			w.Shifts = append(w.Shifts, doorstep.Shift{Start: start, End: start.Add(8 * time.Hour)})
		}
		if r.IntN(3) == 0 {
			w.MaxJobsPerDay = 1 + r.IntN(3)
		}
		if r.IntN(5) == 0 {
			w.MaxWorkMinutesPerDay = 120 + 30*r.IntN(10)
		}
		if err := w.Validate(); err != nil {
			tb.Fatalf("generated an invalid worker: %v", err)
		}
		var tl schedule.Timeline
		for k := range r.IntN(6) {
			if len(w.Shifts) == 0 {
				break
			}
			sh := w.Shifts[r.IntN(len(w.Shifts))]
			start := sh.Start.Add(time.Duration(r.IntN(int(sh.End.Sub(sh.Start)/(15*time.Minute)))) * 15 * time.Minute)
			stop := schedule.Stop{BookingID: fmt.Sprintf("b%d", k), Start: start, Arrival: start,
				End: start.Add(time.Duration(2+r.IntN(11)) * 15 * time.Minute), Location: near(r)}
			if next := tl.Insert(stop); schedule.Verify(w, next, travel) == nil {
				tl = next
			}
		}
		cands = append(cands, matcher.Candidate{Worker: w, Timeline: tl, Version: int64(r.IntN(100))})
	}
	return cands
}

// randomRequest returns a valid request at clock reading now.
func randomRequest(tb testing.TB, r *rand.Rand, now time.Time, cands []matcher.Candidate) *doorstep.Request {
	tb.Helper()
	req := doorstep.Request{
		Service:     propServices[r.IntN(len(propServices))],
		Location:    near(r),
		Urgency:     doorstep.Normal,
		RequestedAt: now.Add(-time.Duration(r.IntN(20)) * time.Minute),
	}
	if r.IntN(5) < 2 {
		req.Urgency = doorstep.Urgent
	} else if r.IntN(2) == 0 {
		start := req.RequestedAt.Add(time.Duration(r.IntN(20*4)) * 15 * time.Minute)
		end := start.Add(time.Duration(1+r.IntN(16)) * 15 * time.Minute)
		if end.After(req.Deadline()) {
			end = req.Deadline()
		}
		if end.After(now) {
			req.Window = &doorstep.Window{Start: start, End: end}
		}
	}
	if r.IntN(2) == 0 {
		req.Duration = time.Duration(2+r.IntN(15)) * 15 * time.Minute
	}
	for range r.IntN(3) {
		id := fmt.Sprintf("w%d", r.IntN(len(cands)+1))
		if r.IntN(2) == 0 {
			req.PreferredWorkers = append(req.PreferredWorkers, id)
		} else {
			req.ExcludedWorkers = append(req.ExcludedWorkers, id)
		}
	}
	p := mustResolve(tb, req)
	if err := p.Validate(now); err != nil {
		tb.Fatalf("generated an invalid request: %v", err)
	}
	return p
}
