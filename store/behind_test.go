package store

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// countTrips counts the round trips a client makes: a command alone or a
// pipeline.
type countTrips struct{ n *atomic.Int64 }

func (countTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// openStores opens n stores on one private redis-server, as n processes
// sharing it.
func openStores(t *testing.T, n int) []*Store {
	t.Helper()
	srv := storetest.RunRedis(t)
	out := make([]*Store, n)
	for i := range out {
		st, err := Open(t.Context(), testConfig(srv.URL()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out[i] = st
	}
	return out
}

// openPair opens the store under test and another process's, which
// reads only what has landed.
func openPair(t *testing.T) (s, other *Store) {
	t.Helper()
	st := openStores(t, 2)
	return st[0], st[1]
}

// eventually fails the test unless ok holds within a second.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a second", what)
		}
	}
}

// TestWritesBehindLandTogether: the last workers and urgent calls of a
// burst are read at once by the process that wrote them, land for
// another within moments, and share their round trips rather than each
// making one.
func TestWritesBehindLandTogether(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	var trips atomic.Int64
	s.rdb.AddHook(countTrips{&trips})
	region := geo.RegionOf(nycA).String()
	const n = 50
	for i := range n {
		if err := s.SetLastWorker(ctx, "key-1", fmt.Sprintf("c%02d", i), fmt.Sprintf("w%02d", i)); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordUrgent(ctx, region, UrgentCall{At: t0.Add(time.Duration(i) * time.Minute), Location: nycA, Skills: []string{"plumbing"}}); err != nil {
			t.Fatal(err)
		}
		// Read at once by the process that wrote it.
		if got, err := s.LastWorker(ctx, "key-1", fmt.Sprintf("c%02d", i)); err != nil || got != fmt.Sprintf("w%02d", i) {
			t.Fatalf("LastWorker right after SetLastWorker = %q, %v", got, err)
		}
	}
	eventually(t, "the last customer's worker for another process", func() bool {
		got, err := other.LastWorker(ctx, "key-1", fmt.Sprintf("c%02d", n-1))
		return err == nil && got == fmt.Sprintf("w%02d", n-1)
	})
	if got := trips.Load(); got >= n/5 {
		t.Errorf("%d writes behind made %d round trips, want them shared", 2*n, got)
	}
	for i := range n {
		if got, err := other.LastWorker(ctx, "key-1", fmt.Sprintf("c%02d", i)); err != nil || got != fmt.Sprintf("w%02d", i) {
			t.Errorf("another process reads customer c%02d's last worker %q, %v", i, got, err)
		}
	}
	calls, err := other.RecentUrgent(ctx, region, t0)
	if err != nil || len(calls) != n {
		t.Fatalf("RecentUrgent: %d calls, %v; want %d", len(calls), err, n)
	}
	for i, c := range calls { // newest first
		if want := t0.Add(time.Duration(n-1-i) * time.Minute); !c.At.Equal(want) {
			t.Fatalf("recent call %d at %v, want %v (newest first)", i, c.At, want)
		}
	}
}

// TestUrgentCountsWrittenBehind: urgent calls counted behind the request
// sum to what one write each gave: per region, skill and UTC hour of the
// day they came, one place each, newest first; and the process that
// recorded them reads them back at once.
func TestUrgentCountsWrittenBehind(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	a, b := geo.RegionOf(nycA).String(), geo.RegionOf(philly).String()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	type rec struct {
		region string
		hour   int
		skills []string
	}
	recs := []rec{{a, 9, []string{"plumbing"}}, {a, 9, []string{"plumbing", "electrical"}}, {b, 9, []string{"plumbing"}},
		{a, 18, []string{"electrical"}}, {a, 9, []string{"plumbing"}}, {b, 23, []string{"cleaning"}}}
	want := map[string]map[string][24]int{}
	order := map[string][]time.Time{} // each region's, last recorded first
	for i, r := range recs {
		at := day.Add(time.Duration(r.hour)*time.Hour + time.Duration(i)*time.Minute)
		order[r.region] = append([]time.Time{at}, order[r.region]...)
		if err := s.RecordUrgent(ctx, r.region, UrgentCall{At: at, Location: nycA, Skills: r.skills}); err != nil {
			t.Fatal(err)
		}
		if want[r.region] == nil {
			want[r.region] = map[string][24]int{}
		}
		for _, sk := range r.skills {
			c := want[r.region][sk]
			c[r.hour]++
			want[r.region][sk] = c
		}
	}
	check := func(who string, st *Store) {
		t.Helper()
		got, err := st.UrgentCounts(ctx, 7, day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got.Days != 1 || fmt.Sprint(got.Counts) != fmt.Sprint(want) {
			t.Errorf("%s: UrgentCounts = %d days %v, want 1 day %v", who, got.Days, got.Counts, want)
		}
	}
	check("the process that recorded them", s) // before any wait
	check("another process", other)
	for region, ats := range order {
		calls, err := other.RecentUrgent(ctx, region, day)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]time.Time, len(calls))
		for i, c := range calls {
			got[i] = c.At
		}
		if !slices.EqualFunc(got, ats, time.Time.Equal) {
			t.Errorf("RecentUrgent(%s) = %v, want %v (the last recorded first)", region, got, ats)
		}
	}
}

// TestCloseWritesWhatIsBehind: what a store closes with is written
// before its connections go.
func TestCloseWritesWhatIsBehind(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	if err := s.SetLastWorker(ctx, "key-1", "c1", "w1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := other.LastWorker(ctx, "key-1", "c1"); err != nil || got != "w1" {
		t.Errorf("after Close another process reads %q, %v; want w1", got, err)
	}
}

// TestErasureDropsWhatIsBehind: a customer erased while its last worker
// is still to be written stays erased: nothing written behind brings it
// back, for this process or another.
func TestErasureDropsWhatIsBehind(t *testing.T) {
	s, other := openPair(t)
	ctx := t.Context()
	for _, tenant := range []string{"key-1", AllTenants} {
		if err := s.SetLastWorker(ctx, "key-1", "c1", "w1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EraseCustomer(ctx, tenant, "c1", t0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * behindDelay)
		s.flushBehind()
		for who, st := range map[string]*Store{"this process": s, "another process": other} {
			if got, err := st.LastWorker(ctx, "key-1", "c1"); err != nil || got != "" {
				t.Errorf("erased for %s: %s reads last worker %q, %v; want none", tenant, who, got, err)
			}
		}
	}
	// Another customer's pending record is kept.
	if err := s.SetLastWorker(ctx, "key-1", "c2", "w2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseCustomer(ctx, AllTenants, "c1", t0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "another customer's last worker", func() bool {
		got, err := other.LastWorker(ctx, "key-1", "c2")
		return err == nil && got == "w2"
	})
}

// holdPipelines holds the first pipeline sent until release is closed,
// and closes held when it begins to wait.
type holdPipelines struct {
	held    chan struct{}
	release chan struct{}
	once    *atomic.Bool
}

func (holdPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (holdPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h holdPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.once.CompareAndSwap(false, true) {
			close(h.held)
			<-h.release
		}
		return next(ctx, cmds)
	}
}

// TestLastWorkerReadWhileItLands: while the batch holding a customer's
// last worker is on its way to Redis, the process that wrote it still
// reads it (not Redis' older record).
func TestLastWorkerReadWhileItLands(t *testing.T) {
	s, _ := openPair(t)
	ctx := t.Context()
	if err := s.SetLastWorker(ctx, "key-1", "c1", "old"); err != nil {
		t.Fatal(err)
	}
	s.flushBehind()
	h := holdPipelines{held: make(chan struct{}), release: make(chan struct{}), once: new(atomic.Bool)}
	s.rdb.AddHook(h)
	if err := s.SetLastWorker(ctx, "key-1", "c1", "new"); err != nil {
		t.Fatal(err)
	}
	<-h.held // the batch is being written
	got, err := s.LastWorker(ctx, "key-1", "c1")
	close(h.release)
	if err != nil || got != "new" {
		t.Errorf("LastWorker while its batch lands = %q, %v; want new", got, err)
	}
}

// TestBehindCountsWhatItLost: the batches written behind and their
// writes are counted, and a batch that fails (Redis gone) is counted
// lost with its writes. (A batch may be written by its timer between the
// writes: the counts allow for more batches, never other writes.)
func TestBehindCountsWhatItLost(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	for i := range 3 {
		if err := s.SetLastWorker(ctx, "key-1", fmt.Sprintf("c%d", i), "w1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	first := s.BehindStats()
	if first.Batches < 1 || first.Writes != 3 || first.FailedBatches != 0 || first.LostWrites != 0 {
		t.Errorf("after three writes: %+v", first)
	}
	h.down()
	for i := range 2 {
		if err := s.SetLastWorker(ctx, "key-1", fmt.Sprintf("d%d", i), "w1"); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush() // it, or the timer's batch before it, fails
	if got := s.BehindStats(); got.Writes != 5 || got.LostWrites != 2 || got.FailedBatches < 1 || got.Batches != first.Batches+got.FailedBatches {
		t.Errorf("after two writes with Redis gone: %+v", got)
	}
}
