package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// epochClient talks to a Main of the epoch tests (auth off).
type epochClient struct {
	tb   testing.TB
	base string
	http *http.Client
}

// openMain opens a server of cfg logging to log, closed when the test
// ends, and a client of it.
func openMain(t *testing.T, cfg ServeConfig, log *slog.Logger) (*Main, *epochClient) {
	t.Helper()
	m := &Main{Config: cfg, Log: log}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, &epochClient{tb: t, base: "http://" + m.Addr(), http: &http.Client{Timeout: 5 * time.Second}}
}

// putCleaner puts worker id, a cleaner on shift for the next day at
// shutdownPlace(0, 1), and returns the body it sent.
func (c *epochClient) putCleaner(id string) map[string]any {
	c.tb.Helper()
	start := time.Now().UTC().Truncate(time.Hour)
	worker := map[string]any{"skills": []string{"cleaning"}, "rating": 4.5, "home": shutdownPlace(0, 1),
		"shifts": []map[string]time.Time{{"start": start, "end": start.Add(24 * time.Hour)}}}
	if st, _, body := c.do("PUT", "/v1/workers/"+id, worker); st != http.StatusCreated {
		c.tb.Fatalf("PUT worker: %d %s", st, body)
	}
	return worker
}

// do sends a request and returns the status, the problem code (of a
// problem+json answer) and the body.
func (c *epochClient) do(method, path string, body any) (status int, code string, data []byte) {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ = io.ReadAll(res.Body)
	if res.Header.Get("Content-Type") == "application/problem+json" {
		var p api.Problem
		json.Unmarshal(data, &p)
		code = p.Code
	}
	return res.StatusCode, code, data
}

// waitLog waits (a generous limit) for a log record whose message
// contains msg, and returns when it was seen.
func waitLog(tb testing.TB, logs *syncBuffer, level, msg string) time.Time {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range logs.records(tb) {
			if m, _ := r["msg"].(string); r["level"] == level && strings.Contains(m, msg) {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %s log line %q within 10s", level, msg)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// snapshot copies every key of rdb (DUMP) so that restore can bring the
// data back, as restoring a backup would.
func snapshot(tb testing.TB, rdb *redis.Client) (restore func()) {
	tb.Helper()
	ctx := tb.Context()
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	dumps := map[string]string{}
	for _, k := range keys {
		dumps[k] = rdb.Dump(ctx, k).Val()
	}
	return func() {
		for k, v := range dumps {
			if err := rdb.RestoreReplace(ctx, k, 0, v).Err(); err != nil {
				tb.Fatalf("restore %s: %v", k, err)
			}
		}
	}
}

// TestMainStoreReset runs the server on a redis-server that loses its data
// under it, by FLUSHALL and by a restart without persistence: within a
// second the monitor logs an error naming the epoch it expected, /readyz
// answers 503 store_reset, bookings are refused with 503 store_reset (a
// confirmed booking answers 503, not 404) and the gauge shows it; when
// the data comes back (a backup restored, marker included) the server
// logs the recovery and serves the confirmed booking again.
func TestMainStoreReset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		reset func(rs *storetest.Server, rdb *redis.Client) error
	}{
		{"FLUSHALL", func(_ *storetest.Server, rdb *redis.Client) error { return rdb.FlushAll(t.Context()).Err() }},
		{"restart without persistence", func(rs *storetest.Server, _ *redis.Client) error { rs.Restart(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := storetest.RunRedis(t)
			rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
			defer rdb.Close()
			logs := new(syncBuffer)
			_, c := openMain(t, ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(), Limits: api.Limits{RatePerKey: -1}},
				slog.New(slog.NewJSONHandler(logs, nil)))
			worker := c.putCleaner("w0")
			booking := map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 30, "location": shutdownPlace(0, 1)}
			st, _, body := c.do("POST", "/v1/bookings", booking)
			if st != http.StatusCreated {
				t.Fatalf("POST booking: %d %s", st, body)
			}
			var b struct{ ID string }
			json.Unmarshal(body, &b)
			epoch := rdb.Get(t.Context(), "dst:epoch").Val()
			if epoch == "" {
				t.Fatal("the server wrote no dst:epoch marker")
			}
			restore := snapshot(t, rdb)

			// The store loses its data; detection is the monitor's (no
			// probe is sent until the error is logged).
			if err := tt.reset(rs, rdb); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			seen := waitLog(t, logs, "ERROR", "the Redis store was reset or replaced: epoch ")
			t.Logf("%s: the monitor logged the reset %v after it", tt.name, seen.Sub(t0).Round(time.Millisecond))
			if d := seen.Sub(t0); d > 5*time.Second {
				t.Errorf("the reset was logged after %v", d)
			}
			for _, r := range logs.records(t) {
				if r["level"] == "ERROR" {
					if msg := r["msg"].(string); !strings.Contains(msg, "found none; refusing bookings") {
						t.Errorf("error line %q does not say the marker is gone and bookings are refused", msg)
					}
				}
			}
			for _, req := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/readyz", nil},
				{"POST", "/v1/bookings", booking},
				{"GET", "/v1/bookings/" + b.ID, nil},
				{"POST", "/v1/match", booking},
				{"PUT", "/v1/workers/w1", worker},
			} {
				st, code, body := c.do(req.method, req.path, req.body)
				if st != http.StatusServiceUnavailable || code != "store_reset" || !bytes.Contains(body, []byte("reset or replaced")) {
					t.Errorf("%s %s after the reset: %d %s, want 503 store_reset", req.method, req.path, st, body)
				}
			}
			if _, _, body := c.do("GET", "/metrics", nil); !bytes.Contains(body, []byte("\ndoorstep_store_reset 1\n")) {
				t.Errorf("/metrics does not show doorstep_store_reset 1")
			}
			if n := rdb.DBSize(t.Context()).Val(); n != 0 {
				t.Errorf("the refused requests wrote %d keys into the empty store", n)
			}

			// The data comes back: the server serves it again, by itself.
			restore()
			t1 := time.Now()
			waitLog(t, logs, "INFO", "the Redis store holds its epoch again")
			t.Logf("%s: recovered %v after the data came back", tt.name, time.Since(t1).Round(time.Millisecond))
			if st, _, body := c.do("GET", "/readyz", nil); st != http.StatusOK {
				t.Errorf("/readyz after the restore: %d %s", st, body)
			}
			if st, _, body := c.do("GET", "/v1/bookings/"+b.ID, nil); st != http.StatusOK {
				t.Errorf("GET the booking after the restore: %d %s", st, body)
			}
			if _, _, body := c.do("GET", "/metrics", nil); !bytes.Contains(body, []byte("\ndoorstep_store_reset 0\n")) {
				t.Errorf("/metrics does not show doorstep_store_reset 0")
			}
			if got := rdb.Get(t.Context(), "dst:epoch").Val(); got != epoch {
				t.Errorf("dst:epoch is %q, want %q", got, epoch)
			}
		})
	}
}

// TestMainStoreEpochPinned: a server pinned to an epoch refuses a store
// without it from the start, even an empty one (where an unpinned server
// would adopt a new epoch), and accepts it once the marker is there.
func TestMainStoreEpochPinned(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	logs := new(syncBuffer)
	const pin = "0123456789abcdef0123456789abcdef"
	m := &Main{
		Config: ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(), StoreEpoch: pin},
		Log:    slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer m.Close()
	c := &epochClient{tb: t, base: "http://" + m.Addr(), http: &http.Client{Timeout: 5 * time.Second}}
	waitLog(t, logs, "ERROR", "epoch "+pin+" expected, found none")
	if st, code, body := c.do("GET", "/readyz", nil); st != http.StatusServiceUnavailable || code != "store_reset" {
		t.Errorf("/readyz on an empty store with a pinned epoch: %d %s", st, body)
	}
	if n := rdb.DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("the pinned server wrote %d keys into the empty store", n)
	}
	// The operator restores the marker: the server takes traffic.
	rdb.Set(t.Context(), "dst:epoch", fmt.Sprintf(`{"id":%q,"created":"2026-01-01T00:00:00Z"}`, pin), 0)
	waitLog(t, logs, "INFO", "the Redis store holds its epoch again")
	if st, _, body := c.do("GET", "/readyz", nil); st != http.StatusOK {
		t.Errorf("/readyz with the pinned marker back: %d %s", st, body)
	}
}

// TestEnvUnlessFlag: -store-epoch wins over DOORSTEP_STORE_EPOCH, which
// wins over the default.
func TestEnvUnlessFlag(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  string // "-" for unset
		want string
	}{
		{"default", nil, "-", ""},
		{"environment", nil, "from-env", "from-env"},
		{"flag", []string{"-store-epoch", "from-flag"}, "-", "from-flag"},
		{"flag wins", []string{"-store-epoch", "from-flag"}, "from-env", "from-flag"},
		{"empty flag wins", []string{"-store-epoch", ""}, "from-env", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "-" {
				t.Setenv("DOORSTEP_STORE_EPOCH", tt.env)
			}
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			var got string
			fs.StringVar(&got, "store-epoch", "", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			envUnlessFlag(fs, "store-epoch", "DOORSTEP_STORE_EPOCH", &got)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
