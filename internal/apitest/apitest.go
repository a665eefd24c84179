// Package apitest wires Doorstep's API server for tests, as cmd/doorstep
// wires it: a real redis-server (storetest.RunRedis), the store, the
// dispatch service and the api server, served through api.Listener behind
// httptest, with a client that sends JSON and reads answers in full.
// Everything it starts stops when the test ends.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// Options change what New wires; the zero value is a server without API
// keys on the wall clock.
type Options struct {
	// RedisArgs are extra redis-server arguments.
	RedisArgs []string
	// StoreURL, when set, returns the URL the store connects to instead of
	// the redis-server's own (for a fault proxy in front of it).
	StoreURL func(tb testing.TB, rs *storetest.Server) string
	// Now is the dispatch service's clock; nil means the wall clock.
	Now func() time.Time
	// Observer wraps the API's metrics as the dispatch service's observer;
	// nil means the metrics themselves.
	Observer func(*api.Metrics) dispatch.Observer
	// Keys are the API keys in api.ParseKeys' form; empty turns auth off.
	Keys string
	// Configure, when set, adjusts the API's configuration last.
	Configure func(*api.Config)
	// ClientTimeout bounds each exchange of Harness.Do; 0 means 10 s.
	ClientTimeout time.Duration
	// Events, when set, runs an events.Service (relay, webhook delivery)
	// configured by it (Store set), as the API's Config.Events.
	Events func(*events.Config)
}

// Harness is one API server on its own redis-server.
type Harness struct {
	URL     string
	Redis   *storetest.Server
	Store   *store.Store
	Service *dispatch.Service
	Server  *api.Server
	Metrics *api.Metrics
	Client  *http.Client
	Events  *events.Service // nil unless Options.Events
}

// New starts redis-server, the store, the dispatch service and the API as
// opt says, and stops them when tb ends.
func New(tb testing.TB, opt Options) *Harness {
	tb.Helper()
	rs := storetest.RunRedis(tb, opt.RedisArgs...)
	url := rs.URL()
	if opt.StoreURL != nil {
		url = opt.StoreURL(tb, rs)
	}
	st, err := store.Open(tb.Context(), store.Config{URL: url})
	if err != nil {
		tb.Fatalf("apitest: store.Open: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	metrics := api.NewMetrics()
	var obs dispatch.Observer = metrics
	if opt.Observer != nil {
		obs = opt.Observer(metrics)
	}
	// Every rescue plan is let in: tests race requests to check
	// answers, not load shedding (dispatch tests the bound on rescue
	// plans).
	svc, err := dispatch.New(dispatch.Config{Store: st, Now: opt.Now, Observer: obs, MaxRescues: -1})
	if err != nil {
		tb.Fatalf("apitest: dispatch.New: %v", err)
	}
	keys, err := api.ParseKeys(opt.Keys)
	if err != nil {
		tb.Fatalf("apitest: ParseKeys: %v", err)
	}
	cfg := api.Config{Service: svc, Store: st, Keys: keys, Metrics: metrics, Logger: slog.New(slog.DiscardHandler)}
	var ev *events.Service
	if opt.Events != nil {
		ecfg := events.Config{Store: st, Logger: cfg.Logger}
		opt.Events(&ecfg)
		if ev, err = events.New(ecfg); err != nil {
			tb.Fatalf("apitest: events.New: %v", err)
		}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); ev.Run(ctx) }()
		tb.Cleanup(func() { stop(); <-done })
		cfg.Events = ev
	}
	if opt.Configure != nil {
		opt.Configure(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		tb.Fatalf("apitest: api.New: %v", err)
	}
	ts := Serve(srv)
	tb.Cleanup(ts.Close)
	timeout := opt.ClientTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	return &Harness{URL: ts.URL, Redis: rs, Store: st, Service: svc, Server: srv, Metrics: metrics,
		Client: &http.Client{Timeout: timeout}, Events: ev}
}

// Serve starts h behind httptest as cmd/doorstep serves it: through
// api.Listener. The caller closes it.
func Serve(h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Listener = api.Listener(ts.Listener)
	ts.Start()
	return ts
}

// Response is an answer, read in full, with the time the exchange took.
type Response struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
	Took         time.Duration
}

// Do sends a request to the harness's server with the API key key (none
// when empty) and reads the whole answer. body is nil (none), a string or
// []byte (sent as is) or any other value (sent as JSON); a body is sent as
// application/json. header holds name, value pairs applied last; an empty
// value removes the header. A failed exchange is reported with tb.Errorf
// (Do may run on goroutines of its own) and answers status 0.
func (h *Harness) Do(tb testing.TB, method, path, key string, body any, header ...string) *Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatalf("apitest: marshal request body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(tb.Context(), method, h.URL+path, rd)
	if err != nil {
		tb.Fatalf("apitest: new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	r := &Response{Method: method, Path: path, Header: http.Header{}}
	start := time.Now()
	res, err := h.Client.Do(req)
	if err != nil {
		r.Took = time.Since(start)
		tb.Errorf("%s %s: %v", method, path, err)
		return r
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	r.Took = time.Since(start)
	if err != nil {
		tb.Errorf("%s %s: read body: %v", method, path, err)
	}
	r.Status, r.Header, r.Body = res.StatusCode, res.Header, data
	return r
}

// Decode decodes r's JSON body strictly (no unknown fields) into a T.
func Decode[T any](tb testing.TB, r *Response) T {
	tb.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("%s %s: decode %T from %s: %v", r.Method, r.Path, v, r.Body, err)
	}
	return v
}
