package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Series is the record of a recurring booking: the ids of its occurrences
// and, for a series with a rule, what the roll-forward needs to place the
// occurrences beyond the horizon as the horizon reaches them (the rule,
// the request it repeats, the next occurrence to place) and what it could
// not place. The ids of a series' bookings are derived from the series id
// and the occurrence's index (SeriesBookingID), and they are written in
// the record before the bookings themselves (PutSeries or UpdateSeries,
// then Apply), so a crash in between leaves a record naming bookings that
// do not exist — which reads and CancelSeries skip — and never bookings no
// record can find; a retried placement of an occurrence finds its booking
// by id and never books it twice.
type Series struct {
	ID         string    `json:"id"`
	Owner      string    `json:"owner,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	BookingIDs []string  `json:"booking_ids"`
	CreatedAt  time.Time `json:"created_at"`
	// Version counts the writes of the record (UpdateSeries).
	Version int64 `json:"version,omitempty"`
	// Rule is the recurrence; nil for a record of a version without it.
	Rule *SeriesRule `json:"rule,omitempty"`
	// Total is the number of occurrences of the rule; Next the index of
	// the first one neither placed nor missed yet (Total when none is
	// left), and NextAt the start of its window.
	Total  int       `json:"total,omitempty"`
	Next   int       `json:"next,omitempty"`
	NextAt time.Time `json:"next_at,omitzero"`
	// Missed are the occurrences that could not be placed, with why.
	Missed []SeriesMiss `json:"missed,omitempty"`
	// Cancelled is set by CancelSeries: nothing more is placed.
	Cancelled bool `json:"cancelled,omitempty"`

	raw []byte // the record as read, for UpdateSeries' compare-and-set
}

// SeriesRule is what a series repeats and how.
type SeriesRule struct {
	// RRule is the iCalendar recurrence rule (dispatch parses it).
	RRule string `json:"rrule"`
	// TimeZone is the IANA zone whose wall clock the occurrences keep.
	TimeZone string `json:"time_zone"`
	// Request is the request of the first occurrence, window included:
	// kept only while occurrences are left to place (it holds the exact
	// place, which a finished series must not keep), nil after.
	Request *doorstep.Request `json:"request,omitempty"`
	// DurationSeconds is Request.Duration (which JSON does not carry).
	DurationSeconds int64 `json:"duration_seconds"`
}

// SeriesMiss is an occurrence of a series that was not placed.
type SeriesMiss struct {
	Occurrence int             `json:"occurrence"`
	Window     doorstep.Window `json:"window"`
	Reason     string          `json:"reason"`
	// At is when it was decided; Rolled is true when the roll-forward
	// decided it (false: when the series was booked).
	At     time.Time `json:"at"`
	Rolled bool      `json:"rolled,omitempty"`
}

// ErrExists is matched by Apply's error when a booking it would create
// exists already: for an occurrence of a series (SeriesBookingID), it was
// placed by another attempt.
var ErrExists = errors.New("store: booking already exists")

// SeriesTTL bounds how long a series record outlives its last write: a
// year of occurrences and some.
const SeriesTTL = 400 * 24 * time.Hour

func seriesKey(region, id string) string { return regionTag(region) + "s:" + id }

// seriesDueKey orders the series with occurrences left to place by when
// the roll-forward should next look at them (no hash tag: one key).
const seriesDueKey = keyPrefix + "series:due"

// NewSeriesID returns a new random series id that embeds region, like a
// booking id.
func NewSeriesID(region string) string {
	var b [16]byte
	rand.Read(b[:])
	return "s" + region + "_" + bookingIDEncoding.EncodeToString(b[:])
}

// SeriesBookingID is the booking id of occurrence k of series id: a
// booking id of the series' region whose random part is derived from the
// series id (itself random) and k. Every attempt to place occurrence k
// creates the same id, and Apply refuses to create an existing booking, so
// an occurrence is never booked twice, whichever server places it.
func SeriesBookingID(seriesID string, k int) string {
	region, err := regionOfSeries(seriesID)
	if err != nil {
		panic("store: SeriesBookingID of a malformed series id " + strconv.Quote(seriesID))
	}
	sum := sha256.Sum256([]byte(seriesID + "#" + strconv.Itoa(k)))
	return "b" + region + "_" + bookingIDEncoding.EncodeToString(sum[:16])
}

// RegionOfSeries returns the region embedded in a series id; a malformed
// id is ENOTFOUND.
func RegionOfSeries(id string) (string, error) { return regionOfSeries(id) }

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

// PutSeries writes (or rewrites) a series record unconditionally: its
// creation. Later writes go through UpdateSeries.
func (s *Store) PutSeries(ctx context.Context, sr *Series) error {
	region, err := regionOfSeries(sr.ID)
	if err != nil {
		return fmt.Errorf("put series: %w", err)
	}
	data, err := json.Marshal(sr)
	if err != nil {
		return fmt.Errorf("put series %s: %w", sr.ID, err)
	}
	if err := s.rdb.Set(ctx, seriesKey(region, sr.ID), data, SeriesTTL).Err(); err != nil {
		return wrapErr("put series "+sr.ID, err)
	}
	sr.raw = data
	return nil
}

// UpdateSeries rewrites sr, read by GetSeries (or written by PutSeries or
// UpdateSeries), if the stored record is still the one read, and bumps
// its Version; else it writes nothing and returns an error matching
// ErrConflict. Two servers rolling a series forward from the same read
// cannot both write.
func (s *Store) UpdateSeries(ctx context.Context, sr *Series) error {
	region, err := regionOfSeries(sr.ID)
	if err != nil {
		return fmt.Errorf("update series: %w", err)
	}
	if sr.raw == nil {
		return fmt.Errorf("update series %s: not read from the store", sr.ID)
	}
	sr.Version++
	data, err := json.Marshal(sr)
	if err != nil {
		sr.Version--
		return fmt.Errorf("update series %s: %w", sr.ID, err)
	}
	ok, err := s.scripts.cas.Run(ctx, s.rdb, []string{seriesKey(region, sr.ID)}, sr.raw, data, SeriesTTL.Milliseconds()).Int64()
	if err != nil {
		sr.Version--
		return wrapErr("update series "+sr.ID, err)
	}
	if ok != 1 {
		sr.Version--
		return fmt.Errorf("update series %s: %w", sr.ID, ErrConflict)
	}
	sr.raw = data
	return nil
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
	sr.raw = data
	return &sr, nil
}

// ScheduleSeries asks the roll-forward to look at series id from due on
// (it rewrites an earlier due).
func (s *Store) ScheduleSeries(ctx context.Context, id string, due time.Time) error {
	err := s.rdb.ZAdd(ctx, seriesDueKey, redis.Z{Score: float64(due.Unix()), Member: id}).Err()
	return wrapErr("schedule series "+id, err)
}

// UnscheduleSeries takes series id out of the roll-forward: nothing is
// left to place.
func (s *Store) UnscheduleSeries(ctx context.Context, id string) error {
	return wrapErr("unschedule series "+id, s.rdb.ZRem(ctx, seriesDueKey, id).Err())
}

// DueSeries returns up to limit series whose roll-forward is due by now,
// the longest due first.
func (s *Store) DueSeries(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, seriesDueKey, &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.Unix(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, wrapErr("due series", err)
	}
	return ids, nil
}
