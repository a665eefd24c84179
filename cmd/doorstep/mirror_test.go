package main

import (
	"bufio"
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/bench/load"
	"github.com/doorstep-dev/doorstep/internal/faultproxy"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestServeFollowsChangeFeeds: serve keeps the store's mirror by default
// (store.Store.FollowChanges), so that a match after a worker is put
// lists it from memory, and /metrics says so (with each step's wait for
// the feeds, doorstep_mirror_sync_seconds); with -no-mirror every
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
			waits := metric("doorstep_mirror_sync_seconds_count")
			if off {
				if serving != 0 || steps != 0 || waits != 0 {
					t.Errorf("with -no-mirror: doorstep_mirror_serving %v, steps %v, sync waits %v; want 0, 0, 0", serving, steps, waits)
				}
				return
			}
			if serving != 1 || steps == 0 || workers != 1 || waits < steps {
				t.Errorf("doorstep_mirror_serving %v, steps %v, workers %v, sync waits %v; want 1, at least one, 1, one a step at least", serving, steps, workers, waits)
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

// TestServeNotReadyToWhoConnectedEarly: a load balancer's /readyz that
// connected while the server was still opening its store waits on the
// listener and is served the moment serving starts. It must be told the
// server is warming up, not ready: the server then still reads its
// workers from Redis, which in a large city sheds requests. (Warming was
// once switched on only after serving started, and a restarted server of
// 100,000 workers answered such a request 200 and then shed 39% of the
// next 15 s of matches.) Redis is reached through a slow proxy, so the
// store takes a while to open and the requests wait on the listener.
func TestServeNotReadyToWhoConnectedEarly(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	proxy := faultproxy.Start(t, rs.Addr)
	proxy.Slow(20 * time.Millisecond)
	addr, err := load.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: ServeConfig{Addr: addr, RedisURL: "redis://" + proxy.Addr(), Limits: api.Limits{RatePerKey: -1}},
		Log: slog.New(slog.DiscardHandler)}
	opened := make(chan error, 1)
	go func() { opened <- m.Open(t.Context()) }()
	t.Cleanup(func() { m.Close() })

	// Connect as soon as the listener exists, several clients at once.
	var conns []net.Conn
	deadline := time.Now().Add(10 * time.Second)
	for len(conns) == 0 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("the server never listened: %v", err)
			}
			time.Sleep(time.Millisecond)
			continue
		}
		conns = append(conns, c)
		for range 7 {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				conns = append(conns, c)
			}
		}
	}
	for _, c := range conns {
		if _, err := c.Write([]byte("GET /readyz HTTP/1.1\r\nHost: doorstep\r\nConnection: close\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("client %d, connected while the store opened: /readyz %d, want 503 (warming up)", i, resp.StatusCode)
		}
	}
	if err := <-opened; err != nil {
		t.Fatalf("Open: %v", err)
	}
	proxy.Heal()
	c := &epochClient{tb: t, base: "http://" + addr, http: &http.Client{Timeout: 5 * time.Second}}
	if st, _, body := c.do("GET", "/readyz", nil); st != http.StatusOK {
		t.Errorf("/readyz after Open: %d %s", st, body)
	}
}
