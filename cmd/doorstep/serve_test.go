package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// child is the real program (the test binary under envRunMain) running
// `doorstep serve` as a process, with its stderr log collected.
type child struct {
	cmd  *exec.Cmd
	addr chan string   // receives the address of the "doorstep serving" line
	done chan struct{} // closed when the process has exited and stderr is read

	mu    sync.Mutex
	lines []string // stderr, line by line
}

// startServe runs `doorstep serve args...` with env added to a clean
// environment (no DOORSTEP_* setting nor REDIS_URL of the caller's); the
// process is killed if it outlives the test.
func startServe(tb testing.TB, env []string, args ...string) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "REDIS_URL" && !strings.HasPrefix(name, "DOORSTEP_") && name != envRunMain {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, envRunMain+"=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", os.Args[0], err)
	}
	c := &child{cmd: cmd, addr: make(chan string, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.lines = append(c.lines, line)
			c.mu.Unlock()
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "doorstep serving" {
				c.addr <- rec.Addr
			}
		}
		cmd.Wait()
	}()
	tb.Cleanup(func() {
		select {
		case <-c.done:
		default:
			cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// waitAddr returns the address the server logged it listens on.
func (c *child) waitAddr(tb testing.TB) string {
	tb.Helper()
	select {
	case a := <-c.addr:
		return a
	case <-c.done:
		tb.Fatalf("doorstep serve exited (%v) before serving:\n%s", c.cmd.ProcessState, c.stderr())
	case <-time.After(30 * time.Second):
		tb.Fatalf("doorstep serve did not log its address within 30s:\n%s", c.stderr())
	}
	return ""
}

// wait waits for the process to exit and returns its exit code.
func (c *child) wait(tb testing.TB, limit time.Duration) int {
	tb.Helper()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		tb.Fatalf("doorstep serve still runs after %v:\n%s", limit, c.stderr())
	}
	return -1
}

func (c *child) stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// logged returns the JSON log records of stderr.
func (c *child) logged() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var recs []map[string]any
	for _, l := range c.lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			recs = append(recs, m)
		}
	}
	return recs
}

// TestServeUsageErrors runs the program with bad settings: it exits with
// status 2 and says why, before serving anything.
func TestServeUsageErrors(t *testing.T) {
	t.Parallel()
	badTable := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badTable, []byte("from_cell,to_cell,minutes\n871fb4662ffffff,871fb474dffffff,0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badProfile := filepath.Join(t.TempDir(), "profile.json")
	if err := os.WriteFile(badProfile, []byte(`{"rates": {"plumbing": [1, 2]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	badCatalogue := filepath.Join(t.TempDir(), "catalogue.json")
	if err := os.WriteFile(badCatalogue, []byte(`{"pricing": {"currency": "EUR", "time_zone": "Mars/Olympus"}, "services": [{"name": "x", "skill": "x", "default_duration_minutes": 30}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad catalogue", nil, []string{"-catalogue", badCatalogue}, `catalogue.json: parse catalogue: pricing.time_zone "Mars/Olympus" is not an IANA time zone`},
		{"catalogue from the environment", []string{"DOORSTEP_CATALOGUE=" + badCatalogue}, nil, `pricing.time_zone "Mars/Olympus"`},
		{"missing catalogue", nil, []string{"-catalogue", badCatalogue + ".nope"}, "catalogue: open"},
		{"retention too short", nil, []string{"-retention", "47h"}, "retention 47h0m0s is shorter than 48h0m0s"},
		{"open network without keys", nil, []string{"-addr", "0.0.0.0:0"}, "refusing to listen on non-loopback address"},
		{"unknown weight", nil, []string{"-weights", `{"speed":3}`}, `unknown field "speed"`},
		{"malformed weights", nil, []string{"-weights", `{"travel":`}, "weights: unexpected EOF"},
		{"negative weight", nil, []string{"-weights", `{"fairness":-1}`}, "non-negative"},
		{"weights from the environment", []string{`DOORSTEP_WEIGHTS={"nope":1}`}, nil, `unknown field "nope"`},
		{"malformed keys", []string{"DOORSTEP_API_KEYS=short:booking"}, nil, "at least 16 characters"},
		{"drain delay beyond grace", nil, []string{"-grace", "2s", "-drain-delay", "2s"}, "shorter than the grace period"},
		{"bad travel table", nil, []string{"-travel-table", badTable}, "bad.csv: travel table: line 2, column 3: minutes"},
		{"missing travel table", nil, []string{"-travel-table", badTable + ".nope"}, "no such file"},
		{"travel table from the environment", []string{"DOORSTEP_TRAVEL_TABLE=" + badTable}, nil, "line 2, column 3"},
		{"travel table flag wins", []string{"DOORSTEP_TRAVEL_TABLE=/nonexistent.csv"}, []string{"-travel-table", badTable}, "bad.csv: travel table: line 2"},
		{"bad urgent profile", nil, []string{"-urgent-profile", badProfile}, "profile.json: urgent profile: rates.plumbing: 2 hourly rates, want 24"},
		{"urgent profile from the environment", []string{"DOORSTEP_URGENT_PROFILE=" + badProfile}, nil, "rates.plumbing: 2 hourly rates"},
		{"urgent profile flag wins", []string{"DOORSTEP_URGENT_PROFILE=/nonexistent.json"}, []string{"-urgent-profile", badProfile}, "rates.plumbing: 2 hourly rates"},
		{"unknown flag", nil, []string{"-no-such-flag"}, "flag provided but not defined"},
		{"a bad weights flag over good DOORSTEP_WEIGHTS", []string{`DOORSTEP_WEIGHTS={"fairness":40}`}, []string{"-weights", `{"speed":3}`}, `unknown field "speed"`},
		{"a Redis and a cluster", []string{"REDIS_URL=redis://127.0.0.1:1"}, []string{"-redis-cluster", "redis://127.0.0.1:2"}, "both a Redis server"},
		{"a cluster and a Redis", []string{"REDIS_CLUSTER_URL=redis://127.0.0.1:2"}, []string{"-redis", "redis://127.0.0.1:1"}, "both a Redis server"},
		{"WAIT on the embedded store", nil, []string{"-redis-wait-replicas", "1"}, "needs a Redis with replicas"},
		{"keys on a store nobody chose", []string{"DOORSTEP_API_KEYS=" + testAdminKey + ":admin"}, nil, "refusing to run on the embedded store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startServe(t, tt.env, append([]string{"-addr", "127.0.0.1:0"}, tt.args...)...)
			if got := c.wait(t, 30*time.Second); got != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", got, c.stderr())
			}
			out := c.stderr()
			if !strings.Contains(out, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, out)
			}
			if strings.Contains(out, "doorstep serving") {
				t.Errorf("the server served:\n%s", out)
			}
		})
	}
}

// testAdminKey is an API key for the tests that run the program.
const testAdminKey = "admin-key-0123456789"

// TestServeSettings runs the program with settings from flags and the
// environment: a flag wins over its environment variable, and API keys
// run on the embedded store only when it is chosen by name. Each case must
// serve (a bogus environment value would make it exit) and log the store
// it runs on.
func TestServeSettings(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	bogus := "redis://127.0.0.1:1/0" // nothing listens on port 1
	tests := []struct {
		name  string
		env   []string
		args  []string
		store string // the store the start logs
	}{
		{"redis flag wins over REDIS_URL", []string{"REDIS_URL=" + bogus}, []string{"-redis", rs.URL()}, rs.URL()},
		{"embedded by name wins over REDIS_URL", []string{"REDIS_URL=" + bogus}, []string{"-redis", "embedded"}, "embedded"},
		{"REDIS_URL without the flag", []string{"REDIS_URL=" + rs.URL()}, nil, rs.URL()},
		{"weights flag wins over DOORSTEP_WEIGHTS", []string{`DOORSTEP_WEIGHTS={"nope":1}`}, []string{"-weights", `{"fairness":40}`}, "embedded"},
		{"keys on the embedded store chosen by flag", []string{"DOORSTEP_API_KEYS=" + testAdminKey + ":admin"}, []string{"-redis", "embedded"}, "embedded"},
		{"keys on the embedded store chosen by REDIS_URL", []string{"DOORSTEP_API_KEYS=" + testAdminKey + ":admin", "REDIS_URL=embedded"}, nil, "embedded"},
		{"keys on a Redis", []string{"DOORSTEP_API_KEYS=" + testAdminKey + ":admin"}, []string{"-redis", rs.URL()}, rs.URL()},
		{"no keys, no store: the README's command", nil, nil, "embedded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startServe(t, tt.env, append([]string{"-addr", "127.0.0.1:0"}, tt.args...)...)
			addr := c.waitAddr(t)
			res, err := http.Get("http://" + addr + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("/readyz = %d, want 200", res.StatusCode)
			}
			c.cmd.Process.Signal(syscall.SIGTERM)
			if code := c.wait(t, 30*time.Second); code != 0 {
				t.Errorf("exit status %d after SIGTERM:\n%s", code, c.stderr())
			}
			var starting, serving map[string]any
			for _, r := range c.logged() {
				switch r["msg"] {
				case "doorstep starting":
					starting = r
				case "doorstep serving":
					serving = r
				}
			}
			if starting == nil || serving == nil {
				t.Fatalf("no starting or serving line:\n%s", c.stderr())
			}
			if starting["store"] != tt.store || serving["store"] != tt.store {
				t.Errorf("logged store %v then %v, want %s", starting["store"], serving["store"], tt.store)
			}
			if serving["ready"] != true || serving["url"] != "http://"+addr {
				t.Errorf("serving line %v, want ready true and url http://%s", serving, addr)
			}
		})
	}
}

// TestMainOpenRefusesOpenNetwork: Main.Open refuses a non-loopback address
// when no API key is configured, with exit status 2, and listens on
// nothing.
func TestMainOpenRefusesOpenNetwork(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", "[::]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("skip %s: %v", addr, err) // no IPv6 here
			continue
		}
		ln.Close()
		m := &Main{Config: ServeConfig{Addr: addr}, Log: slog.New(slog.DiscardHandler)}
		err = m.Open(t.Context())
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			m.Close()
			t.Errorf("Open(%s) without keys = %v, want an exit status 2 error", addr, err)
			continue
		}
		if m.ln != nil || m.st != nil {
			t.Errorf("Open(%s) failed but kept a listener or a store", addr)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(tb testing.TB) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(s.b.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			tb.Fatalf("log line %q: %v", l, err)
		}
		recs = append(recs, m)
	}
	return recs
}

// TestMainDurability starts Main on Redis servers with and without AOF:
// at start it logs a warning unless every write is fsynced, and with
// RequireDurable /readyz fails (503) until it is.
func TestMainDurability(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		redis   []string
		require bool
		ready   int
		warn    string // a warning the start must log, "" for none
	}{
		{"AOF off", nil, false, http.StatusOK, "Redis AOF is off"},
		{"AOF off, durability required", nil, true, http.StatusServiceUnavailable, "Redis AOF is off"},
		{"fsync everysec, durability required", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, true, http.StatusServiceUnavailable, "Redis fsyncs the AOF everysec"},
		{"fsync always, durability required", []string{"--appendonly", "yes", "--appendfsync", "always"}, true, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := storetest.RunRedis(t, tt.redis...)
			logs := new(syncBuffer)
			m := &Main{
				Config: ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(), RequireDurable: tt.require},
				Log:    slog.New(slog.NewJSONHandler(logs, nil)),
			}
			if err := m.Open(t.Context()); err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer m.Close()
			res, err := http.Get("http://" + m.Addr() + "/readyz")
			if err != nil {
				t.Fatalf("GET /readyz: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.ready {
				t.Errorf("/readyz = %d %s, want %d", res.StatusCode, body, tt.ready)
			}
			if res.StatusCode == http.StatusServiceUnavailable {
				if !bytes.Contains(body, []byte("not durable")) || res.Header.Get("Retry-After") == "" {
					t.Errorf("/readyz answered %s (Retry-After %q), want a problem saying redis is not durable",
						body, res.Header.Get("Retry-After"))
				}
			}
			var persistence []string // what the start logged of persistence
			for _, r := range logs.records(t) {
				if _, ok := r["persistence"]; ok {
					persistence = append(persistence, fmt.Sprintf("%v: %v", r["level"], r["msg"]))
				}
			}
			want := "INFO: Redis persistence"
			if tt.warn != "" {
				want = "WARN: " + tt.warn
			}
			if len(persistence) != 1 || !strings.HasPrefix(persistence[0], want) {
				t.Errorf("the start logged %q of persistence, want one line %q...", persistence, want)
			}
		})
	}
}

// shutdownResult is the fate of one request of the shutdown test's traffic.
type shutdownResult struct {
	id         string
	what       string
	start, end time.Time
	status     int
	body       []byte
	err        error // the request failed (no complete answer)
	answered   bool  // the status line arrived
}

// TestServeGracefulShutdown runs the program as a process under a stream
// of real requests (batch plans, which take a while, and bookings) and
// sends it SIGTERM while some are in flight: /readyz turns 503 while the
// drain delay lasts (with -drain-delay), every request the server took got
// its whole answer, the requests in flight finish, and the process exits 0
// within the grace period.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	const grace = 10 * time.Second
	for _, drain := range []time.Duration{0, time.Second} {
		t.Run("drain-delay="+drain.String(), func(t *testing.T) {
			t.Parallel()
			testGracefulShutdown(t, grace, drain)
		})
	}
}

func testGracefulShutdown(t *testing.T, grace, drain time.Duration) {
	rs := storetest.RunRedis(t)
	c := startServe(t, []string{"REDIS_URL=" + rs.URL()}, "-addr", "127.0.0.1:0",
		"-grace", grace.String(), "-drain-delay", drain.String(), "-rate-limit", "-1")
	base := "http://" + c.waitAddr(t)
	// A new connection per request: a request is either taken by the
	// server or refused, never sent on a connection it is closing.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * grace}
	var (
		seq      atomic.Int64
		mu       sync.Mutex
		answered = map[string]bool{} // ids of the requests that got a whole answer
	)
	send := func(what, method, path string, body any) (r shutdownResult) {
		r = shutdownResult{id: fmt.Sprintf("t%d", seq.Add(1)), what: what, start: time.Now()}
		defer func() {
			r.end = time.Now()
			if r.err == nil {
				mu.Lock()
				answered[r.id] = true
				mu.Unlock()
			}
		}()
		var rd io.Reader
		if body != nil {
			data, _ := json.Marshal(body)
			rd = bytes.NewReader(data)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("X-Request-Id", r.id)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			r.err = err
			return r
		}
		defer res.Body.Close()
		r.answered, r.status = true, res.StatusCode
		r.body, r.err = io.ReadAll(res.Body)
		return r
	}

	// Workers on shift now, around central Berlin.
	now := time.Now().UTC().Truncate(time.Hour)
	const nWorkers = 30
	for i := range nWorkers {
		w := map[string]any{"skills": []string{"cleaning"}, "rating": 4.5,
			"home":   shutdownPlace(i, nWorkers),
			"shifts": []map[string]time.Time{{"start": now, "end": now.Add(24 * time.Hour)}}}
		if r := send("worker", "PUT", fmt.Sprintf("/v1/workers/w%d", i), w); r.err != nil || r.status != http.StatusCreated {
			t.Fatalf("PUT worker: %d %s %v", r.status, r.body, r.err)
		}
	}
	// A batch plan of many requests is CPU work of a good fraction of a
	// second; bookings are quick.
	batch := make([]map[string]any, 150)
	for i := range batch {
		batch[i] = map[string]any{"id": fmt.Sprintf("r%d", i), "service": "cleaning", "urgency": "normal",
			"duration_minutes": 30, "location": shutdownPlace(i*7, len(batch))}
	}
	traffic := []struct {
		what, method, path string
		body               func(i int) any
		ok                 []int
	}{
		{"plan", "POST", "/v1/assign", func(int) any { return map[string]any{"requests": batch} }, []int{http.StatusOK}},
		{"plan", "POST", "/v1/assign", func(int) any { return map[string]any{"requests": batch} }, []int{http.StatusOK}},
		{"book", "POST", "/v1/bookings", func(i int) any {
			return map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 30, "location": shutdownPlace(i, 50)}
		}, []int{http.StatusCreated, http.StatusUnprocessableEntity}},
	}
	var (
		results  []shutdownResult
		inFlight atomic.Int32 // plans in flight
		gate     sync.RWMutex // held to keep new requests from starting
		wg       sync.WaitGroup
	)
	ok := map[string][]int{}
	for _, tr := range traffic {
		ok[tr.what] = tr.ok
		wg.Go(func() {
			for i := 0; ; i++ {
				gate.RLock() // while held by the test, wait
				if tr.what == "plan" {
					inFlight.Add(1)
				}
				gate.RUnlock()
				r := send(tr.what, tr.method, tr.path, tr.body(i))
				if tr.what == "plan" {
					inFlight.Add(-1)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.err != nil && !r.answered {
					return // the server is gone
				}
			}
		})
	}

	// Let the traffic run, then signal while plans are in flight: hold
	// new requests until the ones in flight have surely reached the
	// server (a request sent at the very moment the listener closes may
	// be cut in the accept queue, unhandled: that is what the drain delay
	// is for), then send SIGTERM and let the traffic go on.
	time.Sleep(500 * time.Millisecond)
	for {
		gate.Lock()
		if inFlight.Load() > 0 {
			time.Sleep(50 * time.Millisecond)
			if inFlight.Load() > 0 {
				break
			}
		}
		gate.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	sigAt := time.Now()
	err := c.cmd.Process.Signal(syscall.SIGTERM)
	gate.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	// Probe readiness until the listener closes.
	var probes []shutdownResult
	for {
		r := send("readyz", "GET", "/readyz", nil)
		probes = append(probes, r)
		if r.err != nil {
			break
		}
		if time.Since(sigAt) > grace+5*time.Second {
			t.Fatalf("the server still listens %v after SIGTERM", time.Since(sigAt))
		}
		time.Sleep(20 * time.Millisecond)
	}
	code := c.wait(t, grace+5*time.Second)
	exitAfter := time.Since(sigAt)
	wg.Wait()

	t.Logf("SIGTERM to exit: %v; %d requests, %d readiness probes", exitAfter.Round(time.Millisecond), len(results), len(probes))
	if code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, c.stderr())
	}
	if exitAfter > grace {
		t.Errorf("the process exited %v after SIGTERM, beyond the grace period %v", exitAfter, grace)
	}
	if exitAfter < drain {
		t.Errorf("the process exited %v after SIGTERM, before the drain delay %v", exitAfter, drain)
	}

	// Readiness: with a drain delay, /readyz fails (503, shutting down)
	// from the moment the signal is handled until the listener closes; it
	// never turns ready again. Without a delay the listener closes at once.
	var ready503 int
	for _, p := range probes[:len(probes)-1] {
		switch {
		case p.err != nil:
			t.Errorf("readiness probe %s: %v", p.id, p.err)
		case p.status == http.StatusServiceUnavailable && bytes.Contains(p.body, []byte("shutting down")):
			ready503++
		case p.status == http.StatusOK && ready503 == 0:
			// The signal was not handled yet.
		default:
			t.Errorf("readiness probe %s after SIGTERM (and %d probes answering 503): %d %s", p.id, ready503, p.status, p.body)
		}
	}
	if drain > 0 && ready503 == 0 {
		t.Errorf("no readiness probe answered 503 during the drain delay")
	}
	// The last probe found the listener closed: refused, or cut in the
	// accept queue when it closed (then the server never handled it,
	// which the check below confirms).
	t.Logf("the last readiness probe, %v after SIGTERM: %v", probes[len(probes)-1].start.Sub(sigAt).Round(time.Millisecond), probes[len(probes)-1].err)

	// Every request the server handled (it logs each one with the id we
	// sent) got its whole answer; every request sent before SIGTERM was
	// handled and answered as in normal times; some were in flight at
	// SIGTERM and finished.
	handled := 0
	for _, rec := range c.logged() {
		if rec["msg"] != "request" {
			continue
		}
		id, _ := rec["request_id"].(string)
		if !strings.HasPrefix(id, "t") {
			continue
		}
		handled++
		if !answered[id] {
			t.Errorf("the server handled request %s (%v %v, status %v) but the client got no whole answer", id, rec["method"], rec["path"], rec["status"])
		}
	}
	var crossing, refused, failed int
	took := map[string][]time.Duration{}
	for _, r := range results {
		if r.err == nil {
			took[r.what] = append(took[r.what], r.end.Sub(r.start))
		}
		if r.start.Before(sigAt) {
			switch {
			case r.err != nil:
				t.Errorf("%s %s sent before SIGTERM failed: %v", r.what, r.id, r.err)
				continue
			case !slices.Contains(ok[r.what], r.status):
				t.Errorf("%s %s sent before SIGTERM answered %d %s", r.what, r.id, r.status, r.body)
			}
			if r.end.After(sigAt) {
				crossing++
			}
		}
		if r.err != nil {
			if errors.Is(r.err, syscall.ECONNREFUSED) {
				refused++
			} else {
				failed++
				t.Logf("%s %s sent %v after SIGTERM failed: %v", r.what, r.id, r.start.Sub(sigAt).Round(time.Millisecond), r.err)
			}
		}
	}
	for what, ds := range took {
		slices.Sort(ds)
		t.Logf("%d %s requests answered, median %v", len(ds), what, ds[len(ds)/2].Round(time.Millisecond))
	}
	t.Logf("%d requests handled by the server, %d in flight at SIGTERM, %d readiness probes answered 503, %d refused, %d cut before being handled",
		handled, crossing, ready503, refused, failed)
	if crossing == 0 {
		t.Errorf("no request was in flight at SIGTERM")
	}
	if handled == 0 {
		t.Errorf("the server logged no request")
	}
}

// shutdownPlace spreads n places over a 10 km square around central
// Berlin.
func shutdownPlace(i, n int) map[string]float64 {
	side := int(math.Ceil(math.Sqrt(float64(n))))
	step := 10.0 / float64(side) / 111.0
	return map[string]float64{
		"lat": 52.47 + float64(i%side)*step,
		"lng": 13.33 + float64((i/side)%side)*step/math.Cos(52.5*math.Pi/180),
	}
}

// TestLoadTravelTable: -travel-table's file becomes a geo.Table; no file
// leaves the matcher its default.
func TestLoadTravelTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(path, []byte("from_cell,to_cell,minutes,hour\n871fb4662ffffff,871fb474dffffff,20,8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadTravelTable(path)
	if err != nil {
		t.Fatal(err)
	}
	if table, ok := got.(*geo.Table); !ok || table.Len() != 1 {
		t.Errorf("loadTravelTable(%s) = %#v, want a *geo.Table of 1 row", path, got)
	}
	if got, err := loadTravelTable(""); got != nil || err != nil {
		t.Errorf(`loadTravelTable("") = %v, %v, want nil, nil`, got, err)
	}
}
