package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// changesKey is a region's change feed: a stream with an entry for every
// bump of the version of a worker whose home is the region, written in the
// same script as the bump (apply.lua, profile.lua), and one for every
// worker of another region that entered or left one of the region's cells
// (touchForeign). An entry holds w (the worker's id) and v (its new
// version); a profile change adds c, the cells that now index the worker
// ("" once the profile is gone), and a foreign worker's entry r, its home
// region. An entry with an empty w marks where a mirror started following
// a feed that had none.
func changesKey(region string) string { return regionTag(region) + "chg" }

// changesMax bounds a change feed, approximately (XADD MAXLEN ~). A mirror
// that falls further behind than that finds the entry it stopped at gone,
// and reads the region again. The embedded server keeps embeddedChangesMax:
// its XRANGE walks the whole stream, whatever the range asked.
const (
	changesMax         = 50_000
	embeddedChangesMax = 1_000
)

// feedMax is the bound of this store's change feeds.
func (s *Store) feedMax() int64 {
	if s.mini != nil {
		return embeddedChangesMax
	}
	return changesMax
}

// feedCells spells cells for a change feed entry: space-separated.
func feedCells(cells []geo.Cell) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.String())
	}
	return b.String()
}

// touchForeign appends to the change feed of every region other than
// ch.region that one of the worker's old or new cells lies in an entry
// saying where the worker is now, at version.
func (s *Store) touchForeign(ctx context.Context, ch profileChange, version int64) error {
	var regions []string
	for _, c := range slices.Concat(ch.oldCells, ch.newCells) {
		if r := cellRegion(c); r != ch.region && !slices.Contains(regions, r) {
			regions = append(regions, r)
		}
	}
	if len(regions) == 0 {
		return nil
	}
	cells := feedCells(ch.newCells)
	pipe := s.rdb.Pipeline()
	for _, r := range regions {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: changesKey(r), MaxLen: s.feedMax(), Approx: true,
			Values: []string{"w", ch.id, "v", strconv.FormatInt(version, 10), "c", cells, "r", ch.region}})
	}
	return wrapErr("tell the change feeds of the regions the worker entered or left", execPipe(ctx, pipe))
}

// mirror is the in-process copy of the position index and the workers'
// versions that a server following the change feeds keeps
// (FollowChanges): with it a candidate search lists the workers of its
// cells and their versions from memory, after one round trip that reads
// what the feeds of its regions hold since the last one, instead of a
// SMEMBERS or SUNION of its cells and an MGET of every worker's version.
//
// It is exact as of the read: every change committed before a search
// began is in a feed (the scripts write the entry in the same step as the
// change), and the search reads the feeds of its regions after it began
// (sync). So a search sees what the Redis index and versions would show,
// but for one thing that is not atomic in Redis either: a worker of
// another region entering or leaving a cell is written to the cell's
// region's feed after the profile script, as its index set is. And as
// ever the versions are read before the profiles and timelines they pin
// (the read model's), and an Apply pinned to a version fails if the worker
// changed since.
//
// The mirror serves a search only when it holds every region listed in
// dst:regions (complete), and the regions of the search's cells; else the
// search reads Redis as without it, and the following loop loads what is
// missing.
type mirror struct {
	on atomic.Bool
	// syncMu makes one sync at a time: concurrent searches wait for it
	// and most then need none (see syncMirror); loadMu one load.
	syncMu, loadMu sync.Mutex
	mu             sync.RWMutex
	// stampMu lets one writer at a time stamp the lists (listed.stamp),
	// under mu's read lock.
	stampMu sync.Mutex
	// workers is every worker the followed feeds name, by home region and
	// id; cells lists them by cell, sorted by region then id.
	workers  map[WorkerRef]*mirrored
	cells    map[geo.Cell][]listed
	feeds    map[string]*feed
	complete bool
	// gen numbers the mirror's numbering of its workers (mirrored.slot,
	// for Seen), drawn from numberings; next is the next slot.
	gen  uint64
	next int32
	// wanted holds regions a search needed that are not followed yet.
	wanted chan string
	// reads counts the feeds' round trips, served the listings answered
	// from memory, listTurned the workers turned away by the lists alone
	// (listed.stamp), listDropped those dropped (Narrow.DropShifts) and
	// listOutranked those outranked (Narrow.Outrank).
	reads, served, listTurned, listDropped, listOutranked atomic.Int64
	// failed is when a read of the feeds last failed (unix ns): for
	// mirrorPause after it searches read Redis, whose reads know which
	// regions may fail (a master being failed over) and which may not.
	failed, failures atomic.Int64
	// syncWaits is how long search steps waited for the feeds
	// (MirrorStats.SyncWait).
	syncWaits waits
}

// waitBounds are the upper bounds of the buckets of a waits: from a round
// trip on loopback (about 0.1 ms) to one whose reply waited for a core
// (2-10 ms under load on two cores: bench/RESULTS.md, "Where the
// 100,000-worker tail waits") or for a failover.
var waitBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond, 8 * time.Millisecond,
	16 * time.Millisecond, 32 * time.Millisecond, 64 * time.Millisecond, 128 * time.Millisecond,
}

// waits counts durations in the buckets of waitBounds (the last: over
// every bound), and sums them. Safe for concurrent use.
type waits struct {
	counts [len(waitBounds) + 1]atomic.Uint64
	sum    atomic.Int64
}

func (w *waits) observe(d time.Duration) {
	i, _ := slices.BinarySearch(waitBounds[:], d)
	w.counts[i].Add(1)
	w.sum.Add(int64(d))
}

// Waits is a histogram of durations: Counts[i] counts those up to
// Bounds[i] (and over Bounds[i-1]), the last of Counts those over every
// bound; Sum is their sum.
type Waits struct {
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

func (w *waits) snapshot() Waits {
	s := Waits{Bounds: waitBounds[:], Counts: make([]uint64, len(w.counts)), Sum: time.Duration(w.sum.Load())}
	for i := range w.counts {
		s.Counts[i] = w.counts[i].Load()
	}
	return s
}

// mirrorPause is how long searches read Redis after a read of the feeds
// failed; syncTimeout bounds one read of the feeds, which normally takes
// well under a millisecond.
const (
	mirrorPause = time.Second
	syncTimeout = neighbourTimeout
)

// mirrored is one worker as the feeds last said.
type mirrored struct {
	ref WorkerRef
	// key is ref's region and id joined by a NUL, which sorts before
	// any byte of either: ordered as the pair, in one comparison.
	key     string
	version int64 // as the feeds said
	// learnt is a version an Apply was refused at (saw): later than the
	// feeds' only when a change came without an entry.
	learnt int64
	cells  []geo.Cell
	slot   int32 // in the mirror's numbering gen
	// entry is the read model's entry last read for the worker through
	// the mirror (LoadCells), at whatever version: a search serves it
	// only at the version above.
	entry atomic.Pointer[readEntry]
}

// feed is the mirror's place in one region's change feed.
type feed struct {
	last  string    // the id of the last entry applied
	began time.Time // when the last completed read of the feed was sent
}

// syncBatch bounds the entries one read of a feed returns.
const syncBatch = 4096

func (m *mirror) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.workers, m.cells, m.feeds, m.complete, m.gen = nil, nil, nil, false, 0
}

// mirrorServes reports whether the mirror answers for the cells of
// regions, having read their feeds as syncMirror does for a search that
// began at since. A region the complete mirror does not follow yet holds
// no worker's home (those were all loaded): it is loaded here, which costs
// two round trips once, rather than left to the following loop. A feed
// that cannot be read leaves the answer to Redis, whose reads know which
// regions may fail and which may not.
func (s *Store) mirrorServes(ctx context.Context, regions []string, since time.Time) bool {
	m := &s.mirror
	if !m.on.Load() || time.Since(time.Unix(0, m.failed.Load())) < mirrorPause {
		return false
	}
	m.mu.RLock()
	complete := m.complete
	var missing []string
	for _, r := range regions {
		if m.feeds[r] == nil {
			missing = append(missing, r)
		}
	}
	m.mu.RUnlock()
	if !complete {
		return false
	}
	for _, r := range missing {
		if err := s.loadRegion(ctx, r); err != nil {
			return false
		}
	}
	began := time.Now()
	err := s.syncMirror(ctx, regions, since)
	m.syncWaits.observe(time.Since(began))
	return err == nil
}

// holds reports whether the mirror, complete, follows every one of
// regions (under m.mu): what a listing from memory needs after
// mirrorServes, the feeds having been read meanwhile.
func (m *mirror) holds(regions []string) bool {
	if !m.complete {
		return false
	}
	for _, r := range regions {
		if m.feeds[r] == nil {
			return false
		}
	}
	return true
}

// want asks the following loop to load region, without waiting.
func (m *mirror) want(region string) {
	select {
	case m.wanted <- region:
	default:
	}
}

// sync reads from the feeds of regions (those the mirror follows) the
// entries written since the mirror's place, unless a read of that feed
// sent at or after since completed already: it then holds every change
// committed before since. A feed whose place is gone (trimmed past, or the
// data lost) is dropped, to be read again by the following loop.
func (s *Store) syncMirror(ctx context.Context, regions []string, since time.Time) error {
	m := &s.mirror
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	type read struct {
		region string
		from   string
		cmd    *redis.XMessageSliceCmd
	}
	var todo []read
	m.mu.RLock()
	for _, r := range regions {
		if f := m.feeds[r]; f != nil && f.began.Before(since) && !slices.ContainsFunc(todo, func(x read) bool { return x.region == r }) {
			todo = append(todo, read{region: r, from: f.last})
		}
	}
	m.mu.RUnlock()
	for len(todo) > 0 {
		began := time.Now()
		pipe := s.rdb.Pipeline()
		rctx, cancel := context.WithTimeout(ctx, syncTimeout)
		for i := range todo {
			// From the last entry applied, inclusive: it must still be
			// there, or entries after it may be gone too.
			todo[i].cmd = pipe.XRangeN(rctx, changesKey(todo[i].region), todo[i].from, "+", syncBatch)
		}
		m.reads.Add(1)
		err := execPipe(rctx, pipe)
		cancel()
		if err != nil {
			// A search whose own context ended (its client gone, its
			// deadline passed) says nothing of Redis: only a read that
			// failed on its own pauses the mirror for every search.
			if ctx.Err() == nil {
				m.failed.Store(time.Now().UnixNano())
				m.failures.Add(1)
			}
			return wrapErr(fmt.Sprintf("read the change feeds of %d regions", len(todo)), err)
		}
		more := todo[:0]
		m.mu.Lock()
		for _, t := range todo {
			if m.land(t.region, t.from, t.cmd.Val(), began) == readPartly {
				more = append(more, read{region: t.region, from: m.feeds[t.region].last})
			}
		}
		m.mu.Unlock()
		todo = more
	}
	return nil
}

// landing is what a read of a feed did to the mirror (land).
type landing int

const (
	readWhole  landing = iota // every entry up to the read applied
	readPartly                // the first syncBatch applied: more follow
	readStale                 // not applied: the mirror moved meanwhile, or dropped the feed
)

// land applies msgs, a read of region's feed from the entry from sent at
// began, to the mirror (under m.mu, and m.syncMu, which orders the
// reads): a feed whose place is gone is dropped, to be read again by the
// following loop. A whole read records began: the mirror then holds
// every change committed before it.
func (m *mirror) land(region, from string, msgs []redis.XMessage, began time.Time) landing {
	f := m.feeds[region]
	if f == nil || f.last != from {
		return readStale // dropped, or read again meanwhile: the mirror is not behind it
	}
	if from != emptyFeed {
		if len(msgs) == 0 || msgs[0].ID != from {
			delete(m.feeds, region)
			m.complete = false
			m.want(region)
			return readStale
		}
		msgs = msgs[1:]
	}
	for _, msg := range msgs {
		m.apply(region, msg.Values)
	}
	if len(msgs) > 0 {
		f.last = msgs[len(msgs)-1].ID
	}
	if len(msgs) >= syncBatch-1 {
		return readPartly
	}
	if began.After(f.began) {
		f.began = began
	}
	return readWhole
}

// feedAhead is a read of one region's change feed sent in the round trip
// of another command (an idempotency claim's, a customer's last worker's:
// readFeedAhead), so that the search that follows finds the feed read
// already (freshRead).
type feedAhead struct {
	region, from string
	sent         time.Time
	cmd          *redis.XMessageSliceCmd
}

// readFeedAhead queues on pipe a read of region's change feed, when the
// mirror serves and follows region; else it returns nil. landFeedAhead
// applies it once pipe ran.
func (s *Store) readFeedAhead(ctx context.Context, pipe redis.Pipeliner, region string) *feedAhead {
	m := &s.mirror
	if region == "" || !m.on.Load() || time.Since(time.Unix(0, m.failed.Load())) < mirrorPause {
		return nil
	}
	m.mu.RLock()
	f := m.feeds[region]
	from := ""
	if m.complete && f != nil {
		from = f.last
	}
	m.mu.RUnlock()
	if from == "" {
		return nil
	}
	return &feedAhead{region: region, from: from, sent: time.Now(),
		cmd: pipe.XRangeN(ctx, changesKey(region), from, "+", syncBatch)}
}

// landFeedAhead applies the read fa to the mirror as a sync would, and
// returns when it was sent if the mirror then holds every change of the
// feed committed before that (else the zero time: a failed, partial or
// stale read, which the search's own sync makes up for).
func (s *Store) landFeedAhead(fa *feedAhead) time.Time {
	if fa == nil || fa.cmd.Err() != nil {
		return time.Time{}
	}
	m := &s.mirror
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.land(fa.region, fa.from, fa.cmd.Val(), fa.sent) != readWhole {
		return time.Time{}
	}
	return fa.sent
}

// apply applies one feed entry of region's feed (under m.mu).
func (m *mirror) apply(region string, vals map[string]any) {
	id, _ := vals["w"].(string)
	if id == "" {
		return // a marker
	}
	home := region
	if r, ok := vals["r"].(string); ok {
		home = r
	}
	v, err := strconv.ParseInt(fmt.Sprint(vals["v"]), 10, 64)
	if err != nil {
		return
	}
	ref := WorkerRef{ID: id, Region: home}
	rec := m.workers[ref]
	if rec != nil && v <= rec.version {
		return // the mirror holds this change or a later one
	}
	raw, profile := vals["c"].(string)
	if !profile {
		if rec != nil {
			rec.version = v // a booking change
			m.relist(rec)
		}
		return
	}
	var cells []geo.Cell
	for _, f := range strings.Fields(raw) {
		if c, err := geo.ParseCell(f); err == nil {
			cells = append(cells, c)
		}
	}
	m.put(ref, rec, v, cells)
}

// saw records that worker ref was at version v in Redis (an Apply refused
// for it): a mirror behind that learns the version, so that the next read
// of the worker is at it.
func (m *mirror) saw(ref WorkerRef, v int64) {
	if !m.on.Load() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec := m.workers[ref]; rec != nil && rec.learnt < v {
		rec.learnt = v
		m.relist(rec)
	}
}

// current is the version a search reads for the worker: the feed's, or
// the one an Apply refused with when that is later (under m.mu).
func (rec *mirrored) current() int64 { return max(rec.version, rec.learnt) }

// put sets worker ref (held as rec, nil for none) to version v indexed in
// cells (none: the profile is gone), under m.mu.
func (m *mirror) put(ref WorkerRef, rec *mirrored, v int64, cells []geo.Cell) {
	if rec != nil {
		for _, c := range rec.cells {
			if !slices.Contains(cells, c) {
				m.unlist(c, ref)
			}
		}
	}
	if len(cells) == 0 {
		delete(m.workers, ref)
		return
	}
	if rec == nil {
		rec = &mirrored{ref: ref, key: ref.Region + "\x00" + ref.ID}
		m.number(rec)
		m.workers[ref] = rec
	}
	for _, c := range cells {
		if !slices.Contains(rec.cells, c) {
			m.list(c, rec)
		}
	}
	rec.version, rec.cells = v, cells
	m.relist(rec)
}

// number gives rec the next slot, numbering every worker again in a new
// generation when the slots of workers gone since have made the
// numbering much sparser than the workers (a Seen bitmap spans it).
func (m *mirror) number(rec *mirrored) {
	if m.gen == 0 || int(m.next) > 2*len(m.workers)+4096 {
		m.gen, m.next = numberings.Add(1), 0
		for _, r := range m.workers {
			r.slot, m.next = m.next, m.next+1
		}
		m.renumbered()
	}
	rec.slot, m.next = m.next, m.next+1
}

func compareRefs(a, b WorkerRef) int {
	if c := cmp.Compare(a.Region, b.Region); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// idsInCells is WorkerIDsInCells from the mirror: ok is false when the
// mirror does not serve these cells (not following, not complete, a region
// not followed yet, or its feed could not be read), and the caller reads
// Redis instead.
func (s *Store) idsInCells(ctx context.Context, regions []string, byRegion map[string][]geo.Cell) ([]WorkerRef, bool) {
	m := &s.mirror
	if !s.mirrorServes(ctx, regions, searchStart(ctx)) {
		return nil, false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.holds(regions) {
		return nil, false
	}
	n := 0
	for _, r := range regions {
		for _, c := range byRegion[r] {
			n += len(m.cells[c])
		}
	}
	refs := make([]WorkerRef, 0, n)
	var seen map[WorkerRef]bool // one region's cells list a worker once
	if len(regions) > 1 {
		seen = make(map[WorkerRef]bool, n)
	}
	for _, r := range regions {
		start := len(refs)
		for _, c := range byRegion[r] {
			list := m.cells[c]
			for i := range list { // not a copy of a listing: see listed
				refs = append(refs, list[i].rec.ref)
			}
		}
		group := refs[start:]
		slices.SortFunc(group, compareRefs)
		group = slices.Compact(group)
		if seen != nil {
			group = slices.DeleteFunc(group, func(ref WorkerRef) bool {
				dup := seen[ref]
				seen[ref] = true
				return dup
			})
		}
		refs = refs[:start+len(group)]
	}
	m.served.Add(1)
	return refs, true
}

// mirrorVersions sets out[i] to the version of refs[i] from the mirror
// when it follows the worker's home region, after reading those feeds as
// syncMirror does, and returns the positions of the others; mirrored is
// false when the mirror is not used at all.
func (s *Store) mirrorVersions(ctx context.Context, refs []WorkerRef, out []int64) (rest []int, mirrored bool) {
	m := &s.mirror
	if !m.on.Load() {
		return nil, false
	}
	var regions []string
	for _, r := range refs {
		if !slices.Contains(regions, r.Region) {
			regions = append(regions, r.Region)
		}
	}
	if err := s.syncMirror(ctx, regions, searchStart(ctx)); err != nil {
		return nil, false // Redis answers, or names the error
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for i, r := range refs {
		if m.feeds[r.Region] == nil {
			rest = append(rest, i)
			continue
		}
		if rec := m.workers[r]; rec != nil {
			out[i] = rec.current()
		} // else: no profile in the region as of the feed, version 0
	}
	return rest, true
}

// emptyFeed is the mirror's place in a feed that held no entry when the
// mirror started following it: every entry is after it, and a read of the
// feed cannot tell a lost entry (the feed has never been longer than a
// few seconds of changes when it is read from there).
const emptyFeed = "0-0"

// loadRegion starts following region's change feed: it takes the feed's
// newest entry as its place, then reads every profile the region's roster
// lists and its version. The changes landing meanwhile are after that
// place, and the next sync applies them (an entry older than what was read
// is skipped). Loads run one at a time, and a region already followed is
// not loaded again.
func (s *Store) loadRegion(ctx context.Context, region string) error {
	m := &s.mirror
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	m.mu.RLock()
	have := m.feeds[region] != nil
	m.mu.RUnlock()
	if have {
		return nil
	}
	newest, err := s.rdb.XRevRangeN(ctx, changesKey(region), "+", "-", 1).Result()
	if err != nil {
		return wrapErr("read the change feed of region "+region, err)
	}
	last := emptyFeed
	if len(newest) > 0 {
		last = newest[0].ID
	}
	ids, err := s.rdb.ZRange(ctx, rosterKey(region), 0, -1).Result()
	if err != nil {
		return wrapErr("read the roster of region "+region, err)
	}
	type loaded struct {
		ref     WorkerRef
		version int64
		cells   []geo.Cell
	}
	var got []loaded
	const chunk = 1000
	for lo := 0; lo < len(ids); lo += chunk {
		part := ids[lo:min(lo+chunk, len(ids))]
		pipe := s.rdb.Pipeline()
		vers := make([]*redis.StringCmd, len(part))
		profs := make([]*redis.StringCmd, len(part))
		for i, id := range part {
			vers[i] = pipe.Get(ctx, versionKey(region, id))
			profs[i] = pipe.Get(ctx, workerKey(region, id))
		}
		if err := execPipe(ctx, pipe); err != nil {
			return wrapErr("read the workers of region "+region, err)
		}
		for i, id := range part {
			if profs[i].Err() != nil {
				continue // gone since the roster was read: the feed says so
			}
			v, err := parseVersion(vers[i])
			if err != nil {
				return fmt.Errorf("worker %s: %w", id, err)
			}
			cells, err := indexCells(profs[i].Val())
			if err != nil {
				return fmt.Errorf("worker %s: %w", id, err)
			}
			got = append(got, loaded{WorkerRef{ID: id, Region: region}, v, cells})
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.workers == nil {
		m.workers, m.cells, m.feeds = map[WorkerRef]*mirrored{}, map[geo.Cell][]listed{}, map[string]*feed{}
	}
	keep := make(map[WorkerRef]bool, len(got))
	for _, l := range got {
		keep[l.ref] = true
		if rec := m.workers[l.ref]; rec == nil || rec.version < l.version {
			m.put(l.ref, rec, l.version, l.cells)
		}
	}
	// A worker of the region the mirror held that the roster no longer
	// lists has gone (a change after the roster was read is in the feed).
	for ref, rec := range m.workers {
		if ref.Region == region && !keep[ref] {
			m.put(ref, rec, rec.version, nil)
		}
	}
	m.feeds[region] = &feed{last: last}
	return nil
}

// FollowChanges keeps the store's mirror of the position index and the
// workers' versions (see mirror) until ctx ends: it loads every region
// listed in dst:regions, then every `every` looks for new regions and
// reads every feed, so that a search's own read finds little. A search
// that needs a region not followed yet reads Redis and has the loop load
// it. Errors (Redis down) are logged and retried at the next tick; the
// mirror serves nothing while a region is missing. It returns when ctx
// ends, and the store then reads Redis again.
func (s *Store) FollowChanges(ctx context.Context, every time.Duration, log *slog.Logger) {
	m := &s.mirror
	m.mu.Lock()
	if m.wanted == nil {
		m.wanted = make(chan string, 64)
	}
	m.mu.Unlock()
	m.on.Store(true)
	defer func() {
		m.on.Store(false)
		m.reset()
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	serving, since := false, time.Now()
	for {
		if err := s.refreshMirror(ctx); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("following the change feeds", "err", err)
		}
		// Say when searches start (or stop) reading from memory.
		if st := s.MirrorStats(); st.Serving != serving && log != nil {
			serving = st.Serving
			if serving {
				log.Info("mirror of the change feeds serving searches", "regions", st.Regions, "workers", st.Workers,
					"after_ms", time.Since(since).Milliseconds())
			} else {
				log.Warn("mirror of the change feeds not serving: searches read Redis until it has loaded again")
				since = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case r := <-m.wanted:
			if err := s.loadRegion(ctx, r); err != nil && ctx.Err() == nil && log != nil {
				log.Warn("following the change feed of a region", "region", r, "err", err)
			}
		}
	}
}

// refreshMirror loads the regions of dst:regions the mirror does not
// follow yet, marks it complete when it follows all of them, and reads
// every feed it follows.
func (s *Store) refreshMirror(ctx context.Context) error {
	regions, err := s.rdb.SMembers(ctx, regionsKey).Result()
	if err != nil {
		return wrapErr("list regions", err)
	}
	m := &s.mirror
	for _, r := range regions {
		if validRegion(r) {
			if err := s.loadRegion(ctx, r); err != nil {
				return err
			}
		}
	}
	m.mu.Lock()
	complete := true
	var followed []string
	for _, r := range regions {
		if validRegion(r) && m.feeds[r] == nil {
			complete = false
		}
	}
	for r := range m.feeds {
		followed = append(followed, r)
	}
	m.complete = complete
	m.mu.Unlock()
	return s.syncMirror(ctx, followed, time.Now())
}

// Mirroring reports whether the store's mirror serves searches now
// (FollowChanges running, every region loaded).
func (s *Store) Mirroring() bool { return s.MirrorStats().Serving }

// loadCellsMirrored is LoadCells from the mirror; ok is false when the
// mirror does not serve these cells (see idsInCells), and the caller reads
// Redis.
//
// A worker whose read-model entry serves the search (at the version the
// feed gave, over the range, young enough) is decided on at once, under
// the mirror's read lock; the others (not read yet, or changed since, or
// of a region whose feed this search has not read) are read from Redis
// after it, as LoadCandidates reads them. Only the workers kept are
// sorted.
func (s *Store) loadCellsMirrored(ctx context.Context, seen *Seen, cells []geo.Cell, from, to time.Time, keep Keep) (cands []Candidate, ok bool, err error) {
	m := &s.mirror
	regions, byRegion, _ := groupCells(ctx, cells)
	since := searchStart(ctx)
	if !s.mirrorServes(ctx, regions, since) {
		return nil, false, nil
	}
	sc := stepScratchPool.Get().(*stepScratch)
	defer sc.release()
	var homes []string // the home regions of sc.rest not among regions
	lo, hi := from.UnixMilli(), to.UnixMilli()
	now := time.Now()
	resets := s.cands.resets.Load()
	take := func(e *readEntry, rec *mirrored, version int64, group int) {
		if e == nil {
			return // retired or moved away
		}
		c, ok := s.candidate(keep, e, version, rec.ref.Region, lo, hi)
		if !ok {
			return // turned away, or dropped
		}
		sc.order = append(sc.order, stepOrder{key: rec.key, group: int32(group), i: int32(len(sc.cands))})
		sc.cands = append(sc.cands, c)
	}
	narrow, _ := keep.(*Narrow)
	listTurned, listDropped, listOutranked := 0, 0, 0
	m.mu.RLock()
	if !m.holds(regions) {
		m.mu.RUnlock()
		return nil, false, nil
	}
	seen.reserve(m.next)
	// A step of a dense city turns most of the workers it reads away:
	// the loop tells those it can itself, on the Seen's bits (marked in
	// place, as firstIn marks them) and on the stamp's traits
	// (Narrow.lacks), without the two calls each of them had cost, a
	// fifth of a 422's time at 100,000 workers (bench/RESULTS.md,
	// "Turned away inside the walk"); and asks the rest of the stamp
	// (Narrow.fromRest) only of a worker of the trade.
	bits := seen.bitmap(m.gen, m.next)
	lacks := narrow != nil && narrow.byLists(&s.traits)
	for g, r := range regions {
		for _, c := range byRegion[r] {
			list := m.cells[c]
			for i := range list {
				l := &list[i]
				if bits != nil {
					if !markNew(bits, l.slot) {
						continue
					}
				} else {
					id := "" // read only by a Seen that tells workers by id
					if seen.byID {
						id = l.rec.ref.ID
					}
					first, err := seen.firstIn(m.gen, l.slot, id)
					if err != nil {
						m.mu.RUnlock()
						return nil, true, err
					}
					if !first {
						continue
					}
				}
				// Most workers a step reads are turned away, and the
				// list tells most of those without their records. (A
				// step that cannot decide on bit sets, !lacks, reads
				// every worker it keeps.)
				if lacks && !l.foreign {
					if skills, certs, seq, ok := l.stamp.traits(l.current, resets); ok {
						if narrow.lacks(skills, certs) {
							listTurned++
							continue
						}
						switch narrow.fromRest(&l.stamp, seq, &s.traits, lo, hi) {
						case dropsWorker:
							listDropped++
							continue
						case outranksWorker:
							listOutranked++
							continue
						}
					}
				}
				rec := l.rec
				h := rec.ref.Region
				own := h == r || slices.Contains(regions, h)
				e := rec.entry.Load()
				if own && e.serves(rec.current(), lo, hi, now, resets) {
					take(e, rec, rec.current(), g)
					continue
				}
				// An entry at the worker's current version holds its
				// profile as it is, however long ago it was read or over
				// whatever range: a worker it shows keep turns away is
				// turned away without reading it again.
				if own && keep != nil && turnedAway(keep, e, rec.current(), resets, &s.traits) {
					continue
				}
				sc.rest = append(sc.rest, readLater{rec, g})
				if !own && !slices.Contains(homes, h) {
					homes = append(homes, h)
				}
			}
		}
	}
	m.mu.RUnlock()
	m.listTurned.Add(int64(listTurned))
	m.listDropped.Add(int64(listDropped))
	m.listOutranked.Add(int64(listOutranked))
	if rest := sc.rest; len(rest) > 0 {
		if len(homes) > 0 {
			// Workers of other regions reported here: their versions
			// as of this search, from their own regions' feeds.
			if !s.mirrorServes(ctx, homes, since) {
				return nil, false, nil
			}
		}
		recs := make([]*mirrored, len(rest))
		for i, l := range rest {
			recs[i] = l.rec
		}
		entries, versions, err := s.readMirrored(ctx, recs, from, to, now)
		if err != nil {
			return nil, true, err
		}
		for i, l := range rest {
			take(entries[i], l.rec, versions[i], l.group)
		}
	}
	// Each region's cells in the order WorkerIDsInCells lists them: by
	// home region and id.
	slices.SortFunc(sc.order, func(a, b stepOrder) int {
		if c := cmp.Compare(a.group, b.group); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	cands = make([]Candidate, len(sc.order))
	for i, o := range sc.order {
		cands[i] = sc.cands[o.i]
	}
	m.served.Add(1)
	return cands, true, nil
}

// readMirrored reads the workers of recs whose read-model entries do not
// serve [from, to] at their current versions (Redis' now, as the feeds
// said) into the model, sets them as the mirror's entries and stamps
// their listings with them. It returns each worker's entry (nil: retired
// or moved away) and the version it is of.
func (s *Store) readMirrored(ctx context.Context, recs []*mirrored, from, to, now time.Time) ([]*readEntry, []int64, error) {
	m := &s.mirror
	refs := make([]WorkerRef, len(recs))
	versions := make([]int64, len(recs))
	prev := make([]*readEntry, len(recs))
	entries := make([]*readEntry, len(recs))
	m.mu.RLock()
	for i, rec := range recs {
		refs[i], versions[i], prev[i] = rec.ref, rec.current(), rec.entry.Load()
	}
	m.mu.RUnlock()
	stale := s.cands.serving(prev, versions, from.UnixMilli(), to.UnixMilli(), now, entries)
	if err := s.readAgain(ctx, refs, versions, prev, stale, entries, from, to, now); err != nil {
		return nil, nil, err
	}
	stamped := make([]*mirrored, 0, len(stale))
	fresh := make([]*readEntry, 0, len(stale))
	for _, i := range stale {
		if e := entries[i]; e != nil && versions[i] != 0 {
			recs[i].entry.Store(e)
			stamped, fresh = append(stamped, recs[i]), append(fresh, e)
		}
	}
	m.stamp(stamped, fresh)
	return entries, versions, nil
}

// WarmWorkers reads workers ws into the read model with their bookings
// that start in [from, to], as WarmUp reads every worker when serve
// starts: a roster just imported is then decided on the mirror's lists by
// the first searches, instead of each of them reading thousands of its
// workers from Redis (at 100,000 workers the first 15 s after a bulk
// import shed 4% of the matches). It returns the workers read; none when
// the mirror does not serve or the read model is off. A worker the
// mirror does not list (deleted since) is skipped.
func (s *Store) WarmWorkers(ctx context.Context, ws []*doorstep.Worker, from, to time.Time) (int, error) {
	if s.cands.off.Load() || !s.Mirroring() || len(ws) == 0 {
		return 0, nil
	}
	refs := make([]WorkerRef, len(ws))
	var regions []string
	for i, w := range ws {
		refs[i] = WorkerRef{ID: w.ID, Region: regionOf(w)}
		if !slices.Contains(regions, refs[i].Region) {
			regions = append(regions, refs[i].Region)
		}
	}
	// Their regions' feeds, read now: the workers were written before.
	if !s.mirrorServes(ctx, regions, time.Now()) {
		return 0, nil
	}
	m := &s.mirror
	recs := make([]*mirrored, 0, len(ws))
	m.mu.RLock()
	for _, ref := range refs {
		if rec := m.workers[ref]; rec != nil {
			recs = append(recs, rec)
		}
	}
	m.mu.RUnlock()
	const batch = 1024
	n := 0
	for len(recs) > 0 {
		k := min(batch, len(recs))
		entries, _, err := s.readMirrored(ctx, recs[:k], from, to, time.Now())
		if err != nil {
			return n, fmt.Errorf("warm the read model: %w", err)
		}
		for _, e := range entries {
			if e != nil {
				n++
			}
		}
		recs = recs[k:]
	}
	return n, nil
}

// readLater is a worker a mirrored step reads after the lists (see
// loadCellsMirrored), of the step's group-th region.
type readLater struct {
	rec   *mirrored
	group int
}

// stepOrder is where a mirrored step's candidate i goes: by the region
// group it was listed in, then by its mirrored key.
type stepOrder struct {
	key   string
	group int32
	i     int32
}

// stepScratch is what a mirrored step collects before it hands out its
// candidates, sorted, in a slice of their own: kept for the next step
// (stepScratchPool), since growing these slices anew for every step was a
// third of what a booking allocated, and so of how often the collector
// ran (bench/RESULTS.md, "Bookings at 500 a second").
type stepScratch struct {
	cands []Candidate
	order []stepOrder
	rest  []readLater
}

var stepScratchPool = sync.Pool{New: func() any { return new(stepScratch) }}

// maxScratch bounds the candidates a kept scratch may have room for: a
// step that read a whole city (WarmUp) does not pin its slices.
const maxScratch = 1 << 14

// release clears sc (it must not keep workers alive) and returns it to
// the pool.
func (sc *stepScratch) release() {
	if cap(sc.cands) > maxScratch || cap(sc.rest) > maxScratch {
		return
	}
	clear(sc.cands)
	clear(sc.order)
	clear(sc.rest)
	sc.cands, sc.order, sc.rest = sc.cands[:0], sc.order[:0], sc.rest[:0]
	stepScratchPool.Put(sc)
}

// MirrorStats is what the store's mirror is doing, for metrics.
type MirrorStats struct {
	// Serving: following the feeds with every region loaded.
	Serving bool
	// Regions and Workers count what the mirror holds.
	Regions, Workers int
	// Steps counts the search steps (and listings) answered from the
	// mirror, FeedReads the round trips that read feeds, FeedFailures the
	// reads that failed.
	Steps, FeedReads, FeedFailures int64
	// ListTurned counts the workers those steps turned away from the
	// lists alone (a skill or certificate missing), ListDropped those
	// they dropped (Narrow.DropShifts, Narrow.Drop), ListOutranked those
	// they outranked (Narrow.Outrank), none of them read.
	ListTurned, ListDropped, ListOutranked int64
	// SyncWait is how long search steps the mirror served waited to have
	// the feeds read up to their search's start: their own round trip,
	// or the read of another search they waited behind (none: 0).
	// Under load it is most of a slow search's time (bench/RESULTS.md,
	// "Where the 100,000-worker tail waits").
	SyncWait Waits
}

// MirrorStats reports the mirror's state and counters.
func (s *Store) MirrorStats() MirrorStats {
	m := &s.mirror
	st := MirrorStats{Steps: m.served.Load(), FeedReads: m.reads.Load(), FeedFailures: m.failures.Load(),
		ListTurned: m.listTurned.Load(), ListDropped: m.listDropped.Load(), ListOutranked: m.listOutranked.Load(),
		SyncWait: m.syncWaits.snapshot()}
	m.mu.RLock()
	defer m.mu.RUnlock()
	st.Serving = m.on.Load() && m.complete
	st.Regions, st.Workers = len(m.feeds), len(m.workers)
	return st
}

// WarmUp reads every worker the mirror lists into the read model, with
// its bookings that start in [from, to], a batch of cells at a time, and
// so stamps the lists (listed.stamp): the first searches of a server
// just started then find entries serving and turn away and drop workers
// from the lists, instead of each reading thousands of workers from
// Redis (serve waits for it before it is ready). It returns the workers
// read; none when the mirror does not serve or the read model is off.
func (s *Store) WarmUp(ctx context.Context, from, to time.Time) (int, error) {
	if s.cands.off.Load() || !s.Mirroring() {
		return 0, nil
	}
	m := &s.mirror
	m.mu.RLock()
	cells := make([]geo.Cell, 0, len(m.cells))
	for c := range m.cells {
		cells = append(cells, c)
	}
	m.mu.RUnlock()
	slices.Sort(cells) // a region's cells together: one feed sync a batch
	const batch = 64
	seen, n := new(Seen), 0
	for len(cells) > 0 {
		k := min(batch, len(cells))
		got, err := s.LoadCells(ctx, seen, cells[:k], from, to, nil)
		if errors.Is(err, ErrSeenReset) {
			seen = NewSeenByID()
			continue
		}
		if err != nil {
			return n, fmt.Errorf("warm up the read model: %w", err)
		}
		n += len(got)
		cells = cells[k:]
	}
	return n, nil
}

// advance replaces the entry of ref's record e with next(e) when that is
// not nil and e is still the record's entry, and stamps its lists with it
// (Store.created).
func (m *mirror) advance(ref WorkerRef, next func(*readEntry) *readEntry) {
	if !m.on.Load() {
		return
	}
	m.mu.RLock()
	rec := m.workers[ref]
	m.mu.RUnlock()
	if rec == nil {
		return
	}
	e := rec.entry.Load()
	if n := next(e); n != nil && rec.entry.CompareAndSwap(e, n) {
		m.stamp([]*mirrored{rec}, []*readEntry{n})
	}
}
