package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// dayCase is a scenario on one worker's day: bookings made first (each at
// its own clock reading), then the request under test at clock now.
type dayCase struct {
	name   string
	worker *doorstep.Worker
	before []timedRequest
	now    time.Time
	req    doorstep.Request
	// wantArrival and wantStart are the expected slot; wantReason, when
	// set, is the rejection the request must fail with instead.
	wantArrival, wantStart time.Time
	wantReason             string
}

type timedRequest struct {
	now time.Time
	req doorstep.Request
}

func runDayCases(t *testing.T, tests []dayCase) {
	t.Helper()
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, tt.now, nil)
			e.put(t, tt.worker)
			for _, b := range tt.before {
				e.clk.Set(b.now)
				e.book(t, b.req)
			}
			e.clk.Set(tt.now)
			got, err := e.svc.Book(t.Context(), tt.req, "")
			if tt.wantReason != "" {
				wantUnservable(t, err, tt.wantReason)
				if n := len(e.timeline(t, tt.worker.ID)); n != len(tt.before) {
					t.Errorf("got %d bookings after a refused request, want %d", n, len(tt.before))
				}
			} else {
				if err != nil {
					t.Fatalf("Book: %v", err)
				}
				b := got.Booking
				if !b.Arrival.Equal(tt.wantArrival) || !b.Start.Equal(tt.wantStart) {
					t.Errorf("got arrival %v start %v, want %v and %v", b.Arrival, b.Start, tt.wantArrival, tt.wantStart)
				}
				if b.WorkerID != tt.worker.ID {
					t.Errorf("got worker %s, want %s", b.WorkerID, tt.worker.ID)
				}
			}
			e.verifyAll(t)
		})
	}
}

func TestBreaks(t *testing.T) {
	withBreak := func() *doorstep.Worker {
		return worker("w", base, []doorstep.Shift{shift(at(8, 0), at(18, 0), at(12, 0), at(13, 0))})
	}
	north5 := offset(base, 5, 0)
	east2 := offset(base, 0, 2)
	tests := []dayCase{
		{
			name:   "a job that fits before the break",
			worker: withBreak(), now: at(10, 0),
			req:         normal(base, mins(120), at(10, 0), at(17, 0)),
			wantArrival: at(10, 0), wantStart: at(10, 0),
		},
		{
			name:   "a job that would run into the break starts after it",
			worker: withBreak(), now: at(11, 0),
			req:         normal(base, mins(90), at(11, 0), at(17, 0)),
			wantArrival: at(13, 0), wantStart: at(13, 0),
		},
		{
			// 11:30 + 20 min of travel + 30 min ends after 12:00; the
			// trip is over by 11:51, before the break: the worker waits
			// at the door and starts as the break ends.
			name:   "a trip over before the break: the job starts as it ends",
			worker: withBreak(), now: at(11, 30),
			req:         normal(north5, mins(30), at(11, 30), at(17, 0)),
			wantArrival: at(13, 0), wantStart: at(13, 0),
		},
		{
			// 11:45 + 20 min of travel ends after 12:00: the trip may not
			// start before the break and end after it.
			name:   "the trip to a job does not cross the break",
			worker: withBreak(), now: at(11, 45),
			req:         normal(north5, mins(30), at(11, 45), at(17, 0)),
			wantArrival: at(13, 0).Add(travel(base, north5, at(13, 0))),
			wantStart:   at(13, 0).Add(travel(base, north5, at(13, 0))),
		},
		{
			// After the break the worker leaves from the last job's place
			// (the trip from 11:45 would end in the break).
			name:        "after a morning job the trip starts at the break's end from that job",
			worker:      withBreak(),
			before:      []timedRequest{{at(10, 0), normal(east2, mins(60), at(10, 45), at(11, 0))}},
			now:         at(11, 30),
			req:         normal(north5, mins(30), at(11, 30), at(17, 0)),
			wantArrival: at(13, 0).Add(travel(east2, north5, at(13, 0))),
			wantStart:   at(13, 0).Add(travel(east2, north5, at(13, 0))),
		},
		{
			// Before the break it would end at 12:20; after it, the worker
			// arrives at 13:20, after the 12:50 deadline.
			name:   "an urgent job the break makes late is refused",
			worker: withBreak(), now: at(11, 50),
			req:        urgent("cleaning", north5, mins(30)),
			wantReason: "busy",
		},
		{
			name:   "a job ending exactly when the break starts",
			worker: withBreak(), now: at(11, 0),
			req:         normal(base, mins(60), at(11, 0), at(17, 0)),
			wantArrival: at(11, 0), wantStart: at(11, 0),
		},
	}
	runDayCases(t, tests)
}

func TestTwoShiftsADay(t *testing.T) {
	split := func() *doorstep.Worker {
		return worker("w", base, []doorstep.Shift{shift(at(8, 0), at(12, 0)), shift(at(14, 0), at(18, 0))})
	}
	north5 := offset(base, 5, 0)
	tests := []dayCase{
		{
			name:   "a job that fits in the morning shift",
			worker: split(), now: at(11, 0),
			req:         normal(north5, mins(30), at(11, 0), at(17, 0)),
			wantArrival: at(11, 0).Add(travel(base, north5, at(11, 0))),
			wantStart:   at(11, 0).Add(travel(base, north5, at(11, 0))),
		},
		{
			name:   "a job too long for the morning goes to the afternoon shift",
			worker: split(), now: at(11, 0),
			req:         normal(base, mins(120), at(11, 0), at(17, 0)),
			wantArrival: at(14, 0), wantStart: at(14, 0),
		},
		{
			// The afternoon shift starts from home, not from the morning.
			name:   "the afternoon shift starts from home",
			worker: split(), now: at(11, 30),
			req:         normal(north5, mins(30), at(11, 30), at(17, 0)),
			wantArrival: at(14, 0).Add(travel(base, north5, at(14, 0))),
			wantStart:   at(14, 0).Add(travel(base, north5, at(14, 0))),
		},
		{
			name:   "an urgent request in the gap is served when the next shift starts",
			worker: split(), now: at(13, 30),
			req:         urgent("cleaning", base, mins(60)),
			wantArrival: at(14, 0), wantStart: at(14, 0),
		},
		{
			name:   "an urgent request the next shift starts too late for",
			worker: split(), now: at(12, 30),
			req:        urgent("cleaning", base, mins(60)),
			wantReason: "shift",
		},
	}
	runDayCases(t, tests)
}

func TestDailyCaps(t *testing.T) {
	// A split day: the morning's jobs do not stand in the afternoon's way,
	// so only a cap can refuse an afternoon job.
	capped := func(jobs, minutes int) *doorstep.Worker {
		w := worker("w", base, []doorstep.Shift{shift(at(7, 0), at(12, 0)), shift(at(13, 0), at(18, 0))})
		w.MaxJobsPerDay, w.MaxWorkMinutesPerDay = jobs, minutes
		return w
	}
	morning := []timedRequest{
		{at(7, 0), normal(base, mins(60), at(8, 0), at(8, 30))},
		{at(7, 0), normal(base, mins(90), at(10, 0), at(10, 30))},
	}
	afternoon := normal(base, mins(60), at(13, 0), at(17, 0))
	// One long shift: the day's first jobs lie more than 12 hours before
	// the evening request, yet the cap counts them.
	long := func(jobs int) *doorstep.Worker {
		w := worker("w", base, []doorstep.Shift{shift(at(6, 0), at(22, 0))})
		w.MaxJobsPerDay = jobs
		return w
	}
	early := []timedRequest{
		{at(6, 0), normal(base, mins(60), at(6, 0), at(6, 30))},
		{at(6, 0), normal(base, mins(60), at(7, 0), at(7, 30))},
	}
	tests := []dayCase{
		{name: "under the job cap", worker: capped(3, 0), before: morning, now: at(9, 0), req: afternoon,
			wantArrival: at(13, 0), wantStart: at(13, 0)},
		{name: "at the job cap", worker: capped(2, 0), before: morning, now: at(9, 0), req: afternoon,
			wantReason: "cap"},
		{name: "the minute cap reached exactly", worker: capped(0, 210), before: morning, now: at(9, 0), req: afternoon,
			wantArrival: at(13, 0), wantStart: at(13, 0)},
		{name: "the minute cap a minute short", worker: capped(0, 209), before: morning, now: at(9, 0), req: afternoon,
			wantReason: "cap"},
		{name: "the job cap counts the day's jobs of more than 12 hours ago", worker: long(2), before: early, now: at(19, 30),
			req: normal(base, mins(60), at(19, 30), at(21, 0)), wantReason: "cap"},
		{name: "under the job cap late in a long day", worker: long(3), before: early, now: at(19, 30),
			req: normal(base, mins(60), at(19, 30), at(21, 0)), wantArrival: at(19, 30), wantStart: at(19, 30)},
	}
	runDayCases(t, tests)
}

// TestDailyCapsNewYork: a worker whose shifts are stamped in New York time
// has its caps counted per New York day, not per UTC day.
func TestDailyCapsNewYork(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	nyAt := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, ny) }
	home := doorstep.Location{Lat: 40.7128, Lng: -74.0060}
	w := worker("ny", home, []doorstep.Shift{
		shift(nyAt(22, 17, 0), nyAt(22, 22, 0)),
		shift(nyAt(23, 7, 0), nyAt(23, 12, 0)),
		shift(nyAt(23, 17, 0), nyAt(23, 22, 0)),
	})
	w.MaxJobsPerDay = 1
	e := newEnv(t, nyAt(22, 19, 0), nil)
	e.put(t, w)

	// 20:00-21:00 on the 22nd in New York is 01:00-02:00 UTC on the 23rd.
	last := e.book(t, normal(home, mins(60), nyAt(22, 20, 0), nyAt(22, 20, 30))).Booking
	if want := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC); !last.Start.Equal(want) {
		t.Fatalf("got last night's start %v, want %v", last.Start, want)
	}

	// The next morning is another New York day, though the same UTC day.
	e.clk.Set(nyAt(23, 6, 0))
	morning, err := e.svc.Book(t.Context(), normal(home, mins(60), nyAt(23, 10, 0), nyAt(23, 11, 0)), "")
	if err != nil {
		t.Fatalf("morning booking on a new New York day: %v", err)
	}
	if !morning.Booking.Start.Equal(nyAt(23, 10, 0)) {
		t.Errorf("got morning start %v, want %v", morning.Booking.Start, nyAt(23, 10, 0))
	}
	// 19:30 in New York is 00:30 UTC on the 24th: another UTC day, but the
	// same New York day as the morning's job, whose cap of 1 is reached.
	_, err = e.svc.Book(t.Context(), normal(home, mins(30), nyAt(23, 19, 30), nyAt(23, 20, 30)), "")
	wantUnservable(t, err, "cap")
	e.verifyAll(t)
}
