// Package dispatch holds Doorstep's use cases — quote, book, cancel,
// reschedule, series, batch, the management of workers and the
// re-planning of their bookings when the world changes (a profile change,
// an absence, a retirement, an overrun: Replanned) — each a short loop:
// load the pool of candidates from the Store, ask the pure decision core
// (matcher: ranking, plans that make room by moving bookings, unservable
// explanations, series plans, batch selection, re-plans of displaced
// bookings), apply the decision in one atomic store step, and retry when
// it loses a race. It also runs the Idempotency-Key protocol of
// a booking (BookOnce, with typed outcomes) and a customer's erasure
// (EraseCustomer). It knows nothing of HTTP: an answer to record is opaque
// bytes given by the caller.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
)

// Observer receives what the use cases measure. The api package implements
// it with Prometheus; a nil Observer in Config records nothing.
type Observer interface {
	// Matched records one matching pass over n candidates.
	Matched(class doorstep.Urgency, n int, d time.Duration)
	// Booked records a confirmed booking of class under its promise rule
	// (doorstep.Request.Rule).
	Booked(class doorstep.Urgency, rule string)
	// Unservable records a request no worker could serve within its class
	// and promise rule.
	Unservable(class doorstep.Urgency, rule string)
	// Conflict records a reservation that lost a race and was retried.
	Conflict()
	// Overtime records a booking placed to run d past the end of its
	// worker's shift, into the shift's urgent overtime
	// (doorstep.Shift.UrgentOvertimeMinutes): booked so, or moved there by
	// a rescue or a re-plan (a reschedule moves only normal bookings, which
	// never run over). It is what the overtime a contract allows is
	// costing: a booking placed into overtime twice counts twice, and one
	// moved out of it is not taken back.
	Overtime(d time.Duration)
	// Rescued records a request of class served by a plan that moved
	// moves bookings (matcher.PlanRescue).
	Rescued(class doorstep.Urgency, moves int)
	// Solved records the assignment solver's time for one batch.
	Solved(d time.Duration)
	// Replanned records the bookings a re-plan moved and newly marked at
	// risk, by cause (CauseProfile, CauseRetired, CauseAbsence,
	// CauseOverrun).
	Replanned(cause string, moved, atRisk int)
	// RescueShed records a request turned away because as many rescue
	// plans as Config.MaxRescues allows were being made.
	RescueShed()
	// RescueSearched records a rescue plan searched for a request of
	// class (matcher.PlanRescue), whether one was found, and how long the
	// request held its turn for it: reading the whole pool around the
	// request, then planning. A turn held long, and most searches finding
	// nothing, is a city whose days are full.
	RescueSearched(class doorstep.Urgency, found bool, held time.Duration)
}

type nopObserver struct{}

func (nopObserver) Matched(doorstep.Urgency, int, time.Duration)         {}
func (nopObserver) Booked(doorstep.Urgency, string)                      {}
func (nopObserver) Unservable(doorstep.Urgency, string)                  {}
func (nopObserver) Conflict()                                            {}
func (nopObserver) Rescued(doorstep.Urgency, int)                        {}
func (nopObserver) Solved(time.Duration)                                 {}
func (nopObserver) Replanned(string, int, int)                           {}
func (nopObserver) RescueShed()                                          {}
func (nopObserver) RescueSearched(doorstep.Urgency, bool, time.Duration) {}
func (nopObserver) Overtime(time.Duration)                               {}

// Config configures a Service. Store is required; every other zero field
// takes its documented default.
type Config struct {
	// Store holds the state (*store.Store on Redis).
	Store Store
	// Matcher ranks candidates; nil means matcher.New(matcher.Config{}).
	Matcher *matcher.Matcher
	// Catalogue of services; nil means doorstep.DefaultCatalogue().
	Catalogue doorstep.Catalogue
	// Now is the clock; nil means the wall clock in UTC, rounded up to the
	// second (so that every time the API answers is a whole second, and
	// never before the request).
	Now func() time.Time
	// NormalReachKm bounds the candidate search of normal requests;
	// 0 means matcher.DefaultNormalReachKm.
	NormalReachKm float64
	// WantCandidates is how many candidates that could serve the request
	// (matcher.CouldServe) the search widens for before it stops; 0 means
	// matcher.DefaultWant, as in the simulator.
	WantCandidates int
	// MaxAttempts bounds the rounds of load-match-reserve a booking makes
	// when its reservations keep losing races; 0 means 4.
	MaxAttempts int
	// Observer receives measurements; nil records nothing.
	Observer Observer
	// Horizon is how far ahead of the clock a window may end: an
	// appointment (a normal request with a window), a reschedule, a slot
	// offer, and the occurrences of a series placed now (the rest roll
	// forward); 0 means doorstep.DefaultHorizon (serve -horizon-days).
	Horizon time.Duration
	// MaxRescues bounds the rescue plans made at once: a quote or booking
	// nobody can serve directly reads the whole pool around it and plans
	// moves of bookings (matcher.PlanRescue), about 20 ms a plan on
	// 10,000 workers whose days are full (Observer.RescueSearched
	// reports each). 0 means half of runtime.GOMAXPROCS(0),
	// at least 1; -1 no bound. Beyond it a request waits for its turn
	// (RescueQueue, RescueWait) or gets ERATELIMITED (HTTP 429) at once,
	// so that those plans cannot take every CPU and every slot of the
	// server from the requests it can answer at once (bench/RESULTS.md,
	// "A busy city: a bound on rescue plans").
	MaxRescues int
	// RescueQueue is how many requests may wait for a rescue plan's turn
	// at once; one more gets ERATELIMITED without waiting. 0 means
	// MaxRescues (a plan's worth of waiting for each one made); -1 none
	// waits. A city that needs a plan now and then has the rare two at
	// once wait, instead of turning one away; one whose every booking
	// needs a plan turns the excess away at once, instead of holding a
	// slot of the server for each while it waits in vain
	// (bench/RESULTS.md, "Waiting for a rescue plan's turn").
	RescueQueue int
	// RescueWait is how long a request waits for a rescue plan's turn at
	// most; 0 means 250 ms.
	RescueWait time.Duration
}

func (c *Config) validate() error {
	if c.Store == nil {
		return errors.New("dispatch: config: store is required")
	}
	if c.Matcher == nil {
		m, err := matcher.New(matcher.Config{})
		if err != nil {
			return fmt.Errorf("dispatch: config: %w", err)
		}
		c.Matcher = m
	}
	if c.Catalogue == nil {
		c.Catalogue = doorstep.DefaultCatalogue()
	}
	if c.Now == nil {
		c.Now = wallClock
	}
	if c.NormalReachKm < 0 || c.NormalReachKm > 500 {
		return fmt.Errorf("dispatch: config: normal reach %v km out of [0, 500]", c.NormalReachKm)
	}
	if c.WantCandidates == 0 {
		c.WantCandidates = matcher.DefaultWant
	} else if c.WantCandidates < 1 || c.WantCandidates > 10000 {
		return fmt.Errorf("dispatch: config: want candidates %d out of [1, 10000]", c.WantCandidates)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 4
	} else if c.MaxAttempts < 1 || c.MaxAttempts > 20 {
		return fmt.Errorf("dispatch: config: max attempts %d out of [1, 20]", c.MaxAttempts)
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	switch {
	case c.MaxRescues == 0:
		c.MaxRescues = max(1, runtime.GOMAXPROCS(0)/2)
	case c.MaxRescues < -1:
		return fmt.Errorf("dispatch: config: max rescues %d: want -1 (no bound), 0 (half the CPUs) or more", c.MaxRescues)
	}
	switch {
	case c.RescueQueue == 0:
		c.RescueQueue = c.MaxRescues
	case c.RescueQueue < -1:
		return fmt.Errorf("dispatch: config: rescue queue %d: want -1 (none waits), 0 (as many as max rescues) or more", c.RescueQueue)
	}
	if c.RescueWait == 0 {
		c.RescueWait = 250 * time.Millisecond
	} else if c.RescueWait < 0 || c.RescueWait > time.Minute {
		return fmt.Errorf("dispatch: config: rescue wait %v out of (0, 1m]", c.RescueWait)
	}
	if c.Horizon == 0 {
		c.Horizon = doorstep.DefaultHorizon
	} else if c.Horizon < doorstep.NormalStart || c.Horizon > 400*24*time.Hour {
		return fmt.Errorf("dispatch: config: horizon %v out of [1, 400] days", c.Horizon)
	}
	return nil
}

func wallClock() time.Time {
	now := time.Now().UTC()
	if t := now.Truncate(time.Second); t.Before(now) {
		return t.Add(time.Second)
	}
	return now
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	cfg Config
	st  Store
	m   *matcher.Matcher
	// rescues holds a token for each rescue plan being made
	// (Config.MaxRescues; nil: no bound); waiting counts the requests
	// waiting for one (Config.RescueQueue).
	rescues chan struct{}
	waiting atomic.Int32
}

// New returns a Service for cfg.
func New(cfg Config) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, st: cfg.Store, m: cfg.Matcher}
	if cfg.MaxRescues > 0 {
		s.rescues = make(chan struct{}, cfg.MaxRescues)
	}
	return s, nil
}

// rescueTurn takes a rescue plan's turn (Config.MaxRescues), waiting for
// it at most Config.RescueWait when fewer than Config.RescueQueue wait
// already, and returns what ends it.
func (s *Service) rescueTurn(ctx context.Context) (func(), error) {
	if s.rescues == nil {
		return func() {}, nil
	}
	release := func() { <-s.rescues }
	select {
	case s.rescues <- struct{}{}:
		return release, nil
	default:
	}
	shed := func() error {
		s.cfg.Observer.RescueShed()
		return doorstep.Errorf(doorstep.ERATELIMITED, "",
			"no worker can take this request without moving bookings, and the server is making as many such plans as it may at once; retry shortly")
	}
	if s.waiting.Add(1) > int32(max(s.cfg.RescueQueue, 0)) { // -1: none waits
		s.waiting.Add(-1)
		return nil, shed()
	}
	defer s.waiting.Add(-1)
	t := time.NewTimer(s.cfg.RescueWait)
	defer t.Stop()
	select {
	case s.rescues <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, shed()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Catalogue returns the service catalogue in use.
func (s *Service) Catalogue() doorstep.Catalogue { return s.cfg.Catalogue }

// Now reads the service's clock.
func (s *Service) Now() time.Time { return s.cfg.Now() }

// Prepare resolves r against the catalogue, defaults requested_at to now and
// validates it. Every use case that takes a request calls it first.
func (s *Service) Prepare(r *doorstep.Request) error {
	now := s.cfg.Now()
	if r.RequestedAt.IsZero() {
		r.RequestedAt = now
	}
	if err := s.cfg.Catalogue.Resolve(r); err != nil {
		return err
	}
	return r.ValidateWithin(now, s.cfg.Horizon)
}

// Horizon is how far ahead of the clock a window may end (Config.Horizon).
func (s *Service) Horizon() time.Duration { return s.cfg.Horizon }
