package api

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/go-chi/httprate"
)

// Limits protect the server from overload. The zero value takes defaults.
type Limits struct {
	// RatePerKey is how many requests a second one API key may make;
	// 0 means 200, negative turns rate limiting off.
	RatePerKey int
	// MaxInFlight bounds requests being served at once; 0 means four per
	// CPU (runtime.GOMAXPROCS). A booking is mostly CPU (matching, JSON)
	// with short Redis round trips, so a few per core keep the cores busy;
	// many more only queue inside the server, where every request waits
	// and the p99 grows for all (measured: 64 in flight on 2 cores
	// accepted 35 bookings a second at a p99 of 1.4 s; 4 accepted 131).
	// Beyond it a request waits for a slot (BurstWait, QueueWait), then
	// gets 429.
	MaxInFlight int
	// QueueWait is how long a request may wait for a slot once requests
	// have been waiting for longer than BurstWait; 0 means 10 ms. Short on
	// purpose: a queue that stands is overload, and the server sheds it
	// at once rather than answering everyone late.
	QueueWait time.Duration
	// BurstWait is how long a request may wait for a slot while the queue
	// is younger than that (it was empty within the last BurstWait): a
	// burst of arrivals or a pause of the server, which it catches up
	// with, is served late rather than refused. 0 means 50 ms; negative
	// turns it off, every wait being QueueWait. See admission.
	BurstWait time.Duration
	// RequestTimeout bounds the work of one request, its Redis calls
	// included (the store's clients honour the context's deadline), so
	// that while Redis hangs or crawls the API answers 503 with
	// Retry-After within it rather than after the socket timeouts and
	// retries of every call. It does not apply to the batch endpoints
	// (BatchTimeout) or the probes (/readyz has its own, the same). 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// BatchTimeout bounds a batch assignment and a customer erasure, which
	// make many Redis calls; 0 means DefaultBatchTimeout.
	BatchTimeout time.Duration
	// FailedAuthPerMinute is how many requests without a valid key one
	// client address (the connection's remote IP; an IPv6 /64) may make a
	// minute, a sliding window; past it they are answered 429 with
	// Retry-After instead of 401. A valid key always passes, whatever its
	// address did (see Server.refuse). 0 means 60; negative turns it off.
	FailedAuthPerMinute int
}

// Default deadlines. A request on a healthy Redis needs milliseconds;
// DefaultRequestTimeout leaves room for a slow CPU while keeping the
// promise that a client is answered (503 at worst) within a second.
const (
	DefaultRequestTimeout = 750 * time.Millisecond
	DefaultBatchTimeout   = 20 * time.Second
)

// Default waits for an in-flight slot (Limits.QueueWait, Limits.BurstWait).
const (
	DefaultQueueWait = 10 * time.Millisecond
	DefaultBurstWait = 50 * time.Millisecond
)

func (l *Limits) defaults() {
	if l.RatePerKey == 0 {
		l.RatePerKey = 200
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = 4 * runtime.GOMAXPROCS(0)
	}
	if l.QueueWait <= 0 {
		l.QueueWait = DefaultQueueWait
	}
	if l.BurstWait == 0 {
		l.BurstWait = DefaultBurstWait
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.BatchTimeout <= 0 {
		l.BatchTimeout = DefaultBatchTimeout
	}
	if l.FailedAuthPerMinute == 0 {
		l.FailedAuthPerMinute = 60
	}
}

// deadline bounds the request's context by d: the Redis calls made for it
// give up when d has passed, and the handler answers 503 with Retry-After
// (store errors on a context deadline are EUNAVAILABLE).
func deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// rateLimit limits each API key (never the client IP, which is spoofable
// behind proxies and shared behind NAT) to RatePerKey requests a second.
// The limiter and the semaphore are made once per server (newLimiters):
// chi applies a group's middleware to each route separately, so state made
// inside the middleware function would be per route.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.rate == nil {
		return next
	}
	return s.rate.Handler(next)
}

// newLimiters makes the server-wide rate limiters and in-flight semaphore.
func (s *Server) newLimiters() {
	s.admit = newAdmission(s.limits.MaxInFlight, s.limits.QueueWait, s.limits.BurstWait)
	s.admit.waited = func(d time.Duration) { s.metrics.queueWait.Observe(d.Seconds()) }
	if s.limits.FailedAuthPerMinute > 0 {
		// Counted by hand (authFailed, authBlocked): no headers of its own.
		s.authFails = httprate.NewRateLimiter(s.limits.FailedAuthPerMinute, time.Minute,
			httprate.WithResponseHeaders(httprate.ResponseHeaders{}))
	}
	if s.limits.RatePerKey < 0 {
		return
	}
	s.rate = httprate.NewRateLimiter(s.limits.RatePerKey, time.Second,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return principalFrom(r.Context()).KeyID, nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "more than %d requests a second with this key", s.limits.RatePerKey))
		}),
	)
}

// limitInFlight bounds concurrent requests (admission) and sheds the
// excess with 429.
func (s *Server) limitInFlight(next http.Handler) http.Handler {
	admit := s.admit
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !admit.acquire(r.Context()) {
			if r.Context().Err() != nil {
				return // the client is gone: nobody to answer
			}
			s.metrics.shed.Inc()
			s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "the server is at capacity; retry shortly"))
			return
		}
		defer admit.release()
		next.ServeHTTP(w, r)
	})
}

// clientAddr is the key of failed authentications: the connection's
// remote IP, as httprate.CanonicalizeIP reduces it (an IPv6 client holds
// a whole /64). Never X-Forwarded-For, which any client can write:
// behind a proxy, all its clients share the proxy's budget.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host)
}

// authBlocked reports whether r's address has used up its failed
// authentications, and if so for how many seconds more at least.
func (s *Server) authBlocked(r *http.Request) (bool, int) {
	if s.authFails == nil {
		return false, 0
	}
	_, rate, err := s.authFails.Status(clientAddr(r))
	if err != nil || rate < float64(s.limits.FailedAuthPerMinute) {
		return false, 0
	}
	// The rate slides down from the end of the current minute.
	now := time.Now()
	wait := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	return true, max(1, int(wait.Seconds()+0.999))
}

// authFailed counts a failed authentication of r's address.
func (s *Server) authFailed(r *http.Request) {
	if s.authFails != nil {
		s.authFails.OnLimit(discardHeaders{}, r, clientAddr(r))
	}
}

// discardHeaders is a ResponseWriter for the limiter's bookkeeping,
// which writes nothing to the client.
type discardHeaders struct{}

func (discardHeaders) Header() http.Header         { return http.Header{} }
func (discardHeaders) Write(p []byte) (int, error) { return len(p), nil }
func (discardHeaders) WriteHeader(int)             {}
