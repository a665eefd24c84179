package events

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep/store"
)

// Config configures a Service. Store is required; every zero value is
// documented.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger // nil: slog.Default()
	// Poll is how often the relay looks at every region's outbox and the
	// deliverer at every webhook, beside the wake-ups of this process's
	// own changes; 0 means 200 ms. It bounds the latency of events
	// written by another server.
	Poll time.Duration
	// Gather is the least time between two passes of the relay woken by
	// this process's changes: a change after a quiet spell is relayed at
	// once, and those that follow within Gather wait for one pass, so
	// that the events of a stream of bookings are copied a batch at a
	// time: relaying each booking's event on its own cost five round
	// trips to Redis a booking, a tenth of the server's CPU at 500
	// bookings a second (bench/RESULTS.md, "Bookings at 500 a second").
	// Events then reach the tenants' streams up to that much later. 0
	// means 20 ms; negative: no wait.
	Gather time.Duration
	// Retention bounds the tenants' streams; TrimEvery is how often the
	// age bound is applied (0 means a minute).
	Retention store.EventRetention
	TrimEvery time.Duration
	// Webhooks configures the deliveries.
	Webhooks WebhookConfig
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// WebhookConfig configures webhook deliveries.
type WebhookConfig struct {
	URLPolicy
	// Timeout bounds one delivery attempt; 0 means 10 s.
	Timeout time.Duration
	// BackoffBase and BackoffMax shape the retries: the n-th failure in a
	// row waits a random time in [d/2, d], d = min(BackoffBase * 2^(n-1),
	// BackoffMax). 0 means 1 s and 1 h.
	BackoffBase, BackoffMax time.Duration
	// Concurrency bounds the webhooks delivered to at once by this server;
	// 0 means 8.
	Concurrency int
	// Batch bounds the events delivered to one webhook before the lease is
	// given up for others; 0 means 100.
	Batch int
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Poll <= 0 {
		c.Poll = 200 * time.Millisecond
	}
	if c.Gather == 0 {
		c.Gather = 20 * time.Millisecond
	}
	if c.TrimEvery <= 0 {
		c.TrimEvery = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	w := &c.Webhooks
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	if w.BackoffBase <= 0 {
		w.BackoffBase = time.Second
	}
	if w.BackoffMax <= 0 {
		w.BackoffMax = time.Hour
	}
	w.BackoffMax = max(w.BackoffMax, w.BackoffBase)
	if w.Concurrency <= 0 {
		w.Concurrency = 8
	}
	if w.Batch <= 0 {
		w.Batch = 100
	}
}

// Service relays events and delivers them to webhooks (Run), and wakes
// this process's readers (Hub).
type Service struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	holder string // this server's name in leases
	client *http.Client
	hub    Hub

	relayWake, deliverWake chan struct{}
	mu                     sync.Mutex
	dirty                  map[string]bool // regions with new events
	busy                   map[string]bool // webhooks being delivered by this server
}

// New returns a Service for cfg; call Run to start it.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("events: config: store is required")
	}
	cfg.defaults()
	var b [8]byte
	rand.Read(b[:])
	s := &Service{cfg: cfg, st: cfg.Store, log: cfg.Logger, holder: hex.EncodeToString(b[:]),
		relayWake: make(chan struct{}, 1), deliverWake: make(chan struct{}, 1),
		dirty: map[string]bool{}, busy: map[string]bool{}}
	s.client = &http.Client{
		Timeout:   cfg.Webhooks.Timeout,
		Transport: &http.Transport{DialContext: cfg.Webhooks.dialer(), MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
		// A redirect is a failure: following it could reach what the
		// URL policy refuses.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// Hub is the wake-up of this process's readers of tenants' streams.
func (s *Service) Hub() *Hub { return &s.hub }

// URLPolicy is where webhooks may point.
func (s *Service) URLPolicy() URLPolicy { return s.cfg.Webhooks.URLPolicy }

// Poll is the configured poll period (readers poll the store as often).
func (s *Service) Poll() time.Duration { return s.cfg.Poll }

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run relays, delivers and trims until ctx ends, then gives its leases
// up. It hooks itself to the store's changes (store.OnEvents) while it
// runs.
func (s *Service) Run(ctx context.Context) {
	s.st.OnEvents(func(region string) {
		s.mu.Lock()
		s.dirty[region] = true
		s.mu.Unlock()
		wake(s.relayWake)
	})
	defer s.st.OnEvents(nil)
	var wg sync.WaitGroup
	wg.Go(func() { s.relayLoop(ctx) })
	wg.Go(func() { s.deliverLoop(ctx) })
	wg.Go(func() { s.trimLoop(ctx) })
	wg.Wait()
}

// leaseTTL is how long a lease lasts unrenewed: a server that dies leaves
// its regions and webhooks to others after it.
func (s *Service) leaseTTL() time.Duration { return max(10*s.cfg.Poll, 5*time.Second) }

// relayLoop relays the regions' outboxes: the regions this process wrote
// to as it writes (at most one such pass every Gather), every region each
// Poll.
func (s *Service) relayLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	held := map[string]time.Time{} // when each lease held was last taken
	var last time.Time             // when the last pass began
	defer func() {
		for region := range held {
			s.release(ctx, store.OutboxLease(region))
		}
	}()
	for {
		var regions []string
		select {
		case <-ctx.Done():
			return
		case <-s.relayWake:
			if !sleep(ctx, s.cfg.Gather-time.Since(last)) {
				return
			}
			s.mu.Lock()
			for r := range s.dirty {
				regions = append(regions, r)
			}
			clear(s.dirty)
			s.mu.Unlock()
		case <-t.C:
			all, err := s.st.Regions(ctx)
			if err != nil {
				s.logErr(ctx, "list regions", err)
				continue
			}
			regions = all
		}
		last = time.Now()
		for _, region := range regions {
			if !s.holdLease(ctx, held, region) {
				continue
			}
			s.relay(ctx, region)
		}
	}
}

// holdLease takes or renews the relay's lease of region's outbox, and
// reports whether this server holds it; held records when each lease was
// last taken. A lease taken less than a third of its time ago is not
// renewed: a relay pass a booking asked a round trip more for it.
func (s *Service) holdLease(ctx context.Context, held map[string]time.Time, region string) bool {
	ttl := s.leaseTTL()
	if at, ok := held[region]; ok && time.Since(at) < ttl/3 {
		return true
	}
	at := time.Now()
	ok, err := s.st.Lease(ctx, store.OutboxLease(region), s.holder, ttl)
	if err != nil {
		s.logErr(ctx, "relay lease", err, "region", region)
		return false // held as before: released at the end if it was
	}
	if !ok {
		delete(held, region)
		return false
	}
	held[region] = at
	return true
}

// sleep waits d (none when d <= 0); false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// relayBatch bounds the events one RelayOutbox copies.
const relayBatch = 256

// relay copies region's outbox until it is empty, waking the tenants'
// readers and the deliverer.
func (s *Service) relay(ctx context.Context, region string) {
	for {
		tenants, more, err := s.st.RelayOutbox(ctx, region, relayBatch, s.cfg.Retention)
		if err != nil {
			s.logErr(ctx, "relay outbox", err, "region", region)
			return
		}
		for _, t := range tenants {
			s.hub.Notify(t)
		}
		if len(tenants) > 0 {
			wake(s.deliverWake)
		}
		// A batch short of full emptied the outbox as it was read: what
		// lands since wakes the loop again (OnEvents) or waits for its
		// poll, as before. Reading it again only to find it empty was a
		// third of a relay's round trips under a stream of bookings.
		if !more {
			return
		}
	}
}

// RelayNow relays every region's outbox once (whoever holds the leases):
// for tests and tools; Run does it on its own.
func (s *Service) RelayNow(ctx context.Context) error {
	regions, err := s.st.Regions(ctx)
	if err != nil {
		return err
	}
	for _, region := range regions {
		if _, _, err := s.st.RelayOutbox(ctx, region, relayBatch, s.cfg.Retention); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) trimLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.TrimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.st.TrimEvents(ctx, s.cfg.Retention, s.cfg.Now()); err != nil {
				s.logErr(ctx, "trim events", err)
			}
		}
	}
}

// deliverLoop starts a delivery for every webhook with pending events
// that is due and not being delivered by this server.
func (s *Service) deliverLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	sem := make(chan struct{}, s.cfg.Webhooks.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.deliverWake:
		case <-t.C:
		}
		ws, err := s.st.ListWebhooks(ctx, "")
		if err != nil {
			s.logErr(ctx, "list webhooks", err)
			continue
		}
		now := s.cfg.Now()
		for _, w := range ws {
			if w.Pending == 0 || w.NextAttempt.After(now) {
				continue
			}
			s.mu.Lock()
			busy := s.busy[w.ID]
			if !busy {
				s.busy[w.ID] = true
			}
			s.mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() {
					<-sem
					s.mu.Lock()
					delete(s.busy, w.ID)
					s.mu.Unlock()
				}()
				s.deliver(ctx, w.Tenant, w.ID)
			})
		}
	}
}

// deliver sends webhook id its pending events in order, one request each,
// under its lease, until one fails (then a retry is planned with backoff)
// or Batch are sent.
func (s *Service) deliver(ctx context.Context, tenant, id string) {
	lease := store.WebhookLease(tenant, id)
	ttl := s.cfg.Webhooks.Timeout + s.leaseTTL()
	if ok, err := s.st.Lease(ctx, lease, s.holder, ttl); err != nil || !ok {
		return // another server delivers it
	}
	defer s.release(ctx, lease)
	// Read under the lease: another server may have moved it on.
	w, err := s.st.GetWebhook(ctx, id)
	if err != nil {
		return
	}
	if w.NextAttempt.After(s.cfg.Now()) {
		return
	}
	for sent := 0; sent < s.cfg.Webhooks.Batch; {
		evs, err := s.st.ReadEvents(ctx, tenant, w.Cursor, int64(min(s.cfg.Webhooks.Batch-sent, 16)))
		if err != nil {
			s.logErr(ctx, "read events", err, "webhook", id)
			return
		}
		if len(evs) == 0 {
			return
		}
		for _, ev := range evs {
			if ok, err := s.st.Lease(ctx, lease, s.holder, ttl); err != nil || !ok {
				return
			}
			skipped := max(ev.Seq-w.Seq-1, 0) // dropped by retention
			status, why := s.post(ctx, w, ev)
			now := s.cfg.Now()
			if why != "" {
				w.Failures++
				next := now.Add(s.backoff(w.Failures))
				if _, err := s.st.WebhookFailed(ctx, w, s.holder, status, why, now, next); err != nil {
					s.logErr(ctx, "record webhook failure", err, "webhook", id)
				}
				return
			}
			ok, err := s.st.WebhookDelivered(ctx, w, s.holder, ev, skipped, now)
			if err != nil || !ok {
				return
			}
			w.Cursor, w.Seq, w.Failures = ev.ID, ev.Seq, 0
			sent++
		}
	}
	wake(s.deliverWake) // more to send: let the others' turn come first
}

// release gives a lease up, even once ctx is over (within a second), so
// that another server takes the work on at once rather than at its expiry.
func (s *Service) release(ctx context.Context, lease store.Lease) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	s.st.Release(rctx, lease, s.holder)
}

// backoff is the wait after the n-th failure in a row.
func (s *Service) backoff(n int64) time.Duration {
	c := s.cfg.Webhooks
	d := c.BackoffMax
	if n < 40 {
		d = min(c.BackoffBase<<(n-1), c.BackoffMax)
	}
	if d <= 0 { // overflow
		d = c.BackoffMax
	}
	return d/2 + mrand.N(d/2+1)
}

// maxErrLen bounds the error recorded for a failed attempt.
const maxErrLen = 200

// post sends ev to w: the HTTP status and, for a failure, why ("" for a
// 2xx).
func (s *Service) post(ctx context.Context, w *store.Webhook, ev store.Event) (int, string) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, "encode: " + err.Error()
	}
	ts := s.cfg.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, truncate("request: " + err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Doorstep-Webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.Secret, ts, body))
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderEventType, ev.Type)
	req.Header.Set(HeaderWebhookID, w.ID)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, truncate(err.Error())
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	return res.StatusCode, ""
}

func truncate(s string) string {
	if len(s) > maxErrLen {
		return s[:maxErrLen]
	}
	return s
}

func (s *Service) logErr(ctx context.Context, what string, err error, attrs ...any) {
	if ctx.Err() != nil {
		return
	}
	s.log.WarnContext(ctx, "events: "+what, append(attrs, "err", err)...)
}
