package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// The epoch marker tells a store that still holds Doorstep's data from one
// that lost it. A Redis that restarts without persistence, is flushed
// (FLUSHALL), or is swapped for another server answers every command as if
// nothing had happened: confirmed bookings answer 404 and new ones are
// booked into an empty timeline, over the lost ones. The first server to
// start on a store writes a marker, dst:epoch, holding a random id and the
// time it was made (SET NX, so that servers starting together agree on
// one); every server remembers the id it found and checks that the marker
// is still there (EpochGuard). An absent or different marker means that
// the keyspace is not the one the server started on.
//
// The marker is one key: on Redis Cluster it lives on the master of its
// slot, so it reveals the loss of that master's data (or of the whole
// cluster's), not the loss of another master only.
const epochKey = "dst:epoch"

// DefaultEpochInterval is how often EpochGuard.Run checks the marker: a
// reset is refused (and /readyz fails) within about this long.
const DefaultEpochInterval = 250 * time.Millisecond

// Epoch is one life of a store: the marker's id and when it was made.
type Epoch struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// ErrStoreReset is matched (with errors.Is) by every error reporting that
// the store's epoch marker is absent or not the expected one.
var ErrStoreReset = errors.New("store: reset or replaced")

// ResetError says which epoch was expected and what was found instead.
// It matches ErrStoreReset and unwraps to a *doorstep.Error with code
// ESTORERESET.
type ResetError struct {
	Expected string // the epoch id the server runs on
	Found    string // the id found in the store; "" when there is none
}

// found is Found for people: "none" or the id.
func (e *ResetError) found() string {
	if e.Found == "" {
		return "none"
	}
	return e.Found
}

// Error implements the error interface.
func (e *ResetError) Error() string {
	return fmt.Sprintf("the Redis store was reset or replaced: epoch %s expected, found %s", e.Expected, e.found())
}

// Is reports whether target is ErrStoreReset.
func (e *ResetError) Is(target error) bool { return target == ErrStoreReset }

// Unwrap returns the application error the API answers with.
func (e *ResetError) Unwrap() error {
	return doorstep.Errorf(doorstep.ESTORERESET, "",
		"the state store was reset or replaced (epoch %s expected, found %s): bookings and workers are refused until its data is restored or an operator restarts the server", e.Expected, e.found())
}

// NewEpoch returns a fresh epoch made at now: 16 random bytes in hex.
func NewEpoch(now time.Time) Epoch {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return Epoch{ID: fmt.Sprintf("%x", b), Created: now.UTC().Truncate(time.Second)}
}

// EnsureEpoch returns the store's epoch. With pin empty, a store without a
// marker gets one (SET NX: of servers starting together on an empty store,
// one writes it and all adopt it) and created reports whether this call
// wrote it. With pin set the marker is never written: EnsureEpoch returns
// the pinned epoch and, when the store holds none or another, a
// *ResetError as well.
func (s *Store) EnsureEpoch(ctx context.Context, pin string) (e Epoch, created bool, err error) {
	if pin != "" {
		cur, err := s.readEpoch(ctx)
		switch {
		case err != nil:
			return Epoch{}, false, err
		case cur.ID != pin:
			return Epoch{ID: pin}, false, &ResetError{Expected: pin, Found: cur.ID}
		}
		return cur, false, nil
	}
	fresh := NewEpoch(s.now())
	data, err := json.Marshal(fresh)
	if err != nil {
		return Epoch{}, false, fmt.Errorf("write store epoch: %w", err)
	}
	ok, err := s.rdb.SetNX(ctx, epochKey, data, 0).Result()
	if err != nil {
		return Epoch{}, false, wrapErr("write store epoch", err)
	}
	if ok {
		return fresh, true, nil
	}
	cur, err := s.readEpoch(ctx)
	if err == nil && cur.ID == "" {
		// Deleted between SET NX and GET: only a reset does that.
		err = &ResetError{Expected: fresh.ID}
	}
	return cur, false, err
}

// CheckEpoch returns nil when the store's marker is epoch id, a
// *ResetError when it is absent or another, and an error of Redis when it
// cannot be read.
func (s *Store) CheckEpoch(ctx context.Context, id string) error {
	cur, err := s.readEpoch(ctx)
	if err != nil {
		return err
	}
	if cur.ID != id {
		return &ResetError{Expected: id, Found: cur.ID}
	}
	return nil
}

// readEpoch reads the marker; the zero Epoch when there is none. A marker
// that is not Doorstep's JSON is reported by its raw value as its id, so
// that it never matches.
func (s *Store) readEpoch(ctx context.Context) (Epoch, error) {
	raw, err := s.rdb.Get(ctx, epochKey).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return Epoch{}, nil
	case err != nil:
		return Epoch{}, wrapErr("read store epoch", err)
	}
	var e Epoch
	if json.Unmarshal([]byte(raw), &e) != nil || e.ID == "" {
		return Epoch{ID: raw}, nil
	}
	return e, nil
}

// EpochGuard watches a store's epoch marker: it remembers the epoch the
// server runs on and whether the store still holds it. Err is cheap (no
// Redis call) so that every request may consult it; Check and Run read the
// marker. The first check that finds the marker absent or changed logs an
// error saying so; the first that finds it back logs the recovery. Its
// methods are safe for concurrent use.
type EpochGuard struct {
	st   *Store
	want string
	log  *slog.Logger

	mu    sync.Mutex // serialises state changes and their log lines
	reset atomic.Pointer[ResetError]
	since time.Time // when reset was first seen
}

// NewEpochGuard returns a guard of st's epoch want (EnsureEpoch's), in
// the state startErr says: nil, or the *ResetError EnsureEpoch returned,
// which is logged. log nil means slog.Default().
func NewEpochGuard(st *Store, want string, startErr error, log *slog.Logger) *EpochGuard {
	if log == nil {
		log = slog.Default()
	}
	g := &EpochGuard{st: st, want: want, log: log}
	g.update(startErr)
	return g
}

// Epoch returns the id of the epoch the guard expects.
func (g *EpochGuard) Epoch() string { return g.want }

// Err returns the *ResetError of the last check that found the marker
// absent or changed, or nil when the last check found it (or none was
// made). An unreachable Redis does not change it.
func (g *EpochGuard) Err() error {
	if e := g.reset.Load(); e != nil {
		return e
	}
	return nil
}

// Check reads the marker now and updates the guard. It returns the
// guard's state afterwards (nil or a *ResetError), or the error of Redis
// when the marker could not be read (the state then stays as it was).
func (g *EpochGuard) Check(ctx context.Context) error {
	err := g.st.CheckEpoch(ctx, g.want)
	if err != nil && !errors.Is(err, ErrStoreReset) {
		return err
	}
	g.update(err)
	return g.Err()
}

// update sets the state to err (nil or a *ResetError), logging changes.
func (g *EpochGuard) update(err error) {
	var re *ResetError
	if !errors.As(err, &re) {
		re = nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.reset.Load()
	switch {
	case re != nil && (old == nil || *old != *re):
		if old == nil {
			g.since = time.Now()
		}
		g.reset.Store(re)
		g.log.Error(re.Error()+"; refusing bookings and workers (503 store_reset) and failing /readyz until the marker comes back or an operator restarts the server",
			"component", "store", "epoch_expected", re.Expected, "epoch_found", re.found())
	case re == nil && old != nil:
		g.reset.Store(nil)
		g.log.Info("the Redis store holds its epoch again: serving bookings", "component", "store",
			"epoch", g.want, "refused_for", time.Since(g.since).Round(time.Millisecond).String())
	}
}

// Run checks the marker every interval (DefaultEpochInterval when zero or
// less) until ctx ends. Errors of Redis are left to the requests and the
// readiness probe, which report them.
func (g *EpochGuard) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultEpochInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, interval)
		_ = g.Check(cctx)
		cancel()
	}
}
