package doorstep

import "time"

// PositionFreshBeforeShift is how long before a shift starts a reported
// position still tells where the worker starts it; an older report
// (yesterday's last customer) says nothing of where the worker is now.
const PositionFreshBeforeShift = time.Hour

// StartPlace is where w starts shift sh when planned at t: its last
// reported position if sh is under way at t and the report was made during
// sh or at most PositionFreshBeforeShift before it; home otherwise (a
// shift not yet begun starts from home).
func (w *Worker) StartPlace(sh *Shift, t time.Time) Location {
	if w.Location != nil && !t.Before(sh.Start) && t.Before(sh.End) &&
		!w.LocatedAt.Before(sh.Start.Add(-PositionFreshBeforeShift)) {
		return *w.Location
	}
	return w.Home
}

// ShiftAt returns the shift of w under way at t (t in [Start, End)), or
// nil when w is off shift then.
func (w *Worker) ShiftAt(t time.Time) *Shift {
	for i := range w.Shifts {
		if sh := &w.Shifts[i]; !t.Before(sh.Start) && t.Before(sh.End) {
			return sh
		}
	}
	return nil
}

// PositionAt is where the planner takes w to be at t, before any booking
// moves it: StartPlace of the shift under way at t, or home when none is.
// The candidate search reads it, so that index and planner agree; the
// position index files a worker under both its home and its last reported
// position (IndexedPlaces), the two places PositionAt can return.
func (w *Worker) PositionAt(t time.Time) Location {
	if sh := w.ShiftAt(t); sh != nil {
		return w.StartPlace(sh, t)
	}
	return w.Home
}

// IndexedPlaces are the places the position index files w under: home,
// and the last reported position when there is one. Every place
// PositionAt returns at any time is among them.
func (w *Worker) IndexedPlaces() []Location {
	if w.Location == nil || *w.Location == w.Home {
		return []Location{w.Home}
	}
	return []Location{w.Home, *w.Location}
}
