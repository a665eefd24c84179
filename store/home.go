package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// This file is the protocol that keeps a worker bookable in one region at
// most (see "Moving a worker's home" in the package documentation).

// errMoved reports that a worker's region record moved on under a step of
// a write: the write starts over from the record.
var errMoved = errors.New("worker's region record moved on")

// The fences of profile.lua: what a profile write requires of the
// worker's state in the region it runs in.
const (
	fenceWrite = "w" // the region is open at the record's generation
	fenceClose = "c" // closes the region at the generation
	fenceOpen  = "o" // opens the region at the generation
)

// home is a worker's region record dst:wreg:<id>, "<gen>:<region>": the
// region the worker lives in and the generation of that choice, which
// every move increases. A legacy record "<region>" is generation 0.
type home struct {
	raw    string // the stored value, "" when there is none
	gen    int64
	region string // "" when there is no record
}

// parseHome reads a stored region record ("" for none).
func parseHome(raw string) (home, error) {
	if raw == "" {
		return home{}, nil
	}
	h := home{raw: raw, region: raw}
	if g, r, ok := strings.Cut(raw, ":"); ok {
		gen, err := strconv.ParseInt(g, 10, 64)
		if err != nil || gen < 0 {
			return home{}, fmt.Errorf("corrupt region record %q", raw)
		}
		h.gen, h.region = gen, r
	}
	if !validRegion(h.region) {
		return home{}, fmt.Errorf("corrupt region record %q", raw)
	}
	return h, nil
}

// next is the record of a move to region: the next generation.
func (h home) next(region string) home {
	n := home{gen: h.gen + 1, region: region}
	n.raw = strconv.FormatInt(n.gen, 10) + ":" + region
	return n
}

// readHome returns the region record of worker id; no record is the zero
// home.
func (s *Store) readHome(ctx context.Context, id string) (home, error) {
	raw, err := s.rdb.Get(ctx, workerRegionKey(id)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return home{}, wrapErr("read worker region", err)
	}
	h, err := parseHome(raw)
	if err != nil {
		return home{}, fmt.Errorf("worker %s: %w", id, err)
	}
	return h, nil
}

// workerRegion returns the region of worker id, or an ENOTFOUND error.
func (s *Store) workerRegion(ctx context.Context, id string) (string, error) {
	h, err := s.readHome(ctx, id)
	if err == nil && h.region == "" {
		err = notFound("worker %s not found", id)
	}
	return h.region, err
}

// moveHome makes region the home of worker id, whose record was h, with
// profile next: it closes h's region at h's generation
// (refusing, unless the worker stays in that region, while the timeline
// there holds a booking that may not be over), switches the record to the
// next generation, and opens region at it with the profile. It reports
// whether the worker had no profile before, and errMoved when another
// writer moved the record on (the caller starts over).
func (s *Store) moveHome(ctx context.Context, h home, id, region, next string) (created bool, err error) {
	// The region joins the list of regions whose rosters ListWorkers
	// reads before anything changes, so a worker is never in a roster
	// that is not listed (a region is never removed from it).
	if err := s.rdb.SAdd(ctx, regionsKey, region).Err(); err != nil {
		return false, wrapErr("list worker region", err)
	}
	existed := false
	if h.region != "" {
		if existed, err = s.closeRegion(ctx, h, id, h.region != region); err != nil {
			return false, err
		}
	}
	n := h.next(region)
	ok, err := s.scripts.home.Run(ctx, s.rdb, []string{workerRegionKey(id)}, h.raw, n.raw).Bool()
	if err != nil {
		return false, wrapErr("switch worker region", err)
	}
	if !ok {
		return false, errMoved
	}
	cur, _, err := s.profileCAS(ctx, n.change(id, fenceOpen), func(string) (string, error) { return next, nil })
	if err != nil {
		return false, err
	}
	return !existed && cur == "", nil
}

// closeRegion closes h's region for worker id at h's generation: its
// profile and index entry go and its version is bumped, so that no
// reservation made from an earlier read succeeds and no write at h's
// generation lands there again. With busy, a timeline holding a booking
// that may not be over (it starts after now minus doorstep.MaxDuration)
// refuses with an EINVALID error on "home", even if the region is closed
// already (which is otherwise a no-op). It reports whether there was a
// profile.
func (s *Store) closeRegion(ctx context.Context, h home, id string, busy bool) (existed bool, err error) {
	ch := h.change(id, fenceClose)
	if busy {
		ch.busySince = strconv.FormatInt(s.now().Add(-doorstep.MaxDuration).UnixMilli(), 10)
	}
	cur, res, err := s.profileCAS(ctx, ch, nil)
	switch {
	case err != nil:
		return false, err
	case res.status == "busy":
		return false, invalid("home", "worker %s has %d bookings in region %s that may not be over; cancel or reassign them before moving the worker's home to another region", id, res.n, h.region)
	}
	return res.status == "ok" && cur != "", nil
}

// change is a profile write for worker id in h's region under fence at
// h's generation.
func (h home) change(id, fence string) profileChange {
	return profileChange{region: h.region, id: id, fence: fence, gen: h.gen}
}

// profileCAS reads the worker's profile in ch's region and runs ch with
// it as the expected profile and, unless edit is nil, with what edit
// makes of it (the new profile, "" to delete it), moving the worker's
// index entries from the cells of the old profile to those of the new
// (indexCells), re-reading while the profile changes under it. It returns the
// profile it read and the script's answer ("ok", "closed" or "busy"),
// errMoved when the fence refused, or edit's error.
func (s *Store) profileCAS(ctx context.Context, ch profileChange, edit func(cur string) (next string, err error)) (string, profileResult, error) {
	for range maxCASAttempts {
		cur, _, err := s.readProfile(ctx, ch.region, ch.id)
		if err != nil {
			return "", profileResult{}, err
		}
		ch.expect = cur
		if edit != nil {
			if ch.next, err = edit(cur); err != nil {
				return "", profileResult{}, err
			}
		}
		if ch.oldCells, err = indexCells(cur); err != nil {
			return "", profileResult{}, err
		}
		if ch.newCells, err = indexCells(ch.next); err != nil {
			return "", profileResult{}, err
		}
		res, err := s.casProfile(ctx, ch)
		switch {
		case err != nil:
			return "", profileResult{}, err
		case res.status == "moved":
			return "", res, errMoved
		case res.status != "retry":
			return cur, res, nil
		}
	}
	return "", profileResult{}, tooBusy(ch.id)
}
