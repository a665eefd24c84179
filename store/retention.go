package store

import (
	"context"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Retention: the records of requests, bookings, progress and feedback are
// kept in full for a retention (the server's -retention), then reduced:
//
//   - a booking that ended (or was cancelled) before the cutoff loses its
//     customer id and the customer's preferred and excluded workers, and
//     its location is reduced to its H3 cell if the privacy sweep has not
//     done it yet (RedactFinished): what stays is a job of a service, by a
//     worker, at a time, in a cell, at a price — no longer anyone's;
//   - a follow-up of a booking completed before the cutoff is deleted with its feedback, and
//     leaves the open index if it was still open; the worker's tally keeps
//     the rating as a count and a sum, with no booking or customer.
//
// Requests are kept only as the bookings they made and the
// Idempotency-Key records of their answers, which expire within a day;
// the urgent request counts (RecordUrgent) and the audit streams hold no
// personal data.

// Reduced is what ReduceExpired did.
type Reduced struct {
	Bookings, FollowUps int
}

// ReduceExpired reduces the records older than cutoff (now minus the
// retention) as the retention rules above say. Like RedactFinished it
// scans every booking and follow-up; run it with the privacy sweep.
func (s *Store) ReduceExpired(ctx context.Context, cutoff time.Time) (Reduced, error) {
	var out Reduced
	err := s.scanBookings(ctx, func(key, val string) error {
		b, err := decodeBooking(val)
		if err != nil {
			return nil // an unreadable record is left for an operator to see
		}
		over := b.End
		if b.Status == doorstep.StatusCancelled {
			over = b.UpdatedAt
		}
		if !over.Before(cutoff) || reducedForRetention(b) {
			return nil
		}
		b.CustomerID, b.PreferredWorkers, b.ExcludedWorkers = "", nil, nil
		reduce(b)
		ok, err := s.rewrite(ctx, key, val, b)
		if ok {
			out.Bookings++
		}
		return err
	})
	if err != nil {
		return out, err
	}
	err = s.scan(ctx, keyPrefix+"{r:*}:fu:*", func(c redis.Cmdable, key, val string) error {
		f, err := decodeFollowUp(val)
		if err != nil || !f.CompletedAt.Before(cutoff) {
			return nil
		}
		region, err := RegionOfBooking(f.BookingID)
		if err != nil {
			return nil
		}
		n, err := deleteFollowUpLua.Run(ctx, c, []string{key, openFollowUpsKey(region)}, val, dueMember(f.Due, f.BookingID)).Int()
		out.FollowUps += n
		return wrapErr("reduce follow-up "+f.BookingID, err)
	})
	return out, err
}

// reducedForRetention reports whether b holds nothing ReduceExpired takes.
func reducedForRetention(b *doorstep.Booking) bool {
	return b.CustomerID == "" && len(b.PreferredWorkers) == 0 && len(b.ExcludedWorkers) == 0 && b.Cell != ""
}

// deleteFollowUpLua deletes follow-up KEYS[1] if it still holds ARGV[1],
// and its member ARGV[2] of the open index KEYS[2]; it returns 1 when it
// deleted it.
var deleteFollowUpLua = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`)
