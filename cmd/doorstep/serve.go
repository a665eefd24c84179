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

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/internal/memlimit"
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
	// RedisClusterURL selects a Redis Cluster instead: a seed node's
	// redis:// URL with further seeds as addr=host:port parameters
	// (docs/scaling.md). Setting both it and RedisURL is an error.
	RedisClusterURL string
	// RedisWaitReplicas and RedisWaitTimeout are store.Config's
	// WaitReplicas and WaitTimeout: confirm a booking only once that many
	// replicas hold it.
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
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
	// HorizonDays is how many days ahead of now an appointment's window
	// (and a slot offer's range) may end (dispatch.Config.Horizon); 0
	// means doorstep.DefaultHorizon (60).
	HorizonDays int
	// MaxRescues bounds the rescue plans made at once
	// (dispatch.Config.MaxRescues): 0 means half the CPUs, -1 no bound.
	MaxRescues int
	// RescueQueue bounds the requests waiting for a plan's turn
	// (dispatch.Config.RescueQueue): 0 means MaxRescues, -1 none.
	RescueQueue int
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
	// SeriesRollEvery is how often the roll-forward places the occurrences
	// of recurring series the horizon has reached (rollLoop); 0 means
	// DefaultSeriesRollEvery, negative means never.
	SeriesRollEvery time.Duration
	// Catalogue is the path of the service catalogue (the format of
	// catalogue.json: services, and their prices with the pricing
	// calendar); "" means the built-in one.
	Catalogue string
	// Retention is how long the records of requests, bookings, progress
	// and feedback are kept whole before the privacy sweep reduces them
	// (store.ReduceExpired); 0 means DefaultRetention, and it must be at
	// least MinRetention.
	Retention time.Duration
	// EventsOff stops booking changes from writing integrator events
	// (issue 15); Events configures their relay, retention and webhook
	// deliveries (its Store and Logger are set by Open).
	EventsOff bool
	Events    events.Config
	// NoReadModel reads every candidate from Redis instead of keeping
	// the workers in the store's read model (store.Store.SetReadModel).
	NoReadModel bool
	// NoMirror reads the position index and the workers' versions from
	// Redis at every search instead of following the regions' change
	// feeds (store.Store.FollowChanges).
	NoMirror bool
}

// mirrorEvery is how often a server following the change feeds reads
// every feed and looks for new regions (store.Store.FollowChanges); a
// search reads its own regions' feeds itself.
const mirrorEvery = time.Second

// Retention bounds (ServeConfig.Retention).
const (
	DefaultRetention = 365 * 24 * time.Hour
	// MinRetention keeps a booking whole until its follow-up is due and
	// a day beyond.
	MinRetention = 2 * doorstep.FollowUpWindow
)

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
	rollDone             chan struct{} // closed when the series roll-forward has stopped
	mirrorDone           chan struct{} // closed when the store stopped following its change feeds
	warmDone             chan struct{} // closed when the read model's warm-up is over
	eventsDone           chan struct{} // the events relay and deliveries
}

// Addr is the address the server listens on, once open.
func (m *Main) Addr() string { return m.ln.Addr().String() }

// Open connects the store, builds the API and starts listening.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if cfg.Retention != 0 && cfg.Retention < MinRetention {
		return &exitError{code: 2, err: fmt.Errorf("retention %v is shorter than %v: a booking must stay whole until its follow-up is due", cfg.Retention, MinRetention)}
	}
	if cfg.DrainDelay < 0 || cfg.DrainDelay >= cfg.grace() {
		return &exitError{code: 2, err: fmt.Errorf("drain delay %v must be at least 0 and shorter than the grace period %v", cfg.DrainDelay, cfg.grace())}
	}
	keys, err := api.ParseKeys(cfg.APIKeys)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := cfg.checkCluster(); err != nil {
		return &exitError{code: 2, err: err}
	}
	if cfg.RedisURL == "" && cfg.RedisClusterURL == "" && len(keys) > 0 {
		return &exitError{code: 2, err: errImplicitEmbedded}
	}
	embedded := cfg.RedisClusterURL == "" && (cfg.RedisURL == "" || cfg.RedisURL == EmbeddedStore)
	m.Log.Info("doorstep starting", "store", cfg.storeName(), "addr", cfg.Addr, "auth", len(keys) > 0)
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
		m.st, err = store.Open(ctx, cfg.storeConfig())
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
	catalogue, err := loadCatalogue(cfg.Catalogue)
	if err != nil {
		ln.Close()
		m.st.Close()
		return &exitError{code: 2, err: err}
	}
	metrics := api.NewMetrics()
	if cfg.HorizonDays < 0 || cfg.HorizonDays > 400 {
		ln.Close()
		m.st.Close()
		return fmt.Errorf("-horizon-days %d out of [1, 400]", cfg.HorizonDays)
	}
	svc, err := dispatch.New(dispatch.Config{Store: m.st, Matcher: mt, Observer: metrics, Catalogue: catalogue,
		Horizon: time.Duration(cfg.HorizonDays) * 24 * time.Hour, MaxRescues: cfg.MaxRescues, RescueQueue: cfg.RescueQueue})
	if err != nil {
		ln.Close()
		m.st.Close()
		return err
	}
	durable := m.checkDurability(ctx)
	m.st.SetEvents(!cfg.EventsOff)
	ecfg := cfg.Events
	ecfg.Store, ecfg.Logger = m.st, m.Log
	ev, err := events.New(ecfg)
	if err != nil {
		ln.Close()
		m.st.Close()
		return err
	}
	m.api, err = api.New(api.Config{Service: svc, Store: m.st, Keys: keys, Metrics: metrics, Logger: m.Log,
		Limits: cfg.Limits, RequireDurable: cfg.RequireDurable, Epoch: guard, Events: ev,
		// Not ready until the searches read from memory (or a minute
		// has passed): from the first request, since one that
		// connected while the store opened is served at once.
		Warming: !cfg.NoMirror})
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
	m.eventsDone = make(chan struct{})
	go func() {
		defer close(m.eventsDone)
		ev.Run(bgctx) // relays and delivers what earlier runs left too
	}()
	m.learnDone = make(chan struct{})
	go func() {
		defer close(m.learnDone)
		if learn {
			m.learnLoop(bgctx, svc, cfg.UrgentLearnDays, cfg.UrgentLearnEvery)
		}
	}()
	m.rollDone = make(chan struct{})
	go m.rollLoop(bgctx, svc, cfg.SeriesRollEvery)
	m.mirrorDone = make(chan struct{})
	go func() {
		defer close(m.mirrorDone)
		if !cfg.NoMirror {
			m.st.FollowChanges(bgctx, mirrorEvery, m.Log)
		}
	}()
	// The warm-up ends the warming set above; Open waits for it.
	m.warmDone = make(chan struct{})
	go func() {
		defer close(m.warmDone)
		if !cfg.NoMirror {
			m.warmUp(bgctx)
		}
	}()
	select {
	case <-m.warmDone:
	case <-ctx.Done():
	}
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
		"store", cfg.storeName(), "auth", len(keys) > 0, "ready", ready)
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
	<-m.rollDone
	<-m.mirrorDone
	<-m.warmDone
	<-m.eventsDone
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
	// Redis Cluster (docs/scaling.md).
	fs.StringVar(&cfg.RedisClusterURL, "redis-cluster", "", "Redis Cluster `URL`: redis://HOST1:PORT1?addr=HOST2:PORT2&addr=HOST3:PORT3 (env REDIS_CLUSTER_URL; the flag wins); not with -redis/REDIS_URL")
	fs.IntVar(&cfg.RedisWaitReplicas, "redis-wait-replicas", 0, "confirm a booking only once `N` replicas of its Redis master hold it (WAIT); 0: on the master's word")
	fs.DurationVar(&cfg.RedisWaitTimeout, "redis-wait-timeout", store.DefaultWaitTimeout, "how long a confirmation waits for -redis-wait-replicas; beyond, 503 (the client retries with its Idempotency-Key)")
	fs.DurationVar(&cfg.Grace, "grace", 15*time.Second, "how long shutdown may take, drain delay included")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", 0, "on shutdown, how long to go on serving with /readyz failing before closing the listener (a load balancer's probe period times its failure threshold)")
	fs.BoolVar(&cfg.RequireDurable, "require-durable", false, "fail readiness unless Redis has appendonly yes and appendfsync always")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this `address` (off when empty; no auth: keep it on loopback)")
	fs.IntVar(&cfg.Limits.RatePerKey, "rate-limit", 200, "requests a second per API key (negative: off)")
	fs.IntVar(&cfg.Limits.FailedAuthPerMinute, "auth-fail-limit", 60, "requests without a valid API key a minute per client address; beyond, 429 (negative: off)")
	fs.IntVar(&cfg.Limits.MaxInFlight, "max-in-flight", 0, "requests served at once; beyond, a request waits for a slot (-burst-wait, -queue-wait), then gets 429 (0: four per CPU)")
	fs.DurationVar(&cfg.Limits.BurstWait, "burst-wait", api.DefaultBurstWait, "how long a request may wait for a -max-in-flight slot while the queue is younger than this (a burst, or a pause of the server); negative: none, every wait is -queue-wait (0: the default)")
	fs.DurationVar(&cfg.Limits.QueueWait, "queue-wait", api.DefaultQueueWait, "how long a request may wait for a -max-in-flight slot once requests have waited for longer than -burst-wait (overload: shed at once)")
	fs.IntVar(&cfg.MaxRescues, "max-rescues", 0, "rescue plans (bookings moved to fit a request nobody can take directly; each reads the whole pool around it) made at once; beyond, such a request waits for its turn (-rescue-queue) or gets 429, so that they leave CPUs and slots of -max-in-flight to the requests answered at once (0: half the CPUs, at least 1; -1: no bound)")
	fs.IntVar(&cfg.RescueQueue, "rescue-queue", 0, "requests that may wait (250 ms at most) for a rescue plan's turn at once; one more gets 429 at once (0: as many as -max-rescues; -1: none waits)")
	fs.DurationVar(&cfg.Limits.RequestTimeout, "request-timeout", api.DefaultRequestTimeout, "deadline of one request's Redis work (batch endpoints excepted); a Redis that hangs or crawls is answered 503 within it")
	fs.StringVar(&cfg.StoreEpoch, "store-epoch", "", storeEpochHelp)
	fs.StringVar(&cfg.Weights, "weights", "", "matching cost weights as JSON over the defaults, e.g. '{\"fairness\":40}' (env DOORSTEP_WEIGHTS; the flag wins)")
	fs.IntVar(&cfg.UrgentLearnDays, "urgent-learn-days", 14, "without -urgent-profile, learn the urgent profile from the urgent requests of the last `N` days (up to 28), refreshed every 10 minutes; -1: no learning")
	fs.StringVar(&cfg.UrgentProfile, "urgent-profile", "", "urgent demand profile `file` (JSON: zone, lead_minutes, rates per skill by hour of day per worker on duty, optional regions) that prices the urgent capacity a normal booking takes; none: no protection (env DOORSTEP_URGENT_PROFILE; the flag wins)")
	fs.DurationVar(&cfg.SeriesRollEvery, "series-roll-every", DefaultSeriesRollEvery, "how often to book the occurrences of recurring series that the horizon has reached (negative: never; every server may run it)")
	fs.IntVar(&cfg.HorizonDays, "horizon-days", 60, "how many `days` ahead an appointment's window (and POST /v1/slots's range) may end, in [1, 400]")
	fs.StringVar(&cfg.Catalogue, "catalogue", "", "service catalogue `file` (JSON as catalogue.json: services with their prices, and the pricing calendar); none: the built-in one (env DOORSTEP_CATALOGUE; the flag wins)")
	fs.DurationVar(&cfg.Retention, "retention", DefaultRetention, "keep the records of requests, bookings, progress and feedback whole for this `duration` (at least 48h), then reduce them: customer ids and exact places go, follow-ups and feedback are deleted")
	fs.BoolVar(&cfg.NoMirror, "no-mirror", false, "read the position index and the workers' versions from Redis at every search instead of following the regions' change feeds in memory")
	fs.BoolVar(&cfg.NoReadModel, "no-read-model", false, "read every candidate worker from Redis instead of the in-process read model kept at each worker's version (to measure it, or to hold no worker state in the server)")
	fs.StringVar(&cfg.TravelTable, "travel-table", "", "travel-time table `file`: CSV from_cell,to_cell,minutes[,hour] of H3 resolution-7 cells, the default linear model where it is silent (env DOORSTEP_TRAVEL_TABLE; the flag wins)")
	// Issue 15: events for integrators (README "Events and webhooks").
	eventsOn := fs.Bool("events", true, "write an integrator event with every booking change, relay them to tenants' streams (GET /v1/events) and deliver them to webhooks")
	fs.Int64Var(&cfg.Events.Retention.MaxLen, "events-max-len", store.DefaultEventMaxLen, "events kept per tenant (approximately; XADD MAXLEN ~)")
	fs.DurationVar(&cfg.Events.Retention.MaxAge, "events-max-age", store.DefaultEventMaxAge, "events older than this are dropped (XTRIM MINID, every minute)")
	webhookHosts := fs.String("webhook-hosts", "", "comma-separated `hosts` webhooks may point to (\"*.example.com\" for subdomains); empty: any public host")
	fs.BoolVar(&cfg.Events.Webhooks.AllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses (refused by default: server-side request forgery)")
	fs.DurationVar(&cfg.Events.Webhooks.Timeout, "webhook-timeout", 10*time.Second, "bound of one webhook delivery attempt")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, err: err}
	}
	// A flag wins over its environment variable, which wins over the
	// default.
	envUnlessFlag(fs, "redis", "REDIS_URL", &cfg.RedisURL)
	envUnlessFlag(fs, "redis-cluster", "REDIS_CLUSTER_URL", &cfg.RedisClusterURL)
	cfg.APIKeys = os.Getenv("DOORSTEP_API_KEYS")
	cfg.EventsOff = !*eventsOn
	if *webhookHosts != "" {
		cfg.Events.Webhooks.AllowHosts = strings.Split(*webhookHosts, ",")
	}
	envUnlessFlag(fs, "store-epoch", "DOORSTEP_STORE_EPOCH", &cfg.StoreEpoch)
	envUnlessFlag(fs, "travel-table", "DOORSTEP_TRAVEL_TABLE", &cfg.TravelTable)
	envUnlessFlag(fs, "catalogue", "DOORSTEP_CATALOGUE", &cfg.Catalogue)
	envUnlessFlag(fs, "urgent-profile", "DOORSTEP_URGENT_PROFILE", &cfg.UrgentProfile)
	envUnlessFlag(fs, "weights", "DOORSTEP_WEIGHTS", &cfg.Weights)
	if _, set := os.LookupEnv("GOGC"); !set {
		// The default GC target (100%) collects very often under load;
		// 400% trades memory (the heap grows to five times the live
		// data, about 1.1 KiB a worker) for fewer collections and a
		// lower p99. The memory limit below bounds it in a large
		// city (README, "Memory").
		debug.SetGCPercent(ServeGCPercent)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		// The limit follows the live heap, collection by collection:
		// a city's size is not known before it has been read.
		t, err := memlimit.Start(memlimit.Default)
		if err != nil {
			return err
		}
		defer t.Stop()
		log.Info("memory limit follows the live heap", "floor_bytes", memlimit.Default.Floor, "ratio", memlimit.Default.Ratio)
	}
	m := &Main{Config: cfg, Log: log}
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
		m.reduceExpired(ctx)
		m.rewriteAOFIfDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reduceExpired reduces the records past the retention
// (store.ReduceExpired).
func (m *Main) reduceExpired(ctx context.Context) {
	retention := m.Config.Retention
	if retention == 0 {
		retention = DefaultRetention
	}
	r, err := m.st.ReduceExpired(ctx, time.Now().Add(-retention))
	switch {
	case err != nil && ctx.Err() == nil:
		m.Log.Warn("reduce the records past the retention", "err", err)
	case r != store.Reduced{}:
		m.Log.Info("reduced the records past the retention", "bookings", r.Bookings, "followups", r.FollowUps, "retention", retention.String())
	}
}

// loadCatalogue reads the catalogue at path; "" means the built-in one
// (nil: dispatch's default).
func loadCatalogue(path string) (doorstep.Catalogue, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalogue: %w", err)
	}
	defer f.Close()
	c, err := doorstep.ReadCatalogue(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
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

// warmUp waits for the mirror to serve, then fills the read model
// (store.Store.WarmUp) with every worker's bookings over the range a
// search reads (dispatch.WarmRange), so that the first searches of a
// server just started do not each read thousands of workers from Redis
// (at 100,000 workers, the mirror's five seconds of loading had shed a
// quarter of the requests). It gives up when the mirror has not loaded
// within a minute; readiness (api.Server.Warming) waits for it.
func (m *Main) warmUp(ctx context.Context) {
	defer m.api.Warming(false)
	give := time.NewTimer(time.Minute)
	defer give.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !m.st.Mirroring() {
		select {
		case <-ctx.Done():
			return
		case <-give.C:
			m.Log.Warn("read model not warmed: the mirror of the change feeds did not load within a minute")
			return
		case <-tick.C:
		}
	}
	start := time.Now()
	from, to := dispatch.WarmRange(start)
	n, err := m.st.WarmUp(ctx, from, to)
	if err != nil {
		if ctx.Err() == nil {
			m.Log.Warn("warming the read model", "err", err)
		}
		return
	}
	m.Log.Info("read model warmed", "workers", n, "ms", time.Since(start).Milliseconds())
}
