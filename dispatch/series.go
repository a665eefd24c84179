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

// Recurrence repeats a normal booking: Count occurrences, IntervalDays
// apart, each inside its own window (the first request's window shifted by
// the interval).
type Recurrence struct {
	IntervalDays int
	Count        int
}

// Limits of a recurrence.
const (
	MaxOccurrences    = 52
	MaxIntervalDays   = 90
	MaxSeriesSpanDays = 366
)

// Miss is an occurrence of a series that could not be placed, and why.
type Miss struct {
	Occurrence int
	Window     doorstep.Window
	Reason     string
}

// SeriesOutcome is the answer to BookSeries.
type SeriesOutcome struct {
	SeriesID string
	Bookings []*doorstep.Booking
	Missed   []Miss
}

// BookSeries books every occurrence of a recurring normal request inside its
// own window, preferring one worker for all of them (continuity): the
// worker who can take the most occurrences, at least cost, takes those;
// each remaining occurrence goes to its best other worker of the same
// region, and the occurrences nobody can take are reported in Missed with
// the reason. All bookings are made in one atomic step.
func (s *Service) BookSeries(ctx context.Context, req doorstep.Request, rec Recurrence, owner string) (*SeriesOutcome, error) {
	switch {
	case rec.Count < 1 || rec.Count > MaxOccurrences:
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.count", "count must be in [1, %d]", MaxOccurrences)
	case rec.IntervalDays < 1 || rec.IntervalDays > MaxIntervalDays:
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.interval_days", "interval_days must be in [1, %d]", MaxIntervalDays)
	case (rec.Count-1)*rec.IntervalDays > MaxSeriesSpanDays:
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence.count", "a series spans at most %d days", MaxSeriesSpanDays)
	}
	if err := s.Prepare(&req); err != nil {
		return nil, err
	}
	if req.Urgency != doorstep.Normal {
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence", "only normal requests recur")
	}
	hist, err := s.history(ctx, owner, req.CustomerID)
	if err != nil {
		return nil, err
	}
	for range s.cfg.MaxAttempts {
		out, err := s.bookSeries(ctx, &req, rec, hist, owner)
		if errors.Is(err, store.ErrConflict) {
			s.cfg.Observer.Conflict()
			continue
		}
		if err == nil && len(out.Bookings) > 0 {
			s.booked(ctx, owner, &req, out.Bookings[0])
		}
		return out, err
	}
	return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "the workers kept changing; retry")
}

// occurrences returns the requests of a series: occurrence k is the first
// shifted by k intervals, its window included (a request without a window
// gets its 24 hours as one).
func occurrences(req *doorstep.Request, rec Recurrence) []*doorstep.Request {
	base := doorstep.Window{Start: req.RequestedAt, End: req.Deadline()}
	if req.Window != nil {
		base = *req.Window
	}
	out := make([]*doorstep.Request, rec.Count)
	for k := range rec.Count {
		d := time.Duration(k*rec.IntervalDays) * 24 * time.Hour
		r := *req
		r.RequestedAt = req.RequestedAt.Add(d)
		r.Window = &doorstep.Window{Start: base.Start.Add(d), End: base.End.Add(d)}
		out[k] = &r
	}
	return out
}

func (s *Service) bookSeries(ctx context.Context, req *doorstep.Request, rec Recurrence, hist matcher.History, owner string) (*SeriesOutcome, error) {
	now := s.cfg.Now()
	occ := occurrences(req, rec)
	last := schedule.JobFor(occ[len(occ)-1], now).LatestStart
	p, err := s.candidatesIn(ctx, req, now, now.Add(-dayReach), last.Add(dayReach))
	if err != nil {
		return nil, err
	}
	plan, ok := s.m.PlanSeries(occ, p.cands, now, hist)
	if !ok {
		return nil, s.unservable(occ[0], p, now, hist)
	}
	seriesID := store.NewSeriesID(plan.Region)
	out := &SeriesOutcome{SeriesID: seriesID}
	for k, o := range plan.Options {
		if o == nil {
			continue
		}
		b := s.newBooking(occ[k], o, plan.Region, owner, now)
		b.SeriesID = seriesID
		out.Bookings = append(out.Bookings, b)
	}
	for _, miss := range plan.Missed {
		out.Missed = append(out.Missed, Miss{Occurrence: miss.Occurrence, Window: *occ[miss.Occurrence].Window, Reason: miss.Reason})
	}
	slices.SortFunc(out.Bookings, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	ids := make([]string, len(out.Bookings))
	for i, b := range out.Bookings {
		ids[i] = b.ID
	}
	if err := s.st.PutSeries(ctx, &store.Series{ID: seriesID, Owner: owner, CustomerID: req.CustomerID, BookingIDs: ids, CreatedAt: now}); err != nil {
		return nil, err
	}
	if err := s.st.Apply(ctx, store.Change{Region: plan.Region, Expect: plan.Expect, Create: out.Bookings}); err != nil {
		return nil, fmt.Errorf("book series: %w", err)
	}
	return out, nil
}

// Series returns the occurrences of series id as they stand now (some may
// have been cancelled or moved since), by start. A series of another owner
// is not found.
func (s *Service) Series(ctx context.Context, id, owner string) ([]*doorstep.Booking, error) {
	sr, err := s.st.GetSeries(ctx, id)
	if err != nil {
		return nil, err
	}
	if owner != "" && sr.Owner != owner {
		return nil, doorstep.Errorf(doorstep.ENOTFOUND, "", "series %s not found", id)
	}
	var out []*doorstep.Booking
	for _, bid := range sr.BookingIDs {
		b, err := s.st.GetBooking(ctx, bid)
		if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
			continue // written in the record, never booked (see store.Series)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// SeriesCancel is the answer to CancelSeries.
type SeriesCancel struct {
	SeriesID  string
	Cancelled []*doorstep.Booking
	// Kept are the occurrences already under way, done or cancelled before.
	Kept []*doorstep.Booking
}

// CancelSeries cancels every occurrence of series id that has not started.
func (s *Service) CancelSeries(ctx context.Context, id, owner string) (*SeriesCancel, error) {
	bs, err := s.Series(ctx, id, owner)
	if err != nil {
		return nil, err
	}
	out := &SeriesCancel{SeriesID: id}
	for _, b := range bs {
		if b.Status != doorstep.StatusConfirmed || !s.cfg.Now().Before(b.Start) {
			out.Kept = append(out.Kept, b)
			continue
		}
		c, err := s.st.CancelBooking(ctx, b.ID, s.cfg.Now())
		if errors.Is(err, store.ErrNotConfirmed) {
			out.Kept = append(out.Kept, b)
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Cancelled = append(out.Cancelled, c)
	}
	return out, nil
}
