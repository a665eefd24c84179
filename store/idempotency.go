package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Idempotency record lifetimes.
const (
	// DefaultIdempotencyTTL is how long a record is kept (pending or
	// finished) when BeginIdempotent is given no TTL.
	DefaultIdempotencyTTL = 24 * time.Hour
	// DefaultIdempotencyLease is the lease of a request begun without a
	// deadline in its context and without IdemOptions.Lease.
	DefaultIdempotencyLease = 10 * time.Second
	// idemLeaseMargin is added to the request's deadline to make its lease:
	// it covers the clock differences of the servers that share the Redis.
	// (The protocol is safe whatever the clocks say; they only decide when a
	// retry stops waiting for the first request.)
	idemLeaseMargin = 100 * time.Millisecond
	maxIdemKeyLen   = 255
)

// ErrClaimLost reports that an idempotency claim was given up by a retry of
// its request (the request ran out of its lease): nothing may be booked
// under it any more. It has code ECONFLICT.
var ErrClaimLost = doorstep.Errorf(doorstep.ECONFLICT, "Idempotency-Key", "a retry with this Idempotency-Key took the request over")

// IdempotencyRecord is what is known of an Idempotency-Key: the fingerprint
// of the request that first used it and, once that request finished, its
// answer.
type IdempotencyRecord struct {
	// Fingerprint identifies the first request (e.g. a hash of its method,
	// path and body); a retry with another fingerprint is a client error.
	Fingerprint string
	// Pending is true while the first request is not finished.
	Pending bool
	// Status and Body are the first request's answer, once finished
	// (IdemAnswer): opaque to the store.
	Status int
	Body   []byte
	// AnswerBookings are the ids of the bookings the answer was made for
	// (IdemAnswer.Bookings), once finished.
	AnswerBookings []string
	// CreatedAt is when the first request began.
	CreatedAt time.Time
	// LeaseLeft is, for a pending record, how long its request may still
	// be running (the caller answers "in progress" and may say when to
	// retry). Zero for the others.
	LeaseLeft time.Duration
	// Booked lists, for a pending record whose request ran out of its lease
	// after it booked, the ids of the bookings it made (the first is the
	// booking, or the first occurrence of a series, or the urgent booking
	// of a rescue). The caller answers them and finishes the record with
	// Claim. Nil for the others.
	Booked []string
	// Claim is, for a fresh record, what to book under (WithClaim) and to
	// finish; for a record with Booked, what to finish. Nil otherwise.
	Claim *Claim
}

// IdemOptions are the options of BeginIdempotent.
type IdemOptions struct {
	// TTL is how long the record is kept, pending or finished; zero means
	// DefaultIdempotencyTTL.
	TTL time.Duration
	// Lease is how long the request may take; zero means until the
	// deadline of the context given to BeginIdempotent (plus a small
	// margin), or DefaultIdempotencyLease without one.
	Lease time.Duration
	// Region is where the request will most likely book (the region of its
	// location), recorded at once as the claim's first region so that the
	// common booking needs no extra round trip; empty records none.
	Region string
	// Customer, when set, is the request's customer of the key's scope
	// (the tenant): its last worker is read in the claim's own round trip
	// and served to LastWorker under the claim (WithClaim), rather than
	// read by a round trip of the booking's.
	Customer string
}

// idemRecord is the stored form of an IdempotencyRecord.
type idemRecord struct {
	Fingerprint string `json:"fingerprint"`
	Pending     bool   `json:"pending"`
	Status      int    `json:"status,omitempty"`
	Body        []byte `json:"body,omitempty"`
	// Bookings are the ids of the bookings the answer was made for: an
	// erasure of their customer deletes the record (EraseCustomer).
	Bookings  []string      `json:"bookings,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	TTL       time.Duration `json:"ttl"`
	// Token names the claim of the request that holds the record: the
	// bookings it makes are recorded under it, region by region, and a
	// retry that takes the record over gives it up first.
	Token string `json:"token"`
	// LeaseUntil is when the holding request stops booking (its deadline);
	// zero once it gave up (AbortIdempotent).
	LeaseUntil time.Time `json:"lease_until"`
	// Regions are where the holding request may have booked: recorded
	// before its first change in each (Claim.intend).
	Regions []string `json:"regions,omitempty"`
}

func (r *idemRecord) public(now time.Time) *IdempotencyRecord {
	rec := &IdempotencyRecord{Fingerprint: r.Fingerprint, Pending: r.Pending, Status: r.Status, Body: r.Body,
		AnswerBookings: r.Bookings, CreatedAt: r.CreatedAt}
	if r.Pending && r.LeaseUntil.After(now) {
		rec.LeaseLeft = r.LeaseUntil.Sub(now)
	}
	return rec
}

// Claim is the right of one request to book under an Idempotency-Key (see
// BeginIdempotent). Its methods are safe for concurrent use.
type Claim struct {
	scope, key, token string
	ttl               time.Duration

	mu      sync.Mutex
	regions []string // recorded in the record
	// tried is set once a change under the claim was sent to Redis.
	tried atomic.Bool
	// known is the record as this claim last wrote it (nil: not known):
	// a change under the claim compares with it first, and reads the
	// record only when another changed it since (endIdempotent). A
	// booking saves a round trip.
	known atomic.Pointer[string]
	// customer's last worker (of tenant scope), when read with the claim
	// (IdemOptions.Customer): hasLast.
	customer, last string
	hasLast        bool
	// fresh is the read of the change feed of the claim's region
	// (IdemOptions.Region) made in the claim's round trip, if the mirror
	// then held all of it (landFeedAhead).
	fresh freshRead
}

// claimCtxKey is the context key of WithClaim.
type claimCtxKey struct{}

// WithClaim returns ctx carrying claim c: every Apply that creates bookings
// under ctx is made under c (see Apply). A nil c returns ctx.
func WithClaim(ctx context.Context, c *Claim) context.Context {
	if c == nil {
		return ctx
	}
	// The feed read with the claim goes to the first search as a history's
	// does (freshFrom).
	return context.WithValue(context.WithValue(ctx, claimCtxKey{}, c), freshCtxKey{}, &c.fresh)
}

func claimFrom(ctx context.Context) *Claim {
	c, _ := ctx.Value(claimCtxKey{}).(*Claim)
	return c
}

// claimKey is where the changes under claim token record, in region, the
// bookings they created, or where a retry gave the claim up ("-").
func claimKey(region, token string) string { return regionTag(region) + "claim:" + token }

// BeginIdempotent claims Idempotency-Key key in scope (e.g. the API key's
// id, so that clients cannot collide) for the request of fingerprint.
//
// If the key is new, it stores a pending record and returns it with fresh
// true and a Claim: book under it (WithClaim), then FinishIdempotent, or
// AbortIdempotent on a failure. Otherwise it returns the existing record
// with fresh false: the caller replays a finished record's answer, answers
// a conflict if the fingerprint differs, answers "in progress" (LeaseLeft)
// while the first request may still be running, and answers the bookings
// listed in Booked (then finishes the record with its Claim).
//
// A pending record whose request ran out of its lease (its deadline, or
// AbortIdempotent) is resolved: in each region the request recorded before
// booking there, a script returns the bookings made under its claim, or,
// if there are none, gives the claim up there, so that a change still in
// flight is refused (Redis runs the scripts of one region one at a time:
// either the change ran first and is found, or it fails). When no region
// has a booking, the record is taken over (compare-and-set, so that
// concurrent retries agree) by this request with a fresh claim, which is
// then fresh, whatever the old fingerprint. A pending record whose lease
// ends soon, well before ctx's deadline, is waited for.
//
// Records, pending or finished, are kept for the TTL: a record is never
// forgotten while a booking made under it may be in flight. Concurrent
// calls with one key: at most one is fresh.
func (s *Store) BeginIdempotent(ctx context.Context, scope, key, fingerprint string, opt IdemOptions) (rec *IdempotencyRecord, fresh bool, err error) {
	if err := checkIdemKey(scope, key); err != nil {
		return nil, false, fmt.Errorf("begin idempotency key: %w", err)
	}
	switch {
	case opt.TTL < 0 || opt.Lease < 0:
		return nil, false, fmt.Errorf("begin idempotency key: negative ttl %v or lease %v", opt.TTL, opt.Lease)
	case opt.TTL == 0:
		opt.TTL = DefaultIdempotencyTTL
	}
	if opt.Region != "" && !validRegion(opt.Region) {
		return nil, false, fmt.Errorf("begin idempotency key: invalid region %q", opt.Region)
	}
	k := idemKey(scope, key)
	settled := false // waited once for an answer written behind
	for range maxCASAttempts {
		mine := s.newIdemRecord(ctx, fingerprint, opt)
		data, err := json.Marshal(mine)
		if err != nil {
			return nil, false, fmt.Errorf("begin idempotency key: %w", err)
		}
		cur, last, ahead, err := s.claimRecord(ctx, k, data, scope, opt)
		switch {
		case errors.Is(err, redis.Nil):
			rec := s.claimed(scope, key, mine, data)
			if last != nil {
				rec.Claim.customer, rec.Claim.last, rec.Claim.hasLast = opt.Customer, *last, true
			}
			if t := s.landFeedAhead(ahead); !t.IsZero() {
				rec.Claim.fresh.sent, rec.Claim.fresh.region = t, opt.Region
			}
			return rec, true, nil
		case err != nil:
			return nil, false, wrapErr("begin idempotency key", err)
		}
		if data, ok := s.pendingAnswer(k); ok {
			cur = string(data) // answered, written behind
		}
		var got idemRecord
		if err := json.Unmarshal([]byte(cur), &got); err != nil {
			return nil, false, fmt.Errorf("begin idempotency key: corrupt record: %w", err)
		}
		now := s.now()
		switch {
		case got.Token == mine.Token:
			return s.claimed(scope, key, mine, data), true, nil // our own write; its reply was lost
		case !got.Pending:
			return got.public(now), false, nil
		case got.LeaseUntil.After(now) && !settled && got.Fingerprint == fingerprint:
			// Its answer may be on its way (FinishIdempotentBehind).
			settled = true
			if err := sleep(ctx, min(got.LeaseUntil.Sub(now), s.settleFor())); err != nil {
				return nil, false, wrapErr("begin idempotency key", err)
			}
			continue
		case got.LeaseUntil.After(now):
			left := got.LeaseUntil.Sub(now)
			if dl, ok := ctx.Deadline(); got.Fingerprint != fingerprint || ok && dl.Sub(now) < 2*left {
				return got.public(now), false, nil
			}
			if err := sleep(ctx, left); err != nil {
				return nil, false, wrapErr("begin idempotency key", err)
			}
			continue
		}
		booked, err := s.resolveClaim(ctx, &got)
		if err != nil {
			return nil, false, fmt.Errorf("begin idempotency key: %w", err)
		}
		if len(booked) > 0 {
			rec := got.public(now)
			rec.Booked = booked
			rec.Claim = &Claim{scope: scope, key: key, token: got.Token, ttl: got.TTL, regions: got.Regions}
			return rec, false, nil
		}
		// Nothing was booked, and now nothing can be: take the key over.
		ok, err := s.runDurable(ctx, s.scripts.cas, []string{k}, cur, data, opt.TTL.Milliseconds()).Int64()
		if err != nil {
			return nil, false, wrapErr("begin idempotency key", err)
		}
		if ok == 1 {
			return s.claimed(scope, key, mine, data), true, nil
		}
	}
	return nil, false, fmt.Errorf("begin idempotency key: %w", doorstep.Errorf(doorstep.ECONFLICT, "", "idempotency key is being changed concurrently"))
}

// newIdemRecord is the pending record of a request beginning now under ctx.
func (s *Store) newIdemRecord(ctx context.Context, fingerprint string, opt IdemOptions) *idemRecord {
	now := s.now()
	lease := now.Add(DefaultIdempotencyLease)
	switch dl, ok := ctx.Deadline(); {
	case opt.Lease > 0:
		lease = now.Add(opt.Lease)
	case ok:
		lease = dl.Add(idemLeaseMargin)
	}
	r := &idemRecord{Fingerprint: fingerprint, Pending: true, CreatedAt: now.UTC(), TTL: opt.TTL, Token: newOpID(), LeaseUntil: lease.UTC()}
	if opt.Region != "" {
		r.Regions = []string{opt.Region}
	}
	return r
}

// claimed is the answer of BeginIdempotent for a fresh record r.
func (s *Store) claimed(scope, key string, r *idemRecord, data []byte) *IdempotencyRecord {
	rec := r.public(s.now())
	rec.Claim = &Claim{scope: scope, key: key, token: r.Token, ttl: r.TTL, regions: slices.Clone(r.Regions)}
	known := string(data)
	rec.Claim.known.Store(&known)
	return rec
}

// resolveClaim runs resolve.lua in every region of r: it returns the ids
// of the bookings made under r's claim, or gives the claim up everywhere
// and returns none.
func (s *Store) resolveClaim(ctx context.Context, r *idemRecord) ([]string, error) {
	for _, region := range r.Regions {
		if !validRegion(region) {
			return nil, fmt.Errorf("corrupt record: region %q", region)
		}
		ids, err := s.runDurable(ctx, s.scripts.resolve, []string{claimKey(region, r.Token)}, r.TTL.Milliseconds()).Text()
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			return nil, wrapErr("resolve idempotency claim in region "+region, err)
		}
		return strings.Split(ids, ","), nil
	}
	return nil, nil
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// intend records region in c's record before c's first change there, so
// that a retry knows where to resolve c. It fails with ErrClaimLost if a
// retry took the record over.
func (s *Store) intend(ctx context.Context, c *Claim, region string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(c.regions, region) {
		return nil
	}
	err := s.endIdempotent(ctx, "record idempotency intent", c, func(r *idemRecord) (*idemRecord, error) {
		if !r.Pending || r.Token != c.token {
			return nil, ErrClaimLost
		}
		if slices.Contains(r.Regions, region) {
			return r, nil
		}
		next := *r
		next.Regions = append(slices.Clip(r.Regions), region)
		return &next, nil
	})
	if err != nil {
		return err
	}
	c.regions = append(c.regions, region)
	return nil
}

// IdemAnswer is the answer of a request made under an Idempotency-Key, as
// FinishIdempotent records it. Status and Body are the caller's encoding,
// which the store keeps as they are and never reads; Bookings names the
// bookings the answer was made for, so that erasing their customer
// (EraseCustomer) deletes the answer without parsing it.
type IdemAnswer struct {
	Status   int
	Body     []byte
	Bookings []string
}

// FinishIdempotent stores the answer of the request that holds claim c, to
// be replayed for the record's TTL. It fails with ENOTFOUND if the record
// is gone, with ECONFLICT if it was already finished, and with ErrClaimLost
// if a retry took it over.
func (s *Store) FinishIdempotent(ctx context.Context, c *Claim, a IdemAnswer) error {
	return s.endIdempotent(ctx, "finish idempotency key", c, finished(c, a))
}

// finished is the change of FinishIdempotent: the record of claim c,
// answered a.
func finished(c *Claim, a IdemAnswer) func(r *idemRecord) (*idemRecord, error) {
	return func(r *idemRecord) (*idemRecord, error) {
		switch {
		case !r.Pending:
			return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "idempotency key already finished")
		case r.Token != c.token:
			return nil, ErrClaimLost
		}
		done := *r
		done.Pending, done.Status, done.Body, done.Bookings = false, a.Status, a.Body, a.Bookings
		return &done, nil
	}
}

// FinishIdempotentBehind is FinishIdempotent written behind the request
// (behind.go): the answer lands with the other writes of the next
// behindDelay, one pipeline for them all, rather than in a round trip of
// the request's own. Until then this process answers a retry from it at
// once (BeginIdempotent), and another process's retry that finds the
// record pending waits a moment for it (answerSettle) before it answers
// "in progress". An answer that cannot land as written (the record
// changed since the claim wrote it) is finished as FinishIdempotent
// would, in the writer; one that fails is lost and counted, and a retry
// after the request's lease recovers it from the bookings, as after a
// crash. With replicas to wait for, or after Close, it is
// FinishIdempotent.
func (s *Store) FinishIdempotentBehind(ctx context.Context, c *Claim, a IdemAnswer) error {
	if c == nil || s.wait.replicas > 0 {
		return s.FinishIdempotent(ctx, c, a)
	}
	known := c.known.Load()
	if known == nil {
		return s.FinishIdempotent(ctx, c, a)
	}
	var r idemRecord
	if err := json.Unmarshal([]byte(*known), &r); err != nil {
		return s.FinishIdempotent(ctx, c, a)
	}
	n, err := finished(c, a)(&r)
	if err != nil {
		return s.FinishIdempotent(ctx, c, a)
	}
	data, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("finish idempotency key: %w", err)
	}
	f := pendingFinish{key: idemKey(c.scope, c.key), cur: *known, data: data, ttl: r.TTL, c: c, a: a}
	if !s.writeBehind(func(b *behind) {
		b.finishes = append(b.finishes, f)
		if b.answers == nil {
			b.answers = map[string][]byte{}
		}
		b.answers[f.key] = data
	}) {
		return s.FinishIdempotent(ctx, c, a)
	}
	return nil
}

// AbortIdempotent gives claim c up: its request failed and books nothing
// more. If no change was ever sent under c, the record is deleted (the key
// is free again, for any body). Otherwise a change may still be in flight
// (a reply lost, a retry of go-redis overtaken by the first attempt), so
// the record stays and only its lease ends at once: a retry with the key
// need not wait for the request's deadline, and still resolves the claim
// before booking anew. A finished record, another request's, or a missing
// one is left alone.
func (s *Store) AbortIdempotent(ctx context.Context, c *Claim) error {
	err := s.endIdempotent(ctx, "abort idempotency key", c, func(r *idemRecord) (*idemRecord, error) {
		switch {
		case !r.Pending || r.Token != c.token:
			return r, nil
		case !c.tried.Load():
			return nil, nil
		case r.LeaseUntil.IsZero():
			return r, nil
		}
		next := *r
		next.LeaseUntil = time.Time{}
		return &next, nil
	})
	if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
		return nil
	}
	return err
}

// endIdempotent replaces the record of c's key by next(record) (nil deletes
// it, the record itself leaves it alone) with a compare-and-set: first
// against the record as c last wrote it, when known, then as read.
func (s *Store) endIdempotent(ctx context.Context, op string, c *Claim, next func(*idemRecord) (*idemRecord, error)) error {
	if c == nil {
		return fmt.Errorf("%s: nil claim", op)
	}
	k := idemKey(c.scope, c.key)
	if known := c.known.Load(); known != nil {
		// Only a change decided on it is made: an error, or leaving the
		// record alone, is decided on the record as it is, read below.
		if done, err := s.casIdem(ctx, op, c, k, *known, next, true); done {
			return err
		}
	}
	for range maxCASAttempts {
		cur, err := s.rdb.Get(ctx, k).Result()
		switch {
		case errors.Is(err, redis.Nil):
			return fmt.Errorf("%s: %w", op, notFound("idempotency key not found (expired)"))
		case err != nil:
			return wrapErr(op, err)
		}
		if done, err := s.casIdem(ctx, op, c, k, cur, next, false); done {
			return err
		}
	}
	return fmt.Errorf("%s: %w", op, doorstep.Errorf(doorstep.ECONFLICT, "", "idempotency key is being changed concurrently"))
}

// casIdem replaces record cur of key k by next(cur) if k still holds cur:
// done when that is decided (replaced, left alone, or an error), not
// when another changed k first. With onlyChange, an error or leaving the
// record alone is not done either: cur may be what c last wrote, not
// what k holds.
func (s *Store) casIdem(ctx context.Context, op string, c *Claim, k, cur string, next func(*idemRecord) (*idemRecord, error), onlyChange bool) (bool, error) {
	var r idemRecord
	if err := json.Unmarshal([]byte(cur), &r); err != nil {
		return !onlyChange, fmt.Errorf("%s: corrupt record: %w", op, err)
	}
	n, err := next(&r)
	switch {
	case onlyChange && (err != nil || n == &r):
		return false, nil
	case err != nil:
		return true, fmt.Errorf("%s: %w", op, err)
	case n == &r:
		return true, nil
	}
	var data []byte
	if n != nil {
		if data, err = json.Marshal(n); err != nil {
			return true, fmt.Errorf("%s: %w", op, err)
		}
	}
	ok, err := s.runDurable(ctx, s.scripts.cas, []string{k}, cur, data, r.TTL.Milliseconds()).Int64()
	if err != nil {
		return true, wrapErr(op, err)
	}
	if ok != 1 {
		c.known.Store(nil)
		return false, nil
	}
	if n == nil {
		c.known.Store(nil)
	} else {
		known := string(data)
		c.known.Store(&known)
	}
	return true, nil
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

// claimRecord stores data at key k for ttl unless k holds a record, and
// returns that record (redis.Nil when it stored data). On Redis 7 and
// later it is one SET NX GET: the script it replaces (idem_begin.lua,
// the same two steps) cost Redis some 35 µs a booking, most of it the
// script call itself. An older Redis refuses NX with GET as a syntax
// error: the store then keeps to the script. With WaitReplicas the
// script's pipeline with WAIT (runDurable) is kept. With a customer of
// tenant, the customer's last worker is read in the same pipeline
// (last; nil when not read), and so is the change feed of the request's
// region when the mirror follows it (ahead, for landFeedAhead; nil when
// not read).
func (s *Store) claimRecord(ctx context.Context, k string, data []byte, tenant string, opt IdemOptions) (cur string, last *string, ahead *feedAhead, err error) {
	if s.wait.replicas <= 0 && !s.noSetNXGet.Load() {
		var set *redis.StatusCmd
		var get *redis.StringCmd
		// The pipeline's error is its first command's that failed: each
		// command's own is read below.
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			set = p.SetArgs(ctx, k, data, redis.SetArgs{Mode: "NX", TTL: opt.TTL, Get: true})
			if opt.Customer != "" && checkCustomer(tenant, opt.Customer) == nil {
				get = p.Get(ctx, customerLastKey(tenant, opt.Customer))
			}
			ahead = s.readFeedAhead(ctx, p, opt.Region)
			return nil
		})
		if !isSyntaxError(set.Err()) {
			if get != nil && (get.Err() == nil || errors.Is(get.Err(), redis.Nil)) {
				v := get.Val()
				last = &v
			}
			return set.Val(), last, ahead, set.Err()
		}
		s.noSetNXGet.Store(true)
	}
	cur, err = s.runDurable(ctx, s.scripts.idemBegin, []string{k}, data, opt.TTL.Milliseconds()).Text()
	return cur, nil, nil, err
}

// isSyntaxError reports whether err is Redis refusing a command's
// arguments (as a Redis before 7.0 refuses SET NX GET).
func isSyntaxError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "ERR syntax error")
}
