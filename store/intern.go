package store

import (
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep"
)

// lists holds one copy of each list of skills, certificates and shifts
// that the read model's workers hold, for those workers to share. A
// roster repeats them: a trade's skills, a team's shifts. Decoded apart,
// they were four or five of the twelve objects a worker cost the server
// at 100,000 workers, and about 200 of its 1,100 bytes of heap
// (bench/RESULTS.md, "The read model's workers share their lists").
//
// A shared list is read only, as the read model's workers are, and
// clipped (its capacity its length), so that an append to it makes a new
// one. Equal means equal as reflect.DeepEqual sees it: the same strings;
// the same instants in equal zones (appendTime). nil and empty lists are
// kept as they are. The lists are forgotten, all at once, when more than
// listsMax of a kind are held: workers keep theirs, and shifts, which
// move on day by day, do not pile up. Safe for concurrent use.
type lists struct {
	mu      sync.Mutex
	strings map[string][]string
	shifts  map[string][]doorstep.Shift
}

const listsMax = 1 << 14

// share sets w's lists to the copies held, holding w's where none is.
func (l *lists) share(w *doorstep.Worker) {
	var buf [512]byte
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.strings) >= listsMax || len(l.shifts) >= listsMax {
		l.strings, l.shifts = nil, nil
	}
	if l.strings == nil {
		l.strings, l.shifts = map[string][]string{}, map[string][]doorstep.Shift{}
	}
	w.Skills = l.stringList(buf[:0], w.Skills)
	w.Certificates = l.stringList(buf[:0], w.Certificates)
	w.Shifts = l.shiftList(buf[:0], w.Shifts)
}

func (l *lists) stringList(key []byte, s []string) []string {
	if len(s) == 0 {
		return s
	}
	for _, v := range s {
		key = binary.AppendUvarint(key, uint64(len(v)))
		key = append(key, v...)
	}
	if held, ok := l.strings[string(key)]; ok {
		return held
	}
	s = slices.Clip(s)
	l.strings[string(key)] = s
	return s
}

func (l *lists) shiftList(key []byte, s []doorstep.Shift) []doorstep.Shift {
	if len(s) == 0 {
		return s
	}
	ok := true
	for i := range s {
		key, ok = l.appendTime(key, s[i].Start, ok)
		key, ok = l.appendTime(key, s[i].End, ok)
		key = binary.AppendUvarint(key, uint64(s[i].UrgentOvertimeMinutes))
		if s[i].Breaks == nil {
			key = append(key, 0)
			continue
		}
		key = binary.AppendUvarint(key, uint64(len(s[i].Breaks)+1))
		for _, b := range s[i].Breaks {
			key, ok = l.appendTime(key, b.Earliest, ok)
			key, ok = l.appendTime(key, b.Latest, ok)
			key = binary.AppendVarint(key, int64(b.Duration))
		}
	}
	if !ok {
		return s
	}
	if held, ok := l.shifts[string(key)]; ok {
		return held
	}
	s = slices.Clip(s)
	l.shifts[string(key)] = s
	return s
}

// appendTime appends t's instant and zone. A decoded time is in one of
// three zones: UTC, time.Local, or a fixed zone with no name, which each
// decode of an offset of other than whole hours makes anew, all of them
// equal (reflect.DeepEqual) for one offset, so they are told apart by
// the offset alone. ok turns false for any other time (a monotonic
// reading, a named zone: never decoded), whose list is then not shared.
func (l *lists) appendTime(key []byte, t time.Time, ok bool) ([]byte, bool) {
	key = binary.AppendVarint(key, t.Unix())
	key = binary.AppendUvarint(key, uint64(t.Nanosecond()))
	switch loc := t.Location(); {
	case loc == time.UTC:
		key = append(key, 0)
	case loc == time.Local:
		key = append(key, 1)
	case loc.String() == "":
		_, off := t.Zone()
		key = binary.AppendVarint(append(key, 2), int64(off))
	default:
		ok = false
	}
	return key, ok && t == t.Round(0)
}
