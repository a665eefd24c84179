package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestClaimReadsTheFeedForTheSearch: a claim given its request's region
// reads that region's change feed in its own round trip, and the first
// search under the claim, finding the mirror read, makes none; it sees
// every change answered before the claim. A second search under the
// claim (as after a refused Apply) reads the feed again, and a claim
// without a region leaves the read to its search.
func TestClaimReadsTheFeedForTheSearch(t *testing.T) {
	s, region, book, search, trips := feedAheadFixture(t)
	ctx := t.Context()
	for i, c := range []struct {
		region     string
		claimTrips int64 // the claim's round trips
		feedReads  int64 // its first search's reads of the feeds
	}{{region, 1, 0}, {"", 1, 1}} {
		want := book(t0.Add(time.Duration(i) * time.Hour))
		trips.Store(0)
		reads := s.mirror.reads.Load()
		rec, fresh, err := s.BeginIdempotent(ctx, "key-1", fmt.Sprintf("k%d", i), "fp", IdemOptions{Region: c.region})
		if err != nil || !fresh {
			t.Fatalf("BeginIdempotent: fresh %v, %v", fresh, err)
		}
		if n := trips.Load(); n != c.claimTrips {
			t.Fatalf("region %q: the claim took %d round trips, want %d", c.region, n, c.claimTrips)
		}
		checkSearches(t, s, book, search, WithClaim(ctx, rec.Claim), reads, want, c.feedReads,
			t0.Add(time.Duration(i)*time.Hour+30*time.Minute), fmt.Sprintf("region %q, under the claim", c.region))
	}
}

// checkSearches checks the first search under ctx (s's feed reads at
// reads before it) reads version want of the worker and reads the feeds
// feedReads times, and that, after a change booked at next, a second
// search reads that change, reading the feeds once.
func checkSearches(t *testing.T, s *Store, book func(time.Time) int64, search func(context.Context) int64, ctx context.Context, reads, want, feedReads int64, next time.Time, what string) {
	t.Helper()
	if got := search(ctx); got != want {
		t.Errorf("%s: the first search reads version %d, want %d (the change answered before the request)", what, got, want)
	}
	if n := s.mirror.reads.Load() - reads; n != feedReads {
		t.Errorf("%s: the first search read the feeds %d times, want %d", what, n, feedReads)
	}
	want = book(next)
	reads = s.mirror.reads.Load()
	if got := search(ctx); got != want {
		t.Errorf("%s: the second search reads version %d, want %d", what, got, want)
	}
	if n := s.mirror.reads.Load() - reads; n != 1 {
		t.Errorf("%s: the second search read the feeds %d times, want 1", what, n)
	}
}

// TestFeedAheadOvertaken: a read of a feed sent with a claim that a
// search's read overtook (the mirror moved past where the claim's read
// began) is not applied, and gives its claim no freshness.
func TestFeedAheadOvertaken(t *testing.T) {
	s, writer := openPair(t)
	ctx := t.Context()
	w := newWorker("w1", nycA)
	mustPutWorker(t, writer, w)
	follow(t, s)
	region := regionOf(w)
	pipe := s.rdb.Pipeline()
	ahead := s.readFeedAhead(ctx, pipe, region)
	if ahead == nil {
		t.Fatal("readFeedAhead read nothing from a mirror that follows the region")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := writer.Apply(ctx, Change{Region: region, Expect: map[string]int64{w.ID: 1}, Create: []*doorstep.Booking{newBooking(w, t0, 30*time.Minute, nycB)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.syncMirror(ctx, []string{region}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := s.landFeedAhead(ahead); !got.IsZero() {
		t.Errorf("an overtaken read landed, sent at %v", got)
	}
	if ahead := s.readFeedAhead(ctx, s.rdb.Pipeline(), ""); ahead != nil {
		t.Error("readFeedAhead read a feed for no region")
	}
}

// TestMirrorNotPausedByASearchsEnd: a search whose own context ended
// fails its read of the feeds, but does not pause the mirror for the
// searches after it (as a read that failed on its own does, mirrorPause):
// a client gone or a deadline passed says nothing of Redis.
func TestMirrorNotPausedByASearchsEnd(t *testing.T) {
	s, _, _, region, cells := followOneWorker(t)
	ctx := t.Context()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.LoadCells(gone, new(Seen), cells, t0, t0.Add(24*time.Hour), nil); err == nil {
		t.Fatal("LoadCells of a search whose context ended: no error")
	}
	if err := s.syncMirror(gone, []string{region}, time.Now()); err == nil {
		t.Fatal("a read of the feeds for a search whose context ended: no error")
	}
	before := s.MirrorStats()
	if before.FeedFailures != 0 {
		t.Errorf("FeedFailures = %d after searches whose contexts ended, want 0", before.FeedFailures)
	}
	cands, err := s.LoadCells(ctx, new(Seen), cells, t0, t0.Add(24*time.Hour), nil)
	if err != nil || len(cands) != 1 {
		t.Fatalf("LoadCells: %v, %v", cands, err)
	}
	if after := s.MirrorStats(); after.Steps != before.Steps+1 {
		t.Errorf("the next search was served from the mirror %d times, want once: the mirror paused", after.Steps-before.Steps)
	}
}

// followOneWorker opens a reader s and a writer on one redis-server, puts
// one worker w at nycA through the writer, and has s follow the change
// feeds. The following loop reads the feeds once, to load them: the reads
// after are the searches' own. region is w's, cells its home's.
func followOneWorker(t *testing.T) (s, writer *Store, w *doorstep.Worker, region string, cells []geo.Cell) {
	t.Helper()
	s, writer = openPair(t)
	w = newWorker("w1", nycA)
	mustPutWorker(t, writer, w)
	storetest.Follow(t, s, time.Hour)
	return s, writer, w, regionOf(w), []geo.Cell{geo.IndexCell(nycA)}
}

// TestLastWorkerReadsTheFeedForTheSearch: a customer's last worker read
// for a request's region reads that region's change feed in the same
// round trip, and the request's first search, finding the mirror read,
// makes none; it sees every change answered before the read. A second
// search of the request reads the feed again, and a read without a
// region leaves the feed to its search.
func TestLastWorkerReadsTheFeedForTheSearch(t *testing.T) {
	s, region, book, search, trips := feedAheadFixture(t)
	ctx := t.Context()
	w := "w1" // feedAheadFixture's worker
	if err := s.rdb.Set(ctx, customerLastKey("key-1", "c-known"), w, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		region, customer, last string
		feedReads              int64 // the first search's reads of the feeds
	}{{region, "c-known", w, 0}, {region, "c-new", "", 0}, {"", "c-known", w, 1}} {
		want := book(t0.Add(time.Duration(i) * time.Hour))
		trips.Store(0)
		reads := s.mirror.reads.Load()
		rctx, last, err := s.LastWorkerFresh(ctx, "key-1", c.customer, c.region)
		if err != nil || last != c.last {
			t.Fatalf("LastWorkerFresh(%q, %q) = %q, %v; want %q", c.customer, c.region, last, err, c.last)
		}
		if n := trips.Load(); n != 1 {
			t.Fatalf("region %q: the read took %d round trips, want 1", c.region, n)
		}
		checkSearches(t, s, book, search, rctx, reads, want, c.feedReads,
			t0.Add(time.Duration(i)*time.Hour+30*time.Minute), fmt.Sprintf("region %q, customer %q", c.region, c.customer))
	}
}

// feedAheadFixture is followOneWorker (s, the worker's region) with the
// trips s makes counted (trips), a change booked at the writer, as another server would make
// it, returning the version it left (book), and a search of the worker's
// cells by s, returning the version it read (search).
func feedAheadFixture(t *testing.T) (s *Store, region string, book func(at time.Time) int64, search func(ctx context.Context) int64, trips *atomic.Int64) {
	t.Helper()
	s, writer, w, region, cells := followOneWorker(t)
	ctx := t.Context()
	trips = new(atomic.Int64)
	s.rdb.AddHook(countTrips{trips})
	book = func(at time.Time) int64 {
		t.Helper()
		v, err := writer.rdb.Get(ctx, versionKey(region, w.ID)).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if err := writer.Apply(ctx, Change{Region: region, Expect: map[string]int64{w.ID: v}, Create: []*doorstep.Booking{newBooking(w, at, 30*time.Minute, nycB)}}); err != nil {
			t.Fatal(err)
		}
		return v + 1
	}
	search = func(ctx context.Context) int64 {
		t.Helper()
		cands, err := s.LoadCells(WithSearchRegion(ctx, region), new(Seen), cells, t0, t0.Add(24*time.Hour), nil)
		if err != nil || len(cands) != 1 {
			t.Fatalf("LoadCells: %v, %v", cands, err)
		}
		return cands[0].Version
	}
	return s, region, book, search, trips
}
