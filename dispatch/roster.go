package dispatch

import (
	"context"
	"errors"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// ListWorkers returns a page of the workers in order of id (see
// store.Store.ListWorkers for the filters and the cursor).
func (s *Service) ListWorkers(ctx context.Context, q store.WorkerQuery) (store.WorkerPage, error) {
	return s.st.ListWorkers(ctx, q)
}

// ImportProblem is why one worker of an import is refused.
type ImportProblem struct {
	// Index is the worker's position in the import, from 0.
	Index   int
	Field   string
	Message string
}

// Imported counts the workers an import wrote, and what the re-planning
// of their bookings did, summed over them; Warmed counts those read into
// the store's read model after (warmer).
type Imported struct {
	Created, Updated int
	Replanned        Replanned
	Warmed           int
}

// warmer is a Store that can read workers just written into its read
// model (store.Store.WarmWorkers).
type warmer interface {
	WarmWorkers(ctx context.Context, ws []*doorstep.Worker, from, to time.Time) (int, error)
}

// WarmRange is the range of bookings to read workers with ahead of the
// searches (an import's workers, serve's warm-up): the range a search
// for a request without a window reads at now (horizon), which holds an
// urgent request's and one with a window in the next day. A read model
// entry serves a search only when it holds the search's range: the next
// 25 hours alone, read before, served none, and the first search that
// qualified a worker read it again.
func WarmRange(now time.Time) (from, to time.Time) {
	return horizon(now, schedule.Job{EarliestStart: now, LatestStart: now.Add(doorstep.NormalStart)})
}

// ImportWorkers creates or replaces ws as a whole roster: every worker is
// validated first, as PutWorker validates it (its skills needed by the
// catalogue), no two may share an id, and none may move its home to
// another region while it has bookings that may not be over (what
// PutWorker would refuse). If any is refused, nothing is written and the
// problems are returned, one per refused worker. Otherwise the workers
// are written one after another, each by PutWorker's own protocol and
// each followed by the re-planning of its bookings as after PutWorker (a new
// worker or a home that changes region takes several steps, which no
// single atomic step can span: see store.Store.PutWorker), so an error
// while writing — Redis down, a booking made meanwhile on a worker whose
// home moves — leaves the workers before it written, counted in the
// result returned with the error. An import is a set of replacements: sent
// again, it writes the same workers.
func (s *Service) ImportWorkers(ctx context.Context, ws []*doorstep.Worker) (Imported, []ImportProblem, error) {
	problems, err := s.CheckImport(ctx, ws)
	if err != nil || len(problems) > 0 {
		return Imported{}, problems, err
	}
	var done Imported
	for _, w := range ws {
		created, err := s.st.PutWorker(ctx, w)
		if err != nil {
			return done, nil, err
		}
		if created {
			done.Created++
		} else {
			done.Updated++
		}
		// Then its bookings are re-planned, as after PutWorker.
		if rp := s.replanned(ctx, w.ID, CauseProfile, &err); rp != nil {
			done.Replanned.Moved += rp.Moved
			done.Replanned.AtRisk += rp.AtRisk
			done.Replanned.Restored += rp.Restored
		}
		if err != nil {
			return done, nil, err
		}
	}
	// Best effort: a worker not read now is read by the first search
	// that needs it, as it was before (a whole city imported at once then
	// made the first searches slow enough to shed).
	if w, ok := s.st.(warmer); ok {
		from, to := WarmRange(s.cfg.Now())
		done.Warmed, _ = w.WarmWorkers(ctx, ws, from, to)
	}
	return done, nil, nil
}

// CheckImport returns the problems ImportWorkers would refuse ws for,
// writing nothing.
func (s *Service) CheckImport(ctx context.Context, ws []*doorstep.Worker) ([]ImportProblem, error) {
	var problems []ImportProblem
	refuse := func(i int, err error) {
		var e *doorstep.Error
		if errors.As(err, &e) && e.Code == doorstep.EINVALID {
			problems = append(problems, ImportProblem{Index: i, Field: e.Field, Message: e.Message})
		}
	}
	seen := make(map[string]int, len(ws))
	for i, w := range ws {
		if err := w.Validate(); err != nil {
			refuse(i, err)
			continue
		}
		if err := s.cfg.Catalogue.CheckWorkerSkills(w); err != nil {
			refuse(i, err)
			continue
		}
		if j, dup := seen[w.ID]; dup {
			refuse(i, doorstep.Errorf(doorstep.EINVALID, "id", "worker %s is also at position %d of the import", w.ID, j+1))
			continue
		}
		seen[w.ID] = i
	}
	if len(problems) > 0 {
		return problems, nil
	}
	// Moves out of a region are refused while bookings there may not be
	// over: check them all before the first write.
	now := s.cfg.Now()
	for i, w := range ws {
		old, _, err := s.st.GetWorker(ctx, w.ID)
		if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		if geo.RegionOf(old.Home) == geo.RegionOf(w.Home) {
			continue
		}
		bs, err := s.st.WorkerBookings(ctx, w.ID, now.Add(-doorstep.MaxDuration), now.Add(10*366*24*time.Hour))
		if err != nil {
			return nil, err
		}
		if len(bs) > 0 {
			refuse(i, doorstep.Errorf(doorstep.EINVALID, "home", "worker %s has %d bookings in its current region that may not be over; cancel or reassign them before moving its home to another region", w.ID, len(bs)))
		}
	}
	return problems, nil
}
