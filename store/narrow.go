package store

import (
	"slices"
	"sync"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// Keep decides which of the workers a search step reads it keeps
// (LoadCells); nil keeps them all.
type Keep interface {
	Keeps(w *doorstep.Worker) bool
}

// KeepFunc is a function as a Keep.
type KeepFunc func(w *doorstep.Worker) bool

// Keeps calls f.
func (f KeepFunc) Keeps(w *doorstep.Worker) bool { return f(w) }

// Narrow is the Keep of a narrow candidate search: the workers who can
// take a request before their day is looked at, that is who are not
// excluded by it and have every skill and certificate it asks for. It
// counts the others by the first of those rules they fail, in the order
// matcher.Evaluate applies them.
//
// A store checks skills and certificates on bit sets it keeps with the
// workers it has read (traits), without reading the workers' lists: in a
// dense city a step turns most of the thousands of workers it reads away.
type Narrow struct {
	req *doorstep.Request
	// Turned counts the workers turned away, by rule.
	Turned struct{ Excluded, Skills, Certificates int }
	// Drop, when set, is asked of each worker kept, with the starts and
	// ends of its shifts, its home, and its bookings' stops in the range
	// read (the candidate's timeline), before the candidate is made: a
	// reason it returns drops the worker (a search that knows the worker
	// cannot change its answer: the caller's rule), counted in Dropped by
	// that reason. It is given nothing else of a worker, so a store that
	// knows those from its lists (the mirror's stamps) asks it without
	// reading the worker.
	Drop func(shifts []doorstep.Shift, home doorstep.Location, tl schedule.Timeline) string
	// Dropped is complete once the store's LoadCells returns (see
	// pending).
	Dropped map[string]int
	// DropShifts, when set, tells Drop for every worker whose shifts start
	// and end as shifts do (ClassDrop). A store that knows a worker's
	// shifts from its lists asks it once a step for each list of shifts
	// (a roster has a few patterns a day, each shared by hundreds of
	// workers), and Drop only of the workers it leaves undecided.
	DropShifts func(shifts []doorstep.Shift) ClassDrop
	// Outrank, when set, leaves out each worker kept and not dropped
	// whose shifts can hold the request (DropShifts keeps every worker
	// with them), who has no stop in the range read, and whose home and
	// reported position both lie farther than the rule allows (the
	// search's options are better than any option the worker could give:
	// the caller's rule, matcher.Tally.Outranks), counted in Outranked.
	// A store that knows those from its lists decides it without reading
	// the worker.
	Outrank   *Outrank
	Outranked int

	// class is the class of shifts of the worker at hand, its shifts and
	// DropShifts' answer for them; classes holds the classes decided this
	// step (the last ones, beyond len(classes)). A step's workers are of
	// a few classes, but not in runs: a cell lists its workers by id, and
	// a roster's patterns interleave there (at 100,000 workers asking
	// DropShifts again at each change of class had cost a twentieth of a
	// 422's time).
	class   decidedClass
	classes struct {
		of   [8]decidedClass
		n    int // decided this step, of len(of) at most
		next int // where the next one decided goes (the oldest, once full)
	}

	// pending is the count of workers dropped for one reason not yet
	// added to Dropped (flush): a whole-city step drops thousands of
	// workers of a class for its one reason, and a map update for each
	// had cost a tenth of a 422's time at 100,000 workers
	// (bench/RESULTS.md, "The 422s at 100,000 workers, on a quiet
	// machine").
	pending struct {
		reason string
		n      int
	}

	// The request's skills and certificates as bits of traits, once
	// resolved (resolved): ok when every one has a bit.
	resolved      *traits
	skills, certs uint64
	ok            bool
}

// NewNarrow returns the Narrow of req.
func NewNarrow(req *doorstep.Request) *Narrow { return &Narrow{req: req} }

// Keeps implements Keep, counting the workers it turns away.
func (n *Narrow) Keeps(w *doorstep.Worker) bool {
	if n.excludes(w) {
		return false
	}
	switch w.Lacks(n.req) {
	case "":
		return true
	case "skills":
		n.Turned.Skills++
	default:
		n.Turned.Certificates++
	}
	return false
}

// excludes reports whether the request excludes w, counting it.
func (n *Narrow) excludes(w *doorstep.Worker) bool {
	if len(n.req.ExcludedWorkers) > 0 && slices.Contains(n.req.ExcludedWorkers, w.ID) {
		n.Turned.Excluded++
		return true
	}
	return false
}

// keepsEntry is Keeps for a worker of the read model, on its entry's bit
// sets when both have them.
func (n *Narrow) keepsEntry(e *readEntry, t *traits) bool {
	n.resolve(t)
	if !n.ok || !e.traits {
		return n.Keeps(e.w)
	}
	if n.excludes(e.w) {
		return false
	}
	return !n.lacks(e.skills, e.certs)
}

// lacks reports whether a worker whose skills and certificates are the
// bit sets skills and certs lacks one the request asks for (once
// resolved, and ok), counting it by the first it lacks.
func (n *Narrow) lacks(skills, certs uint64) bool {
	switch {
	case skills&n.skills != n.skills:
		n.Turned.Skills++
		return true
	case certs&n.certs != n.certs:
		n.Turned.Certificates++
		return true
	}
	return false
}

// resolve sets the request's skills and certificates as bits of t.
func (n *Narrow) resolve(t *traits) {
	if n.resolved != t {
		n.resolved = t
		n.skills, n.ok = t.skills.bits(n.req.Skills)
		var ok bool
		n.certs, ok = t.certs.bits(n.req.Certificates)
		n.ok = n.ok && ok
	}
}

// Outrank is Narrow.Outrank: a worker beyond Km of To is left out.
type Outrank struct {
	To doorstep.Location
	Km float64
}

// beyond reports whether loc lies farther than o.Km from o.To, as
// geo.DistanceKm measures it. Most workers an urgent step leaves out lie
// that far north or south alone, which the latitudes tell without the
// trigonometry (geo.ApartBeyondKm).
func (o *Outrank) beyond(loc doorstep.Location) bool {
	if geo.ApartBeyondKm(loc.Lat, o.To.Lat, o.Km) {
		return true
	}
	return geo.DistanceKm(loc, o.To) > o.Km
}

// outranks reports whether n's Outrank leaves out a worker with home and,
// when reported, a reported position at, with stops in the range read or
// none, of the class of shifts decided last (decide), counting it.
func (n *Narrow) outranks(home, at doorstep.Location, reported, stops bool) bool {
	o := n.Outrank
	if o == nil || stops || !n.class.drop.Keep || !o.beyond(home) || reported && !o.beyond(at) {
		return false
	}
	n.Outranked++
	return true
}

// ClassDrop is Narrow.Drop for the workers whose shifts start and end as
// one list does: Reason when it drops every one of them for it, wherever
// they are and whatever they have booked; Keep when it drops none; else
// AtHome, when set, is Drop of such a worker with no stop in the range
// read, at home ("" to keep it), and the others are asked of Drop.
type ClassDrop struct {
	Reason string
	Keep   bool
	AtHome func(home doorstep.Location) string
}

// listVerdict is what a Narrow tells of a worker from its stamp alone.
type listVerdict int

const (
	readWorker     listVerdict = iota // the stamp cannot tell: read the worker
	dropsWorker                       // kept, then dropped (counted in Dropped)
	outranksWorker                    // kept, then outranked (counted in Outranked)
)

// fromRest tells what n does with a worker whose list holds stamp s (of
// t's traits and classes), in a step reading the bookings that start in
// [lo, hi] (unix ms), once the stamp's traits, read at sequence number
// seq for the worker's current version, showed it has every skill and
// certificate the request asks for (byLists, and not lacks: the walk of
// the lists asks those itself, loadCellsMirrored), counting it as drops
// does. It is readWorker, counting nothing, when n keeps the worker or
// the stamp cannot tell: a writer changed it since seq, or the worker has
// no class of shifts, or Drop or Outrank might keep it and the stamp
// does not show its bookings in [lo, hi] are none.
func (n *Narrow) fromRest(s *stamp, seq uint64, t *traits, lo, hi int64) listVerdict {
	if n.Drop == nil && n.Outrank == nil {
		return readWorker
	}
	st, ok := s.rest(seq, n.Outrank != nil)
	if !ok {
		return readWorker
	}
	if !n.decide(st.class, t) {
		return readWorker
	}
	// The stamp's entry, at the worker's version, holds every booking in
	// its range: none there, and the range holds the step's, is no stops.
	stops := st.freeFrom > lo || hi > st.freeTo
	if n.Drop != nil {
		if reason, ok := n.byClass(st.home, stops); ok && reason != "" {
			n.dropped(reason)
			return dropsWorker
		}
	}
	if n.outranks(st.home, st.at, st.reported, stops) {
		return outranksWorker
	}
	return readWorker
}

// byLists reports whether a step may turn away the workers who lack a
// skill or certificate on their stamps' bit sets alone (lacks), as the
// walk of the lists does: every name the request asks for has a bit (of
// t), and it excludes no worker (an excluded worker counts as that
// first).
func (n *Narrow) byLists(t *traits) bool {
	n.resolve(t)
	return n.ok && len(n.req.ExcludedWorkers) == 0
}

// byClass is Drop of a worker of the class set (decide) with home, and
// with stops in the range read or none: false when the class leaves it to
// Drop with the worker's stops.
func (n *Narrow) byClass(home doorstep.Location, stops bool) (string, bool) {
	switch cd := &n.class.drop; {
	case cd.Reason != "" || cd.Keep:
		return cd.Reason, true
	case stops:
		return "", false
	case cd.AtHome != nil:
		return cd.AtHome(home), true
	}
	return n.Drop(n.class.shifts, home, nil), true
}

// decidedClass is a class of shifts (of a step), its shifts and
// DropShifts' answer for them.
type decidedClass struct {
	of     uint64
	shifts []doorstep.Shift
	drop   ClassDrop
}

// decide sets n.class to class (of t), asking DropShifts of its shifts
// unless this step decided it already: false when class names no list.
func (n *Narrow) decide(class uint64, t *traits) bool {
	if class == 0 {
		return false
	}
	if class == n.class.of {
		return true
	}
	cs := &n.classes
	for i := range cs.of[:cs.n] {
		if cs.of[i].of == class {
			n.class = cs.of[i]
			return true
		}
	}
	shifts, ok := t.shifts.shifts(class)
	if !ok {
		return false
	}
	var cd ClassDrop
	if n.DropShifts != nil {
		cd = n.DropShifts(shifts)
	}
	n.class = decidedClass{of: class, shifts: shifts, drop: cd}
	cs.of[cs.next] = n.class
	cs.next, cs.n = (cs.next+1)%len(cs.of), min(cs.n+1, len(cs.of))
	return true
}

// step starts a step of the search: DropShifts' answers may change
// between steps (Drop's do: the search learns from each), not within one.
func (n *Narrow) step() {
	n.class = decidedClass{}
	n.classes.n, n.classes.next = 0, 0
}

// dropped counts a worker dropped for reason (in pending, while the
// reason is the one before).
func (n *Narrow) dropped(reason string) {
	if p := &n.pending; p.n > 0 && p.reason == reason {
		p.n++
		return
	}
	n.flush()
	n.pending.reason, n.pending.n = reason, 1
}

// flush adds the pending count to Dropped.
func (n *Narrow) flush() {
	if p := &n.pending; p.n > 0 {
		if n.Dropped == nil {
			n.Dropped = map[string]int{}
		}
		n.Dropped[p.reason] += p.n
		p.reason, p.n = "", 0
	}
}

// turnedAway reports whether keep turns away the worker of read-model
// entry e, when e holds the worker's profile as it is: read at the
// worker's current version (every profile change bumps it) since the
// model's last reset (resets), whatever range of bookings it holds or
// however long ago. Else, and for a worker keep does not turn away, it is
// false: the worker is read again, and keep asked again. A worker turned
// away is counted by keep here.
func turnedAway(keep Keep, e *readEntry, version int64, resets uint64, t *traits) bool {
	return e != nil && version != 0 && e.version == version && e.resets == resets && !keeps(keep, e, t)
}

// drops reports whether keep, a Narrow with a Drop or an Outrank, drops or
// outranks the worker of read-model entry e with timeline tl, counting
// it: by its class of shifts (of t) where DropShifts decides the class,
// else by Drop; then by Outrank, of a worker whose class it decided.
func drops(keep Keep, e *readEntry, tl schedule.Timeline, t *traits) bool {
	n, ok := keep.(*Narrow)
	if !ok || n.Drop == nil && n.Outrank == nil {
		return false
	}
	decided := n.decide(e.class, t)
	if n.Drop != nil {
		reason, ok := "", false
		if decided {
			reason, ok = n.byClass(e.w.Home, len(tl) > 0)
		}
		if !ok {
			reason = n.Drop(e.w.Shifts, e.w.Home, tl)
		}
		if reason != "" {
			n.dropped(reason)
			return true
		}
	}
	if !decided {
		return false
	}
	var at doorstep.Location
	if e.w.Location != nil {
		at = *e.w.Location
	}
	return n.outranks(e.w.Home, at, e.w.Location != nil, len(tl) > 0)
}

// keeps is keep.Keeps(e.w), on bit sets when keep is a Narrow.
func keeps(keep Keep, e *readEntry, t *traits) bool {
	switch k := keep.(type) {
	case nil:
		return true
	case *Narrow:
		return k.keepsEntry(e, t)
	}
	return keep.Keeps(e.w)
}

// traits numbers the skills and the certificates of the workers a store
// has read, each name a bit of a set of 64: a worker's set, kept with its
// read-model entry, answers whether it has a request's in two ANDs. A name
// keeps its bit for the store's life; names past the 64th get none, and
// the workers and requests that have one are checked on their lists.
type traits struct {
	skills, certs bitNames
	shifts        shiftClasses
}

// bitNames gives names bits, first come first numbered.
type bitNames struct {
	mu  sync.RWMutex
	bit map[string]uint64
}

// bits returns the set of names, and false when one of them has no bit.
// A name not numbered yet is one no worker read so far has: it gets no
// bit (nor is it numbered) here, since a worker numbered later would have
// a bit this set lacks.
func (b *bitNames) bits(names []string) (uint64, bool) {
	var set uint64
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, name := range names {
		bit, ok := b.bit[name]
		if !ok {
			return 0, false
		}
		set |= bit
	}
	return set, true
}

// number returns the set of names, numbering those not numbered yet, and
// false when one of them could not be (64 are).
func (b *bitNames) number(names []string) (uint64, bool) {
	if set, ok := b.bits(names); ok {
		return set, true
	}
	var set uint64
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bit == nil {
		b.bit = map[string]uint64{}
	}
	for _, name := range names {
		bit, ok := b.bit[name]
		if !ok {
			if len(b.bit) == 64 {
				return 0, false
			}
			bit = 1 << len(b.bit)
			b.bit[name] = bit
		}
		set |= bit
	}
	return set, true
}

// of sets e's bit sets from its worker's skills and certificates.
func (t *traits) of(e *readEntry) {
	var sok, cok bool
	e.skills, sok = t.skills.number(e.w.Skills)
	e.certs, cok = t.certs.number(e.w.Certificates)
	e.traits = sok && cok
	e.class = t.shifts.number(e.w.Shifts)
}
