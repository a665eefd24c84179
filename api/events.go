package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/events"
	"github.com/doorstep-dev/doorstep/store"
)

// Events for integrators (issue 15): GET /v1/events reads the caller's
// tenant's stream (store.ReadEvents) at once, as a long poll (?wait=) or
// as Server-Sent Events (Accept: text/event-stream). An event's JSON is
// store.Event's, the same as a webhook delivery's body.

// eventsState is the server's side of the events routes.
type eventsState struct {
	hub     *events.Hub
	poll    time.Duration
	policy  events.URLPolicy
	waiters atomic.Int64
	drained chan struct{} // closed by Drain: streams end
}

func newEventsState(ev *events.Service) *eventsState {
	st := &eventsState{hub: new(events.Hub), poll: 200 * time.Millisecond, drained: make(chan struct{})}
	if ev != nil {
		st.hub, st.poll, st.policy = ev.Hub(), ev.Poll(), ev.URLPolicy()
	}
	return st
}

// Bounds of GET /v1/events.
const (
	// MaxEventWait bounds ?wait= (seconds): below the server's write
	// timeout.
	MaxEventWait = 25
	// maxEventWaiters bounds the long polls and streams waiting at once
	// on one server; beyond, a long poll answers at once and a stream is
	// refused (429). They hold no in-flight slot (Limits.MaxInFlight).
	maxEventWaiters = 1024
	// sseHeartbeat is how often an idle stream sends a comment, so that
	// proxies keep it open and a dead client is noticed.
	sseHeartbeat = 15 * time.Second
)

// eventTenant is the tenant whose events or webhooks r names: the caller's
// own (its key id), or for ops and admin keys the ?tenant= given.
func eventTenant(r *http.Request, asked string) (string, error) {
	p := principalFrom(r.Context())
	if asked == "" || asked == p.KeyID {
		return p.KeyID, nil
	}
	if p.Role == RoleBooking {
		return "", doorstep.Errorf(doorstep.EFORBIDDEN, "tenant", "a booking key sees only its own tenant's events and webhooks")
	}
	return asked, store.CheckTenant(asked)
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tenant, err := eventTenant(r, q.Get("tenant"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := queryLimit(r, 100, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	after := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		after = id // a reconnecting EventSource resumes where it was
	}
	if after != "" && after != "0" && !store.ValidEventID(after) {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "after", "after must be an event id (\"<ms>-<seq>\") or 0"))
		return
	}
	wait := 0
	if v := q.Get("wait"); v != "" {
		if wait, err = strconv.Atoi(v); err != nil || wait < 0 || wait > MaxEventWait {
			s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "wait", "wait must be a whole number of seconds in [0, %d]", MaxEventWait))
			return
		}
	}
	if acceptsEventStream(r) {
		s.streamEvents(w, r, tenant, after, int64(limit))
		return
	}
	var deadline <-chan time.Time
	if wait > 0 && s.ev.waiters.Add(1) <= maxEventWaiters {
		t := time.NewTimer(time.Duration(wait) * time.Second)
		defer t.Stop()
		deadline = t.C
		defer s.ev.waiters.Add(-1)
	} else if wait > 0 {
		s.ev.waiters.Add(-1)
	}
	for {
		changed := s.ev.hub.Changed(tenant)
		evs, err := s.readEvents(r.Context(), tenant, after, int64(limit))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(evs) > 0 || deadline == nil || !s.waitEvents(r.Context(), changed, deadline) {
			next := after
			if len(evs) > 0 {
				next = evs[len(evs)-1].ID
			}
			writeJSON(w, http.StatusOK, eventsJSON{Events: evs, Next: next})
			return
		}
	}
}

// eventsJSON is the answer of GET /v1/events.
type eventsJSON struct {
	Events []store.Event `json:"events"`
	// Next is the after= of the next call: the last event's id, or the
	// after given when there is none.
	Next string `json:"next"`
}

// readEvents reads within the request deadline of one Redis step.
func (s *Server) readEvents(ctx context.Context, tenant, after string, limit int64) ([]store.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limits.RequestTimeout)
	defer cancel()
	evs, err := s.st.ReadEvents(ctx, tenant, after, limit)
	if evs == nil {
		evs = []store.Event{}
	}
	return evs, err
}

// waitEvents waits until tenant may have new events (this server relayed
// some, or a poll period passed: another server may have): true, or the
// deadline, the client or a drain came first: false.
func (s *Server) waitEvents(ctx context.Context, changed <-chan struct{}, deadline <-chan time.Time) bool {
	t := time.NewTimer(s.ev.poll)
	defer t.Stop()
	select {
	case <-changed:
		return true
	case <-t.C:
		return true
	case <-deadline:
	case <-ctx.Done():
	case <-s.ev.drained:
	}
	return false
}

func acceptsEventStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			if mt, _, _ := strings.Cut(part, ";"); strings.EqualFold(strings.TrimSpace(mt), "text/event-stream") {
				return true
			}
		}
	}
	return false
}

// streamEvents answers Server-Sent Events: each event as "id", "event"
// (its type) and "data" (its JSON) lines, from after on, until the client
// leaves or the server drains; a comment every sseHeartbeat when idle.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, tenant, after string, limit int64) {
	if s.ev.waiters.Add(1) > maxEventWaiters {
		s.ev.waiters.Add(-1)
		s.writeError(w, r, doorstep.Errorf(doorstep.ERATELIMITED, "", "too many event streams on this server; retry shortly"))
		return
	}
	defer s.ev.waiters.Add(-1)
	// The first read answers an error as problem+json, before the stream
	// starts.
	changed := s.ev.hub.Changed(tenant)
	evs, err := s.readEvents(r.Context(), tenant, after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The stream outlives the server's write timeout: each write extends
	// it.
	extend := func() { _ = rc.SetWriteDeadline(time.Now().Add(sseHeartbeat + 10*time.Second)) }
	extend()
	fmt.Fprintf(w, "retry: %d\n\n", s.ev.poll.Milliseconds()*5)
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	for {
		for _, ev := range evs {
			data, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data); err != nil {
				return
			}
			after = ev.ID
		}
		if err := rc.Flush(); err != nil {
			return
		}
		extend()
		if int64(len(evs)) < limit {
			poll := time.NewTimer(s.ev.poll)
			select {
			case <-changed:
			case <-poll.C:
			case <-heartbeat.C:
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					poll.Stop()
					return
				}
			case <-r.Context().Done():
				poll.Stop()
				return
			case <-s.ev.drained:
				poll.Stop()
				return
			}
			poll.Stop()
		}
		changed = s.ev.hub.Changed(tenant)
		if evs, err = s.readEvents(r.Context(), tenant, after, limit); err != nil {
			// Headers are gone: say it as an SSE event and end; the
			// client reconnects with Last-Event-ID.
			fmt.Fprintf(w, "event: error\ndata: {\"code\":%q}\n\n", doorstep.ErrorCode(err))
			return
		}
	}
}
