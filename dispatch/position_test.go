package dispatch_test

import (
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
)

// TestLocateMovesBetweenCells: a position report adds the worker to the
// reported cell of the position index and keeps it in its home cell (the
// planner starts a shift from home when the report is stale), so that the
// candidate search finds it wherever the planner may start it.
func TestLocateMovesBetweenCells(t *testing.T) {
	e := newEnv(t, at(9, 0), nil)
	e.put(t, worker("w", base, dayShift()))
	there := offset(base, 0, 10)
	if geo.IndexCell(there) == geo.IndexCell(base) {
		t.Fatal("fixture: the two places share a cell")
	}
	in := func(loc doorstep.Location) bool {
		refs, err := e.st.WorkerIDsInCells(t.Context(), []geo.Cell{geo.IndexCell(loc)})
		if err != nil {
			t.Fatalf("WorkerIDsInCells: %v", err)
		}
		return slices.ContainsFunc(refs, func(r store.WorkerRef) bool { return r.ID == "w" })
	}
	if !in(base) || in(there) {
		t.Fatalf("before Locate: in home cell %v, in the other %v; want true, false", in(base), in(there))
	}
	if err := e.svc.Locate(t.Context(), "w", there, time.Time{}); err != nil {
		t.Fatalf("Locate: %v", err)
	}
	if !in(base) || !in(there) {
		t.Errorf("after Locate: in home cell %v, in the reported one %v; want true, true", in(base), in(there))
	}
	w, err := e.svc.Worker(t.Context(), "w")
	if err != nil {
		t.Fatalf("Worker: %v", err)
	}
	if w.Location == nil || *w.Location != there || !w.LocatedAt.Equal(at(9, 0)) {
		t.Errorf("got location %v at %v, want %v at %v", w.Location, w.LocatedAt, there, at(9, 0))
	}
	// A report older than the last one is ignored.
	if err := e.svc.Locate(t.Context(), "w", base, at(8, 30)); err != nil {
		t.Fatalf("Locate (stale): %v", err)
	}
	if w, err := e.svc.Worker(t.Context(), "w"); err != nil || w.Location == nil || *w.Location != there {
		t.Errorf("a stale report moved the worker: %v, %v", w, err)
	}
	if !in(base) || !in(there) {
		t.Errorf("a stale report changed the index: in home cell %v, in the reported one %v", in(base), in(there))
	}
	if err := e.svc.Locate(t.Context(), "w", base, at(10, 0)); doorstep.ErrorCode(err) != doorstep.EINVALID {
		t.Errorf("a report from the future: got %v, want %s", err, doorstep.EINVALID)
	}
}

// TestUrgentETAFromPosition: an urgent request's arrival is computed from
// where the worker is: its last reported position when idle, the place of
// the job it is on (at that job's end) when busy.
func TestUrgentETAFromPosition(t *testing.T) {
	jobAt := offset(base, 0, 5)
	near := offset(jobAt, 3, 0)
	reported := offset(base, 6, 0)
	type locate struct {
		at  time.Time
		loc doorstep.Location
	}
	tests := []struct {
		name    string
		home    doorstep.Location
		job     bool // a job at jobAt 10:00-11:00, booked at 09:00
		locates []locate
		now     time.Time
		req     doorstep.Location
		// wantArrival is zero when the request must be refused.
		wantArrival time.Time
	}{
		{
			name: "idle, no report: from home",
			home: base, now: at(10, 30), req: near,
			wantArrival: at(10, 30).Add(travel(base, near, at(10, 30))),
		},
		{
			name: "idle: from the reported position",
			home: base, locates: []locate{{at(10, 0), reported}}, now: at(10, 30), req: offset(reported, 1, 0),
			wantArrival: at(10, 30).Add(travel(reported, offset(reported, 1, 0), at(10, 30))),
		},
		{
			// Home is 40 km away, beyond an hour's reach: only the report
			// brings the worker into the search.
			name: "far from home, near by its report",
			home: offset(base, -40, 0), locates: []locate{{at(10, 0), reported}}, now: at(10, 30), req: offset(reported, 1, 0),
			wantArrival: at(10, 30).Add(travel(reported, offset(reported, 1, 0), at(10, 30))),
		},
		{
			name: "far from home, no report",
			home: offset(base, -40, 0), now: at(10, 30), req: offset(reported, 1, 0),
		},
		{
			name: "on a job: from the job's place at its end",
			home: base, job: true, now: at(10, 30), req: near,
			wantArrival: at(11, 0).Add(travel(jobAt, near, at(11, 0))),
		},
		{
			// A report sent during the job does not move the worker off
			// the job: it leaves from the job's place at the job's end.
			name: "on a job, reported during it",
			home: base, job: true, locates: []locate{{at(10, 20), reported}}, now: at(10, 30), req: near,
			wantArrival: at(11, 0).Add(travel(jobAt, near, at(11, 0))),
		},
		{
			// The worker walked 1 km north after the job (a report the
			// travel model finds plausible, so the day still verifies).
			name: "after a job: a later report wins over the job's place",
			home: base, job: true, locates: []locate{{at(11, 10), offset(jobAt, 1, 0)}}, now: at(11, 15), req: offset(jobAt, 2, 0),
			wantArrival: at(11, 15).Add(travel(offset(jobAt, 1, 0), offset(jobAt, 2, 0), at(11, 15))),
		},
		{
			name: "after a job, no report: from the job's place",
			home: base, job: true, now: at(11, 15), req: near,
			wantArrival: at(11, 15).Add(travel(jobAt, near, at(11, 15))),
		},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, at(9, 0), nil)
			e.put(t, worker("w", tt.home, dayShift()))
			if tt.job {
				b := e.book(t, normal(jobAt, mins(60), at(10, 0), at(10, 0).Add(time.Minute))).Booking
				if !b.Start.Equal(at(10, 0)) || !b.End.Equal(at(11, 0)) {
					t.Fatalf("fixture job at %v..%v, want 10:00..11:00", b.Start, b.End)
				}
			}
			for _, l := range tt.locates {
				e.clk.Set(l.at)
				if err := e.svc.Locate(t.Context(), "w", l.loc, l.at); err != nil {
					t.Fatalf("Locate: %v", err)
				}
			}
			e.clk.Set(tt.now)
			got, err := e.svc.Book(t.Context(), urgent("cleaning", tt.req, mins(30)), "")
			if tt.wantArrival.IsZero() {
				wantUnservable(t, err, "")
				return
			}
			if err != nil {
				t.Fatalf("Book: %v", err)
			}
			if !got.Booking.Arrival.Equal(tt.wantArrival) {
				t.Errorf("got arrival %v, want %v", got.Booking.Arrival, tt.wantArrival)
			}
			if got.Booking.Arrival.After(tt.now.Add(time.Hour)) {
				t.Errorf("arrival %v breaks the hour", got.Booking.Arrival)
			}
			e.verifyAll(t)
		})
	}
}
