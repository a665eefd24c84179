// Package load is Doorstep's open-model load generator: requests arrive at
// a constant rate whatever the server's answers take (vegeta's pacer), so
// queueing shows in the latencies rather than slowing the arrivals, as a
// closed loop would. It registers a synthetic city of workers first (bulk
// import), then sends a mix of operations (Op, DefaultOps) and reports
// throughput, errors and latency quantiles per operation (Report). It is
// bounded in requests and in time, and refuses a target that is not on
// loopback unless told otherwise. `doorstep load` runs it, starting its
// own server when asked (see cmd/doorstep/load.go).
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	neturl "net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Config is one load run. The zero value of each field is documented.
type Config struct {
	// Target is the server's base URL, e.g. http://127.0.0.1:8080.
	Target string
	// AllowRemote allows a target that is not a loopback address.
	AllowRemote bool
	// Key is the API key sent as a bearer token; "" sends none. The import
	// needs the ops role, the mix the booking and ops roles.
	Key string
	// Workers is the size of the city; 0 means 10,000.
	Workers int
	// SkipImport sends no workers (the server already has this city).
	SkipImport bool
	// Rate is the arrivals a second; 0 means 100.
	Rate int
	// Duration bounds the run's arrivals; 0 means 10 s, at most 10 minutes.
	Duration time.Duration
	// MaxRequests bounds the requests sent; 0 means Rate x Duration.
	MaxRequests int
	// Timeout bounds one request; 0 means 5 s.
	Timeout time.Duration
	// Ops is the mix; nil means DefaultOps.
	Ops []Op
	// Seed seeds the city and the requests.
	Seed uint64
	// Now is the clock the city's shifts and windows follow; nil means the
	// wall clock (the server's, when it runs on the wall clock).
	Now func() time.Time
	// Center and SideKm place the city; zero means a 30 km square around
	// lower Manhattan.
	Center doorstep.Location
	SideKm float64
	// AfterImport, when set, is called once the city is registered and
	// before the first arrival (doorstep load measures memory there and
	// starts a CPU profile).
	AfterImport func()
}

// MaxDuration bounds Config.Duration.
const MaxDuration = 10 * time.Minute

func (c *Config) validate() error {
	if c.Workers == 0 {
		c.Workers = 10_000
	}
	if c.Rate == 0 {
		c.Rate = 100
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Ops == nil {
		c.Ops = DefaultOps()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Center == (doorstep.Location{}) {
		c.Center = doorstep.Location{Lat: 40.73, Lng: -73.99}
	}
	if c.SideKm == 0 {
		c.SideKm = 30
	}
	switch {
	case c.Workers < 1:
		return fmt.Errorf("workers %d: want at least 1", c.Workers)
	case c.Rate < 1:
		return fmt.Errorf("rate %d: want at least 1 a second", c.Rate)
	case c.Duration < 0 || c.Duration > MaxDuration:
		return fmt.Errorf("duration %v: want more than 0 and at most %v", c.Duration, MaxDuration)
	case c.MaxRequests < 0:
		return fmt.Errorf("max requests %d: want 0 (rate x duration) or more", c.MaxRequests)
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = int(math.Ceil(float64(c.Rate) * c.Duration.Seconds()))
	}
	if len(newPicker(c.Ops).ops) == 0 {
		return errors.New("the mix has no operation with a weight above 0")
	}
	return CheckTarget(c.Target, c.AllowRemote)
}

// CheckTarget refuses a target URL that is not http(s) on a loopback
// address, unless allowRemote.
func CheckTarget(target string, allowRemote bool) error {
	u, err := neturl.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("target %q: want a URL such as http://127.0.0.1:8080", target)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("target %q is not a loopback address: a load run against another machine needs -allow-remote", target)
	}
	return nil
}

// OpStats is what one operation of a run saw. Latencies are of the
// answered requests, whatever their status.
type OpStats struct {
	Name string `json:"name"`
	// Sent counts requests sent, Skipped the draws of this operation that
	// could not be sent (nothing to cancel yet) and went to another.
	Sent    int `json:"sent"`
	Skipped int `json:"skipped"`
	// Status counts answers by HTTP status; Errors counts requests without
	// an answer (timeouts, refused connections) by message.
	Status map[int]int    `json:"status"`
	Errors map[string]int `json:"errors,omitempty"`
	// Failed is what counts as an error: no answer, 5xx, 429, and any 4xx
	// but 422 (unservable) and 409 (a lost race, for a booking).
	Failed int `json:"failed"`
	// Missing is set when every answer was 404: the server has no such
	// endpoint (an operation added to the mix before the server has it).
	Missing bool `json:"missing,omitempty"`
	// Throughput is answers a second over the run.
	Throughput float64 `json:"throughput"`
	P50        Millis  `json:"p50_ms"`
	P95        Millis  `json:"p95_ms"`
	P99        Millis  `json:"p99_ms"`
	Max        Millis  `json:"max_ms"`
	// ByStatus holds the latencies of the answers of each HTTP status
	// apart: a tail is often one status's (a 422 that explains itself
	// over a whole city), which the quantiles over all answers hide.
	ByStatus map[int]Latency `json:"by_status,omitempty"`
	// ByClass holds the latencies of each class of request apart
	// (Request.Class: a match's urgent, window and normal requests),
	// each with its answers by status: an urgent search and a window
	// nobody's shift holds read very different parts of a city.
	ByClass map[string]ClassLatency `json:"by_class,omitempty"`
	// Server is the latencies the server reported of the same answers
	// (their Server-Timing header: its time until it wrote the answer's
	// headers), nil when none carried one. The client shares the machine
	// and measures late when it waits for a core itself (bench/RESULTS.md,
	// "Where the 100,000-worker tail waits"); the two side by side tell
	// the server's tail from the client's.
	Server *Latency `json:"server,omitempty"`

	server   []time.Duration            // the server's own latencies
	byStatus map[int][]time.Duration    // the latencies, by status
	byClass  map[string][]time.Duration // the latencies, by class
	classes  map[string]map[int]int     // the answers of each class, by status
}

// ClassLatency is the latencies of one class of request and its answers
// by status.
type ClassLatency struct {
	Latency
	Status map[int]int `json:"status"`
}

// Latency is quantiles of a set of answers' latencies.
type Latency struct {
	Answers int    `json:"answers"`
	P50     Millis `json:"p50_ms"`
	P99     Millis `json:"p99_ms"`
	Max     Millis `json:"max_ms"`
}

// record counts an answer of status code that took d.
func (s *OpStats) record(code int, d time.Duration) {
	s.Status[code]++
	if s.byStatus == nil {
		s.byStatus = map[int][]time.Duration{}
	}
	s.byStatus[code] = append(s.byStatus[code], d)
}

// recordClass records an answer of class (none: "") as record does, and
// apart for its class.
func (s *OpStats) recordClass(class string, code int, d time.Duration) {
	s.record(code, d)
	if class == "" {
		return
	}
	if s.byClass == nil {
		s.byClass, s.classes = map[string][]time.Duration{}, map[string]map[int]int{}
	}
	s.byClass[class] = append(s.byClass[class], d)
	if s.classes[class] == nil {
		s.classes[class] = map[int]int{}
	}
	s.classes[class][code]++
}

// ServerTiming is the server's time on a request as its answer's
// Server-Timing header gives it ("app;dur=0.512", in milliseconds, among
// other metrics or alone); false when it gives none.
func ServerTiming(h http.Header) (time.Duration, bool) {
	for _, v := range h.Values("Server-Timing") {
		for metric := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(metric), ";")
			if strings.TrimSpace(name) != "app" {
				continue
			}
			for param := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || strings.TrimSpace(k) != "dur" {
					continue
				}
				ms, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(val), `"`), 64)
				if err != nil || ms < 0 || math.IsInf(ms, 0) {
					return 0, false
				}
				return time.Duration(ms * float64(time.Millisecond)), true
			}
		}
	}
	return 0, false
}

// latencyOf is the quantiles of sorted latencies.
func latencyOf(sorted []time.Duration) Latency {
	return Latency{Answers: len(sorted), P50: quantile(sorted, 0.50), P99: quantile(sorted, 0.99), Max: quantile(sorted, 1)}
}

// quantile returns the p-quantile of sorted (nearest rank), 0 for none.
func quantile(sorted []time.Duration, p float64) Millis {
	if len(sorted) == 0 {
		return 0
	}
	return Millis(sorted[int(math.Ceil(p*float64(len(sorted))))-1])
}

// Millis is a duration written in JSON as milliseconds.
type Millis time.Duration

// MarshalJSON writes the milliseconds with microsecond precision.
func (m Millis) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%.3f", float64(time.Duration(m).Microseconds())/1000), nil
}

func (m Millis) String() string { return time.Duration(m).Round(10 * time.Microsecond).String() }

// Report is a run's outcome.
type Report struct {
	Target   string        `json:"target"`
	Workers  int           `json:"workers"`
	Rate     int           `json:"rate"`
	Duration time.Duration `json:"duration_ns"`
	// Elapsed is from the first arrival to the last answer.
	Elapsed time.Duration `json:"elapsed_ns"`
	// ImportTook is how long the city's import took (0 when skipped).
	ImportTook time.Duration `json:"import_ns"`
	Ops        []*OpStats    `json:"ops"`
	Total      *OpStats      `json:"total"`
	// Extra carries what the caller measured around the run (memory,
	// the machine's load): doorstep load fills it.
	Extra map[string]any `json:"extra,omitempty"`
}

// Op returns the stats of the operation called name, or nil.
func (r *Report) Op(name string) *OpStats {
	for _, o := range r.Ops {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Run imports the city (unless cfg.SkipImport) and sends the mix at
// cfg.Rate until cfg.Duration or cfg.MaxRequests is reached or ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	city := &City{Center: cfg.Center, SideKm: cfg.SideKm, Workers: cfg.Workers,
		Services: doorstep.DefaultCatalogue().Names(), Now: cfg.Now, run: fmt.Sprintf("%x", rand.Uint64())}
	rep := &Report{Target: cfg.Target, Workers: cfg.Workers, Rate: cfg.Rate, Duration: cfg.Duration}
	tr := &http.Transport{MaxIdleConnsPerHost: 10_000, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	if !cfg.SkipImport {
		t0 := time.Now()
		if err := Import(ctx, &http.Client{Transport: tr, Timeout: 5 * time.Minute}, cfg.Target, cfg.Key, city, cfg.Seed); err != nil {
			return nil, err
		}
		rep.ImportTook = time.Since(t0)
	}
	if cfg.AfterImport != nil {
		cfg.AfterImport()
	}
	pk := newPicker(cfg.Ops)
	stats := make([]*OpStats, len(pk.ops))
	for i, o := range pk.ops {
		stats[i] = &OpStats{Name: o.Name, Status: map[int]int{}, Errors: map[string]int{}}
	}
	var (
		mu   sync.Mutex
		rng  = rand.New(rand.NewPCG(cfg.Seed, 17))
		sent int
	)
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		defer mu.Unlock()
		if sent >= cfg.MaxRequests || ctx.Err() != nil {
			return vegeta.ErrNoTargets
		}
		var r Request
		i := pk.pick(rng)
		for tries := 0; !pk.ops[i].Build(city, rng, &r); tries++ {
			stats[i].Skipped++
			if tries == 100 {
				return fmt.Errorf("load: no operation of the mix can be sent (last tried %s)", pk.ops[i].Name)
			}
			r, i = Request{}, pk.pick(rng)
		}
		sent++
		stats[i].Sent++
		// The fragment names the operation (and the request's class) in
		// the result; clients never send it.
		frag := pk.ops[i].Name
		if r.Class != "" {
			frag += "/" + r.Class
		}
		t.Method, t.URL, t.Body = r.Method, cfg.Target+r.Path+"#"+frag, r.Body
		t.Header = http.Header{"Content-Type": {"application/json"}}
		for k, v := range r.Header {
			t.Header[k] = v
		}
		if cfg.Key != "" {
			t.Header.Set("Authorization", "Bearer "+cfg.Key)
		}
		return nil
	}
	byName := map[string]int{}
	for i, o := range pk.ops {
		byName[o.Name] = i
	}
	a := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr, Timeout: cfg.Timeout}),
		vegeta.MaxBody(-1), vegeta.KeepAlive(true), vegeta.MaxWorkers(10_000))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-runCtx.Done(); a.Stop() }()
	t0 := time.Now()
	for res := range a.Attack(targeter, vegeta.Rate{Freq: cfg.Rate, Per: time.Second}, cfg.Duration, "load") {
		_, frag, ok := strings.Cut(res.URL, "#")
		name, class, _ := strings.Cut(frag, "/")
		i, known := byName[name]
		if !ok || !known {
			if res.Error != "" && !strings.Contains(res.Error, vegeta.ErrNoTargets.Error()) {
				return nil, fmt.Errorf("load: %s", res.Error)
			}
			continue
		}
		s := stats[i]
		if res.Code == 0 {
			s.Errors[res.Error]++
			continue
		}
		s.recordClass(class, int(res.Code), res.Latency)
		if d, ok := ServerTiming(res.Headers); ok {
			s.server = append(s.server, d)
		}
		if d := pk.ops[i].Done; d != nil {
			d(city, int(res.Code), res.Body)
		}
	}
	rep.Elapsed = time.Since(t0)
	total := &OpStats{Name: "total", Status: map[int]int{}, Errors: map[string]int{}}
	for _, s := range stats {
		s.finish(rep.Elapsed)
		total.Sent += s.Sent
		total.Skipped += s.Skipped
		for k, v := range s.Errors {
			total.Errors[k] += v
		}
		for code, l := range s.byStatus {
			for _, d := range l {
				total.record(code, d)
			}
		}
		total.server = append(total.server, s.server...)
	}
	total.finish(rep.Elapsed)
	rep.Ops, rep.Total = stats, total
	return rep, ctx.Err()
}

// finish computes the quantiles and the failures.
func (s *OpStats) finish(elapsed time.Duration) {
	all := slices.Concat(slices.Collect(maps.Values(s.byStatus))...)
	slices.Sort(all)
	s.P50, s.P95, s.P99, s.Max = quantile(all, 0.50), quantile(all, 0.95), quantile(all, 0.99), quantile(all, 1)
	s.ByStatus = nil
	for code, l := range s.byStatus {
		slices.Sort(l)
		if s.ByStatus == nil {
			s.ByStatus = map[int]Latency{}
		}
		s.ByStatus[code] = latencyOf(l)
	}
	s.Server = nil
	if len(s.server) > 0 {
		slices.Sort(s.server)
		l := latencyOf(s.server)
		s.Server = &l
	}
	s.ByClass = nil
	for class, l := range s.byClass {
		slices.Sort(l)
		if s.ByClass == nil {
			s.ByClass = map[string]ClassLatency{}
		}
		s.ByClass[class] = ClassLatency{Status: s.classes[class], Latency: latencyOf(l)}
	}
	s.Failed = 0
	for _, n := range s.Errors {
		s.Failed += n
	}
	answered := 0
	for code, n := range s.Status {
		answered += n
		if !(code < 400 || code == http.StatusUnprocessableEntity || code == http.StatusConflict) {
			s.Failed += n
		}
	}
	s.Missing = answered > 0 && s.Status[http.StatusNotFound] == answered
	if elapsed > 0 {
		s.Throughput = float64(answered) / elapsed.Seconds()
	}
}

// ImportBatch is how many workers one import request carries (the server
// takes up to api.MaxImportWorkers, within its batch deadline of 20 s,
// which 5,000 missed on a loaded machine).
const ImportBatch = 1000

// importTries is how many times one batch is sent when the server answers
// 503: it then says to send the import again, which completes it.
const importTries = 3

// Import registers the city's workers through POST /v1/workers/import,
// ImportBatch at a time, as NDJSON.
func Import(ctx context.Context, client *http.Client, target, key string, city *City, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	for from := 0; from < city.Workers; from += ImportBatch {
		var buf bytes.Buffer
		for i := from; i < min(from+ImportBatch, city.Workers); i++ {
			buf.Write(jsonBody(city.Worker(rng, i)))
			buf.WriteByte('\n')
		}
		var err error
		for range importTries {
			var retry bool
			if retry, err = importBatch(ctx, client, target, key, buf.Bytes()); !retry {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("import workers %d-%d: %w", from, min(from+ImportBatch, city.Workers)-1, err)
		}
	}
	return nil
}

// importBatch sends one import; retry is true after a 503.
func importBatch(ctx context.Context, client *http.Client, target, key string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/v1/workers/import", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode == http.StatusServiceUnavailable, fmt.Errorf("%s: %s", resp.Status, msg)
	}
	return false, nil
}

func cosDeg(deg float64) float64 { return math.Cos(deg * math.Pi / 180) }
