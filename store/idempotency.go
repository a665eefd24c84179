package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Idempotency record lifetimes.
const (
	// DefaultIdempotencyTTL is how long a finished answer is replayed when
	// BeginIdempotent is given no TTL.
	DefaultIdempotencyTTL = 24 * time.Hour
	// IdempotencyPendingTTL bounds the life of a pending record (capped by
	// the TTL given): a request that crashed between BeginIdempotent and
	// FinishIdempotent blocks its key for at most this long. Handlers must
	// finish well within it (their deadlines are seconds): a record that
	// expires while its request still runs lets a retry run concurrently.
	IdempotencyPendingTTL = 2 * time.Minute
	maxIdemKeyLen         = 255
)

// IdempotencyRecord is what is known of an Idempotency-Key: the fingerprint
// of the request that first used it and, once that request finished, its
// answer.
type IdempotencyRecord struct {
	// Fingerprint identifies the first request (e.g. a hash of its method,
	// path and body); a retry with another fingerprint is a client error.
	Fingerprint string
	// Pending is true while the first request is still being handled.
	Pending bool
	// Status and Body are the first request's answer, once finished.
	Status int
	Body   []byte
	// CreatedAt is when the first request began.
	CreatedAt time.Time
}

// idemRecord is the stored form of an IdempotencyRecord.
type idemRecord struct {
	Fingerprint string        `json:"fingerprint"`
	Pending     bool          `json:"pending"`
	Status      int           `json:"status,omitempty"`
	Body        []byte        `json:"body,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	TTL         time.Duration `json:"ttl"`
	// Token tells a BeginIdempotent its own record apart from another
	// request's, when go-redis retried the script after a lost reply.
	Token string `json:"token"`
}

func (r *idemRecord) public() *IdempotencyRecord {
	return &IdempotencyRecord{Fingerprint: r.Fingerprint, Pending: r.Pending, Status: r.Status, Body: r.Body, CreatedAt: r.CreatedAt}
}

// BeginIdempotent claims Idempotency-Key key in scope (e.g. the API key's
// id, so that clients cannot collide) for the request of fingerprint. If
// the key is new, it stores a pending record and returns it with fresh
// true: handle the request, then FinishIdempotent (or AbortIdempotent on a
// failure worth retrying). Otherwise it returns the existing record with
// fresh false, and the caller replays its answer, or answers 409 if the
// fingerprint differs or the record is still pending. The answer is kept
// for ttl after it is finished (zero means DefaultIdempotencyTTL).
// Concurrent calls with one key: exactly one is fresh.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string, ttl time.Duration) (rec *IdempotencyRecord, fresh bool, err error) {
	if err := checkIdemKey(scope, key); err != nil {
		return nil, false, fmt.Errorf("begin idempotency key: %w", err)
	}
	switch {
	case ttl < 0:
		return nil, false, fmt.Errorf("begin idempotency key: negative ttl %v", ttl)
	case ttl == 0:
		ttl = DefaultIdempotencyTTL
	}
	mine := idemRecord{Fingerprint: fingerprint, Pending: true, CreatedAt: s.now().UTC(), TTL: ttl, Token: newOpID()}
	data, err := json.Marshal(mine)
	if err != nil {
		return nil, false, fmt.Errorf("begin idempotency key: %w", err)
	}
	pending := min(ttl, IdempotencyPendingTTL)
	cur, err := s.scripts.idemBegin.Run(ctx, s.rdb, []string{idemKey(scope, key)}, data, pending.Milliseconds()).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return mine.public(), true, nil
	case err != nil:
		return nil, false, wrapErr("begin idempotency key", err)
	}
	var got idemRecord
	if err := json.Unmarshal([]byte(cur), &got); err != nil {
		return nil, false, fmt.Errorf("begin idempotency key: corrupt record: %w", err)
	}
	if got.Token == mine.Token {
		return mine.public(), true, nil // our own write; its reply was lost
	}
	return got.public(), false, nil
}

// FinishIdempotent stores the answer of the request that began key, to be
// replayed for the TTL given to BeginIdempotent. It fails with ENOTFOUND if
// the pending record is gone (expired or aborted) and with ECONFLICT if it
// was already finished.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key string, status int, body []byte) error {
	return s.endIdempotent(ctx, "finish idempotency key", scope, key, func(r *idemRecord) (*idemRecord, error) {
		if !r.Pending {
			return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "idempotency key already finished")
		}
		done := *r
		done.Pending, done.Status, done.Body = false, status, body
		return &done, nil
	})
}

// AbortIdempotent forgets the pending record of key so that the client may
// retry with the same key (the request failed without effect). A finished
// record or a missing one is left alone.
func (s *Store) AbortIdempotent(ctx context.Context, scope, key string) error {
	err := s.endIdempotent(ctx, "abort idempotency key", scope, key, func(r *idemRecord) (*idemRecord, error) {
		if !r.Pending {
			return r, nil
		}
		return nil, nil
	})
	if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
		return nil
	}
	return err
}

// endIdempotent replaces the record of key by next(record) (nil deletes it,
// the record itself leaves it alone) with a compare-and-set.
func (s *Store) endIdempotent(ctx context.Context, op, scope, key string, next func(*idemRecord) (*idemRecord, error)) error {
	if err := checkIdemKey(scope, key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	k := idemKey(scope, key)
	for range maxCASAttempts {
		cur, err := s.rdb.Get(ctx, k).Result()
		switch {
		case errors.Is(err, redis.Nil):
			return fmt.Errorf("%s: %w", op, notFound("idempotency key not found (expired or aborted)"))
		case err != nil:
			return wrapErr(op, err)
		}
		var r idemRecord
		if err := json.Unmarshal([]byte(cur), &r); err != nil {
			return fmt.Errorf("%s: corrupt record: %w", op, err)
		}
		n, err := next(&r)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if n == &r {
			return nil
		}
		var data []byte
		if n != nil {
			if data, err = json.Marshal(n); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
		ok, err := s.scripts.cas.Run(ctx, s.rdb, []string{k}, cur, data, r.TTL.Milliseconds()).Int64()
		if err != nil {
			return wrapErr(op, err)
		}
		if ok == 1 {
			return nil
		}
	}
	return fmt.Errorf("%s: %w", op, doorstep.Errorf(doorstep.ECONFLICT, "", "idempotency key is being changed concurrently"))
}

func checkIdemKey(scope, key string) error {
	switch {
	case key == "":
		return invalid("Idempotency-Key", "idempotency key is empty")
	case len(key) > maxIdemKeyLen:
		return invalid("Idempotency-Key", "idempotency key is longer than %d bytes", maxIdemKeyLen)
	case len(scope) > maxIdemKeyLen:
		return invalid("", "idempotency scope is longer than %d bytes", maxIdemKeyLen)
	}
	return nil
}
