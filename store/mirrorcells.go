package store

import (
	"math"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/doorstep-dev/doorstep"

	"github.com/doorstep-dev/doorstep/geo"
)

// cellList is the mirror's list of one cell: its workers, in order of home
// region and id, each as two records at one index, listed and listedRest.
//
// A step of a dense city reads thousands of workers and turns most of
// them away (other trades, or a class of shifts that cannot hold the
// job), on what listed holds alone: so listed holds only that, in 64
// bytes, one cache line (a slice of 64-byte elements is allocated
// 64-byte aligned, every size class from 64 bytes on being a multiple of
// it), and the rest a step reads of the few it does not turn away lies
// apart in listedRest. A whole-city step at 100,000 workers streams
// every listing of the city through the cache; with both in one record
// of 136 bytes, that first touch had been most of a 422's time
// (bench/RESULTS.md, "A listing in one cache line").
type cellList struct {
	hot  []listed
	cold []listedRest
}

// listed is what a search step asks of every worker it reads before it
// looks at the worker's record: its slot (for Seen), whether its home is
// the cell's region, its current version, and the stamp of its read-model
// entry (stamp: the skills and certificates, the class of shifts) —
// without a trip to each worker's record, entry and profile, scattered
// over the heap, which was most of a step's time at 100,000 workers
// (bench/RESULTS.md, "The mirror's lists carry the traits").
//
// The fields other than the stamp change under the mirror's write lock
// only, as the lists do; the stamp (and its rest, in listedRest) is
// written under its read lock, by one writer at a time (mirror.stampMu),
// as a sequence lock. So a reader under the read lock reads a listing in
// place (&list.hot[i]), never copies it: a copy reads the stamp as a
// writer changes it.
type listed struct {
	slot    int32
	foreign bool  // the worker's home is not the cell's region
	current int64 // rec.current()
	stamp   stamp
}

// listedRest is the rest of a listing: the worker's record, and the rest
// of its stamp.
type listedRest struct {
	rec  *mirrored
	rest stampRest
}

// A listing is one cache line (see cellList); TestListingIsOneCacheLine.
const listingSize = int(unsafe.Sizeof(listed{}))

// stamp is the traits (Narrow) and the class of shifts (shiftClasses) of
// a worker's read-model entry at version, read after the model's
// resets-th reset, with the rest (stampRest: the home and reported
// position and a range free of bookings) under the same sequence lock,
// whose seq is odd while a writer changes them. Its fields are read and
// written with sync/atomic, as the lists that hold them are copied under
// the write lock.
type stamp struct {
	seq, version, resets, skills, certs, class uint64
}

// stampRest is the rest of a stamp, read only for a worker the stamp
// shows has the request's skills and certificates, and then only when
// its class of shifts does not decide the worker alone.
type stampRest struct {
	lat, lng, freeFrom, freeTo uint64
	atLat, atLng, reported     uint64
}

// stamped is the rest of what a stamp holds (rest): the worker's home, its
// reported position (at, when reported), and a range of times (unix ms)
// in which it has no booking (freeFrom > freeTo: none), the range its
// entry read when it read none there.
type stamped struct {
	home, at         doorstep.Location
	reported         bool
	freeFrom, freeTo int64
}

// traits returns the bit sets the stamp holds for the worker at version
// current, read after reset count resets, and the sequence number they
// were read at (for classAt and rest); ok is false when it holds none for
// them (none yet, an older version or reset, or a writer under way).
func (s *stamp) traits(current int64, resets uint64) (skills, certs, seq uint64, ok bool) {
	seq = atomic.LoadUint64(&s.seq)
	if seq&1 != 0 || current <= 0 || atomic.LoadUint64(&s.version) != uint64(current) || atomic.LoadUint64(&s.resets) != resets {
		return 0, 0, 0, false
	}
	skills, certs = atomic.LoadUint64(&s.skills), atomic.LoadUint64(&s.certs)
	return skills, certs, seq, atomic.LoadUint64(&s.seq) == seq
}

// classAt returns the class of shifts the stamp holds (0 for none); false
// when a writer changed it since traits read sequence number seq.
func (s *stamp) classAt(seq uint64) (uint64, bool) {
	class := atomic.LoadUint64(&s.class)
	return class, atomic.LoadUint64(&s.seq) == seq
}

// rest returns the rest of what stamp s holds in r, the reported position
// only when at (an outranking step's question); false when a writer
// changed it since traits read sequence number seq.
func (r *stampRest) rest(s *stamp, seq uint64, at bool) (stamped, bool) {
	t := stamped{
		home:     doorstep.Location{Lat: math.Float64frombits(atomic.LoadUint64(&r.lat)), Lng: math.Float64frombits(atomic.LoadUint64(&r.lng))},
		freeFrom: int64(atomic.LoadUint64(&r.freeFrom)), freeTo: int64(atomic.LoadUint64(&r.freeTo)),
	}
	if at {
		t.at = doorstep.Location{Lat: math.Float64frombits(atomic.LoadUint64(&r.atLat)), Lng: math.Float64frombits(atomic.LoadUint64(&r.atLng))}
		t.reported = atomic.LoadUint64(&r.reported) != 0
	}
	return t, atomic.LoadUint64(&s.seq) == seq
}

// set stamps e's traits and the rest of the stamp in r (by the one writer
// mirror.stampMu lets in).
func (s *stamp) set(r *stampRest, e *readEntry) {
	atomic.AddUint64(&s.seq, 1)
	atomic.StoreUint64(&s.version, uint64(e.version))
	atomic.StoreUint64(&s.resets, e.resets)
	atomic.StoreUint64(&s.skills, e.skills)
	atomic.StoreUint64(&s.certs, e.certs)
	atomic.StoreUint64(&s.class, e.class)
	atomic.StoreUint64(&r.lat, math.Float64bits(e.w.Home.Lat))
	atomic.StoreUint64(&r.lng, math.Float64bits(e.w.Home.Lng))
	var at doorstep.Location
	reported := uint64(0)
	if e.w.Location != nil {
		at, reported = *e.w.Location, 1
	}
	atomic.StoreUint64(&r.atLat, math.Float64bits(at.Lat))
	atomic.StoreUint64(&r.atLng, math.Float64bits(at.Lng))
	atomic.StoreUint64(&r.reported, reported)
	from, to := int64(1), int64(0) // none
	if len(e.stops) == 0 {
		from, to = e.from, e.to
	}
	atomic.StoreUint64(&r.freeFrom, uint64(from))
	atomic.StoreUint64(&r.freeTo, uint64(to))
	atomic.AddUint64(&s.seq, 1)
}

func compareListed(a listedRest, ref WorkerRef) int { return compareRefs(a.rec.ref, ref) }

// list adds rec to cell c's list, in order of home region and id (under
// m.mu).
func (m *mirror) list(c geo.Cell, rec *mirrored) {
	l := m.cells[c]
	if i, found := slices.BinarySearchFunc(l.cold, rec.ref, compareListed); !found {
		l.hot = slices.Insert(l.hot, i, listed{slot: rec.slot, foreign: cellRegion(c) != rec.ref.Region, current: rec.current()})
		l.cold = slices.Insert(l.cold, i, listedRest{rec: rec})
		m.cells[c] = l
	}
}

// unlist takes worker ref off cell c's list (under m.mu).
func (m *mirror) unlist(c geo.Cell, ref WorkerRef) {
	l := m.cells[c]
	if i, found := slices.BinarySearchFunc(l.cold, ref, compareListed); found {
		if l.hot, l.cold = slices.Delete(l.hot, i, i+1), slices.Delete(l.cold, i, i+1); len(l.hot) == 0 {
			delete(m.cells, c)
		} else {
			m.cells[c] = l
		}
	}
}

// listings calls f with rec's place in the list of each cell that lists
// it (under m.mu, read or write).
func (m *mirror) listings(rec *mirrored, f func(*listed, *listedRest)) {
	for _, c := range rec.cells {
		l := m.cells[c]
		if i, found := slices.BinarySearchFunc(l.cold, rec.ref, compareListed); found {
			f(&l.hot[i], &l.cold[i])
		}
	}
}

// relist copies rec's current version into its listings, after its
// version or learnt version changed (under m.mu).
func (m *mirror) relist(rec *mirrored) {
	m.listings(rec, func(l *listed, _ *listedRest) { l.current = rec.current() })
}

// renumbered copies the slots of a new numbering into the lists (under
// m.mu).
func (m *mirror) renumbered() {
	for _, l := range m.cells {
		for i := range l.hot {
			l.hot[i].slot = l.cold[i].rec.slot
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
			m.listings(rec, func(l *listed, r *listedRest) {
				if r.rec == rec { // not a worker put again under the same id since
					l.stamp.set(&r.rest, e)
				}
			})
		}
	}
}
