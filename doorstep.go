// Package doorstep holds the domain of the Doorstep dispatch engine: workers,
// requests, bookings, the service catalogue and the application error type.
// Every other package speaks in these types; none of them does I/O.
//
// The subpackages adapt one concern each: geo (H3 cells and travel times),
// schedule (shifts, timelines and slot search), matcher (ranking and batch
// assignment), store (Redis), dispatch (the use cases), api (HTTP) and sim
// (what-if simulations). cmd/doorstep wires them together.
package doorstep

import (
	"fmt"
	"math"
	"time"
)

// Urgency is a request's service class.
type Urgency string

// The two service classes and their promises (DESIGN.md section 1).
const (
	// Urgent: a qualified worker arrives within UrgentArrival of the request.
	Urgent Urgency = "urgent"
	// Normal: the service starts within NormalStart of the request or,
	// when the customer gives a window (an appointment, up to the horizon
	// ahead), inside that window.
	Normal Urgency = "normal"
)

// Service-level bounds.
const (
	UrgentArrival = 60 * time.Minute
	NormalStart   = 24 * time.Hour
	// DefaultHorizon is how far ahead an appointment (a normal request with
	// a window) may be booked unless the server is configured otherwise
	// (serve -horizon-days).
	DefaultHorizon = 60 * 24 * time.Hour
)

// Valid reports whether u is a known class.
func (u Urgency) Valid() bool { return u == Urgent || u == Normal }

// CompareUrgency orders urgent before normal for slices.SortFunc: negative
// when a is urgent and b is not, positive the other way round, 0 when
// they are alike.
func CompareUrgency(a, b Urgency) int {
	switch {
	case a == b:
		return 0
	case a == Urgent:
		return -1
	case b == Urgent:
		return 1
	}
	return 0
}

// Location is a point on Earth in degrees (WGS 84).
type Location struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// Validate reports an *Error naming field when l is not a finite point on Earth.
func (l Location) Validate(field string) error {
	switch {
	case math.IsNaN(l.Lat) || math.IsInf(l.Lat, 0) || l.Lat < -90 || l.Lat > 90:
		return Errorf(EINVALID, field+".lat", "latitude must be a finite number in [-90, 90]")
	case math.IsNaN(l.Lng) || math.IsInf(l.Lng, 0) || l.Lng < -180 || l.Lng > 180:
		return Errorf(EINVALID, field+".lng", "longitude must be a finite number in [-180, 180]")
	}
	return nil
}

// Window is a half-open time range [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Contains reports whether t lies in [w.Start, w.End].
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && !t.After(w.End) }

// Duration is End - Start.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Shift is a span in which a worker is available, with optional breaks in
// which no job may run and no travel may cross. The shift's time zone is the
// zone of its Start timestamp (its "working day").
type Shift struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Breaks []Break   `json:"breaks,omitempty"`
	// UrgentOvertimeMinutes lets an urgent job that starts inside the
	// shift run up to this many minutes past its end (0, the default:
	// every job ends by the end). It is a contract's choice, not a
	// dispatch rule: a normal job never runs over, and the worker's next
	// shift starts after the allowance at the earliest.
	UrgentOvertimeMinutes int `json:"urgent_overtime_minutes,omitempty"`
}

// EndFor is when a job of the urgent class (urgent true) or not must end
// at the latest in s: its end, or for an urgent job its end plus the
// overtime allowed.
func (s *Shift) EndFor(urgent bool) time.Time {
	if urgent && s.UrgentOvertimeMinutes > 0 {
		return s.End.Add(time.Duration(s.UrgentOvertimeMinutes) * time.Minute)
	}
	return s.End
}

// HasFlexibleBreak reports whether any break of s floats.
func (s *Shift) HasFlexibleBreak() bool {
	for i := range s.Breaks {
		if !s.Breaks[i].Fixed() {
			return true
		}
	}
	return false
}

// Worker is a person who serves households. Location is the last reported
// position; Home is where the worker starts when no position is known.
type Worker struct {
	ID            string    `json:"id"`
	Skills        []string  `json:"skills"`
	Certificates  []string  `json:"certificates,omitempty"`
	Home          Location  `json:"home"`
	Location      *Location `json:"location,omitempty"`
	LocatedAt     time.Time `json:"located_at,omitzero"`
	Shifts        []Shift   `json:"shifts"`
	Rating        float64   `json:"rating"`
	MaxJobsPerDay int       `json:"max_jobs_per_day,omitempty"`
	// MaxWorkMinutesPerDay caps booked service minutes per working day; 0 is no cap.
	MaxWorkMinutesPerDay int `json:"max_work_minutes_per_day,omitempty"`
}

// Position is where the worker is believed to be: the last reported location,
// else home.
func (w *Worker) Position() Location {
	if w.Location != nil {
		return *w.Location
	}
	return w.Home
}

// Qualifies reports whether w may serve r at all: it has every skill and
// every certificate r needs. It is the one qualification rule of Doorstep;
// the matcher, the candidate searches and the simulator all call it.
func (w *Worker) Qualifies(r *Request) bool { return w.Lacks(r) == "" }

// Lacks names what keeps w from qualifying for r: "skills" when it misses a
// skill, else "certificates" when it misses a certificate, else "".
func (w *Worker) Lacks(r *Request) string {
	switch {
	case !HasAll(w.Skills, r.Skills):
		return "skills"
	case !HasAll(w.Certificates, r.Certificates):
		return "certificates"
	}
	return ""
}

// HasAll reports whether have contains every element of need.
func HasAll(have, need []string) bool {
	for _, n := range need {
		found := false
		for _, h := range have {
			if h == n {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Request is a household's ask for a service.
type Request struct {
	// ID identifies the request within a batch; optional for single requests.
	ID           string   `json:"id,omitempty"`
	Service      string   `json:"service"`
	Skills       []string `json:"skills,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Location     Location `json:"location"`
	Urgency      Urgency  `json:"urgency"`
	// Duration of the service; zero means the catalogue default.
	Duration         time.Duration `json:"-"`
	Window           *Window       `json:"window,omitempty"`
	RequestedAt      time.Time     `json:"requested_at,omitzero"`
	PreferredWorkers []string      `json:"preferred_workers,omitempty"`
	ExcludedWorkers  []string      `json:"excluded_workers,omitempty"`
	// CustomerID is an opaque id chosen by the booking system: never a name,
	// phone or address.
	CustomerID string `json:"customer_id,omitempty"`
}

// The promise rules a request is served under (Request.Rule).
const (
	// RuleUrgent: an urgent request; a worker arrives within UrgentArrival
	// of the request.
	RuleUrgent = "urgent_1h"
	// RuleNormal: a normal request without a window; the service starts
	// within NormalStart of the request.
	RuleNormal = "normal_24h"
	// RuleAppointment: a normal request with a window (an appointment,
	// booked up to the horizon ahead); the service starts inside the
	// window.
	RuleAppointment = "appointment_window"
)

// Rule names the promise r is served under: RuleUrgent, RuleAppointment
// for a normal request with a window, else RuleNormal.
func (r *Request) Rule() string {
	switch {
	case r.Urgency == Urgent:
		return RuleUrgent
	case r.Window != nil:
		return RuleAppointment
	}
	return RuleNormal
}

// Deadline is the latest instant r's promise (Rule) allows: the arrival
// for an urgent request, the start for a normal one: the window's end for
// an appointment, else NormalStart after the request.
func (r *Request) Deadline() time.Time {
	switch r.Rule() {
	case RuleUrgent:
		return r.RequestedAt.Add(UrgentArrival)
	case RuleAppointment:
		return r.Window.End
	}
	return r.RequestedAt.Add(NormalStart)
}

// PrivacyResolution is the H3 resolution (about 0.1 km², a few blocks) to
// which a finished booking's location is reduced.
const PrivacyResolution = 9

// Booking status values.
const (
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled"
)

// Booking is a reserved slot of one worker for one request.
type Booking struct {
	ID          string    `json:"id"`
	WorkerID    string    `json:"worker_id"`
	Service     string    `json:"service"`
	Urgency     Urgency   `json:"urgency"`
	RequestedAt time.Time `json:"requested_at"`
	Deadline    time.Time `json:"deadline"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Arrival     time.Time `json:"arrival"`
	Status      string    `json:"status"`
	// Location is where the service happens; it is needed to plan the
	// worker's travel around the booking. Once the booking is over (or
	// cancelled) it is reduced to the centre of its H3 cell (Cell): the
	// exact place of a household is kept no longer than the booking
	// needs it.
	Location Location `json:"location"`
	// Cell is set when Location has been reduced: the H3 cell (resolution
	// PrivacyResolution) that held the exact location.
	Cell       string  `json:"cell,omitempty"`
	Window     *Window `json:"window,omitempty"`
	CustomerID string  `json:"customer_id,omitempty"`
	// Skills and Certificates are what the request required, so that a
	// reschedule or a rescue can find another qualified worker.
	Skills       []string `json:"skills,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	// PreferredWorkers and ExcludedWorkers are the customer's preferences,
	// kept so that a rescue or a reschedule that moves the booking honours
	// them as the first placement did.
	PreferredWorkers []string `json:"preferred_workers,omitempty"`
	ExcludedWorkers  []string `json:"excluded_workers,omitempty"`
	// SeriesID links the occurrences of a recurring booking.
	SeriesID string `json:"series_id,omitempty"`
	// Owner names the API key (not the key itself) that created the
	// booking; other booking systems cannot see it.
	Owner string `json:"owner,omitempty"`
	// Version is 1 when the booking is created and grows by one with every
	// change of its worker, times or status (Touch); the store refuses a
	// rewrite that does not follow the version it holds. Reducing the
	// location for privacy is not a change of the booking and keeps it.
	Version int64 `json:"version"`
	// UpdatedAt is when the booking was created or last changed.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// LastChange is the booking's latest change after its creation, nil
	// until one is made: what a notification to its owner needs.
	LastChange *BookingChange `json:"last_change,omitempty"`
	// AtRisk is set while the booking is confirmed but its worker can no
	// longer serve it as planned (a shift cut, a certificate removed, a
	// retirement, an absence, an overrun) and no other worker could take it
	// within its promise: it is kept, not lost, for its owner and the
	// operators to act on (GET /v1/bookings/at-risk). Any later change of
	// the booking (Touch) clears it.
	AtRisk *AtRisk `json:"at_risk,omitempty"`
	// Progress is what the worker reported of the job (en route, arrived,
	// started, completed, no-show, delayed), nil until the first report.
	// Status stays confirmed: the booking keeps its time on the timeline
	// (ending when the job did), so that it counts towards its day's caps.
	Progress *Progress `json:"progress,omitempty"`
	// Price is what the booking costs, fixed when it is made (the
	// catalogue's tariff at that time, for its service, urgency, start and
	// duration) and kept with it: a later change of the catalogue, or a
	// move of the booking, does not alter it. Nil for an unpriced service.
	Price *Price `json:"price,omitempty"`
}

// AtRisk says why and since when a confirmed booking is at risk.
type AtRisk struct {
	// Reason is what its worker can no longer do: one of the
	// matcher.Displaced* reasons (retired, shift, skills, certificates,
	// cap, travel, overrun).
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// Request rebuilds the request b serves, as a reschedule or a rescue
// places it again.
func (b *Booking) Request() *Request {
	return &Request{
		Service: b.Service, Skills: b.Skills, Certificates: b.Certificates, Location: b.Location,
		Urgency: b.Urgency, Duration: b.End.Sub(b.Start), Window: b.Window, RequestedAt: b.RequestedAt,
		CustomerID: b.CustomerID, PreferredWorkers: b.PreferredWorkers, ExcludedWorkers: b.ExcludedWorkers,
	}
}

// Rule names the promise b was booked under (Request.Rule).
func (b *Booking) Rule() string {
	r := Request{Urgency: b.Urgency, Window: b.Window}
	return r.Rule()
}

// Reasons of a BookingChange.
const (
	// ChangeRescue: moved, maybe by another owner's request (urgent or
	// normal), to make room for it (its promise kept: same window, or the
	// same start without one, within 24 hours; an urgent booking, moved
	// only for an urgent request, still reached within its hour).
	ChangeRescue = "rescue"
	// ChangeReschedule: moved to a new window by its owner.
	ChangeReschedule = "reschedule"
	// ChangeCancel: cancelled (by its owner, or by a customer's erasure).
	ChangeCancel = "cancel"
	// ChangeReplan: moved to another worker or time inside its promise
	// because its worker changed (shift cut, certificate removed,
	// retirement, absence) or ran late on an earlier job (overrun).
	ChangeReplan = "replan"
	// ChangeAtRisk: marked at risk (AtRisk), its worker and times kept,
	// because nobody could take it inside its promise.
	ChangeAtRisk = "at_risk"
	// ChangeOverrun: a job running past its planned end (its End moved).
	ChangeOverrun = "overrun"
)

// BookingChange records why and when a booking last changed, and its
// worker and start before the change.
type BookingChange struct {
	Reason           string    `json:"reason"`
	At               time.Time `json:"at"`
	PreviousWorkerID string    `json:"previous_worker_id"`
	PreviousStart    time.Time `json:"previous_start"`
}

// Touch records a change of b made at now for reason: Version grows by one,
// UpdatedAt becomes now, LastChange keeps the worker and start b has
// before the change, and AtRisk is cleared (a change places the booking
// anew; ChangeAtRisk sets it again after Touch). Call it before changing
// them.
func (b *Booking) Touch(now time.Time, reason string) {
	b.LastChange = &BookingChange{Reason: reason, At: now, PreviousWorkerID: b.WorkerID, PreviousStart: b.Start}
	b.AtRisk = nil
	b.Version++
	b.UpdatedAt = now
}

// String is a short description for logs; it carries no personal data.
func (b *Booking) String() string {
	return fmt.Sprintf("booking %s worker=%s %s..%s", b.ID, b.WorkerID, b.Start.Format(time.RFC3339), b.End.Format(time.RFC3339))
}
