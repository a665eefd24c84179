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
// lies in a region a successful PUT gave the worker; and every answer is
// one of the documented ones (a lost race is 409, never a 5xx).
func TestServeRegionMoveRace(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	var bases [2]string
	for i := range bases {
		c := startServe(t, []string{"REDIS_URL=" + rs.URL()}, "-addr", "127.0.0.1:0", "-rate-limit", "-1", "-max-in-flight", "1000")
		bases[i] = "http://" + c.waitAddr(t)
	}
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { rdb.Close() })

	const (
		nWorkers = 60
		rounds   = 3  // concurrent NY/Boston PUT pairs per worker
		nBookers = 6  // goroutines booking while the PUTs go on (and after)
		books    = 40 // bookings per booker
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
		named    = map[string]map[string]bool{} // worker -> regions a PUT gave it
		statuses = map[string]int{}             // "PUT 200", "POST 201", ...
	)
	record := func(what string, status int, body []byte, err error, ok ...int) bool {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return false
		}
		statuses[fmt.Sprintf("%s %d", what, status)]++
		if !slices.Contains(ok, status) {
			t.Errorf("%s answered %d %s", what, status, body)
		}
		return status < 300
	}
	put := func(server, i, city int) {
		id := fmt.Sprintf("w%d", i)
		w := map[string]any{"skills": []string{"cleaning"}, "rating": 4.5, "home": cities[city],
			"shifts": []map[string]time.Time{{"start": now, "end": now.Add(24 * time.Hour)}}}
		status, body, err := send(bases[server], "PUT", "/v1/workers/"+id, w)
		// 400: the move is refused while the worker has coming bookings in
		// its region; 409: a concurrent change won.
		if record("PUT", status, body, err, http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusConflict) {
			mu.Lock()
			if named[id] == nil {
				named[id] = map[string]bool{}
			}
			named[id][regions[city]] = true
			mu.Unlock()
		}
	}

	var movers, bookers sync.WaitGroup
	for round := range rounds {
		for i := range nWorkers {
			// The two homes of one id go through the two servers at once.
			flip := (i + round) % 2
			movers.Go(func() { put(flip, i, 0) })
			movers.Go(func() { put(1-flip, i, 1) })
		}
		if round == 0 {
			movers.Wait() // the first round creates every worker
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
		}
	}
	movers.Wait()
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
	if nBookings == 0 {
		t.Errorf("no booking was made")
	}
}
