package store

import (
	"encoding/binary"
	"sync"

	"github.com/doorstep-dev/doorstep"
)

// shiftClasses numbers the lists of shifts (their starts, ends and urgent
// overtime) of the workers a store has read, so that the mirror's lists
// can say which list a worker has (stamp.class) and a search decide a list
// once for every worker that shares it (Narrow.DropShifts). A roster is a
// few patterns of shifts a day, shared by hundreds of workers each; where
// a window no shift holds makes a request unservable, that decision was
// the first touch of each of a city's thousands of qualified workers.
//
// It is a cache, not a registry: a list of more than maxClassShifts
// shifts gets no class, and once maxShiftClasses lists are numbered the
// numbering starts again in a new generation (a class is gen<<32 | id),
// whose classes the old ones never equal: a worker whose stamp holds an
// old class is decided on its record until it is read again.
type shiftClasses struct {
	mu    sync.RWMutex
	gen   uint64
	ids   map[string]uint32
	lists [][]doorstep.Shift // lists[id-1]: starts, ends and urgent overtime only
}

const (
	maxClassShifts  = 16
	maxShiftClasses = 1 << 16
)

// number returns the class of shifts (0 for none).
func (c *shiftClasses) number(shifts []doorstep.Shift) uint64 {
	if len(shifts) == 0 || len(shifts) > maxClassShifts {
		return 0
	}
	var buf [maxClassShifts * 18]byte
	key := buf[:0]
	for i := range shifts {
		key = binary.LittleEndian.AppendUint64(key, uint64(shifts[i].Start.UnixNano()))
		key = binary.LittleEndian.AppendUint64(key, uint64(shifts[i].End.UnixNano()))
		key = binary.AppendUvarint(key, uint64(shifts[i].UrgentOvertimeMinutes))
	}
	c.mu.RLock()
	id, ok := c.ids[string(key)]
	gen := c.gen
	c.mu.RUnlock()
	if ok {
		return gen<<32 | uint64(id)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if id, ok := c.ids[string(key)]; ok {
		return c.gen<<32 | uint64(id)
	}
	if len(c.lists) == maxShiftClasses {
		c.gen++
		c.ids, c.lists = nil, nil
	}
	if c.ids == nil {
		c.ids = map[string]uint32{}
	}
	list := make([]doorstep.Shift, len(shifts))
	for i := range shifts {
		list[i] = doorstep.Shift{Start: shifts[i].Start, End: shifts[i].End, UrgentOvertimeMinutes: shifts[i].UrgentOvertimeMinutes}
	}
	c.lists = append(c.lists, list)
	c.ids[string(key)] = uint32(len(c.lists))
	return c.gen<<32 | uint64(len(c.lists))
}

// shifts returns the shifts of class (shared: read only), false when it
// is none or of an older generation.
func (c *shiftClasses) shifts(class uint64) ([]doorstep.Shift, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id := class & (1<<32 - 1)
	if id == 0 || class>>32 != c.gen || id > uint64(len(c.lists)) {
		return nil, false
	}
	return c.lists[id-1], true
}
