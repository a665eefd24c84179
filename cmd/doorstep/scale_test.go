package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// TestScaleOut measures booking throughput and latency through 1, 2 and 3
// `doorstep serve` processes on a Redis Cluster of 3 masters (with
// replicas), against 1 process on one redis-server, in one run
// (bench/RESULTS.md, "Scale out on Redis Cluster"). It is a measurement,
// not a check: it runs only with DOORSTEP_SCALE_SECONDS set (the seconds
// of load per setting), e.g.
//
//	DOORSTEP_SCALE_SECONDS=15 go test -run TestScaleOut -v ./cmd/doorstep/
func TestScaleOut(t *testing.T) {
	secs := os.Getenv("DOORSTEP_SCALE_SECONDS")
	if secs == "" {
		t.Skip("a measurement: set DOORSTEP_SCALE_SECONDS")
	}
	var d time.Duration
	fmt.Sscan(secs, &d)
	d *= time.Second
	up, _ := exec.Command("uptime").Output()
	t.Logf("uptime: %s", bytes.TrimSpace(up))
	single := storetest.RunRedis(t)
	c := storetest.RunReplicated(t, 3)
	cities := c.OnePerMaster(storetest.Cities, func(l doorstep.Location) string { return "{r:" + geo.RegionOf(l).String() + "}" })
	flush := func() {
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Masters[0].Addr}})
		defer rdb.Close()
		rdb.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error { return m.FlushAll(ctx).Err() })
		s := redis.NewClient(&redis.Options{Addr: single.Addr})
		defer s.Close()
		s.FlushAll(context.Background())
	}
	settings := []struct {
		name      string
		env       []string
		instances int
	}{
		{"1 instance, one redis-server", []string{"REDIS_URL=" + single.URL()}, 1},
		{"1 instance, cluster 3+3", []string{"REDIS_CLUSTER_URL=" + c.URL()}, 1},
		{"2 instances, cluster 3+3", []string{"REDIS_CLUSTER_URL=" + c.URL()}, 2},
		{"3 instances, cluster 3+3", []string{"REDIS_CLUSTER_URL=" + c.URL()}, 3},
		{"3 instances, cluster 3+3, WAIT 1", []string{"REDIS_CLUSTER_URL=" + c.URL()}, 3},
	}
	var base float64
	for si, st := range settings {
		flush()
		args := []string{"-addr", "127.0.0.1:0", "-rate-limit", "-1", "-max-in-flight", "1000", "-max-rescues", "-1", "-urgent-learn-days", "-1"}
		if si == len(settings)-1 {
			args = append(args, "-redis-wait-replicas", "1", "-redis-wait-timeout", "400ms")
		}
		var bases []string
		var kids []*child
		for range st.instances {
			k := startServe(t, st.env, args...)
			kids = append(kids, k)
			bases = append(bases, "http://"+k.waitAddr(t))
		}
		tput, p50, p99, codes := scaleLoad(t, bases, cities, d)
		if si == 0 {
			base = tput
		}
		t.Logf("%-36s %7.1f bookings/s (x%.2f)  p50 %6.1f ms  p99 %6.1f ms  answers %v",
			st.name, tput, tput/base, p50, p99, codes)
		for _, k := range kids {
			k.cmd.Process.Signal(os.Interrupt)
			k.wait(t, 30*time.Second)
		}
	}
}

// scaleLoad puts workers in cities and books from 48 goroutines spread
// over the servers for d; it returns the bookings confirmed a second and
// the p50 and p99 of every answer's latency, in ms.
func scaleLoad(t *testing.T, bases []string, cities []doorstep.Location, d time.Duration) (float64, float64, float64, map[int]int) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	send := func(base, method, path string, body any) int {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	now := time.Now().UTC().Truncate(time.Hour)
	for ci, loc := range cities {
		for i := range 60 {
			home := doorstep.Location{Lat: loc.Lat + float64(i%8-4)*0.004, Lng: loc.Lng + float64(i/8-4)*0.004}
			w := map[string]any{"skills": []string{"cleaning"}, "rating": 4.5, "home": home,
				"shifts": []map[string]time.Time{{"start": now, "end": now.Add(24 * time.Hour)}}}
			if code := send(bases[0], "PUT", fmt.Sprintf("/v1/workers/c%dw%d", ci, i), w); code != http.StatusCreated {
				t.Fatalf("PUT worker: %d", code)
			}
		}
	}
	var (
		mu    sync.Mutex
		lat   []float64
		codes = map[int]int{}
		ok    atomic.Int64
		wg    sync.WaitGroup
	)
	end := time.Now().Add(d)
	for g := range 48 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 11))
			var mine []float64
			mc := map[int]int{}
			for time.Now().Before(end) {
				loc := cities[rng.IntN(len(cities))]
				loc = doorstep.Location{Lat: loc.Lat + (rng.Float64()-0.5)*0.03, Lng: loc.Lng + (rng.Float64()-0.5)*0.03}
				t0 := time.Now()
				code := send(bases[g%len(bases)], "POST", "/v1/bookings", map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 15, "location": loc})
				mine = append(mine, float64(time.Since(t0).Microseconds())/1000)
				mc[code]++
				if code == http.StatusCreated {
					ok.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range mc {
				codes[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	return float64(ok.Load()) / d.Seconds(), q(0.50), q(0.99), codes
}
