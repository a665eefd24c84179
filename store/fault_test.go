package store_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/internal/apitest"
	"github.com/doorstep-dev/doorstep/internal/faultproxy"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// The tests of this file put a fault-injecting TCP proxy between the store
// and a real redis-server and drive the real HTTP API (wired as
// cmd/doorstep wires it, with the store's default timeouts and retries) or
// dispatch.Book through it.

// faultNow is the fixed clock of the rigs: a Monday 08:00 UTC, when the
// fixtures' shifts begin.
var faultNow = time.Date(2030, 1, 7, 8, 0, 0, 0, time.UTC)

// faultHome is where the fixtures live (Manhattan).
var faultHome = doorstep.Location{Lat: 40.7128, Lng: -74.0060}

// apiBudget is the promise: with Redis down or slow, the API
// answers within a second. It is asserted as is, not loosened: the
// "sluggish" fault is only caught near it (a request without a deadline
// overruns it by round trips of 300 ms), so TestAPIRedisFaults runs alone
// (not parallel) rather than with a generous bound.
const apiBudget = time.Second

// faultRig is the API on a redis-server reached through a fault proxy.
type faultRig struct {
	h     *apitest.Harness
	redis *storetest.Server
	proxy *faultproxy.Proxy
	store *store.Store
	svc   *dispatch.Service
}

// newFaultRig starts redis-server (with args), a proxy in front of it, the
// store on the proxy with the default Config (as cmd/doorstep opens it),
// the dispatch service and the API without keys (apitest.New), and stores
// one cleaner at faultHome.
func newFaultRig(t *testing.T, args ...string) *faultRig {
	t.Helper()
	return newFaultRigWith(t, nil, args...)
}

// newFaultRigWith is newFaultRig with configure, when not nil, adjusting
// the API's configuration.
func newFaultRigWith(t *testing.T, configure func(*api.Config), args ...string) *faultRig {
	t.Helper()
	var px *faultproxy.Proxy
	h := apitest.New(t, apitest.Options{RedisArgs: args, Now: func() time.Time { return faultNow }, Configure: configure,
		StoreURL: func(tb testing.TB, rs *storetest.Server) string {
			px = faultproxy.Start(tb, rs.Addr)
			return "redis://" + px.Addr() + "/0"
		}})
	rig := &faultRig{h: h, redis: h.Redis, proxy: px, store: h.Store, svc: h.Service}
	w := fixtureWorker("w1", faultHome)
	if got := rig.do(t, "PUT", "/v1/workers/w1", w); got.status != http.StatusCreated {
		t.Fatalf("PUT worker: %d %s", got.status, got.body)
	}
	return rig
}

// fixtureWorker is a cleaner at home, on shift all of faultNow's day.
func fixtureWorker(id string, home doorstep.Location) *doorstep.Worker {
	return &doorstep.Worker{
		ID:     id,
		Skills: []string{"cleaning"},
		Home:   home,
		Shifts: []doorstep.Shift{{Start: faultNow, End: faultNow.Add(16 * time.Hour)}},
		Rating: 4.5,
	}
}

// cleaningAt is a normal one-hour cleaning request at loc.
func cleaningAt(loc doorstep.Location) map[string]any {
	return map[string]any{"service": "cleaning", "urgency": "normal", "duration_minutes": 60,
		"location": map[string]float64{"lat": loc.Lat, "lng": loc.Lng}}
}

// answer is an HTTP answer read in full, with the time it took.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration
}

// do sends body (nil for none) as JSON, with header given as name, value
// pairs, and reads the whole answer; a failed exchange is reported and
// answers status 0 (apitest.Harness.Do).
func (r *faultRig) do(tb testing.TB, method, path string, body any, header ...string) answer {
	tb.Helper()
	a := r.h.Do(tb, method, path, "", body, header...)
	return answer{status: a.Status, header: a.Header, body: a.Body, took: a.Took}
}

// probes are the calls that must answer 503 promptly while Redis is sick:
// a booking, without and with an Idempotency-Key (whose record lives in
// Redis too), a quote and the readiness probe.
var probes = []struct {
	name, method, path string
	body               any
	idempotent         bool
}{
	{"book", "POST", "/v1/bookings", cleaningAt(faultHome), false},
	{"book with Idempotency-Key", "POST", "/v1/bookings", cleaningAt(faultHome), true},
	{"match", "POST", "/v1/match", cleaningAt(faultHome), false},
	{"readyz", "GET", "/readyz", nil, false},
}

// wantUnavailable fails unless a is a prompt 503 problem with Retry-After.
func wantUnavailable(tb testing.TB, what string, a answer) {
	tb.Helper()
	if a.status != http.StatusServiceUnavailable {
		tb.Errorf("%s: status %d, want 503; body %s", what, a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	if ra, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || ra < 1 {
		tb.Errorf("%s: Retry-After %q, want a whole number of seconds", what, a.header.Get("Retry-After"))
	}
	var p api.Problem
	if err := json.Unmarshal(a.body, &p); err != nil || p.Code != doorstep.EUNAVAILABLE {
		tb.Errorf("%s: problem %s (%v), want code %q", what, a.body, err, doorstep.EUNAVAILABLE)
	}
	if a.took >= apiBudget {
		tb.Errorf("%s: answered in %v, want under %v", what, a.took, apiBudget)
	}
}

// TestAPIRedisFaults makes Redis hang, crawl and vanish behind the API:
// bookings, quotes and /readyz answer 503 with Retry-After within a
// second, and once the network heals the same server books again without
// a restart. It is not parallel: its timing is the promise under test, so
// it does not share the CPU with the package's load tests.
func TestAPIRedisFaults(t *testing.T) {
	rig := newFaultRig(t)
	faults := []struct {
		name   string
		inject func()
	}{
		// Connections are accepted, commands never answered.
		{"hung", rig.proxy.Blackhole},
		// Every chunk each way arrives after two seconds: each reply comes
		// long after the socket timeouts.
		{"slow", func() { rig.proxy.Slow(2 * time.Second) }},
		// Every chunk each way is delayed by 150 ms: each command succeeds
		// within the socket timeouts, but a booking's several round trips
		// (a lone worker makes the candidate search widen ring after ring)
		// add up beyond the budget unless the request has a deadline, and
		// never reach the reservation within it.
		{"sluggish", func() { rig.proxy.Slow(150 * time.Millisecond) }},
		// Connections are cut and refused.
		{"down", rig.proxy.Down},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			booked := rig.do(t, "POST", "/v1/bookings", cleaningAt(faultHome))
			if booked.status != http.StatusCreated {
				t.Fatalf("healthy booking: %d %s", booked.status, booked.body)
			}
			f.inject()
			// The probes run at once, as clients would; each is timed on
			// its own.
			var wg sync.WaitGroup
			for _, p := range probes {
				if f.name == "sluggish" && p.path == "/readyz" {
					// A ping's round trip (300 ms) is within its timeout:
					// a sluggish Redis is still up.
					continue
				}
				var header []string
				if p.idempotent {
					header = []string{"Idempotency-Key", "key-" + f.name}
				}
				wg.Go(func() {
					a := rig.do(t, p.method, p.path, p.body, header...)
					wantUnavailable(t, p.name, a)
					t.Logf("%s with Redis %s: %d in %v", p.name, f.name, a.status, a.took.Round(time.Millisecond))
				})
			}
			wg.Wait()
			rig.proxy.Heal()
			// Recovery needs no restart and no waiting: the very next
			// requests succeed (go-redis drops the dead pooled connections
			// and dials again).
			for _, want := range []struct {
				method, path string
				body         any
				status       int
			}{
				{"GET", "/readyz", nil, http.StatusOK},
				{"POST", "/v1/match", cleaningAt(faultHome), http.StatusOK},
				{"POST", "/v1/bookings", cleaningAt(faultHome), http.StatusCreated},
			} {
				if a := rig.do(t, want.method, want.path, want.body); a.status != want.status {
					t.Errorf("healed: %s %s = %d %s, want %d", want.method, want.path, a.status, a.body, want.status)
				}
			}
		})
	}
	// Nothing was booked behind the client's back: the worker holds the
	// bookings that were answered 201 (two per fault), no more. Bookings
	// made while the fault was on would show up here.
	bs, err := rig.store.WorkerBookings(t.Context(), "w1", faultNow, faultNow.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if got, want := len(bs), 2*len(faults); got != want {
		t.Errorf("the worker has %d bookings, want %d", got, want)
	}
}

// TestInFlightLimitSheds holds the server's only in-flight slot with a
// booking that waits on a hung Redis (until its deadline), and meanwhile
// asks for the API's description, which needs no Redis: it is refused
// with 429 after its wait for the slot (BurstWait, as each call meets a
// young queue; problem+json, Retry-After, counted in
// doorstep_shed_requests_total), not queued behind the booking. Once the
// booking has its 503 the slot is free and the same call is answered.
// The overload soak (bench.TestSoak) measures the same limit under load;
// this is its behaviour, decided by the hung call rather than by timing:
// the one time it asserts is that the booking holds the slot for longer
// than the loop takes to send a call (its deadline is 750 ms).
func TestInFlightLimitSheds(t *testing.T) {
	t.Parallel()
	rig := newFaultRigWith(t, func(c *api.Config) {
		// No per-key rate limit: its 429 would pass for the one under test.
		c.Limits.MaxInFlight, c.Limits.QueueWait, c.Limits.RatePerKey = 1, 10*time.Millisecond, -1
	})
	if a := rig.do(t, "GET", "/openapi.json", nil); a.status != http.StatusOK {
		t.Fatalf("GET /openapi.json with the slot free: %d %s", a.status, a.body)
	}
	rig.proxy.Blackhole()
	booked := make(chan answer, 1)
	go func() {
		// The booking itself is shed when it meets a call holding the slot
		// past its wait (a slow machine): it is sent again.
		for {
			if a := rig.do(t, "POST", "/v1/bookings", cleaningAt(faultHome)); a.status != http.StatusTooManyRequests {
				booked <- a
				return
			}
		}
	}()
	var shed *answer
	for shed == nil {
		select {
		case a := <-booked:
			t.Fatalf("the booking answered %d %s before any call was shed", a.status, a.body)
		default:
		}
		// 200 until the booking holds the slot, then 429 until its deadline.
		a := rig.do(t, "GET", "/openapi.json", nil)
		switch a.status {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			shed = &a
		default:
			t.Fatalf("GET /openapi.json beside the booking: %d %s", a.status, a.body)
		}
	}
	if ct := shed.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("429: Content-Type %q, want application/problem+json", ct)
	}
	if ra, err := strconv.Atoi(shed.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("429: Retry-After %q, want a whole number of seconds", shed.header.Get("Retry-After"))
	}
	var p api.Problem
	if err := json.Unmarshal(shed.body, &p); err != nil || p.Code != doorstep.ERATELIMITED || !strings.Contains(p.Detail, "at capacity") {
		t.Errorf("429: problem %s (%v), want code %q and the server at capacity", shed.body, err, doorstep.ERATELIMITED)
	}
	// Answered at its deadline (not timed here: TestAPIRedisFaults keeps
	// that promise, alone on the CPU).
	if a := <-booked; a.status != http.StatusServiceUnavailable {
		t.Errorf("the booking holding the slot: %d %s, want 503", a.status, a.body)
	}
	rig.proxy.Heal()
	if a := rig.do(t, "GET", "/openapi.json", nil); a.status != http.StatusOK {
		t.Errorf("GET /openapi.json once the slot is free again: %d %s", a.status, a.body)
	}
	metrics := rig.do(t, "GET", "/metrics", nil)
	if !regexp.MustCompile(`(?m)^doorstep_shed_requests_total [1-9]`).Match(metrics.body) {
		t.Errorf("doorstep_shed_requests_total does not count the shed call:\n%s", metrics.body)
	}
}

// TestNoScriptRecovery loses Redis' script cache, by SCRIPT FLUSH and by a
// restart of redis-server (which keeps its AOF data but no scripts), under
// a running API: the next booking succeeds, because go-redis answers
// NOSCRIPT by sending the script itself (EVAL), which caches it again.
func TestNoScriptRecovery(t *testing.T) {
	t.Parallel()
	rig := newFaultRig(t, "--appendonly", "yes")
	sha := applySHA(t)
	direct := directClient(t, rig.redis)
	book := func(t *testing.T) {
		t.Helper()
		if a := rig.do(t, "POST", "/v1/bookings", cleaningAt(faultHome)); a.status != http.StatusCreated {
			t.Fatalf("booking: %d %s", a.status, a.body)
		}
	}
	cached := func(t *testing.T) bool {
		t.Helper()
		got, err := direct.ScriptExists(t.Context(), sha).Result()
		if err != nil {
			t.Fatalf("SCRIPT EXISTS: %v", err)
		}
		return got[0]
	}
	book(t)
	if !cached(t) {
		t.Fatalf("the reservation script %s is not cached after a booking; is apply.lua the script Apply runs?", sha)
	}
	losses := []struct {
		name string
		lose func(t *testing.T)
	}{
		{"ScriptFlush", func(t *testing.T) {
			if err := direct.ScriptFlush(t.Context()).Err(); err != nil {
				t.Fatalf("SCRIPT FLUSH: %v", err)
			}
		}},
		{"Restart", func(t *testing.T) { rig.redis.Restart() }},
	}
	for _, l := range losses {
		t.Run(l.name, func(t *testing.T) {
			l.lose(t)
			if cached(t) {
				t.Fatal("the script is still cached")
			}
			book(t)
			if !cached(t) {
				t.Error("the booking did not load the script again")
			}
		})
	}
	bs, err := rig.store.WorkerBookings(t.Context(), "w1", faultNow, faultNow.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings: %v", err)
	}
	if got, want := len(bs), 1+len(losses); got != want {
		t.Errorf("the worker has %d bookings, want %d", got, want)
	}
}

// TestLostReservationReplyBooksOnce loses the reply to the reservation
// script after Redis ran it, under dispatch.Book with the default retries:
// go-redis sends the script again on a new connection, the script finds
// the booking it wrote itself, and Book returns it. Exactly one booking
// exists afterwards, on the worker's timeline once. The first round runs
// the script uncached (EVALSHA answers NOSCRIPT, the EVAL's reply is
// lost), the second cached (the EVALSHA's reply is lost).
func TestLostReservationReplyBooksOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rig := newFaultRig(t)
	direct := directClient(t, rig.redis)
	sha, head := []byte(applySHA(t)), applyHead(t)
	var want []string // the booking ids Book returned
	for _, r := range []struct {
		round string
		cmd   string // the command whose reply is lost and retried
	}{{"uncached", "eval"}, {"cached", "evalsha"}} {
		round := r.round
		runs := storetest.CommandCalls(t, direct, r.cmd)
		rig.proxy.DropReply(faultproxy.Drop{
			// EVALSHA of the reservation script, or EVAL of its source.
			Request: func(b []byte) bool { return bytes.Contains(b, sha) || bytes.Contains(b, head) },
			Keep:    func(b []byte) bool { return bytes.HasPrefix(b, []byte("-NOSCRIPT")) },
		})
		req := doorstep.Request{Service: "cleaning", Urgency: doorstep.Normal, Location: faultHome, Duration: time.Hour}
		got, err := rig.svc.Book(ctx, req, "key-1")
		if err != nil {
			t.Fatalf("%s: Book with the reservation's reply lost: %v", round, err)
		}
		want = append(want, got.Booking.ID)
		if n := rig.proxy.Dropped(); n != len(want) {
			t.Fatalf("%s: the proxy lost %d replies, want %d", round, n, len(want))
		}
		if n := storetest.CommandCalls(t, direct, r.cmd) - runs; n != 2 {
			t.Errorf("%s: Redis ran %d %s, want the reservation and its retry", round, n, strings.ToUpper(r.cmd))
		}
		keys, err := direct.Keys(ctx, "dst:*:b:*").Result()
		if err != nil {
			t.Fatalf("KEYS: %v", err)
		}
		if len(keys) != len(want) {
			t.Errorf("%s: %d booking keys in Redis (%q), want %d", round, len(keys), keys, len(want))
		}
		bs, err := rig.store.WorkerBookings(ctx, "w1", faultNow, faultNow.Add(24*time.Hour))
		if err != nil {
			t.Fatalf("WorkerBookings: %v", err)
		}
		if diff := cmp.Diff(bookingIDs(bs), sortedIDs(bookingsByID(t, rig.store, want))); diff != "" {
			t.Errorf("%s: the worker's timeline (-got +want):\n%s", round, diff)
		}
	}
}

// bookingsByID reads the bookings of ids.
func bookingsByID(tb testing.TB, st *store.Store, ids []string) []*doorstep.Booking {
	tb.Helper()
	bs := make([]*doorstep.Booking, len(ids))
	for i, id := range ids {
		b, err := st.GetBooking(context.Background(), id)
		if err != nil {
			tb.Fatalf("GetBooking(%s): %v", id, err)
		}
		if b.Status != doorstep.StatusConfirmed {
			tb.Errorf("booking %s is %s", id, b.Status)
		}
		bs[i] = b
	}
	return bs
}

// directClient is a go-redis client straight to srv, bypassing the proxy,
// for the tests' own inspection.
func directClient(tb testing.TB, srv *storetest.Server) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DisableIdentity: true})
	tb.Cleanup(func() { c.Close() })
	return c
}

// applySHA is the SHA-1 of the reservation script, the name EVALSHA calls
// it by.
func applySHA(tb testing.TB) string {
	sum := sha1.Sum(applySource(tb))
	return hex.EncodeToString(sum[:])
}

// applyHead is the start of the reservation script, which EVAL sends.
func applyHead(tb testing.TB) []byte {
	src := applySource(tb)
	if i := bytes.IndexByte(src, '\n'); i > 0 {
		return src[:i]
	}
	return src
}

func applySource(tb testing.TB) []byte {
	tb.Helper()
	src, err := os.ReadFile("apply.lua")
	if err != nil {
		tb.Fatal(err)
	}
	return src
}
