package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/redis/go-redis/v9"
)

// WorkerRef names a worker and the region its keys live in, as found in the
// position index.
type WorkerRef struct {
	ID     string
	Region string
}

// Candidate is a worker as the matcher needs it: the profile, the version
// to pin when reserving (Change.Expect), the region its keys live in (its
// home's, geo.RegionOf), and the worker's confirmed bookings in the range
// asked for, sorted by start, with Timeline their stops
// (schedule.TimelineOf) when the store made them already (nil does not
// mean none: make them from Bookings). Worker, the bookings and the
// timeline may be shared with other calls (the store's read model keeps
// them): read them, never modify them.
type Candidate struct {
	Worker   *doorstep.Worker
	Version  int64
	Region   string
	Bookings []*doorstep.Booking
	Timeline schedule.Timeline
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
	regions, byRegion, must := groupCells(ctx, cells)
	if refs, ok := s.idsInCells(ctx, regions, byRegion); ok {
		return refs, nil
	}
	keys := make(map[string][]string, len(regions))
	for r, cs := range byRegion {
		for _, c := range cs {
			keys[r] = append(keys[r], cellKey(c))
		}
	}
	cmds := make([]*redis.StringSliceCmd, len(regions))
	_, cluster := s.rdb.(*redis.ClusterClient)
	switch {
	case cluster && len(regions) > 1:
		s.unionNeighbours(ctx, regions, keys, cmds)
	case !cluster && s.mini == nil && len(cells) <= maxMembersCells:
		return s.membersOfCells(ctx, regions, keys, must)
	default:
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
	return s.refsOf(cmds), nil
}

// groupCells groups cells by region, the regions in the order they first
// appear but for the search's own region (WithSearchRegion), first; must
// is the index of that region, which must answer (-1 when none of its
// cells is read).
//
// The slices of byRegion may be cells itself (read them only): a city's
// search reads cells of one region, which need no copy.
func groupCells(ctx context.Context, cells []geo.Cell) (regions []string, byRegion map[string][]geo.Cell, must int) {
	if len(cells) > 0 {
		first := cellRegion(cells[0])
		if !slices.ContainsFunc(cells[1:], func(c geo.Cell) bool { return cellRegion(c) != first }) {
			must = -1
			if own := searchRegion(ctx); own == "" || own == first {
				must = 0
			}
			return []string{first}, map[string][]geo.Cell{first: cells}, must
		}
	}
	byRegion = make(map[string][]geo.Cell)
	for _, c := range cells {
		r := cellRegion(c)
		if _, ok := byRegion[r]; !ok {
			regions = append(regions, r)
		}
		byRegion[r] = append(byRegion[r], c)
	}
	if own := searchRegion(ctx); own != "" {
		must = slices.Index(regions, own)
		if must > 0 {
			regions[0], regions[must] = regions[must], regions[0]
			must = 0
		}
	}
	return regions, byRegion, must
}

// maxMembersCells bounds the steps whose cells WorkerIDsInCells reads one
// SMEMBERS a cell rather than one SUNION a region. In a dense city a
// SUNION of a step's cells costs Redis a set built and freed for thousands
// of members — measured, a SUNION of 132 cells of a 10,000-worker city
// took 8.9 ms of redis-server's time, the 132 SMEMBERS 1.9 ms — and the
// members come sorted and deduplicated here anyway. A wide step of a
// sparse fleet (hundreds to thousands of nearly empty cells) costs less as
// one SUNION, as does any step on the embedded server, which pays some
// 10-15 us a command.
const maxMembersCells = 256

// membersOfCells is WorkerIDsInCells by one SMEMBERS a cell, in one
// pipeline (a single Redis server: the regions' slots are all there).
func (s *Store) membersOfCells(ctx context.Context, regions []string, keys map[string][]string, must int) ([]WorkerRef, error) {
	pipe := s.rdb.Pipeline()
	perRegion := make([][]*redis.StringSliceCmd, len(regions))
	for i, r := range regions {
		for _, k := range keys[r] {
			perRegion[i] = append(perRegion[i], pipe.SMembers(ctx, k))
		}
	}
	execPipe(ctx, pipe) // the errors are the commands' own
	cmds := make([]*redis.StringSliceCmd, len(regions))
	for i, cs := range perRegion {
		n := 0
		for _, c := range cs {
			n += len(c.Val())
		}
		members := make([]string, 0, n)
		var err error
		for _, c := range cs {
			if c.Err() != nil && err == nil {
				err = c.Err()
			}
			members = append(members, c.Val()...)
		}
		if err != nil && (i == must || !isUnavailable(err) || ctx.Err() != nil) {
			return nil, wrapErr(fmt.Sprintf("read %d index cells", len(keys[regions[i]])), err)
		}
		cmds[i] = redis.NewStringSliceCmd(ctx)
		if err != nil {
			cmds[i].SetErr(err)
			continue
		}
		// A worker listed under two cells of the step: once, as SUNION
		// gives it (refsOf sorts).
		slices.Sort(members)
		cmds[i].SetVal(slices.Compact(members))
	}
	return s.refsOf(cmds), nil
}

// refsOf turns the members of each region's cells (cmds, one a region,
// the request's first; a failed one left out) into worker refs, sorted
// within a region, each worker once.
func (s *Store) refsOf(cmds []*redis.StringSliceCmd) []WorkerRef {
	n := 0
	for _, cmd := range cmds {
		n += len(cmd.Val())
	}
	refs := make([]WorkerRef, 0, n)
	var seen map[string]bool // one SUNION's members are distinct
	if len(cmds) > 1 {
		seen = make(map[string]bool, n)
	}
	for _, cmd := range cmds {
		if cmd.Err() != nil {
			continue // a neighbouring region being failed over (see above)
		}
		members := cmd.Val()
		slices.Sort(members)
		for _, m := range members {
			ref, ok := s.cands.parseMember(m)
			if !ok || seen[m] {
				continue
			}
			if seen != nil {
				seen[m] = true
			}
			refs = append(refs, ref)
		}
	}
	return refs
}

// LoadCandidates returns, for each of refs that still has a profile (refs
// whose worker was retired or moved away are skipped; duplicates are read
// once), the profile, its version and its confirmed bookings that start in
// [from, to], sorted by start. A booking that starts before from may still
// run past it: widen from by doorstep.MaxDuration to see every booking that
// overlaps the range.
//
// It reads every worker's version first, in one pipelined round trip (one
// MGET per region: a region's keys share its hash slot; from the mirror,
// after one read of the change feeds, when the store follows them), and
// serves the workers whose version has not moved from the store's read
// model (readModel); only the others are read again — profile and
// timeline, then bookings, two more round trips — and kept at the version
// read. So a
// worker's version is always read before its profile and timeline, and a
// change landing in between can only make an Apply pinned to this version
// fail, never succeed on a stale view.
func (s *Store) LoadCandidates(ctx context.Context, refs []WorkerRef, from, to time.Time) ([]Candidate, error) {
	return s.load(ctx, nil, refs, from, to, nil)
}

// LoadCells is one step of a candidate search: LoadCandidates for the
// workers WorkerIDsInCells lists in cells, leaving out the workers seen
// holds (loaded by an earlier step: a worker is indexed under two cells)
// and recording the others in seen, and returning only those keep accepts
// (nil: all) and, when keep is a Narrow with a Drop, does not drop, in the
// order WorkerIDsInCells lists them. keep sees every new worker once, so a
// search may count the ones it turns away. An ErrSeenReset asks the
// caller to search again with NewSeenByID.
//
// A store following the change feeds (FollowChanges) serves it from its
// mirror, touching only the memory of the workers it reads: no list of
// ids is built, parsed or sorted but that of the workers keep accepts.
func (s *Store) LoadCells(ctx context.Context, seen *Seen, cells []geo.Cell, from, to time.Time, keep Keep) ([]Candidate, error) {
	if len(cells) == 0 {
		return nil, nil
	}
	if n, ok := keep.(*Narrow); ok {
		n.step()
		defer n.flush()
	}
	if cands, ok, err := s.loadCellsMirrored(ctx, seen, cells, from, to, keep); ok || err != nil {
		return cands, err
	}
	refs, err := s.WorkerIDsInCells(ctx, cells)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, seen, refs, from, to, keep)
}

func (s *Store) load(ctx context.Context, seen *Seen, refs []WorkerRef, from, to time.Time, keep Keep) ([]Candidate, error) {
	refs = uniqueRefs(refs)
	for _, r := range refs {
		if !s.cands.validRegion(r.Region) {
			return nil, fmt.Errorf("load candidates: worker %s: invalid region %q", r.ID, r.Region)
		}
		if err := checkWorkerID(r.ID); err != nil {
			return nil, fmt.Errorf("load candidates: %w", err)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	prev := make([]*readEntry, len(refs))
	s.cands.lookup(refs, prev)
	versions, err := s.versions(ctx, refs, prev)
	if err != nil {
		return nil, err
	}
	lo, hi := from.UnixMilli(), to.UnixMilli()
	now := time.Now()
	entries := make([]*readEntry, len(refs))
	stale := s.cands.serving(prev, versions, lo, hi, now, entries)
	if err := s.readAgain(ctx, refs, versions, prev, stale, entries, from, to, now); err != nil {
		return nil, err
	}
	var cands []Candidate
	if keep == nil {
		cands = make([]Candidate, 0, len(refs))
	}
	for i, e := range entries {
		if e == nil {
			continue // retired or moved away
		}
		if seen != nil {
			first, err := seen.first(e, refs[i].ID)
			if err != nil {
				return nil, err
			}
			if !first {
				continue
			}
		}
		if c, ok := s.candidate(keep, e, versions[i], refs[i].Region, lo, hi); ok {
			cands = append(cands, c)
		}
	}
	return cands, nil
}

// candidate is the worker of read-model entry e as a Candidate at
// version, of region, with its bookings that start in [lo, hi] (unix ms):
// false when keep turns it away or drops it (counted by keep).
func (s *Store) candidate(keep Keep, e *readEntry, version int64, region string, lo, hi int64) (Candidate, bool) {
	if !keeps(keep, e, &s.traits) {
		return Candidate{}, false
	}
	bs, tl := e.bookingsIn(lo, hi)
	if drops(keep, e, tl, &s.traits) {
		return Candidate{}, false
	}
	return Candidate{Worker: e.w, Version: version, Region: region, Bookings: bs, Timeline: tl}, true
}

// versions reads the versions of refs (0 for none): from the mirror for
// the workers of the regions it follows (mirrorVersions), the others in
// one pipelined round trip, one MGET per region, with the version keys the
// read model's entries prev (nil for none) hold.
func (s *Store) versions(ctx context.Context, refs []WorkerRef, prev []*readEntry) ([]int64, error) {
	type group struct {
		args []any // "mget", then the keys
		at   []int
		cmd  *redis.Cmd
	}
	out := make([]int64, len(refs))
	// The mirror's versions, where it follows the worker's region; the
	// others from Redis.
	idx, mirrored := s.mirrorVersions(ctx, refs, out)
	if mirrored && len(idx) == 0 {
		return out, nil
	}
	if !mirrored {
		idx = make([]int, len(refs))
		for i := range idx {
			idx[i] = i
		}
	}
	groups := map[string]*group{}
	var order []*group
	for k, i := range idx {
		r := refs[i]
		g := groups[r.Region]
		if g == nil {
			// Sized for the rest of refs: a search's refs are mostly of
			// one region.
			g = &group{args: make([]any, 1, 1+len(idx)-k), at: make([]int, 0, len(idx)-k)}
			g.args[0] = "mget"
			groups[r.Region] = g
			order = append(order, g)
		}
		if e := prev[i]; e != nil && e.vkey != nil {
			g.args = append(g.args, e.vkey)
		} else {
			g.args = append(g.args, versionKey(r.Region, r.ID))
		}
		g.at = append(g.at, i)
	}
	pipe := s.rdb.Pipeline()
	for _, g := range order {
		g.cmd = pipe.Do(ctx, g.args...)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr(fmt.Sprintf("read %d candidates' versions", len(refs)), err)
	}
	for _, g := range order {
		vals, err := g.cmd.Slice()
		if err != nil {
			return nil, wrapErr(fmt.Sprintf("read %d candidates' versions", len(refs)), err)
		}
		for j, v := range vals {
			if v == nil {
				continue
			}
			str, _ := v.(string)
			n, err := strconv.ParseInt(str, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("load candidate %s: corrupt version %q", refs[g.at[j]].ID, str)
			}
			out[g.at[j]] = n
		}
	}
	return out, nil
}

// readMargin widens the timeline range read for the read model, so that
// the next requests' ranges (the clock moving, a later latest start) are
// served from it too.
const readMargin = 24 * time.Hour

// readAgain reads the workers refs[stale] (profile, timeline over [from,
// to] widened by readMargin, bookings), sets entries[stale] (nil for a
// worker without a profile) and keeps them in the read model at the
// versions read before.
func (s *Store) readAgain(ctx context.Context, refs []WorkerRef, versions []int64, prev []*readEntry, stale []int, entries []*readEntry, from, to, now time.Time) error {
	if len(stale) == 0 {
		return nil
	}
	wideFrom, wideTo := from.Add(-time.Hour), to.Add(readMargin)
	// Counted before the reads: a reset during them (a redaction in this
	// process) leaves the entries serving nothing.
	resets := s.cands.resets.Load()
	type reads struct {
		prof *redis.StringCmd
		tl   *redis.StringSliceCmd
	}
	rng := scoreRange(wideFrom, wideTo)
	pipe := s.rdb.Pipeline()
	rs := make([]reads, len(stale))
	for k, i := range stale {
		rs[k].prof = pipe.Get(ctx, workerKey(refs[i].Region, refs[i].ID))
		rs[k].tl = pipe.ZRangeByScore(ctx, timelineKey(refs[i].Region, refs[i].ID), rng)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return wrapErr(fmt.Sprintf("load %d candidates", len(stale)), err)
	}
	var ids []string
	ends := make([]int, len(stale)) // ids[ends[k-1]:ends[k]] is the timeline of stale[k]
	for k, i := range stale {
		if rs[k].prof.Err() == nil {
			w, h, err := s.cands.decode(prev[i], rs[k].prof.Val())
			if err != nil {
				return fmt.Errorf("load candidate %s: %w", refs[i].ID, err)
			}
			var vkey any
			if prev[i] != nil {
				vkey = prev[i].vkey
			}
			if vkey == nil {
				vkey = versionKey(refs[i].Region, refs[i].ID)
			}
			entries[i] = &readEntry{region: refs[i].Region, version: versions[i], profile: h, w: w,
				from: wideFrom.UnixMilli(), to: wideTo.UnixMilli(), until: now.Add(serveFor()), vkey: vkey, resets: resets}
			s.traits.of(entries[i])
			ids = append(ids, rs[k].tl.Val()...)
		}
		ends[k] = len(ids)
	}
	bookings, err := s.loadBookings(ctx, ids)
	if err != nil {
		return fmt.Errorf("load candidates: %w", err)
	}
	start := 0
	for k, i := range stale {
		e := entries[i]
		if e == nil {
			s.cands.drop(refs[i])
			continue
		}
		e.bookings = confirmed(bookings[start:ends[k]])
		e.stops = schedule.TimelineOf(e.bookings)
		start = ends[k]
		if versions[i] != 0 {
			s.cands.put(e, refs[i].ID)
		}
	}
	return nil
}

func uniqueRefs(refs []WorkerRef) []WorkerRef {
	if distinctRuns(refs) {
		return refs
	}
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

// distinctRuns reports, without a map of every ref, whether refs are
// distinct because they come as WorkerIDsInCells gives them: each region
// in one run, ids strictly increasing within it.
func distinctRuns(refs []WorkerRef) bool {
	var done []string // regions whose run ended
	for i := 1; i < len(refs); i++ {
		prev, r := refs[i-1], refs[i]
		if r.Region == prev.Region {
			if r.ID <= prev.ID {
				return false
			}
			continue
		}
		if slices.Contains(done, r.Region) {
			return false
		}
		done = append(done, prev.Region)
	}
	return true
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
