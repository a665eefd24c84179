package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus collectors, on a registry of their
// own. Labels never carry worker, booking or customer ids.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	match       *prometheus.HistogramVec
	candidates  prometheus.Histogram
	bookings    *prometheus.CounterVec
	unservable  *prometheus.CounterVec
	conflicts   prometheus.Counter
	rescues     *prometheus.CounterVec
	replanned   *prometheus.CounterVec
	redisErrors prometheus.Counter
	shed        prometheus.Counter
	queueWait   prometheus.Histogram
	rescueShed  prometheus.Counter
	// overtime and overtimeMinutes count the urgent bookings run into a
	// shift's overtime, and the minutes over.
	overtime, overtimeMinutes prometheus.Counter
	rescuePlans               *prometheus.HistogramVec
	auditErrors               prometheus.Counter
	solve                     prometheus.Histogram
	rolled                    *prometheus.CounterVec // series occurrences rolled forward (metrics_series.go)
	progress                  *prometheus.CounterVec
}

var _ dispatch.Observer = (*Metrics)(nil)

// NewMetrics registers the collectors on a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "doorstep_http_request_duration_seconds", Help: "HTTP request latency by route pattern, method and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "method", "code"})
	m.match = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "doorstep_match_duration_seconds", Help: "Time to rank the candidates of one request, by class.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14),
	}, []string{"class"})
	m.candidates = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "doorstep_match_candidates", Help: "Candidates examined per request.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14),
	})
	m.bookings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_bookings_total", Help: "Confirmed bookings by class and promise rule (urgent_1h, normal_24h, appointment_window).",
	}, []string{"class", "rule"})
	m.unservable = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_service_level_misses_total", Help: "Requests no worker could serve within their class, by class and promise rule (urgent_1h, normal_24h, appointment_window).",
	}, []string{"class", "rule"})
	m.overtime = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_overtime_bookings_total", Help: "Urgent bookings placed to run past the end of their worker's shift, into the urgent overtime the shift allows (urgent_overtime_minutes): booked so, or moved there by a rescue or a re-plan (a booking placed there twice counts twice).",
	})
	m.overtimeMinutes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_overtime_minutes_total", Help: "The minutes those placements were planned to run past their shifts' ends: the overtime booked.",
	})
	m.conflicts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_reservation_conflicts_total", Help: "Reservations that lost a race and were retried.",
	})
	m.rescues = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_rescues_total",
		Help: "Requests served by moving not-yet-started bookings (normal ones, and urgent ones for an urgent request; to another worker or another time, inside their promises), by class and by how many bookings the plan moved.",
	}, []string{"class", "moves"})
	m.replanned = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_replanned_bookings_total",
		Help: "Bookings re-planned because their worker changed (cause: profile, retired, absence, overrun, progress), by outcome: moved inside their promise, or marked at risk.",
	}, []string{"cause", "outcome"})
	m.redisErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_redis_errors_total", Help: "Requests answered 503 because Redis was unreachable or slow.",
	})
	m.shed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_shed_requests_total", Help: "Requests refused with 429 because the server was at capacity.",
	})
	m.queueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "doorstep_queue_wait_seconds",
		Help:    "How long requests that found every -max-in-flight slot taken waited for one, served or shed (doorstep_shed_requests_total): up to -burst-wait while the queue is young, -queue-wait once it has stood that long.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 10),
	})
	m.rescueShed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_rescue_shed_total", Help: "Quotes and bookings refused with 429 because they needed a rescue plan (bookings moved) while as many plans as -max-rescues allows were being made.",
	})
	m.rescuePlans = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "doorstep_rescue_plan_seconds",
		Help:    "Rescue plans searched for (quotes and bookings nobody could take without moving bookings), by class and outcome (found or none): how long each held its turn of -max-rescues, reading the whole pool around the request and planning. The count by outcome is how many were searched for and how many found a plan.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 12),
	}, []string{"class", "outcome"})
	m.solve = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "doorstep_solve_duration_seconds", Help: "Time in the assignment solver per batch.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	m.auditErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_audit_errors_total", Help: "Audit events that could not be written (the action itself succeeded).",
	})
	m.progress = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_progress_reports_total",
		Help: "Job progress reports applied (POST /v1/bookings/{id}/progress), by status; re-plans they cause are counted in doorstep_replanned_bookings_total (cause progress or overrun).",
	}, []string{"status"})
	m.reg.MustRegister(m.overtime, m.overtimeMinutes, m.progress, m.shed, m.queueWait, m.rescueShed, m.rescuePlans, m.solve, m.auditErrors, m.requests, m.match, m.candidates, m.bookings, m.unservable, m.conflicts, m.rescues, m.replanned, m.redisErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registerSeries()
	return m
}

// watchEpoch exports the guard's state as the gauge doorstep_store_reset.
func (m *Metrics) watchEpoch(g *store.EpochGuard) error {
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "doorstep_store_reset",
		Help: "1 while the Redis store lacks the epoch marker the server started on (reset, flushed or replaced) and bookings are refused, else 0.",
	}, func() float64 {
		if g.Err() != nil {
			return 1
		}
		return 0
	})
	if err := m.reg.Register(gauge); err != nil {
		return fmt.Errorf("register the store reset gauge: %w", err)
	}
	return nil
}

// watchMirror exports the store's mirror of the position index and
// versions (store.Store.FollowChanges): whether it serves, what it holds,
// and how many search steps it answered and feed reads it made (failed
// ones apart); and the store's writes behind the requests (written and
// lost). A second server sharing the metrics keeps the first's.
func (s *Server) watchMirror() error {
	const listedHelp = "Workers the mirror's search steps decided from its lists alone, without reading them: turned_away (a skill or certificate missing), dropped (no shift can hold the job, and no earlier arrival than one found), outranked (too far off to make an urgent request's options)."
	stat := func(f func(store.MirrorStats) float64) func() float64 {
		return func() float64 { return f(s.st.MirrorStats()) }
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doorstep_mirror_serving",
			Help: "1 while searches list workers and read versions from the in-process mirror of the change feeds, else 0 (off, loading, or a region's feed lost)."},
			stat(func(m store.MirrorStats) float64 {
				if m.Serving {
					return 1
				}
				return 0
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doorstep_mirror_workers", Help: "Workers the mirror holds."},
			stat(func(m store.MirrorStats) float64 { return float64(m.Workers) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "doorstep_mirror_regions", Help: "Regions whose change feed the mirror follows."},
			stat(func(m store.MirrorStats) float64 { return float64(m.Regions) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_mirror_steps_total", Help: "Search steps answered from the mirror (the others read Redis)."},
			stat(func(m store.MirrorStats) float64 { return float64(m.Steps) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_mirror_listed_total", Help: listedHelp,
			ConstLabels: prometheus.Labels{"decision": "turned_away"}},
			stat(func(m store.MirrorStats) float64 { return float64(m.ListTurned) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_mirror_listed_total", Help: listedHelp,
			ConstLabels: prometheus.Labels{"decision": "dropped"}},
			stat(func(m store.MirrorStats) float64 { return float64(m.ListDropped) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_mirror_listed_total", Help: listedHelp,
			ConstLabels: prometheus.Labels{"decision": "outranked"}},
			stat(func(m store.MirrorStats) float64 { return float64(m.ListOutranked) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_mirror_feed_reads_total", Help: "Round trips that read change feeds."},
			stat(func(m store.MirrorStats) float64 { return float64(m.FeedReads) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_mirror_feed_failures_total", Help: "Reads of change feeds that failed (searches then read Redis for a second)."},
			stat(func(m store.MirrorStats) float64 { return float64(m.FeedFailures) })),
		syncWaitCollector{st: s.st.MirrorStats, desc: prometheus.NewDesc("doorstep_mirror_sync_seconds",
			"Time search steps waited to have the change feeds read up to their search's start: their own round trip to Redis, or the read of another search they waited behind. Under load most of a slow search's time.", nil, nil)},
	}
	behind := func(f func(store.BehindStats) int64) func() float64 {
		return func() float64 { return float64(f(s.st.BehindStats())) }
	}
	cs = append(cs,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_store_behind_batches_total",
			Help: "Batches of the writes no request waits for (customers' last workers, urgent calls' counts, recorded idempotency answers), written behind the requests."},
			behind(func(b store.BehindStats) int64 { return b.Batches })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_store_behind_writes_total",
			Help: "Writes in those batches."},
			behind(func(b store.BehindStats) int64 { return b.Writes })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_store_behind_failed_batches_total",
			Help: "Batches written behind the requests that failed: their writes are lost (never a booking)."},
			behind(func(b store.BehindStats) int64 { return b.FailedBatches })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_store_behind_lost_writes_total",
			Help: "Writes of the failed batches."},
			behind(func(b store.BehindStats) int64 { return b.LostWrites })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "doorstep_store_behind_lost_answers_total",
			Help: "Idempotency answers written behind the requests that could not land: a retry after the request's lease recovers each from its bookings."},
			behind(func(b store.BehindStats) int64 { return b.LostAnswers })),
	)
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return fmt.Errorf("register the store's metrics: %w", err)
		}
	}
	return nil
}

// syncWaitCollector exports store.MirrorStats.SyncWait as a histogram.
type syncWaitCollector struct {
	st   func() store.MirrorStats
	desc *prometheus.Desc
}

func (c syncWaitCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c syncWaitCollector) Collect(ch chan<- prometheus.Metric) {
	w := c.st().SyncWait
	buckets := make(map[float64]uint64, len(w.Bounds))
	var n uint64
	for i, b := range w.Bounds {
		n += w.Counts[i]
		buckets[b.Seconds()] = n
	}
	n += w.Counts[len(w.Bounds)]
	ch <- prometheus.MustNewConstHistogram(c.desc, n, w.Sum.Seconds(), buckets)
}

// Registry returns the registry, for collectors of other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Matched implements dispatch.Observer.
func (m *Metrics) Matched(class doorstep.Urgency, n int, d time.Duration) {
	m.match.WithLabelValues(string(class)).Observe(d.Seconds())
	m.candidates.Observe(float64(n))
}

// Solved implements dispatch.Observer.
func (m *Metrics) Solved(d time.Duration) { m.solve.Observe(d.Seconds()) }

// Booked implements dispatch.Observer.
func (m *Metrics) Booked(class doorstep.Urgency, rule string) {
	m.bookings.WithLabelValues(string(class), rule).Inc()
}

// Unservable implements dispatch.Observer.
func (m *Metrics) Unservable(class doorstep.Urgency, rule string) {
	m.unservable.WithLabelValues(string(class), rule).Inc()
}

// Rescued implements dispatch.Observer.
func (m *Metrics) Rescued(class doorstep.Urgency, moves int) {
	m.rescues.WithLabelValues(string(class), strconv.Itoa(moves)).Inc()
}

// Replanned implements dispatch.Observer.
func (m *Metrics) Replanned(cause string, moved, atRisk int) {
	m.replanned.WithLabelValues(cause, "moved").Add(float64(moved))
	m.replanned.WithLabelValues(cause, "at_risk").Add(float64(atRisk))
}

// Overtime implements dispatch.Observer.
func (m *Metrics) Overtime(d time.Duration) {
	m.overtime.Inc()
	m.overtimeMinutes.Add(d.Minutes())
}

// RescueShed implements dispatch.Observer.
func (m *Metrics) RescueShed() { m.rescueShed.Inc() }

// RescueSearched implements dispatch.Observer.
func (m *Metrics) RescueSearched(class doorstep.Urgency, found bool, held time.Duration) {
	outcome := "none"
	if found {
		outcome = "found"
	}
	m.rescuePlans.WithLabelValues(string(class), outcome).Observe(held.Seconds())
}

// Conflict implements dispatch.Observer.
func (m *Metrics) Conflict() { m.conflicts.Inc() }

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// instrument records each request's latency under its route pattern (not
// its path, which would carry ids).
func (m *Metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		t0 := time.Now()
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(ww.Status())).Observe(time.Since(t0).Seconds())
	})
}
