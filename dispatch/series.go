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

// Miss is an occurrence of a series that could not be placed, and why: a
// matcher reason (shift, busy, skills, ...), no_candidates, or
// ReasonPassed.
type Miss struct {
	Occurrence int
	Window     doorstep.Window
	Reason     string
	// At is when it was decided; Rolled is true when the roll-forward
	// decided it, false when the series was booked.
	At     time.Time
	Rolled bool
}

// ReasonPassed is why the roll-forward missed an occurrence whose window
// had ended before it reached it (no server rolled series forward then).
const ReasonPassed = "passed"

// SeriesOutcome is the answer to BookSeries.
type SeriesOutcome struct {
	SeriesID string
	Bookings []*doorstep.Booking
	Missed   []Miss
	// Total is the number of occurrences of the rule; Pending those
	// beyond the horizon, which the roll-forward places as the horizon
	// reaches them, the first at NextAt.
	Total, Pending int
	NextAt         time.Time
}

// horizon is how far ahead an occurrence is placed: Config.Horizon, or
// doorstep.DefaultHorizon when it is zero.
func (s *Service) horizon() time.Duration {
	if s.cfg.Horizon > 0 {
		return s.cfg.Horizon
	}
	return doorstep.DefaultHorizon
}

// BookSeries books the occurrences of a recurring normal request that lie
// within the horizon, each inside its own window, preferring one worker for
// all of them (continuity): the worker who can take the most occurrences,
// at least cost, takes those; each remaining occurrence goes to its best
// other worker of the same region, and the occurrences nobody can take
// are reported in Missed with the reason. All bookings are made in one
// atomic step. The request's window is the first occurrence's (any day
// within the horizon, at most 24 hours long; without one, the 24 hours
// from requested_at); the rule repeats it (parseRecurrence). Occurrences
// beyond the horizon are stored with the series and placed by RollForward.
func (s *Service) BookSeries(ctx context.Context, req doorstep.Request, rec Recurrence, owner string) (*SeriesOutcome, error) {
	rule, err := parseRecurrence(rec)
	if err != nil {
		return nil, err
	}
	// The first window may lie beyond a single request's 24 hours: it is
	// checked here, each occurrence then being requested within 24 hours
	// of its own window (occurrenceRequest).
	first := req.Window
	req.Window = nil
	if err := s.Prepare(&req); err != nil {
		return nil, err
	}
	if req.Urgency != doorstep.Normal {
		return nil, doorstep.Errorf(doorstep.EINVALID, "recurrence", "only normal requests recur")
	}
	now := s.cfg.Now()
	reach := now.Add(s.horizon())
	w := doorstep.Window{Start: req.RequestedAt, End: req.RequestedAt.Add(doorstep.NormalStart)}
	if first != nil {
		switch {
		case !first.End.After(first.Start):
			return nil, doorstep.Errorf(doorstep.EINVALID, "window.end", "window end must be after its start")
		case first.Duration() > MaxWindowHours*time.Hour:
			return nil, doorstep.Errorf(doorstep.EINVALID, "window.end", "an occurrence's window lasts at most %d hours", MaxWindowHours)
		case !first.End.After(now):
			return nil, doorstep.Errorf(doorstep.EINVALID, "window.end", "the window has already passed")
		}
		w = *first
	}
	ws, err := rule.windows(w)
	if err != nil {
		return nil, err
	}
	if ws[0].Start.After(reach) {
		return nil, doorstep.Errorf(doorstep.EINVALID, "window.start", "the first occurrence (%s) must start within the horizon, by %s",
			ws[0].Start.Format(time.RFC3339), reach.Format(time.RFC3339))
	}
	req.Window = &w
	hist, err := s.history(ctx, owner, req.CustomerID)
	if err != nil {
		return nil, err
	}
	n := withinHorizon(ws, 0, reach)
	for range s.cfg.MaxAttempts {
		out, err := s.bookSeries(ctx, &req, rule, ws, n, hist, owner)
		if errors.Is(err, store.ErrConflict) {
			s.cfg.Observer.Conflict()
			continue
		}
		if err == nil && len(out.Bookings) > 0 {
			s.booked(ctx, owner, &req, out.Bookings[0], 0) // normal: never over
		}
		return out, err
	}
	return nil, doorstep.Errorf(doorstep.ECONFLICT, "", "the workers kept changing; retry")
}

// withinHorizon returns the index of the first occurrence from k on whose
// window starts after reach (len(ws) when none does).
func withinHorizon(ws []doorstep.Window, k int, reach time.Time) int {
	for k < len(ws) && !ws[k].Start.After(reach) {
		k++
	}
	return k
}

func (s *Service) bookSeries(ctx context.Context, req *doorstep.Request, rule *seriesRule, ws []doorstep.Window, n int, hist matcher.History, owner string) (*SeriesOutcome, error) {
	now := s.cfg.Now()
	occ := make([]*doorstep.Request, n)
	for k := range n {
		occ[k] = occurrenceRequest(req, ws, k)
	}
	last := schedule.JobFor(occ[n-1], now).LatestStart
	p, err := s.candidatesIn(ctx, occ[0], now, now.Add(-dayReach), last.Add(dayReach))
	if err != nil {
		return nil, err
	}
	plan, ok := s.m.PlanSeries(occ, p.cands, now, hist)
	if !ok {
		return nil, s.unservable(occ[0], p, nil, now, hist)
	}
	seriesID := store.NewSeriesID(plan.Region)
	out := &SeriesOutcome{SeriesID: seriesID, Total: len(ws), Pending: len(ws) - n}
	if n < len(ws) {
		out.NextAt = ws[n].Start
	}
	out.Bookings = s.seriesBookings(seriesID, occ, nil, plan, owner, now)
	for _, miss := range plan.Missed {
		out.Missed = append(out.Missed, Miss{Occurrence: miss.Occurrence, Window: *occ[miss.Occurrence].Window, Reason: miss.Reason, At: now})
	}
	slices.SortFunc(out.Bookings, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	sr := &store.Series{ID: seriesID, Owner: owner, CustomerID: req.CustomerID, BookingIDs: ids(out.Bookings), CreatedAt: now,
		Rule:  &store.SeriesRule{RRule: rule.text, TimeZone: rule.zone, DurationSeconds: int64(req.Duration / time.Second)},
		Total: len(ws), Next: n, NextAt: out.NextAt, Missed: storeMisses(out.Missed)}
	if n < len(ws) {
		sr.Rule.Request = req // for the roll-forward; a finished series keeps no place
	}
	if err := s.st.PutSeries(ctx, sr); err != nil {
		return nil, err
	}
	// Scheduled before the bookings are made, so that no crash leaves a
	// booked series that is never rolled forward; a record whose
	// bookings were never made is dropped by the roll-forward (orphan).
	if n < len(ws) {
		if err := s.st.ScheduleSeries(ctx, seriesID, ws[n].Start.Add(-s.horizon())); err != nil {
			return nil, err
		}
	}
	if err := s.st.Apply(ctx, store.Change{Region: plan.Region, Expect: plan.Expect, Create: out.Bookings}); err != nil {
		return nil, fmt.Errorf("book series: %w", err)
	}
	return out, nil
}

// seriesBookings are the bookings of plan for the occurrences occ of
// series id: occ[i] is occurrence at[i] of the series (i itself when at is
// nil), each with its price fixed (Service.Price).
func (s *Service) seriesBookings(id string, occ []*doorstep.Request, at []int, plan matcher.SeriesPlan, owner string, now time.Time) []*doorstep.Booking {
	var out []*doorstep.Booking
	for i, o := range plan.Options {
		if o == nil {
			continue
		}
		k := i
		if at != nil {
			k = at[i]
		}
		b := matcher.BookingFor(occ[i], o, store.SeriesBookingID(id, k), owner, now)
		b.Price = s.Price(occ[i], b.Start, b.End)
		b.SeriesID = id
		out = append(out, b)
	}
	return out
}

func ids(bs []*doorstep.Booking) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

func storeMisses(ms []Miss) []store.SeriesMiss {
	out := make([]store.SeriesMiss, len(ms))
	for i, m := range ms {
		out[i] = store.SeriesMiss(m)
	}
	return out
}

// SeriesView is a series as it stands: its occurrences booked so far (some
// may have been cancelled or moved since), by start, and its rule, with
// what the roll-forward has left to place and could not place.
type SeriesView struct {
	ID       string
	Bookings []*doorstep.Booking
	// RRule and TimeZone are the rule ("" for a series of an older
	// version); Total its occurrences, Pending those not placed yet (the
	// first at NextAt).
	RRule, TimeZone string
	Total, Pending  int
	NextAt          time.Time
	Missed          []Miss
	Cancelled       bool
}

// Series returns series id as it stands now. A series of another owner is
// not found.
func (s *Service) Series(ctx context.Context, id, owner string) (*SeriesView, error) {
	sr, err := s.st.GetSeries(ctx, id)
	if err != nil {
		return nil, err
	}
	if owner != "" && sr.Owner != owner {
		return nil, doorstep.Errorf(doorstep.ENOTFOUND, "", "series %s not found", id)
	}
	v := &SeriesView{ID: id, Total: sr.Total, Pending: sr.Total - sr.Next, NextAt: sr.NextAt, Cancelled: sr.Cancelled}
	if sr.Rule != nil {
		v.RRule, v.TimeZone = sr.Rule.RRule, sr.Rule.TimeZone
	}
	if v.Pending <= 0 || sr.Cancelled {
		v.Pending, v.NextAt = 0, time.Time{}
	}
	for _, m := range sr.Missed {
		v.Missed = append(v.Missed, Miss(m))
	}
	for _, bid := range sr.BookingIDs {
		b, err := s.st.GetBooking(ctx, bid)
		if doorstep.ErrorCode(err) == doorstep.ENOTFOUND {
			continue // written in the record, never booked (see store.Series)
		}
		if err != nil {
			return nil, err
		}
		v.Bookings = append(v.Bookings, b)
	}
	slices.SortFunc(v.Bookings, func(a, b *doorstep.Booking) int { return a.Start.Compare(b.Start) })
	return v, nil
}

// SeriesCancel is the answer to CancelSeries.
type SeriesCancel struct {
	SeriesID  string
	Cancelled []*doorstep.Booking
	// Kept are the occurrences already under way, done or cancelled before.
	Kept []*doorstep.Booking
}

// CancelSeries cancels every occurrence of series id that has not started
// and stops its roll-forward: the record is marked cancelled first, so a
// roll-forward that placed an occurrence meanwhile finds it cancelled when
// it records the placement, and cancels that occurrence itself.
func (s *Service) CancelSeries(ctx context.Context, id, owner string) (*SeriesCancel, error) {
	if _, err := s.Series(ctx, id, owner); err != nil {
		return nil, err
	}
	if err := s.markCancelled(ctx, id); err != nil {
		return nil, err
	}
	v, err := s.Series(ctx, id, owner)
	if err != nil {
		return nil, err
	}
	out := &SeriesCancel{SeriesID: id}
	for _, b := range v.Bookings {
		c, err := s.cancelOccurrence(ctx, b)
		if err != nil {
			return nil, err
		}
		if c == nil {
			out.Kept = append(out.Kept, b)
			continue
		}
		out.Cancelled = append(out.Cancelled, c)
	}
	return out, nil
}

// markCancelled marks series id cancelled and takes it out of the
// roll-forward.
func (s *Service) markCancelled(ctx context.Context, id string) error {
	for range s.cfg.MaxAttempts {
		sr, err := s.st.GetSeries(ctx, id)
		if err != nil {
			return err
		}
		if sr.Cancelled {
			break
		}
		sr.Cancelled = true
		err = s.st.UpdateSeries(ctx, sr)
		if errors.Is(err, store.ErrConflict) {
			continue // a roll-forward wrote it meanwhile
		}
		if err != nil {
			return err
		}
		break
	}
	return s.st.UnscheduleSeries(ctx, id)
}

// cancelOccurrence cancels b unless it has started or is no longer
// confirmed (then it answers nil).
func (s *Service) cancelOccurrence(ctx context.Context, b *doorstep.Booking) (*doorstep.Booking, error) {
	if b.Status != doorstep.StatusConfirmed || !s.cfg.Now().Before(b.Start) {
		return nil, nil
	}
	c, err := s.st.CancelBooking(ctx, b.ID, s.cfg.Now())
	if errors.Is(err, store.ErrNotConfirmed) {
		return nil, nil
	}
	return c, err
}
