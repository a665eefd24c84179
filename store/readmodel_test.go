package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// readCommands counts the commands that read a worker's profile or
// timeline (GET, ZRANGEBYSCORE) since the statistics were reset.
func readCommands(t *testing.T, s *Store) int {
	t.Helper()
	return storetest.CommandCalls(t, s.rdb, "get") + storetest.CommandCalls(t, s.rdb, "zrangebyscore")
}

// TestReadModelServesUnchangedWorkers: a second search over the same
// unchanged worker reads its version only, not its profile or timeline;
// a search over a wider range than the model read, or after the worker
// changed, reads it again and sees what is there; with the read model off
// every search reads everything.
func TestReadModelServesUnchangedWorkers(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	w := &doorstep.Worker{ID: "w1", Skills: []string{"plumbing"}, Home: doorstep.Location{Lat: 52.52, Lng: 13.405}}
	if _, err := s.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	near, far := newBooking(w, t0.Add(time.Hour), time.Hour, w.Home), newBooking(w, t0.Add(60*time.Hour), time.Hour, w.Home)
	mustBook(t, s, near)
	mustBook(t, s, far)
	refs := []WorkerRef{{ID: "w1", Region: regionOf(w)}}
	load := func(to time.Time) []string {
		t.Helper()
		cands, err := s.LoadCandidates(ctx, refs, t0.Add(-time.Hour), to)
		if err != nil || len(cands) != 1 {
			t.Fatalf("LoadCandidates: %v, %v", cands, err)
		}
		// The stops come with the bookings, as the matcher would make them.
		if got, want := cands[0].Timeline, schedule.TimelineOf(cands[0].Bookings); !slices.Equal(got, want) {
			t.Errorf("timeline %v, want the bookings' %v", got, want)
		}
		return bookingIDs(cands[0].Bookings)
	}
	reset := func() {
		t.Helper()
		if err := s.rdb.ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if got := load(t0.Add(3 * time.Hour)); len(got) != 1 || got[0] != near.ID {
		t.Fatalf("first read: bookings %v, want only %s", got, near.ID)
	}
	reset()
	if got := load(t0.Add(3 * time.Hour)); len(got) != 1 || got[0] != near.ID {
		t.Errorf("second read: bookings %v, want only %s", got, near.ID)
	}
	if n := readCommands(t, s); n != 0 {
		t.Errorf("the second read of an unchanged worker made %d profile or timeline reads, want none (served from the read model)", n)
	}
	// Wider than what the model read (a day past the first range).
	if got := load(t0.Add(61 * time.Hour)); len(got) != 2 {
		t.Errorf("a wider range: bookings %v, want %s and %s", got, near.ID, far.ID)
	}
	// A change bumps the version: read again.
	if _, err := s.CancelBooking(ctx, near.ID, t0); err != nil {
		t.Fatal(err)
	}
	if got := load(t0.Add(3 * time.Hour)); len(got) != 0 {
		t.Errorf("after the cancel: bookings %v, want none", got)
	}
	s.SetReadModel(false)
	reset()
	load(t0.Add(3 * time.Hour))
	if n := readCommands(t, s); n == 0 {
		t.Errorf("read model off: no profile or timeline read")
	}
}

// TestBookingsIn: the bookings of an entry that start in [from, to], both
// ends included, in order, as a capped part of the entry's slice, and
// their stops as schedule.TimelineOf makes them, a capped part too.
func TestBookingsIn(t *testing.T) {
	w := newWorker("w1", nycA)
	var bs []*doorstep.Booking
	for _, h := range []int{1, 2, 2, 4, 7} {
		bs = append(bs, newBooking(w, t0.Add(time.Duration(h)*time.Hour), time.Hour, nycA))
	}
	e := &readEntry{bookings: bs, stops: schedule.TimelineOf(bs)}
	at := func(h int) int64 { return t0.Add(time.Duration(h) * time.Hour).UnixMilli() }
	for _, tt := range []struct {
		from, to int
		want     []int // indexes into bs
	}{
		{0, 10, []int{0, 1, 2, 3, 4}},
		{2, 2, []int{1, 2}},
		{2, 4, []int{1, 2, 3}},
		{3, 3, nil},
		{5, 6, nil},
		{7, 9, []int{4}},
		{-5, 0, nil},
		{8, 9, nil},
	} {
		got, stops := e.bookingsIn(at(tt.from), at(tt.to))
		if want := schedule.TimelineOf(got); !slices.Equal(stops, want) {
			t.Errorf("[%dh, %dh]: stops %v, want %v", tt.from, tt.to, stops, want)
		}
		if len(stops) > 0 && cap(stops) != len(stops) {
			t.Errorf("[%dh, %dh]: stops' capacity %d beyond the length %d", tt.from, tt.to, cap(stops), len(stops))
		}
		var want []*doorstep.Booking
		for _, i := range tt.want {
			want = append(want, bs[i])
		}
		if !slices.Equal(got, want) {
			t.Errorf("[%dh, %dh]: %v, want %v", tt.from, tt.to, bookingIDs(got), bookingIDs(want))
		}
		if len(got) > 0 && cap(got) != len(got) {
			t.Errorf("[%dh, %dh]: capacity %d beyond the length %d: an append would write into the entry", tt.from, tt.to, cap(got), len(got))
		}
	}
}

// TestReadModelEntriesServeApart: the workers one search reads are read
// together, and their entries must not all stop serving together (one
// later search would read them all again): each serves for 15-30 s, and
// a hundred read at once stop over at least ten seconds of that range.
func TestReadModelEntriesServeApart(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	var refs []WorkerRef
	for i := range 100 {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%03d", i), Skills: []string{"plumbing"}, Home: doorstep.Location{Lat: 52.52, Lng: 13.405}}
		if _, err := s.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, WorkerRef{ID: w.ID, Region: regionOf(w)})
	}
	before := time.Now()
	if _, err := s.LoadCandidates(ctx, refs, t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	prev := make([]*readEntry, len(refs))
	s.cands.lookup(refs, prev)
	var first, last time.Time
	for i, e := range prev {
		if e == nil {
			t.Fatalf("worker %s is not in the read model", refs[i].ID)
		}
		if e.until.Before(before.Add(ReadModelMaxAge/2)) || e.until.After(after.Add(ReadModelMaxAge)) {
			t.Errorf("worker %s serves until %v: not 15-30 s after the read (%v-%v)", refs[i].ID, e.until, before, after)
		}
		if first.IsZero() || e.until.Before(first) {
			first = e.until
		}
		if e.until.After(last) {
			last = e.until
		}
	}
	if last.Sub(first) < 10*time.Second {
		t.Errorf("the entries stop serving within %v of each other: a later search reads them all again at once", last.Sub(first))
	}
}

// TestReadModelEntriesWithoutBookingsServeOn: past its age an entry
// holding a booking is read again (the booking may have been rewritten
// elsewhere without a version bump: a redaction, an erasure), and one
// holding none serves on, since a profile never is: of two unchanged
// workers whose entries are both past their age, only the one with a
// booking is read again.
func TestReadModelEntriesWithoutBookingsServeOn(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	var refs []WorkerRef
	for _, id := range []string{"booked", "free"} {
		w := &doorstep.Worker{ID: id, Skills: []string{"plumbing"}, Home: doorstep.Location{Lat: 52.52, Lng: 13.405}}
		if _, err := s.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, WorkerRef{ID: id, Region: regionOf(w)})
		if id == "booked" {
			mustBook(t, s, newBooking(w, t0.Add(time.Hour), time.Hour, w.Home))
		}
	}
	load := func() {
		t.Helper()
		if cands, err := s.LoadCandidates(ctx, refs, t0.Add(-time.Hour), t0.Add(3*time.Hour)); err != nil || len(cands) != 2 {
			t.Fatalf("LoadCandidates: %v, %v", cands, err)
		}
	}
	load()
	entries := make([]*readEntry, len(refs))
	s.cands.lookup(refs, entries)
	for i, e := range entries {
		if e == nil {
			t.Fatalf("worker %s is not in the read model", refs[i].ID)
		}
		e.until = time.Now().Add(-time.Second) // past its age
	}
	if err := s.rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	load()
	if n := readCommands(t, s); n != 2 {
		t.Errorf("%d profile and timeline reads, want 2 (the booked worker's alone)", n)
	}
	again := make([]*readEntry, len(refs))
	s.cands.lookup(refs, again)
	if again[0] == entries[0] || again[1] != entries[1] {
		t.Errorf("entries read again: booked %v, free %v; want the booked worker's only", again[0] != entries[0], again[1] != entries[1])
	}
}
