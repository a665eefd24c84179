package doorstep

import (
	"slices"
	"time"
)

// Progress statuses a worker reports of a job (POST
// /v1/bookings/{id}/progress). The first five are states of the job's
// lifecycle; ProgressDelayed is an annotation that changes the job's
// times, not its state.
const (
	ProgressEnRoute   = "en_route"
	ProgressArrived   = "arrived"
	ProgressStarted   = "started"
	ProgressCompleted = "completed"
	ProgressNoShow    = "no_show"
	ProgressDelayed   = "delayed"
)

// ChangeProgress is the BookingChange reason of a progress report.
const ChangeProgress = "progress"

// ProgressSkew is how far in the future (by the server's clock) a
// reported time may lie: the clocks of a worker's phone and the server
// disagree a little.
const ProgressSkew = 2 * time.Minute

// Progress is what the field reported of a booking's job: the state
// reached and every report, oldest first.
type Progress struct {
	// State is the latest lifecycle state reported: en_route, arrived,
	// started, completed or no_show.
	State   string       `json:"state"`
	History []ProgressAt `json:"history"`
}

// ProgressAt is one report of a job's progress.
type ProgressAt struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	// ExpectedEnd and ExpectedArrival are what a delayed report expects.
	ExpectedEnd     time.Time `json:"expected_end,omitzero"`
	ExpectedArrival time.Time `json:"expected_arrival,omitzero"`
}

// State is b's place in the job lifecycle: "cancelled", else the progress
// state reported, else "confirmed".
func (b *Booking) State() string {
	switch {
	case b.Status == StatusCancelled:
		return StatusCancelled
	case b.Progress != nil:
		return b.Progress.State
	}
	return StatusConfirmed
}

// Terminal reports whether b's job is over by its lifecycle: cancelled,
// completed or a no-show. Nothing more may be reported of it.
func (b *Booking) Terminal() bool {
	switch b.State() {
	case StatusCancelled, ProgressCompleted, ProgressNoShow:
		return true
	}
	return false
}

// UnderWay reports whether b's worker reported it set off for the job (or
// more) and the job is not over: a rescue must not take the booking from
// that worker.
func (b *Booking) UnderWay() bool {
	return b.Progress != nil && !b.Terminal()
}

// progressNext lists, for each lifecycle state, the reports that may follow
// it. The lifecycle runs confirmed → en_route → arrived → started →
// completed; a report may skip en_route and arrived (an app that does not
// report travel), never started before completed (the job ran from its
// start); no_show follows confirmed, en_route or arrived, once the booking's
// start has come; delayed annotates confirmed, en_route, arrived or started.
// Cancelled, completed and no_show are terminal.
var progressNext = map[string][]string{
	StatusConfirmed: {ProgressEnRoute, ProgressArrived, ProgressStarted, ProgressNoShow, ProgressDelayed},
	ProgressEnRoute: {ProgressArrived, ProgressStarted, ProgressNoShow, ProgressDelayed},
	ProgressArrived: {ProgressStarted, ProgressNoShow, ProgressDelayed},
	ProgressStarted: {ProgressCompleted, ProgressDelayed},
}

// ValidProgress reports whether status is a progress status.
func ValidProgress(status string) bool {
	switch status {
	case ProgressEnRoute, ProgressArrived, ProgressStarted, ProgressCompleted, ProgressNoShow, ProgressDelayed:
		return true
	}
	return false
}

// CanFollow reports whether a report of status may follow lifecycle state
// (a Booking.State) by the lifecycle alone (times aside).
func CanFollow(state, status string) bool {
	return slices.Contains(progressNext[state], status)
}

// Advance applies report p, checked, to a copy of b at clock reading now
// and returns the copy, touched (ChangeProgress), with its new state, the
// report in its history and its times as the report makes them:
//
//   - arrived at t: Arrival is t; a start already past moves to t (the
//     duration kept);
//   - started at t: Start is t, End is t plus the duration;
//   - completed or no_show at t: End is t (the rest of the slot is free, or
//     the job ran over);
//   - delayed: ExpectedArrival (before the worker arrived) moves Arrival
//     there and Start, when it is earlier, with it; ExpectedEnd moves End.
//
// A report the lifecycle refuses is an ECONFLICT naming "status" with the
// current state; a time out of order (before the booking's request or the
// last report, an expected time not later than planned) is an EINVALID
// naming its field. The caller checks p.At against the clock.
func (b *Booking) Advance(p ProgressAt, now time.Time) (*Booking, error) {
	state := b.State()
	if !ValidProgress(p.Status) {
		return nil, Errorf(EINVALID, "status", "status must be one of en_route, arrived, started, completed, no_show, delayed")
	}
	if !CanFollow(state, p.Status) {
		return nil, Errorf(ECONFLICT, "status", "booking %s is %s: %s may not follow it", b.ID, state, p.Status)
	}
	if err := b.checkProgressTimes(p); err != nil {
		return nil, err
	}
	c := *b
	c.Touch(now, ChangeProgress)
	c.AtRisk = b.AtRisk // a report settles nothing by itself (see below)
	pr := Progress{State: state}
	if b.Progress != nil {
		pr.History = slices.Clone(b.Progress.History)
	}
	pr.History = append(pr.History, p)
	dur := b.End.Sub(b.Start)
	switch p.Status {
	case ProgressEnRoute:
		pr.State = p.Status
	case ProgressArrived:
		pr.State = p.Status
		c.Arrival = p.At
		if p.At.After(c.Start) {
			c.Start, c.End = p.At, p.At.Add(dur)
		}
	case ProgressStarted:
		pr.State = p.Status
		c.Start, c.End = p.At, p.At.Add(dur)
		if p.At.Before(c.Arrival) {
			c.Arrival = p.At
		}
	case ProgressCompleted, ProgressNoShow:
		pr.State = p.Status
		c.End = p.At
		c.AtRisk = nil // over: nothing is at risk any more
	case ProgressDelayed:
		if !p.ExpectedArrival.IsZero() {
			c.Arrival = p.ExpectedArrival
			if p.ExpectedArrival.After(c.Start) {
				c.Start, c.End = p.ExpectedArrival, p.ExpectedArrival.Add(dur)
			}
		} else {
			c.End = p.ExpectedEnd
		}
	}
	c.Progress = &pr
	return &c, nil
}

// checkProgressTimes checks the times of report p against b (see Advance).
func (b *Booking) checkProgressTimes(p ProgressAt) error {
	if p.At.Before(b.RequestedAt) {
		return Errorf(EINVALID, "at", "at is before the booking was requested (%s)", b.RequestedAt.Format(time.RFC3339))
	}
	if b.Progress != nil && len(b.Progress.History) > 0 {
		if last := b.Progress.History[len(b.Progress.History)-1].At; p.At.Before(last) {
			return Errorf(EINVALID, "at", "at is before the last report of the job (%s)", last.Format(time.RFC3339))
		}
	}
	ea, ee := p.ExpectedArrival, p.ExpectedEnd
	if p.Status != ProgressDelayed {
		switch {
		case !ea.IsZero():
			return Errorf(EINVALID, "expected_arrival", "expected_arrival is only for a delayed report")
		case !ee.IsZero():
			return Errorf(EINVALID, "expected_end", "expected_end is only for a delayed report")
		}
	}
	switch p.Status {
	case ProgressNoShow:
		if p.At.Before(b.Start) {
			return Errorf(ECONFLICT, "status", "booking %s is %s and starts at %s: no_show may only be reported from its start", b.ID, b.State(), b.Start.Format(time.RFC3339))
		}
	case ProgressDelayed:
		switch {
		case ea.IsZero() == ee.IsZero():
			return Errorf(EINVALID, "expected_end", "a delayed report needs exactly one of expected_end and expected_arrival")
		case !ea.IsZero() && b.State() != StatusConfirmed && b.State() != ProgressEnRoute:
			return Errorf(ECONFLICT, "expected_arrival", "booking %s is %s: the worker has arrived", b.ID, b.State())
		case !ea.IsZero() && (!ea.After(b.Arrival) || !ea.After(p.At)):
			return Errorf(EINVALID, "expected_arrival", "expected_arrival must be later than the planned arrival (%s) and than at", b.Arrival.Format(time.RFC3339))
		case !ee.IsZero() && (!ee.After(b.End) || !ee.After(p.At)):
			return Errorf(EINVALID, "expected_end", "expected_end must be later than the planned end (%s) and than at", b.End.Format(time.RFC3339))
		}
	}
	return nil
}

// Repeats reports whether p repeats b's last report exactly: a retry of a
// report already applied.
func (b *Booking) Repeats(p ProgressAt) bool {
	if b.Progress == nil || len(b.Progress.History) == 0 {
		return false
	}
	last := b.Progress.History[len(b.Progress.History)-1]
	return last.Status == p.Status && last.At.Equal(p.At) && last.ExpectedEnd.Equal(p.ExpectedEnd) && last.ExpectedArrival.Equal(p.ExpectedArrival)
}
