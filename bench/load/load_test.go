package load_test

import (
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/bench/load"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// TestRun sends a short mixed run to a server on a real redis-server and
// checks what it counted: every request is accounted for under its
// operation, the import registered the city, the cancels cancelled
// bookings the run made, nothing failed, and an operation whose endpoint
// the server lacks is reported as missing rather than dropped. It asserts
// counts, never latencies.
func TestRun(t *testing.T) {
	h := apitest.New(t, apitest.Options{Configure: func(c *api.Config) {
		// The machine is shared: no shedding and no deadline, which would make
		// this a latency test.
		c.Limits = api.Limits{MaxInFlight: 1000, QueueWait: time.Minute, RatePerKey: -1, RequestTimeout: time.Minute}
	}})
	ops := append(load.DefaultOps(), load.Op{Name: "nosuch", Weight: 10,
		Build: func(_ *load.City, _ *rand.Rand, r *load.Request) bool {
			r.Method, r.Path, r.Body = http.MethodPost, "/v1/no-such-endpoint", []byte(`{}`)
			return true
		}})
	const workers, requests = 300, 120
	rep, err := load.Run(t.Context(), load.Config{Target: h.URL, Workers: workers, Rate: 40, Duration: time.Minute,
		MaxRequests: requests, Ops: ops, Seed: 3, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := rep.Total.Sent; got != requests {
		t.Errorf("sent %d requests, want %d (MaxRequests)", got, requests)
	}
	answered := 0
	for _, n := range rep.Total.Status {
		answered += n
	}
	if answered != requests {
		t.Errorf("%d answers for %d requests (%v, errors %v)", answered, requests, rep.Total.Status, rep.Total.Errors)
	}
	for _, name := range []string{"match", "book", "location", "slots", "progress", "nosuch"} {
		if o := rep.Op(name); o == nil || o.Sent == 0 {
			t.Errorf("operation %s sent nothing", name)
		}
	}
	for _, o := range rep.Ops {
		if o.Name == "nosuch" {
			if !o.Missing || o.Failed != o.Sent || o.Status[http.StatusNotFound] != o.Sent {
				t.Errorf("nosuch: missing %v, failed %d of %d, status %v: want every answer 404 and the endpoint reported missing",
					o.Missing, o.Failed, o.Sent, o.Status)
			}
			continue
		}
		if o.Failed != 0 || o.Missing {
			t.Errorf("%s: %d failed (status %v, errors %v), missing %v", o.Name, o.Failed, o.Status, o.Errors, o.Missing)
		}
	}
	if got, want := rep.Op("location").Status[http.StatusNoContent]+rep.Op("location").Status[http.StatusOK], rep.Op("location").Sent; got != want {
		t.Errorf("location: %d answered 2xx, want %d (status %v)", got, want, rep.Op("location").Status)
	}
	if c := rep.Op("cancel"); c.Sent > 0 && c.Status[http.StatusOK] != c.Sent {
		t.Errorf("cancel: %d of %d answered 200 (status %v): a cancel must name a booking the run made", c.Status[http.StatusOK], c.Sent, c.Status)
	}
	if b := rep.Op("book"); b.Status[http.StatusCreated] == 0 {
		t.Errorf("book: nothing booked (status %v)", b.Status)
	}
	// Each status's answers apart: as many as the status counts, their
	// quantiles in order, and the total's the operations' together.
	for _, o := range append(slices.Clone(rep.Ops), rep.Total) {
		if len(o.ByStatus) != len(o.Status) {
			t.Errorf("%s: latencies of statuses %v, answers of %v", o.Name, slices.Sorted(maps.Keys(o.ByStatus)), o.Status)
		}
		for code, l := range o.ByStatus {
			if l.Answers != o.Status[code] || l.P50 > l.P99 || l.P99 > l.Max || l.Max > o.Max || l.P50 <= 0 {
				t.Errorf("%s %d: %+v, for %d answers and a max of %v", o.Name, code, l, o.Status[code], o.Max)
			}
		}
	}
	// The server's own times (Server-Timing) of every answer, each inside
	// the client's: so, quantile by quantile, no longer than the client's.
	for _, o := range append(slices.Clone(rep.Ops), rep.Total) {
		answered := 0
		for _, n := range o.Status {
			answered += n
		}
		if l := o.Server; l == nil || l.Answers != answered || l.P50 > o.P50 || l.P99 > o.P99 || l.Max > o.Max || l.P50 > l.P99 {
			t.Errorf("%s: the server's times %+v, for %d answers (client p50 %v p99 %v max %v)", o.Name, l, answered, o.P50, o.P99, o.Max)
		}
	}
	// Each class of household request apart, for the operations that send
	// them: the three classes, their answers adding up to the operation's.
	for _, o := range rep.Ops {
		want := 0
		if o.Name == "match" || o.Name == "book" {
			want = 3
		}
		if len(o.ByClass) != want {
			t.Errorf("%s: classes %v, want %d", o.Name, slices.Sorted(maps.Keys(o.ByClass)), want)
			continue
		}
		byStatus := map[int]int{}
		for class, l := range o.ByClass {
			n := 0
			for code, k := range l.Status {
				n += k
				byStatus[code] += k
			}
			if n != l.Answers || l.P50 > l.P99 || l.P99 > l.Max || l.Max > o.Max || l.P50 <= 0 {
				t.Errorf("%s %s: %+v, for %d answers and a max of %v", o.Name, class, l, n, o.Max)
			}
		}
		if want > 0 && !maps.Equal(byStatus, o.Status) {
			t.Errorf("%s: the classes' answers %v, the operation's %v", o.Name, byStatus, o.Status)
		}
	}
	// The whole city was imported, its last worker included.
	for _, id := range []string{load.WorkerID(0), load.WorkerID(workers - 1)} {
		if _, _, err := h.Store.GetWorker(t.Context(), id); err != nil {
			t.Errorf("GetWorker(%s): %v: the import did not register the city", id, err)
		}
	}
	if _, _, err := h.Store.GetWorker(t.Context(), load.WorkerID(workers)); err == nil {
		t.Errorf("worker %s exists: the city has %d workers", load.WorkerID(workers), workers)
	}
}

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		target string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://10.0.0.5:8080", false, false},
		{"http://example.com", false, false},
		{"http://example.com", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
	}
	for _, tt := range tests {
		err := load.CheckTarget(tt.target, tt.remote)
		if (err == nil) != tt.ok {
			t.Errorf("CheckTarget(%q, %v) = %v, want ok %v", tt.target, tt.remote, err, tt.ok)
		}
	}
}

func TestParseMix(t *testing.T) {
	ops, err := load.ParseMix(load.DefaultOps(), "match=3,book=1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, o := range ops {
		got[o.Name] = o.Weight
	}
	if got["match"] != 3 || got["book"] != 1 || got["cancel"] != 0 || got["location"] != 0 {
		t.Errorf("ParseMix: weights %v", got)
	}
	for _, bad := range []string{"nosuch=1", "match", "match=-1", "match=0"} {
		if _, err := load.ParseMix(load.DefaultOps(), bad); err == nil {
			t.Errorf("ParseMix(%q): no error", bad)
		}
	}
}

// TestRunsBookAnew runs the same seed's bookings twice on one server, as a
// sweep's phases (and load_cpu.sh's runs) do: no Idempotency-Key is sent
// twice. A key sent again is answered from the record of the booking it
// made, a fraction of a booking's cost, so a later phase that replayed the
// earlier ones' keys measured replays.
func TestRunsBookAnew(t *testing.T) {
	h := apitest.New(t, apitest.Options{Configure: func(c *api.Config) {
		c.Limits = api.Limits{MaxInFlight: 1000, QueueWait: time.Minute, RatePerKey: -1, RequestTimeout: time.Minute}
	}})
	var (
		mu   sync.Mutex
		keys = map[string]int{}
	)
	target, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			mu.Lock()
			keys[k]++
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	ops, err := load.ParseMix(load.DefaultOps(), "book=1")
	if err != nil {
		t.Fatal(err)
	}
	const requests = 20
	for run := range 2 {
		rep, err := load.Run(t.Context(), load.Config{Target: front.URL, Workers: 100, Rate: 40, Duration: time.Minute,
			MaxRequests: requests, Ops: ops, Seed: 3, Timeout: 30 * time.Second, SkipImport: run > 0})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := rep.Op("book").Sent; got != requests {
			t.Fatalf("run %d: sent %d bookings, want %d", run, got, requests)
		}
	}
	if len(keys) != 2*requests {
		t.Errorf("%d distinct Idempotency-Keys in %d bookings, want one each", len(keys), 2*requests)
	}
	for k, n := range keys {
		if n > 1 {
			t.Errorf("Idempotency-Key %q sent %d times", k, n)
		}
	}
}

// TestServerTiming reads the server's time from a Server-Timing header
// as the server writes it, among other metrics, and refuses what is not
// a duration.
func TestServerTiming(t *testing.T) {
	for _, tt := range []struct {
		values []string
		want   time.Duration
		ok     bool
	}{
		{[]string{"app;dur=0.512"}, 512 * time.Microsecond, true},
		{[]string{"db;dur=3, app;desc=\"handler\";dur=12"}, 12 * time.Millisecond, true},
		{[]string{"cache;desc=hit", "app; dur = 1.5"}, 1500 * time.Microsecond, true},
		{[]string{"app;dur=\"2\""}, 2 * time.Millisecond, true},
		{[]string{"total;dur=4"}, 0, false},
		{[]string{"app"}, 0, false},
		{[]string{"app;dur=-1"}, 0, false},
		{[]string{"app;dur=soon"}, 0, false},
		{nil, 0, false},
	} {
		h := http.Header{}
		for _, v := range tt.values {
			h.Add("Server-Timing", v)
		}
		if got, ok := load.ServerTiming(h); got != tt.want || ok != tt.ok {
			t.Errorf("%q: %v %v, want %v %v", tt.values, got, ok, tt.want, tt.ok)
		}
	}
}
