package store

import (
	"cmp"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/schedule"
)

// readModelMax bounds the workers the read model keeps: a large city's
// roster. Past it the model starts over rather than track age.
const readModelMax = 200_000

// ReadModelMaxAge is how long the read model serves a worker with
// bookings without reading it again even though its version is
// unchanged. Every change of a profile or a timeline bumps the version,
// so a version compare is all correctness needs; but a booking's record
// may be rewritten without a bump (a finished booking's location reduced
// to its cell, a customer's erasure), and the server should not hold such
// values for long. An entry with no booking holds none, and serves on
// (readEntry.serves).
//
// Each entry serves for a random part of it, from half of it to all
// (serveFor): the workers one search reads are read again together, and
// with one age for all, a search that read a city's 16,000 movers at once
// had every one of them read again by one search 30 seconds later (a
// pipeline of 32,000 commands, the p99 of its second).
const ReadModelMaxAge = 30 * time.Second

// serveFor is how long an entry read now serves: a random duration from
// half of ReadModelMaxAge to all of it.
func serveFor() time.Duration {
	return ReadModelMaxAge/2 + rand.N(ReadModelMaxAge/2)
}

// readModel is the in-process read model of the candidates LoadCandidates
// returns: each worker's decoded profile and confirmed bookings, as read
// at one version. A request reads the current versions (one MGET per
// region) and re-reads only the workers whose version moved, so that a
// dense city's search — a thousand or more workers a request, nearly all
// unchanged since the last request — costs one round trip instead of
// three commands and a JSON decode per worker.
//
// It serves nothing a direct read would not: an entry is used only at the
// exact version just read from Redis, which was read before the entry's
// profile and timeline were (so an entry can only be newer than its
// version, never older), and an Apply pinned to that version fails if the
// worker changed since. Entries are immutable once stored; the workers and
// bookings they hold are shared by every caller, which must not modify
// them.
type readModel struct {
	mu   sync.RWMutex
	m    map[string]*readEntry // by worker id
	seed maphash.Seed
	once sync.Once
	// regions memoizes validRegion for the regions seen (a handful): a
	// search parses a thousand or more position index members.
	regions sync.Map
	// off makes every read go to Redis (SetReadModel).
	off atomic.Bool
	// slots numbers the workers densely (by id, under mu), for Seen; gen
	// counts the times the numbering started over (from 1).
	slots map[string]int32
	gen   uint64
	// resets counts reset: an entry read before the last one (the mirror
	// keeps entries outside m) serves nothing.
	resets atomic.Uint64
	// lists holds the lists the decoded workers share.
	lists lists
}

// readEntry is one worker as read at version.
type readEntry struct {
	region   string
	version  int64
	profile  uint64           // maphash of the stored profile: reuse w when unchanged
	w        *doorstep.Worker // shared: read only
	from, to int64            // timeline range read (start, unix ms, inclusive)
	bookings []*doorstep.Booking
	// stops are the bookings' stops (schedule.TimelineOf), stops[i]
	// bookings[i]'s: made once per entry, not once per search that reads
	// it (a busy city's rescue reads every worker in reach).
	stops schedule.Timeline
	// until is when the entry stops serving (serveFor after it was read).
	until time.Time
	// slot is the worker's number in generation gen of the model's
	// numbering (gen 0: none, the entry is not kept).
	slot int32
	gen  uint64
	// vkey is the worker's version key, boxed once for every MGET that
	// reads it.
	vkey any
	// resets is the model's count of resets when the entry's read began.
	resets uint64
	// skills and certs are w's as bit sets of the store's traits, when
	// traits (Narrow).
	skills, certs uint64
	traits        bool
	// class is w's class of shifts (shiftClasses; 0 for none).
	class uint64
}

func (rm *readModel) init() {
	rm.once.Do(func() { rm.seed = maphash.MakeSeed() })
}

// lookup sets prev[i] to the entry the model holds for refs[i], at
// whatever version (nil for none, or with the model off).
func (rm *readModel) lookup(refs []WorkerRef, prev []*readEntry) {
	if rm.off.Load() {
		return
	}
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	for i, r := range refs {
		if e := rm.m[r.ID]; e != nil && e.region == r.Region {
			prev[i] = e
		}
	}
}

// serving sets entries[i] to prev[i] when it serves a read at versions[i]
// of the bookings starting in [from, to] (unix ms) at now, and returns the
// positions of the others.
func (rm *readModel) serving(prev []*readEntry, versions []int64, from, to int64, now time.Time, entries []*readEntry) (stale []int) {
	resets := rm.resets.Load()
	for i, e := range prev {
		if e.serves(versions[i], from, to, now, resets) {
			entries[i] = e
		} else {
			stale = append(stale, i)
		}
	}
	return stale
}

// validRegion is validRegion, memoized.
func (rm *readModel) validRegion(r string) bool {
	if _, ok := rm.regions.Load(r); ok {
		return true
	}
	if !validRegion(r) {
		return false
	}
	rm.regions.Store(r, true)
	return true
}

// parseMember is parseMember with the region check memoized.
func (rm *readModel) parseMember(m string) (WorkerRef, bool) {
	region, id, found := strings.Cut(m, "/")
	if !found || !rm.validRegion(region) || checkWorkerID(id) != nil {
		return WorkerRef{}, false
	}
	return WorkerRef{ID: id, Region: region}, true
}

func (rm *readModel) put(e *readEntry, id string) {
	if rm.off.Load() {
		return
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.m == nil || len(rm.m) >= readModelMax {
		rm.m = make(map[string]*readEntry)
	}
	slot, ok := rm.slots[id]
	if !ok {
		if rm.slots == nil || len(rm.slots) >= slotsMax {
			rm.slots, rm.gen = make(map[string]int32), numberings.Add(1)
		}
		slot = int32(len(rm.slots))
		rm.slots[id] = slot
	}
	e.slot, e.gen = slot, rm.gen
	rm.m[id] = e
}

// numberings draws the generations of the read model's and the mirror's
// numberings of workers, so that a Seen never mistakes one for another.
var numberings atomic.Uint64

// slotsMax bounds the workers the model numbers (every id it ever kept,
// retired ones included): past it the numbering starts over, in a new
// generation.
const slotsMax = 4 * readModelMax

func (rm *readModel) drop(ref WorkerRef) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if e := rm.m[ref.ID]; e != nil && e.region == ref.Region {
		delete(rm.m, ref.ID)
	}
}

// reset forgets every worker: after this process rewrote bookings without
// a version bump (an erasure, a redaction).
func (rm *readModel) reset() {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.m = nil
	rm.resets.Add(1)
}

// serves reports whether e answers a read at version of the bookings
// starting in [from, to] (unix ms) at now, the model having been reset
// resets times. An entry that holds no booking serves past its age
// (until): what ReadModelMaxAge bounds is how long this process holds
// bookings rewritten elsewhere without a version bump, and a profile is
// never rewritten without one. At 100,000 workers, reading again every
// worker a search met every 15-30 s had been a tenth of the server's
// time, and grew with the city, not with the requests (bench/RESULTS.md,
// "Outranked from the lists").
func (e *readEntry) serves(version, from, to int64, now time.Time, resets uint64) bool {
	return e != nil && version != 0 && e.version == version && e.from <= from && to <= e.to &&
		(now.Before(e.until) || len(e.bookings) == 0) && e.resets == resets
}

// bookingsIn returns the entry's bookings that start in [from, to], and
// their stops. They are a part of the entry's own slices (sorted by
// start), shared like the bookings themselves: capped, so that an append
// copies them. The stops are searched, not the bookings: they lie side by
// side in memory.
func (e *readEntry) bookingsIn(from, to int64) ([]*doorstep.Booking, schedule.Timeline) {
	i, _ := slices.BinarySearchFunc(e.stops, from, func(s schedule.Stop, t int64) int { return cmp.Compare(s.Start.UnixMilli(), t) })
	j := i
	for j < len(e.stops) && e.stops[j].Start.UnixMilli() <= to {
		j++
	}
	if i == j {
		return nil, nil
	}
	return e.bookings[i:j:j], e.stops[i:j:j]
}

// decode returns the worker raw encodes, reusing the one of prev when raw
// is the profile prev was read from (a booking bumped the version, not a
// profile change), and raw's hash.
func (rm *readModel) decode(prev *readEntry, raw string) (*doorstep.Worker, uint64, error) {
	rm.init()
	h := maphash.String(rm.seed, raw)
	if prev != nil && prev.profile == h {
		return prev.w, h, nil
	}
	w, err := decodeWorker(raw)
	if err == nil {
		rm.lists.share(w)
	}
	return w, h, err
}

// SetReadModel turns the read model of LoadCandidates on (the default) or
// off (every candidate read from Redis, as before it existed): for
// measuring what it saves, and for a deployment that wants no worker
// state held in the server.
func (s *Store) SetReadModel(on bool) {
	s.cands.off.Store(!on)
	if !on {
		s.cands.reset()
	}
}

// created brings the read model's entries of the workers a change booked
// to the version the change gave them, when the change only created
// bookings (data are ch.Create as Apply stored them): the next search
// serves them without reading again what this process has just written.
// Without it, nearly every booking had a later search read its worker
// again (profile, timeline and bookings: two round trips).
//
// The entry made is the one a read would give. Apply refused the change
// unless every worker was at ch.Expect's version, so a worker's entry at
// that version held exactly what Redis held; the change added these
// bookings to its timeline and one to its version (apply.lua increments
// a touched worker's version once), and changed nothing else of it. An
// entry at another version, or of a model reset since, is left to be
// read again, as before.
func (s *Store) created(ch *Change, data []string) {
	if len(ch.Update) > 0 || len(ch.Create) == 0 || len(data) != len(ch.Create) || s.cands.off.Load() {
		return
	}
	added := make(map[string][]*doorstep.Booking, 1)
	for i, b := range ch.Create {
		stored, ok := storedCopy(b)
		if !ok {
			var err error
			if stored, err = decodeBooking(data[i]); err != nil {
				return // never: data is what encodeBooking made
			}
		}
		added[b.WorkerID] = append(added[b.WorkerID], stored)
	}
	now := time.Now()
	resets := s.cands.resets.Load()
	for id, bs := range added {
		ref, v := WorkerRef{ID: id, Region: ch.Region}, ch.Expect[id]
		var old, next *readEntry // one entry made for the model and the mirror alike
		advance := func(e *readEntry) *readEntry {
			if e == nil || e.region != ref.Region || e.version != v || v == 0 || e.resets != resets {
				return nil
			}
			if e != old {
				old, next = e, e.plus(bs, now)
			}
			return next
		}
		s.cands.advance(ref, advance)
		s.mirror.advance(ref, advance)
	}
}

// plus is e with bookings bs added (those starting in its range) at the
// next version, as read at now. It keeps e's age when e holds bookings:
// those were read then, and may since have been rewritten elsewhere
// without a version bump (ReadModelMaxAge); bs were not.
func (e *readEntry) plus(bs []*doorstep.Booking, now time.Time) *readEntry {
	n := *e
	n.version++
	var in []*doorstep.Booking
	for _, b := range bs {
		if ms := b.Start.UnixMilli(); e.from <= ms && ms <= e.to {
			in = append(in, b)
		}
	}
	if len(e.bookings) == 0 {
		n.until = now.Add(serveFor())
	}
	if len(in) == 0 {
		return &n
	}
	// In the order a read gives (timeline order, then confirmed's stable
	// sort by start): by start, then by id, the timeline's order among
	// bookings of one score.
	n.bookings = slices.Concat(e.bookings, in)
	slices.SortFunc(n.bookings, func(a, b *doorstep.Booking) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	n.stops = schedule.TimelineOf(n.bookings)
	return &n
}

// advance replaces ref's entry e with next(e) when that is not nil.
func (rm *readModel) advance(ref WorkerRef, next func(*readEntry) *readEntry) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	e := rm.m[ref.ID]
	if n := next(e); n != nil {
		rm.m[ref.ID] = n
	}
}
