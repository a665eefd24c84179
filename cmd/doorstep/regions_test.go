package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// TestServeRegionMoveRace runs two `doorstep serve` processes on one
// Redis and, through both at once, sends concurrent PUT /v1/workers/{id}
// with homes in New York and in Boston (two regions, two Redis Cluster
// slots) for the same ids, while bookers POST /v1/bookings in both cities.
// Afterwards no worker has a profile in two regions and no two confirmed
// bookings of a worker overlap, whatever region each is in; every booking
// lies in a region some PUT asked for; and every answer is a documented
// one: a lost race is 409, never a 500 (a 503 from a request deadline
// missed on a loaded machine is counted, not failed).
func TestServeRegionMoveRace(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	var bases [2]string
	for i := range bases {
		c := startServe(t, []string{"REDIS_URL=" + rs.URL()}, "-addr", "127.0.0.1:0",
			"-rate-limit", "-1", "-max-in-flight", "1000", "-max-rescues", "-1", "-request-timeout", "10s")
		bases[i] = "http://" + c.waitAddr(t)
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rdb.Close() })

	const (
		nWorkers    = 60
		rounds      = 3  // concurrent NY/Boston PUT pairs per worker
		pairWorkers = 16 // pairs in flight at once
		nBookers    = 6  // goroutines booking while the PUTs go on (and after)
		books       = 40 // bookings per booker
	)
	cities := []doorstep.Location{{Lat: 40.73, Lng: -73.99}, {Lat: 42.36, Lng: -71.06}}
	regions := []string{geo.RegionOf(cities[0]).String(), geo.RegionOf(cities[1]).String()}
	now := time.Now().UTC().Truncate(time.Hour)
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(base, method, path string, body any) (int, []byte, error) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		out, err := io.ReadAll(res.Body)
		return res.StatusCode, out, err
	}

	var (
		mu       sync.Mutex
		named    = map[string]map[string]bool{} // worker -> regions a PUT asked for
		statuses = map[string]int{}             // "PUT 200", "POST 201", ...
	)
	// 503 is allowed (a loaded machine may miss the request deadline) but
	// counted; every other answer must be one of ok.
	record := func(what string, status int, body []byte, err error, ok ...int) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		statuses[fmt.Sprintf("%s %d", what, status)]++
		if !slices.Contains(ok, status) && status != http.StatusServiceUnavailable {
			t.Errorf("%s answered %d %s", what, status, body)
		}
	}
	put := func(server, i, city int) {
		id := fmt.Sprintf("w%d", i)
		w := map[string]any{"skills": []string{"cleaning"}, "rating": 4.5, "home": cities[city],
			"shifts": []map[string]time.Time{{"start": now, "end": now.Add(24 * time.Hour)}}}
		// Whatever the answer, the PUT may have moved the record (a 409 or
		// 503 can come after a step of a move).
		mu.Lock()
		if named[id] == nil {
			named[id] = map[string]bool{}
		}
		named[id][regions[city]] = true
		mu.Unlock()
		status, body, err := send(bases[server], "PUT", "/v1/workers/"+id, w)
		// 400: the move is refused while the worker has coming bookings in
		// its region; 409: a concurrent change won.
		record("PUT", status, body, err, http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusConflict)
	}
	// pairs sends, for each worker, its New York and Boston PUTs through
	// the two servers at once, a few workers at a time.
	pairs := func(round int) {
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range pairWorkers {
			wg.Go(func() {
				for i := range jobs {
					flip := (i + round) % 2
					var pair sync.WaitGroup
					pair.Go(func() { put(flip, i, 0) })
					pair.Go(func() { put(1-flip, i, 1) })
					pair.Wait()
				}
			})
		}
		for i := range nWorkers {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
	}

	pairs(0) // creates every worker
	var bookers sync.WaitGroup
	for b := range nBookers {
		bookers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(b), 3))
			for range books {
				city := rng.IntN(2)
				loc := doorstep.Location{Lat: cities[city].Lat + (rng.Float64()-0.5)*0.02, Lng: cities[city].Lng + (rng.Float64()-0.5)*0.02}
				req := map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 30, "location": loc}
				status, body, err := send(bases[rng.IntN(2)], "POST", "/v1/bookings", req)
				record("POST", status, body, err, http.StatusCreated, http.StatusConflict, http.StatusUnprocessableEntity)
			}
		})
	}
	for round := 1; round < rounds; round++ {
		pairs(round)
	}
	bookers.Wait()

	p := storetest.ReadPlacement(t, rdb)
	v := p.Violations(named)
	nBookings := 0
	for _, bs := range p.Bookings {
		nBookings += len(bs)
	}
	t.Logf("answers %v; %d bookings stored", statuses, nBookings)
	t.Logf("%d of %d workers with profiles in two regions, %d overlapping booking pairs, %d violations in all",
		storetest.Count(v, "has profiles in"), nWorkers, storetest.Count(v, "is booked twice"), len(v))
	for i, s := range v {
		if i == 10 {
			t.Errorf("... and %d more", len(v)-i)
			break
		}
		t.Errorf("%s", s)
	}
	if nBookings == 0 || statuses["PUT 200"] == 0 {
		t.Errorf("the race did nothing: %d bookings, %d PUTs answered 200", nBookings, statuses["PUT 200"])
	}
}
