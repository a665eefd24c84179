package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestServeFollowsChangeFeeds: serve keeps the store's mirror by default
// (store.Store.FollowChanges), so that a match after a worker is put
// lists it from memory, and /metrics says so; with -no-mirror every
// search reads Redis and the mirror serves nothing. The match answers
// the same either way.
func TestServeFollowsChangeFeeds(t *testing.T) {
	t.Parallel()
	for _, off := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "no-mirror"}[off], func(t *testing.T) {
			t.Parallel()
			rs := storetest.RunRedis(t)
			_, c := openMain(t, ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(), Limits: api.Limits{RatePerKey: -1}, NoMirror: off},
				slog.New(slog.DiscardHandler))
			c.putCleaner("w0")
			var metrics []byte
			metric := func(name string) float64 {
				t.Helper()
				m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(metrics)
				if m == nil {
					t.Fatalf("/metrics has no %s", name)
				}
				v, err := strconv.ParseFloat(string(m[1]), 64)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			// The first load of the regions runs beside serving.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				_, _, metrics = c.do("GET", "/metrics", nil)
				if off || metric("doorstep_mirror_serving") == 1 || time.Now().After(deadline) {
					break
				}
			}
			req := map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 30, "location": shutdownPlace(0, 1)}
			st, _, body := c.do("POST", "/v1/match", req)
			if st != http.StatusOK || !bytes.Contains(body, []byte(`"w0"`)) {
				t.Fatalf("POST /v1/match: %d %s, want w0 offered", st, body)
			}
			_, _, metrics = c.do("GET", "/metrics", nil)
			serving, steps, workers := metric("doorstep_mirror_serving"), metric("doorstep_mirror_steps_total"), metric("doorstep_mirror_workers")
			if off {
				if serving != 0 || steps != 0 {
					t.Errorf("with -no-mirror: doorstep_mirror_serving %v, steps %v, want 0 and 0", serving, steps)
				}
				return
			}
			if serving != 1 || steps == 0 || workers != 1 {
				t.Errorf("doorstep_mirror_serving %v, steps %v, workers %v; want 1, at least one, 1", serving, steps, workers)
			}
		})
	}
}

// TestServeWarmsUpBeforeReady: a server started on a store that holds
// workers returns from Open once its mirror serves and its read model
// holds every worker (logged), so that /readyz is 200 at once and the
// first searches read memory; with -no-mirror there is nothing to warm.
func TestServeWarmsUpBeforeReady(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	cfg := ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(), Limits: api.Limits{RatePerKey: -1}}
	_, c := openMain(t, cfg, slog.New(slog.DiscardHandler))
	for _, id := range []string{"w0", "w1", "w2"} {
		c.putCleaner(id)
	}
	for _, off := range []bool{false, true} {
		cfg.NoMirror = off
		var logs syncBuffer
		m, c := openMain(t, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
		if st, _, body := c.do("GET", "/readyz", nil); st != http.StatusOK {
			t.Errorf("no-mirror %v: /readyz right after Open: %d %s", off, st, body)
		}
		warmed := 0
		for _, r := range logs.records(t) {
			if r["msg"] == "read model warmed" {
				warmed = int(r["workers"].(float64))
			}
		}
		if off {
			if warmed != 0 || m.st.Mirroring() {
				t.Errorf("with -no-mirror: warmed %d workers, mirror serving %v", warmed, m.st.Mirroring())
			}
			continue
		}
		if !m.st.Mirroring() || warmed != 3 {
			t.Errorf("after Open: mirror serving %v, %d workers warmed; want true, 3", m.st.Mirroring(), warmed)
		}
	}
}
