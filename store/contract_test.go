package store

import (
	"context"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// harness is one Redis behind a Store, as the contract tests need it.
type harness struct {
	s    *Store
	addr string // where Redis listens (for tests that put a proxy in front)
	down func() // makes Redis unreachable
}

// openFunc starts a fresh Redis and a Store on it for one test.
type openFunc func(t *testing.T) *harness

// testConfig is the client configuration of the contract tests: generous
// timeouts, so that a loaded machine (the 200-goroutine race queues up on a
// serialising miniredis under -race) does not turn queueing into failures.
// The default timeouts are exercised by RedisDown and LostReply, which open
// their own stores, and by TestOpenFailsFast.
func testConfig(url string) Config {
	return Config{URL: url, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, PoolTimeout: 5 * time.Second}
}

// openRedis runs the contract on a private redis-server.
func openRedis(t *testing.T) *harness {
	t.Helper()
	srv := storetest.RunRedis(t)
	s, err := Open(t.Context(), testConfig(srv.URL()))
	if err != nil {
		t.Fatalf("Open(%s): %v", srv.URL(), err)
	}
	t.Cleanup(func() { s.Close() })
	return &harness{s: s, addr: srv.Addr, down: srv.Stop}
}

// openEmbeddedHarness runs the contract on the embedded miniredis.
func openEmbeddedHarness(t *testing.T) *harness {
	t.Helper()
	s, err := openEmbedded(t.Context(), testConfig(""))
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &harness{s: s, addr: s.mini.Addr(), down: s.mini.Close}
}

func TestContractRedis(t *testing.T) {
	t.Parallel()
	runContract(t, openRedis)
}

// TestContractRedisMirror runs the contract on a store that follows the
// change feeds (FollowChanges): every search lists the workers and reads
// their versions from its mirror, and must answer as from Redis.
func TestContractRedisMirror(t *testing.T) {
	t.Parallel()
	runContract(t, func(t *testing.T) *harness {
		t.Helper()
		h := openRedis(t)
		follow(t, h.s)
		return h
	})
}

// TestContractCluster runs the contract on a Redis Cluster of three
// masters, which refuses any script or transaction whose keys (declared or
// not) span slots: every step must stay within one region's slot.
func TestContractCluster(t *testing.T) {
	t.Parallel()
	cfg := testConfig(storetest.ClusterURL(storetest.RunCluster(t, 3)))
	cfg.Cluster = true
	runContract(t, func(t *testing.T) *harness {
		t.Helper()
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Open cluster: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		// One cluster for every test (they run one at a time), emptied.
		err = s.rdb.(*redis.ClusterClient).ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error {
			return c.FlushAll(ctx).Err()
		})
		if err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		return &harness{s: s}
	})
}

func TestContractEmbedded(t *testing.T) {
	t.Parallel()
	runContract(t, openEmbeddedHarness)
}

// runContract is the behaviour every Redis the store runs on must show.
func runContract(t *testing.T, open openFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, open openFunc)
	}{
		{"WorkerLifecycle", testWorkerLifecycle},
		{"WorkerInvalid", testWorkerInvalid},
		{"Relocate", testRelocate},
		{"HomeRegionMove", testHomeRegionMove},
		{"ListWorkers", testListWorkers},
		{"Candidates", testCandidates},
		{"ApplyRefusals", testApplyRefusals},
		{"ApplyMove", testApplyMove},
		{"ApplyRerun", testApplyRerun},
		{"Cancel", testCancel},
		{"Replan", testReplan},
		{"ConcurrentSameSlot", testConcurrentSameSlot},
		{"MixedLoad", testMixedLoad},
		{"LostReply", testLostReply},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"IdempotencyResolve", testIdempotencyResolve},
		{"RedisDown", testRedisDown},
		{"Events", testEvents},
		{"WebhookRecords", testWebhookRecords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}

// Places used by the tests: three cells of the New York region, and
// Philadelphia, in another region.
var (
	nycA   = doorstep.Location{Lat: 40.7128, Lng: -74.0060}
	nycB   = doorstep.Location{Lat: 40.7580, Lng: -73.9855}
	nycC   = doorstep.Location{Lat: 40.6782, Lng: -73.9442}
	philly = doorstep.Location{Lat: 39.9526, Lng: -75.1652}
)

// t0 is the start of the tests' working day.
var t0 = time.Date(2030, 1, 7, 8, 0, 0, 0, time.UTC)

// regionOfLoc is the region of a home at loc.
func regionOfLoc(loc doorstep.Location) string { return geo.RegionOf(loc).String() }

// TestPlaces pins the premises the contract tests build on.
func TestPlaces(t *testing.T) {
	r := regionOfLoc(nycA)
	for _, l := range []doorstep.Location{nycB, nycC} {
		if got := regionOfLoc(l); got != r {
			t.Errorf("region of %v = %s, want %s", l, got, r)
		}
	}
	if regionOfLoc(philly) == r {
		t.Errorf("Philadelphia is in the New York region %s", r)
	}
	cells := map[geo.Cell]bool{geo.IndexCell(nycA): true, geo.IndexCell(nycB): true, geo.IndexCell(nycC): true}
	if len(cells) != 3 {
		t.Errorf("the New York places share cells: %v", cells)
	}
}

func newWorker(id string, home doorstep.Location) *doorstep.Worker {
	return &doorstep.Worker{
		ID:     id,
		Skills: []string{"plumbing"},
		Home:   home,
		Shifts: []doorstep.Shift{{Start: t0, End: t0.Add(10 * time.Hour)}},
		Rating: 4.5,
	}
}

// mustPutWorker stores w and returns its version.
func mustPutWorker(tb testing.TB, s *Store, w *doorstep.Worker) int64 {
	tb.Helper()
	if _, err := s.PutWorker(context.Background(), w); err != nil {
		tb.Fatalf("PutWorker(%s): %v", w.ID, err)
	}
	_, v, err := s.GetWorker(context.Background(), w.ID)
	if err != nil {
		tb.Fatalf("GetWorker(%s): %v", w.ID, err)
	}
	return v
}

// mustVersion returns the version of worker id.
func mustVersion(tb testing.TB, s *Store, id string) int64 {
	tb.Helper()
	_, v, err := s.GetWorker(context.Background(), id)
	if err != nil {
		tb.Fatalf("GetWorker(%s): %v", id, err)
	}
	return v
}

// newBooking is a confirmed booking of worker w (home region) at start.
func newBooking(w *doorstep.Worker, start time.Time, d time.Duration, at doorstep.Location) *doorstep.Booking {
	return &doorstep.Booking{
		ID:          NewBookingID(regionOf(w)),
		WorkerID:    w.ID,
		Service:     "plumbing",
		Urgency:     doorstep.Normal,
		RequestedAt: t0.Add(-time.Hour),
		Deadline:    t0.Add(23 * time.Hour),
		Start:       start,
		End:         start.Add(d),
		Arrival:     start,
		Status:      doorstep.StatusConfirmed,
		Location:    at,
		Owner:       "key-1",
	}
}

// mustBook reserves b for its worker at the worker's current version.
func mustBook(tb testing.TB, s *Store, b *doorstep.Booking) {
	tb.Helper()
	region, _ := RegionOfBooking(b.ID)
	ch := Change{Region: region, Expect: map[string]int64{b.WorkerID: mustVersion(tb, s, b.WorkerID)}, Create: []*doorstep.Booking{b}}
	if err := s.Apply(context.Background(), ch); err != nil {
		tb.Fatalf("Apply(create %s): %v", b, err)
	}
}

// bookingIDs lists the ids of bs.
func bookingIDs(bs []*doorstep.Booking) []string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	return ids
}

// wantCode fails the test unless err carries the application error code.
func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := doorstep.ErrorCode(err); got != code {
		tb.Fatalf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}
