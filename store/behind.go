package store

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Writes behind the request. A booking makes two writes nothing waits
// for: the customer's last worker (continuity, a soft preference:
// SetLastWorker) and, for an urgent request, its count and place (the
// learnt urgent profile and standby plans: RecordUrgent). Each was a
// round trip of the request's own, and a round trip costs the server
// more than the command costs Redis (bench/RESULTS.md, "Bookings: fewer
// round trips a booking"). They are kept here instead and written together,
// one pipeline for every write of the last behindDelay, so a booking no
// longer waits for them and a burst shares the round trip.
//
// What this process wrote behind it reads at once (LastWorker looks in
// the writes not yet landed; UrgentCounts and RecentUrgent write them
// first), another process up to behindDelay later. Close writes what is
// left. A crash loses at most behindDelay of them: a customer's last
// worker (the next booking ranks without the continuity bonus) and some
// urgent calls of the counts, never a booking. A batch that fails is
// lost as a write was before (the request ignored its error), and
// counted (BehindStats, doorstep_store_behind_*); Redis has the next
// batch.
//
// A booking's recorded answer to its Idempotency-Key rides in the same
// batch (FinishIdempotentBehind; bench/RESULTS.md, "Bookings: two round
// trips fewer"): this process replays it at once (pendingAnswer), a
// retry at another process waits for it once (answerSettle), and one
// that cannot land is counted (LostAnswers) and recovered from the
// bookings by a retry after the request's lease.
//
// An erasure of a customer waits for a batch being written and drops
// the customer's pending last worker, so that nothing written behind
// brings back what it erased (forgetCustomer); the answers pending land
// first, so that the erasure finds those naming the customer's bookings.

// behindDelay is how long a write waits for others to share its round
// trip, and behindTimeout bounds the round trip.
const (
	behindDelay   = 20 * time.Millisecond
	behindTimeout = 5 * time.Second
)

// behind holds the writes not yet landed.
type behind struct {
	mu sync.Mutex
	// last and flight are the customers' last workers pending, and those
	// of the batch being written (read by LastWorker until it landed).
	last, flight map[lastKey]string
	urgent       []pendingUrgent
	// finishes are the idempotency answers pending
	// (FinishIdempotentBehind); answers the records they write, by key,
	// pending or being written, until they landed (pendingAnswer).
	finishes []pendingFinish
	answers  map[string][]byte
	timer    *time.Timer // set while a write is due
	closed   bool
	// writing is held while a batch is written, so that batches land in
	// order and an erasure can wait for one.
	writing sync.Mutex
	// batches and writes count what was written behind, failed and lost
	// the batches that failed and their writes (BehindStats).
	batches, writes, failed, lost atomic.Int64
	// lostAnswers counts the idempotency answers that could not land
	// (FinishIdempotentBehind).
	lostAnswers atomic.Int64
}

// BehindStats counts the writes kept behind the requests (behind.go):
// the batches written and the writes in them, and those of the batches
// that failed, which are lost (a customer's last worker, an urgent call).
type BehindStats struct {
	Batches, Writes, FailedBatches, LostWrites int64
	// LostAnswers are the idempotency answers that could not land
	// (FinishIdempotentBehind): a retry after the request's lease
	// recovers each from its bookings.
	LostAnswers int64
}

// BehindStats reports the counts of the writes kept behind the requests.
func (s *Store) BehindStats() BehindStats {
	b := &s.behind
	return BehindStats{Batches: b.batches.Load(), Writes: b.writes.Load(), FailedBatches: b.failed.Load(), LostWrites: b.lost.Load(),
		LostAnswers: b.lostAnswers.Load()}
}

type lastKey struct{ tenant, customer string }

// pendingFinish is an idempotency answer written behind: record data
// replaces cur, the record as claim c last wrote it, at key.
type pendingFinish struct {
	key, cur string
	data     []byte
	ttl      time.Duration
	c        *Claim
	a        IdemAnswer
}

// answerSettle is how long a retry that finds its key's record pending
// waits, once, for an answer written behind by another process: a batch
// is written behindDelay after its first write, in well under a
// millisecond. A test may set Store.settle instead.
const answerSettle = 3 * behindDelay

// settleFor is how long BeginIdempotent waits for an answer written
// behind (answerSettle).
func (s *Store) settleFor() time.Duration {
	if s.settle > 0 {
		return s.settle
	}
	return answerSettle
}

// pendingAnswer returns the record answered at key k this process has
// not written yet.
func (s *Store) pendingAnswer(k string) ([]byte, bool) {
	b := &s.behind
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.answers[k]
	return data, ok
}

type pendingUrgent struct {
	region string
	call   UrgentCall
	rec    []byte // call encoded, for the list of recent calls
}

// writeBehind runs add on the pending writes, under their lock, and
// makes sure a write of them is due; false, adding nothing, after Close.
func (s *Store) writeBehind(add func(b *behind)) bool {
	b := &s.behind
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	add(b)
	if b.timer == nil {
		b.timer = time.AfterFunc(behindDelay, func() { s.flushBehind() })
	}
	return true
}

// pendingLast returns the last worker of tenant's customer this process
// has not written yet.
func (s *Store) pendingLast(tenant, customerID string) (string, bool) {
	b := &s.behind
	b.mu.Lock()
	defer b.mu.Unlock()
	k := lastKey{tenant, customerID}
	if w, ok := b.last[k]; ok {
		return w, true
	}
	w, ok := b.flight[k]
	return w, ok
}

// flushBehind writes the pending writes, one pipeline, and returns its
// error.
func (s *Store) flushBehind() error {
	b := &s.behind
	b.writing.Lock()
	defer b.writing.Unlock()
	b.mu.Lock()
	last, urgent, finishes := b.last, b.urgent, b.finishes
	b.last, b.urgent, b.finishes, b.flight = nil, nil, nil, last
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.flight = nil
		b.mu.Unlock()
	}()
	return s.writeBatch(last, urgent, finishes)
}

// writeBatch writes one batch of writes behind in one pipeline (under
// b.writing), and returns its error.
func (s *Store) writeBatch(last map[lastKey]string, urgent []pendingUrgent, finishes []pendingFinish) error {
	b := &s.behind
	if len(last) == 0 && len(urgent) == 0 && len(finishes) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), behindTimeout)
	defer cancel()
	cas := make([]*redis.Cmd, len(finishes))
	cmds, _ := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { // each command's error is read below
		for k, w := range last {
			p.Set(ctx, customerLastKey(k.tenant, k.customer), w, CustomerHistoryTTL)
		}
		writeUrgent(ctx, p, urgent)
		for i, f := range finishes {
			cas[i] = s.scripts.cas.EvalSha(ctx, p, []string{f.key}, f.cur, f.data, f.ttl.Milliseconds())
		}
		return nil
	})
	n := int64(len(last) + len(urgent))
	var werr error // the first error of the writes other than the answers
	for _, c := range cmds[:len(cmds)-len(finishes)] {
		if werr = c.Err(); werr != nil {
			break
		}
	}
	for i, f := range finishes {
		if ok, cerr := cas[i].Int64(); cerr == nil && ok == 1 {
			data := string(f.data)
			f.c.known.Store(&data)
		} else if ferr := s.FinishIdempotent(ctx, f.c, f.a); ferr != nil {
			// The script not loaded yet is loaded by FinishIdempotent;
			// a record changed since (a retry took the claim over, an
			// erasure) or Redis failing loses the answer, which a retry
			// after the lease recovers from the bookings, as after a
			// crash.
			b.lostAnswers.Add(1)
			if werr == nil {
				werr = ferr
			}
		}
	}
	b.mu.Lock()
	for _, f := range finishes {
		if d, ok := b.answers[f.key]; ok && string(d) == string(f.data) {
			delete(b.answers, f.key)
		}
	}
	b.mu.Unlock()
	b.batches.Add(1)
	b.writes.Add(n + int64(len(finishes)))
	if werr != nil && n > 0 {
		b.failed.Add(1)
		b.lost.Add(n)
	}
	return wrapErr("write behind", werr)
}

// writeUrgent lays out the urgent calls' counts and places on p, as
// RecordUrgent describes them: the counts of one day, skill and hour
// summed, each key's expiry set once, the places pushed in the order the
// calls came (newest first in the list).
func writeUrgent(ctx context.Context, p redis.Pipeliner, calls []pendingUrgent) {
	if len(calls) == 0 {
		return
	}
	type field struct{ key, field string }
	counts := map[field]int64{}
	var order []field
	days := map[string]bool{}
	var dayKeys []string
	recent := map[string][]any{}
	var regions []string
	for _, c := range calls {
		key := urgentDayKey(c.region, c.call.At)
		if !days[key] {
			days[key] = true
			dayKeys = append(dayKeys, key)
		}
		for _, sk := range c.call.Skills {
			f := field{key, sk + ":" + strconv.Itoa(c.call.At.Hour())}
			if _, ok := counts[f]; !ok {
				order = append(order, f)
			}
			counts[f]++
		}
		if _, ok := recent[c.region]; !ok {
			regions = append(regions, c.region)
		}
		recent[c.region] = append(recent[c.region], c.rec)
	}
	for _, f := range order {
		p.HIncrBy(ctx, f.key, f.field, counts[f])
	}
	for _, key := range dayKeys {
		p.Expire(ctx, key, (UrgentDays+1)*24*time.Hour)
	}
	members := make([]any, len(regions))
	for i, r := range regions {
		key := urgentRecentKey(r)
		p.LPush(ctx, key, recent[r]...)
		p.LTrim(ctx, key, 0, RecentUrgentKept-1)
		p.Expire(ctx, key, RecentUrgentTTL)
		members[i] = r
	}
	p.SetNX(ctx, urgentSinceKey, calls[0].call.At.Format(time.DateOnly), 0)
	p.SAdd(ctx, urgentRegionsKey, members...)
}

// Flush writes now what is kept behind (behind.go): for a caller that
// reads Redis itself, or another process, and must see it.
func (s *Store) Flush() error { return s.flushBehind() }

// closeBehind writes what is pending; later writes are not kept behind
// (writeBehind).
func (s *Store) closeBehind() {
	b := &s.behind
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	s.flushBehind()
}

// forgetPendingLast waits for a batch being written and drops the
// pending last workers of customerID, of tenant or of every tenant
// (AllTenants); done runs before the next batch may be written (the
// erasure's deletes), so that no batch writes a record back after them.
func (s *Store) forgetPendingLast(tenant, customerID string, done func() error) error {
	b := &s.behind
	b.writing.Lock()
	defer b.writing.Unlock()
	b.mu.Lock()
	for k := range b.last {
		if k.customer == customerID && (tenant == AllTenants || k.tenant == tenant) {
			delete(b.last, k)
		}
	}
	// The answers pending land first, so that done finds the ones that
	// name the customer's bookings.
	finishes := b.finishes
	b.finishes = nil
	b.mu.Unlock()
	if err := s.writeBatch(nil, nil, finishes); err != nil {
		return err
	}
	return done()
}
