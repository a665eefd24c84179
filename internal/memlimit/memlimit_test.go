package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		s    Sample
		want int64
	}{
		{"floor over a small heap", Default, Sample{Live: 20 << 20, Other: 10 << 20}, 128 << 20},
		{"ratio over a large heap", Default, Sample{Live: 120 << 20, Other: 10 << 20}, 190 << 20},
		{"at the floor exactly", Config{Floor: 100, Ratio: 2}, Sample{Live: 45, Other: 10}, 100},
		{"just over the floor", Config{Floor: 100, Ratio: 2}, Sample{Live: 46, Other: 10}, 102},
		{"no overflow", Config{Floor: 1, Ratio: 4}, Sample{Live: math.MaxUint64 / 2}, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Limit(tt.s); got != tt.want {
				t.Errorf("Limit(%+v) = %d, want %d", tt.s, got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Default, true},
		{Config{Floor: 1, Ratio: 1.1}, true},
		{Config{}, false},
		{Config{Floor: 0, Ratio: 2}, false},
		{Config{Floor: 1 << 20, Ratio: 1}, false},
		{Config{Floor: 1 << 20, Ratio: math.NaN()}, false},
		{Config{Floor: 1 << 20, Ratio: math.Inf(1)}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok %v", tt.cfg, err, tt.ok)
		}
	}
	if _, err := Start(Config{}); err == nil {
		t.Error("Start(Config{}) = nil error, want the rule refused")
	}
}

func TestReadSeesTheLiveHeap(t *testing.T) {
	runtime.GC()
	before := Read()
	hold := make([]byte, 32<<20)
	for i := range hold {
		hold[i] = byte(i)
	}
	runtime.GC()
	after := Read()
	runtime.KeepAlive(hold)
	if grew := int64(after.Live) - int64(before.Live); grew < 30<<20 {
		t.Errorf("live heap grew %d bytes holding 32 MiB (before %+v, after %+v)", grew, before, after)
	}
	if after.Other == 0 {
		t.Errorf("Other = 0 (%+v): the runtime's memory outside the heap not read", after)
	}
}

// waitAdjusted waits until t has adjusted more than n times: a cleanup
// runs on its own goroutine after the collection that freed its object.
func waitAdjusted(tb testing.TB, t *Tuner, n int64) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for t.Adjustments() <= n {
		if time.Now().After(deadline) {
			tb.Fatalf("no adjustment after a collection in 10 s (%d so far)", t.Adjustments())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// limits reads the tuner's limit and the runtime's together, between
// adjustments, which may run at any collection.
func limits(t *Tuner) (tuner, runtime int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Limit(), debug.SetMemoryLimit(-1)
}

func TestTunerFollowsTheLiveHeap(t *testing.T) {
	previous := debug.SetMemoryLimit(-1)
	cfg := Config{Floor: 1 << 20, Ratio: 2}
	runtime.GC() // the live heap sampled at Start is the last collection's
	tu, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tu.Stop)
	// A collection may come between Start and here (the limit is a few
	// MiB, which the test's own allocations reach), so Start's is only
	// the first of the adjustments seen.
	small, got := limits(tu)
	if tu.Adjustments() < 1 || small <= cfg.Floor {
		t.Fatalf("after Start: %d adjustments, limit %d; want at least 1 and above the floor", tu.Adjustments(), small)
	}
	if got != small {
		t.Fatalf("runtime's limit %d, tuner's %d", got, small)
	}

	hold := make([]byte, 64<<20)
	for i := range hold {
		hold[i] = byte(i)
	}
	waitAdjusted(t, tu, tu.Adjustments())
	waitAdjusted(t, tu, tu.Adjustments()) // a collection that saw hold live
	large, got := limits(tu)
	runtime.KeepAlive(hold)
	// Twice the 64 MiB held, less what the test's own garbage may have
	// counted as live in the first sample.
	if large-small < 120<<20 {
		t.Errorf("limit %d -> %d holding 64 MiB more at ratio 2: grew %d, want about 128 MiB", small, large, large-small)
	}
	if got != large {
		t.Errorf("runtime's limit %d, tuner's %d", got, large)
	}

	tu.Stop()
	if got := debug.SetMemoryLimit(-1); got != previous {
		t.Errorf("after Stop the limit is %d, want the one before Start, %d", got, previous)
	}
	n := tu.Adjustments()
	runtime.GC()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if tu.Adjustments() != n {
		t.Errorf("%d adjustments after Stop", tu.Adjustments()-n)
	}
	if got := debug.SetMemoryLimit(-1); got != previous {
		t.Errorf("a collection after Stop set the limit to %d, want %d", got, previous)
	}
	tu.Stop() // twice is harmless
}
