package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
)

// claimParallel bounds the claims of one batch's requests begun or ended
// at once: each is a round trip.
const claimParallel = 16

// BatchKey names a committed batch made under an Idempotency-Key.
type BatchKey struct {
	// Scope is whose key it is (the API key's id); it is also the owner
	// the batch books as and reads earlier bookings as.
	Scope string
	// Key is the Idempotency-Key itself.
	Key string
	// Fingerprint identifies what the batch means; a retry with another
	// fingerprint is refused (OnceKeyReused).
	Fingerprint string
	// TTL is how long the answers are kept; zero means
	// store.DefaultIdempotencyTTL.
	TTL time.Duration
}

// claimKey is the Idempotency-Key derived from k.Key under which the
// batch's request id is claimed: one per request, so that what one request
// booked is found, and answered again, whatever became of the others. The
// batch itself (id "", which no request has) is claimed under its own: its
// first call holds it while it runs, so that a retry meanwhile is told to
// wait rather than splitting the requests with it, and the finished record
// keeps the batch's fingerprint.
func (k *BatchKey) claimKey(id string) string {
	sum := sha256.Sum256([]byte(k.Key + "\x00" + id))
	return "assign:" + hex.EncodeToString(sum[:])
}

// BatchOnce is the outcome of AssignOnce.
type BatchOnce struct {
	// Kind is OnceFresh when some request ran now, OnceReplay when an
	// earlier call with the key placed every one (its answers recorded or
	// recovered), OnceInProgress while an
	// earlier call may still hold one of them, and OnceKeyReused when the
	// key was used with another batch.
	Kind OnceKind
	// Outcome is, for OnceFresh and OnceReplay, the batch's answer. Its
	// placements include those an earlier call made whose answers were
	// never recorded (Placement.Earlier); its Objective, Solve, Rounds and
	// Optimal are this call's, of the requests that ran now; ServedBound
	// and UrgentBound count the earlier placements too.
	Outcome *BatchOutcome
	// Earlier are the recorded answers of the requests an earlier call
	// with the key placed, in the caller's encoding (encode), in the
	// batch's order.
	Earlier []Answer
	// RetryAfter is, for OnceInProgress, how long the earlier call may
	// still be running.
	RetryAfter time.Duration
	// Unrecorded is set when an answer could not be recorded (or a claim
	// not released): the outcome stands all the same, and a retry
	// recovers it from the store. Callers log it.
	Unrecorded error
}

// claimed is one request's claim of a batch under a key.
type claimed struct {
	rec   *store.IdempotencyRecord
	fresh bool
	err   error
}

// AssignOnce commits a batch (Assign with commit) at most once per key:
// each request is claimed under its own key, derived from k.Key and its
// id, with the protocol of a booking's (BookOnce). A retry with the same
// batch gives every request an earlier call placed the same placement
// (its recorded answer, or, when the earlier call ended before recording
// it, the booking as it stands now: Placement.Earlier), and books the
// others afresh: a request an earlier call left unplaced (its claim
// released) is tried again. No request is ever booked twice.
//
// The batch itself is claimed first, under a key derived from k.Key
// alone: while an earlier call still holds it, or holds one of the
// requests, nothing runs (OnceInProgress) and no claim is kept; a call
// with another batch under the key is refused (OnceKeyReused). Retries
// after the first call run without the batch's claim: the requests' own
// claims keep each booked at most once.
//
// encode turns a placement into the answer recorded for its request; it
// is given the placements of the requests that ran now and of those
// recovered.
func (s *Service) AssignOnce(ctx context.Context, reqs []doorstep.Request, k BatchKey, encode func(*Placement) Answer) (*BatchOnce, error) {
	if err := s.checkBatch(reqs); err != nil {
		return nil, err
	}
	lock, fresh, err := s.st.BeginIdempotent(ctx, k.Scope, k.claimKey(""), k.Fingerprint, store.IdemOptions{TTL: k.TTL})
	switch {
	case err != nil:
		return nil, err
	case !fresh && lock.Fingerprint != k.Fingerprint:
		return &BatchOnce{Kind: OnceKeyReused}, nil
	case !fresh && lock.Pending:
		return &BatchOnce{Kind: OnceInProgress, RetryAfter: lock.LeaseLeft}, nil
	}
	// Fresh: this is the batch's first call (or the first after one that
	// died); else a retry, run without the batch's claim: the requests'
	// own claims still book each at most once, and a retry racing another
	// is told to wait (OnceInProgress).
	once, err := s.assignOnce(ctx, reqs, &k, encode)
	if fresh {
		fctx, cancel := FollowUp(ctx)
		defer cancel()
		var end error
		if err == nil && once.Kind != OnceKeyReused {
			end = s.st.FinishIdempotentBehind(fctx, lock.Claim, store.IdemAnswer{Status: 200})
		} else {
			end = s.st.AbortIdempotent(fctx, lock.Claim)
		}
		if once != nil {
			once.Unrecorded = errors.Join(once.Unrecorded, end)
		}
	}
	return once, err
}

// assignOnce is AssignOnce after the batch's own claim.
func (s *Service) assignOnce(ctx context.Context, reqs []doorstep.Request, k *BatchKey, encode func(*Placement) Answer) (*BatchOnce, error) {
	got := s.claimAll(ctx, reqs, k)
	claims := map[string]*store.Claim{} // by request id: every claim this call holds
	var fresh []doorstep.Request
	once := &BatchOnce{Kind: OnceFresh}
	var fail error
	for i, c := range got {
		switch {
		case c.err != nil:
			fail = c.err
		case c.fresh:
			claims[reqs[i].ID] = c.rec.Claim
			fresh = append(fresh, reqs[i])
		case c.rec.Fingerprint != k.Fingerprint:
			once.Kind = OnceKeyReused
		case len(c.rec.Booked) == 0 && c.rec.Pending:
			if once.Kind != OnceKeyReused {
				once.Kind = OnceInProgress
			}
			once.RetryAfter = max(once.RetryAfter, c.rec.LeaseLeft)
		}
	}
	if fail != nil || once.Kind != OnceFresh {
		// Nothing runs: give back the claims taken now.
		once.Unrecorded = s.endClaims(ctx, claims, nil, nil)
		if fail != nil {
			return once, fail
		}
		return once, nil
	}
	out := &BatchOutcome{Optimal: true}
	if len(fresh) > 0 {
		var err error
		if out, err = s.assign(ctx, fresh, true, k.Scope, claims); err != nil {
			once.Unrecorded = s.endClaims(ctx, claims, nil, nil)
			return once, err
		}
	}
	// Answers recorded now: the placements made now, and those an earlier
	// call made but never answered (recovered, their claims finished with
	// them).
	answers := map[string]*Placement{}
	for i := range out.Placements {
		answers[out.Placements[i].RequestID] = &out.Placements[i]
	}
	var recovered []Placement
	for i, c := range got {
		if c.fresh {
			continue
		}
		req := &reqs[i]
		if len(c.rec.Booked) == 0 {
			once.Earlier = append(once.Earlier, Answer{Status: c.rec.Status, Body: c.rec.Body})
		} else {
			b, err := s.Booking(ctx, c.rec.Booked[0], k.Scope)
			if err != nil {
				// The booking exists (its claim found it) but cannot be
				// read now: the batch answers nothing it cannot stand by.
				once.Unrecorded = s.endClaims(ctx, claims, answers, encode)
				return once, err
			}
			recovered = append(recovered, Placement{RequestID: req.ID, WorkerID: b.WorkerID, Start: b.Start,
				End: b.End, Arrival: b.Arrival, Booking: b, Earlier: true})
			claims[req.ID] = c.rec.Claim
		}
		out.ServedBound++
		if req.Urgency == doorstep.Urgent {
			out.UrgentBound++
		}
	}
	for i := range recovered {
		answers[recovered[i].RequestID] = &recovered[i]
	}
	once.Unrecorded = s.endClaims(ctx, claims, answers, encode)
	out.Placements = append(out.Placements, recovered...)
	slices.SortFunc(out.Placements, func(a, b Placement) int { return strings.Compare(a.RequestID, b.RequestID) })
	if len(fresh) == 0 {
		once.Kind = OnceReplay
	}
	once.Outcome = out
	return once, nil
}

// inParallel calls f(i) for every i in [0, n), claimParallel at a time,
// and returns when every call has.
func inParallel(n int, f func(i int)) {
	sem := make(chan struct{}, claimParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// claimAll begins the claim of every request of a batch; got[i] is
// reqs[i]'s.
func (s *Service) claimAll(ctx context.Context, reqs []doorstep.Request, k *BatchKey) []claimed {
	got := make([]claimed, len(reqs))
	inParallel(len(reqs), func(i int) {
		opt := store.IdemOptions{TTL: k.TTL}
		if reqs[i].Location.Validate("location") == nil {
			opt.Region = geo.RegionOf(reqs[i].Location).String()
		}
		rec, fresh, err := s.st.BeginIdempotent(ctx, k.Scope, k.claimKey(reqs[i].ID), k.Fingerprint, opt)
		got[i] = claimed{rec: rec, fresh: fresh, err: err}
	})
	return got
}

// endClaims ends every claim of claims (by request id): the claim of a
// request answers holds is finished with its answer (encode), every other
// one is released, so that a retry books its request afresh. It runs
// within ctx's deadline even if ctx is cancelled (FollowUp), and returns
// the failures, joined: a retry recovers what they left.
func (s *Service) endClaims(ctx context.Context, claims map[string]*store.Claim, answers map[string]*Placement, encode func(*Placement) Answer) error {
	fctx, cancel := FollowUp(ctx)
	defer cancel()
	ids := slices.Collect(maps.Keys(claims))
	errs := make([]error, len(ids))
	inParallel(len(ids), func(i int) {
		c := claims[ids[i]]
		if p := answers[ids[i]]; p != nil {
			a := encode(p)
			errs[i] = s.st.FinishIdempotentBehind(fctx, c, store.IdemAnswer{Status: a.Status, Body: a.Body, Bookings: []string{p.Booking.ID}})
		} else {
			errs[i] = s.st.AbortIdempotent(fctx, c)
		}
	})
	return errors.Join(errs...)
}
