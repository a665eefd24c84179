package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// WorkerState is a worker as the re-planning of its bookings reads it: its
// profile (nil once retired), its home region, the version to pin when
// moving its bookings away (a retired worker keeps its version counter) and
// its confirmed bookings in the range read, sorted by start.
type WorkerState struct {
	Worker   *doorstep.Worker
	Region   string
	Version  int64
	Bookings []*doorstep.Booking
}

// LoadWorker reads worker id's state in its home region, its confirmed
// bookings starting in [from, to] included, in two round trips after the
// region record: version, profile and timeline, then bookings. It works for
// a retired worker (Worker is nil) and is ENOTFOUND for a worker that never
// was. As LoadCandidates, it reads the version first, so that an Apply
// pinned to it fails rather than succeeds on a stale view.
func (s *Store) LoadWorker(ctx context.Context, id string, from, to time.Time) (*WorkerState, error) {
	if err := checkWorkerID(id); err != nil {
		return nil, fmt.Errorf("load worker: %w", err)
	}
	region, err := s.workerRegion(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load worker %s: %w", id, err)
	}
	pipe := s.rdb.Pipeline()
	ver := pipe.Get(ctx, versionKey(region, id))
	prof := pipe.Get(ctx, workerKey(region, id))
	tl := pipe.ZRangeByScore(ctx, timelineKey(region, id), scoreRange(from, to))
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr("load worker "+id, err)
	}
	st := &WorkerState{Region: region}
	if st.Version, err = parseVersion(ver); err != nil {
		return nil, fmt.Errorf("load worker %s: %w", id, err)
	}
	if prof.Err() == nil {
		if st.Worker, err = decodeWorker(prof.Val()); err != nil {
			return nil, fmt.Errorf("load worker %s: %w", id, err)
		}
	}
	bs, err := s.loadBookings(ctx, tl.Val())
	if err != nil {
		return nil, fmt.Errorf("load worker %s: %w", id, err)
	}
	st.Bookings = confirmed(bs)
	return st, nil
}

// AtRiskBookings returns up to limit confirmed bookings marked at risk
// (doorstep.Booking.AtRisk) that end after since, by start, from the
// regions' at-risk indexes (kept by Apply; found by a SCAN of the keyspace,
// on every master of a cluster, as ReadAudit finds the audit streams: an
// operator's occasional read).
func (s *Store) AtRiskBookings(ctx context.Context, since time.Time, limit int) ([]*doorstep.Booking, error) {
	if limit <= 0 || limit > 1000 {
		return nil, invalid("limit", "limit must be in [1, 1000]")
	}
	var regions []string
	err := s.scanKeys(ctx, keyPrefix+"{r:*}:atrisk", "zset", func(_ redis.Cmdable, key string) error {
		region := strings.TrimSuffix(strings.TrimPrefix(key, keyPrefix+"{r:"), "}:atrisk")
		if validRegion(region) && key == atRiskKey(region) {
			regions = append(regions, region)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read at-risk bookings: %w", err)
	}
	slices.Sort(regions)
	// A booking may last doorstep.MaxDuration: one that started that long
	// before since may still be under way.
	rng := scoreRange(since.Add(-doorstep.MaxDuration), time.Unix(1<<40, 0))
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(regions))
	for i, region := range regions {
		cmds[i] = pipe.ZRangeByScore(ctx, atRiskKey(region), rng)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr("read at-risk bookings", err)
	}
	var ids []string
	for _, cmd := range cmds {
		ids = append(ids, cmd.Val()...)
	}
	bs, err := s.loadBookings(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read at-risk bookings: %w", err)
	}
	var out []*doorstep.Booking
	for _, b := range confirmed(bs) {
		if b.AtRisk != nil && b.End.After(since) {
			out = append(out, b)
		}
	}
	return out[:min(len(out), limit)], nil
}
