// Package store keeps Doorstep's state in Redis: worker profiles, their
// positions indexed by H3 cell, their timelines of bookings, the bookings,
// and Idempotency-Key records. It is the only package that imports go-redis.
//
// Open connects to a Redis server, OpenEmbedded runs an in-process miniredis
// through the very same code (scripts included), and New wraps any
// redis.UniversalClient, Redis Cluster included.
//
// # Keys
//
// Every key of a worker carries the hash tag of the worker's region (the
// H3 resolution-3 parent of its home cell, geo.RegionOf), so that one
// atomic script may touch every worker of a city and still run within one
// Redis Cluster slot (DESIGN.md section 5):
//
//	dst:{r:<region>}:w:<worker>        profile: JSON of doorstep.Worker
//	dst:{r:<region>}:w:<worker>:tl     timeline: sorted set of the ids of the
//	                                   worker's confirmed bookings, scored by
//	                                   start (unix ms)
//	dst:{r:<region>}:w:<worker>:ver    version: an integer bumped by every
//	                                   change to the timeline or the profile;
//	                                   never reset, so it only grows
//	dst:{r:<region>}:wg:<worker>       the worker's state in the region:
//	                                   "o:<gen>" open or "c:<gen>" closed at
//	                                   generation gen of its region record;
//	                                   none reads as "o:0" (see below)
//	dst:{r:<region>}:workers           roster: sorted set (all scores 0) of
//	                                   the ids of the workers whose profile
//	                                   the region holds, written with the
//	                                   profile by the same script, so that
//	                                   ListWorkers pages by id
//	dst:{r:<region>}:b:<booking>       booking: JSON of doorstep.Booking
//	                                   (with its Owner)
//	dst:{r:<region>}:atrisk            at-risk index: sorted set of the ids
//	                                   of the region's confirmed bookings
//	                                   marked at risk (doorstep.AtRisk),
//	                                   scored by start; kept by Apply
//	dst:{r:<region>}:op:<random>       marker of an applied update-only
//	                                   Change, kept for an hour (see Apply)
//	dst:{r:<cellregion>}:cell:<cell>   position index: set of "<region>/<worker>"
//	                                   for the workers whose current position
//	                                   (Worker.Position) lies in the
//	                                   geo.IndexResolution cell
//	dst:{r:<region>}:chg               change feed: a stream with an entry
//	                                   for every version bump of a worker
//	                                   of the region (and the cells of a
//	                                   profile change), and for a worker of
//	                                   another region entering or leaving
//	                                   one of its cells; the mirror of a
//	                                   server follows it (mirror.go)
//	dst:{r:<region>}:audit             audit stream of the region's booking
//	                                   changes, appended by Apply's script
//	dst:{r:<region>}:outbox            integrator events of the region's
//	                                   booking changes, appended by Apply's
//	                                   script; :outbox:cursor and
//	                                   :outbox:lease are its relay's (see
//	                                   events.go)
//	dst:{t:<tenant>}:events            a tenant's event stream; :relayed
//	                                   its relay marks and seq counter;
//	                                   :wh:<id> (and :lease) a webhook
//	dst:webhooks                       webhook id -> tenant (no hash tag);
//	                                   dst:tenants the tenants with events
//	dst:{r:<region>}:claim:<token>     the ids of the bookings made in the
//	                                   region under an idempotency claim, or
//	                                   "-" once a retry gave the claim up;
//	                                   TTL of the record
//	dst:{r:<region>}:fu:<booking>      follow-up of a completed booking, the
//	dst:{r:<region>}:fuopen            region's open follow-ups by due time and
//	dst:{r:<region>}:fb:<worker>       the worker's feedback tally (followup.go)
//	dst:{r:<region>}:urg:<YYYY-MM-DD>  the region's urgent requests of a UTC
//	                                   day by "<skill>:<hour>" (urgent.go);
//	                                   :urg:recent the latest 2,000 with
//	                                   their place, for standby plans
//	dst:wreg:<worker>                  region record: "<gen>:<region>", the
//	                                   worker's home region and the generation
//	                                   of that choice (no hash tag; a legacy
//	                                   "<region>" is generation 0)
//	dst:regions                        set of the regions that ever held a
//	                                   profile (no hash tag), added before
//	                                   the region is opened; never shrinks
//	dst:rosters                        "1" once IndexRosters has indexed
//	                                   the profiles written before rosters
//	dst:idem:<sha256(scope, key)>      Idempotency-Key record (JSON), with TTL
//	dst:audit                          audit stream of what changes no
//	                                   booking (refusals, erasures)
//	dst:t:<tenant>:cust:<id>:last      last worker of a tenant's customer
//	                                   (see customer.go), with TTL
//	dst:aof:due                        an erasure awaits an AOF rewrite
//	                                   (see aof.go)
//
// A booking id embeds its region (NewBookingID), so a booking is found from
// its id alone. A worker is indexed in two cells at most: its home's, and
// its last reported position's (doorstep.Worker.IndexedPlaces), the two
// places the planner may start it from (doorstep.Worker.PositionAt: a
// report older than an hour before the shift starts it from home). A
// position index set lives in the region of its cell, which is the
// worker's home region for the home cell and unless the worker has
// travelled out of it for the reported one; its members name the home
// region so that the worker's keys are found without another lookup.
//
// # Atomicity
//
// Within a region every step is one Lua script that validates everything
// before its first write (Redis has no rollback): Apply for bookings, and a
// compare-and-set of the profile that also moves the worker's entries
// between position index cells. Two things cross regions and cannot be one script on Redis
// Cluster:
//
//   - A worker whose position is in another region than its home: the
//     foreign cell's set is updated by a separate command, before the
//     profile script when a worker enters it and after it when it leaves,
//     so that a crash in between leaves the worker visible rather than
//     lost: the profile is the source of truth. An interrupted move may
//     leave an extra entry for the worker in a cell it has left, never a
//     missing one; readers must (and do) rank candidates on the profile's
//     position at the request's time (doorstep.Worker.PositionAt), not on
//     the cell that listed them. Concurrent SetLocation
//     calls for one worker that cross regions may likewise leave a stale
//     extra entry.
//   - A worker whose home moves to another region: see below.
//
// # Moving a worker's home
//
// A worker must be bookable in one region at most at any instant, whatever
// the interleaving of PutWorker, DeleteWorker, SetLocation and Apply from
// any number of processes, yet its old and new regions are different
// Redis Cluster slots, which no script may span. The store fences writes
// with generations, in the manner of a lease epoch:
//
//   - The region record dst:wreg names the home region and a generation,
//     and changes only by a single-key compare-and-set to the next
//     generation (home.lua), so each generation names one region.
//   - In each region, the worker's state key says whether the region is
//     open or closed for the worker, at which generation. Every profile
//     write is one script in the region that checks the state first
//     (profile.lua): a change within the home region requires it open at
//     the record's generation; otherwise the writer re-reads the record.
//   - A move from record (g, A) to region B closes A at g (refused while
//     A's timeline holds a booking that may not be over; the profile and
//     local index entry go, the version is bumped, the state becomes c:g,
//     never lowering a higher generation), then compares-and-sets the
//     record to (g+1, B), then opens B at g+1 with the profile, which B
//     refuses if it was meanwhile closed at g+1 or later. A writer refused
//     at any step starts over from the record, at most a few times, and
//     then answers ECONFLICT.
//
// Because every move closes the old region before the record moves on,
// and a region once closed at g can no longer be opened at g, a region
// is open only at the generation the record names, so at most one region
// holds a profile. A crash between the steps leaves the worker absent
// (ENOTFOUND), never in two regions; the next PutWorker, to any region,
// repairs it. Apply needs no change: a profile exists in a region only
// while the region is open (the open writes both, the close removes both,
// each atomically), Apply requires the profile, and the version it pins
// is bumped by the close, so a candidate read from a region that closed
// since (for instance through a stale entry in a foreign cell) is never
// booked. The busy refusal keeps bookings that may not be over in one
// timeline, so a worker's timelines in different regions never hold
// overlapping bookings either.
//
// A two-phase move was chosen over a per-worker lock or a version record
// checked by every reservation: a lock needs expiry and leaves a window
// when it expires under a slow holder, and a record outside the region's
// slot cannot be read by the reservation script on Redis Cluster. The
// fence costs one extra GET in the profile script and nothing in Apply.
//
// Data written concurrently by versions before the fence may hold a
// profile in a region the record does not name, with no state key; it
// stays bookable until the worker's home moves into that region (which
// adopts it) and out again, or an operator deletes the profile key. Index
// entries in foreign cells are updated outside the scripts and may be
// stale (readers rank and book on the profile, see above).
//
// # Listing workers
//
// ListWorkers merges the regions' rosters by id (one ZRANGEBYLEX per
// region listed in dst:regions, pipelined) and reads the profiles they
// name. A roster changes in the profile's own script (profile.lua), so
// within a region it lists exactly the profiles there, and the move
// protocol above keeps a worker in one roster at most, as it keeps it in
// one region. A roster entry read before a move whose profile has gone is
// looked up again by id. Profiles written by versions before rosters are
// listed once IndexRosters has run (a SCAN of every key, for an upgrade).
//
// # Idempotency
//
// An Idempotency-Key record (no hash tag) and the bookings made under it
// (in their regions' slots) cannot be written by one script, so a request
// that runs out of time may have booked or not, and its reply may still be
// on its way. The record therefore carries a claim: a random token, a lease
// (the request's deadline) and the regions where the request may book,
// each recorded before its first change there (the region of the request's
// location at once, with the record; another only when the chosen worker
// lives elsewhere, one compare-and-set). Apply, given the claim
// (WithClaim), records the ids it creates under the token in the region, in
// the same script, and refuses to create if the token was given up there.
// A retry that finds the lease over resolves the claim region by region
// (resolve.lua): it finds the bookings, answers them and finishes the
// record, or gives the token up, so that a late change is refused; Redis
// runs one slot's scripts one at a time, so the two cannot both happen.
// Having found nothing anywhere, the retry takes the record over with a
// fresh claim (compare-and-set) and books once. The token is recorded
// beside the bookings, rather than folded into their ids, so that ids stay
// random and one lookup per region finds any change made under the claim
// (a series or a rescue as well as a single booking). Timing decides only
// when a retry stops waiting, never whether it may book: a wrong clock
// costs a refused request, not a second booking. Records keep their full
// TTL, pending or finished. See BeginIdempotent. The recorded answer
// (IdemAnswer) is the caller's bytes, never parsed here; it names its
// bookings in a field of its own, for EraseCustomer.
//
// # Audit
//
// Every booking change writes its audit events in Apply's own script, to
// the stream of its region, so that no change is ever without its record;
// ReadAudit merges the regions' streams with the global one.
package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Store is Doorstep's state in Redis. Its methods are safe for concurrent
// use. Every method takes a context; every Redis call is bounded by it and
// by the client's socket timeouts (see Config).
type Store struct {
	rdb     redis.UniversalClient
	scripts *scripts
	now     func() time.Time
	mini    *miniredis.Miniredis // the embedded server, or nil
	// stopExpiry stops the embedded server's TTL clock (see OpenEmbedded).
	stopExpiry func()
	// cands is the read model of the workers LoadCandidates reads.
	cands readModel
	// traits numbers the skills and certificates of the workers read
	// (Narrow).
	traits traits
	// mirror is the position index and versions kept from the change
	// feeds (FollowChanges).
	mirror mirror
	// wait is Config.WaitReplicas and WaitTimeout (see runDurable).
	wait struct {
		replicas int
		timeout  time.Duration
	}
	// eventsOff turns Apply's integrator events off (SetEvents); onEvents
	// is called after events are written (OnEvents).
	eventsOff atomic.Bool
	onEvents  atomic.Pointer[func(region string)]
	// behind holds the writes no request waits for (behind.go).
	behind behind
	// settle, when set (tests), replaces answerSettle (settleFor).
	settle time.Duration
	// noSetNXGet is set once Redis refused SET NX GET (claimRecord).
	noSetNXGet atomic.Bool
}

// New returns a Store that uses client, which the caller configured (set
// timeouts and retries explicitly: see Config for the defaults Open uses).
// Close closes client.
func New(client redis.UniversalClient) *Store {
	return &Store{rdb: client, scripts: newScripts(), now: time.Now}
}

// Open connects to the Redis of cfg and checks that it answers.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	client, err := cfg.client()
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := New(client)
	s.wait.replicas, s.wait.timeout = cfg.WaitReplicas, cfg.WaitTimeout
	if err := s.Ping(ctx); err != nil {
		client.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// Close closes the connections and, for an embedded store, stops the
// in-process server (whose data is then gone).
func (s *Store) Close() error {
	s.closeBehind()
	err := s.rdb.Close()
	if errors.Is(err, redis.ErrClosed) {
		err = nil
	}
	if s.mini != nil {
		s.stopExpiry()
		s.mini.Close()
	}
	return err
}

// Ping checks that Redis answers; it is the readiness probe. On Redis
// Cluster it checks the cluster instead: every slot has a master, and every
// master answers that the cluster is ok (see pingCluster).
func (s *Store) Ping(ctx context.Context) error {
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return s.pingCluster(ctx, cc)
	}
	return wrapErr("ping redis", s.rdb.Ping(ctx).Err())
}

// Embedded reports whether the store runs on the in-process miniredis of
// OpenEmbedded, whose data is lost when the process ends.
func (s *Store) Embedded() bool { return s.mini != nil }
