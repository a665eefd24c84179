package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/schedule"
	"github.com/doorstep-dev/doorstep/store"
)

// SeriesObserver is an Observer that also counts the roll-forward's work;
// the Observer in Config may implement it.
type SeriesObserver interface {
	// Rolled records occurrences of series the roll-forward placed and
	// missed.
	Rolled(placed, missed int)
}

// RollStats is what one RollForward pass did: the series it looked at and
// the occurrences it placed and missed.
type RollStats struct {
	Series, Placed, Missed int
}

// DefaultRollBatch is how many due series RollForward looks at in a pass
// unless told otherwise.
const DefaultRollBatch = 500

// RollForward places the occurrences of recurring series that the horizon
// has reached since the series was booked: up to limit series (0:
// DefaultRollBatch) whose next occurrence now starts within the horizon,
// the longest due first. Each series' occurrences are placed as
// BookSeries places them, on the workers of the series' region, keeping
// the worker of its latest occurrence when it can take them (continuity);
// those nobody can take are recorded on the series as missed, with the
// reason. Any number of servers may run it at once: a series is claimed by
// a compare-and-set of its record (store.UpdateSeries), and an
// occurrence's booking id is derived from the series and the occurrence
// (store.SeriesBookingID), which Apply never creates twice. A series that
// fails is left for the next pass; the errors are joined.
func (s *Service) RollForward(ctx context.Context, limit int) (RollStats, error) {
	if limit <= 0 {
		limit = DefaultRollBatch
	}
	due, err := s.st.DueSeries(ctx, s.cfg.Now(), limit)
	if err != nil {
		return RollStats{}, err
	}
	var st RollStats
	var errs []error
	for _, id := range due {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		placed, missed, err := s.RollSeries(ctx, id)
		st.Series++
		st.Placed += placed
		st.Missed += missed
		if err != nil {
			errs = append(errs, fmt.Errorf("roll series %s forward: %w", id, err))
		}
	}
	if o, ok := s.cfg.Observer.(SeriesObserver); ok && st.Placed+st.Missed > 0 {
		o.Rolled(st.Placed, st.Missed)
	}
	return st, errors.Join(errs...)
}

// RollSeries places the occurrences of series id that now start within the
// horizon and have not been placed, and reschedules the series for its
// next one (RollForward, for one series).
func (s *Service) RollSeries(ctx context.Context, id string) (placed, missed int, err error) {
	sr, err := s.st.GetSeries(ctx, id)
	if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
		return 0, 0, s.st.UnscheduleSeries(ctx, id)
	}
	if err != nil {
		return 0, 0, err
	}
	if sr.Rule == nil || sr.Rule.Request == nil || sr.Cancelled || sr.Next >= sr.Total {
		return 0, 0, s.st.UnscheduleSeries(ctx, id)
	}
	if orphan, err := s.orphan(ctx, sr); err != nil || orphan {
		if err != nil {
			return 0, 0, err
		}
		return 0, 0, s.st.UnscheduleSeries(ctx, id)
	}
	rule, err := parseRecurrence(Recurrence{RRule: sr.Rule.RRule, TimeZone: sr.Rule.TimeZone})
	if err != nil {
		return 0, 0, s.st.UnscheduleSeries(ctx, id) // cannot happen: it was parsed when booked
	}
	tmpl := *sr.Rule.Request
	tmpl.Duration = time.Duration(sr.Rule.DurationSeconds) * time.Second
	ws, err := rule.windows(*tmpl.Window)
	if err != nil {
		return 0, 0, s.st.UnscheduleSeries(ctx, id)
	}
	ws = ws[:min(len(ws), sr.Total)]
	now := s.cfg.Now()
	from := sr.Next
	end := withinHorizon(ws, from, now.Add(s.horizon()))
	if end == from {
		return 0, 0, s.schedule(ctx, sr, ws)
	}
	// Claim the occurrences: name their bookings in the record first (a
	// crash then leaves names of bookings that do not exist, never
	// bookings no record names). Another server claiming from the same
	// read loses here and leaves the series to this one.
	for k := from; k < end; k++ {
		if bid := store.SeriesBookingID(id, k); !slices.Contains(sr.BookingIDs, bid) {
			sr.BookingIDs = append(sr.BookingIDs, bid)
		}
	}
	if err := s.st.UpdateSeries(ctx, sr); errors.Is(err, store.ErrConflict) {
		return 0, 0, nil
	} else if err != nil {
		return 0, 0, err
	}
	made, misses, err := s.placeOccurrences(ctx, sr, &tmpl, ws, from, end, now)
	if err != nil {
		return 0, 0, err // claimed, not recorded: the next pass places what is left
	}
	// Record the pass, unless the series was cancelled meanwhile (then
	// cancel what this pass made) or recorded by another server.
	for range s.cfg.MaxAttempts {
		if sr.Cancelled {
			for _, b := range made {
				if _, err := s.cancelOccurrence(ctx, b); err != nil {
					return 0, 0, err
				}
			}
			return 0, 0, s.st.UnscheduleSeries(ctx, id)
		}
		if sr.Next >= end {
			return 0, 0, nil
		}
		sr.Next = end
		sr.NextAt = time.Time{}
		if end < len(ws) {
			sr.NextAt = ws[end].Start
		} else {
			sr.Rule.Request = nil // nothing left to place: forget the place
		}
		sr.Missed = append(sr.Missed, storeMisses(misses)...)
		err := s.st.UpdateSeries(ctx, sr)
		if errors.Is(err, store.ErrConflict) {
			sr, err = s.st.GetSeries(ctx, id)
			if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
				sr = &store.Series{ID: id, Cancelled: true} // erased meanwhile: as cancelled
			} else if err != nil {
				return 0, 0, err
			}
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		return end - from - len(misses), len(misses), s.schedule(ctx, sr, ws)
	}
	return 0, 0, doorstep.Errorf(doorstep.ECONFLICT, "", "series %s kept changing", id)
}

// schedule queues sr for the roll-forward of its next occurrence, when it
// starts within the horizon, or takes it out when none is left.
func (s *Service) schedule(ctx context.Context, sr *store.Series, ws []doorstep.Window) error {
	if sr.Next >= len(ws) {
		return s.st.UnscheduleSeries(ctx, sr.ID)
	}
	return s.st.ScheduleSeries(ctx, sr.ID, ws[sr.Next].Start.Add(-s.horizon()))
}

// orphan reports whether sr is the record of a series whose booking never
// happened (BookSeries lost its race or crashed before Apply): it has never
// been rolled forward and its first booking does not exist.
func (s *Service) orphan(ctx context.Context, sr *store.Series) (bool, error) {
	if sr.Version > 0 || len(sr.BookingIDs) == 0 {
		return false, nil
	}
	_, err := s.st.GetBooking(ctx, sr.BookingIDs[0])
	if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
		return true, nil
	}
	return false, err
}

// placeOccurrences places occurrences [from, end) of series sr, whose
// windows are ws, and returns the bookings it made and the occurrences it
// missed. An occurrence already booked (by an earlier pass that did not
// record it, or by another server) is left as it is.
func (s *Service) placeOccurrences(ctx context.Context, sr *store.Series, tmpl *doorstep.Request, ws []doorstep.Window, from, end int, now time.Time) ([]*doorstep.Booking, []Miss, error) {
	region, err := store.RegionOfSeries(sr.ID)
	if err != nil {
		return nil, nil, err
	}
	var misses []Miss
	var todo []int
	for k := from; k < end; k++ {
		if !ws[k].End.After(now) {
			misses = append(misses, Miss{Occurrence: k, Window: ws[k], Reason: ReasonPassed, At: now, Rolled: true})
			continue
		}
		_, err := s.st.GetBooking(ctx, store.SeriesBookingID(sr.ID, k))
		if err == nil {
			continue
		}
		if doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
			return nil, nil, err
		}
		todo = append(todo, k)
	}
	if len(todo) == 0 {
		return nil, misses, nil
	}
	hist, err := s.history(ctx, sr.Owner, sr.CustomerID)
	if err != nil {
		return nil, nil, err
	}
	keep, err := s.seriesWorker(ctx, sr.ID, from)
	if err != nil {
		return nil, nil, err
	}
	occ := make([]*doorstep.Request, len(todo))
	for i, k := range todo {
		occ[i] = occurrenceRequest(tmpl, ws, k)
	}
	last := schedule.JobFor(occ[len(occ)-1], now).LatestStart
	for range s.cfg.MaxAttempts {
		p, err := s.candidatesIn(ctx, occ[0], now, now.Add(-dayReach), last.Add(dayReach))
		if err != nil {
			return nil, nil, err
		}
		// The series' bookings live in its region (its id names it).
		cands := slices.DeleteFunc(p.cands, func(c matcher.Candidate) bool { return c.Region != region })
		plan, ok := s.m.PlanSeriesKeeping(occ, cands, now, hist, keep)
		if !ok {
			for i, k := range todo {
				misses = append(misses, Miss{Occurrence: k, Window: ws[k], Reason: s.m.Explain(occ[i], cands, now, hist).Reason, At: now, Rolled: true})
			}
			return nil, misses, nil
		}
		made := s.seriesBookings(sr.ID, occ, todo, plan, sr.Owner, now)
		err = s.st.Apply(ctx, store.Change{Region: region, Expect: plan.Expect, Create: made})
		if errors.Is(err, store.ErrConflict) {
			s.cfg.Observer.Conflict()
			continue
		}
		if errors.Is(err, store.ErrExists) {
			// Another server placed one of them meanwhile: it records
			// them; this pass stops here and the next one looks again.
			return nil, nil, doorstep.Errorf(doorstep.ECONFLICT, "", "series %s: an occurrence was placed by another server", sr.ID)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("place occurrences: %w", err)
		}
		for _, m := range plan.Missed {
			k := todo[m.Occurrence]
			misses = append(misses, Miss{Occurrence: k, Window: ws[k], Reason: m.Reason, At: now, Rolled: true})
		}
		slices.SortFunc(misses, func(a, b Miss) int { return a.Occurrence - b.Occurrence })
		return made, misses, nil
	}
	return nil, nil, doorstep.Errorf(doorstep.ECONFLICT, "", "the workers kept changing")
}

// seriesWorker is the worker of the latest confirmed occurrence of series
// id before occurrence k (looking back a few), "" when there is none.
func (s *Service) seriesWorker(ctx context.Context, id string, k int) (string, error) {
	for j := k - 1; j >= 0 && j >= k-8; j-- {
		b, err := s.st.GetBooking(ctx, store.SeriesBookingID(id, j))
		if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
			continue
		}
		if err != nil {
			return "", err
		}
		if b.Status == doorstep.StatusConfirmed {
			return b.WorkerID, nil
		}
	}
	return "", nil
}
