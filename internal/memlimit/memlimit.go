// Package memlimit bounds a Go program's memory to a multiple of what it
// keeps live, adjusted after every collection.
//
// A server that collects rarely (a high GOGC, for its latency) lets the
// heap grow to several times its live data between collections. That is
// cheap while the live data is small and dear once it is large: doorstep
// serve kept about 1.1 KiB a worker, and at GOGC 400 a city of 100,000
// workers held 3.5-4.7 KiB of RSS a worker. A fixed GOMEMLIMIT cannot be
// chosen before the city has been read. The Tuner sets the runtime's soft
// memory limit (debug.SetMemoryLimit) after each collection to
//
//	max(Floor, Ratio × live heap + the runtime's memory outside the heap)
//
// so a small program keeps its GOGC (the limit is far above its heap
// goal) and a large one grows by at most Ratio-1 of its live data between
// collections: the memory per unit of live data tends to Ratio. The
// runtime keeps its own safeguards under a limit (the collector takes at
// most about half the CPU), so a limit reached while the live data grows
// slows the program; it never stops it. The next collection raises it.
package memlimit

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Config is a Tuner's rule. The zero value is not valid: use Default or
// set both fields.
type Config struct {
	// Floor is the lowest limit set, in bytes: below it GOGC alone
	// governs the heap.
	Floor int64
	// Ratio is the limit over the live heap, at least 1.1 (a limit near
	// the live heap makes the collector run all the time).
	Ratio float64
}

// Default is doorstep serve's rule: 128 MiB, so a city of tens of
// thousands of workers keeps serve's GOGC of 400, and one and a half times
// the live heap above it, so 100,000 workers stay under 2 KiB a worker
// (bench/RESULTS.md, "The memory a worker costs, bounded by default").
var Default = Config{Floor: 128 << 20, Ratio: 1.5}

// Validate reports whether c is a usable rule.
func (c Config) Validate() error {
	if c.Floor <= 0 {
		return fmt.Errorf("memlimit: floor %d bytes is not positive", c.Floor)
	}
	if !(c.Ratio >= 1.1) || math.IsInf(c.Ratio, 0) {
		return fmt.Errorf("memlimit: ratio %v is not a finite number of at least 1.1", c.Ratio)
	}
	return nil
}

// Sample is what a limit is computed from, in bytes, as the runtime
// reports it after a collection.
type Sample struct {
	// Live is the heap the last collection marked live
	// (/gc/heap/live:bytes).
	Live uint64
	// Other is the runtime's memory outside the heap's spans: goroutine
	// stacks, the collector's and the allocator's metadata, profiling
	// buckets, and the rest (/memory/classes/total:bytes less the heap's
	// objects, unused, free and released classes).
	Other uint64
}

// Limit is the memory limit c sets for s.
func (c Config) Limit(s Sample) int64 {
	v := c.Ratio*float64(s.Live) + float64(s.Other)
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(c.Floor, int64(v))
}

// Read samples the runtime now.
func Read() Sample {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0 // not reported by this runtime
		}
		return samples[i].Value.Uint64()
	}
	heap := v(2) + v(3) + v(4) + v(5)
	s := Sample{Live: v(0)}
	if total := v(1); total > heap {
		s.Other = total - heap
	}
	return s
}

// Tuner sets the memory limit after every collection until Stop.
type Tuner struct {
	cfg      Config
	previous int64 // the limit before Start, restored by Stop

	mu      sync.Mutex // serialises adjustments with Stop
	stopped bool
	limit   atomic.Int64
	adjusts atomic.Int64
}

// Start sets the limit for the runtime as it is now and then after every
// collection. The program should own the limit: Start is for main, not for
// a library, and for a program whose GOMEMLIMIT the operator did not set.
func Start(c Config) (*Tuner, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	t := &Tuner{cfg: c, previous: debug.SetMemoryLimit(-1)}
	t.adjust()
	t.arm()
	return t, nil
}

// sentinel is the object whose cleanup marks the end of a collection: it
// is unreachable as soon as it is made, so the next collection frees it.
// It is large enough for the allocator not to combine it with others (a
// combined object's cleanup may never run).
type sentinel [64]byte

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.adjust() {
			t.arm()
		}
	}, t)
}

// adjust sets the limit from a fresh sample; it reports false once
// stopped.
func (t *Tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	l := t.cfg.Limit(Read())
	if l != t.limit.Load() {
		debug.SetMemoryLimit(l)
		t.limit.Store(l)
	}
	t.adjusts.Add(1)
	return true
}

// Limit is the limit set last.
func (t *Tuner) Limit() int64 { return t.limit.Load() }

// Adjustments counts the limits computed, one at Start and one after each
// collection since.
func (t *Tuner) Adjustments() int64 { return t.adjusts.Load() }

// Stop ends the adjustments and puts back the limit the program had
// before Start.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetMemoryLimit(t.previous)
}
