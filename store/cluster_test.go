package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// spreadCities returns one city per master of c, in the masters' order
// (storetest.OnePerMaster), failing the test when the candidates do not
// cover every master.
func spreadCities(t *testing.T, c *storetest.Cluster) []doorstep.Location {
	t.Helper()
	return c.OnePerMaster(storetest.Cities, func(l doorstep.Location) string { return regionTag(regionOfLoc(l)) })
}

// openCluster opens a Store on c with the tests' timeouts and cfg's WAIT.
func openCluster(t *testing.T, c *storetest.Cluster, replicas int) *Store {
	t.Helper()
	cfg := testConfig(c.URL())
	cfg.Cluster = true
	// A replica of a loaded test machine may lag past the default wait
	// (100 ms) now and then.
	cfg.WaitReplicas, cfg.WaitTimeout = replicas, 400*time.Millisecond
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open cluster: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestWaitReplicasOnSlotMaster confirms a change only once a replica of the
// master that wrote it holds it: with that one replica frozen, a booking is
// refused (EUNAVAILABLE, a *ReplicationError) although the other masters'
// replicas are fine, so WAIT went to the master of the booking's slot, on
// the connection that wrote it; thawed, bookings are confirmed again.
func TestWaitReplicasOnSlotMaster(t *testing.T) {
	t.Parallel()
	c := storetest.RunReplicated(t, 3)
	s := openCluster(t, c, 1)
	ctx := t.Context()
	for i, loc := range spreadCities(t, c) {
		w := newWorker(fmt.Sprintf("w%d", i), loc)
		mustPutWorker(t, s, w)
		mustBook(t, s, newBooking(w, t0, time.Hour, loc))

		replica := c.ReplicaOf(c.MasterOf(regionTag(regionOfLoc(loc))))
		replica.Pause()
		b := newBooking(w, t0.Add(2*time.Hour), time.Hour, loc)
		err := s.Apply(ctx, Change{Region: regionOfLoc(loc), Expect: map[string]int64{w.ID: mustVersion(t, s, w.ID)}, Create: []*doorstep.Booking{b}})
		replica.Resume()
		var re *ReplicationError
		if !errors.As(err, &re) || doorstep.ErrorCode(err) != doorstep.EUNAVAILABLE {
			t.Fatalf("city %d: Apply with the slot's replica frozen = %v, want a ReplicationError (EUNAVAILABLE)", i, err)
		}
		c.WaitHealthy(time.Minute)
		mustBook(t, s, newBooking(w, t0.Add(4*time.Hour), time.Hour, loc))
	}
}

// FailoverBound is how long after the cluster is healthy again (a replica
// promoted and every slot served) a region whose master died must be
// bookable again through a store that was using the dead master. It is far
// above what the reload on failure takes (one slot-map reload, under a
// second) and far below go-redis's periodic reload (60 s by default),
// which was the only way back before.
const FailoverBound = 10 * time.Second

// TestClusterFailover kills the master of one region while two stores (as
// two servers would) book in every region at once: the other regions'
// bookings never fail, the dead region's fail only as unavailable, and it
// is bookable again within FailoverBound of the cluster being healthy. With
// WAIT for one replica ("wait"), no confirmed booking is lost; the promoted
// replica has no replica of its own, so the region is refused until the
// dead node comes back (restarted here, as a supervisor would) and rejoins
// as its replica.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	t.Run("nowait", func(t *testing.T) { t.Parallel(); testClusterFailover(t, 0) })
	t.Run("wait", func(t *testing.T) { t.Parallel(); testClusterFailover(t, 1) })
}

func testClusterFailover(t *testing.T, wait int) {
	c := storetest.RunReplicated(t, 3)
	stores := []*Store{openCluster(t, c, wait), openCluster(t, c, wait)}
	cities := spreadCities(t, c)
	victim := 0 // the region whose master dies
	ctx := context.Background()

	type result struct {
		ok, unavailable, other atomic.Int64
		lastFail               atomic.Int64 // unix ns of the last failure
		firstOKAfterKill       atomic.Int64 // unix ns
	}
	var (
		results   = make([]result, len(cities))
		mu        sync.Mutex
		confirmed []string
		killedAt  atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	const perCity = 4 // workers (and goroutines) per city
	for ci, loc := range cities {
		for k := range perCity {
			w := newWorker(fmt.Sprintf("c%dw%d", ci, k), loc)
			w.Shifts = []doorstep.Shift{{Start: t0, End: t0.Add(1000 * time.Hour)}}
			mustPutWorker(t, stores[0], w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := stores[k%2]
				r := &results[ci]
				for n := 0; !stop.Load(); n++ {
					// The version, read in the region's slot (GetWorker
					// reads the region record, in the slot of the id).
					v, err := func() (int64, error) {
						cctx, cancel := context.WithTimeout(ctx, 750*time.Millisecond)
						defer cancel()
						v, err := s.rdb.Get(cctx, versionKey(regionOfLoc(loc), w.ID)).Int64()
						return v, wrapErr("read version", err)
					}()
					var b *doorstep.Booking
					if err == nil {
						b = newBooking(w, t0.Add(time.Duration(n)*time.Minute), time.Minute, loc)
						cctx, cancel := context.WithTimeout(ctx, 750*time.Millisecond)
						err = s.Apply(cctx, Change{Region: regionOfLoc(loc), Expect: map[string]int64{w.ID: v}, Create: []*doorstep.Booking{b}})
						cancel()
					}
					switch {
					case err == nil:
						r.ok.Add(1)
						if killedAt.Load() != 0 {
							r.firstOKAfterKill.CompareAndSwap(0, time.Now().UnixNano())
						}
						mu.Lock()
						confirmed = append(confirmed, b.ID)
						mu.Unlock()
					case doorstep.ErrorCode(err) == doorstep.EUNAVAILABLE:
						if r.unavailable.Add(1) < 3 && ci != victim {
							t.Logf("city %d: %v", ci, err)
						}
						r.lastFail.Store(time.Now().UnixNano())
						time.Sleep(20 * time.Millisecond)
					default:
						r.other.Add(1)
						t.Errorf("city %d: %v", ci, err)
					}
				}
			}()
		}
	}
	time.Sleep(time.Second)
	dead := c.MasterOf(regionTag(regionOfLoc(cities[victim])))
	before := results[victim].ok.Load()
	dead.Kill()
	killedAt.Store(time.Now().UnixNano())
	results[victim].firstOKAfterKill.Store(0)
	// Readiness sees the dead master (not a PING of one live node).
	if err := stores[0].Ping(ctx); doorstep.ErrorCode(err) != doorstep.EUNAVAILABLE {
		t.Errorf("Ping with a master dead = %v, want unavailable", err)
	}
	took := c.WaitHealthy(time.Minute)
	if wait > 0 {
		dead.Restart()
		took = c.WaitHealthy(time.Minute) // with the old master as replica
	}
	healthyAt := time.Now()
	// Wait for the victim region to come back, within the bound.
	for results[victim].firstOKAfterKill.Load() == 0 && time.Since(healthyAt) < 2*FailoverBound {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	back := time.Unix(0, results[victim].firstOKAfterKill.Load())
	t.Logf("cluster healthy %v after the kill; region back %v after the kill, %v after healthy; ok before kill %d",
		took.Round(time.Millisecond), back.Sub(time.Unix(0, killedAt.Load())).Round(time.Millisecond), back.Sub(healthyAt).Round(time.Millisecond), before)
	for i := range results {
		r := &results[i]
		t.Logf("city %d: ok %d, unavailable %d, other %d", i, r.ok.Load(), r.unavailable.Load(), r.other.Load())
		if i != victim && r.unavailable.Load() > 0 {
			t.Errorf("city %d (master alive) failed %d times while another master died", i, r.unavailable.Load())
		}
	}
	if results[victim].firstOKAfterKill.Load() == 0 || back.Sub(healthyAt) > FailoverBound {
		t.Fatalf("the region of the dead master was not bookable again within %v of the cluster being healthy", FailoverBound)
	}
	if err := stores[1].Ping(ctx); err != nil {
		t.Errorf("Ping after the failover: %v", err)
	}
	if wait == 0 {
		return // a booking confirmed without WAIT may be lost in a failover
	}
	// No confirmed booking lost: each was acknowledged by a replica.
	for _, id := range confirmed {
		if _, err := stores[0].GetBooking(ctx, id); err != nil {
			t.Errorf("confirmed booking %s: %v", id, err)
		}
	}
	t.Logf("%d confirmed bookings, all readable", len(confirmed))
}
