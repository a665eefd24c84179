package store

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// embeddedExpiryInterval is how often the embedded server's TTLs are
// advanced: expiry is up to this late, which no TTL of this package
// (minutes to a day) notices.
const embeddedExpiryInterval = time.Second

// OpenEmbedded starts an in-process Redis (miniredis) on a loopback port
// and returns a Store connected to it through the same client, options and
// scripts as Open, so that Doorstep runs with no set-up. Nothing is
// persisted: Close, or the end of the process, loses every worker and
// booking. TTLs (idempotency records, operation markers) expire on the wall
// clock as on Redis, up to a second late.
//
// miniredis expires keys only when told to. Its ClockTTL option does that
// on every command, but each time it sorts every key of the server (as of
// v2.40), which makes each command cost O(n log n) in the number of keys:
// the contract suite ran several times slower with it, and a city's worth
// of bookings would make the embedded store unusable. A goroutine advances
// the TTLs once per embeddedExpiryInterval instead.
//
// Under contention the embedded server is slower than Redis per command,
// not per script: miniredis hands each command from a reader goroutine to
// a dispatcher goroutine, runs it under one global lock and flushes its
// reply with a write system call of its own, some 10-15 us a command on
// this project's 2-core machine against 2-3 us for redis-server, and it
// shares the process's CPUs with the API. Issue 9 (item 7) found 27 of 30
// concurrent bookings of one worker answered 503 here where redis-server
// answered 409: the candidate search sent one SMEMBERS per index cell,
// about 2,000 commands a round for a sparse fleet, up to four rounds a
// booking, and 30 such bookings queued seconds of work behind the lock (a
// 936-command pipeline took 10 ms alone and 460 ms with 29 others). It now
// sends one SUNION per region (WorkerIDsInCells), about 15 commands a
// booking. What remains is the CPU the embedded server takes from the API
// in the same process: on a machine already busy, 30 bookings at once may
// still exceed the request deadline, as they do on redis-server.
func OpenEmbedded(ctx context.Context) (*Store, error) {
	return openEmbedded(ctx, Config{})
}

// openEmbedded is OpenEmbedded with the client settings of cfg (its URL is
// the embedded server's).
func openEmbedded(ctx context.Context, cfg Config) (*Store, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	stop := expireEvery(m, embeddedExpiryInterval)
	fail := func(err error) (*Store, error) {
		stop()
		m.Close()
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	cfg.URL, cfg.Cluster = "redis://"+m.Addr(), false
	if err := cfg.validate(); err != nil {
		return fail(err)
	}
	client, err := cfg.client()
	if err != nil {
		return fail(err)
	}
	s := New(client)
	s.mini, s.stopExpiry = m, stop
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	return s, nil
}

// expireEvery advances m's TTLs by the wall-clock time elapsed, every
// interval, until the returned function is called.
func expireEvery(m *miniredis.Miniredis, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
