package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/doorstep-dev/doorstep"
	"github.com/redis/go-redis/v9"
)

// Integrator events: every change to a booking is an Event in its
// tenant's stream (the tenant is the booking's Owner, the API key id).
//
// A change and its events are written by one script: Apply appends them to
// its region's outbox stream (outboxKey, in the region's hash slot, beside
// the bookings), so that a process dying right after the change cannot
// lose them. A tenant's stream (tenantEventsKey) lives in the tenant's own
// slot, which no script of the region may touch on Redis Cluster, so a
// relay copies the outbox to the tenants' streams (RelayOutbox): one
// script per event in the tenant's slot, which appends the event unless
// the tenant's high-water mark for the region (the outbox id last copied
// from it) is already at or past the event's outbox id. A region's outbox
// is copied in order, so the mark makes the copy idempotent: a relay that
// crashes before saving its cursor copies again and nothing is doubled,
// and two relays of one region at once (a lease that expired under a slow
// holder) may both copy, never double or skip (an event is skipped only
// when the mark is at or past it, and whoever set the mark there copied
// everything before it). The cursor (outboxCursorKey) only saves work;
// the outbox is trimmed by the relay up to the cursor, never before.

// Event types.
const (
	EventCreated     = "booking.created"
	EventMoved       = "booking.moved"        // Reason: reschedule, rescue, replan, overrun
	EventCancelled   = "booking.cancelled"    // Reason: the booking's last change (cancel)
	EventAtRisk      = "booking.at_risk"      // Reason: doorstep.AtRisk.Reason
	EventProgress    = "booking.progress"     // Reason: the progress status (PublishEvent)
	EventFollowUpDue = "booking.followup_due" // a follow-up opened (PublishEvent)
)

// Event is one integrator event. Its JSON is the wire form of
// GET /v1/events and of webhook deliveries.
type Event struct {
	// ID is the entry id in the tenant's stream ("<ms>-<seq>"), set when
	// read: increasing within a tenant, the cursor of GET /v1/events and
	// the key to de-duplicate deliveries by.
	ID string `json:"id"`
	// Seq numbers the tenant's events from 1, without gaps.
	Seq       int64     `json:"seq"`
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	BookingID string    `json:"booking_id"`
	Reason    string    `json:"reason,omitempty"`
	// Data is a JSON object: for the booking.* events of Apply, the
	// booking's state after the change (BookingSummary); for a published
	// event, what its publisher gave.
	Data json.RawMessage `json:"data"`
	// Tenant is the owner of the booking (not on the wire: a tenant only
	// ever reads its own).
	Tenant string `json:"-"`
}

// BookingSummary is the data of a booking event: where and when the
// booking stands, without personal data (no customer, no place), so that
// events need no erasure; read the booking for the rest.
type BookingSummary struct {
	ID         string                  `json:"id"`
	Status     string                  `json:"status"`
	WorkerID   string                  `json:"worker_id"`
	Service    string                  `json:"service"`
	Urgency    doorstep.Urgency        `json:"urgency"`
	Start      time.Time               `json:"start"`
	End        time.Time               `json:"end"`
	Arrival    time.Time               `json:"arrival"`
	Version    int64                   `json:"version"`
	SeriesID   string                  `json:"series_id,omitempty"`
	LastChange *doorstep.BookingChange `json:"last_change,omitempty"`
	AtRisk     *doorstep.AtRisk        `json:"at_risk,omitempty"`
}

// Summary is b's BookingSummary.
func Summary(b *doorstep.Booking) BookingSummary {
	return BookingSummary{ID: b.ID, Status: b.Status, WorkerID: b.WorkerID, Service: b.Service, Urgency: b.Urgency,
		Start: b.Start, End: b.End, Arrival: b.Arrival, Version: b.Version, SeriesID: b.SeriesID,
		LastChange: b.LastChange, AtRisk: b.AtRisk}
}

// BookingEvent returns the event of a change to b (its state after the
// change) of type typ for reason, at at: what Apply writes for each booking
// of a Change, and what a publisher (PublishEvent) writes for a change it
// makes itself.
func BookingEvent(b *doorstep.Booking, typ, reason string, at time.Time) Event {
	data, _ := json.Marshal(Summary(b)) // plain types: never fails
	return Event{Type: typ, At: at, BookingID: b.ID, Reason: reason, Data: data, Tenant: b.Owner}
}

// ProgressEvent is the event of a progress report on b (status one of the
// job progress statuses: en_route, arrived, started, completed, no_show,
// delayed), at at. data, when not nil, is the report as a JSON object; nil
// means b's summary.
func ProgressEvent(b *doorstep.Booking, status string, at time.Time, data json.RawMessage) Event {
	ev := BookingEvent(b, EventProgress, status, at)
	if data != nil {
		ev.Data = data
	}
	return ev
}

// FollowUpDueEvent is the event of a follow-up opened on b, due at due.
func FollowUpDueEvent(b *doorstep.Booking, due, at time.Time) Event {
	data, _ := json.Marshal(struct {
		Booking BookingSummary `json:"booking"`
		Due     time.Time      `json:"due"`
	}{Summary(b), due})
	return Event{Type: EventFollowUpDue, At: at, BookingID: b.ID, Data: data, Tenant: b.Owner}
}

// changeEvents are the events of ch's bookings: created, cancelled, a
// progress report (booking.progress with the report's status), at risk, or
// moved with its reason (the booking's last change, else the change's
// Reason, else a reschedule); then ch.Events.
func changeEvents(ch *Change, at time.Time) []Event {
	out := make([]Event, 0, len(ch.Create)+len(ch.Update)+len(ch.Events))
	for _, b := range ch.Create {
		out = append(out, BookingEvent(b, EventCreated, "", at))
	}
	for _, b := range ch.Update {
		reason := ch.Reason
		if b.LastChange != nil && b.LastChange.Reason != "" {
			reason = b.LastChange.Reason
		}
		switch {
		case b.Status == doorstep.StatusCancelled:
			out = append(out, BookingEvent(b, EventCancelled, reason, at))
		case reason == doorstep.ChangeProgress && b.Progress != nil && len(b.Progress.History) > 0:
			// A progress report (dispatch.Service.Progress): its event
			// carries the report's status, written with the report.
			out = append(out, BookingEvent(b, EventProgress, b.Progress.History[len(b.Progress.History)-1].Status, at))
		case b.AtRisk != nil && (b.LastChange == nil || b.LastChange.Reason == doorstep.ChangeAtRisk):
			// Newly marked (an overrun of a booking at risk keeps its
			// mark: that is a move for its overrun).
			out = append(out, BookingEvent(b, EventAtRisk, b.AtRisk.Reason, at))
		default:
			out = append(out, BookingEvent(b, EventMoved, cmp.Or(reason, doorstep.ChangeReschedule), at))
		}
	}
	return append(out, ch.Events...)
}

// fields are e's entry fields in an outbox.
func (e *Event) fields() []any {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return []any{"tenant", e.Tenant, "type", e.Type, "at", e.At.UTC().Format(time.RFC3339Nano),
		"booking_id", e.BookingID, "reason", e.Reason, "data", string(data)}
}

// eventArgs appends to apply.lua's args the events of ch (none when events
// are off).
func (s *Store) eventArgs(ch *Change, args []any) []any {
	if s.eventsOff.Load() {
		return append(args, 0)
	}
	evs := changeEvents(ch, s.now())
	args = append(args, len(evs))
	for i := range evs {
		f := evs[i].fields()
		args = append(args, len(f))
		args = append(args, f...)
	}
	return args
}

// SetEvents turns the integrator events of Apply on (the default) or off.
// Off, no change writes an event: for a deployment with no integrators,
// and to measure what events cost.
func (s *Store) SetEvents(on bool) { s.eventsOff.Store(!on) }

// OnEvents sets fn to be called, in the caller's goroutine, after each
// Apply or PublishEvent that wrote events to region's outbox: a relay in
// the same process wakes at once rather than at its next poll. nil stops
// it.
func (s *Store) OnEvents(fn func(region string)) {
	if fn == nil {
		s.onEvents.Store(nil)
		return
	}
	s.onEvents.Store(&fn)
}

func (s *Store) notifyEvents(region string) {
	if fn := s.onEvents.Load(); fn != nil && !s.eventsOff.Load() {
		(*fn)(region)
	}
}

// PublishEvent appends ev about booking ev.BookingID to the outbox of the
// booking's region, from where it reaches its tenant's stream (ev.Tenant,
// the booking's owner) after the booking's earlier events. It is the hook
// of the changes Apply does not make itself (job progress, follow-ups
// due): build ev with ProgressEvent, FollowUpDueEvent or BookingEvent. A
// change that also rewrites bookings should rather carry its events in
// Change.Events, so that they are written in the same step.
func (s *Store) PublishEvent(ctx context.Context, ev Event) error {
	region, err := RegionOfBooking(ev.BookingID)
	if err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	if ev.Type == "" {
		return invalid("type", "event type is empty")
	}
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return invalid("data", "event data is not JSON")
	}
	err = s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: outboxKey(region), Values: ev.fields()}).Err()
	if err != nil {
		return wrapErr("publish event", err)
	}
	s.notifyEvents(region)
	return nil
}

func outboxKey(region string) string       { return regionTag(region) + "outbox" }
func outboxCursorKey(region string) string { return regionTag(region) + "outbox:cursor" }
func outboxLeaseKey(region string) string  { return regionTag(region) + "outbox:lease" }

// tenantTag is the hash tag of a tenant's keys: its events and webhooks.
func tenantTag(tenant string) string       { return keyPrefix + "{t:" + tenant + "}:" }
func tenantEventsKey(tenant string) string { return tenantTag(tenant) + "events" }

// tenantMarksKey holds the tenant's relay high-water marks (field: region,
// value: the outbox id last copied) and its event counter (field "#seq").
func tenantMarksKey(tenant string) string { return tenantTag(tenant) + "relayed" }

// tenantsKey is the set of tenants that have a stream (no hash tag), for
// retention.
const tenantsKey = keyPrefix + "tenants"

// CheckTenant rejects tenant names that cannot be part of a key.
func CheckTenant(tenant string) error {
	switch {
	case len(tenant) > maxIDLen:
		return invalid("tenant", "tenant is longer than %d bytes", maxIDLen)
	case !utf8.ValidString(tenant) || strings.ContainsFunc(tenant, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '{' || r == '}' }):
		return invalid("tenant", "tenant must be printable UTF-8 without braces")
	}
	return nil
}

// EventRetention bounds the tenants' event streams.
type EventRetention struct {
	// MaxLen bounds each tenant's stream (approximately: Redis trims whole
	// macro nodes) as events are relayed; 0 means DefaultEventMaxLen.
	MaxLen int64
	// MaxAge drops events older than it (TrimEvents, XTRIM MINID); 0
	// means DefaultEventMaxAge.
	MaxAge time.Duration
}

// Defaults of EventRetention.
const (
	DefaultEventMaxLen = 100_000
	DefaultEventMaxAge = 7 * 24 * time.Hour
)

func (r EventRetention) maxLen() int64 {
	if r.MaxLen <= 0 {
		return DefaultEventMaxLen
	}
	return r.MaxLen
}

func (r EventRetention) maxAge() time.Duration {
	if r.MaxAge <= 0 {
		return DefaultEventMaxAge
	}
	return r.MaxAge
}

// Regions lists the regions that ever held a worker's profile: the only
// ones that can hold bookings, hence outboxes.
func (s *Store) Regions(ctx context.Context) ([]string, error) {
	rs, err := s.rdb.SMembers(ctx, regionsKey).Result()
	if err != nil {
		return nil, wrapErr("list regions", err)
	}
	return rs, nil
}

// Lease takes or renews the lease key for holder for ttl: true when holder
// holds it now. key names what is leased (OutboxLease, WebhookLease).
func (s *Store) Lease(ctx context.Context, key Lease, holder string, ttl time.Duration) (bool, error) {
	n, err := s.scripts.lease.Run(ctx, s.rdb, []string{string(key)}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, wrapErr("take lease", err)
	}
	return n == 1, nil
}

// Release gives the lease key up if holder holds it.
func (s *Store) Release(ctx context.Context, key Lease, holder string) error {
	return wrapErr("release lease", s.scripts.lease.Run(ctx, s.rdb, []string{string(key)}, holder, 0).Err())
}

// Lease names a leased key.
type Lease string

// OutboxLease is the lease of the relay of region's outbox.
func OutboxLease(region string) Lease { return Lease(outboxLeaseKey(region)) }

// RelayOutbox copies up to n events of region's outbox, after its cursor,
// to their tenants' streams, then moves the cursor past them and trims the
// outbox up to it; it returns the tenants that got events (copied now or
// found already copied), and more when it copied a full n: the outbox may
// hold more (else it held no more when read, and a relay need not read it
// again to find it empty). Call it under OutboxLease, so that one relay
// works at a time as a rule; it stays correct without (see the comment at
// the top of this file).
func (s *Store) RelayOutbox(ctx context.Context, region string, n int64, ret EventRetention) (tenants []string, more bool, err error) {
	if !validRegion(region) {
		return nil, false, fmt.Errorf("relay outbox: invalid region %q", region)
	}
	cursor, err := s.rdb.Get(ctx, outboxCursorKey(region)).Result()
	switch {
	case errors.Is(err, redis.Nil):
		cursor = "0-0"
	case err != nil:
		return nil, false, wrapErr("relay outbox", err)
	}
	msgs, err := s.rdb.XRangeN(ctx, outboxKey(region), "("+cursor, "+", n).Result()
	if err != nil {
		return nil, false, wrapErr("relay outbox", err)
	}
	if len(msgs) == 0 {
		return nil, false, nil
	}
	// One script a tenant, with every event of the batch for it, in
	// outbox order: a script call costs Redis some 20 µs before its first
	// command, and a batch is mostly one tenant's.
	events := map[string][]any{}
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		t := str("tenant")
		if CheckTenant(t) != nil {
			continue // never written by Apply or PublishEvent
		}
		if _, ok := events[t]; !ok {
			tenants = append(tenants, t)
			events[t] = []any{region, ret.maxLen()}
		}
		fields := []any{"type", str("type"), "at", str("at"), "booking_id", str("booking_id"), "reason", str("reason"), "data", str("data")}
		events[t] = append(append(events[t], m.ID, len(fields)), fields...)
	}
	pipe := s.rdb.Pipeline()
	for _, t := range tenants {
		// Eval, not Run: a pipeline cannot fall back from EVALSHA.
		s.scripts.relay.Eval(ctx, pipe, []string{tenantEventsKey(t), tenantMarksKey(t)}, events[t]...)
	}
	if len(tenants) > 0 {
		args := make([]any, len(tenants))
		for i, t := range tenants {
			args[i] = t
		}
		pipe.SAdd(ctx, tenantsKey, args...)
	}
	if err := execPipe(ctx, pipe); err != nil {
		return nil, false, wrapErr("relay outbox", err)
	}
	last := msgs[len(msgs)-1].ID
	pipe = s.rdb.Pipeline()
	pipe.Set(ctx, outboxCursorKey(region), last, 0)
	pipe.XTrimMinID(ctx, outboxKey(region), last)
	if err := execPipe(ctx, pipe); err != nil {
		return nil, false, wrapErr("relay outbox", err)
	}
	return tenants, int64(len(msgs)) == n, nil
}

// OutboxBacklog is how many events region's outbox holds that the relay
// has not copied yet (an upper bound: what it holds past its last trim).
func (s *Store) OutboxBacklog(ctx context.Context, region string) (int64, error) {
	n, err := s.rdb.XLen(ctx, outboxKey(region)).Result()
	if err != nil {
		return 0, wrapErr("outbox backlog", err)
	}
	return max(n-1, 0), nil // the entry at the cursor is kept
}

// ReadEvents returns up to limit events of tenant's stream after the event
// id after ("" or "0" from the first kept), oldest first.
func (s *Store) ReadEvents(ctx context.Context, tenant, after string, limit int64) ([]Event, error) {
	if err := CheckTenant(tenant); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		return nil, invalid("limit", "limit must be in [1, 1000]")
	}
	start := "-"
	if after != "" && after != "0" {
		if !ValidEventID(after) {
			return nil, invalid("after", "not an event id (\"<ms>-<seq>\")")
		}
		start = "(" + after
	}
	msgs, err := s.rdb.XRangeN(ctx, tenantEventsKey(tenant), start, "+", limit).Result()
	if err != nil {
		return nil, wrapErr("read events", err)
	}
	out := make([]Event, len(msgs))
	for i, m := range msgs {
		out[i] = eventOf(m, tenant)
	}
	return out, nil
}

// LastEvent returns the id and seq of tenant's newest event ("", 0 when it
// has none).
func (s *Store) LastEvent(ctx context.Context, tenant string) (id string, seq int64, err error) {
	msgs, err := s.rdb.XRevRangeN(ctx, tenantEventsKey(tenant), "+", "-", 1).Result()
	if err != nil {
		return "", 0, wrapErr("read last event", err)
	}
	if len(msgs) == 0 {
		return "", 0, nil
	}
	ev := eventOf(msgs[0], tenant)
	return ev.ID, ev.Seq, nil
}

// ValidEventID reports whether id is a stream entry id "<ms>-<seq>".
func ValidEventID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return false
	}
	_, e1 := strconv.ParseUint(ms, 10, 64)
	_, e2 := strconv.ParseUint(seq, 10, 64)
	return e1 == nil && e2 == nil
}

func eventOf(m redis.XMessage, tenant string) Event {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := time.Parse(time.RFC3339Nano, str("at"))
	seq, _ := strconv.ParseInt(str("seq"), 10, 64)
	data := json.RawMessage(str("data"))
	if !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	return Event{ID: m.ID, Seq: seq, Type: str("type"), At: at, BookingID: str("booking_id"), Reason: str("reason"),
		Data: data, Tenant: tenant}
}

// TrimEvents drops, from every tenant's stream, the events older than
// ret.MaxAge before now (XTRIM MINID, approximate); it returns how many
// went.
func (s *Store) TrimEvents(ctx context.Context, ret EventRetention, now time.Time) (int64, error) {
	tenants, err := s.rdb.SMembers(ctx, tenantsKey).Result()
	if err != nil {
		return 0, wrapErr("trim events", err)
	}
	minID := strconv.FormatInt(now.Add(-ret.maxAge()).UnixMilli(), 10) + "-0"
	n, err := s.sumPipelined(ctx, tenants, func(pipe redis.Pipeliner, t string) *redis.IntCmd {
		return pipe.XTrimMinID(ctx, tenantEventsKey(t), minID)
	})
	return n, wrapErr("trim events", err)
}
