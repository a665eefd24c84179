package store

import (
	"math"
	"slices"
	"sync/atomic"

	"github.com/doorstep-dev/doorstep"

	"github.com/doorstep-dev/doorstep/geo"
)

// listed is one worker in the mirror's list of a cell. Beside the record
// it holds what a search step asks of every worker it reads before it
// looks at the record: the worker's slot (for Seen), whether its home is
// the cell's region, its current version, and a copy of the skills and
// certificates of its read-model entry (stamp). A step of a dense city
// reads thousands of workers and turns most of them away (other trades);
// read from the lists alone, in order, that costs no trip to each
// worker's record, entry and profile, scattered over the heap — which was
// most of a step's time at 100,000 workers (bench/RESULTS.md, "The
// mirror's lists carry the traits").
//
// The fields other than the stamp change under the mirror's write lock
// only, as the lists do; the stamp is written under its read lock, by one
// writer at a time (mirror.stampMu), as a sequence lock. So a reader
// under the read lock reads a listing in place (&list[i]), never copies
// it: a copy reads the stamp as a writer changes it. (The binary searches
// copy listings: under the write lock, or by the stamp's one writer.)
type listed struct {
	rec     *mirrored
	slot    int32
	foreign bool  // the worker's home is not the cell's region
	current int64 // rec.current()
	stamp   stamp
}

// stamp is the traits (Narrow), the class of shifts (shiftClasses), the
// home and reported position and a range free of bookings of a worker's
// read-model entry at version, read after the model's resets-th
// reset: a sequence lock whose seq is odd while a writer changes the rest.
// Its fields are read and written with sync/atomic, as the lists that hold
// them are copied under the write lock.
type stamp struct {
	seq, version, resets, skills, certs, class uint64
	lat, lng, freeFrom, freeTo                 uint64
	atLat, atLng, reported                     uint64
}

// stamped is the rest of what a stamp holds (rest): the worker's class
// of shifts (0 for none), its home, its reported position (at, when
// reported), and a range of times (unix ms) in which it has no booking
// (freeFrom > freeTo: none), the range its entry read when it read none
// there.
type stamped struct {
	class            uint64
	home, at         doorstep.Location
	reported         bool
	freeFrom, freeTo int64
}

// traits returns the bit sets the stamp holds for the worker at version
// current, read after reset count resets, and the sequence number they
// were read at (for rest); ok is false when it holds none for them (none
// yet, an older version or reset, or a writer under way).
func (s *stamp) traits(current int64, resets uint64) (skills, certs, seq uint64, ok bool) {
	seq = atomic.LoadUint64(&s.seq)
	if seq&1 != 0 || current <= 0 || atomic.LoadUint64(&s.version) != uint64(current) || atomic.LoadUint64(&s.resets) != resets {
		return 0, 0, 0, false
	}
	skills, certs = atomic.LoadUint64(&s.skills), atomic.LoadUint64(&s.certs)
	return skills, certs, seq, atomic.LoadUint64(&s.seq) == seq
}

// rest returns the rest of what the stamp holds, read apart from the
// traits (most workers a step reads are turned away on those alone), the
// reported position only when at (an outranking step's question); false
// when a writer changed it since traits read sequence number seq.
func (s *stamp) rest(seq uint64, at bool) (stamped, bool) {
	t := stamped{
		class:    atomic.LoadUint64(&s.class),
		home:     doorstep.Location{Lat: math.Float64frombits(atomic.LoadUint64(&s.lat)), Lng: math.Float64frombits(atomic.LoadUint64(&s.lng))},
		freeFrom: int64(atomic.LoadUint64(&s.freeFrom)), freeTo: int64(atomic.LoadUint64(&s.freeTo)),
	}
	if at {
		t.at = doorstep.Location{Lat: math.Float64frombits(atomic.LoadUint64(&s.atLat)), Lng: math.Float64frombits(atomic.LoadUint64(&s.atLng))}
		t.reported = atomic.LoadUint64(&s.reported) != 0
	}
	return t, atomic.LoadUint64(&s.seq) == seq
}

// set stamps e's traits (by the one writer mirror.stampMu lets in).
func (s *stamp) set(e *readEntry) {
	atomic.AddUint64(&s.seq, 1)
	atomic.StoreUint64(&s.version, uint64(e.version))
	atomic.StoreUint64(&s.resets, e.resets)
	atomic.StoreUint64(&s.skills, e.skills)
	atomic.StoreUint64(&s.certs, e.certs)
	atomic.StoreUint64(&s.class, e.class)
	atomic.StoreUint64(&s.lat, math.Float64bits(e.w.Home.Lat))
	atomic.StoreUint64(&s.lng, math.Float64bits(e.w.Home.Lng))
	var at doorstep.Location
	reported := uint64(0)
	if e.w.Location != nil {
		at, reported = *e.w.Location, 1
	}
	atomic.StoreUint64(&s.atLat, math.Float64bits(at.Lat))
	atomic.StoreUint64(&s.atLng, math.Float64bits(at.Lng))
	atomic.StoreUint64(&s.reported, reported)
	from, to := int64(1), int64(0) // none
	if len(e.stops) == 0 {
		from, to = e.from, e.to
	}
	atomic.StoreUint64(&s.freeFrom, uint64(from))
	atomic.StoreUint64(&s.freeTo, uint64(to))
	atomic.AddUint64(&s.seq, 1)
}

func compareListed(a listed, ref WorkerRef) int { return compareRefs(a.rec.ref, ref) }

// list adds rec to cell c's list, in order of home region and id (under
// m.mu).
func (m *mirror) list(c geo.Cell, rec *mirrored) {
	l := m.cells[c]
	if i, found := slices.BinarySearchFunc(l, rec.ref, compareListed); !found {
		m.cells[c] = slices.Insert(l, i, listed{rec: rec, slot: rec.slot, foreign: cellRegion(c) != rec.ref.Region, current: rec.current()})
	}
}

// unlist takes worker ref off cell c's list (under m.mu).
func (m *mirror) unlist(c geo.Cell, ref WorkerRef) {
	l := m.cells[c]
	if i, found := slices.BinarySearchFunc(l, ref, compareListed); found {
		if l = slices.Delete(l, i, i+1); len(l) == 0 {
			delete(m.cells, c)
		} else {
			m.cells[c] = l
		}
	}
}

// listings calls f with rec's place in the list of each cell that lists
// it (under m.mu, read or write).
func (m *mirror) listings(rec *mirrored, f func(*listed)) {
	for _, c := range rec.cells {
		l := m.cells[c]
		if i, found := slices.BinarySearchFunc(l, rec.ref, compareListed); found {
			f(&l[i])
		}
	}
}

// relist copies rec's current version into its listings, after its
// version or learnt version changed (under m.mu).
func (m *mirror) relist(rec *mirrored) {
	m.listings(rec, func(l *listed) { l.current = rec.current() })
}

// renumbered copies the slots of a new numbering into the lists (under
// m.mu).
func (m *mirror) renumbered() {
	for _, l := range m.cells {
		for i := range l {
			l[i].slot = l[i].rec.slot
		}
	}
}

// stamp copies the traits of the read-model entries just read for recs
// (entries[i] for recs[i], nil for none) into the lists, so that the next
// steps turn away the workers they show cannot take a request from the
// lists alone.
func (m *mirror) stamp(recs []*mirrored, entries []*readEntry) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	m.stampMu.Lock()
	defer m.stampMu.Unlock()
	for i, rec := range recs {
		if e := entries[i]; e != nil && e.traits && e.version != 0 {
			m.listings(rec, func(l *listed) {
				if l.rec == rec { // not a worker put again under the same id since
					l.stamp.set(e)
				}
			})
		}
	}
}
