package dispatch_test

import (
	"errors"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// TestFollowUpAndFeedback: a completion opens one follow-up due a day
// later; the owner's feedback closes it once and re-rates the worker by
// the smoothed average, which the matcher then ranks by.
func TestFollowUpAndFeedback(t *testing.T) {
	ctx := t.Context()
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("w1", base, dayShift()))
	b1 := e.book(t, normal(offset(base, 1, 0), time.Hour, at(9, 0), at(9, 30))).Booking
	b2 := e.book(t, normal(offset(base, 1, 0), time.Hour, at(12, 0), at(12, 30))).Booking

	if _, _, err := e.svc.Feedback(ctx, b1.ID, tenant, doorstep.Feedback{Rating: 5}); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("feedback before completion: %v, want conflict", err)
	}
	done := b1.End.Add(-5 * time.Minute)
	f, created, err := e.svc.OpenFollowUp(ctx, b1, done)
	if err != nil || !created || !f.Due.Equal(done.Add(24*time.Hour)) || f.Status != doorstep.FollowUpOpen {
		t.Fatalf("OpenFollowUp = %+v, created %v, %v; want an open follow-up due a day later", f, created, err)
	}
	if f2, created, err := e.svc.OpenFollowUp(ctx, b1, done.Add(time.Minute)); err != nil || created || !f2.Due.Equal(f.Due) {
		t.Errorf("OpenFollowUp again = %+v, created %v, %v; want the first one", f2, created, err)
	}
	page, err := e.svc.OpenFollowUps(ctx, store.FollowUpQuery{Limit: 10})
	if err != nil || len(page.FollowUps) != 1 {
		t.Fatalf("OpenFollowUps = %+v, %v; want one", page, err)
	}

	for _, tt := range []struct {
		fb    doorstep.Feedback
		field string
	}{
		{doorstep.Feedback{Rating: 0}, "rating"},
		{doorstep.Feedback{Rating: 6}, "rating"},
		{doorstep.Feedback{Rating: 4, Tags: []string{"punctual", "lovely"}}, "tags[1]"},
		{doorstep.Feedback{Rating: 4, Tags: []string{"tidy", "tidy"}}, "tags[1]"},
	} {
		var de *doorstep.Error
		if _, _, err := e.svc.Feedback(ctx, b1.ID, tenant, tt.fb); !errors.As(err, &de) || de.Code != doorstep.EINVALID || de.Field != tt.field {
			t.Errorf("Feedback(%+v) = %v, want invalid %s", tt.fb, err, tt.field)
		}
	}
	if _, _, err := e.svc.Feedback(ctx, b1.ID, "key-other-tenant", doorstep.Feedback{Rating: 1}); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("another tenant's feedback: %v, want not found", err)
	}

	fb := doorstep.Feedback{Rating: 3, Tags: []string{"tidy", "late"}}
	f, replay, err := e.svc.Feedback(ctx, b1.ID, tenant, fb)
	if err != nil || replay || f.Status != doorstep.FollowUpClosed || f.Feedback.Rating != 3 {
		t.Fatalf("Feedback = %+v, replay %v, %v", f, replay, err)
	}
	// (4.5 × 5 + 3) / 6 = 4.25.
	wantRating(t, e, "w1", 4.25)
	if _, replay, err := e.svc.Feedback(ctx, b1.ID, tenant, doorstep.Feedback{Rating: 3, Tags: []string{"late", "tidy"}}); err != nil || !replay {
		t.Errorf("the same feedback again: replay %v, %v; want a replay", replay, err)
	}
	if _, _, err := e.svc.Feedback(ctx, b1.ID, tenant, doorstep.Feedback{Rating: 5}); doorstep.ErrorCode(err) != doorstep.ECONFLICT {
		t.Errorf("a second feedback: %v, want conflict", err)
	}
	wantRating(t, e, "w1", 4.25)

	if _, _, err := e.svc.OpenFollowUp(ctx, b2, b2.End); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Feedback(ctx, b2.ID, tenant, doorstep.Feedback{Rating: 5}); err != nil {
		t.Fatal(err)
	}
	// (4.5 × 5 + 3 + 5) / 7 = 4.357...
	wantRating(t, e, "w1", 4.36)

	// The matcher ranks by the new rating: 6 per point below 5.
	q, err := e.svc.Quote(ctx, normal(offset(base, 1, 0), time.Hour, at(15, 0), at(15, 30)), tenant)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Options[0].Breakdown.Rating; got < 3.83 || got > 3.85 {
		t.Errorf("rating cost %v, want 6 × (5 - 4.36) = 3.84 (%s)", got, matcher.TermRating)
	}
}

func wantRating(tb testing.TB, e *env, id string, want float64) {
	tb.Helper()
	w, _, err := e.st.GetWorker(tb.Context(), id)
	if err != nil {
		tb.Fatal(err)
	}
	if w.Rating != want {
		tb.Errorf("worker %s rated %v, want %v", id, w.Rating, want)
	}
}
