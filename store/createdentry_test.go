package store

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// TestReadModelFollowsItsOwnBookings: after this process's own booking
// of a worker (a change that only creates bookings), the next search
// serves the worker from the read model at its new version, without
// reading its profile or timeline again, and gives exactly what a store
// reading Redis gives: the same version, bookings (in order, decoded
// alike) and stops. Over random bookings, some outside the range read,
// some of one start, several in one change, with cancellations between
// (which are read again) and another process's bookings (whose entries
// are stale and read again), with the mirror and without it.
func TestReadModelFollowsItsOwnBookings(t *testing.T) {
	for _, mirrored := range []bool{false, true} {
		t.Run(fmt.Sprintf("mirror=%v", mirrored), func(t *testing.T) {
			st := openStores(t, 3)
			s, other, direct := st[0], st[1], st[2]
			direct.SetReadModel(false)
			ctx := t.Context()
			var (
				workers []*doorstep.Worker
				refs    []WorkerRef
				cells   []geo.Cell
			)
			for i, home := range []doorstep.Location{nycA, nycB, nycC} {
				w := newWorker(fmt.Sprintf("w%d", i), home)
				mustPutWorker(t, s, w)
				workers = append(workers, w)
				refs = append(refs, WorkerRef{ID: w.ID, Region: regionOf(w)})
				cells = append(cells, geo.IndexCell(home))
			}
			if mirrored {
				follow(t, s)
			}
			from, to := t0.Add(-time.Hour), t0.Add(24*time.Hour)
			load := func(st *Store) []Candidate {
				t.Helper()
				var cands []Candidate
				var err error
				if mirrored && st == s {
					steps := s.mirror.served.Load()
					cands, err = s.LoadCells(ctx, new(Seen), cells, from, to, nil)
					if s.mirror.served.Load() == steps {
						t.Fatal("LoadCells was not served by the mirror")
					}
				} else {
					cands, err = st.LoadCandidates(ctx, refs, from, to)
				}
				if err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(cands, func(a, b Candidate) int { return strings.Compare(a.Worker.ID, b.Worker.ID) })
				return cands
			}
			check := func(op int, what string) {
				t.Helper()
				got, want := load(s), load(direct)
				if len(got) != len(want) {
					t.Fatalf("op %d (%s): %d candidates, %d read from Redis", op, what, len(got), len(want))
				}
				for i := range got {
					g, w := got[i], want[i]
					if g.Version != w.Version || !reflect.DeepEqual(g.Bookings, w.Bookings) || !slices.Equal(g.Timeline, w.Timeline) {
						t.Fatalf("op %d (%s): worker %s at version %d with bookings %v; read from Redis: version %d, bookings %v",
							op, what, g.Worker.ID, g.Version, bookingIDs(g.Bookings), w.Version, bookingIDs(w.Bookings))
					}
					if want := schedule.TimelineOf(g.Bookings); !slices.Equal(g.Timeline, want) {
						t.Fatalf("op %d (%s): worker %s's stops are not its bookings'", op, what, g.Worker.ID)
					}
				}
				// Each entry at the worker's version holds exactly the
				// bookings a read of its whole range gives, not only those
				// of this search's range.
				entries := make([]*readEntry, len(refs))
				s.cands.lookup(refs, entries)
				for i, e := range entries {
					if e == nil || e.version != want[i].Version {
						continue
					}
					ids, err := s.rdb.ZRangeByScore(ctx, timelineKey(e.region, refs[i].ID), scoreRange(time.UnixMilli(e.from), time.UnixMilli(e.to))).Result()
					if err != nil {
						t.Fatal(err)
					}
					bs, err := s.loadBookings(ctx, ids)
					if err != nil {
						t.Fatal(err)
					}
					if read := confirmed(bs); !reflect.DeepEqual(e.bookings, read) || !slices.Equal(e.stops, schedule.TimelineOf(read)) {
						t.Fatalf("op %d (%s): worker %s's entry holds %v over its range, Redis %v", op, what, refs[i].ID, bookingIDs(e.bookings), bookingIDs(read))
					}
				}
			}
			check(0, "first read")
			rng := rand.New(rand.NewPCG(3, 5))
			var booked []*doorstep.Booking
			served := 0
			for op := 1; op <= 120; op++ {
				w := workers[rng.IntN(len(workers))]
				var what string
				switch k := rng.IntN(10); {
				case k < 6: // this process books, one or several
					n := 1 + rng.IntN(3)
					var bs []*doorstep.Booking
					for range n {
						// Some before or after the range read, some sharing
						// a start.
						start := t0.Add(time.Duration(rng.IntN(60)-4) * time.Hour)
						if rng.IntN(3) == 0 && len(booked) > 0 {
							start = booked[rng.IntN(len(booked))].Start
						}
						bs = append(bs, newBooking(w, start, 30*time.Minute, w.Home))
					}
					what = fmt.Sprintf("book %s x%d", w.ID, n)
					// Pinned to the version the search read, as dispatch does.
					var v int64
					for _, c := range load(s) {
						if c.Worker.ID == w.ID {
							v = c.Version
						}
					}
					if err := s.Apply(ctx, Change{Region: regionOf(w), Expect: map[string]int64{w.ID: v}, Create: bs}); err != nil {
						t.Fatalf("op %d: Apply: %v", op, err)
					}
					booked = append(booked, bs...)
					if err := s.rdb.ConfigResetStat(ctx).Err(); err != nil {
						t.Fatal(err)
					}
					load(s)
					if n := readCommands(t, s); n == 0 {
						served++
					} else {
						t.Errorf("op %d (%s): the search after this process's own booking read %d profiles or timelines, want none", op, what, n)
					}
				case k < 8 && len(booked) > 0: // this process cancels
					b := booked[rng.IntN(len(booked))]
					what = "cancel " + b.ID
					if _, err := s.CancelBooking(ctx, b.ID, t0); err != nil && doorstep.ErrorCode(err) != doorstep.ECONFLICT {
						t.Fatalf("op %d: CancelBooking: %v", op, err)
					}
				default: // another process books
					b := newBooking(w, t0.Add(time.Duration(rng.IntN(20))*time.Hour), 30*time.Minute, w.Home)
					what = "another process books " + w.ID
					mustBook(t, other, b)
					booked = append(booked, b)
				}
				check(op, what)
			}
			if served == 0 {
				t.Error("no booking of this process was served from the read model")
			}
		})
	}
}

// TestOwnBookingKeepsTheAgeOfWhatWasRead: an entry advanced by this
// process's own booking serves no longer than the bookings it read from
// Redis may be held (ReadModelMaxAge: they may be rewritten elsewhere
// without a version bump); an entry that held none, aged or not, serves
// for a fresh age, as if read now.
func TestOwnBookingKeepsTheAgeOfWhatWasRead(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	held, free := newWorker("held", nycA), newWorker("free", nycB)
	mustPutWorker(t, s, held)
	mustPutWorker(t, s, free)
	mustBook(t, s, newBooking(held, t0.Add(time.Hour), time.Hour, held.Home))
	refs := []WorkerRef{{ID: held.ID, Region: regionOf(held)}, {ID: free.ID, Region: regionOf(free)}}
	read := func() []*readEntry {
		t.Helper()
		if _, err := s.LoadCandidates(ctx, refs, t0.Add(-time.Hour), t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		entries := make([]*readEntry, len(refs))
		s.cands.lookup(refs, entries)
		return entries
	}
	before := read()
	// Both entries aged past their serving time, as if read long ago.
	aged := time.Now().Add(-time.Second)
	for i, e := range before {
		old := *e
		old.until = aged
		s.cands.put(&old, refs[i].ID)
	}
	for _, w := range []*doorstep.Worker{held, free} {
		mustBook(t, s, newBooking(w, t0.Add(2*time.Hour), time.Hour, w.Home))
	}
	after := make([]*readEntry, len(refs))
	s.cands.lookup(refs, after)
	if e := after[0]; e == nil || e.version != before[0].version+1 || !e.until.Equal(aged) {
		t.Errorf("worker %s (a booking read from Redis): entry %+v, want version %d serving until %v", held.ID, e, before[0].version+1, aged)
	}
	if e := after[1]; e == nil || e.version != before[1].version+1 || !e.until.After(time.Now().Add(ReadModelMaxAge/2-time.Second)) {
		t.Errorf("worker %s (no booking read): entry %+v, want version %d serving 15-30 s from now", free.ID, e, before[1].version+1)
	}
}
