// Package api is Doorstep's HTTP API (v1, JSON): a chi router with thin
// handlers over the dispatch use cases, strict input validation, API-key
// auth with roles, RFC 9457 problem+json errors, Prometheus metrics and the
// OpenAPI document at /openapi.json.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
)

// Config configures a Server. Service and Store are required.
type Config struct {
	Service *dispatch.Service
	// Store is pinged by /readyz and reports its persistence; it holds the
	// audit log the API reads and appends refusals to.
	Store *store.Store
	// Keys are the API keys; none turns auth off (the caller must then
	// listen on loopback only).
	Keys []Key
	// Metrics; nil makes new ones. Pass the same value to dispatch.Config's
	// Observer to count bookings.
	Metrics *Metrics
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// IdempotencyTTL is how long an Idempotency-Key record is kept,
	// pending or answered (its answer replayed); 0 means 24 hours.
	IdempotencyTTL time.Duration
	// Limits bound the load one key and the whole server may put on it.
	Limits Limits
	// AuditRetention bounds the audit stream's length; 0 means
	// store.DefaultAuditRetention.
	AuditRetention int64
	// RequireDurable makes /readyz fail unless Redis persists every write
	// (appendonly yes, appendfsync always).
	RequireDurable bool
	// Simulations bound POST /v1/simulations.
	Simulations SimulationLimits
	// Epoch, when set, guards against a store that lost its data or was
	// replaced: while it reports a reset, /readyz fails and every route
	// that reads or writes workers, bookings, customers or the audit log
	// answers 503 store_reset. The caller runs its checks (EpochGuard.Run).
	Epoch *store.EpochGuard
	// Events relays and delivers integrator events (issue 15); nil: GET
	// /v1/events polls the store and webhooks get the strict URL policy.
	Events *events.Service
	// Warming starts the server warming up (Server.Warming): /readyz
	// fails from its first request until Warming(false). A caller that
	// warms up after New must set it here, not by a call after New: a
	// request already waiting on the listener is served the moment
	// serving starts, before any later call.
	Warming bool
}

// Server serves the API. Its zero value is not usable; call New.
type Server struct {
	svc       *dispatch.Service
	st        *store.Store
	keys      []Key
	metrics   *Metrics
	log       *slog.Logger
	idemTTL   time.Duration
	limits    Limits
	auditMax  int64
	durable   bool
	simLimits SimulationLimits
	epoch     *store.EpochGuard
	simSlot   chan struct{}
	admit     *admission
	rate      *httprate.RateLimiter
	authFails *httprate.RateLimiter
	router    chi.Router
	draining  atomic.Bool
	warming   atomic.Bool
	ev        *eventsState
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Service == nil || cfg.Store == nil {
		return nil, errors.New("api: config: service and store are required")
	}
	s := &Server{svc: cfg.Service, st: cfg.Store, keys: cfg.Keys, metrics: cfg.Metrics, log: cfg.Logger,
		idemTTL: cfg.IdempotencyTTL, limits: cfg.Limits, auditMax: cfg.AuditRetention, durable: cfg.RequireDurable,
		epoch: cfg.Epoch, ev: newEventsState(cfg.Events)}
	s.limits.defaults()
	s.newLimiters()
	s.simLimits = cfg.Simulations
	s.simLimits.defaults()
	s.simSlot = make(chan struct{}, 1)
	s.warming.Store(cfg.Warming)
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.epoch != nil {
		if err := s.metrics.watchEpoch(s.epoch); err != nil {
			return nil, fmt.Errorf("api: %w", err)
		}
	}
	if s.idemTTL == 0 {
		s.idemTTL = 24 * time.Hour
	}
	if err := s.watchFollowUps(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	if err := s.watchMirror(); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.router = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Routes returns the router, so tests can walk every route.
func (s *Server) Routes() chi.Routes { return s.router }

// Warming makes /readyz fail (503, Retry-After: 1) while on: a server
// still loading what its searches read from memory (the mirror of the
// change feeds, the read model) would send them to Redis, at a cost that
// sheds requests in a large city.
func (s *Server) Warming(on bool) { s.warming.Store(on) }

// Drain makes /readyz fail, so a load balancer stops sending traffic while
// in-flight requests finish (graceful shutdown).
func (s *Server) Drain() {
	if !s.draining.Swap(true) {
		close(s.ev.drained) // event streams and long polls end
	}
}

func (s *Server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(requestID, s.logRequests, s.recoverer, s.metrics.instrument)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errNotFound("no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		// A 405 must say what is allowed (RFC 9110 section 15.5.6); chi
		// sets Allow only in its own default handler.
		w.Header().Set("Allow", strings.Join(s.allowed(r.URL.Path), ", "))
		s.writeError(w, r, errMethod(r.Method))
	})

	// Probes answer without a key and outside the load limits: a load
	// balancer must see an overloaded instance as alive.
	r.Get("/healthz", s.handleHealth)
	r.Get("/readyz", s.handleReady)
	// The document is public (DESIGN.md section 6), inside the load limits.

	// Issue 15: events for integrators. GET /v1/events may wait (a long
	// poll, a stream), so it holds no in-flight slot (it has its own
	// bound, maxEventWaiters) and no request deadline (each read has one).
	r.Group(func(r chi.Router) {
		r.Use(s.authenticate, s.rateLimit, s.allow(RoleBooking, RoleOps), s.storeIntact)
		r.Get("/v1/events", s.handleEvents)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.limitInFlight, s.authenticate, s.rateLimit, s.withAudit)
		// Issue "Production hardening": every route but the probes needs a
		// key, the API's own description included (it maps the attack
		// surface); any role may read it.
		r.Get("/openapi.json", s.handleOpenAPI)
		r.With(s.allow(RoleOps)).Get("/metrics", s.metrics.handler().ServeHTTP)
		r.Route("/v1", func(r chi.Router) {
			// Deadlines bound the Redis work of each request (Limits);
			// a store that lost its data is refused (storeIntact).
			short, long := deadline(s.limits.RequestTimeout), deadline(s.limits.BatchTimeout)
			r.Group(func(r chi.Router) {
				r.Use(s.allow(RoleOps))
				r.Post("/simulations", s.handleSimulate) // no store
			})
			r.Group(func(r chi.Router) {
				r.Use(s.allow(RoleOps), s.storeIntact)
				r.With(short).Get("/workers", s.handleListWorkers)
				r.With(long).Post("/workers/import", s.handleImportWorkers)
				r.With(short).Put("/workers/{id}", s.handlePutWorker)
				r.With(short).Get("/workers/{id}", s.handleGetWorker)
				r.With(short).Delete("/workers/{id}", s.handleDeleteWorker)
				r.With(short).Post("/workers/{id}/absences", s.handleAbsence)
				r.With(short).Get("/bookings/at-risk", s.handleAtRisk)
				r.With(short).Get("/followups", s.handleFollowUps)
				r.With(short).Put("/workers/{id}/location", s.handleLocation)
				r.With(short).Get("/workers/{id}/bookings", s.handleWorkerBookings)
				r.With(short).Get("/standby", s.handleStandby)
				r.With(long).Post("/assign", s.handleAssign)
			})
			r.Group(func(r chi.Router) {
				r.Use(s.allow(RoleBooking), s.storeIntact, short)
				r.Post("/match", s.handleMatch)
				r.Post("/slots", s.handleSlots) // book ahead: offered windows
				r.Post("/bookings", s.handleBook)
				r.Post("/bookings/{id}/cancel", s.handleCancel)
				r.Post("/bookings/{id}/reschedule", s.handleReschedule)
				r.Post("/bookings/{id}/feedback", s.handleFeedback)
				r.Get("/series/{id}", s.handleGetSeries)
				r.Post("/series/{id}/cancel", s.handleCancelSeries)
			})
			// Job progress (issue 15): a field key reads and reports its own
			// worker's bookings, ops reports any (handleProgress).
			r.With(s.allow(RoleBooking, RoleField), s.storeIntact, short).Get("/bookings/{id}", s.handleGetBooking)
			r.With(s.allow(RoleField, RoleOps), s.storeIntact, short).Post("/bookings/{id}/progress", s.handleProgress)
			// Erasure: a booking key erases its own customer, an admin
			// every tenant's (handleEraseCustomer).
			r.With(s.allow(RoleBooking), long).Delete("/customers/{id}", s.handleEraseCustomer)
			r.Group(func(r chi.Router) {
				r.Use(s.allow(RoleBooking, RoleOps), s.storeIntact, short)
				r.Post("/webhooks", s.handleCreateWebhook)
				r.Get("/webhooks", s.handleListWebhooks)
				r.Get("/webhooks/{id}", s.handleGetWebhook)
				r.Delete("/webhooks/{id}", s.handleDeleteWebhook)
			})
			r.Group(func(r chi.Router) {
				r.Use(s.allow(RoleAdmin), s.storeIntact)
				r.With(short).Get("/audit", s.handleAudit)
			})
		})
	})
	return r
}

// allowed lists the methods routed for path.
func (s *Server) allowed(path string) []string {
	var methods []string
	for _, m := range []string{http.MethodDelete, http.MethodGet, http.MethodPatch, http.MethodPost, http.MethodPut} {
		if s.router.Match(chi.NewRouteContext(), m, path) {
			methods = append(methods, m)
		}
	}
	return methods
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady reports whether this instance should take traffic: Redis
// answers within the request deadline (Limits.RequestTimeout, under a
// second; on Redis Cluster every slot has a live master whose cluster state
// is ok, store.Store.Ping), it still holds the epoch the server started on (Config.Epoch,
// checked now) and the server is not shutting down.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	unready := func(detail string) {
		w.Header().Set("Retry-After", "1")
		writeJSONType(w, http.StatusServiceUnavailable, "application/problem+json", Problem{
			Type: "https://doorstep.dev/problems/unavailable", Title: "Service Unavailable",
			Status: http.StatusServiceUnavailable, Detail: detail, Code: "unavailable"})
	}
	switch {
	case s.draining.Load():
		unready("shutting down")
		return
	case s.warming.Load():
		unready("warming up: loading the workers searches read from memory")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.epoch != nil {
		if err := s.epoch.Check(ctx); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if s.durable {
		p, err := s.st.Persistence(ctx)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !p.Durable() {
			s.writeError(w, r, doorstep.Errorf(doorstep.EUNAVAILABLE, "", "redis is not durable (%s); -require-durable needs appendonly yes with appendfsync always", p))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// storeIntact answers 503 store_reset, without calling the handler, while
// the epoch guard reports that the store lost its data or was replaced:
// reading it would answer 404 for confirmed bookings, and writing it would
// book over them. The guard's last check is used (no Redis call), so a
// reset is refused within a check interval of happening.
func (s *Server) storeIntact(next http.Handler) http.Handler {
	if s.epoch == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.epoch.Err(); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests logs each request as one structured line with its request id.
// It never logs headers (they carry API keys) or bodies (personal data).
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		rec := new(requestRecord)
		next.ServeHTTP(&timedWriter{WrapResponseWriter: ww, t0: t0}, r.WithContext(context.WithValue(r.Context(), callerKey{}, rec)))
		keyID := rec.who.KeyID
		if keyID == "" {
			keyID = anonymousKeyID
		}
		attrs := []slog.Attr{
			slog.String("request_id", middleware.GetReqID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()),
			slog.Int("bytes", ww.BytesWritten()),
			slog.Float64("duration_ms", float64(time.Since(t0).Microseconds())/1000),
			slog.String("key_id", keyID),
		}
		if rec.code != "" {
			attrs = append(attrs, slog.String("code", rec.code))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// timedWriter sets every answer's Server-Timing header (W3C Server
// Timing) to the server's time on the request until the answer's headers
// were written, in milliseconds: "app;dur=0.512". A client on a busy
// machine measures late when it waits for a core itself; the header
// tells it what the server spent (doorstep load reports both). The body's
// writing is not in it, as it comes after the headers; the access log's
// duration_ms includes it.
type timedWriter struct {
	middleware.WrapResponseWriter
	t0      time.Time
	stamped bool
}

func (w *timedWriter) WriteHeader(code int) {
	w.stamp()
	w.WrapResponseWriter.WriteHeader(code)
}

func (w *timedWriter) Write(b []byte) (int, error) {
	w.stamp()
	return w.WrapResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer's Flush.
func (w *timedWriter) Unwrap() http.ResponseWriter { return w.WrapResponseWriter }

func (w *timedWriter) stamp() {
	if w.stamped {
		return
	}
	w.stamped = true
	var buf [32]byte
	b := append(buf[:0], "app;dur="...)
	b = strconv.AppendFloat(b, float64(time.Since(w.t0).Microseconds())/1000, 'f', -1, 64)
	w.Header().Set("Server-Timing", string(b))
}

// settleTimeout bounds the audit event of a refused request, past the
// request's deadline.
const settleTimeout = 2 * time.Second

// settle returns the context in which to record the outcome of r's action
// once it is done, err being the action's error. After a success it is
// dispatch.FollowUp's: the answer must not wait past the request's deadline. After
// an EUNAVAILABLE error it is r's own context, deadline included: Redis is
// down or slow, so waiting on it again would only delay the 503. After
// another refusal it outlives r's context by settleTimeout, so that a
// client that hangs up does not erase the record of its refusal.
func settle(r *http.Request, err error) (context.Context, context.CancelFunc) {
	switch {
	case err == nil:
		return dispatch.FollowUp(r.Context())
	case doorstep.ErrorCode(err) == doorstep.EUNAVAILABLE:
		return context.WithCancel(r.Context())
	}
	return context.WithTimeout(context.WithoutCancel(r.Context()), settleTimeout)
}

// recoverer turns a panic in a handler into a logged internal error and a
// problem+json 500, instead of a dropped connection or plain text.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", v, "stack", string(debug.Stack()), "path", r.URL.Path)
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
