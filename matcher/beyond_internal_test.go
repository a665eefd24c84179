package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestBeyondPrunesOnlyWhoCannotBeat holds Beyond, which evaluates only the
// workers who might match the best arrival found (mayBeat), to Beyond
// evaluating every worker, on random cities: one to three shifts a worker
// (under way, later today, tomorrow, some a minute long), homes up to 15 km
// off, some reported positions, bookings in the way or not, requests
// urgent, normal and with windows, under the linear model with hourly
// speeds and under a travel table with fast rows. Workers are added in a
// shuffled order, with their places, as a search adds them. It also
// checks that the pruning skips evaluations at all (else it is untested),
// and that a worker FromHome(...).None() rules out on its shifts alone has no
// slot before the best.
func TestBeyondPrunesOnlyWhoCannotBeat(t *testing.T) {
	now := time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)
	centre := doorstep.Location{Lat: 40.73, Lng: -73.99}
	linear, table := travelModels(t, centre, 10)
	rng := rand.New(rand.NewPCG(11, 12))
	pruned, evaluated, noShift, homeRules := 0, 0, 0, 0
	for trial := range 2000 {
		var travel geo.TravelModel = linear
		if trial%3 == 2 {
			travel = table
		}
		m, err := New(Config{Travel: travel})
		if err != nil {
			t.Fatal(err)
		}
		req := &doorstep.Request{Service: "cleaning", Location: offset(centre, rng.Float64()*6-3, rng.Float64()*6-3),
			Urgency: doorstep.Normal, RequestedAt: now}
		switch rng.IntN(3) {
		case 0:
			req.Urgency = doorstep.Urgent
		case 1:
			start := now.Add(time.Duration(rng.IntN(20)) * time.Hour)
			req.Window = &doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}
		}
		if err := doorstep.DefaultCatalogue().Resolve(req); err != nil {
			t.Fatal(err)
		}
		cands := make([]Candidate, 5+rng.IntN(40))
		for i := range cands {
			cands[i] = randomBeyondCandidate(rng, i, now, centre, req)
		}
		order := rng.Perm(len(cands))
		exact := m.NewBeyond(req, now)
		exact.exhaustive = true
		fast := m.NewBeyond(req, now)
		var calls int
		inner := fast.evaluate
		fast.evaluate = func(r *doorstep.Request, j schedule.Job, c *Candidate, h History) (Option, string) {
			calls++
			return inner(r, j, c, h)
		}
		for _, i := range order {
			// A worker whose shifts alone say it cannot beat the best
			// (FromHome(...).None(), wherever it is and whatever it holds) has
			// no slot before it, nor any before one is found.
			if c := &cands[i]; fast.FromHome(c.Worker.Shifts).None() {
				noShift++
				o, reason := exact.evaluate(&exact.relaxed, exact.job, c, History{})
				if reason == "" && (!exact.found || o.Slot.Arrival.Before(exact.best.Slot.Arrival)) {
					t.Fatalf("trial %d: FromHome(%v).None(), but %s arrives at %v (best %v, found %v)",
						trial, c.Worker.Shifts, c.Worker.ID, o.Slot.Arrival, exact.best.Slot.Arrival, exact.found)
				}
				if !fast.CannotBeat(c) {
					t.Fatalf("trial %d: FromHome(%v).None(), but not CannotBeat(%s)", trial, c.Worker.Shifts, c.Worker.ID)
				}
			}
			// The rule for workers with no stops, worked out once for the
			// shifts, is CannotBeatFrom's, wherever the home: the worker's,
			// at the job, and on the edge of its distance.
			c := &cands[i]
			r := fast.FromHome(c.Worker.Shifts)
			homes := []doorstep.Location{c.Worker.Home, req.Location, offset(req.Location, rng.Float64()*0.02-0.01, 0)}
			if !r.none && !r.any {
				homes = append(homes, offset(req.Location, 0, r.km), offset(req.Location, 0, r.km+0.001), offset(req.Location, r.km*0.6, r.km*0.8))
			}
			for _, home := range homes {
				if got, want := r.CannotBeat(home), fast.CannotBeatFrom(c.Worker.Shifts, home, nil); got != want {
					t.Fatalf("trial %d: FromHome(%v).CannotBeat(%v) = %v, CannotBeatFrom %v (rule %+v)", trial, c.Worker.Shifts, home, got, want, r)
				}
				homeRules++
			}
			exact.Add(&cands[i], i)
			fast.Add(&cands[i], i)
		}
		wantAt, wantWho := exact.Earliest()
		gotAt, gotWho := fast.Earliest()
		if !gotAt.Equal(wantAt) || gotWho != wantWho {
			t.Fatalf("trial %d (%s, window %v, %T): pruned Beyond gives %v by %q, every worker evaluated gives %v by %q",
				trial, req.Urgency, req.Window, travel, gotAt, gotWho, wantAt, wantWho)
		}
		pruned += len(cands) - calls
		evaluated += calls
	}
	t.Logf("evaluated %d workers, skipped %d; %d could not beat on their shifts alone; %d homes checked against FromHome", evaluated, pruned, noShift, homeRules)
	if pruned == 0 || noShift == 0 {
		t.Errorf("no worker was skipped, or none on its shifts: the pruning was not exercised")
	}
}

// travelModels are the travel models the random tests of the bounds run
// under, around centre: the linear model with hourly speeds, and a travel
// table with rows far faster than it, in hour (UTC) and every hour.
func travelModels(t *testing.T, centre doorstep.Location, hour int) (geo.Linear, *geo.Table) {
	t.Helper()
	linear := geo.Linear{HourSpeedKmh: [24]float64{8: 15, 9: 18, 17: 12, 22: 40}}
	cell := func(loc doorstep.Location) string { return geo.CellOf(loc, geo.TableResolution).String() }
	table, err := geo.ParseTable(strings.NewReader(fmt.Sprintf("from_cell,to_cell,minutes,hour\n%s,%s,4,\n%s,%s,1,%d\n%s,%s,2,\n",
		cell(centre), cell(offset(centre, 8, 0)), cell(offset(centre, -3, 2)), cell(centre), hour,
		cell(offset(centre, 10, 10)), cell(offset(centre, -2, -2)))), linear)
	if err != nil {
		t.Fatal(err)
	}
	return linear, table
}

// randomBeyondCandidate is worker i, qualified for req, with random
// shifts, home, reported position and bookings. Some of them are the
// workers a home-based bound would wrongly rule out: a shift just under
// way with a position reported near the job, or a booking near the job
// early in a shift.
func randomBeyondCandidate(rng *rand.Rand, i int, now time.Time, centre doorstep.Location, req *doorstep.Request) Candidate {
	w := &doorstep.Worker{ID: fmt.Sprintf("w%02d", i), Skills: req.Skills, Rating: 4,
		Home: offset(centre, rng.Float64()*30-15, rng.Float64()*30-15)}
	near := func() doorstep.Location { return offset(req.Location, rng.Float64()-0.5, rng.Float64()-0.5) }
	// Shifts in order, apart, as a stored worker's are: the first from
	// midnight to a day on, or just under way.
	start := now.Truncate(24 * time.Hour).Add(time.Duration(rng.IntN(24*4)) * 15 * time.Minute)
	if rng.IntN(4) == 0 {
		start = now.Add(-time.Duration(rng.IntN(30)) * time.Minute)
	}
	for range 1 + rng.IntN(3) {
		length := time.Duration(1+rng.IntN(12)) * time.Hour
		if rng.IntN(10) == 0 {
			length = time.Minute
		}
		w.Shifts = append(w.Shifts, doorstep.Shift{Start: start, End: start.Add(length)})
		start = start.Add(length + time.Duration(rng.IntN(12*4))*15*time.Minute)
	}
	if rng.IntN(3) == 0 {
		loc := offset(centre, rng.Float64()*10-5, rng.Float64()*10-5)
		if rng.IntN(2) == 0 {
			loc = near()
		}
		w.Location, w.LocatedAt = &loc, now.Add(-time.Duration(rng.IntN(90))*time.Minute)
	}
	var bs []*doorstep.Booking
	for k := range rng.IntN(4) {
		sh := w.Shifts[rng.IntN(len(w.Shifts))]
		start := sh.Start.Add(time.Duration(rng.IntN(int(sh.End.Sub(sh.Start).Minutes())+1)) * time.Minute)
		loc := offset(centre, rng.Float64()*20-10, rng.Float64()*20-10)
		length := time.Duration(30+rng.IntN(90)) * time.Minute
		if rng.IntN(2) == 0 { // early in its shift, near the job
			start, loc, length = sh.Start.Add(time.Duration(rng.IntN(60))*time.Minute), near(), 30*time.Minute
		}
		bs = append(bs, &doorstep.Booking{ID: fmt.Sprintf("b%02d-%d", i, k), WorkerID: w.ID, Status: doorstep.StatusConfirmed,
			Start: start, Arrival: start, End: start.Add(length), Location: loc})
	}
	return Candidate{Worker: w, Timeline: schedule.TimelineOf(bs), Bookings: bs}
}

// offset is loc moved north and east by the given kilometres.
func offset(loc doorstep.Location, northKm, eastKm float64) doorstep.Location {
	return doorstep.Location{Lat: loc.Lat + northKm/111.2, Lng: loc.Lng + eastKm/(111.2*math.Cos(loc.Lat*math.Pi/180))}
}

// TestBeyondKeepsWorkersNotAtHome: the two workers a bound from home would
// rule out, each added after a worker near the job: one whose shift is
// under way with a position reported at the job's door, and one whose
// booking at the door ends before the other could arrive. Each is the
// earliest, with the pruning as without it.
func TestBeyondKeepsWorkersNotAtHome(t *testing.T) {
	now := time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)
	job := doorstep.Location{Lat: 40.73, Lng: -73.99}
	m, err := New(Config{}) // linear: 25 km/h, detour 1.3, 5 minutes a trip
	if err != nil {
		t.Fatal(err)
	}
	req := &doorstep.Request{Service: "cleaning", Location: job, Urgency: doorstep.Normal, RequestedAt: now}
	if err := doorstep.DefaultCatalogue().Resolve(req); err != nil {
		t.Fatal(err)
	}
	worker := func(id string, home doorstep.Location, from, to time.Time) *doorstep.Worker {
		return &doorstep.Worker{ID: id, Skills: req.Skills, Rating: 4, Home: home, Shifts: []doorstep.Shift{{Start: from, End: to}}}
	}
	// Near: 2 km from the door, from 12:00 (10:00 in the first case).
	far := offset(job, 30, 0)
	located := worker("located", far, now.Add(-5*time.Minute), now.Add(10*time.Hour))
	located.Location, located.LocatedAt = &job, now.Add(-10*time.Minute)
	booked := worker("booked", far, now.Add(2*time.Hour), now.Add(11*time.Hour))
	atDoor := &doorstep.Booking{ID: "b1", WorkerID: "booked", Status: doorstep.StatusConfirmed, Location: job,
		Start: now.Add(2 * time.Hour), Arrival: now.Add(2 * time.Hour), End: now.Add(150 * time.Minute)}
	for _, tt := range []struct {
		name string
		near *doorstep.Worker
		c    Candidate
	}{
		{"shift under way, position at the door", worker("near", offset(job, 2, 0), now.Add(time.Hour), now.Add(10*time.Hour)),
			Candidate{Worker: located}},
		{"a booking at the door early in the shift", worker("near", offset(job, 2, 0), now.Add(3*time.Hour), now.Add(10*time.Hour)),
			Candidate{Worker: booked, Timeline: schedule.TimelineOf([]*doorstep.Booking{atDoor}), Bookings: []*doorstep.Booking{atDoor}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, exhaustive := range []bool{true, false} {
				b := m.NewBeyond(req, now)
				b.exhaustive = exhaustive
				b.Add(&Candidate{Worker: tt.near}, 0)
				b.Add(&tt.c, 1)
				if at, who := b.Earliest(); who != tt.c.Worker.ID {
					t.Errorf("exhaustive %v: earliest %v by %q, want %q", exhaustive, at, who, tt.c.Worker.ID)
				}
			}
		})
	}
}

// TestHomeRuleEdges: a home at the job's door (closer than
// geo.SamePlaceKm) may always beat, as mayBeat has it (the trip takes no
// time); a home exactly as far as the rule's distance may; one a metre
// farther cannot.
func TestHomeRuleEdges(t *testing.T) {
	to := doorstep.Location{Lat: 40.73, Lng: -73.99}
	door := offset(to, 0, geo.SamePlaceKm/2)
	far := offset(to, 3, 4)
	km := geo.DistanceKm(far, to)
	for _, c := range []struct {
		rule HomeRule
		home doorstep.Location
		want bool
	}{
		{HomeRule{to: to, km: 0}, door, false},
		{HomeRule{to: to, km: -1}, door, false},
		{HomeRule{to: to, km: km}, far, false},
		{HomeRule{to: to, km: km - 0.001}, far, true},
		{HomeRule{to: to, km: km, any: true}, offset(to, 50, 0), false},
		{HomeRule{to: to, km: km, none: true}, door, true},
	} {
		if got := c.rule.CannotBeat(c.home); got != c.want {
			t.Errorf("%+v.CannotBeat(%v) = %v, want %v", c.rule, c.home, got, c.want)
		}
	}
}
