package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The wait a request is allowed follows the age of the queue it joins:
// burst while it is younger than burst, standing once older, and burst
// again once it has drained and no queue has stood for burst.
func TestAdmissionWaitFollowsTheQueuesAge(t *testing.T) {
	const standing, burst = 10 * time.Millisecond, 100 * time.Millisecond
	t0 := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	a := newAdmission(1, standing, burst)
	steps := []struct {
		name    string
		join    bool // else one waiter leaves
		ms      int
		want    time.Duration
		waiting int
	}{
		{"the first to wait: a burst", true, 0, burst, 1},
		{"the queue is 60 ms old", true, 60, burst, 2},
		{"one leaves; the queue stands on", false, 80, 0, 1},
		{"the queue is 99 ms old", true, 99, burst, 2},
		{"the queue is 100 ms old: overload", true, 100, standing, 3},
		{"and long after", true, 5000, standing, 4},
		{"three leave", false, 5001, 0, 3},
		{"", false, 5002, 0, 2},
		{"", false, 5003, 0, 1},
		{"a queue that stood since 0 ms", true, 5004, standing, 2},
		{"", false, 5005, 0, 1},
		{"drained", false, 5006, 0, 0},
		{"a young queue 3 ms after one stood: the same overload", true, 5007, standing, 1},
		{"drained", false, 5008, 0, 0},
		{"a young queue, none stood for 100 ms: a burst again", true, 5104, burst, 1},
	}
	for _, s := range steps {
		if s.join {
			if got := a.enqueue(at(s.ms)); got != s.want {
				t.Errorf("%s: joined at %d ms, may wait %v; want %v", s.name, s.ms, got, s.want)
			}
		} else {
			a.dequeue(at(s.ms))
		}
		if a.waiting != s.waiting {
			t.Fatalf("%s: %d waiting, want %d", s.name, a.waiting, s.waiting)
		}
	}

	off := newAdmission(1, standing, -1)
	if got := off.enqueue(t0); got != standing {
		t.Errorf("burst allowance off: may wait %v, want %v", got, standing)
	}
}

// inFlightServer is a Server with only what limitInFlight needs, one slot,
// a short standing wait and a long burst, its admission on clock.
func inFlightServer(clock func() time.Time) *Server {
	s := &Server{metrics: NewMetrics(), log: slog.New(slog.DiscardHandler)}
	s.admit = newAdmission(1, time.Millisecond, time.Hour)
	s.admit.now = clock
	s.admit.waited = func(d time.Duration) { s.metrics.queueWait.Observe(d.Seconds()) }
	return s
}

// holder is a handler that holds its slot until released, and says when
// it has it.
type holder struct {
	in, out chan struct{}
}

func newHolder() *holder { return &holder{in: make(chan struct{}, 4), out: make(chan struct{})} }

func (h *holder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.in <- struct{}{}
	<-h.out
	w.WriteHeader(http.StatusNoContent)
}

func serveAsync(handler http.Handler) chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/bookings", nil))
		done <- rec
	}()
	return done
}

// waiting returns once a request waits for a slot, and fails the test
// if the request answered, ch, was answered without waiting for it.
func waiting(t *testing.T, a *admission, ch chan *httptest.ResponseRecorder) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); a.waitingNow() != 1; time.Sleep(100 * time.Microsecond) {
		select {
		case rec := <-ch:
			t.Fatalf("answered %d without waiting for the slot", rec.Code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for a request to wait")
		}
	}
}

func (a *admission) waitingNow() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.waiting
}

// counts are the requests shed (doorstep_shed_requests_total) and the
// waits observed (doorstep_queue_wait_seconds).
func counts(t *testing.T, m *Metrics) (shed, waits int) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		switch f.GetName() {
		case "doorstep_shed_requests_total":
			shed = int(f.GetMetric()[0].GetCounter().GetValue())
		case "doorstep_queue_wait_seconds":
			waits = int(f.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	return shed, waits
}

// oneQueued is a server of one slot on a clock, a request holding the
// slot and one waiting for it.
type oneQueued struct {
	s             *Server
	h             *holder
	handler       http.Handler
	first, queued chan *httptest.ResponseRecorder
}

func queueOne(t *testing.T, clock func() time.Time) *oneQueued {
	t.Helper()
	q := &oneQueued{s: inFlightServer(clock), h: newHolder()}
	q.handler = q.s.limitInFlight(q.h)
	q.first = serveAsync(q.handler)
	<-q.h.in
	q.queued = serveAsync(q.handler)
	waiting(t, q.s.admit, q.queued)
	return q
}

// serveQueued ends the first request and requires the queued one to be
// served.
func (q *oneQueued) serveQueued(t *testing.T) {
	t.Helper()
	q.h.out <- struct{}{}
	if rec := <-q.first; rec.Code != http.StatusNoContent {
		t.Fatalf("first: %d", rec.Code)
	}
	select {
	case <-q.h.in:
	case rec := <-q.queued:
		t.Fatalf("the queued request: %d %s; want it served", rec.Code, rec.Body)
	}
	q.h.out <- struct{}{}
	if rec := <-q.queued; rec.Code != http.StatusNoContent {
		t.Fatalf("the queued request: %d", rec.Code)
	}
}

// A request that finds the one slot taken in a young queue waits for it
// and is served, however much longer than the standing wait that takes:
// a pause is not overload.
func TestLimitInFlightServesABurst(t *testing.T) {
	q := queueOne(t, time.Now)
	time.Sleep(20 * time.Millisecond) // 20 times the standing wait
	q.serveQueued(t)
	if shed, waits := counts(t, q.s.metrics); shed != 0 || waits != 1 {
		t.Errorf("%d shed, %d waits observed; want 0, 1", shed, waits)
	}
}

// Once the queue has stood for the burst wait, a request joining it
// waits the standing wait only and is refused with 429, while the one
// that joined the young queue goes on waiting and is served.
func TestLimitInFlightShedsAStandingQueue(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)
	q := queueOne(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock })
	mu.Lock()
	clock = clock.Add(time.Hour) // the queue has stood for the burst wait
	mu.Unlock()

	var rec *httptest.ResponseRecorder
	select {
	case rec = <-serveAsync(q.handler):
	case <-time.After(10 * time.Second):
		t.Fatal("a request joining a standing queue waited for its slot, not the standing wait")
	}
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("joining a standing queue: %d, want 429", rec.Code)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "rate_limited" {
		t.Fatalf("problem %s (%v), want code rate_limited", rec.Body, err)
	}
	if rec.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if shed, _ := counts(t, q.s.metrics); shed != 1 {
		t.Errorf("%d shed, want 1", shed)
	}

	q.serveQueued(t) // the request of the young queue
	if _, waits := counts(t, q.s.metrics); waits != 2 {
		t.Errorf("%d waits observed, want 2 (the one served, the one shed)", waits)
	}
	if got := q.s.admit.waitingNow(); got != 0 {
		t.Errorf("%d still counted waiting", got)
	}
}
