package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/redis/go-redis/v9"
)

// maxCASAttempts bounds the read/compare-and-set loops of this package.
// They only loop when the same worker's profile changed between the read
// and the script, which takes a concurrent writer of that very worker.
const maxCASAttempts = 8

// PutWorker creates or replaces the worker w.ID with w (replacing all of
// it: a nil Location drops the last reported position), indexes it under
// its home cell and its last reported position's (indexCells), and bumps
// its version. It reports whether the worker was
// created.
//
// A worker's keys live in the region of its home, which its region record
// names together with a generation. A replacement in that region is one
// script there, fenced by the region being open at the record's
// generation. A replacement that moves the home to another region (or a
// creation, or the repair of an interrupted move) takes three steps, which
// cannot be one script on Redis Cluster (see "Moving a worker's home" in
// the package documentation): (1) the old region is closed at the record's
// generation: the worker's profile and index entry there are removed and
// its version bumped, provided its timeline holds no booking that starts
// after now minus doorstep.MaxDuration (one that may not be over); else
// PutWorker fails with an EINVALID error on "home" and changes nothing,
// and the caller must first cancel or reassign those bookings; (2) the
// record is compared-and-set to the new region at the next generation;
// (3) the new region is opened at that generation with the profile, unless
// a concurrent writer closed it first. A writer that loses a step starts
// over from the record; one that keeps losing gets an ECONFLICT error.
// Concurrent PutWorker calls that disagree on the region thus end with the
// worker in one of them, never in both; a crash between the steps leaves
// the worker absent (ENOTFOUND), never in two regions at once, and
// repeating the PutWorker completes the move. The old region keeps the
// worker's past bookings (still readable with GetBooking) and timeline,
// which WorkerBookings no longer shows.
func (s *Store) PutWorker(ctx context.Context, w *doorstep.Worker) (created bool, err error) {
	if err := validateWorker(w); err != nil {
		return false, fmt.Errorf("put worker: %w", err)
	}
	region := regionOf(w)
	data, err := json.Marshal(w)
	if err != nil {
		return false, fmt.Errorf("put worker %s: %w", w.ID, err)
	}
	next := string(data)
	for range maxCASAttempts {
		h, err := s.readHome(ctx, w.ID)
		if err != nil {
			return false, fmt.Errorf("put worker %s: %w", w.ID, err)
		}
		if h.region == region {
			cur, _, err := s.profileCAS(ctx, h.change(w.ID, fenceWrite), func(string) (string, error) { return next, nil })
			if err == nil {
				return cur == "", nil
			}
			if !errors.Is(err, errMoved) {
				return false, fmt.Errorf("put worker %s: %w", w.ID, err)
			}
			// The region is not open at h's generation: a move is under
			// way or was interrupted. Move again, to the same region.
		}
		created, err := s.moveHome(ctx, h, w.ID, region, next)
		if errors.Is(err, errMoved) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("put worker %s: %w", w.ID, err)
		}
		return created, nil
	}
	return false, fmt.Errorf("put worker %s: %w", w.ID, tooBusy(w.ID))
}

// editWorker runs edit on worker id's profile in its home region, at the
// generation of its region record, starting over from the record when a
// move gets in the way. edit returns the new profile ("" deletes it); it
// sees "" when the worker has no profile.
func (s *Store) editWorker(ctx context.Context, id string, edit func(cur string) (next string, err error)) error {
	for range maxCASAttempts {
		h, err := s.readHome(ctx, id)
		if err != nil {
			return err
		}
		if h.region == "" {
			return notFound("worker %s not found", id)
		}
		_, _, err = s.profileCAS(ctx, h.change(id, fenceWrite), func(cur string) (string, error) {
			if cur == "" {
				return "", notFound("worker %s not found", id)
			}
			return edit(cur)
		})
		if !errors.Is(err, errMoved) {
			return err
		}
	}
	return tooBusy(id)
}

// GetWorker returns worker id and its version. A worker that does not exist
// or was retired is an ENOTFOUND *doorstep.Error.
func (s *Store) GetWorker(ctx context.Context, id string) (*doorstep.Worker, int64, error) {
	if err := checkWorkerID(id); err != nil {
		return nil, 0, fmt.Errorf("get worker: %w", err)
	}
	region, err := s.workerRegion(ctx, id)
	if err != nil {
		return nil, 0, fmt.Errorf("get worker %s: %w", id, err)
	}
	data, ver, err := s.readProfile(ctx, region, id)
	if err != nil {
		return nil, 0, fmt.Errorf("get worker %s: %w", id, err)
	}
	if data == "" {
		return nil, 0, notFound("worker %s not found", id)
	}
	w, err := decodeWorker(data)
	if err != nil {
		return nil, 0, fmt.Errorf("get worker %s: %w", id, err)
	}
	return w, ver, nil
}

// DeleteWorker retires worker id: its profile and position index entry go
// and its version is bumped (so that no reservation made from an earlier
// read succeeds), while its bookings and timeline stay readable through
// GetBooking and WorkerBookings. Confirmed future bookings are not
// cancelled: that is for the caller to decide.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	if err := checkWorkerID(id); err != nil {
		return fmt.Errorf("delete worker: %w", err)
	}
	err := s.editWorker(ctx, id, func(string) (string, error) { return "", nil })
	if err != nil {
		return fmt.Errorf("delete worker %s: %w", id, err)
	}
	return nil
}

// SetLocation records that worker id was at loc at time at (zero means
// now), moving its position index entry from the previous report's cell to
// loc's (the entry in its home cell stays: see indexCells) in the same
// atomic step as the profile when both cells are in the worker's home
// region (see the package documentation otherwise). It bumps the worker's version: a
// reservation computed from the old position fails and is recomputed. A
// report older than the last one recorded is ignored (reports may arrive
// out of order).
func (s *Store) SetLocation(ctx context.Context, id string, loc doorstep.Location, at time.Time) error {
	if err := checkWorkerID(id); err != nil {
		return fmt.Errorf("set location: %w", err)
	}
	if err := loc.Validate("location"); err != nil {
		return fmt.Errorf("set location of worker %s: %w", id, err)
	}
	if at.IsZero() {
		at = s.now()
	}
	errOlder := errors.New("older report")
	err := s.editWorker(ctx, id, func(cur string) (string, error) {
		w, err := decodeWorker(cur)
		if err != nil {
			return "", err
		}
		if at.Before(w.LocatedAt) {
			return "", errOlder
		}
		w.Location, w.LocatedAt = &loc, at
		next, err := json.Marshal(w)
		return string(next), err
	})
	if err != nil && !errors.Is(err, errOlder) {
		return fmt.Errorf("set location of worker %s: %w", id, err)
	}
	return nil
}

// profileChange is one run of profile.lua.
type profileChange struct {
	region, id string
	expect     string     // the profile JSON read; "" for none
	next       string     // the new profile JSON; "" deletes the profile
	oldCells   []geo.Cell // the cells indexing the profile read; none for none
	newCells   []geo.Cell // the cells indexing next; none for none
	busySince  string     // "" or unix ms: refuse if the timeline has a booking from then on
	fence      string     // fenceWrite, fenceClose or fenceOpen
	gen        int64      // the generation of the worker's region record the fence checks
}

// profileResult is the answer of profile.lua.
type profileResult struct {
	status  string // "ok", "retry", "moved", "closed" or "busy"
	version int64  // the new version when "ok"
	n       int64  // the bookings in the way when "busy"
}

// casProfile runs profile.lua, updating position index sets of other
// regions around it: foreign new cells are joined before the script and
// foreign old cells left after it, so that a failure in between leaves an
// extra index entry rather than a missing one.
func (s *Store) casProfile(ctx context.Context, ch profileChange) (profileResult, error) {
	m := member(ch.region, ch.id)
	foreign := func(c geo.Cell) bool { return cellRegion(c) != ch.region }
	for _, c := range ch.newCells {
		if foreign(c) && !slices.Contains(ch.oldCells, c) {
			if err := s.rdb.SAdd(ctx, cellKey(c), m).Err(); err != nil {
				return profileResult{}, wrapErr("index position", err)
			}
		}
	}
	keys := []string{workerKey(ch.region, ch.id), versionKey(ch.region, ch.id), timelineKey(ch.region, ch.id), stateKey(ch.region, ch.id), rosterKey(ch.region)}
	oldLocal, newLocal := 0, 0
	for _, c := range ch.oldCells {
		if !foreign(c) {
			keys, oldLocal = append(keys, cellKey(c)), oldLocal+1
		}
	}
	for _, c := range ch.newCells {
		if !foreign(c) {
			keys, newLocal = append(keys, cellKey(c)), newLocal+1
		}
	}
	keys = append(keys, changesKey(ch.region))
	raw, err := s.scripts.profile.Run(ctx, s.rdb, keys, ch.expect, ch.next, m, ch.busySince, oldLocal, newLocal, ch.fence, ch.gen, ch.id,
		feedCells(ch.newCells), s.feedMax()).Slice()
	if err != nil {
		return profileResult{}, wrapErr("write profile", err)
	}
	res := profileResult{status: fmt.Sprint(raw[0])}
	if len(raw) > 1 {
		n, _ := raw[1].(int64)
		if res.status == "ok" {
			res.version = n
		} else {
			res.n = n
		}
	}
	if res.status != "ok" {
		return res, nil
	}
	for _, c := range ch.oldCells {
		if foreign(c) && !slices.Contains(ch.newCells, c) {
			if err := s.rdb.SRem(ctx, cellKey(c), m).Err(); err != nil {
				return res, wrapErr("unindex old position", err)
			}
		}
	}
	// The change feeds of the foreign regions the worker entered or left
	// hear of it too, after the script, like their index sets: a mirror
	// that follows only those regions still lists the worker where it is.
	if err := s.touchForeign(ctx, ch, res.version); err != nil {
		return res, err
	}
	return res, nil
}

// readProfile returns the profile JSON of a worker ("" when there is none)
// and its version, in one round trip. The version is read first: a change
// landing between the two reads leaves a version older than the profile,
// which can only make a later Apply fail, never succeed wrongly.
func (s *Store) readProfile(ctx context.Context, region, id string) (string, int64, error) {
	pipe := s.rdb.Pipeline()
	ver := pipe.Get(ctx, versionKey(region, id))
	prof := pipe.Get(ctx, workerKey(region, id))
	if err := execPipe(ctx, pipe); err != nil {
		return "", 0, wrapErr("read profile", err)
	}
	v, err := parseVersion(ver)
	if err != nil {
		return "", 0, err
	}
	return prof.Val(), v, nil
}

// parseVersion reads a version counter; a missing one is 0.
func parseVersion(cmd *redis.StringCmd) (int64, error) {
	if errors.Is(cmd.Err(), redis.Nil) {
		return 0, nil
	}
	v, err := cmd.Int64()
	if err != nil {
		return 0, fmt.Errorf("corrupt version %q: %w", cmd.Val(), err)
	}
	return v, nil
}

// indexCells are the position index cells of a stored profile ("" has
// none): the cells of doorstep.Worker.IndexedPlaces, home and the last
// reported position, so that the search finds the worker wherever the
// planner may start it (doorstep.Worker.PositionAt). The home cell is
// always in the worker's region; the reported one may be foreign.
func indexCells(profile string) ([]geo.Cell, error) {
	if profile == "" {
		return nil, nil
	}
	w, err := decodeWorker(profile)
	if err != nil {
		return nil, err
	}
	var cells []geo.Cell
	for _, p := range w.IndexedPlaces() {
		if c := geo.IndexCell(p); !slices.Contains(cells, c) {
			cells = append(cells, c)
		}
	}
	return cells, nil
}

func decodeWorker(data string) (*doorstep.Worker, error) {
	w := new(doorstep.Worker)
	if err := json.Unmarshal([]byte(data), w); err != nil {
		return nil, fmt.Errorf("decode worker: %w", err)
	}
	return w, nil
}

func validateWorker(w *doorstep.Worker) error {
	if w == nil {
		return invalid("", "no worker")
	}
	if err := checkWorkerID(w.ID); err != nil {
		return err
	}
	if err := w.Home.Validate("home"); err != nil {
		return err
	}
	if w.Location != nil {
		if err := w.Location.Validate("location"); err != nil {
			return err
		}
	}
	return nil
}

// tooBusy reports a compare-and-set loop that kept losing.
func tooBusy(id string) error {
	return doorstep.Errorf(doorstep.ECONFLICT, "", "worker %s is being changed concurrently; retry", id)
}

// sumPipelined sends one counting command per item in one pipeline
// (execPipe) and returns the sum of their answers.
func (s *Store) sumPipelined(ctx context.Context, items []string, count func(pipe redis.Pipeliner, item string) *redis.IntCmd) (int64, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(items))
	for i, it := range items {
		cmds[i] = count(pipe, it)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// execPipe runs a pipeline and returns the first error other than
// redis.Nil (an absent key is an answer, not a failure).
func execPipe(ctx context.Context, pipe redis.Pipeliner) error {
	cmds, err := pipe.Exec(ctx)
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
