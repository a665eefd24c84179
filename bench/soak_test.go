package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/internal/apitest"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The soak: POST /v1/bookings at constant arrival rates (vegeta, open
// loop: a slow server does not slow the arrivals) on loopback, at the
// sustainable rate (1x) and at three times it (3x), for a bounded time. It
// holds the server to the production-hardening promises: at 3x it sheds
// the excess with 429 (or 503) at once instead of queueing it, no request
// times out, the p99 of the accepted answers (201 booked, 422 unservable)
// stays within 3x the 1x p99, the heap after 3x is within 1.5x of the heap
// after 1x (and does not grow from round to round), and afterwards every
// worker's day passes schedule.Verify (no overlap, travel included).
//
// Calibration: the server runs with the in-flight limit under test, and a
// probe sends far more than it can take; what it accepts a second is its
// capacity, and 1x is half of it (the rate it sustains with room for the
// noise of a shared machine), so 3x is 1.5 times what it can serve.
// Then 1x and 3x alternate, a slice of each per round, so that both meet
// the same background load (on a shared machine other processes come and
// go); each slice is a constant rate.
//
// In every `go test` a reduced soak runs (5 rounds of 1 s at each rate,
// about 20 s in all); -short, and the race detector (whose slowdown it
// would measure), skip it. It asserts what holds whatever the machine's
// load: no request times out or fails without an answer, every answer is
// 201, 422, 429 or 503, the heap does not grow, and every timeline
// verifies. Its latencies, and whether 1x was sustained and 3x shed, it
// reports but does not judge: the brief keeps timed assertions out of unit
// tests, and on a shared machine, beside the other packages' tests of
// `go test ./...`, a p99 of a few hundred samples is decided by the
// neighbours (a CI run failed on it while another process took the CPU:
// the probe accepted 154/s where it had accepted 492/s a minute before).
// That the server sheds instead of queueing is asserted without timing by
// store.TestInFlightLimitSheds. The full soak (6 rounds of 10 s, 10,000
// workers), run on purpose, judges the latency promises too:
//
//	DOORSTEP_SOAK=full go test -run '^TestSoak$' -v -timeout 30m ./bench/
//
// Knobs: DOORSTEP_SOAK_RATE (1x, skipping calibration), _INFLIGHT and
// _QUEUEWAIT (the api.Limits under test), _WORKERS, _ROUNDS.

// soakConfig sizes a soak.
type soakConfig struct {
	full      bool
	workers   int           // in the city
	probe     time.Duration // the calibration probe
	slice     time.Duration // each stretch of one rate in a round
	rounds    int           // of 1x then 3x
	baseRate  int           // 1x when set: no calibration
	keyCount  int           // booking systems sending the load (each under api.Limits.RatePerKey)
	inFlight  int           // api.Limits.MaxInFlight
	queueWait time.Duration // api.Limits.QueueWait
}

func soakConfigFromEnv(tb testing.TB) soakConfig {
	c := soakConfig{workers: 2000, probe: 2 * time.Second, slice: time.Second, rounds: 5, keyCount: 32,
		inFlight: 2 * runtime.GOMAXPROCS(0), queueWait: 5 * time.Millisecond}
	if os.Getenv("DOORSTEP_SOAK") == "full" {
		c.full, c.workers, c.probe, c.slice, c.rounds = true, 10000, 5*time.Second, 10*time.Second, 6
	}
	for _, knob := range []struct {
		env string
		n   *int
	}{{"DOORSTEP_SOAK_RATE", &c.baseRate}, {"DOORSTEP_SOAK_INFLIGHT", &c.inFlight}, {"DOORSTEP_SOAK_WORKERS", &c.workers},
		{"DOORSTEP_SOAK_ROUNDS", &c.rounds}} {
		if v := os.Getenv(knob.env); v != "" {
			if _, err := fmt.Sscan(v, knob.n); err != nil || *knob.n < 1 {
				tb.Fatalf("%s=%q: want a positive number", knob.env, v)
			}
		}
	}
	if v := os.Getenv("DOORSTEP_SOAK_QUEUEWAIT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			tb.Fatalf("DOORSTEP_SOAK_QUEUEWAIT=%q: want a positive duration", v)
		}
		c.queueWait = d
	}
	return c
}

// phaseStats is what one constant-rate phase saw.
type phaseStats struct {
	name     string
	rate     int
	sent     int
	codes    map[uint16]int
	errors   map[string]int // transport errors (timeouts among them)
	accepted []time.Duration
	heap     uint64 // HeapAlloc after the phase and a GC
}

// add merges q, a later stretch of the same phase, into p.
func (p *phaseStats) add(q *phaseStats) {
	p.sent += q.sent
	for k, v := range q.codes {
		p.codes[k] += v
	}
	for k, v := range q.errors {
		p.errors[k] += v
	}
	p.accepted = append(p.accepted, q.accepted...)
	p.heap = q.heap
}

func (p *phaseStats) shed() int {
	return p.codes[http.StatusTooManyRequests] + p.codes[http.StatusServiceUnavailable]
}

// quantile of the accepted latencies.
func (p *phaseStats) quantile(q float64) time.Duration {
	if len(p.accepted) == 0 {
		return 0
	}
	s := slices.Clone(p.accepted)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

func (p *phaseStats) row() string {
	return fmt.Sprintf("| %s | %d/s | %d | %d | %d | %d | %d | %d | %s | %s | %s | %.1f MB |",
		p.name, p.rate, p.sent, p.codes[http.StatusCreated], p.codes[http.StatusUnprocessableEntity],
		p.codes[http.StatusTooManyRequests], p.codes[http.StatusServiceUnavailable], sumErrors(p.errors),
		p.quantile(0.50).Round(10*time.Microsecond), p.quantile(0.95).Round(10*time.Microsecond), p.quantile(0.99).Round(10*time.Microsecond),
		float64(p.heap)/(1<<20))
}

func sumErrors(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

const soakHeader = "| phase | rate | sent | 201 | 422 | 429 | 503 | errors | p50 accepted | p95 accepted | p99 accepted | heap after GC |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"

// soakServer is the server under load, on loopback.
type soakServer struct {
	url  string
	st   *store.Store
	keys []string
}

func startSoakServer(tb testing.TB, c soakConfig) *soakServer {
	tb.Helper()
	var spec []string
	s := &soakServer{}
	for i := range c.keyCount {
		k := fmt.Sprintf("soak-booking-key-%04d", i)
		s.keys = append(s.keys, k)
		spec = append(spec, k+":booking")
	}
	h := apitest.New(tb, apitest.Options{Now: func() time.Time { return benchNow }, Keys: strings.Join(spec, ","),
		Configure: func(cfg *api.Config) { cfg.Limits = api.Limits{MaxInFlight: c.inFlight, QueueWait: c.queueWait} }})
	seedCity(tb, h.Store, c.workers, 7)
	s.url, s.st = h.URL, h.Store
	return s
}

// targeter makes POST /v1/bookings of varied city requests (30 % urgent,
// a third of the normal ones with a two-hour window, some with a customer
// id), spread over the booking systems' keys.
func (s *soakServer) targeter(seed uint64) vegeta.Targeter {
	services := doorstep.DefaultCatalogue().Names()
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 3))
	return func(t *vegeta.Target) error {
		mu.Lock()
		r := cityRequest(rng, services)
		body := map[string]any{"service": r.Service, "urgency": r.Urgency, "location": r.Location}
		if r.Urgency == doorstep.Normal && rng.IntN(3) == 0 {
			start := benchNow.Add(time.Duration(1+rng.IntN(8)) * time.Hour)
			body["window"] = doorstep.Window{Start: start, End: start.Add(2 * time.Hour)}
		}
		if rng.IntN(2) == 0 {
			body["customer_id"] = fmt.Sprintf("c%06d", rng.IntN(100000))
		}
		key := s.keys[rng.IntN(len(s.keys))]
		mu.Unlock()
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		t.Method, t.URL, t.Body = http.MethodPost, s.url+"/v1/bookings", data
		t.Header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + key}}
		return nil
	}
}

// attack runs one phase at rate for d and collects what it saw.
func (s *soakServer) attack(name string, rate int, d time.Duration, seed uint64) *phaseStats {
	tr := &http.Transport{MaxIdleConnsPerHost: 10000}
	defer tr.CloseIdleConnections()
	a := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr, Timeout: 5 * time.Second}), vegeta.MaxBody(0))
	p := &phaseStats{name: name, rate: rate, codes: map[uint16]int{}, errors: map[string]int{}}
	for res := range a.Attack(s.targeter(seed), vegeta.Rate{Freq: rate, Per: time.Second}, d, name) {
		p.sent++
		p.codes[res.Code]++
		switch {
		case res.Error != "" && res.Code == 0:
			p.errors[res.Error]++
		case res.Code == http.StatusCreated || res.Code == http.StatusUnprocessableEntity:
			p.accepted = append(p.accepted, res.Latency)
		}
	}
	tr.CloseIdleConnections()
	p.heap = heapAfterGC()
	return p
}

// heapAfterGC is the live heap once the connections of a phase are gone.
func heapAfterGC() uint64 {
	time.Sleep(100 * time.Millisecond) // let the server's connection goroutines end
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// calibrate measures the server's capacity under its limits: a probe at
// a rate it cannot take, doubled until it sheds; what it accepts a second
// is the capacity, and 1x is half of it.
func (s *soakServer) calibrate(t *testing.T, c soakConfig) int {
	for rate := 500; ; rate *= 2 {
		p := s.attack("probe", rate, c.probe, uint64(rate))
		checkDays(t, s.st, c.workers) // each probe, and the soak after, on empty days
		capacity := float64(len(p.accepted)) / c.probe.Seconds()
		t.Logf("calibrate: probe at %d/s: sent %d, accepted %d (%.0f/s), shed %d, errors %d, accepted p99 %v",
			rate, p.sent, len(p.accepted), capacity, p.shed(), sumErrors(p.errors), p.quantile(0.99))
		if p.shed() > p.sent/10 || rate >= 64000 {
			return max(1, int(capacity/2))
		}
	}
}

// soakRun is one measurement: rounds of 1x then 3x.
type soakRun struct {
	one, three *phaseStats
	firstHeap  uint64 // after the first round
	booked     int    // bookings on the timelines checked after the phases
}

// run measures the rounds. Every phase meets the city with its days empty
// (checkDays cancels what the one before booked): the soak's clock stands
// still (benchNow), so its bookings never end, and at the capacity of a
// server twice as fast as the one the soak was written for, six rounds
// booked some 18,500 jobs on 10,000 workers' one shift; the city filled,
// most bookings then needed a rescue plan, and 1x measured a full city
// rather than the limits (bench/RESULTS.md, "The full soak fails").
func (s *soakServer) run(t *testing.T, c soakConfig, base int) *soakRun {
	r := &soakRun{
		one:   &phaseStats{name: "1x", rate: base, codes: map[uint16]int{}, errors: map[string]int{}},
		three: &phaseStats{name: "3x", rate: 3 * base, codes: map[uint16]int{}, errors: map[string]int{}},
	}
	for round := range c.rounds {
		seed := uint64(2 * round)
		r.one.add(s.attack("1x", base, c.slice, seed))
		r.booked += checkDays(t, s.st, c.workers)
		r.three.add(s.attack("3x", 3*base, c.slice, seed+1))
		r.booked += checkDays(t, s.st, c.workers)
		if round == 0 {
			r.firstHeap = r.three.heap
		}
	}
	return r
}

// sustained reports whether 1x was within the server's means: it shed
// under a tenth of its requests and its median answer took at most three
// times the idle one (a server that queues at 1x already would otherwise
// pass the 3x latency bound by being as slow at both rates).
func (r *soakRun) sustained(idle *phaseStats) bool {
	return r.one.shed()*10 < r.one.sent && r.one.quantile(0.50) <= 3*idle.quantile(0.50)
}

// latencyOK reports whether the accepted p99 at 3x is within 3x the 1x p99.
func (r *soakRun) latencyOK() bool { return r.three.quantile(0.99) <= 3*r.one.quantile(0.99) }

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	if raceEnabled {
		t.Skip("soak: skipped under the race detector, whose slowdown it would measure")
	}
	c := soakConfigFromEnv(t)
	s := startSoakServer(t, c)
	baseline := heapAfterGC()
	// Unloaded: what an answer takes when nothing else runs.
	idle := s.attack("idle", 20, 2*time.Second, 0)
	t.Logf("idle at 20/s: accepted p50 %v, p99 %v", idle.quantile(0.50), idle.quantile(0.99))
	base := c.baseRate
	if base == 0 {
		base = s.calibrate(t, c)
	}
	r := s.run(t, c, base)
	t.Logf("soak: %d workers, MaxInFlight %d, QueueWait %v, GOMAXPROCS %d, %d rounds of %v at each rate; heap %.1f MB before, %.1f MB after the first round\n%s\n%s\n%s",
		c.workers, c.inFlight, c.queueWait, runtime.GOMAXPROCS(0), c.rounds, c.slice,
		float64(baseline)/(1<<20), float64(r.firstHeap)/(1<<20), soakHeader, r.one.row(), r.three.row())
	one, three := r.one, r.three
	for _, p := range []*phaseStats{one, three} {
		if n := sumErrors(p.errors); n > 0 {
			t.Errorf("%s: %d requests failed without an answer (timeouts or transport errors): %v", p.name, n, p.errors)
		}
		for code, n := range p.codes {
			switch code {
			case http.StatusCreated, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable, 0:
			default:
				t.Errorf("%s: %d answers %d", p.name, n, code)
			}
		}
	}
	// The latency promises: judged in the full soak, reported in the
	// reduced one (see the top of this file).
	judge := t.Errorf
	if !c.full {
		judge = func(format string, args ...any) { t.Logf("reported, not judged in the reduced soak: "+format, args...) }
	}
	if !r.sustained(idle) {
		judge("1x is not sustained: shed %d of %d, accepted p50 %v against %v idle: the server queues at 1x already",
			one.shed(), one.sent, one.quantile(0.50), idle.quantile(0.50))
	}
	if three.codes[http.StatusTooManyRequests] == 0 {
		judge("3x: no request was shed with 429")
	}
	if !r.latencyOK() {
		judge("3x: accepted p99 %v is over 3x the 1x p99 %v: the server queues instead of shedding", three.quantile(0.99), one.quantile(0.99))
	}
	if three.heap > one.heap*3/2 {
		t.Errorf("heap after 3x %.1f MB, over 1.5x the %.1f MB after 1x", float64(three.heap)/(1<<20), float64(one.heap)/(1<<20))
	}
	if three.heap > r.firstHeap*3/2 {
		t.Errorf("heap after the last round %.1f MB, over 1.5x the %.1f MB after the first: it grows", float64(three.heap)/(1<<20), float64(r.firstHeap)/(1<<20))
	}
	t.Logf("verified %d timelines after each phase, holding %d bookings in all: no overlap", c.workers, r.booked)
}

// checkDays checks every worker's day against every hard rule, then
// cancels its bookings, and returns how many there were.
func checkDays(t *testing.T, st *store.Store, n int) int {
	ctx := context.Background()
	booked := 0
	for i := range n {
		id := fmt.Sprintf("w%06d", i)
		w, _, err := st.GetWorker(ctx, id)
		if err != nil {
			t.Fatalf("GetWorker(%s): %v", id, err)
		}
		bs, err := st.WorkerBookings(ctx, id, benchNow.Add(-48*time.Hour), benchNow.Add(48*time.Hour))
		if err != nil {
			t.Fatalf("WorkerBookings(%s): %v", id, err)
		}
		booked += len(bs)
		if err := schedule.Verify(w, schedule.TimelineOf(bs), geo.Linear{}); err != nil {
			t.Errorf("worker %s: %v", id, err)
		}
		for _, b := range bs {
			if _, err := st.CancelBooking(ctx, b.ID, benchNow); err != nil {
				t.Fatalf("CancelBooking(%s): %v", b.ID, err)
			}
		}
	}
	return booked
}
