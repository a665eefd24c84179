package api

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// requestBody is a household request on the wire (DESIGN.md section 6).
type requestBody struct {
	ID               string             `json:"id,omitempty"`
	Service          string             `json:"service"`
	Skills           []string           `json:"skills,omitempty"`
	Certificates     []string           `json:"certificates,omitempty"`
	Location         *doorstep.Location `json:"location"`
	Urgency          doorstep.Urgency   `json:"urgency"`
	DurationMinutes  *int               `json:"duration_minutes,omitempty"`
	Window           *doorstep.Window   `json:"window,omitempty"`
	RequestedAt      *time.Time         `json:"requested_at,omitempty"`
	PreferredWorkers []string           `json:"preferred_workers,omitempty"`
	ExcludedWorkers  []string           `json:"excluded_workers,omitempty"`
	CustomerID       string             `json:"customer_id,omitempty"`
}

// request checks the fields JSON cannot and returns the domain request.
// Catalogue and service-level rules are checked by dispatch.
func (b *requestBody) request(prefix string) (doorstep.Request, error) {
	r := doorstep.Request{
		ID: b.ID, Service: b.Service, Skills: b.Skills, Certificates: b.Certificates,
		Urgency: b.Urgency, Window: b.Window, PreferredWorkers: b.PreferredWorkers,
		ExcludedWorkers: b.ExcludedWorkers, CustomerID: b.CustomerID,
	}
	if b.Service == "" {
		return r, doorstep.Errorf(doorstep.EINVALID, prefix+"service", "service is required")
	}
	if b.Urgency == "" {
		return r, doorstep.Errorf(doorstep.EINVALID, prefix+"urgency", "urgency is required")
	}
	if b.Location == nil {
		return r, doorstep.Errorf(doorstep.EINVALID, prefix+"location", "location is required")
	}
	r.Location = *b.Location
	if b.DurationMinutes != nil {
		if *b.DurationMinutes <= 0 || *b.DurationMinutes > int(doorstep.MaxDuration.Minutes()) {
			return r, doorstep.Errorf(doorstep.EINVALID, prefix+"duration_minutes", "duration_minutes must be in [1, %d]", int(doorstep.MaxDuration.Minutes()))
		}
		r.Duration = time.Duration(*b.DurationMinutes) * time.Minute
	}
	if b.RequestedAt != nil {
		r.RequestedAt = *b.RequestedAt
	}
	return r, nil
}

func indexed(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]." }

// bookingJSON is a booking on the wire.
type bookingJSON struct {
	ID          string           `json:"id"`
	WorkerID    string           `json:"worker_id"`
	Service     string           `json:"service"`
	Urgency     doorstep.Urgency `json:"urgency"`
	RequestedAt time.Time        `json:"requested_at"`
	Deadline    time.Time        `json:"deadline"`
	// Rule is the promise the booking is held to (Request.Rule).
	Rule       string           `json:"rule"`
	Start      time.Time        `json:"start"`
	End        time.Time        `json:"end"`
	Arrival    time.Time        `json:"arrival"`
	Status     string           `json:"status"`
	Window     *doorstep.Window `json:"window,omitempty"`
	CustomerID string           `json:"customer_id,omitempty"`
	SeriesID   string           `json:"series_id,omitempty"`
	// Version is 1 at creation and grows with every change (a move by a
	// rescue, a reschedule, a cancel); UpdatedAt is when the latest was
	// made, LastChange what it was.
	Version    int64                   `json:"version"`
	UpdatedAt  time.Time               `json:"updated_at,omitzero"`
	LastChange *doorstep.BookingChange `json:"last_change,omitempty"`
	// AtRisk is set while nobody can serve the booking as planned (its
	// worker changed and nobody could take it inside its promise).
	AtRisk *doorstep.AtRisk `json:"at_risk,omitempty"`
	// Progress is what the worker reported of the job, with every report.
	Progress *doorstep.Progress `json:"progress,omitempty"`
	// Price is what the booking costs, fixed when it was made.
	Price *doorstep.Price `json:"price,omitempty"`
	// Rescue is set when bookings moved to make room for this one:
	// the first move (off the worker who took it); Moves lists every move,
	// Rescue first.
	Rescue *rescueJSON  `json:"rescue,omitempty"`
	Moves  []rescueJSON `json:"moves,omitempty"`
}

// rescueJSON reports a booking moved to make room for another. That
// booking may be another booking system's: its id is shown only to its
// owner and to admins; everyone gets MovedBookingRef (movedRef).
type rescueJSON struct {
	MovedBookingID  string    `json:"moved_booking_id,omitempty"`
	MovedBookingRef string    `json:"moved_booking_ref"`
	FromWorker      string    `json:"from_worker"`
	ToWorker        string    `json:"to_worker"`
	OldStart        time.Time `json:"old_start"`
	NewStart        time.Time `json:"new_start"`
}

func bookedOut(bk *dispatch.Booked, viewer Principal) bookingJSON {
	out := bookingOut(bk.Booking)
	out.Rescue, out.Moves = rescueOut(bk.Rescue, viewer), movesOut(bk.Moves, viewer)
	return out
}

// movesOut is every move of ms as viewer may see it; nil when none.
func movesOut(ms []dispatch.Rescue, viewer Principal) []rescueJSON {
	if len(ms) == 0 {
		return nil
	}
	out := make([]rescueJSON, len(ms))
	for i := range ms {
		out[i] = *rescueOut(&ms[i], viewer)
	}
	return out
}

// rescueOut is r as viewer may see it.
func rescueOut(r *dispatch.Rescue, viewer Principal) *rescueJSON {
	if r == nil {
		return nil
	}
	out := &rescueJSON{MovedBookingRef: movedRef(viewer.KeyID, r.MovedBookingID),
		FromWorker: r.FromWorker, ToWorker: r.ToWorker, OldStart: r.OldStart, NewStart: r.NewStart}
	if owner := viewer.owner(); owner == "" || owner == r.MovedOwner {
		out.MovedBookingID = r.MovedBookingID
	}
	return out
}

// movedRef is the opaque reference of moved booking id shown to the key
// keyID: "mv_" and the first 16 bytes of SHA-256(keyID, 0, id) in hex. It
// reveals nothing of the id (128 random bits), differs between keys, and an
// operator holding the audit log (key id, booking id) can recompute it.
func movedRef(keyID, id string) string {
	sum := sha256.Sum256([]byte(keyID + "\x00" + id))
	return "mv_" + hex.EncodeToString(sum[:16])
}

func bookingOut(b *doorstep.Booking) bookingJSON {
	return bookingJSON{
		ID: b.ID, WorkerID: b.WorkerID, Service: b.Service, Urgency: b.Urgency,
		RequestedAt: b.RequestedAt, Deadline: b.Deadline, Rule: b.Rule(), Start: b.Start, End: b.End,
		Arrival: b.Arrival, Status: b.Status, Window: b.Window, CustomerID: b.CustomerID, SeriesID: b.SeriesID,
		Version: b.Version, UpdatedAt: b.UpdatedAt, LastChange: b.LastChange, AtRisk: b.AtRisk, Progress: b.Progress, Price: b.Price,
	}
}

func bookingsOut(bs []*doorstep.Booking) []bookingJSON {
	out := make([]bookingJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, bookingOut(b))
	}
	return out
}

// seriesJSON is a recurring booking on the wire: the answer to booking it
// and (with the rule and state fields) to GET /v1/series/{id}.
type seriesJSON struct {
	SeriesID string        `json:"series_id"`
	Bookings []bookingJSON `json:"bookings"`
	Missed   []missJSON    `json:"missed"`
	// Total occurrences; Pending not placed yet (beyond the horizon, for
	// the roll-forward), the first starting at NextAt.
	Total   int       `json:"total"`
	Pending int       `json:"pending"`
	NextAt  time.Time `json:"next_at,omitzero"`
	// Set by GET only.
	RRule     string `json:"rrule,omitempty"`
	TimeZone  string `json:"time_zone,omitempty"`
	Cancelled bool   `json:"cancelled,omitempty"`
}

type missJSON struct {
	Occurrence int             `json:"occurrence"`
	Window     doorstep.Window `json:"window"`
	Reason     string          `json:"reason"`
	At         time.Time       `json:"at"`
	Rolled     bool            `json:"rolled"`
}

func missesOut(ms []dispatch.Miss) []missJSON {
	out := make([]missJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, missJSON(m))
	}
	return out
}

func seriesOut(o *dispatch.SeriesOutcome) seriesJSON {
	return seriesJSON{SeriesID: o.SeriesID, Bookings: bookingsOut(o.Bookings), Missed: missesOut(o.Missed),
		Total: o.Total, Pending: o.Pending, NextAt: o.NextAt}
}

func seriesViewOut(v *dispatch.SeriesView) seriesJSON {
	return seriesJSON{SeriesID: v.ID, Bookings: bookingsOut(v.Bookings), Missed: missesOut(v.Missed),
		Total: v.Total, Pending: v.Pending, NextAt: v.NextAt, RRule: v.RRule, TimeZone: v.TimeZone, Cancelled: v.Cancelled}
}

// optionJSON is one ranked option of a match.
type optionJSON struct {
	WorkerID      string        `json:"worker_id"`
	Start         time.Time     `json:"start"`
	End           time.Time     `json:"end"`
	Arrival       time.Time     `json:"arrival"`
	TravelMinutes float64       `json:"travel_minutes"`
	DistanceKm    float64       `json:"distance_km"`
	Cost          float64       `json:"cost"`
	Breakdown     breakdownJSON `json:"breakdown"`
	// Price is what booking this option would cost.
	Price *doorstep.Price `json:"price,omitempty"`
}

type matchJSON struct {
	Options    []optionJSON   `json:"options"`
	Deadline   time.Time      `json:"deadline"`
	Rule       string         `json:"rule"`
	Considered int            `json:"considered"`
	Rejected   map[string]int `json:"rejected"`
	// Outranked counts the qualified candidates not evaluated because
	// each would have cost more than every option returned
	// (matcher.Result.Outranked).
	Outranked int `json:"outranked"`
	// Rescue is set when the only option needs bookings moved:
	// booking this request would make those moves (Rescue the first,
	// Moves every one).
	Rescue *rescueJSON  `json:"rescue,omitempty"`
	Moves  []rescueJSON `json:"moves,omitempty"`
}

func matchOut(q *dispatch.Quote, viewer Principal) matchJSON {
	out := matchJSON{Options: make([]optionJSON, 0, len(q.Options)), Deadline: q.Deadline, Rule: q.Request.Rule(), Considered: q.Considered, Rejected: q.Rejected,
		Outranked: q.Outranked, Rescue: rescueOut(q.Rescue, viewer), Moves: movesOut(q.Moves, viewer)}
	for i, o := range q.Options {
		out.Options = append(out.Options, optionJSON{Price: q.Prices[i],
			WorkerID: o.WorkerID, Start: o.Slot.Start, End: o.Slot.End, Arrival: o.Slot.Arrival,
			TravelMinutes: round2(o.Slot.Travel.Minutes()), DistanceKm: round2(o.Slot.DistanceKm),
			Cost: round2(o.Cost), Breakdown: breakdownOut(o.Breakdown),
		})
	}
	return out
}

func round2(v float64) float64 {
	if v < 0 {
		return -float64(int64(-v*100+0.5)) / 100
	}
	return float64(int64(v*100+0.5)) / 100
}

// breakdownJSON is an option's cost by term (matcher.Breakdown.Map),
// rounded: a struct whose fields are in the order of their names writes
// what the map of the terms wrote, without making a map an option
// (TestBreakdownJSONAsTheTermsMap).
type breakdownJSON struct {
	Continuity float64 `json:"continuity"`
	Fairness   float64 `json:"fairness"`
	Overtime   float64 `json:"overtime"`
	Preferred  float64 `json:"preferred"`
	Protection float64 `json:"protection"`
	Rating     float64 `json:"rating"`
	Travel     float64 `json:"travel"`
	Wait       float64 `json:"wait"`
}

func breakdownOut(b matcher.Breakdown) breakdownJSON {
	return breakdownJSON{Continuity: round2(b.Continuity), Fairness: round2(b.Fairness), Overtime: round2(b.Overtime), Preferred: round2(b.Preferred),
		Protection: round2(b.Protection), Rating: round2(b.Rating), Travel: round2(b.Travel), Wait: round2(b.Wait)}
}

// locationBody is a position report.
// replannedJSON is what re-planning a changed worker's bookings did
// (dispatch.Replanned).
type replannedJSON struct {
	Moved    int `json:"moved"`
	AtRisk   int `json:"at_risk"`
	Restored int `json:"restored"`
}

func replannedOut(rp *dispatch.Replanned) *replannedJSON {
	if rp == nil {
		return nil
	}
	return &replannedJSON{Moved: rp.Moved, AtRisk: rp.AtRisk, Restored: rp.Restored}
}

// workerChangedJSON is a worker as stored after a change, with what the
// change did to its bookings.
type workerChangedJSON struct {
	*doorstep.Worker
	Replanned *replannedJSON `json:"replanned,omitempty"`
}

// retiredJSON answers DELETE /v1/workers/{id}.
type retiredJSON struct {
	ID        string         `json:"id"`
	Replanned *replannedJSON `json:"replanned"`
}

// absenceBody is the body of POST /v1/workers/{id}/absences.
type absenceBody struct {
	From *time.Time `json:"from"`
	To   *time.Time `json:"to"`
}

type locationBody struct {
	Lat *float64   `json:"lat"`
	Lng *float64   `json:"lng"`
	At  *time.Time `json:"at,omitempty"`
}

// AuditEvent is one event of GET /v1/audit on the wire (store.AuditEvent
// encoded): who did what to which booking, and how it ended.
type AuditEvent struct {
	ID        string    `json:"id,omitempty"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	BookingID string    `json:"booking_id,omitempty"`
	Result    string    `json:"result"`
	RequestID string    `json:"request_id,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

// AuditLog is the answer of GET /v1/audit: events, newest first.
type AuditLog struct {
	Events []AuditEvent `json:"events"`
}

func auditOut(events []store.AuditEvent) AuditLog {
	out := AuditLog{Events: make([]AuditEvent, 0, len(events))}
	for _, e := range events {
		out.Events = append(out.Events, AuditEvent(e))
	}
	return out
}
