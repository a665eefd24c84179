package store

import (
	"errors"
	"slices"
)

// ErrSeenReset is returned by LoadNew when the read model renumbered its
// workers (or was turned on or off) during the search that seen belongs
// to: seen can no longer tell a worker loaded before from one that is new.
// The search starts over with NewSeenByID.
var ErrSeenReset = errors.New("store: the read model renumbered its workers during a search; search again")

// Seen is the workers one candidate search has loaded so far (LoadNew), so
// that every worker is loaded once even though the position index lists
// it under two cells, home and last reported position, which different
// steps of a search may read. With the read model on it is a bitmap over
// the model's numbering of the workers: no hashing of ids, which was a
// large part of a dense city's search. The zero value is ready to use; it
// is not safe for concurrent use.
type Seen struct {
	byID bool
	gen  uint64 // of the numbering the bits follow; 0 before the first
	bits []uint64
	ids  map[string]bool
	// want is the words the numbering may need (reserve): the bits are
	// made that long at once rather than grown step by step.
	want int
}

// reserve tells s that its workers are numbered below slots, before the
// first is recorded.
func (s *Seen) reserve(slots int32) {
	s.want = max(s.want, (int(slots)+63)/64)
}

// NewSeenByID returns a Seen that tells workers by id only, whatever the
// read model does: the search after an ErrSeenReset, or a Store without a
// read model.
func NewSeenByID() *Seen { return &Seen{byID: true} }

// First reports whether worker id is new to s by its id, and records it.
// Not to be mixed with LoadNew on one Seen: a Store without a read model
// (a test's) calls it alone.
func (s *Seen) First(id string) bool {
	if s.ids[id] {
		return false
	}
	if s.ids == nil {
		s.ids = make(map[string]bool)
	}
	s.ids[id] = true
	return true
}

// first reports whether the worker of e (id) is new to s, and records it:
// by the model's number when it has one, else by id. The first worker
// decides which: a later one the other way is an ErrSeenReset.
func (s *Seen) first(e *readEntry, id string) (bool, error) {
	return s.firstIn(e.gen, e.slot, id)
}

// bitmap returns s's bits for numbering gen, long enough for slots below
// slots, for a caller that records workers in them itself (markNew) as
// firstIn does; nil when firstIn is to decide: s tells workers by id, gen
// is none, or s holds another numbering's (ErrSeenReset, from firstIn).
func (s *Seen) bitmap(gen uint64, slots int32) []uint64 {
	if s.byID || gen == 0 || (s.gen != 0 && gen != s.gen) {
		return nil
	}
	s.gen = gen
	if w := (int(slots) + 63) / 64; w > len(s.bits) {
		s.bits = slices.Grow(s.bits, max(w, s.want)-len(s.bits))[:w]
	}
	return s.bits
}

// markNew records slot in bits, reporting whether it was not there yet.
func markNew(bits []uint64, slot int32) bool {
	w, bit := uint32(slot)/64, uint64(1)<<(uint32(slot)%64)
	if bits[w]&bit != 0 {
		return false
	}
	bits[w] |= bit
	return true
}

// firstIn is first for a worker numbered slot in numbering gen (0: none).
func (s *Seen) firstIn(gen uint64, slot int32, id string) (bool, error) {
	if s.byID || (s.gen == 0 && s.ids == nil && gen == 0) {
		s.byID = true
		return s.First(id), nil
	}
	if gen == 0 || (s.gen != 0 && gen != s.gen) {
		return false, ErrSeenReset
	}
	s.gen = gen
	if w := int(slot) / 64; w >= len(s.bits) {
		s.bits = slices.Grow(s.bits, max(w+1, s.want)-len(s.bits))[:w+1]
	}
	return markNew(s.bits, slot), nil
}
