package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// CustomerHistoryTTL is how long the worker who last served a customer is
// remembered (for continuity) after that customer's last booking.
const CustomerHistoryTTL = 180 * 24 * time.Hour

// Customer records are scoped by tenant: the id of the API key that owns the
// bookings (doorstep.Booking.Owner). Customer ids are opaque ids chosen by
// each booking system, so two systems may use one id for two households:
// neither may read or overwrite the other's record.
//
// Keys written before scoping, dst:cust:<customer>:last, are never read
// (whose they were is unknown); they expire with CustomerHistoryTTL, and an
// erasure of the id deletes them.

// customerLastKey holds the id of the worker who last served a tenant's
// customer. Both ids pass doorstep.ValidID, so neither holds a ':' or a
// glob character.
func customerLastKey(tenant, customerID string) string {
	return keyPrefix + "t:" + tenant + ":cust:" + customerID + ":last"
}

// legacyCustomerLastKey is the unscoped key of the same record, written
// before customer records were scoped by tenant.
func legacyCustomerLastKey(customerID string) string {
	return keyPrefix + "cust:" + customerID + ":last"
}

// checkCustomer rejects a tenant or customer id that cannot be part of a key.
func checkCustomer(tenant, customerID string) error {
	if !doorstep.ValidID(tenant) {
		return fmt.Errorf("tenant %q is not a valid id", tenant)
	}
	if !doorstep.ValidID(customerID) {
		return invalid("customer_id", "customer id must be an opaque id of 1-64 letters, digits, '.', '_' or '-'")
	}
	return nil
}

// LastWorker returns the id of the worker who was last booked for tenant's
// customer, or "" when none is remembered.
func (s *Store) LastWorker(ctx context.Context, tenant, customerID string) (string, error) {
	_, id, err := s.LastWorkerFresh(ctx, tenant, customerID, "")
	return id, err
}

// LastWorkerFresh is LastWorker for a request in region (none: "") about
// to search for workers: when it must ask Redis and the mirror follows
// region's change feed, it reads the feed in the same round trip, and
// returns ctx carrying that read, so that the request's first search
// needs no read of its own (WithSearchRegion). A quote with a customer id,
// without it, had two round trips before its search began
// (bench/RESULTS.md, "Where the 100,000-worker tail waits").
func (s *Store) LastWorkerFresh(ctx context.Context, tenant, customerID, region string) (context.Context, string, error) {
	if err := checkCustomer(tenant, customerID); err != nil {
		return ctx, "", fmt.Errorf("read last worker of customer: %w", err)
	}
	if id, ok := s.pendingLast(tenant, customerID); ok {
		return ctx, id, nil
	}
	if c := claimFrom(ctx); c != nil {
		if c.hasLast && c.scope == tenant && c.customer == customerID {
			return ctx, c.last, nil // read with the request's idempotency claim
		}
		region = "" // the claim's round trip read the feed
	}
	var get *redis.StringCmd
	var ahead *feedAhead
	// The pipeline's error is its first command's that failed: each
	// command's own is read below.
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, customerLastKey(tenant, customerID))
		ahead = s.readFeedAhead(ctx, p, region)
		return nil
	})
	id, err := get.Result()
	switch {
	case errors.Is(err, redis.Nil):
		id = ""
	case err != nil:
		return ctx, "", wrapErr("read last worker of customer", err)
	}
	if t := s.landFeedAhead(ahead); !t.IsZero() {
		ctx = context.WithValue(ctx, freshCtxKey{}, &freshRead{sent: t, region: region})
	}
	return ctx, id, nil
}

// SetLastWorker remembers workerID as the last worker of tenant's
// customer. It is written behind the caller (behind.go): this process
// reads it at once, others within behindDelay.
func (s *Store) SetLastWorker(ctx context.Context, tenant, customerID, workerID string) error {
	if err := checkCustomer(tenant, customerID); err != nil {
		return fmt.Errorf("remember last worker of customer: %w", err)
	}
	if s.writeBehind(func(b *behind) {
		if b.last == nil {
			b.last = map[lastKey]string{}
		}
		b.last[lastKey{tenant, customerID}] = workerID
	}) {
		return nil
	}
	err := s.rdb.Set(ctx, customerLastKey(tenant, customerID), workerID, CustomerHistoryTTL).Err()
	return wrapErr("remember last worker of customer", err)
}

// forgetCustomer deletes the history of tenant's customer, or of every
// tenant's customer of that id when tenant is AllTenants, and the legacy
// unscoped record of the id, with what this process has not written yet
// of it (forgetPendingLast).
func (s *Store) forgetCustomer(ctx context.Context, tenant, customerID string) error {
	return s.forgetPendingLast(tenant, customerID, func() error {
		// One DEL per key: the keys have no hash tag, so on Redis Cluster
		// they may live in different slots.
		if tenant != AllTenants {
			if err := s.rdb.Del(ctx, customerLastKey(tenant, customerID)).Err(); err != nil {
				return wrapErr("erase customer history", err)
			}
		} else {
			err := s.scan(ctx, customerLastKey("*", customerID), func(c redis.Cmdable, key, _ string) error {
				return wrapErr("erase customer history", c.Del(ctx, key).Err())
			})
			if err != nil {
				return err
			}
		}
		return wrapErr("erase customer history", s.rdb.Del(ctx, legacyCustomerLastKey(customerID)).Err())
	})
}
