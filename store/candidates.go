package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// WorkerRef names a worker and the region its keys live in, as found in the
// position index.
type WorkerRef struct {
	ID     string
	Region string
}

// Candidate is a worker as the matcher needs it: the profile, the version
// to pin when reserving (Change.Expect), and the worker's confirmed
// bookings in the range asked for, sorted by start. Worker may be shared
// with other calls (decoded profiles are cached): read it, never modify it.
type Candidate struct {
	Worker   *doorstep.Worker
	Version  int64
	Bookings []*doorstep.Booking
}

// WorkerIDsInCells returns the workers indexed in cells (at
// geo.IndexResolution), in one pipelined round trip of one SUNION per
// region: grouped by region in the order the regions first appear in
// cells, sorted within a region, each worker once. The index may list a
// worker in a cell it has just left (see the package documentation): rank
// on the profile's position.
//
// One command per region, not one SMEMBERS per cell: a search step of a
// sparse fleet reads a thousand or more cells that are nearly all empty,
// and a command per cell made every booking round cost thousands of
// commands. Redis runs them in a few milliseconds, but it runs one command
// at a time for every client, and the embedded server (see OpenEmbedded)
// pays some 10-15 us per command: 30 concurrent bookings of one worker
// queued seconds of work behind it and were answered 503 at the request
// deadline. A region's cells share its hash tag, so SUNION stays within
// one Redis Cluster slot.
//
// On Redis Cluster a search near a region's edge reads cells of the
// neighbouring regions, whose slots may live on another master. The region
// of the request (WithSearchRegion; without it the region of cells[0])
// must answer; a neighbouring region that
// is unavailable (its master is being failed over) is left out, so that a
// failover of one master does not take its neighbours' bookings down. What
// is lost is only the workers in those cells: the ones homed there cannot
// be booked while their master is down anyway (Apply runs in their home's
// slot), and a worker of another region reported there is missed until
// the failover ends (docs/scaling.md, "What a failover costs"). The
// neighbours are read beside the own region, within neighbourTimeout, so
// that a dead master's retries do not eat the request's deadline.
func (s *Store) WorkerIDsInCells(ctx context.Context, cells []geo.Cell) ([]WorkerRef, error) {
	if len(cells) == 0 {
		return nil, nil
	}
	var regions []string
	keys := make(map[string][]string)
	for _, c := range cells {
		r := cellRegion(c)
		if _, ok := keys[r]; !ok {
			regions = append(regions, r)
		}
		keys[r] = append(keys[r], cellKey(c))
	}
	// must is the index of the region that must answer: the request's,
	// first; -1 when none of its cells is read here.
	must := 0
	if own := searchRegion(ctx); own != "" {
		must = slices.Index(regions, own)
		if must > 0 {
			regions[0], regions[must] = regions[must], regions[0]
			must = 0
		}
	}
	cmds := make([]*redis.StringSliceCmd, len(regions))
	if _, cluster := s.rdb.(*redis.ClusterClient); cluster && len(regions) > 1 {
		s.unionNeighbours(ctx, regions, keys, cmds)
	} else {
		pipe := s.rdb.Pipeline()
		for i, r := range regions {
			cmds[i] = pipe.SUnion(ctx, keys[r]...)
		}
		execPipe(ctx, pipe) // the errors are the commands' own
	}
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && (i == must || !isUnavailable(err) || ctx.Err() != nil) {
			return nil, wrapErr(fmt.Sprintf("read %d index cells", len(cells)), err)
		}
	}
	var refs []WorkerRef
	seen := make(map[string]bool)
	for _, cmd := range cmds {
		if cmd.Err() != nil {
			continue // a neighbouring region being failed over (see above)
		}
		members := cmd.Val()
		slices.Sort(members)
		for _, m := range members {
			ref, ok := parseMember(m)
			if !ok || seen[m] {
				continue
			}
			seen[m] = true
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

// LoadCandidates returns, for each of refs that still has a profile (refs
// whose worker was retired or moved away are skipped; duplicates are read
// once), the profile, its version and its confirmed bookings that start in
// [from, to], sorted by start. It takes two pipelined round trips: versions,
// profiles and timelines, then bookings. A booking that starts before from
// may still run past it: widen from by doorstep.MaxDuration to see every
// booking that overlaps the range.
//
// Every worker's version is read before its profile and timeline, so that
// a change landing in between can only make an Apply pinned to this version
// fail, never succeed on a stale view.
func (s *Store) LoadCandidates(ctx context.Context, refs []WorkerRef, from, to time.Time) ([]Candidate, error) {
	refs = uniqueRefs(refs)
	for _, r := range refs {
		if !validRegion(r.Region) {
			return nil, fmt.Errorf("load candidates: worker %s: invalid region %q", r.ID, r.Region)
		}
		if err := checkWorkerID(r.ID); err != nil {
			return nil, fmt.Errorf("load candidates: %w", err)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	type reads struct {
		ver, prof *redis.StringCmd
		tl        *redis.StringSliceCmd
	}
	rng := scoreRange(from, to)
	pipe := s.rdb.Pipeline()
	rs := make([]reads, len(refs))
	for i, r := range refs {
		rs[i].ver = pipe.Get(ctx, versionKey(r.Region, r.ID))
		rs[i].prof = pipe.Get(ctx, workerKey(r.Region, r.ID))
		rs[i].tl = pipe.ZRangeByScore(ctx, timelineKey(r.Region, r.ID), rng)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr(fmt.Sprintf("load %d candidates", len(refs)), err)
	}
	cands := make([]Candidate, 0, len(refs))
	var ids []string
	var ends []int // ids[ends[i-1]:ends[i]] is the timeline of cands[i]
	for i, r := range refs {
		if rs[i].prof.Err() != nil {
			continue // retired or moved away
		}
		w, err := s.profiles.decode(r.ID, rs[i].prof.Val())
		if err != nil {
			return nil, fmt.Errorf("load candidate %s: %w", r.ID, err)
		}
		v, err := parseVersion(rs[i].ver)
		if err != nil {
			return nil, fmt.Errorf("load candidate %s: %w", r.ID, err)
		}
		cands = append(cands, Candidate{Worker: w, Version: v})
		ids = append(ids, rs[i].tl.Val()...)
		ends = append(ends, len(ids))
	}
	bookings, err := s.loadBookings(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load candidates: %w", err)
	}
	start := 0
	for i := range cands {
		cands[i].Bookings = confirmed(bookings[start:ends[i]])
		start = ends[i]
	}
	return cands, nil
}

func uniqueRefs(refs []WorkerRef) []WorkerRef {
	seen := make(map[WorkerRef]bool, len(refs))
	out := make([]WorkerRef, 0, len(refs))
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// scoreRange is the timeline range of starts in [from, to].
func scoreRange(from, to time.Time) *redis.ZRangeBy {
	return &redis.ZRangeBy{
		Min: strconv.FormatInt(from.UnixMilli(), 10),
		Max: strconv.FormatInt(to.UnixMilli(), 10),
	}
}

// confirmed returns the confirmed bookings of bs (which may hold nils for
// bookings that vanished), sorted by start.
func confirmed(bs []*doorstep.Booking) []*doorstep.Booking {
	var out []*doorstep.Booking
	for _, b := range bs {
		if b != nil && b.Status == doorstep.StatusConfirmed {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return out
}

// neighbourTimeout bounds, on Redis Cluster, the read of the neighbouring
// regions' index cells (see WorkerIDsInCells).
const neighbourTimeout = 250 * time.Millisecond

// unionNeighbours fills cmds with the SUNION of each region's keys: the
// first region's with ctx, the others' at the same time in one pipeline
// bounded by neighbourTimeout.
func (s *Store) unionNeighbours(ctx context.Context, regions []string, keys map[string][]string, cmds []*redis.StringSliceCmd) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		nctx, cancel := context.WithTimeout(ctx, neighbourTimeout)
		defer cancel()
		pipe := s.rdb.Pipeline()
		for i, r := range regions[1:] {
			cmds[i+1] = pipe.SUnion(nctx, keys[r]...)
		}
		execPipe(nctx, pipe)
	}()
	cmds[0] = s.rdb.SUnion(ctx, keys[regions[0]]...)
	<-done
}
