package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// follow runs s.FollowChanges until the test ends, and waits until the
// mirror serves.
func follow(t *testing.T, s *Store) { storetest.Follow(t, s, 20*time.Millisecond) }

// TestMirrorAsRedis: a store following the change feeds (the reader)
// lists the workers of any cells and gives their versions exactly as one
// reading Redis does (the writer, which makes every change), right after
// each change with no wait: workers put, moved within and across regions
// (a reported position in another region, a home moved to another
// region), deleted, booked and cancelled, over two regions.
func TestMirrorAsRedis(t *testing.T) {
	t.Parallel()
	srv := storetest.RunRedis(t)
	testMirrorAsRedis(t, func() *Store {
		s, err := Open(t.Context(), testConfig(srv.URL()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestMirrorAsRedisCluster is the same on a Redis Cluster, where each
// region's feed lives in its region's slot.
func TestMirrorAsRedisCluster(t *testing.T) {
	t.Parallel()
	cfg := testConfig(storetest.ClusterURL(storetest.RunCluster(t, 3)))
	cfg.Cluster = true
	testMirrorAsRedis(t, func() *Store {
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestMirrorAsRedisEmbedded is the same on the embedded server.
func TestMirrorAsRedisEmbedded(t *testing.T) {
	t.Parallel()
	emb, err := openEmbedded(t.Context(), testConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	first := true
	testMirrorAsRedis(t, func() *Store {
		if first {
			first = false
			return emb
		}
		s := New(redis.NewClient(&redis.Options{Addr: emb.mini.Addr()}))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func testMirrorAsRedis(t *testing.T, open func() *Store) {
	writer, reader := open(), open()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(7, 11))
	places := []doorstep.Location{nycA, nycB, nycC, philly}
	jitter := func() doorstep.Location {
		p := places[rng.IntN(len(places))]
		return doorstep.Location{Lat: p.Lat + (rng.Float64()-0.5)*0.02, Lng: p.Lng + (rng.Float64()-0.5)*0.02}
	}
	cellSet := map[geo.Cell]bool{}
	var cells []geo.Cell
	note := func(l doorstep.Location) {
		if c := geo.IndexCell(l); !cellSet[c] {
			cellSet[c] = true
			cells = append(cells, c)
		}
	}
	workers := map[string]*doorstep.Worker{}
	put := func(id string) {
		t.Helper()
		w := newWorker(id, jitter())
		if _, err := writer.PutWorker(ctx, w); err != nil {
			// Moving a home to another region is refused while bookings
			// there may not be over: nothing changes, which must match
			// too.
			if e, ok := errors.AsType[*doorstep.Error](err); !ok || e.Code != doorstep.EINVALID || e.Field != "home" {
				t.Fatalf("PutWorker(%s): %v", id, err)
			}
			return
		}
		note(w.Home)
		workers[id] = w
	}
	// Some workers exist before the reader follows: it loads them from
	// the rosters.
	for i := range 8 {
		put(fmt.Sprintf("w%02d", i))
	}
	follow(t, reader)
	list := func(op int, what string, cells []geo.Cell) (got, want []WorkerRef) {
		t.Helper()
		want, err := writer.WorkerIDsInCells(ctx, cells)
		if err != nil {
			t.Fatal(err)
		}
		served := reader.mirror.served.Load()
		got, err = reader.WorkerIDsInCells(ctx, cells)
		if err != nil {
			t.Fatal(err)
		}
		if reader.mirror.served.Load() == served {
			t.Fatalf("op %d (%s): the listing was not served by the mirror", op, what)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("op %d (%s): the mirror lists %v, Redis %v", op, what, got, want)
		}
		return got, want
	}
	check := func(op int, what string) {
		t.Helper()
		// Each region's cells alone first: a search that reads only the
		// feed of the region a worker of another region reported into
		// must see it there.
		for _, r := range []string{regionOfLoc(nycA), regionOfLoc(philly)} {
			var own []geo.Cell
			for _, c := range cells {
				if cellRegion(c) == r {
					own = append(own, c)
				}
			}
			list(op, what+", cells of region "+r, own)
		}
		got, want := list(op, what, cells)
		wantC, err := writer.LoadCandidates(ctx, want, t0.Add(-time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		gotC, err := reader.LoadCandidates(ctx, got, t0.Add(-time.Hour), t0.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		versions := func(cs []Candidate) map[string]int64 {
			m := map[string]int64{}
			for _, c := range cs {
				m[c.Region+"/"+c.Worker.ID] = c.Version
			}
			return m
		}
		if g, w := versions(gotC), versions(wantC); fmt.Sprint(g) != fmt.Sprint(w) {
			t.Fatalf("op %d (%s): the mirror's versions %v, Redis' %v", op, what, g, w)
		}
		for i := range gotC {
			if len(gotC[i].Bookings) != len(wantC[i].Bookings) {
				t.Fatalf("op %d (%s): worker %s has %d bookings through the mirror, %d through Redis", op, what, gotC[i].Worker.ID, len(gotC[i].Bookings), len(wantC[i].Bookings))
			}
		}
		// A search step from the mirror gives the same candidates, in
		// the same order, as the listing and the load from Redis.
		steps := reader.mirror.served.Load()
		cands, err := reader.LoadCells(ctx, new(Seen), cells, t0.Add(-time.Hour), t0.Add(24*time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if reader.mirror.served.Load() == steps {
			t.Fatalf("op %d (%s): LoadCells was not served by the mirror", op, what)
		}
		show := func(cs []Candidate) string {
			var b strings.Builder
			for _, c := range cs {
				fmt.Fprintf(&b, "%s/%s@%d:%d ", c.Region, c.Worker.ID, c.Version, len(c.Bookings))
			}
			return b.String()
		}
		if g, w := show(cands), show(wantC); g != w {
			t.Fatalf("op %d (%s): LoadCells from the mirror gave\n%s\nRedis\n%s", op, what, g, w)
		}
	}
	check(0, "loaded")
	var booked []*doorstep.Booking
	for op := 1; op <= 300; op++ {
		id := fmt.Sprintf("w%02d", rng.IntN(14))
		w := workers[id]
		var what string
		switch k := rng.IntN(10); {
		case w == nil || k == 0:
			what = "put " + id
			put(id)
		case k == 1:
			what = "delete " + id
			// Refused while the worker has bookings ahead: then nothing
			// changes, which must match too.
			if err := writer.DeleteWorker(ctx, id); err == nil {
				delete(workers, id)
			}
		case k < 5:
			what = "report " + id
			at := jitter()
			if err := writer.SetLocation(ctx, id, at, t0.Add(time.Duration(op)*time.Second)); err != nil {
				t.Fatalf("SetLocation(%s): %v", id, err)
			}
			note(at)
		case k < 8:
			what = "book " + id
			b := newBooking(w, t0.Add(time.Duration(op)*time.Minute), 30*time.Second, w.Home)
			mustBook(t, writer, b)
			booked = append(booked, b)
		default:
			if len(booked) == 0 {
				continue
			}
			b := booked[rng.IntN(len(booked))]
			what = "cancel " + b.ID
			if _, err := writer.CancelBooking(ctx, b.ID, t0); err != nil && doorstep.ErrorCode(err) != doorstep.ENOTFOUND && doorstep.ErrorCode(err) != doorstep.ECONFLICT {
				t.Fatalf("CancelBooking(%s): %v", b.ID, err)
			}
		}
		check(op, what)
	}
	if reader.mirror.reads.Load() == 0 {
		t.Error("the reader never read a change feed")
	}
}

// TestMirrorReadsAgainWhatItLost: when a feed no longer holds the entry
// the mirror stopped at (trimmed, or the data lost), the search reads
// Redis, the region is loaded again, and the mirror serves again, right.
func TestMirrorReadsAgainWhatItLost(t *testing.T) {
	t.Parallel()
	h := openRedis(t)
	writer := h.s
	reader, err := Open(t.Context(), testConfig("redis://"+h.addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	ctx := t.Context()
	w1, w2 := newWorker("w1", nycA), newWorker("w2", nycB)
	mustPutWorker(t, writer, w1)
	follow(t, reader)
	cells := []geo.Cell{geo.IndexCell(nycA), geo.IndexCell(nycB)}
	list := func() []WorkerRef {
		t.Helper()
		refs, err := reader.WorkerIDsInCells(ctx, cells)
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}
	if got := list(); len(got) != 1 || got[0].ID != "w1" {
		t.Fatalf("listed %v, want w1", got)
	}
	// The feed is lost, then w2 arrives: its entry is alone in a new feed.
	if err := writer.rdb.Del(ctx, changesKey(regionOf(w1))).Err(); err != nil {
		t.Fatal(err)
	}
	mustPutWorker(t, writer, w2)
	if got := list(); len(got) != 2 {
		t.Fatalf("after the feed was lost: listed %v, want w1 and w2 (read from Redis)", got)
	}
	storetest.WaitMirroring(t, reader)
	served := reader.mirror.served.Load()
	if got := list(); len(got) != 2 || reader.mirror.served.Load() == served {
		t.Fatalf("after loading again: listed %v (served by the mirror: %v), want w1 and w2 from the mirror", got, reader.mirror.served.Load() > served)
	}
	// Everything lost: the mirror must not list what is gone.
	if err := writer.rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after FLUSHALL: listed %v, want none", got)
	}
}

// TestMirrorForgetsWhatThisProcessRedacted: a redaction or an erasure in
// this process drops the workers the search steps hold from the read
// model (the exact locations they reduced), mirrored or not: the next
// step reads the booking as it now is.
func TestMirrorForgetsWhatThisProcessRedacted(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	w := newWorker("w1", nycA)
	mustPutWorker(t, s, w)
	b := newBooking(w, t0, 30*time.Minute, nycB)
	mustBook(t, s, b)
	follow(t, s)
	step := func() *doorstep.Booking {
		t.Helper()
		served := s.mirror.served.Load()
		cands, err := s.LoadCells(ctx, new(Seen), []geo.Cell{geo.IndexCell(nycA)}, t0.Add(-time.Hour), t0.Add(2*time.Hour), nil)
		if err != nil || len(cands) != 1 || len(cands[0].Bookings) != 1 {
			t.Fatalf("LoadCells: %v, %v", cands, err)
		}
		if s.mirror.served.Load() == served {
			t.Fatal("the step was not served by the mirror")
		}
		return cands[0].Bookings[0]
	}
	if got := step(); got.Cell != "" {
		t.Fatalf("before the redaction the booking is already reduced: %+v", got)
	}
	if n, err := s.RedactFinished(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("RedactFinished: %d, %v", n, err)
	}
	if got := step(); got.Cell == "" || got.Location == nycB {
		t.Errorf("after the redaction the step still holds the exact location %v", got.Location)
	}
}

// TestMirrorLearnsFromARefusedApply: a change that came without a feed
// entry (a server of a version before the feeds) leaves the mirror's
// version behind, so an Apply pinned to it is refused; the refusal teaches
// the mirror the version, and the retry's read is at it and succeeds.
func TestMirrorLearnsFromARefusedApply(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	w := newWorker("w1", nycA)
	mustPutWorker(t, s, w)
	follow(t, s)
	version := func() int64 {
		t.Helper()
		cands, err := s.LoadCells(ctx, new(Seen), []geo.Cell{geo.IndexCell(nycA)}, t0, t0.Add(time.Hour), nil)
		if err != nil || len(cands) != 1 {
			t.Fatalf("LoadCells: %v, %v", cands, err)
		}
		return cands[0].Version
	}
	before := version()
	// An old server's change: the version moves, the feed hears nothing.
	if err := s.rdb.Incr(ctx, versionKey(regionOf(w), w.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if got := version(); got != before {
		t.Fatalf("the mirror saw a change that has no feed entry (%d -> %d): the test shows nothing", before, got)
	}
	b := newBooking(w, t0, 30*time.Minute, nycB)
	err := s.Apply(ctx, Change{Region: regionOf(w), Expect: map[string]int64{w.ID: before}, Create: []*doorstep.Booking{b}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Apply at the mirror's stale version: %v, want a conflict", err)
	}
	after := version()
	if after != before+1 {
		t.Fatalf("after the refusal the mirror reads version %d, want %d", after, before+1)
	}
	if err := s.Apply(ctx, Change{Region: regionOf(w), Expect: map[string]int64{w.ID: after}, Create: []*doorstep.Booking{b}}); err != nil {
		t.Fatalf("the retry at the learnt version: %v", err)
	}
	// The feed's own entries still apply on top (the booking's bump).
	if got := version(); got != after+1 {
		t.Errorf("after the booking the mirror reads version %d, want %d", got, after+1)
	}
}

// TestWaitsBuckets: a wait is counted in the first bucket whose bound it
// does not pass (a bound itself included), past every bound in the last,
// and summed.
func TestWaitsBuckets(t *testing.T) {
	var w waits
	for _, d := range []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 150 * time.Microsecond, 3 * time.Millisecond, 200 * time.Millisecond} {
		w.observe(d)
	}
	got := w.snapshot()
	want := make([]uint64, len(waitBounds)+1)
	want[0], want[1], want[5], want[len(waitBounds)] = 2, 1, 1, 1 // <=100µs, <=250µs, <=4ms, >128ms
	if !slices.Equal(got.Counts, want) {
		t.Errorf("counts %v, want %v", got.Counts, want)
	}
	if wantSum := 203300 * time.Microsecond; got.Sum != wantSum {
		t.Errorf("sum %v, want %v", got.Sum, wantSum)
	}
}

// TestMirrorCountsSyncWaits: every search step the mirror serves counts
// its wait for the feeds in MirrorStats.SyncWait.
func TestMirrorCountsSyncWaits(t *testing.T) {
	s, _, _, region, cells := followOneWorker(t)
	count := func() (n uint64) {
		for _, c := range s.MirrorStats().SyncWait.Counts {
			n += c
		}
		return n
	}
	before, steps := count(), s.MirrorStats().Steps
	for range 3 {
		if _, err := s.LoadCells(WithSearchRegion(t.Context(), region), new(Seen), cells, t0, t0.Add(24*time.Hour), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, served := count()-before, s.MirrorStats().Steps-steps; served != 3 || n != 3 {
		t.Errorf("3 search steps: %d served by the mirror, %d waits counted; want 3 and 3", served, n)
	}
}
