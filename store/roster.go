package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// This file lists workers: each region keeps a roster of the ids of the
// workers whose profile it holds (rosterKey), written by profile.lua in
// the same step as the profile, and dst:regions names every region that
// ever held one (moveHome adds a region before it opens it).

// MaxWorkerPage bounds WorkerQuery.Limit.
const MaxWorkerPage = 1000

// WorkerQuery selects a page of workers for ListWorkers.
type WorkerQuery struct {
	// After lists the workers whose id sorts after it (byte order); ""
	// starts from the first.
	After string
	// Limit is the most workers in the page, 1 to MaxWorkerPage.
	Limit int
	// Region, when set, keeps the workers whose home region (the H3
	// resolution-3 parent of their home cell, geo.RegionOf) it is.
	Region string
	// Skill, when set, keeps the workers who have it.
	Skill string
}

// WorkerPage is a page of ListWorkers.
type WorkerPage struct {
	// Workers are in order of id.
	Workers []*doorstep.Worker
	// Next is the After of the next page; "" when there is none. A page
	// may hold fewer than Limit workers (a filter that matches few of
	// them) and still have a next one.
	Next string
}

// ValidRegion reports whether s is a region id as WorkerQuery.Region
// takes it: an H3 resolution-3 cell in canonical form (15 lower-case
// hexadecimal digits).
func ValidRegion(s string) bool {
	if !validRegion(s) {
		return false
	}
	c, _ := geo.ParseCell(s)
	return c.Resolution() == geo.RegionResolution
}

// ListWorkers returns a page of the workers, in order of id. It reads the
// rosters of the regions (one with q.Region, else every region listed in
// dst:regions), merging them: a page costs one ZRANGEBYLEX per region
// and one GET per worker examined, pipelined, O(regions × page) in
// all. A skill filter is applied to the profiles read, so a rare skill
// examines many workers: a call examines at most max(10 × Limit, 1000)
// and then answers what it found with a Next, so that no call is
// unbounded.
//
// Pages are consistent as a walk by id: a worker that exists from the
// first page to the last, and keeps its id, is listed exactly once, even
// if its home moves (its id is looked up again where its roster entry no
// longer holds a profile). Workers created or deleted during the walk may
// or may not be listed.
func (s *Store) ListWorkers(ctx context.Context, q WorkerQuery) (WorkerPage, error) {
	switch {
	case q.Limit < 1 || q.Limit > MaxWorkerPage:
		return WorkerPage{}, invalid("limit", "limit must be in [1, %d]", MaxWorkerPage)
	case q.Region != "" && !ValidRegion(q.Region):
		return WorkerPage{}, invalid("region", "region must be an H3 resolution-3 cell id such as 831f1dfffffffff")
	}
	regions := []string{q.Region}
	if q.Region == "" {
		var err error
		if regions, err = s.rdb.SMembers(ctx, regionsKey).Result(); err != nil {
			return WorkerPage{}, wrapErr("list worker regions", err)
		}
		slices.Sort(regions)
	}
	budget := max(10*q.Limit, 1000)
	var page WorkerPage
	after, examined := q.After, 0
	for {
		refs, more, err := s.mergeRosters(ctx, regions, after, q.Limit-len(page.Workers)+1)
		if err != nil {
			return WorkerPage{}, err
		}
		ws, err := s.loadListed(ctx, refs)
		if err != nil {
			return WorkerPage{}, err
		}
		for i, w := range ws {
			if len(page.Workers) == q.Limit {
				page.Next = after // refs[i] is beyond the page
				return page, nil
			}
			after, examined = refs[i].ID, examined+1
			if w != nil && (q.Region == "" || regionOf(w) == q.Region) && (q.Skill == "" || slices.Contains(w.Skills, q.Skill)) {
				page.Workers = append(page.Workers, w)
			}
			if examined >= budget && (i < len(ws)-1 || more) {
				page.Next = after
				return page, nil
			}
		}
		if !more {
			return page, nil
		}
	}
}

// mergeRosters returns the first n worker ids after after (byte order)
// over the rosters of regions, each with the region that listed it (the
// first, should two list it), and whether any roster may hold more.
func (s *Store) mergeRosters(ctx context.Context, regions []string, after string, n int) ([]WorkerRef, bool, error) {
	from := "-"
	if after != "" {
		from = "(" + after
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(regions))
	for i, r := range regions {
		cmds[i] = pipe.ZRangeByLex(ctx, rosterKey(r), &redis.ZRangeBy{Min: from, Max: "+", Count: int64(n)})
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, false, wrapErr("read rosters", err)
	}
	var refs []WorkerRef
	more := false
	for i, c := range cmds {
		ids := c.Val()
		more = more || len(ids) == n
		for _, id := range ids {
			refs = append(refs, WorkerRef{ID: id, Region: regions[i]})
		}
	}
	slices.SortStableFunc(refs, func(a, b WorkerRef) int { return strings.Compare(a.ID, b.ID) })
	refs = slices.CompactFunc(refs, func(a, b WorkerRef) bool { return a.ID == b.ID })
	if len(refs) > n {
		refs, more = refs[:n], true
	}
	return refs, more, nil
}

// loadListed reads the profiles of refs, nil for a worker that no longer
// exists. A roster entry whose region no longer holds the profile (the
// worker moved since the roster was read) is looked up again by id.
func (s *Store) loadListed(ctx context.Context, refs []WorkerRef) ([]*doorstep.Worker, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(refs))
	for i, r := range refs {
		cmds[i] = pipe.Get(ctx, workerKey(r.Region, r.ID))
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr("read listed workers", err)
	}
	ws := make([]*doorstep.Worker, len(refs))
	for i, c := range cmds {
		if data := c.Val(); data != "" {
			w, err := decodeWorker(data)
			if err != nil {
				return nil, fmt.Errorf("list worker %s: %w", refs[i].ID, err)
			}
			ws[i] = w
			continue
		}
		w, _, err := s.GetWorker(ctx, refs[i].ID)
		switch {
		case doorstep.ErrorCode(err) == doorstep.ENOTFOUND:
		case err != nil:
			return nil, err
		default:
			ws[i] = w
		}
	}
	return ws, nil
}

// rostersKey marks a store whose profiles are all in rosters: set by
// IndexRosters when it has scanned them.
const rostersKey = keyPrefix + "rosters"

// IndexRosters adds to the rosters the workers whose profiles were
// written before rosters existed (by an older Doorstep), scanning every
// profile key once: O(keys in Redis), for an upgrade, not for a request.
// Each addition is one script in the worker's region that adds the id
// only while the profile is there, so it races with no write. A store it
// has indexed is marked (dst:rosters), and it does nothing on a marked
// store: cmd/doorstep serve calls it at every start. It returns how many
// profiles it saw. A server of an older version still writing during a
// rolling upgrade writes no roster entries: delete dst:rosters and restart
// one server once the upgrade is over.
func (s *Store) IndexRosters(ctx context.Context) (int, error) {
	done, err := s.rdb.Exists(ctx, rostersKey).Result()
	if err != nil {
		return 0, wrapErr("read rosters marker", err)
	}
	if done == 1 {
		return 0, nil
	}
	var n atomic.Int64 // the masters of a cluster are scanned at once
	err = s.scanKeys(ctx, keyPrefix+"{r:*}:w:*", "string", func(_ redis.Cmdable, key string) error {
		rest, _ := strings.CutPrefix(key, keyPrefix+"{r:")
		region, id, ok := strings.Cut(rest, "}:w:")
		if !ok || !validRegion(region) || strings.HasSuffix(id, ":ver") || checkWorkerID(id) != nil {
			return nil
		}
		if err := s.rdb.SAdd(ctx, regionsKey, region).Err(); err != nil {
			return wrapErr("list worker region", err)
		}
		added, err := s.scripts.roster.Run(ctx, s.rdb, []string{key, rosterKey(region)}, id).Int()
		if err != nil {
			return wrapErr("index roster", err)
		}
		n.Add(int64(added))
		return nil
	})
	if err != nil {
		return int(n.Load()), err
	}
	return int(n.Load()), wrapErr("mark rosters", s.rdb.Set(ctx, rostersKey, "1", 0).Err())
}
