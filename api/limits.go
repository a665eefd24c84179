package api

import (
	"net/http"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/go-chi/httprate"
)

// Limits protect the server from overload. The zero value takes defaults.
type Limits struct {
	// RatePerKey is how many requests a second one API key may make;
	// 0 means 200, negative turns rate limiting off.
	RatePerKey int
	// MaxInFlight bounds requests being served at once; 0 means 64.
	// Beyond it requests wait at most QueueWait, then get 429.
	MaxInFlight int
	// QueueWait is how long a request may wait for a slot; 0 means 50 ms.
	// Short on purpose: under overload the server sheds load at once
	// rather than queueing it (and answering everyone late).
	QueueWait time.Duration
}

func (l *Limits) defaults() {
	if l.RatePerKey == 0 {
		l.RatePerKey = 200
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = 64
	}
	if l.QueueWait <= 0 {
		l.QueueWait = 50 * time.Millisecond
	}
}

// rateLimit limits each API key (never the client IP, which is spoofable
// behind proxies and shared behind NAT) to RatePerKey requests a second.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limits.RatePerKey < 0 {
		return next
	}
	return httprate.Limit(s.limits.RatePerKey, time.Second,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return principalFrom(r.Context()).KeyID, nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "more than %d requests a second with this key", s.limits.RatePerKey))
		}),
	)(next)
}

// limitInFlight bounds concurrent requests and sheds the excess with 429.
func (s *Server) limitInFlight(next http.Handler) http.Handler {
	sem := make(chan struct{}, s.limits.MaxInFlight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
		default:
			t := time.NewTimer(s.limits.QueueWait)
			select {
			case sem <- struct{}{}:
				t.Stop()
			case <-t.C:
				s.metrics.shed.Inc()
				s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "the server is at capacity; retry shortly"))
				return
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		defer func() { <-sem }()
		next.ServeHTTP(w, r)
	})
}
