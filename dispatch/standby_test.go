package dispatch_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// TestStandby: a plumber idle at home at 10:00 and four urgent plumbing
// calls of the last hour 4 km north, through Redis. With an urgent profile
// of 2 calls an hour per plumber on duty (one is), each call weighs 0.5:
// sending the plumber north (to the calls' privacy cell) saves 4 x 0.5 x
// the trip of about 4 km (17 min 29 s),
// far over the bar of 2 minutes per km. Without a profile the calls' own
// rate (4 in 24 hours) is too little to drive 4 km for. A plumber booked
// later in the shift is counted as busy and not moved. A call older than
// the window is not weighed, a cleaner is not a worker of an urgent trade,
// and a booked urgent request is recorded with its place.
func TestStandby(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, at(10, 0), nil)
	e.put(t, worker("p1", base, []doorstep.Shift{shift(at(8, 0), at(20, 0))}, "plumbing"),
		worker("c1", base, []doorstep.Shift{shift(at(8, 0), at(20, 0))}, "cleaning"))
	north := offset(base, 4, 0)
	kept := geo.CellOf(north, doorstep.PrivacyResolution).Center() // where the calls are kept
	region := geo.RegionOf(base).String()
	for i := range 4 {
		if err := e.st.RecordUrgent(ctx, region, store.UrgentCall{At: at(9, 10*i), Location: north, Skills: []string{"plumbing"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.RecordUrgent(ctx, region, store.UrgentCall{At: at(9, 0).Add(-25 * time.Hour), Location: north, Skills: []string{"plumbing"}}); err != nil {
		t.Fatal(err)
	}

	plan, err := e.svc.Standby(ctx, base, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Moves) != 0 || plan.Calls != 4 || plan.Idle != 1 || math.Abs(plan.Expected["plumbing"]-4.0/24) > 1e-12 {
		t.Errorf("without a profile: %+v; want no move, 4 calls, 1 idle, 1/6 call expected", plan)
	}

	var rate [24]float64
	rate[10] = 2
	if err := e.svc.Matcher().SetUrgentProfile(&matcher.UrgentProfile{Rate: map[string][24]float64{"plumbing": rate}}); err != nil {
		t.Fatal(err)
	}
	plan, err = e.svc.Standby(ctx, base, 10)
	if err != nil {
		t.Fatal(err)
	}
	gain := 2 * travel(base, kept, at(10, 0)).Minutes()
	if len(plan.Moves) != 1 || plan.Expected["plumbing"] != 2 || plan.Busy != 0 {
		t.Fatalf("with a profile: %+v; want one move", plan)
	}
	mv := plan.Moves[0]
	if mv.WorkerID != "p1" || mv.From != base || mv.To != kept || math.Abs(mv.GainMinutes-gain) > 1e-9 || math.Abs(mv.Km-geo.DistanceKm(base, kept)) > 1e-9 {
		t.Errorf("move %+v; want p1 from home to the calls, 4 km, gain %v", mv, gain)
	}

	// Booked later in the shift: busy, covers from its last stop.
	e.book(t, doorstep.Request{Service: "plumbing", Location: base, Urgency: doorstep.Normal, Duration: time.Hour,
		Window: &doorstep.Window{Start: at(14, 0), End: at(15, 0)}})
	plan, err = e.svc.Standby(ctx, base, 10)
	if err != nil || len(plan.Moves) != 0 || plan.Idle != 0 || plan.Busy != 1 {
		t.Errorf("booked at 14:00: %+v, %v; want no move, one busy", plan, err)
	}

	// A booked urgent request is recorded with its place.
	if _, err := e.svc.Book(ctx, urgent("plumbing", north, time.Hour), tenant); err != nil {
		t.Fatal(err)
	}
	recent, err := e.st.RecentUrgent(ctx, region, at(9, 45))
	if err != nil || len(recent) != 1 || recent[0].Location != kept || !recent[0].At.Equal(at(10, 0)) {
		t.Errorf("recent urgent after a booking: %+v, %v", recent, err)
	}

	for _, bad := range []struct {
		at     doorstep.Location
		radius float64
		field  string
	}{{doorstep.Location{Lat: 91}, 10, "at.lat"}, {base, 0, "radius_km"}, {base, 31, "radius_km"}, {base, math.NaN(), "radius_km"}} {
		_, err := e.svc.Standby(ctx, bad.at, bad.radius)
		var de *doorstep.Error
		if !errors.As(err, &de) || de.Code != doorstep.EINVALID || de.Field != bad.field {
			t.Errorf("Standby(%v, %v) = %v; want invalid %s", bad.at, bad.radius, err, bad.field)
		}
	}
}
