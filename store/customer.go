package store

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// CustomerHistoryTTL is how long the worker who last served a customer is
// remembered (for continuity) after that customer's last booking.
const CustomerHistoryTTL = 180 * 24 * time.Hour

// customerLastKey holds the id of the worker who last served a customer.
// Customer ids are opaque ids chosen by the booking system.
func customerLastKey(customerID string) string { return keyPrefix + "cust:" + customerID + ":last" }

// LastWorker returns the id of the worker who was last booked for the
// customer, or "" when none is remembered.
func (s *Store) LastWorker(ctx context.Context, customerID string) (string, error) {
	id, err := s.rdb.Get(ctx, customerLastKey(customerID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", wrapErr("read last worker of customer", err)
	}
	return id, nil
}

// SetLastWorker remembers workerID as the customer's last worker.
func (s *Store) SetLastWorker(ctx context.Context, customerID, workerID string) error {
	err := s.rdb.Set(ctx, customerLastKey(customerID), workerID, CustomerHistoryTTL).Err()
	return wrapErr("remember last worker of customer", err)
}
