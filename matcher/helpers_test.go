package matcher_test

import (
	"math"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
)

// base is the origin of the test grid; at(n, e) is the point n millidegrees
// north and e millidegrees east of it.
var base = doorstep.Location{Lat: 40.7, Lng: -74.0}

func at(n, e float64) doorstep.Location {
	return doorstep.Location{Lat: base.Lat + n/1000, Lng: base.Lng + e/1000}
}

// gridTravel is a travel model with exact, hand-countable times: one minute
// per millidegree of latitude or longitude between the two points
// (Manhattan distance on the test grid), rounded to the minute.
type gridTravel struct{}

var _ geo.TravelModel = gridTravel{}

func (gridTravel) Travel(a, b doorstep.Location, _ time.Time) time.Duration {
	m := math.Abs(a.Lat-b.Lat)*1000 + math.Abs(a.Lng-b.Lng)*1000
	return time.Duration(math.Round(m)) * time.Minute
}

// ReachKm bounds the straight-line distance: a millidegree is at most
// 0.112 km.
func (gridTravel) ReachKm(d time.Duration) float64 { return max(d.Minutes(), 0) * 0.112 }

// day is the test day; clock(h, m) is a time on it.
var day = time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)

func clock(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// shift8to20 is the usual working day.
func shift8to20() []doorstep.Shift {
	return []doorstep.Shift{{Start: clock(8, 0), End: clock(20, 0)}}
}

// newWorker returns a worker rated 5 at home at base, on the 08:00-20:00
// shift, with the given skills.
func newWorker(id string, skills ...string) *doorstep.Worker {
	return &doorstep.Worker{ID: id, Skills: skills, Home: base, Shifts: shift8to20(), Rating: 5}
}

// booking returns a confirmed booking of from..to at loc.
func booking(id string, from, to time.Time, loc doorstep.Location) *doorstep.Booking {
	return &doorstep.Booking{ID: id, Start: from, End: to, Arrival: from, Location: loc, Status: doorstep.StatusConfirmed}
}

// cand makes a candidate of w with the given bookings.
func cand(w *doorstep.Worker, bs ...*doorstep.Booking) matcher.Candidate {
	return matcher.Candidate{Worker: w, Timeline: schedule.TimelineOf(bs)}
}

// mustResolve resolves r against the default catalogue.
func mustResolve(tb testing.TB, r doorstep.Request) *doorstep.Request {
	tb.Helper()
	if err := doorstep.DefaultCatalogue().Resolve(&r); err != nil {
		tb.Fatalf("resolve %q: %v", r.Service, err)
	}
	return &r
}

// mustMatcher returns a matcher for cfg.
func mustMatcher(tb testing.TB, cfg matcher.Config) *matcher.Matcher {
	tb.Helper()
	m, err := matcher.New(cfg)
	if err != nil {
		tb.Fatalf("matcher.New: %v", err)
	}
	return m
}

// ids returns the worker ids of opts, in order.
func ids(opts []matcher.Option) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.WorkerID
	}
	return out
}
