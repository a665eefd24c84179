package schedule_test

import (
	"math"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeTravel takes Minutes per km of great-circle distance, rounded to the
// nearest Round (a minute when zero), at any hour: expected times are exact.
type fakeTravel struct {
	Minutes float64
	Round   time.Duration
}

var _ geo.TravelModel = fakeTravel{}

func (f fakeTravel) Travel(a, b doorstep.Location, _ time.Time) time.Duration {
	round := f.Round
	if round == 0 {
		round = time.Minute
	}
	d := time.Duration(geo.DistanceKm(a, b) * f.Minutes * float64(time.Minute))
	return d.Round(round)
}

func (f fakeTravel) ReachKm(d time.Duration) float64 {
	return (d.Minutes() + 1) / f.Minutes
}

// minuteAKm is the fake model of the tests: a km takes a minute.
var minuteAKm = fakeTravel{Minutes: 1}

// degreeKm is the length of a degree of arc in geo's model of the Earth.
const degreeKm = geo.EarthRadiusKm * math.Pi / 180

// at is the place x km east of the origin along the equator: the distance
// between at(x) and at(y) is |x-y| km, which the fake model turns into as
// many minutes.
func at(x float64) doorstep.Location { return doorstep.Location{Lng: x / degreeKm} }

// pt is the place x km east and y km north of the origin (near the equator,
// so distances are nearly planar).
func pt(x, y float64) doorstep.Location {
	return doorstep.Location{Lat: y / degreeKm, Lng: x / degreeKm}
}

// day1 and day2 are the test's working days.
var (
	day1 = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

// clock is h:m on day1, UTC.
func clock(h, m int) time.Time {
	return day1.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// clock2 is h:m on day2, UTC.
func clock2(h, m int) time.Time {
	return day2.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func mins(n int) time.Duration { return time.Duration(n) * time.Minute }

func shift(from, to time.Time, breaks ...doorstep.Break) doorstep.Shift {
	return doorstep.Shift{Start: from, End: to, Breaks: breaks}
}

// window is the fixed break [from, to).
func window(from, to time.Time) doorstep.Break { return doorstep.FixedBreak(from, to) }

// flexible is a break of n minutes anywhere in [from, to].
func flexible(from, to time.Time, n int) doorstep.Break {
	return doorstep.FlexibleBreak(from, to, mins(n))
}

// dayShift is the usual 08:00-18:00 shift of day1.
func dayShift(breaks ...doorstep.Break) doorstep.Shift {
	return shift(clock(8, 0), clock(18, 0), breaks...)
}

// worker lives at at(0) and works the given shifts.
func worker(shifts ...doorstep.Shift) *doorstep.Worker {
	return &doorstep.Worker{ID: "w1", Skills: []string{"plumbing"}, Home: at(0), Shifts: shifts}
}

func stop(id string, from, to time.Time, loc doorstep.Location) schedule.Stop {
	return schedule.Stop{BookingID: id, Arrival: from, Start: from, End: to, Location: loc}
}

// urgentJob is the job of an urgent request made at requestedAt, seen at now.
func urgentJob(loc doorstep.Location, d time.Duration, requestedAt, now time.Time) schedule.Job {
	return schedule.JobFor(&doorstep.Request{Location: loc, Urgency: doorstep.Urgent, Duration: d, RequestedAt: requestedAt}, now)
}

// normalJob is the job of a normal request made at now, with an optional
// window.
func normalJob(loc doorstep.Location, d time.Duration, now time.Time, w *doorstep.Window) schedule.Job {
	return schedule.JobFor(&doorstep.Request{Location: loc, Urgency: doorstep.Normal, Duration: d, RequestedAt: now, Window: w}, now)
}

// slotOpts compares slots, allowing for rounding in DistanceKm.
var slotOpts = cmp.Options{cmpopts.EquateApprox(0, 1e-6)}
