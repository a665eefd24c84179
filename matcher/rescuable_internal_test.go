package matcher

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestRescuableIsFreeableNonEmpty holds Rescuable, which stops at the
// first worker a plan may free, to what it replaced: the plan's list of
// workers to free (freeable) gathered whole, non-empty. The list is
// checked against the rule spelled out here, on random cities whose
// workers lack the skill or not, are excluded or not, hold bookings
// normal and urgent, confirmed or cancelled, before now or after, under
// way or not, some beyond an urgent request's reach, for urgent and
// normal requests.
func TestRescuableIsFreeableNonEmpty(t *testing.T) {
	now, centre, m := rescueFixture(t)
	rng := rand.New(rand.NewPCG(31, 32))
	rescuable := 0
	for trial := range 3000 {
		req := rescueRequest(t, rng, now, offset(centre, rng.Float64()*6-3, rng.Float64()*6-3))
		cands := make([]Candidate, rng.IntN(12))
		for i := range cands {
			c := randomRescueCandidate(rng, i, now, centre, req)
			if rng.IntN(3) == 0 { // beyond an urgent request's reach, or near it
				c.Worker.Home, c.Worker.Location = offset(centre, 10+rng.Float64()*30, 0), nil
			}
			cands[i] = c
		}
		p := &planner{m: m, req: req, job: schedule.JobFor(req, now), cands: cands, now: now}
		var want []int
		for i := range cands {
			if _, ok := freeableRule(p, i); ok {
				want = append(want, i)
			}
		}
		got := p.freeable() // nearest first; fewer than MaxRescueWorkers
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: freeable %v, want %v", trial, got, want)
		}
		if r := m.Rescuable(req, cands, now); r != (len(want) > 0) {
			t.Fatalf("trial %d: Rescuable %v, with %d workers to free %v", trial, r, len(want), want)
		}
		if len(want) > 0 {
			rescuable++
		}
	}
	t.Logf("%d of 3,000 trials rescuable", rescuable)
	if rescuable < 100 || rescuable > 2900 {
		t.Errorf("%d of 3,000 trials rescuable: the cities test one answer only", rescuable)
	}
}

// TestFreeableIsTheSortedPrefix holds planner.freeable, which walks the
// workers it may free outward from the request by bands of latitude and
// asks for a movable booking and the reach only of those it meets, to
// the rule spelled out: every worker qualified, not excluded, on a shift
// that can hold the job, with a booking it may move and (urgent) within
// reach, sorted by distance then id, the first MaxRescueWorkers. Pools
// are larger than that, and homes snap to a lattice so that distances
// tie.
func TestFreeableIsTheSortedPrefix(t *testing.T) {
	now, centre, m := rescueFixture(t)
	rng := rand.New(rand.NewPCG(41, 42))
	full := 0
	for trial := range 300 {
		req := rescueRequest(t, rng, now, offset(centre, float64(rng.IntN(7)-3), float64(rng.IntN(7)-3)))
		cands := make([]Candidate, 1+rng.IntN(400))
		for i := range cands {
			c := randomRescueCandidate(rng, i, now, centre, req)
			c.Worker.Home = offset(centre, float64(rng.IntN(31)-15), float64(rng.IntN(31)-15))
			if rng.IntN(2) == 0 {
				c.Worker.Location = nil
			}
			cands[i] = c
		}
		p := &planner{m: m, req: req, job: schedule.JobFor(req, now), cands: cands, now: now}
		var list []near
		for i := range cands {
			if km, ok := freeableRule(p, i); ok {
				list = append(list, near{i, km})
			}
		}
		slices.SortFunc(list, func(a, b near) int {
			if c := cmp.Compare(a.km, b.km); c != 0 {
				return c
			}
			return cmp.Compare(cands[a.i].Worker.ID, cands[b.i].Worker.ID)
		})
		var want []int
		for _, x := range list[:min(len(list), MaxRescueWorkers)] {
			want = append(want, x.i)
		}
		if len(list) > MaxRescueWorkers {
			full++
		}
		if got := p.freeable(); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("trial %d (%d workers, %s): freeable %v, want %v", trial, len(cands), req.Urgency, got, want)
		}
	}
	t.Logf("%d of 300 trials had more than %d workers to free", full, MaxRescueWorkers)
	if full < 30 {
		t.Errorf("only %d of 300 trials had more workers to free than the plan tries: the walk's stop is not tested", full)
	}
}

// randomRescueCandidate is randomBeyondCandidate with what decides whether
// a plan may free it drawn too: a quarter of other trades, an eighth
// excluded by req, and bookings urgent, cancelled, begun or under way.
func randomRescueCandidate(rng *rand.Rand, i int, now time.Time, centre doorstep.Location, req *doorstep.Request) Candidate {
	c := randomBeyondCandidate(rng, i, now, centre, req)
	if rng.IntN(4) == 0 {
		c.Worker.Skills = []string{"moving"}
	}
	if rng.IntN(8) == 0 {
		req.ExcludedWorkers = append(req.ExcludedWorkers, c.Worker.ID)
	}
	for _, b := range c.Bookings {
		b.Urgency = doorstep.Normal
		switch rng.IntN(6) {
		case 0:
			b.Urgency = doorstep.Urgent
		case 1:
			b.Status = doorstep.StatusCancelled
		case 2:
			b.Arrival = now.Add(-time.Minute)
		case 3:
			b.Progress = &doorstep.Progress{State: doorstep.ProgressEnRoute}
		}
	}
	return c
}

// freeableRule is the rule a plan frees workers by, spelled out: candidate
// i of p is qualified, not excluded, on a shift that can hold the job,
// has a booking it may move (normal, or urgent for an urgent request;
// confirmed, not begun, not under way) and, for an urgent request, lies
// within the travel model's reach of the hour left; and how far it is.
func freeableRule(p *planner, i int) (float64, bool) {
	req, now, w := p.req, p.now, p.cands[i].Worker
	reach := math.Inf(1)
	if req.Urgency == doorstep.Urgent {
		reach = p.m.cfg.Travel.ReachKm(req.Deadline().Sub(now))
	}
	movable := slices.ContainsFunc(p.cands[i].Bookings, func(b *doorstep.Booking) bool {
		return (b.Urgency == doorstep.Normal || req.Urgency == doorstep.Urgent) && b.Status == doorstep.StatusConfirmed &&
			b.Arrival.After(now) && !b.UnderWay()
	})
	km := geo.DistanceKm(w.PositionAt(now), req.Location)
	return km, ShiftCanHold(w, p.job) && !slices.Contains(req.ExcludedWorkers, w.ID) && w.Qualifies(req) && movable && km <= reach
}

// rescueFixture is the clock, the city centre and a matcher with the
// linear travel model of the rescue tests.
func rescueFixture(t *testing.T) (time.Time, doorstep.Location, *Matcher) {
	t.Helper()
	now := time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)
	centre := doorstep.Location{Lat: 40.73, Lng: -73.99}
	linear, _ := travelModels(t, centre, 10)
	m, err := New(Config{Travel: linear})
	if err != nil {
		t.Fatal(err)
	}
	return now, centre, m
}

// rescueRequest is a cleaning request at at, urgent or normal alike.
func rescueRequest(t *testing.T, rng *rand.Rand, now time.Time, at doorstep.Location) *doorstep.Request {
	t.Helper()
	req := &doorstep.Request{Service: "cleaning", Location: at, Urgency: doorstep.Normal, RequestedAt: now}
	if rng.IntN(2) == 0 {
		req.Urgency = doorstep.Urgent
	}
	if err := doorstep.DefaultCatalogue().Resolve(req); err != nil {
		t.Fatal(err)
	}
	return req
}
