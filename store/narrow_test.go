package store

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
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

// followedTrades opens a store on a private Redis, puts putTrades' city
// at one place (edit as there), follows its changes, and returns the
// store, the place and its cell.
func followedTrades(t *testing.T, edit func(i int, w *doorstep.Worker)) (*Store, doorstep.Location, []geo.Cell) {
	t.Helper()
	h := openRedis(t)
	home := doorstep.Location{Lat: 52.52, Lng: 13.405}
	putTrades(t, h.s, home, edit)
	follow(t, h.s)
	return h.s, home, []geo.Cell{geo.IndexCell(home)}
}

// putTrades puts 40 workers at home, w00-w39: cleaners, every fourth
// (w00, w04, ...) a plumber, each changed by edit (nil: none) first.
func putTrades(t *testing.T, s *Store, home doorstep.Location, edit func(i int, w *doorstep.Worker)) {
	t.Helper()
	for i := range 40 {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%02d", i), Home: home, Skills: []string{"cleaning"}}
		if i%4 == 0 {
			w.Skills = []string{"plumbing"}
		}
		if edit != nil {
			edit(i, w)
		}
		if _, err := s.PutWorker(t.Context(), w); err != nil {
			t.Fatal(err)
		}
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
	s, home, cells := followedTrades(t, nil)
	ctx := t.Context()
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

// The mirror's lists turn away the workers a step does not keep from the
// traits they copied from the workers' entries, without their records —
// but only while those entries are at the workers' current versions: a
// worker that changed is read again.
func TestMirrorListsTurnAwayFromTheirStamps(t *testing.T) {
	t.Parallel()
	s, home, cells := followedTrades(t, func(i int, w *doorstep.Worker) {
		if i%8 == 1 {
			w.Skills, w.Certificates = []string{"plumbing"}, []string{"gas"}
		}
	})
	ctx := t.Context()
	if all, err := s.LoadCells(ctx, new(Seen), cells, t0, t0.Add(time.Hour), nil); err != nil || len(all) != 40 {
		t.Fatalf("first read: %d workers, %v", len(all), err)
	}
	// A cleaner learns plumbing: its stamp is of an older version.
	changed := &doorstep.Worker{ID: "w02", Home: home, Skills: []string{"cleaning", "plumbing"}}
	if _, err := s.PutWorker(ctx, changed); err != nil {
		t.Fatal(err)
	}
	step := func(req *doorstep.Request) (kept []string, n *Narrow, fromLists int64) {
		t.Helper()
		before := s.mirror.listTurned.Load()
		n = NewNarrow(req)
		got, err := s.LoadCells(ctx, new(Seen), cells, t0, t0.Add(time.Hour), n)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			kept = append(kept, c.Worker.ID)
		}
		return kept, n, s.mirror.listTurned.Load() - before
	}
	// 15 plumbers (5 with the gas certificate), w02 and 24 cleaners.
	kept, n, fromLists := step(&doorstep.Request{Skills: []string{"plumbing"}})
	if len(kept) != 16 || !slices.Contains(kept, "w02") || n.Turned.Skills != 24 || fromLists != 24 {
		t.Errorf("plumbing: kept %v, %d turned away for skills (%d by the lists); want the 15 plumbers and w02, 24 (24)", kept, n.Turned.Skills, fromLists)
	}
	// w02 was read again, and its stamp is of its version now.
	kept, n, fromLists = step(&doorstep.Request{Skills: []string{"plumbing"}, Certificates: []string{"gas"}})
	if len(kept) != 5 || n.Turned.Skills != 24 || n.Turned.Certificates != 11 || fromLists != 35 {
		t.Errorf("plumbing with gas: kept %v, turned away %+v (%d by the lists); want 5, skills 24 and certificates 11 (35)", kept, n.Turned, fromLists)
	}
	// A request that excludes workers is told on their records, and
	// counts them first.
	kept, n, fromLists = step(&doorstep.Request{Skills: []string{"plumbing"}, ExcludedWorkers: []string{"w03", "w04"}})
	if len(kept) != 15 || n.Turned.Excluded != 2 || n.Turned.Skills != 23 || fromLists != 0 {
		t.Errorf("with exclusions: kept %v, turned away %+v (%d by the lists); want 15, excluded 2 and skills 23 (0)", kept, n.Turned, fromLists)
	}
}

// A worker listed in two cells (its home and its reported position) is
// turned away once by a step that reads both, and by no later step of the
// same search: the lists record it in the step's Seen as they turn it
// away, whichever way the Seen tells workers (by the mirror's slots, or by
// id after a renumbering).
func TestMirrorListsTurnAwayEachWorkerOnce(t *testing.T) {
	t.Parallel()
	s, home, cells := followedTrades(t, nil)
	ctx := t.Context()
	away := doorstep.Location{Lat: home.Lat + 0.03, Lng: home.Lng} // 3 km north
	if geo.IndexCell(away) == cells[0] {
		t.Fatal("the reported position is in the home cell")
	}
	for i := 1; i < 40; i += 4 { // w01, w05, ..., w37: ten cleaners
		if err := s.SetLocation(ctx, fmt.Sprintf("w%02d", i), away, t0); err != nil {
			t.Fatal(err)
		}
	}
	both := []geo.Cell{cells[0], geo.IndexCell(away)}
	// Read once: every listing stamped at its worker's version.
	if all, err := s.LoadCells(ctx, new(Seen), both, t0, t0.Add(time.Hour), nil); err != nil || len(all) != 40 {
		t.Fatalf("first read: %d workers, %v", len(all), err)
	}
	for _, tc := range []struct {
		name string
		seen *Seen
	}{{"by slot", new(Seen)}, {"by id", NewSeenByID()}} {
		step := func(cells []geo.Cell) (kept int, turned int, fromLists int64) {
			t.Helper()
			before := s.mirror.listTurned.Load()
			n := NewNarrow(&doorstep.Request{Skills: []string{"plumbing"}})
			got, err := s.LoadCells(ctx, tc.seen, cells, t0, t0.Add(time.Hour), n)
			if err != nil {
				t.Fatal(err)
			}
			return len(got), n.Turned.Skills, s.mirror.listTurned.Load() - before
		}
		if kept, turned, fromLists := step(both); kept != 10 || turned != 30 || fromLists != 30 {
			t.Errorf("%s: both cells: kept %d, %d turned away (%d by the lists); want 10 plumbers and the 30 cleaners once (30)", tc.name, kept, turned, fromLists)
		}
		for _, cells := range [][]geo.Cell{both, both[1:]} {
			if kept, turned, _ := step(cells); kept != 0 || turned != 0 {
				t.Errorf("%s: a later step over %d cells kept %d and turned away %d; want nobody new", tc.name, len(cells), kept, turned)
			}
		}
	}
}

// A stamp read for a worker's record is not set on the listing of a
// worker put again under the same id since (deleted and registered
// anew: its versions may start over).
func TestMirrorStampsOnlyTheRecordItRead(t *testing.T) {
	t.Parallel()
	s, home, cells := followedTrades(t, nil)
	ctx := t.Context()
	if _, err := s.LoadCells(ctx, new(Seen), cells, t0, t0.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	record := func() *mirrored {
		s.mirror.mu.RLock()
		defer s.mirror.mu.RUnlock()
		for ref, rec := range s.mirror.workers {
			if ref.ID == "w01" {
				return rec
			}
		}
		return nil
	}
	old := record()
	e := old.entry.Load()
	if e == nil || !e.traits {
		t.Fatalf("w01's entry after a read: %+v", e)
	}
	if err := s.DeleteWorker(ctx, "w01"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutWorker(ctx, &doorstep.Worker{ID: "w01", Home: home, Skills: []string{"plumbing"}}); err != nil {
		t.Fatal(err)
	}
	// A search syncs the mirror: w01 is a new record now.
	if _, err := s.LoadCells(ctx, new(Seen), cells, t0, t0.Add(time.Hour), NewNarrow(&doorstep.Request{Skills: []string{"roofing"}})); err != nil {
		t.Fatal(err)
	}
	renewed := record()
	if renewed == nil || renewed == old {
		t.Fatal("w01 was not put again as a new record")
	}
	stamped := func() (version uint64) {
		s.mirror.mu.RLock()
		defer s.mirror.mu.RUnlock()
		s.mirror.listings(renewed, func(l *listed) { version = l.stamp.version })
		return version
	}
	before := stamped()
	// As if the first read's search stamped only now: its cleaner's
	// traits must not land on the plumber.
	s.mirror.stamp([]*mirrored{old}, []*readEntry{e})
	if after := stamped(); after != before {
		t.Errorf("the new w01's stamp went from version %d to %d: the old record's entry was stamped on it", before, after)
	}
}

// The lists are read (WorkerIDsInCells) while a search stamps them:
// readers under the mirror's read lock read listings in place, never a
// copy of a stamp a writer is changing (the race detector's to tell).
func TestMirrorListsReadWhileStamped(t *testing.T) {
	t.Parallel()
	s, _, cells := followedTrades(t, nil)
	ctx := t.Context()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		untilClosed(t, done, func() error {
			_, err := s.WorkerIDsInCells(ctx, cells)
			return err
		})
	})
	for i := range 100 {
		// Each range is new to the entries: every worker is read
		// again, and stamped.
		from := t0.Add(time.Duration(i) * 24 * time.Hour)
		if _, err := s.LoadCells(ctx, new(Seen), cells, from, from.Add(time.Hour), nil); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
}

// The mirror's lists drop the workers a step's Drop would drop from what
// they copied of the workers' entries (their shifts' class, home, and
// whether they hold a booking), without reading them, and ask Drop of
// them exactly as of a worker read: with the starts and ends of its
// shifts, its home, and no stops. A worker whose entry holds a booking in
// the step's range, or does not hold the whole range, is read.
func TestMirrorListsDropFromTheirStamps(t *testing.T) {
	t.Parallel()
	early := []doorstep.Shift{{Start: t0.Add(-time.Hour), End: t0.Add(11 * time.Hour)}}
	// As early, but ending later: another class, though it starts alike.
	late := []doorstep.Shift{{Start: t0.Add(-time.Hour), End: t0.Add(13 * time.Hour)}}
	s, home, cells := followedTrades(t, func(i int, w *doorstep.Worker) {
		w.Shifts = early
		if i == 8 || i == 12 {
			w.Shifts = late
		}
	})
	ctx := t.Context()
	// w16, a plumber with the early shift, has a booking in the range.
	w16 := &doorstep.Worker{ID: "w16", Home: home}
	mustBook(t, s, newBooking(w16, t0.Add(2*time.Hour), time.Hour, home))
	from, to := t0, t0.Add(6*time.Hour)
	if all, err := s.LoadCells(ctx, new(Seen), cells, from, to, nil); err != nil || len(all) != 40 {
		t.Fatalf("first read: %d workers, %v", len(all), err)
	}
	// Drop drops a worker whose shifts all end by noon and, unless
	// byClass, who has no stop in the range; with byClass, DropShifts
	// tells the same of a class. It records what it was asked.
	type asked struct {
		shifts []doorstep.Shift
		home   doorstep.Location
		stops  int
	}
	const (
		byWorker = iota // no DropShifts
		byClass         // DropShifts drops or keeps each class whole
		byHome          // DropShifts leaves each class to AtHome
	)
	var homes []doorstep.Location // AtHome asked
	classCalls := 0               // DropShifts asked, byClass
	step := func(from, to time.Time, mode int) (kept []string, n *Narrow, fromLists int64, calls []asked) {
		t.Helper()
		n = NewNarrow(&doorstep.Request{Skills: []string{"plumbing"}})
		noon := t0.Add(12 * time.Hour)
		n.Drop = func(shifts []doorstep.Shift, home doorstep.Location, tl schedule.Timeline) string {
			calls = append(calls, asked{shifts, home, len(tl)})
			if len(tl) > 0 && mode != byClass || shifts[len(shifts)-1].End.After(noon) {
				return ""
			}
			return "shift_end"
		}
		switch mode {
		case byClass:
			classCalls = 0
			n.DropShifts = func(shifts []doorstep.Shift) ClassDrop {
				classCalls++
				if shifts[len(shifts)-1].End.After(noon) {
					return ClassDrop{Keep: true}
				}
				return ClassDrop{Reason: "shift_end"}
			}
		case byHome:
			homes = nil
			n.DropShifts = func(shifts []doorstep.Shift) ClassDrop {
				late := shifts[len(shifts)-1].End.After(noon)
				return ClassDrop{AtHome: func(home doorstep.Location) string {
					homes = append(homes, home)
					if late {
						return ""
					}
					return "shift_end"
				}}
			}
		}
		before := s.mirror.listDropped.Load()
		got, err := s.LoadCells(ctx, new(Seen), cells, from, to, n)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			kept = append(kept, c.Worker.ID)
		}
		slices.Sort(kept)
		return kept, n, s.mirror.listDropped.Load() - before, calls
	}
	// The 10 plumbers: w08 and w12 end late, w16 has a stop, the 7
	// others are dropped from the lists.
	kept, n, fromLists, calls := step(from, to, byWorker)
	if want := []string{"w08", "w12", "w16"}; !slices.Equal(kept, want) || n.Dropped["shift_end"] != 7 || fromLists != 7 {
		t.Errorf("kept %v, dropped %v (%d from the lists); want %v, 7 (7)", kept, n.Dropped, fromLists, want)
	}
	for _, c := range calls {
		if c.home != home || len(c.shifts) != 1 || !c.shifts[0].Start.Equal(early[0].Start) || c.stops > 1 {
			t.Errorf("Drop asked of shifts %v at %v with %d stops, want the workers' shifts at %v", c.shifts, c.home, c.stops, home)
		}
	}
	// DropShifts drops the early class, w16 with it, and keeps the late
	// one: Drop is asked of nobody, on the lists or as they are read.
	// It is asked once a class, though the lists interleave them (w08
	// and w12 between early ones).
	kept, n, fromLists, calls = step(from, to, byClass)
	if want := []string{"w08", "w12"}; !slices.Equal(kept, want) || n.Dropped["shift_end"] != 8 || fromLists != 8 || len(calls) != 0 || classCalls != 2 {
		t.Errorf("by class: kept %v, dropped %v (%d from the lists), Drop asked %d times, DropShifts %d; want %v, 8 (8), 0, 2",
			kept, n.Dropped, fromLists, len(calls), classCalls, want)
	}
	// AtHome is asked of the workers with no stop, on the lists (and the
	// late ones again as they are read), Drop of w16 alone.
	kept, n, fromLists, calls = step(from, to, byHome)
	if want := []string{"w08", "w12", "w16"}; !slices.Equal(kept, want) || n.Dropped["shift_end"] != 7 || fromLists != 7 ||
		len(homes) != 11 || len(calls) != 1 || calls[0].stops != 1 {
		t.Errorf("by home: kept %v, dropped %v (%d from the lists), AtHome asked %d times, Drop %v; want %v, 7 (7), 11, once with a stop",
			kept, n.Dropped, fromLists, len(homes), calls, want)
	}
	for _, h := range homes {
		if h != home {
			t.Errorf("AtHome asked at %v, want %v", h, home)
		}
	}
	// A step past the range the entries read, on either side, reads the
	// workers again, and drops the same ones as it reads them.
	for _, r := range [][2]time.Time{{from, to.Add(48 * time.Hour)}, {from.Add(-48 * time.Hour), to}} {
		kept, n, fromLists, _ = step(r[0], r[1], byWorker)
		if len(kept) != 3 || n.Dropped["shift_end"] != 7 || fromLists != 0 {
			t.Errorf("%v to %v, past the entries' range: kept %v, dropped %v (%d from the lists); want 3, 7 (0)", r[0], r[1], kept, n.Dropped, fromLists)
		}
	}
	// DropShifts is asked again each step, reading the mirror or Redis: a
	// search learns between steps, and its answers change.
	plain := openRedis(t).s
	putTrades(t, plain, home, func(i int, w *doorstep.Worker) { w.Shifts = early })
	for _, st := range []*Store{s, plain} {
		n = NewNarrow(&doorstep.Request{Skills: []string{"plumbing"}})
		drop := "shift"
		n.Drop = func([]doorstep.Shift, doorstep.Location, schedule.Timeline) string { return drop }
		n.DropShifts = func([]doorstep.Shift) ClassDrop { return ClassDrop{Reason: drop, Keep: drop == ""} }
		for _, want := range []int{0, 10} {
			got, err := st.LoadCells(ctx, new(Seen), cells, from, to, n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != want {
				t.Errorf("mirrored %v, drop %q: kept %d plumbers, want %d", st == s, drop, len(got), want)
			}
			drop = ""
		}
	}
}

// A list of shifts has one class, whatever the zone its times are
// written in; any other start, end or urgent overtime is another class; and a class of a
// numbering started over names no list.
func TestShiftClasses(t *testing.T) {
	var c shiftClasses
	a := []doorstep.Shift{{Start: t0, End: t0.Add(8 * time.Hour)}, {Start: t0.Add(24 * time.Hour), End: t0.Add(32 * time.Hour)}}
	ny, _ := time.LoadLocation("America/New_York")
	inNY := []doorstep.Shift{{Start: t0.In(ny), End: t0.Add(8 * time.Hour).In(ny)}, {Start: t0.Add(24 * time.Hour).In(ny), End: t0.Add(32 * time.Hour).In(ny)}}
	later := slices.Clone(a)
	later[1].End = later[1].End.Add(time.Minute)
	ca, cny, clater := c.number(a), c.number(inNY), c.number(later)
	if ca == 0 || ca != cny || clater == ca || clater == 0 {
		t.Fatalf("classes %x, %x (the same in New York), %x (a minute later)", ca, cny, clater)
	}
	if got, ok := c.shifts(clater); !ok || len(got) != 2 || !got[1].End.Equal(later[1].End) {
		t.Errorf("shifts(%x) = %v, %v", clater, got, ok)
	}
	// Urgent overtime is part of the class: a job the list refuses, the
	// list with overtime may hold (matcher.ShiftsVerdict).
	over := slices.Clone(a)
	over[0].UrgentOvertimeMinutes = 60
	if cover := c.number(over); cover == ca || cover == 0 {
		t.Errorf("class %x with an hour of urgent overtime, %x without", cover, ca)
	} else if got, ok := c.shifts(cover); !ok || got[0].UrgentOvertimeMinutes != 60 {
		t.Errorf("shifts(%x) = %v, %v; want the overtime kept", cover, got, ok)
	}
	if c.number(nil) != 0 || c.number(make([]doorstep.Shift, maxClassShifts+1)) != 0 {
		t.Error("no shifts, or too many, got a class")
	}
	for i := len(c.lists); i <= maxShiftClasses; i++ { // one past the numbering's room
		c.number([]doorstep.Shift{{Start: t0.Add(time.Duration(i) * time.Minute), End: t0.Add(9 * time.Hour)}})
	}
	renewed := c.number(a)
	if _, ok := c.shifts(ca); ok || renewed == ca || renewed == 0 {
		t.Errorf("after the numbering started over: the old class names a list (%v), or the list's new class %x is the old %x", ok, renewed, ca)
	}
}

// WarmUp reads every worker the mirror lists, once, and stamps the lists:
// a narrow step after it reads no profile or timeline from Redis, turns
// the other trades away from the lists and serves the rest from their
// entries. With the read model off it reads nothing.
func TestWarmUpReadsEveryWorkerOnce(t *testing.T) {
	t.Parallel()
	s, _, cells := followedTrades(t, nil)
	ctx := t.Context()
	from, to := time.Now(), time.Now().Add(25*time.Hour)
	before := readCommands(t, s)
	n, err := s.WarmUp(ctx, from, to)
	if err != nil || n != 40 {
		t.Fatalf("WarmUp: %d workers, %v; want 40", n, err)
	}
	if got := readCommands(t, s) - before; got != 2*40 {
		t.Errorf("WarmUp made %d profile or timeline reads, want %d (each worker once)", got, 2*40)
	}
	before = readCommands(t, s)
	turned := s.mirror.listTurned.Load()
	got, err := s.LoadCells(ctx, new(Seen), cells, from, from.Add(time.Hour), NewNarrow(&doorstep.Request{Skills: []string{"plumbing"}}))
	if err != nil || len(got) != 10 {
		t.Fatalf("plumbing after the warm-up: %d workers, %v; want the 10 plumbers", len(got), err)
	}
	if reads, turned := readCommands(t, s)-before, s.mirror.listTurned.Load()-turned; reads != 0 || turned != 30 {
		t.Errorf("after the warm-up a step made %d reads and turned %d away from the lists; want 0 and 30", reads, turned)
	}

	off, _, _ := followedTrades(t, nil)
	off.SetReadModel(false)
	if n, err := off.WarmUp(ctx, from, to); n != 0 || err != nil {
		t.Errorf("WarmUp with the read model off: %d workers, %v; want none", n, err)
	}
}

// TestWarmWorkersReadsAnImportedRoster: workers written while the store
// follows its feeds, then warmed (as an import warms the roster it
// wrote), are decided by the first search from the read model and the
// lists alone: no profile or timeline read. A worker deleted before the
// warm-up is skipped; with the read model off nothing is read.
func TestWarmWorkersReadsAnImportedRoster(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	follow(t, s)
	home := doorstep.Location{Lat: 52.52, Lng: 13.405}
	var ws []*doorstep.Worker
	for i := range 41 {
		w := &doorstep.Worker{ID: fmt.Sprintf("w%02d", i), Home: home, Skills: []string{"cleaning"}}
		if i%4 == 0 {
			w.Skills = []string{"plumbing"}
		}
		if _, err := s.PutWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	if err := s.DeleteWorker(ctx, "w40"); err != nil { // a plumber
		t.Fatal(err)
	}
	n, err := s.WarmWorkers(ctx, ws, t0, t0.Add(25*time.Hour))
	if err != nil || n != 40 {
		t.Fatalf("WarmWorkers = %d, %v; want the 40 workers left", n, err)
	}
	if err := s.rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := s.mirror.listTurned.Load()
	narrow := NewNarrow(&doorstep.Request{Skills: []string{"plumbing"}})
	got, err := s.LoadCells(ctx, new(Seen), []geo.Cell{geo.IndexCell(home)}, t0, t0.Add(time.Hour), narrow)
	if err != nil {
		t.Fatal(err)
	}
	if turned := s.mirror.listTurned.Load() - before; len(got) != 10 || narrow.Turned.Skills != 30 || turned != 30 {
		t.Errorf("first search: kept %d, turned away %d (%d by the lists); want 10 plumbers and 30 cleaners by the lists", len(got), narrow.Turned.Skills, turned)
	}
	if reads := readCommands(t, s); reads != 0 {
		t.Errorf("the first search after the warm-up made %d profile or timeline reads, want none", reads)
	}

	s.SetReadModel(false)
	if n, err := s.WarmWorkers(ctx, ws, t0, t0.Add(25*time.Hour)); n != 0 || err != nil {
		t.Errorf("WarmWorkers with the read model off = %d, %v; want 0, nil", n, err)
	}
}

// TestNarrowCountsDropsOnceFlushed: the drops of a step are counted by
// reason in runs (Narrow.pending) and added to Dropped when the store's
// step returns; a reason met again after another adds to its count.
func TestNarrowCountsDropsOnceFlushed(t *testing.T) {
	n := NewNarrow(&doorstep.Request{})
	for _, r := range []string{"shift_end", "shift_end", "outside_shift", "shift_end", "outside_shift", "outside_shift"} {
		n.dropped(r)
	}
	n.flush()
	if want := map[string]int{"shift_end": 3, "outside_shift": 3}; !maps.Equal(n.Dropped, want) {
		t.Errorf("Dropped %v, want %v", n.Dropped, want)
	}
	n.flush()
	n.dropped("shift_end")
	n.flush()
	if n.Dropped["shift_end"] != 4 || n.pending.n != 0 {
		t.Errorf("after one more: Dropped %v, pending %+v; want shift_end 4, none pending", n.Dropped, n.pending)
	}
}

// TestNarrowDecidesEachClassOnceAStep: a step asks DropShifts once for
// each class while it holds at most eight; past eight, the oldest is
// asked again, and a new step asks every class again.
func TestNarrowDecidesEachClassOnceAStep(t *testing.T) {
	var tr traits
	classes := make([]uint64, 10)
	for i := range classes {
		start := t0.Add(time.Duration(i) * time.Hour)
		classes[i] = tr.shifts.number([]doorstep.Shift{{Start: start, End: start.Add(8 * time.Hour)}})
	}
	n := NewNarrow(&doorstep.Request{})
	asked := 0
	n.DropShifts = func([]doorstep.Shift) ClassDrop { asked++; return ClassDrop{Keep: true} }
	decide := func(cs ...uint64) int {
		t.Helper()
		asked = 0
		for _, c := range cs {
			if !n.decide(c, &tr) {
				t.Fatalf("decide(%d) = false", c)
			}
			if n.class.of != c {
				t.Fatalf("decide(%d) set class %d", c, n.class.of)
			}
		}
		return asked
	}
	n.step()
	if got := decide(classes[0], classes[1], classes[0], classes[1], classes[2], classes[0]); got != 3 {
		t.Errorf("three classes interleaved: DropShifts asked %d times, want 3", got)
	}
	if got := decide(classes[3:10]...); got != 7 {
		t.Errorf("seven more: asked %d times, want 7", got)
	}
	// Ten decided: the eight held are 2-9; 0 and 1 went first.
	if got := decide(classes[9], classes[2]); got != 0 {
		t.Errorf("held classes asked %d times, want 0", got)
	}
	if got := decide(classes[0]); got != 1 {
		t.Errorf("the oldest, let go: asked %d times, want 1", got)
	}
	n.step()
	if got := decide(classes[9]); got != 1 {
		t.Errorf("after a new step: asked %d times, want 1", got)
	}
}
