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
// An erasure of a customer waits for a batch being written and drops
// the customer's pending last worker, so that nothing written behind
// brings back what it erased (forgetCustomer).

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
	timer        *time.Timer // set while a write is due
	closed       bool
	// writing is held while a batch is written, so that batches land in
	// order and an erasure can wait for one.
	writing sync.Mutex
	// batches and writes count what was written behind, failed and lost
	// the batches that failed and their writes (BehindStats).
	batches, writes, failed, lost atomic.Int64
}

// BehindStats counts the writes kept behind the requests (behind.go):
// the batches written and the writes in them, and those of the batches
// that failed, which are lost (a customer's last worker, an urgent call).
type BehindStats struct {
	Batches, Writes, FailedBatches, LostWrites int64
}

// BehindStats reports the counts of the writes kept behind the requests.
func (s *Store) BehindStats() BehindStats {
	b := &s.behind
	return BehindStats{Batches: b.batches.Load(), Writes: b.writes.Load(), FailedBatches: b.failed.Load(), LostWrites: b.lost.Load()}
}

type lastKey struct{ tenant, customer string }

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
	last, urgent := b.last, b.urgent
	b.last, b.urgent, b.flight = nil, nil, last
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
	if len(last) == 0 && len(urgent) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), behindTimeout)
	defer cancel()
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, w := range last {
			p.Set(ctx, customerLastKey(k.tenant, k.customer), w, CustomerHistoryTTL)
		}
		writeUrgent(ctx, p, urgent)
		return nil
	})
	n := int64(len(last) + len(urgent))
	b.batches.Add(1)
	b.writes.Add(n)
	if err != nil {
		b.failed.Add(1)
		b.lost.Add(n)
	}
	return wrapErr("write behind", err)
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
	b.mu.Unlock()
	return done()
}
