package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// feedbackBody is the body of POST /v1/bookings/{id}/feedback: a rating
// and tags from doorstep.FeedbackTags. Free text is refused as an unknown
// field: it could hold personal data.
type feedbackBody struct {
	Rating *int     `json:"rating"`
	Tags   []string `json:"tags,omitempty"`
}

// followUpJSON is a follow-up on the wire: the owner is not shown (the
// operators who list follow-ups see whose booking it is by its id).
type followUpJSON struct {
	BookingID   string             `json:"booking_id"`
	WorkerID    string             `json:"worker_id"`
	Service     string             `json:"service"`
	CompletedAt time.Time          `json:"completed_at"`
	Due         time.Time          `json:"due"`
	Status      string             `json:"status"`
	ClosedAt    time.Time          `json:"closed_at,omitzero"`
	Feedback    *doorstep.Feedback `json:"feedback,omitempty"`
}

func followUpOut(f *doorstep.FollowUp) followUpJSON {
	return followUpJSON{BookingID: f.BookingID, WorkerID: f.WorkerID, Service: f.Service, CompletedAt: f.CompletedAt,
		Due: f.Due, Status: f.Status, ClosedAt: f.ClosedAt, Feedback: f.Feedback}
}

// handleFeedback records the booking owner's feedback (dispatch.Service.
// Feedback): 200 with the closed follow-up, again for the same feedback
// (Idempotent-Replayed: true); 409 before the booking is completed or
// after another feedback; 404 for another key's booking.
func (s *Server) handleFeedback(w http.ResponseWriter, r *http.Request) {
	var body feedbackBody
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Rating == nil {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "rating", "rating is required (a whole number from 1 to 5)"))
		return
	}
	f, replay, err := s.svc.Feedback(r.Context(), chi.URLParam(r, "id"), principalFrom(r.Context()).KeyID,
		doorstep.Feedback{Rating: *body.Rating, Tags: body.Tags})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if replay {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, followUpOut(f))
}

// Pages of GET /v1/followups.
const (
	DefaultFollowUpPage = 100
	MaxFollowUpPage     = store.MaxFollowUpPage
)

// followUpCursorPrefix versions the cursors of GET /v1/followups.
const followUpCursorPrefix = "f1:"

// handleFollowUps lists the open follow-ups by due time (ops):
// ?status=open (the only status listed, and the default), ?due_before=
// (RFC 3339: only those due before it; the overdue ones with the current
// time), ?limit= (1-1000, default 100) and ?cursor= (the previous page's
// next_cursor).
func (s *Server) handleFollowUps(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	if st := qs.Get("status"); st != "" && st != doorstep.FollowUpOpen {
		s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "status", "status must be open: closed follow-ups are not listed"))
		return
	}
	limit, err := queryLimit(r, DefaultFollowUpPage, MaxFollowUpPage)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := store.FollowUpQuery{Limit: limit}
	if v := qs.Get("due_before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.writeError(w, r, doorstep.Errorf(doorstep.EINVALID, "due_before", "due_before must be an RFC 3339 time with an offset, such as 2026-12-02T10:00:00Z"))
			return
		}
		if err := doorstep.CheckTime("due_before", t); err != nil {
			s.writeError(w, r, err)
			return
		}
		q.DueBefore = t
	}
	if v := qs.Get("cursor"); v != "" {
		after, err := decodeCursor(followUpCursorPrefix, v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		q.After = after
	}
	page, err := s.svc.OpenFollowUps(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		FollowUps  []followUpJSON `json:"followups"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{FollowUps: make([]followUpJSON, 0, len(page.FollowUps)), NextCursor: encodeCursor(followUpCursorPrefix, page.Next)}
	for _, f := range page.FollowUps {
		out.FollowUps = append(out.FollowUps, followUpOut(f))
	}
	writeJSON(w, http.StatusOK, out)
}

// overdueTimeout bounds the Redis reads of one scrape of the overdue
// follow-ups gauge.
const overdueTimeout = time.Second

// watchFollowUps exports the open follow-ups past their due time as the
// gauge doorstep_followups_overdue, counted at each scrape by one range
// count per region (no scan); NaN when Redis does not answer.
func (s *Server) watchFollowUps() error {
	return s.metrics.gaugeFunc("doorstep_followups_overdue",
		"Open follow-ups past their due time (24 hours after the completion) without the customer's feedback; NaN when Redis does not answer.",
		func() (float64, error) {
			ctx, cancel := context.WithTimeout(context.Background(), overdueTimeout)
			defer cancel()
			n, err := s.svc.OverdueFollowUps(ctx)
			return float64(n), err
		})
}

// gaugeFunc registers a gauge read by f at each scrape, NaN when f fails.
// A registry that has the gauge already (a second server sharing the
// metrics) keeps the first.
func (m *Metrics) gaugeFunc(name, help string, f func() (float64, error)) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		v, err := f()
		if err != nil {
			return math.NaN()
		}
		return v
	})
	if err := m.reg.Register(g); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return fmt.Errorf("register %s: %w", name, err)
	}
	return nil
}
