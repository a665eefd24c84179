package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
)

func testCandidates(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w1, w2, w3 := newWorker("w1", nycA), newWorker("w2", nycA), newWorker("w3", nycB)
	for _, w := range []*doorstep.Worker{w1, w2, w3} {
		mustPutWorker(t, s, w)
	}
	// w1: bookings at 8:00, 10:00, 12:00 and 18:00, booked out of order;
	// the 10:00 one is cancelled.
	var w1b []*doorstep.Booking
	for _, h := range []int{12, 8, 18, 10} {
		b := newBooking(w1, t0.Add(time.Duration(h-8)*time.Hour), time.Hour, nycC)
		mustBook(t, s, b)
		w1b = append(w1b, b)
	}
	if _, err := s.CancelBooking(ctx, w1b[3].ID, t0); err != nil {
		t.Fatalf("CancelBooking: %v", err)
	}
	w3b := newBooking(w3, t0.Add(time.Hour), time.Hour, nycB)
	mustBook(t, s, w3b)

	cells := []geo.Cell{geo.IndexCell(nycA), geo.IndexCell(nycB), geo.IndexCell(nycC)}
	refs, err := s.WorkerIDsInCells(ctx, cells)
	if err != nil {
		t.Fatalf("WorkerIDsInCells: %v", err)
	}
	r := regionOfLoc(nycA)
	if diff := cmp.Diff(refs, []WorkerRef{{"w1", r}, {"w2", r}, {"w3", r}}); diff != "" {
		t.Fatalf("WorkerIDsInCells (-got +want):\n%s", diff)
	}
	if refs, err := s.WorkerIDsInCells(ctx, nil); err != nil || refs != nil {
		t.Errorf("WorkerIDsInCells(nil) = %v, %v", refs, err)
	}

	// w2 is retired after the index was read; "ghost" never existed; w1 is
	// listed twice.
	if err := s.DeleteWorker(ctx, "w2"); err != nil {
		t.Fatalf("DeleteWorker: %v", err)
	}
	refs = append(refs, WorkerRef{"ghost", r}, WorkerRef{"w1", r})

	tests := []struct {
		name     string
		from, to time.Time
		want     map[string][]string // worker -> booking ids
	}{
		{"whole day", t0, t0.Add(24 * time.Hour), map[string][]string{
			"w1": {w1b[1].ID, w1b[0].ID, w1b[2].ID}, "w3": {w3b.ID}}},
		{"bounds inclusive", t0.Add(4 * time.Hour), t0.Add(10 * time.Hour), map[string][]string{
			"w1": {w1b[0].ID, w1b[2].ID}}},
		{"empty range", t0.Add(-5 * time.Hour), t0.Add(-time.Hour), map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cands, err := s.LoadCandidates(ctx, refs, tt.from, tt.to)
			if err != nil {
				t.Fatalf("LoadCandidates: %v", err)
			}
			var order []string
			got := make(map[string][]string)
			for _, c := range cands {
				order = append(order, c.Worker.ID)
				if ids := bookingIDs(c.Bookings); len(ids) > 0 {
					got[c.Worker.ID] = ids
				}
				if v := mustVersion(t, s, c.Worker.ID); c.Version != v {
					t.Errorf("candidate %s: version %d, want %d", c.Worker.ID, c.Version, v)
				}
			}
			if diff := cmp.Diff(order, []string{"w1", "w3"}); diff != "" {
				t.Errorf("candidates (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(got, tt.want); diff != "" {
				t.Errorf("bookings (-got +want):\n%s", diff)
			}
		})
	}

	// WorkerBookings agrees, and returns whole bookings, Owner included.
	bs, err := s.WorkerBookings(ctx, "w1", t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if diff := cmp.Diff(bs, []*doorstep.Booking{w1b[1], w1b[0], w1b[2]}); diff != "" {
		t.Errorf("WorkerBookings (-got +want):\n%s", diff)
	}
	_, err = s.LoadCandidates(ctx, []WorkerRef{{"w1", "not-a-region"}}, t0, t0)
	if err == nil {
		t.Errorf("LoadCandidates with a bad region succeeded")
	}
}

func testApplyRefusals(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w1, w2 := newWorker("w1", nycA), newWorker("w2", nycA)
	mustPutWorker(t, s, w1)
	mustPutWorker(t, s, w2)
	region := regionOfLoc(nycA)
	booked := newBooking(w1, t0, time.Hour, nycB)
	mustBook(t, s, booked)
	cancelled := newBooking(w1, t0.Add(2*time.Hour), time.Hour, nycB)
	mustBook(t, s, cancelled)
	if _, err := s.CancelBooking(ctx, cancelled.ID, t0); err != nil {
		t.Fatalf("CancelBooking: %v", err)
	}
	v1, v2 := mustVersion(t, s, "w1"), mustVersion(t, s, "w2")
	ghost := newWorker("ghost", nycA)

	moved := *booked
	moved.WorkerID = "w2"
	reused := *booked
	reused.Start = booked.Start.Add(4 * time.Hour)
	reused.End = reused.Start.Add(time.Hour)
	nb := func(w *doorstep.Worker) *doorstep.Booking { return newBooking(w, t0.Add(5*time.Hour), time.Hour, nycB) }
	other := newBooking(newWorker("p", philly), t0, time.Hour, philly)
	other.WorkerID = "w1"

	tests := []struct {
		name string
		ch   Change
		is   error  // errors.Is target, if any
		code string // application error code
	}{
		{"stale version", Change{Region: region, Expect: map[string]int64{"w1": v1 - 1}, Create: []*doorstep.Booking{nb(w1)}}, ErrConflict, doorstep.ECONFLICT},
		{"one of two stale", Change{Region: region, Expect: map[string]int64{"w1": v1, "w2": v2 + 1}, Create: []*doorstep.Booking{nb(w1), nb(w2)}}, ErrConflict, doorstep.ECONFLICT},
		{"update of a missing booking", Change{Region: region, Expect: map[string]int64{"w1": v1}, Update: []*doorstep.Booking{nb(w1)}}, nil, doorstep.ENOTFOUND},
		{"update of a cancelled booking", Change{Region: region, Expect: map[string]int64{"w1": v1}, Update: []*doorstep.Booking{cancelled}}, ErrNotConfirmed, doorstep.ECONFLICT},
		{"old worker not pinned", Change{Region: region, Expect: map[string]int64{"w2": v2}, Update: []*doorstep.Booking{&moved}}, nil, doorstep.EINTERNAL},
		{"worker without profile", Change{Region: region, Expect: map[string]int64{"ghost": 0}, Create: []*doorstep.Booking{nb(ghost)}}, nil, doorstep.ENOTFOUND},
		{"booking id reused for another change", Change{Region: region, Expect: map[string]int64{"w1": v1}, Create: []*doorstep.Booking{&reused}}, nil, doorstep.EINTERNAL},
		{"booking of another region", Change{Region: region, Expect: map[string]int64{"w1": v1}, Create: []*doorstep.Booking{other}}, nil, doorstep.EINTERNAL},
		{"bad region", Change{Region: "{x}", Expect: map[string]int64{"w1": v1}, Create: []*doorstep.Booking{nb(w1)}}, nil, doorstep.EINTERNAL},
		{"worker not pinned", Change{Region: region, Expect: map[string]int64{"w2": v2}, Create: []*doorstep.Booking{nb(w1)}}, nil, doorstep.EINTERNAL},
		{"empty", Change{Region: region, Expect: map[string]int64{"w1": v1}}, nil, doorstep.EINTERNAL},
		{"duplicate booking", func() Change {
			b := nb(w1)
			return Change{Region: region, Expect: map[string]int64{"w1": v1}, Create: []*doorstep.Booking{b, b}}
		}(), nil, doorstep.EINTERNAL},
		{"new booking not confirmed", func() Change {
			b := nb(w1)
			b.Status = doorstep.StatusCancelled
			return Change{Region: region, Expect: map[string]int64{"w1": v1}, Create: []*doorstep.Booking{b}}
		}(), nil, doorstep.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Apply(ctx, tt.ch)
			if err == nil {
				t.Fatalf("Apply succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Apply: error %v, want %v", err, tt.is)
			}
			wantCode(t, "Apply", err, tt.code)
			// Nothing was written.
			if v := mustVersion(t, s, "w1"); v != v1 {
				t.Errorf("w1 version %d after a refusal, want %d", v, v1)
			}
			if v := mustVersion(t, s, "w2"); v != v2 {
				t.Errorf("w2 version %d after a refusal, want %d", v, v2)
			}
			for _, b := range append(tt.ch.Create, tt.ch.Update...) {
				if b == nil || b.ID == booked.ID || b.ID == cancelled.ID {
					continue
				}
				if _, err := s.GetBooking(ctx, b.ID); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
					t.Errorf("booking %s was written (GetBooking: %v)", b.ID, err)
				}
			}
		})
	}
	var ce *ConflictError
	err := s.Apply(ctx, tests[0].ch)
	if !errors.As(err, &ce) {
		t.Fatalf("Apply(stale) = %v, want a *ConflictError", err)
	}
	if diff := cmp.Diff(*ce, ConflictError{WorkerID: "w1", Expected: v1 - 1, Actual: v1}); diff != "" {
		t.Errorf("ConflictError (-got +want):\n%s", diff)
	}
}

func testApplyMove(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w1, w2 := newWorker("w1", nycA), newWorker("w2", nycB)
	mustPutWorker(t, s, w1)
	mustPutWorker(t, s, w2)
	b := newBooking(w1, t0, time.Hour, nycC)
	mustBook(t, s, b)
	v1, v2 := mustVersion(t, s, "w1"), mustVersion(t, s, "w2")

	// An urgent rescue: w1's booking moves to w2 two hours later, and w1
	// takes a new one, in one step.
	moved := *b
	moved.Touch(t0, doorstep.ChangeRescue)
	moved.WorkerID = "w2"
	moved.Start, moved.End = t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	urgent := newBooking(w1, t0, 30*time.Minute, nycA)
	urgent.Urgency = doorstep.Urgent
	ch := Change{Region: regionOfLoc(nycA), Expect: map[string]int64{"w1": v1, "w2": v2}, Create: []*doorstep.Booking{urgent}, Update: []*doorstep.Booking{&moved}}
	if err := s.Apply(ctx, ch); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	day := func(id string) []string {
		bs, err := s.WorkerBookings(ctx, id, t0.Add(-time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatalf("WorkerBookings(%s): %v", id, err)
		}
		return bookingIDs(bs)
	}
	if diff := cmp.Diff(day("w1"), []string{urgent.ID}); diff != "" {
		t.Errorf("w1 timeline (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(day("w2"), []string{b.ID}); diff != "" {
		t.Errorf("w2 timeline (-got +want):\n%s", diff)
	}
	got, err := s.GetBooking(ctx, b.ID)
	if err != nil {
		t.Fatalf("GetBooking: %v", err)
	}
	if diff := cmp.Diff(got, &moved); diff != "" {
		t.Errorf("moved booking (-got +want):\n%s", diff)
	}
	if g1, g2 := mustVersion(t, s, "w1"), mustVersion(t, s, "w2"); g1 != v1+1 || g2 != v2+1 {
		t.Errorf("versions = %d, %d; want %d, %d", g1, g2, v1+1, v2+1)
	}
	// A pinned worker the change does not touch is checked, not bumped.
	w3 := newWorker("w3", nycA)
	v3 := mustPutWorker(t, s, w3)
	v1 = mustVersion(t, s, "w1")
	extra := newBooking(w1, t0.Add(5*time.Hour), time.Hour, nycA)
	if err := s.Apply(ctx, Change{Region: regionOfLoc(nycA), Expect: map[string]int64{"w1": v1, "w3": v3}, Create: []*doorstep.Booking{extra}}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if g := mustVersion(t, s, "w3"); g != v3 {
		t.Errorf("untouched pinned worker version = %d, want %d", g, v3)
	}
}

func testApplyRerun(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w1", nycA)
	v := mustPutWorker(t, s, w)
	b := newBooking(w, t0, time.Hour, nycB)
	ch := Change{Region: regionOfLoc(nycA), Expect: map[string]int64{"w1": v}, Create: []*doorstep.Booking{b}}
	for i := range 2 {
		if err := s.Apply(ctx, ch); err != nil {
			t.Fatalf("Apply #%d: %v", i+1, err)
		}
	}
	bs, err := s.WorkerBookings(ctx, "w1", t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if diff := cmp.Diff(bookingIDs(bs), []string{b.ID}); diff != "" {
		t.Errorf("timeline after a re-run (-got +want):\n%s", diff)
	}
	if got := mustVersion(t, s, "w1"); got != v+1 {
		t.Errorf("version after a re-run = %d, want %d", got, v+1)
	}
	// The same holds for a change without creates (a cancellation).
	c := *b
	c.Touch(t0, doorstep.ChangeCancel)
	c.Status = doorstep.StatusCancelled
	cancel := &Change{Region: ch.Region, Expect: map[string]int64{"w1": v + 1}, Update: []*doorstep.Booking{&c}}
	keys, args, _, err := s.applyArgs(ctx, cancel)
	if err != nil {
		t.Fatalf("script: %v", err)
	}
	for i := range 2 {
		res, err := s.scripts.apply.Run(ctx, s.rdb, keys, args...).StringSlice()
		if err != nil {
			t.Fatalf("run #%d: %v", i+1, err)
		}
		if want := []string{"ok", "applied"}[i]; res[0] != want {
			t.Errorf("run #%d answered %v, want %s", i+1, res, want)
		}
	}
	if got := mustVersion(t, s, "w1"); got != v+2 {
		t.Errorf("version after a re-run cancel = %d, want %d", got, v+2)
	}
}

func testCancel(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w1", nycA)
	mustPutWorker(t, s, w)
	b := newBooking(w, t0, time.Hour, nycB)
	mustBook(t, s, b)
	got, err := s.CancelBooking(ctx, b.ID, t0)
	if err != nil {
		t.Fatalf("CancelBooking: %v", err)
	}
	want := *b
	want.Touch(t0, doorstep.ChangeCancel)
	want.Status = doorstep.StatusCancelled
	if diff := cmp.Diff(got, &want); diff != "" {
		t.Errorf("CancelBooking (-got +want):\n%s", diff)
	}
	if stored, err := s.GetBooking(ctx, b.ID); err != nil || stored.Status != doorstep.StatusCancelled {
		t.Errorf("GetBooking after cancel = %v, %v", stored, err)
	}
	if bs, err := s.WorkerBookings(ctx, "w1", t0, t0.Add(time.Hour)); err != nil || len(bs) != 0 {
		t.Errorf("timeline after cancel = %v, %v; want empty", bs, err)
	}
	_, err = s.CancelBooking(ctx, b.ID, t0)
	if !errors.Is(err, ErrNotConfirmed) {
		t.Errorf("CancelBooking(again) = %v, want ErrNotConfirmed", err)
	}
	wantCode(t, "CancelBooking(again)", err, doorstep.ECONFLICT)
	_, err = s.CancelBooking(ctx, NewBookingID(regionOfLoc(nycA)), t0)
	wantCode(t, "CancelBooking(unknown)", err, doorstep.ENOTFOUND)
	_, err = s.CancelBooking(ctx, "nonsense", t0)
	wantCode(t, "CancelBooking(malformed)", err, doorstep.ENOTFOUND)
	_, err = s.GetBooking(ctx, "nonsense")
	wantCode(t, "GetBooking(malformed)", err, doorstep.ENOTFOUND)
}

// testConcurrentSameSlot releases 200 goroutines at once, all booking the
// same worker and slot at the same version, for 20 rounds: exactly one wins
// each round.
func testConcurrentSameSlot(t *testing.T, open openFunc) {
	const goroutines, rounds = 200, 20
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w1", nycA)
	v := mustPutWorker(t, s, w)
	region := regionOfLoc(nycA)
	for round := range rounds {
		slot := t0.Add(time.Duration(round) * 2 * time.Hour)
		start := make(chan struct{})
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for range goroutines {
			wg.Go(func() {
				b := newBooking(w, slot, time.Hour, nycB)
				<-start
				err := s.Apply(ctx, Change{Region: region, Expect: map[string]int64{"w1": v}, Create: []*doorstep.Booking{b}})
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, ErrConflict) && doorstep.ErrorCode(err) == doorstep.ECONFLICT:
					conflicts.Add(1)
				default:
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: Apply: %v", round, err)
		}
		if wins.Load() != 1 || conflicts.Load() != goroutines-1 {
			t.Fatalf("round %d: %d wins and %d conflicts, want 1 and %d", round, wins.Load(), conflicts.Load(), goroutines-1)
		}
		v++
		if got := mustVersion(t, s, "w1"); got != v {
			t.Fatalf("round %d: version %d, want %d", round, got, v)
		}
	}
	bs, err := s.WorkerBookings(ctx, "w1", t0, t0.Add(rounds*2*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if len(bs) != rounds {
		t.Errorf("timeline holds %d bookings, want %d", len(bs), rounds)
	}
}

// earliestStart is the earliest start at or after from at which a job of
// duration d at loc fits c's timeline, travel included (a simple
// earliest-gap rule, as the matcher's slot search in miniature).
func earliestStart(c Candidate, loc doorstep.Location, d time.Duration, from time.Time, m geo.TravelModel) time.Time {
	prevLoc, prevEnd := c.Worker.Position(), from
	for _, b := range c.Bookings {
		start := prevEnd.Add(m.Travel(prevLoc, loc, prevEnd))
		if start.Before(from) {
			start = from
		}
		end := start.Add(d)
		if !end.Add(m.Travel(loc, b.Location, end)).After(b.Start) {
			return start
		}
		prevLoc, prevEnd = b.Location, b.End
	}
	start := prevEnd.Add(m.Travel(prevLoc, loc, prevEnd))
	if start.Before(from) {
		start = from
	}
	return start
}

// testMixedLoad books 500 jobs over 20 workers from concurrent goroutines
// that each read candidates, pick the earliest free slot honestly, and
// reserve at the version they read, retrying on conflict. Afterwards no
// timeline may overlap once travel is counted.
func testMixedLoad(t *testing.T, open openFunc) {
	const workers, jobs, goroutines = 20, 500, 10
	ctx := context.Background()
	s := open(t).s
	var m geo.Linear
	region := regionOfLoc(nycA)
	rng := rand.New(rand.NewPCG(1, 2))
	jitter := func(r *rand.Rand) doorstep.Location {
		return doorstep.Location{Lat: nycA.Lat + (r.Float64()-0.5)*0.08, Lng: nycA.Lng + (r.Float64()-0.5)*0.1}
	}
	refs := make([]WorkerRef, workers)
	for i := range workers {
		w := newWorker(fmt.Sprintf("w%02d", i), jitter(rng))
		mustPutWorker(t, s, w)
		refs[i] = WorkerRef{ID: w.ID, Region: region}
	}

	var next, conflicts atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 99))
			for next.Add(1) <= jobs {
				loc := jitter(r)
				d := time.Duration(30+5*r.IntN(13)) * time.Minute
				// Each job asks three workers, so goroutines often race for one.
				pick := []WorkerRef{refs[r.IntN(workers)], refs[r.IntN(workers)], refs[r.IntN(workers)]}
				for attempt := 0; ; attempt++ {
					if attempt == 100 {
						errs <- fmt.Errorf("job gave up after %d conflicts", attempt)
						return
					}
					cands, err := s.LoadCandidates(ctx, pick, t0.Add(-doorstep.MaxDuration), t0.Add(1000*time.Hour))
					if err != nil {
						errs <- err
						return
					}
					best, bestStart := -1, time.Time{}
					for i, c := range cands {
						if st := earliestStart(c, loc, d, t0, m); best < 0 || st.Before(bestStart) {
							best, bestStart = i, st
						}
					}
					c := cands[best]
					b := newBooking(c.Worker, bestStart, d, loc)
					err = s.Apply(ctx, Change{Region: region, Expect: map[string]int64{c.Worker.ID: c.Version}, Create: []*doorstep.Booking{b}})
					if errors.Is(err, ErrConflict) {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d jobs booked with %d conflicts retried", jobs, conflicts.Load())

	total := 0
	seen := make(map[string]bool)
	for _, ref := range refs {
		bs, err := s.WorkerBookings(ctx, ref.ID, t0.Add(-24*time.Hour), t0.Add(1000*time.Hour))
		if err != nil {
			t.Fatalf("WorkerBookings(%s): %v", ref.ID, err)
		}
		total += len(bs)
		for i, b := range bs {
			if seen[b.ID] || b.WorkerID != ref.ID {
				t.Errorf("booking %s listed twice or under the wrong worker %s", b, ref.ID)
			}
			seen[b.ID] = true
			if i == 0 {
				continue
			}
			prev := bs[i-1]
			if arrive := prev.End.Add(m.Travel(prev.Location, b.Location, prev.End)); arrive.After(b.Start) {
				t.Errorf("worker %s: %s ends at %s and needs until %s to reach %s, which starts at %s",
					ref.ID, prev.ID, prev.End.Format(time.RFC3339), arrive.Format(time.RFC3339), b.ID, b.Start.Format(time.RFC3339))
			}
		}
	}
	if total != jobs {
		t.Errorf("timelines hold %d bookings, want %d", total, jobs)
	}
}
