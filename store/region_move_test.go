package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// New York and Boston, in two regions (two Redis Cluster slots).
var (
	newYork = doorstep.Location{Lat: 40.73, Lng: -73.99}
	boston  = doorstep.Location{Lat: 42.36, Lng: -71.06}
)

// TestRegionMoveRace moves workers between New York and Boston from many
// goroutines through two Stores (two clients, as two server processes
// would be) with PutWorker, DeleteWorker and SetLocation interleaved,
// while other goroutines book them with Apply on candidates read from
// either region. A sampler reads both regions' profiles atomically
// meanwhile. No worker may ever be bookable in two regions: never two
// profiles at once, no two confirmed bookings of a worker that overlap in
// any regions, and every booking in a region the worker's record named.
func TestRegionMoveRace(t *testing.T) {
	t.Parallel()
	srv := storetest.RunRedis(t)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { raw.Close() })
	testRegionMoveRace(t, testConfig(srv.URL()), raw)
}

// TestRegionMoveRaceCluster runs the same race on a Redis Cluster of
// three masters, where no script may touch two slots: the protocol must
// hold there too, without the sampler (a transaction cannot span slots).
func TestRegionMoveRaceCluster(t *testing.T) {
	t.Parallel()
	servers := storetest.RunCluster(t, 3)
	cfg := testConfig(storetest.ClusterURL(servers))
	cfg.Cluster = true
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{servers[0].Addr}})
	t.Cleanup(func() { raw.Close() })
	testRegionMoveRace(t, cfg, raw)
}

// testRegionMoveRace runs the race on the Redis of cfg; raw reads it
// directly.
func testRegionMoveRace(t *testing.T, cfg Config, raw redis.UniversalClient) {
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	_, cluster := raw.(*redis.ClusterClient)

	const (
		nWorkers = 24
		nMovers  = 8
		nBookers = 8
		moves    = 120 // operations per mover
		books    = 120 // attempts per booker
		nSlots   = 4   // half hours the bookers aim at
	)
	ctx := context.Background()
	homes := []doorstep.Location{newYork, boston}
	regions := []string{regionOfLoc(newYork), regionOfLoc(boston)}
	if regions[0] == regions[1] {
		t.Fatalf("New York and Boston share region %s", regions[0])
	}
	// Bookings in the future: any of them blocks a move out of its region
	// (PutWorker's "busy" refusal), so the bookers cancel some to let moves
	// go on.
	slot0 := time.Now().Add(48 * time.Hour).Truncate(time.Hour).UTC()
	worker := func(i, city int) *doorstep.Worker {
		w := newWorker(fmt.Sprintf("w%d", i), homes[city])
		w.Shifts = []doorstep.Shift{{Start: slot0.Add(-time.Hour), End: slot0.Add(4 * time.Hour)}}
		return w
	}

	var (
		mu    sync.Mutex
		named = map[string]map[string]bool{} // worker -> regions its record named
	)
	addNamed := func(id, region string) {
		mu.Lock()
		defer mu.Unlock()
		if named[id] == nil {
			named[id] = map[string]bool{}
		}
		named[id][region] = true
	}
	for i := range nWorkers {
		w := worker(i, i%2)
		mustPutWorker(t, stores[0], w)
		addNamed(w.ID, regions[i%2])
	}

	var (
		wg                     sync.WaitGroup
		done                   atomic.Bool
		nPut, nBooked, nCancel atomic.Int64
		refused                sync.Map // error code -> *atomic.Int64
	)
	count := func(err error) {
		code := doorstep.ErrorCode(err)
		var e *doorstep.Error
		switch {
		case code == doorstep.ECONFLICT, code == doorstep.ENOTFOUND:
		case code == doorstep.EINVALID && errors.As(err, &e) && e.Field == "home": // busy
		default:
			t.Errorf("unexpected error (code %s): %v", code, err)
		}
		n, _ := refused.LoadOrStore(code, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	for m := range nMovers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(m), 1))
			for range moves {
				s, i, city := stores[rng.IntN(2)], rng.IntN(nWorkers), rng.IntN(2)
				id := fmt.Sprintf("w%d", i)
				var err error
				switch op := rng.IntN(10); {
				case op < 7:
					w := worker(i, city)
					if rng.IntN(2) == 0 {
						w.Location = &homes[1-city] // indexed in the other region's cell
					}
					// Whatever the answer, the call may have moved the
					// record (a conflict can come after a step of a move).
					addNamed(id, regions[city])
					if _, err = s.PutWorker(ctx, w); err == nil {
						nPut.Add(1)
					}
				case op < 9:
					err = s.SetLocation(ctx, id, homes[city], time.Time{})
				default:
					err = s.DeleteWorker(ctx, id)
				}
				if err != nil {
					count(err)
				}
			}
		})
	}
	var bookedMu sync.Mutex
	var booked []*doorstep.Booking
	for b := range nBookers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(b), 2))
			s := stores[b%2]
			for range books {
				id := fmt.Sprintf("w%d", rng.IntN(nWorkers))
				start := slot0.Add(time.Duration(rng.IntN(nSlots)) * 30 * time.Minute)
				// A reader that finds the worker in both regions (a stale
				// foreign index entry can list it anywhere) tries each.
				refs := []WorkerRef{{id, regions[0]}, {id, regions[1]}}
				cands, err := s.LoadCandidates(ctx, refs, start.Add(-doorstep.MaxDuration), start.Add(time.Hour))
				if err != nil {
					t.Errorf("LoadCandidates: %v", err)
					return
				}
				for _, c := range cands {
					if slices.ContainsFunc(c.Bookings, func(o *doorstep.Booking) bool {
						return o.Start.Before(start.Add(30*time.Minute)) && start.Before(o.End)
					}) {
						continue // taken in this region's timeline
					}
					bk := newBooking(c.Worker, start, 30*time.Minute, c.Worker.Home)
					err := s.Apply(ctx, Change{Region: regionOf(c.Worker), Expect: map[string]int64{id: c.Version}, Create: []*doorstep.Booking{bk}})
					if err != nil {
						count(err)
						continue
					}
					nBooked.Add(1)
					bookedMu.Lock()
					booked = append(booked, bk)
					bookedMu.Unlock()
				}
				// Cancel one booking now and then, so that moves can go on.
				bookedMu.Lock()
				var victim *doorstep.Booking
				if len(booked) > 0 && rng.IntN(2) == 0 {
					k := rng.IntN(len(booked))
					victim = booked[k]
					booked = slices.Delete(booked, k, k+1)
				}
				bookedMu.Unlock()
				if victim != nil {
					if _, err := s.CancelBooking(ctx, victim.ID, time.Now()); err != nil {
						count(err)
					} else {
						nCancel.Add(1)
					}
				}
			}
		})
	}
	// The sampler reads every worker's profile in both regions in one
	// MULTI (one Redis, so the transaction may span slots).
	// It also reads the regions' rosters, which must list exactly the
	// workers whose profile the region holds.
	var samples, doubleSeen, rosterOff atomic.Int64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for !cluster && !done.Load() {
			pipe := raw.TxPipeline()
			cmds := make([][2]*redis.IntCmd, nWorkers)
			for i := range nWorkers {
				id := fmt.Sprintf("w%d", i)
				cmds[i] = [2]*redis.IntCmd{pipe.Exists(ctx, workerKey(regions[0], id)), pipe.Exists(ctx, workerKey(regions[1], id))}
			}
			rosters := [2]*redis.StringSliceCmd{pipe.ZRange(ctx, rosterKey(regions[0]), 0, -1), pipe.ZRange(ctx, rosterKey(regions[1]), 0, -1)}
			if _, err := pipe.Exec(ctx); err != nil {
				t.Errorf("sample: %v", err)
				return
			}
			samples.Add(1)
			for i, c := range cmds {
				if c[0].Val()+c[1].Val() > 1 {
					doubleSeen.Add(1)
				}
				for r := range 2 {
					if listed := slices.Contains(rosters[r].Val(), fmt.Sprintf("w%d", i)); listed != (c[r].Val() == 1) {
						rosterOff.Add(1)
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
	})
	wg.Wait()
	done.Store(true)
	sampler.Wait()

	p := storetest.ReadPlacement(t, raw)
	v := p.Violations(named)
	var codes []string
	refused.Range(func(k, n any) bool {
		codes = append(codes, fmt.Sprintf("%s=%d", k, n.(*atomic.Int64).Load()))
		return true
	})
	slices.Sort(codes)
	t.Logf("%d PUTs done, %d bookings made, %d cancelled; refusals %v", nPut.Load(), nBooked.Load(), nCancel.Load(), codes)
	t.Logf("%d samples, %d (worker, sample) pairs with profiles in both regions; at the end %d of %d workers in two regions, %d overlapping booking pairs, %d violations in all",
		samples.Load(), doubleSeen.Load(), storetest.Count(v, "has profiles in"), nWorkers, storetest.Count(v, "is booked twice"), len(v))
	for i, s := range v {
		if i == 10 {
			t.Errorf("... and %d more", len(v)-i)
			break
		}
		t.Errorf("%s", s)
	}
	if n := doubleSeen.Load(); n > 0 {
		t.Errorf("the sampler saw a worker with profiles in both regions %d times", n)
	}
	if n := rosterOff.Load(); n > 0 {
		t.Errorf("the sampler saw a region's roster disagree with its profiles %d times", n)
	}
	// At the end, each region's roster lists exactly its profiles, and
	// ListWorkers lists every worker that exists once.
	var exist []string
	for r, region := range regions {
		roster, err := raw.ZRange(ctx, rosterKey(region), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		var held []string
		for i := range nWorkers {
			id := fmt.Sprintf("w%d", i)
			if raw.Exists(ctx, workerKey(region, id)).Val() == 1 {
				held = append(held, id)
			}
		}
		slices.Sort(held)
		if !slices.Equal(roster, held) {
			t.Errorf("region %d: roster %v, profiles %v", r, roster, held)
		}
		exist = append(exist, held...)
	}
	slices.Sort(exist)
	var listed []string
	for q := (WorkerQuery{Limit: 5}); ; {
		page, err := stores[0].ListWorkers(ctx, q)
		if err != nil {
			t.Fatalf("ListWorkers: %v", err)
		}
		for _, w := range page.Workers {
			listed = append(listed, w.ID)
		}
		if q.After = page.Next; q.After == "" {
			break
		}
	}
	if !slices.Equal(listed, exist) {
		t.Errorf("ListWorkers = %v, want the workers that exist %v", listed, exist)
	}
	// IndexRosters rebuilds them from the profiles (on a cluster, from
	// every master).
	for _, k := range []string{rosterKey(regions[0]), rosterKey(regions[1]), rostersKey} {
		if err := raw.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := stores[1].IndexRosters(ctx); err != nil || n != len(exist) {
		t.Errorf("IndexRosters = %d, %v; want %d, nil", n, err, len(exist))
	}
	page, err := stores[0].ListWorkers(ctx, WorkerQuery{Limit: MaxWorkerPage})
	if err != nil {
		t.Fatal(err)
	}
	listed = listed[:0]
	for _, w := range page.Workers {
		listed = append(listed, w.ID)
	}
	if !slices.Equal(listed, exist) {
		t.Errorf("after IndexRosters ListWorkers = %v, want %v", listed, exist)
	}
	if nBooked.Load() == 0 || nPut.Load() == 0 {
		t.Errorf("the race did nothing: %d PUTs, %d bookings", nPut.Load(), nBooked.Load())
	}
}
