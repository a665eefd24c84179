package store

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Series is the record of a recurring booking: the ids of its occurrences.
// It is written before the bookings themselves (PutSeries, then Apply), so
// a crash in between leaves a record naming bookings that do not exist —
// which CancelSeries skips — and never bookings no record can find.
type Series struct {
	ID         string    `json:"id"`
	Owner      string    `json:"owner,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	BookingIDs []string  `json:"booking_ids"`
	CreatedAt  time.Time `json:"created_at"`
}

// SeriesTTL bounds how long a series record outlives its creation: a year
// of weekly occurrences and some.
const SeriesTTL = 400 * 24 * time.Hour

func seriesKey(region, id string) string { return regionTag(region) + "s:" + id }

// NewSeriesID returns a new random series id that embeds region, like a
// booking id.
func NewSeriesID(region string) string {
	var b [16]byte
	rand.Read(b[:])
	return "s" + region + "_" + bookingIDEncoding.EncodeToString(b[:])
}

// regionOfSeries returns the region embedded in a series id.
func regionOfSeries(id string) (string, error) {
	if len(id) < 2 || id[0] != 's' {
		return "", notFound("series %q not found", id)
	}
	region, err := RegionOfBooking("b" + id[1:])
	if err != nil {
		return "", notFound("series %q not found", id)
	}
	return region, nil
}

// PutSeries writes (or rewrites) a series record.
func (s *Store) PutSeries(ctx context.Context, sr *Series) error {
	region, err := regionOfSeries(sr.ID)
	if err != nil {
		return fmt.Errorf("put series: %w", err)
	}
	data, err := json.Marshal(sr)
	if err != nil {
		return fmt.Errorf("put series %s: %w", sr.ID, err)
	}
	return wrapErr("put series "+sr.ID, s.rdb.Set(ctx, seriesKey(region, sr.ID), data, SeriesTTL).Err())
}

// GetSeries reads a series record; an unknown id is ENOTFOUND.
func (s *Store) GetSeries(ctx context.Context, id string) (*Series, error) {
	region, err := regionOfSeries(id)
	if err != nil {
		return nil, err
	}
	data, err := s.rdb.Get(ctx, seriesKey(region, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, doorstep.Errorf(doorstep.ENOTFOUND, "", "series %s not found", id)
	}
	if err != nil {
		return nil, wrapErr("get series "+id, err)
	}
	var sr Series
	if err := json.Unmarshal(data, &sr); err != nil {
		return nil, fmt.Errorf("decode series %s: %w", id, err)
	}
	return &sr, nil
}
