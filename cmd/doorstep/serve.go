package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	neturl "net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// ServeConfig is what `doorstep serve` runs with. Flags set it; an
// environment variable (REDIS_URL, DOORSTEP_WEIGHTS, ...) sets what no flag
// gave; DOORSTEP_API_KEYS has no flag.
type ServeConfig struct {
	// Addr is the listen address; "127.0.0.1:0" picks a free port.
	Addr string
	// RedisURL selects a Redis server, or EmbeddedStore the in-process one
	// that keeps nothing across a restart. "" also runs on the embedded
	// one, but only without API keys: settings with keys look like
	// production, where a store that forgets every booking on restart must
	// be chosen on purpose.
	RedisURL string
	// APIKeys is "key:role,..."; "" turns auth off (loopback only).
	APIKeys string
	// Grace bounds how long shutdown takes, DrainDelay included: in-flight
	// requests have until it ends to finish. 0 means 15 s.
	Grace time.Duration
	// DrainDelay is how long shutdown keeps serving, with /readyz failing,
	// before it stops accepting connections, so that a load balancer sees
	// the failing probe and stops sending traffic first: set it to the
	// balancer's probe period times its failure threshold. It must be
	// shorter than Grace. 0 stops accepting at once.
	DrainDelay time.Duration
	// Weights is a JSON object overriding some of matcher.DefaultWeights,
	// e.g. {"fairness": 40}; "" keeps the defaults.
	Weights string
	// TravelTable is the path of a travel-time table (geo.ParseTable's
	// CSV), used over the default geo.Linear where it has a row; "" means
	// geo.Linear alone.
	TravelTable string
	// UrgentProfile is the path of the urgent demand profile the
	// protection term prices (urgentProfileFile); empty means none, and
	// protection is then zero whatever its weight.
	UrgentProfile string
	// UrgentLearnDays, without an UrgentProfile, is how many days of the
	// urgent requests the server was asked to book it learns the urgent
	// profile from (dispatch.Service.LearnUrgentProfile), refreshed every
	// UrgentLearnEvery; 0 means 14, negative means no learning.
	UrgentLearnDays  int
	UrgentLearnEvery time.Duration
	// RequireDurable refuses readiness unless Redis persists every write.
	RequireDurable bool
	// PprofAddr, when set, serves net/http/pprof on a separate listener
	// (keep it on loopback or an admin network: it has no auth).
	PprofAddr string
	// Limits bound load per key and in flight.
	Limits api.Limits
	// RedactEvery is how often finished bookings' exact locations are
	// reduced to their H3 cell; 0 means 5 minutes.
	RedactEvery time.Duration
	// StoreEpoch pins the epoch (the id of the dst:epoch marker) the store
	// must hold; "" adopts whatever the store holds at start and writes a
	// new marker on an empty store. See storeEpochHelp.
	StoreEpoch string
	// EpochEvery is how often the marker is checked; 0 means
	// store.DefaultEpochInterval.
	EpochEvery time.Duration
	// NoReadModel reads every candidate from Redis instead of keeping
	// the workers in the store's read model (store.Store.SetReadModel).
	NoReadModel bool
}

// EmbeddedStore, as ServeConfig.RedisURL (-redis embedded), chooses the
// embedded in-process Redis explicitly.
const EmbeddedStore = "embedded"

// errImplicitEmbedded refuses API keys on a store nobody chose.
var errImplicitEmbedded = errors.New("API keys are configured (DOORSTEP_API_KEYS) but no Redis is: refusing to run on the embedded store, " +
	"which keeps nothing across a restart (every booking would be lost). Give a Redis with -redis redis://HOST:6379/0 (or REDIS_URL), " +
	"or choose the embedded store on purpose with -redis embedded")

// storeEpochHelp documents -store-epoch: what "an operator acts" means
// when the store was reset.
const storeEpochHelp = "the store `epoch` (id of the dst:epoch marker) Redis must hold (env DOORSTEP_STORE_EPOCH; the flag wins). " +
	"Empty: adopt the marker found at start, writing a new one on an empty store. Set: never adopt; an empty or foreign store is refused (503 store_reset) until the marker is restored"

// parseWeights reads a JSON object of weights over the defaults.
func parseWeights(s string) (matcher.Weights, error) {
	w := matcher.DefaultWeights
	if s == "" {
		return w, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return w, fmt.Errorf("weights: %w (known: travel, urgent_wait, normal_wait, rating, fairness, preferred, continuity)", err)
	}
	return w, nil
}

// ServeGCPercent is the GC target doorstep serve sets when GOGC is unset.
const ServeGCPercent = 400

// Main is a running server: Open starts it, Close stops it gracefully. End
// to end tests start the real program through it.
type Main struct {
	Config ServeConfig
	Log    *slog.Logger

	st     *store.Store
	api    *api.Server
	http   *http.Server
	ln     net.Listener
	served chan error
	pprof  *http.Server
	stop   context.CancelFunc // stops background work
	bg     chan struct{}      // closed when background work has stopped
	// epochDone is closed when the epoch monitor has stopped, learnDone
	// when the urgent profile's learning has.
	epochDone, learnDone chan struct{}
}

// Addr is the address the server listens on, once open.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Open connects the store, builds the API and starts listening.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if cfg.DrainDelay < 0 || cfg.DrainDelay >= cfg.grace() {
		return &exitError{code: 2, err: fmt.Errorf("drain delay %v must be at least 0 and shorter than the grace period %v", cfg.DrainDelay, cfg.grace())}
	}
	keys, err := api.ParseKeys(cfg.APIKeys)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if cfg.RedisURL == "" && len(keys) > 0 {
		return &exitError{code: 2, err: errImplicitEmbedded}
	}
	embedded := cfg.RedisURL == "" || cfg.RedisURL == EmbeddedStore
	m.Log.Info("doorstep starting", "store", storeName(cfg.RedisURL), "addr", cfg.Addr, "auth", len(keys) > 0)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if len(keys) == 0 {
		if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			ln.Close()
			return &exitError{code: 2, err: fmt.Errorf("no API keys configured: refusing to listen on non-loopback address %s (set DOORSTEP_API_KEYS=key:role,... or use -addr 127.0.0.1:8080)", cfg.Addr)}
		}
		m.Log.Warn("auth is off: no API keys configured (DOORSTEP_API_KEYS); listening on loopback only", "addr", ln.Addr().String())
	}
	store.SetLogger(m.Log)
	if embedded {
		m.st, err = store.OpenEmbedded(ctx)
		if err == nil {
			m.Log.Warn("running on the embedded in-process Redis: data is NOT persisted and is lost when the process stops (give a Redis with -redis or REDIS_URL)")
		}
	} else {
		m.st, err = store.Open(ctx, store.Config{URL: cfg.RedisURL})
	}
	if err != nil {
		ln.Close()
		return fmt.Errorf("open store: %w", err)
	}
	if cfg.NoReadModel {
		m.st.SetReadModel(false)
	}
	weights, err := parseWeights(cfg.Weights)
	if err != nil {
		ln.Close()
		m.st.Close()
		return &exitError{code: 2, err: err}
	}
	travel, err := loadTravelTable(cfg.TravelTable)
	if err != nil {
		ln.Close()
		m.st.Close()
		return &exitError{code: 2, err: err}
	}
	urgent, err := loadUrgentProfile(cfg.UrgentProfile)
	if err != nil {
		ln.Close()
		m.st.Close()
		return &exitError{code: 2, err: err}
	}
	learn := urgent == nil && cfg.UrgentLearnDays >= 0
	if urgent == nil && !learn {
		m.Log.Info("no urgent profile (-urgent-profile) and learning off: normal bookings are not priced for the urgent capacity they take")
	}
	mt, err := matcher.New(matcher.Config{Weights: weights, Travel: travel, Urgent: urgent})
	if err != nil {
		ln.Close()
		m.st.Close()
		return &exitError{code: 2, err: err}
	}
	guard, err := m.openEpoch(ctx)
	if err != nil {
		ln.Close()
		m.st.Close()
		return err
	}
	// Workers stored by a version without rosters are listed once indexed
	// (once per store: IndexRosters marks it); not on a store that lost
	// its data or is foreign.
	if guard.Err() == nil {
		if n, err := m.st.IndexRosters(ctx); err != nil {
			m.Log.Warn("index worker rosters: GET /v1/workers may miss workers stored by an older version", "err", err)
		} else if n > 0 {
			m.Log.Info("indexed worker rosters", "workers", n)
		}
	}
	metrics := api.NewMetrics()
	svc, err := dispatch.New(dispatch.Config{Store: m.st, Matcher: mt, Observer: metrics})
	if err != nil {
		ln.Close()
		m.st.Close()
		return err
	}
	durable := m.checkDurability(ctx)
	m.api, err = api.New(api.Config{Service: svc, Store: m.st, Keys: keys, Metrics: metrics, Logger: m.Log,
		Limits: cfg.Limits, RequireDurable: cfg.RequireDurable, Epoch: guard})
	if err != nil {
		ln.Close()
		m.st.Close()
		return err
	}
	m.ln = ln
	m.http = &http.Server{
		Handler:           m.api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.http.Serve(api.Listener(ln)) }()
	bgctx, stop := context.WithCancel(context.Background())
	m.stop, m.bg = stop, make(chan struct{})
	go m.redactLoop(bgctx, cfg.RedactEvery)
	m.epochDone = make(chan struct{})
	go func() {
		defer close(m.epochDone)
		guard.Run(bgctx, cfg.EpochEvery)
	}()
	m.learnDone = make(chan struct{})
	go func() {
		defer close(m.learnDone)
		if learn {
			m.learnLoop(bgctx, svc, cfg.UrgentLearnDays, cfg.UrgentLearnEvery)
		}
	}()
	if cfg.PprofAddr != "" {
		if err := m.servePprof(cfg.PprofAddr); err != nil {
			m.Close()
			return err
		}
	}
	// Ready as /readyz would answer now: the store holds its epoch and,
	// when required, persists every write (each refusal was logged above).
	ready := guard.Err() == nil && (durable || !cfg.RequireDurable)
	m.Log.Info("doorstep serving", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String(),
		"store", storeName(cfg.RedisURL), "auth", len(keys) > 0, "ready", ready)
	return nil
}

// storeName says which store a RedisURL chooses, for the log: "embedded",
// or the Redis address without credentials.
func storeName(url string) string {
	if url == "" || url == EmbeddedStore {
		return EmbeddedStore
	}
	u, err := neturl.Parse(url)
	if err != nil || u.Host == "" {
		return "redis"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// grace is Grace or its default.
func (c *ServeConfig) grace() time.Duration {
	if c.Grace <= 0 {
		return 15 * time.Second
	}
	return c.Grace
}

// Close drains the server: readiness fails at once and keep-alive
// connections are closed after their next response; the server goes on
// serving for DrainDelay, then stops accepting connections; in-flight
// requests finish within what is left of the grace period; then the store
// closes.
func (m *Main) Close() error {
	if m.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.grace())
	defer cancel()
	m.api.Drain()
	m.http.SetKeepAlivesEnabled(false)
	m.stop()
	<-m.bg
	<-m.epochDone
	<-m.learnDone
	if m.pprof != nil {
		m.pprof.Close()
	}
	if d := m.Config.DrainDelay; d > 0 {
		m.Log.Info("draining: readiness fails, still serving", "drain_delay_ms", d.Milliseconds())
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case err := <-m.served: // the server failed meanwhile
			m.served <- err
			t.Stop()
		}
	}
	err := m.http.Shutdown(ctx)
	if serr := <-m.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if cerr := m.st.Close(); err == nil {
		err = cerr
	}
	return err
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg ServeConfig
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&cfg.RedisURL, "redis", "", "Redis `URL`, or \"embedded\" for the in-process store that keeps nothing across a restart (env REDIS_URL; the flag wins). Unset: embedded, allowed only without API keys")
	fs.DurationVar(&cfg.Grace, "grace", 15*time.Second, "how long shutdown may take, drain delay included")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", 0, "on shutdown, how long to go on serving with /readyz failing before closing the listener (a load balancer's probe period times its failure threshold)")
	fs.BoolVar(&cfg.RequireDurable, "require-durable", false, "fail readiness unless Redis has appendonly yes and appendfsync always")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this `address` (off when empty; no auth: keep it on loopback)")
	fs.IntVar(&cfg.Limits.RatePerKey, "rate-limit", 200, "requests a second per API key (negative: off)")
	fs.IntVar(&cfg.Limits.FailedAuthPerMinute, "auth-fail-limit", 60, "requests without a valid API key a minute per client address; beyond, 429 (negative: off)")
	fs.IntVar(&cfg.Limits.MaxInFlight, "max-in-flight", 0, "requests served at once; beyond, 429 after a short wait (0: four per CPU)")
	fs.DurationVar(&cfg.Limits.RequestTimeout, "request-timeout", api.DefaultRequestTimeout, "deadline of one request's Redis work (batch endpoints excepted); a Redis that hangs or crawls is answered 503 within it")
	fs.StringVar(&cfg.StoreEpoch, "store-epoch", "", storeEpochHelp)
	fs.StringVar(&cfg.Weights, "weights", "", "matching cost weights as JSON over the defaults, e.g. '{\"fairness\":40}' (env DOORSTEP_WEIGHTS; the flag wins)")
	fs.IntVar(&cfg.UrgentLearnDays, "urgent-learn-days", 14, "without -urgent-profile, learn the urgent profile from the urgent requests of the last `N` days (up to 28), refreshed every 10 minutes; -1: no learning")
	fs.StringVar(&cfg.UrgentProfile, "urgent-profile", "", "urgent demand profile `file` (JSON: zone, lead_minutes, rates per skill by hour of day per worker on duty, optional regions) that prices the urgent capacity a normal booking takes; none: no protection (env DOORSTEP_URGENT_PROFILE; the flag wins)")
	fs.BoolVar(&cfg.NoReadModel, "no-read-model", false, "read every candidate worker from Redis instead of the in-process read model kept at each worker's version (to measure it, or to hold no worker state in the server)")
	fs.StringVar(&cfg.TravelTable, "travel-table", "", "travel-time table `file`: CSV from_cell,to_cell,minutes[,hour] of H3 resolution-7 cells, the default linear model where it is silent (env DOORSTEP_TRAVEL_TABLE; the flag wins)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, err: err}
	}
	// A flag wins over its environment variable, which wins over the
	// default.
	envUnlessFlag(fs, "redis", "REDIS_URL", &cfg.RedisURL)
	cfg.APIKeys = os.Getenv("DOORSTEP_API_KEYS")
	envUnlessFlag(fs, "store-epoch", "DOORSTEP_STORE_EPOCH", &cfg.StoreEpoch)
	envUnlessFlag(fs, "travel-table", "DOORSTEP_TRAVEL_TABLE", &cfg.TravelTable)
	envUnlessFlag(fs, "urgent-profile", "DOORSTEP_URGENT_PROFILE", &cfg.UrgentProfile)
	envUnlessFlag(fs, "weights", "DOORSTEP_WEIGHTS", &cfg.Weights)
	if _, set := os.LookupEnv("GOGC"); !set {
		// The server's live heap is a few MB (state lives in Redis), so
		// the default GC target (100%) collects very often under load;
		// 400% trades a few MB for fewer collections and a lower p99.
		debug.SetGCPercent(ServeGCPercent)
	}
	m := &Main{Config: cfg, Log: slog.New(slog.NewJSONHandler(stderr, nil))}
	if err := m.Open(ctx); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		m.Log.Info("shutting down", "grace_ms", cfg.grace().Milliseconds())
	case err := <-m.served:
		m.served <- err // Close reads it
	}
	return m.Close()
}

// loadTravelTable reads the travel table at path over geo.Linear's
// defaults; "" means no table (nil: the matcher's geo.Linear).
func loadTravelTable(path string) (geo.TravelModel, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("travel table: %w", err)
	}
	defer f.Close()
	t, err := geo.ParseTable(f, geo.Linear{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// envUnlessFlag sets *dst from the environment variable env unless the
// flag name was given on the command line: a flag wins over the
// environment, which wins over the default.
func envUnlessFlag(fs *flag.FlagSet, name, env string, dst *string) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if v, ok := os.LookupEnv(env); ok && !given {
		*dst = v
	}
}

// openEpoch finds the store's epoch (writing it on a first start, unless
// pinned) and returns the guard that watches it. An epoch that is not the
// pinned one is not an error: the server starts refusing (the guard logs
// why) and recovers if the marker is restored.
func (m *Main) openEpoch(ctx context.Context) (*store.EpochGuard, error) {
	pin := m.Config.StoreEpoch
	e, created, err := m.st.EnsureEpoch(ctx, pin)
	if err != nil && !errors.Is(err, store.ErrStoreReset) {
		return nil, fmt.Errorf("open store: %w", err)
	}
	switch {
	case err != nil:
	case created && m.st.Embedded():
		m.Log.Info("wrote the embedded store's epoch", "epoch", e.ID)
	case created:
		m.Log.Warn("the Redis store had no epoch marker: wrote a new one; a store that held bookings before had lost them, or this is its first start (pin the epoch with -store-epoch to refuse an empty store on restart)",
			"epoch", e.ID)
	case pin != "":
		m.Log.Info("the Redis store holds the pinned epoch", "epoch", e.ID, "epoch_created", e.Created)
	default:
		m.Log.Info("adopted the Redis store's epoch", "epoch", e.ID, "epoch_created", e.Created)
	}
	return store.NewEpochGuard(m.st, e.ID, err, m.Log), nil
}

// checkDurability logs what Redis persists and reports whether it is
// durable (appendonly yes, appendfsync always). Production runs Redis with
// AOF; without it a crash of Redis' host loses confirmed bookings.
func (m *Main) checkDurability(ctx context.Context) bool {
	p, err := m.st.Persistence(ctx)
	switch {
	case err != nil:
		m.Log.Warn("cannot read Redis persistence settings", "err", err)
	case p.Embedded:
		// Already warned: the embedded Redis persists nothing.
	case !p.AppendOnly:
		m.Log.Warn("Redis AOF is off: a crash of the Redis host loses confirmed bookings; set appendonly yes (and appendfsync always for no loss)", "persistence", p.String())
	case p.AppendFsync != "always":
		m.Log.Warn("Redis fsyncs the AOF "+p.AppendFsync+": a power loss may lose about the last second of confirmed bookings; appendfsync always loses none", "persistence", p.String())
	default:
		m.Log.Info("Redis persistence", "persistence", p.String())
	}
	return err == nil && p.Durable()
}

// servePprof starts the profiling listener.
func (m *Main) servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go m.pprof.Serve(ln)
	m.Log.Warn("pprof is on (no auth)", "addr", ln.Addr().String())
	return nil
}

// redactLoop reduces finished bookings' exact locations to their H3 cell,
// and starts the AOF rewrite an erasure left due (store.RewriteAOFIfDue),
// every period, until ctx ends.
// learnLoop learns the urgent profile from the urgent requests of the last
// days (dispatch.Service.LearnUrgentProfile) at start and every period, and
// gives it to the matcher: urgent-capacity protection is on as soon as one
// whole day of urgent requests has been counted.
func (m *Main) learnLoop(ctx context.Context, svc *dispatch.Service, days int, period time.Duration) {
	if days == 0 {
		days = 14
	}
	if period <= 0 {
		period = 10 * time.Minute
	}
	t := time.NewTicker(period)
	defer t.Stop()
	known := false
	for {
		p, err := svc.LearnUrgentProfile(ctx, days)
		switch {
		case err != nil && ctx.Err() == nil:
			m.Log.Warn("learn urgent profile", "err", err)
		case err == nil && p != nil:
			if err := svc.Matcher().SetUrgentProfile(p); err != nil {
				m.Log.Warn("learn urgent profile", "err", err)
			} else if !known {
				known = true
				m.Log.Info("urgent profile learnt from recent urgent requests: normal bookings are priced for the urgent capacity they take",
					"regions", len(p.Regions), "skills", len(p.Rate), "days", days)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *Main) redactLoop(ctx context.Context, period time.Duration) {
	defer close(m.bg)
	if period <= 0 {
		period = 5 * time.Minute
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := m.st.RedactFinished(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			m.Log.Warn("redact finished bookings", "err", err)
		} else if n > 0 {
			m.Log.Info("redacted finished bookings", "count", n)
		}
		m.rewriteAOFIfDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rewriteAOFIfDue starts the Redis AOF rewrite that a customer erasure could
// not start (one was running): until it runs, the erased values stay in
// Redis' files on disk. A rewrite still running is tried again next time.
func (m *Main) rewriteAOFIfDue(ctx context.Context) {
	started, err := m.st.RewriteAOFIfDue(ctx)
	switch {
	case err != nil && !errors.Is(err, store.ErrRewriteBusy) && ctx.Err() == nil:
		m.Log.Warn("cannot start the Redis AOF rewrite due after a customer erasure: the erased values stay in the AOF files until Redis rewrites them (BGREWRITEAOF)", "err", err)
	case started:
		m.Log.Info("started the Redis AOF rewrite due after a customer erasure")
	}
}
