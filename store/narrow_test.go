package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// A Narrow keeps on the entries' bit sets what it keeps on the workers'
// lists, and counts what it turns away alike: with names past the 64th
// (checked on the lists), with a name no worker read has, and with
// workers read after the request's names were resolved.
func TestNarrowBitsAsLists(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, names := range []int{8, 90} { // 90: past the 64 bits
		t.Run(fmt.Sprintf("names=%d", names), func(t *testing.T) {
			var tr traits
			name := func(prefix string) string { return fmt.Sprintf("%s%d", prefix, rng.IntN(names)) }
			entry := func(i int) *readEntry {
				w := &doorstep.Worker{ID: fmt.Sprintf("w%d", i)}
				for range 1 + rng.IntN(4) {
					w.Skills = append(w.Skills, name("s"))
				}
				for range rng.IntN(3) {
					w.Certificates = append(w.Certificates, name("c"))
				}
				e := &readEntry{w: w}
				tr.of(e)
				return e
			}
			var entries []*readEntry
			for i := range 300 {
				entries = append(entries, entry(i))
			}
			bits := 0
			for range 200 {
				req := &doorstep.Request{Skills: []string{name("s")}}
				if rng.IntN(2) == 0 {
					req.Skills = append(req.Skills, name("s"))
				}
				if rng.IntN(2) == 0 {
					req.Certificates = []string{name("c")}
				}
				if rng.IntN(10) == 0 {
					req.Skills = append(req.Skills, "unheard-of")
				}
				if rng.IntN(3) == 0 {
					req.ExcludedWorkers = []string{entries[rng.IntN(len(entries))].w.ID}
				}
				fast, lists := NewNarrow(req), NewNarrow(req)
				// Some workers are read after the request's names are
				// resolved.
				more := []*readEntry{entry(1000), entry(1001)}
				for _, e := range append(entries, more...) {
					if got, want := fast.keepsEntry(e, &tr), lists.Keeps(e.w); got != want {
						t.Fatalf("worker %s (skills %v, certificates %v), request %v %v excluding %v: kept %v on bits, %v on lists",
							e.w.ID, e.w.Skills, e.w.Certificates, req.Skills, req.Certificates, req.ExcludedWorkers, got, want)
					}
				}
				if fast.Turned != lists.Turned {
					t.Fatalf("turned away %+v on bits, %+v on lists", fast.Turned, lists.Turned)
				}
				if fast.ok {
					bits++
				}
			}
			if names == 8 && bits == 0 {
				t.Error("no request was checked on bits")
			}
		})
	}
}

// TestMirrorTurnsAwayWithoutReadingAgain: a following store's step that
// cannot serve a worker from its read-model entry (here, bookings over a
// range the entry does not hold) reads it again from Redis, unless the
// entry, at the worker's current version, shows a worker the keep turns
// away: its profile is the one a read would give. 30 cleaners and 10
// plumbers, read once; a plumbing step days later reads the 10 plumbers
// again, turns the 30 cleaners away by their entries, and counts them as
// a step that read them all would. A cleaner changed since is read again.
func TestMirrorTurnsAwayWithoutReadingAgain(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	home := doorstep.Location{Lat: 52.52, Lng: 13.405}
	for i := range 40 {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%02d", i), Home: home, Skills: []string{"cleaning"}}
		if i%4 == 0 {
			w.Skills = []string{"plumbing"}
		}
		if _, err := s.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	follow(t, s)
	cells := []geo.Cell{geo.IndexCell(home)}
	all, err := s.LoadCells(ctx, new(Seen), cells, t0, t0.Add(time.Hour), nil)
	if err != nil || len(all) != 40 {
		t.Fatalf("first read: %d workers, %v", len(all), err)
	}
	// A cleaner changes: its entry no longer holds it as it is.
	changed := &doorstep.Worker{ID: "w01", Home: home, Skills: []string{"cleaning"}, Rating: 4}
	if _, err := s.PutWorker(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(5 * 24 * time.Hour)
	narrow := NewNarrow(&doorstep.Request{Skills: []string{"plumbing"}})
	got, err := s.LoadCells(ctx, new(Seen), cells, later, later.Add(time.Hour), narrow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || narrow.Turned.Skills != 30 {
		t.Fatalf("plumbing step: %d workers kept, %d turned away for skills; want 10 and 30", len(got), narrow.Turned.Skills)
	}
	for _, c := range got {
		if c.Worker.Skills[0] != "plumbing" {
			t.Errorf("kept %s (%v)", c.Worker.ID, c.Worker.Skills)
		}
	}
	// A profile and a timeline read for each plumber and the changed
	// cleaner; none for the 29 others.
	if n := readCommands(t, s); n != 2*11 {
		t.Errorf("the step made %d profile or timeline reads, want %d (the 10 plumbers and the changed cleaner)", n, 2*11)
	}
}
