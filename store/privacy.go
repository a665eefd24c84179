package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// replaceLua swaps KEYS[1] from ARGV[1] to ARGV[2], keeping its TTL, and
// returns 1; it returns 0 when the value changed meanwhile.
var replaceLua = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1`)

// scan calls fn with every key matching pattern and its string value, on
// every master of a cluster; keys that vanish meanwhile are skipped.
func (s *Store) scan(ctx context.Context, pattern string, fn func(c redis.Cmdable, key, value string) error) error {
	return s.scanKeys(ctx, pattern, "", func(c redis.Cmdable, key string) error {
		val, err := c.Get(ctx, key).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return wrapErr("read "+key, err)
		}
		return fn(c, key, val)
	})
}

// scanKeys calls fn with every key matching pattern (and of Redis type
// typ, unless typ is empty), on every master of a cluster, with the client
// of the master that holds it.
func (s *Store) scanKeys(ctx context.Context, pattern, typ string, fn func(c redis.Cmdable, key string) error) error {
	each := func(ctx context.Context, c redis.Cmdable) error {
		var iter *redis.ScanIterator
		if typ != "" {
			iter = c.ScanType(ctx, 0, pattern, 500, typ).Iterator()
		} else {
			iter = c.Scan(ctx, 0, pattern, 500).Iterator()
		}
		for iter.Next(ctx) {
			if err := fn(c, iter.Val()); err != nil {
				return err
			}
		}
		return wrapErr("scan "+pattern, iter.Err())
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return each(ctx, c) })
	}
	return each(ctx, s.rdb)
}

// scanBookings calls fn with every booking key and value.
func (s *Store) scanBookings(ctx context.Context, fn func(key, value string) error) error {
	return s.scan(ctx, keyPrefix+"{r:*}:b:*", func(_ redis.Cmdable, key, value string) error { return fn(key, value) })
}

// reduce returns b with its exact location replaced by its cell.
func reduce(b *doorstep.Booking) {
	if b.Cell != "" {
		return
	}
	c := geo.PrivacyCell(b.Location)
	b.Cell = c.String()
	b.Location = c.Center()
}

// rewrite replaces a booking's stored value if it is still old.
func (s *Store) rewrite(ctx context.Context, key, old string, b *doorstep.Booking) (bool, error) {
	data, err := encodeBooking(b)
	if err != nil {
		return false, err
	}
	n, err := replaceLua.Run(ctx, s.rdb, []string{key}, old, data).Int()
	if err != nil {
		return false, wrapErr("rewrite booking "+b.ID, err)
	}
	return n == 1, nil
}

// Erasure is what EraseCustomer did.
type Erasure struct {
	// Bookings is how many of the customer's bookings were anonymised.
	Bookings int
	// Cancelled are the ids of the upcoming bookings it cancelled.
	Cancelled []string
	// RewritePending is true when the erased values may still be in
	// Redis' append-only files: a rewrite was running, and RewriteAOFIfDue
	// starts the next one.
	RewritePending bool
}

// RedactFinished reduces to its H3 cell the exact location of every
// booking that no longer needs it: those that ended before cutoff and the
// cancelled ones. It returns how many it reduced. Run it periodically (the
// server does, every few minutes); it scans every booking, which is cheap
// next to the bookings' own traffic at the rates a city books.
func (s *Store) RedactFinished(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	defer func() {
		if n > 0 {
			s.cands.reset() // it holds the exact locations it reduced
		}
	}()
	err := s.scanBookings(ctx, func(key, val string) error {
		b, err := decodeBooking(val)
		if err != nil || b.Cell != "" {
			return nil // an unreadable record is left for an operator to see
		}
		if b.Status != doorstep.StatusCancelled && !b.End.Before(cutoff) {
			return nil
		}
		reduce(b)
		ok, err := s.rewrite(ctx, key, val, b)
		if ok {
			n++
		}
		return err
	})
	return n, err
}

// AllTenants, as the tenant of EraseCustomer, erases the customer id in the
// records of every tenant (an operator's erasure).
const AllTenants = ""

// EraseCustomer removes what Doorstep holds of tenant's customer (tenant is
// the API key id that owns the bookings; AllTenants for every tenant's
// customer of that id): the customer's bookings that have not started are
// cancelled, every booking of the customer loses its customer id and exact
// location, the remembered last worker and the series records forget the
// customer, and idempotency records whose answers were made for one of
// those bookings (IdemAnswer.Bookings) are deleted. Another tenant's records of the same id are left alone. It
// returns how many bookings it touched and which ones it cancelled (for the
// audit log: each cancel is an event of its own).
//
// The erased values stay in Redis' append-only files until Redis rewrites
// them, so EraseCustomer then starts a rewrite (see RewriteAOF); when one
// is already running it leaves that to RewriteAOFIfDue and reports it in
// Erasure.RewritePending.
func (s *Store) EraseCustomer(ctx context.Context, tenant, customerID string, now time.Time) (Erasure, error) {
	if customerID == "" {
		return Erasure{}, invalid("customer_id", "customer id is required")
	}
	if tenant != AllTenants {
		if err := checkCustomer(tenant, customerID); err != nil {
			return Erasure{}, fmt.Errorf("erase customer: %w", err)
		}
	}
	mine := func(owner string) bool { return tenant == AllTenants || owner == tenant }
	defer s.cands.reset() // it may hold the customer's bookings as they were
	var out Erasure
	var ids []string
	err := s.scanBookings(ctx, func(key, val string) error {
		if strings.Contains(val, `"customer_id":"`+customerID+`"`) {
			if b, err := decodeBooking(val); err == nil && b.CustomerID == customerID && mine(b.Owner) {
				ids = append(ids, b.ID)
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("erase customer: %w", err)
	}
	for _, id := range ids {
		b, err := s.GetBooking(ctx, id)
		if err != nil {
			return out, fmt.Errorf("erase customer: %w", err)
		}
		if b.Status == doorstep.StatusConfirmed && now.Before(b.Start) {
			_, err := s.CancelBooking(ctx, id, now)
			switch {
			case err == nil:
				out.Cancelled = append(out.Cancelled, id)
			case !errors.Is(err, ErrNotConfirmed):
				return out, fmt.Errorf("erase customer: %w", err)
			}
		}
		if err := s.anonymize(ctx, id, customerID); err != nil {
			return out, fmt.Errorf("erase customer: %w", err)
		}
	}
	if err := s.forgetCustomer(ctx, tenant, customerID); err != nil {
		return out, err
	}
	needle := `"customer_id":"` + customerID + `"`
	if err := s.eraseFromScan(ctx, keyPrefix+"{r:*}:s:*", func(val string) bool {
		var sr Series
		return strings.Contains(val, needle) && json.Unmarshal([]byte(val), &sr) == nil && mine(sr.Owner)
	}); err != nil {
		return out, err
	}
	// An idempotency record names the bookings its answer was made for
	// (IdemAnswer.Bookings); the answer itself is the caller's encoding,
	// never parsed here. A record naming one of the erased bookings goes.
	if err := s.eraseFromScan(ctx, keyPrefix+"idem:*", func(val string) bool {
		var rec idemRecord
		if json.Unmarshal([]byte(val), &rec) != nil {
			return false
		}
		return slices.ContainsFunc(s.answerBookings(ctx, &rec), func(id string) bool { return slices.Contains(ids, id) })
	}); err != nil {
		return out, err
	}
	out.Bookings = len(ids)
	pending, err := s.rewriteAfterErasure(ctx)
	out.RewritePending = pending
	return out, err
}

// answerBookings are the ids of the bookings the answer of finished record
// rec was made for: IdemAnswer.Bookings or, for a record finished before
// they were recorded, the bookings made under its claim (the same ones,
// kept as long as the record).
func (s *Store) answerBookings(ctx context.Context, rec *idemRecord) []string {
	if rec.Bookings != nil || rec.Pending {
		return rec.Bookings
	}
	var ids []string
	for _, region := range rec.Regions {
		if v, err := s.rdb.Get(ctx, claimKey(region, rec.Token)).Result(); err == nil && v != "-" {
			ids = append(ids, strings.Split(v, ",")...)
		}
	}
	return ids
}

// anonymize drops the customer id and exact location of booking id,
// retrying if the booking changes meanwhile.
func (s *Store) anonymize(ctx context.Context, id, customerID string) error {
	region, err := RegionOfBooking(id)
	if err != nil {
		return err
	}
	key := bookingKey(region, id)
	for range maxCASAttempts {
		val, err := s.rdb.Get(ctx, key).Result()
		if err != nil {
			return wrapErr("read booking "+id, err)
		}
		b, err := decodeBooking(val)
		if err != nil {
			return err
		}
		if b.CustomerID != customerID {
			return nil
		}
		b.CustomerID = ""
		reduce(b)
		ok, err := s.rewrite(ctx, key, val, b)
		if err != nil || ok {
			return err
		}
	}
	return tooBusy("of booking " + id)
}

// eraseFromScan deletes the keys matching pattern whose value matches
// (series records and idempotency answers naming a customer).
func (s *Store) eraseFromScan(ctx context.Context, pattern string, match func(val string) bool) error {
	return s.scan(ctx, pattern, func(c redis.Cmdable, key, val string) error {
		if match(val) {
			return wrapErr("erase "+key, c.Del(ctx, key).Err())
		}
		return nil
	})
}
