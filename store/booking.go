package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// markerTTL is how long the marker of an update-only Change is kept: far
// longer than any retry of the script that wrote it.
const markerTTL = time.Hour

// Change is one atomic step on the timelines of workers of one region:
// bookings created, and bookings rewritten (moved in time, moved to another
// worker of the region, or cancelled).
type Change struct {
	// Region is the region of every worker and booking of the change (the
	// region embedded in the booking ids, the home region of the workers).
	Region string
	// Expect pins, per worker id, the version the caller saw (Candidate.
	// Version, GetWorker). Every worker whose timeline the change touches
	// must be listed: the workers of Create and Update and the workers the
	// Update bookings are taken from. A listed worker that the change does
	// not touch is checked but not bumped.
	Expect map[string]int64
	// Create holds new bookings (ids from NewBookingID, Status confirmed),
	// added to their workers' timelines. Apply sets a Version of 0 to 1.
	Create []*doorstep.Booking
	// Update holds existing confirmed bookings rewritten whole: taken off
	// their current worker's timeline and put on WorkerID's at Start, unless
	// Status is cancelled. Each must follow the booking as stored
	// (doorstep.Booking.Touch on the booking read): its Version one more
	// than the stored one, else Apply refuses it with a *StaleError.
	Update []*doorstep.Booking
	// Events are integrator events written with the change, after those
	// of its bookings (see changeEvents): a change of a booking's state
	// that Apply does not describe itself (job progress, say).
	Events []Event
	// Reason, when set, says why the Update bookings move
	// (doorstep.ChangeRescue):
	// their audit events are then "move" events with this reason rather
	// than reschedules.
	Reason string
}

// Apply makes ch in one Lua script, which checks before its first write
// that (1) the first created booking does not exist yet, (2) every pinned
// worker is at its expected version, (3) every other created booking is new,
// every updated booking exists, is confirmed, follows the stored version of
// the booking and belongs to a pinned worker, and every worker given a
// booking still has a profile; only then
// does it write the bookings, move them between timelines and bump the
// versions of the workers it touched. No double booking can come out of
// concurrent Applies pinned to the same version: exactly one wins.
//
// A version mismatch is a *ConflictError for a worker, a *StaleError for an
// updated booking (both errors.Is(err, ErrConflict), code ECONFLICT). An updated booking that is no longer confirmed matches
// ErrNotConfirmed (code ECONFLICT); a missing booking or worker is
// ENOTFOUND. A malformed change (wrong region, unpinned worker, ...) is a
// programmer error, reported as a plain (EINTERNAL) error.
//
// Retrying is safe. Booking ids are random per attempt, so if the first
// created booking already exists, holding exactly what this change writes,
// only an earlier run of this very change can have written it: its reply
// was lost and the client (go-redis, with MaxRetries, or the caller with
// the same Change) ran the script again. The script then writes nothing and
// Apply reports success. If it exists with other content (the id was
// reused for another change, or the booking changed since), Apply fails. A
// change without creates gets a random marker key instead, written with the
// change and kept for an hour, which protects go-redis's own retries.
//
// After an error that is not a refusal (EUNAVAILABLE, say) the change may or
// may not have been made: retry the same Change, or read the booking, but
// never reuse its booking ids for a different change.
//
// The same script appends the change's audit events to the region's audit
// stream (see ReadAudit): "create" per created booking, and per updated one
// "cancel", "reschedule", or "move" with the change's Reason; who acts is
// taken from ctx (WithAudit). A change that creates bookings under an
// idempotency claim (WithClaim in ctx) first records its region in the
// claim's record, and the script refuses it if a retry has given the claim
// up (ECONFLICT); it records the created ids for that retry to find (see
// BeginIdempotent). It also appends the change's integrator events to the
// region's outbox (see events.go), unless events are off (SetEvents).
func (s *Store) Apply(ctx context.Context, ch Change) error {
	keys, args, created, err := s.applyArgs(ctx, &ch)
	if err != nil {
		return fmt.Errorf("apply change: %w", err)
	}
	if c := claimFrom(ctx); c != nil && len(ch.Create) > 0 {
		if err := s.intend(ctx, c, ch.Region); err != nil {
			return fmt.Errorf("apply change: %w", err)
		}
		keys = append(keys, claimKey(ch.Region, c.token))
		args = append(args, c.ttl.Milliseconds())
		c.tried.Store(true)
	}
	raw, err := s.runDurable(ctx, s.scripts.apply, keys, args...).Slice()
	if err != nil {
		return wrapErr("apply change", err)
	}
	res := make([]string, len(raw))
	for i, v := range raw {
		res[i] = fmt.Sprint(v)
	}
	arg := func(i int) string {
		if i < len(res) {
			return res[i]
		}
		return ""
	}
	switch res[0] {
	case "ok":
		s.notifyEvents(ch.Region)
		s.created(&ch, created)
		return nil
	case "applied":
		return nil
	case "conflict":
		actual, _ := strconv.ParseInt(arg(2), 10, 64)
		// The mirror learns the version too: a change its feed did not
		// carry (a server of a version before the feeds) cannot keep the
		// retry refused.
		s.mirror.saw(WorkerRef{ID: arg(1), Region: ch.Region}, actual)
		return fmt.Errorf("apply change: %w", &ConflictError{WorkerID: arg(1), Expected: ch.Expect[arg(1)], Actual: actual})
	case "notconfirmed":
		return fmt.Errorf("apply change: booking %s is %s: %w: %w", arg(1), arg(2), ErrNotConfirmed,
			doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is %s", arg(1), arg(2)))
	case "stale":
		return fmt.Errorf("apply change: %w", staleError(ch.Update, arg(1), arg(2)))
	case "missing":
		return fmt.Errorf("apply change: %w", notFound("booking %s not found", arg(1)))
	case "noworker":
		return fmt.Errorf("apply change: %w", notFound("worker %s not found", arg(1)))
	case "exists":
		return fmt.Errorf("apply change: booking %s: %w", arg(1), ErrExists)
	case "unpinned":
		return fmt.Errorf("apply change: worker %s, whose booking is updated, is not pinned in Expect", arg(1))
	case "burned":
		return fmt.Errorf("apply change: %w", ErrClaimLost)
	case "claimed":
		return fmt.Errorf("apply change: the idempotency claim already made bookings %s in region %s", arg(1), ch.Region)
	}
	return fmt.Errorf("apply change: unexpected script answer %q", res)
}

// applyArgs lays ch out as apply.lua's KEYS and ARGV, but for an
// idempotency claim: the change itself (script), its audit and events
// (auditArgs), and the region's change feed. created are ch.Create as
// stored.
func (s *Store) applyArgs(ctx context.Context, ch *Change) (keys []string, args []any, created []string, err error) {
	keys, args, created, err = ch.script()
	if err != nil {
		return nil, nil, nil, err
	}
	keys, args = s.auditArgs(ctx, ch, keys, args)
	return append(keys, changesKey(ch.Region)), append(args, s.feedMax()), created, nil
}

// script validates ch and lays it out as apply.lua's KEYS and ARGV;
// created are ch.Create's records as the script stores them.
func (ch *Change) script() (keys []string, args []any, created []string, err error) {
	if !validRegion(ch.Region) {
		return nil, nil, nil, fmt.Errorf("invalid region %q", ch.Region)
	}
	if len(ch.Create)+len(ch.Update) == 0 {
		return nil, nil, nil, errors.New("empty change")
	}
	workers := make([]string, 0, len(ch.Expect))
	for id, v := range ch.Expect {
		if err := checkWorkerID(id); err != nil {
			return nil, nil, nil, err
		}
		if v < 0 {
			return nil, nil, nil, fmt.Errorf("worker %s: negative version %d", id, v)
		}
		workers = append(workers, id)
	}
	slices.Sort(workers)
	pos := make(map[string]int, len(workers))
	args = []any{len(workers), len(ch.Create), len(ch.Update), markerTTL.Milliseconds()}
	for i, id := range workers {
		pos[id] = i + 1
		keys = append(keys, versionKey(ch.Region, id), timelineKey(ch.Region, id), workerKey(ch.Region, id))
		args = append(args, id, strconv.FormatInt(ch.Expect[id], 10))
	}
	seen := make(map[string]bool)
	check := func(b *doorstep.Booking, update bool) error {
		switch {
		case b == nil:
			return errors.New("nil booking")
		case seen[b.ID]:
			return fmt.Errorf("booking %s appears twice", b.ID)
		case pos[b.WorkerID] == 0:
			return fmt.Errorf("booking %s: worker %q is not pinned in Expect", b.ID, b.WorkerID)
		case b.End.Before(b.Start):
			return fmt.Errorf("booking %s ends before it starts", b.ID)
		case !update && b.Status != doorstep.StatusConfirmed:
			return fmt.Errorf("new booking %s has status %q", b.ID, b.Status)
		case update && b.Status != doorstep.StatusConfirmed && b.Status != doorstep.StatusCancelled:
			return fmt.Errorf("booking %s has status %q", b.ID, b.Status)
		}
		region, err := RegionOfBooking(b.ID)
		if err != nil {
			return fmt.Errorf("booking %q: malformed id", b.ID)
		}
		if region != ch.Region {
			return fmt.Errorf("booking %s is in region %s, not %s", b.ID, region, ch.Region)
		}
		seen[b.ID] = true
		return nil
	}
	for _, b := range ch.Create {
		if err := check(b, false); err != nil {
			return nil, nil, nil, err
		}
		if b.Version == 0 {
			b.Version = 1
		}
		data, err := encodeBooking(b)
		if err != nil {
			return nil, nil, nil, err
		}
		keys = append(keys, bookingKey(ch.Region, b.ID))
		args = append(args, pos[b.WorkerID], b.ID, strconv.FormatInt(b.Start.UnixMilli(), 10), data)
		created = append(created, data)
	}
	for _, b := range ch.Update {
		if err := check(b, true); err != nil {
			return nil, nil, nil, err
		}
		data, err := encodeBooking(b)
		if err != nil {
			return nil, nil, nil, err
		}
		cancel := "0"
		if b.Status == doorstep.StatusCancelled {
			cancel = "1"
		}
		keys = append(keys, bookingKey(ch.Region, b.ID))
		args = append(args, pos[b.WorkerID], b.ID, strconv.FormatInt(b.Start.UnixMilli(), 10), cancel, data)
	}
	if len(ch.Create) == 0 {
		keys = append(keys, opKey(ch.Region, newOpID()))
	}
	keys = append(keys, atRiskKey(ch.Region))
	return keys, args, created, nil
}

// CancelBooking cancels booking id, freeing its slot, and returns the
// cancelled booking. It is Apply with the booking, Status cancelled, in
// Update, pinned to the version of the booking's worker read just before;
// since removing a booking cannot make a timeline infeasible, a conflict
// (the timeline changed in between) is retried with the new version rather
// than reported. A booking already cancelled matches ErrNotConfirmed (code
// ECONFLICT); an unknown one is ENOTFOUND. now is when the cancel is
// made: the booking's new UpdatedAt (doorstep.Booking.Touch).
func (s *Store) CancelBooking(ctx context.Context, id string, now time.Time) (*doorstep.Booking, error) {
	region, err := RegionOfBooking(id)
	if err != nil {
		return nil, fmt.Errorf("cancel booking: %w", err)
	}
	for range maxCASAttempts {
		b, err := s.GetBooking(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("cancel booking: %w", err)
		}
		if b.Status != doorstep.StatusConfirmed {
			return nil, fmt.Errorf("cancel booking %s: %w: %w", id, ErrNotConfirmed,
				doorstep.Errorf(doorstep.ECONFLICT, "", "booking %s is %s", id, b.Status))
		}
		ver, err := parseVersion(s.rdb.Get(ctx, versionKey(region, b.WorkerID)))
		if err != nil {
			return nil, wrapErr("cancel booking "+id, err)
		}
		b.Touch(now, doorstep.ChangeCancel)
		b.Status = doorstep.StatusCancelled
		err = s.Apply(ctx, Change{Region: region, Expect: map[string]int64{b.WorkerID: ver}, Update: []*doorstep.Booking{b}})
		switch {
		case errors.Is(err, ErrConflict):
			continue
		case err != nil:
			return nil, fmt.Errorf("cancel booking %s: %w", id, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("cancel booking %s: %w", id, tooBusy("of booking "+id))
}

// GetBooking returns booking id, confirmed or cancelled. An unknown or
// malformed id is an ENOTFOUND *doorstep.Error.
func (s *Store) GetBooking(ctx context.Context, id string) (*doorstep.Booking, error) {
	region, err := RegionOfBooking(id)
	if err != nil {
		return nil, fmt.Errorf("get booking: %w", err)
	}
	data, err := s.rdb.Get(ctx, bookingKey(region, id)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, notFound("booking %s not found", id)
	case err != nil:
		return nil, wrapErr("get booking "+id, err)
	}
	b, err := decodeBooking(data)
	if err != nil {
		return nil, fmt.Errorf("get booking %s: %w", id, err)
	}
	return b, nil
}

// WorkerBookings returns the confirmed bookings of worker id that start in
// [from, to], sorted by start. It works for a retired worker too. After a
// move of the worker's home to another region it sees only the bookings
// made in the new region (see PutWorker).
func (s *Store) WorkerBookings(ctx context.Context, id string, from, to time.Time) ([]*doorstep.Booking, error) {
	if err := checkWorkerID(id); err != nil {
		return nil, fmt.Errorf("worker bookings: %w", err)
	}
	region, err := s.workerRegion(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("worker bookings %s: %w", id, err)
	}
	ids, err := s.rdb.ZRangeByScore(ctx, timelineKey(region, id), scoreRange(from, to)).Result()
	if err != nil {
		return nil, wrapErr("worker bookings "+id, err)
	}
	bs, err := s.loadBookings(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("worker bookings %s: %w", id, err)
	}
	return confirmed(bs), nil
}

// loadBookings reads bookings by id in one pipelined round trip, one MGET
// per region (the bookings of a region share its hash slot, so this is
// Cluster-safe); the result is aligned with ids, with nil for a booking that
// does not exist.
func (s *Store) loadBookings(ctx context.Context, ids []string) ([]*doorstep.Booking, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	type group struct {
		keys []string
		at   []int // positions in ids
		cmd  *redis.SliceCmd
	}
	groups := make(map[string]*group)
	var order []*group
	for i, id := range ids {
		region, err := RegionOfBooking(id)
		if err != nil {
			return nil, fmt.Errorf("timeline holds a malformed booking id %q", id)
		}
		g := groups[region]
		if g == nil {
			g = new(group)
			groups[region] = g
			order = append(order, g)
		}
		g.keys = append(g.keys, bookingKey(region, id))
		g.at = append(g.at, i)
	}
	pipe := s.rdb.Pipeline()
	for _, g := range order {
		g.cmd = pipe.MGet(ctx, g.keys...)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, wrapErr(fmt.Sprintf("read %d bookings", len(ids)), err)
	}
	out := make([]*doorstep.Booking, len(ids))
	for _, g := range order {
		for j, v := range g.cmd.Val() {
			data, ok := v.(string)
			if !ok {
				continue // no such booking
			}
			b, err := decodeBooking(data)
			if err != nil {
				return nil, fmt.Errorf("booking %s: %w", ids[g.at[j]], err)
			}
			out[g.at[j]] = b
		}
	}
	return out, nil
}

// bookingRecord is a booking as stored. It names Owner itself, so that the
// owner is kept whatever doorstep.Booking's JSON tags say of it (the API may
// hide it from other booking systems; the store must not lose it).
type bookingRecord struct {
	*doorstep.Booking
	Owner string `json:"owner,omitempty"`
}

func encodeBooking(b *doorstep.Booking) (string, error) {
	data, err := json.Marshal(bookingRecord{Booking: b, Owner: b.Owner})
	if err != nil {
		return "", fmt.Errorf("encode booking %s: %w", b.ID, err)
	}
	return string(data), nil
}

func decodeBooking(data string) (*doorstep.Booking, error) {
	rec := bookingRecord{Booking: new(doorstep.Booking)}
	if err := json.Unmarshal([]byte(data), &rec); err != nil {
		return nil, fmt.Errorf("decode booking: %w", err)
	}
	rec.Booking.Owner = rec.Owner
	if rec.Booking.Version == 0 {
		rec.Booking.Version = 1 // stored before bookings had versions
	}
	return rec.Booking, nil
}
