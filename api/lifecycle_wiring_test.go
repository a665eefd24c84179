package api_test

import (
	"net/http"
	"testing"
)

// TestCompletionAnnouncedAndFollowedUp: the pieces of a job's life after
// the booking meet. Each progress report is a booking.progress event of
// the booking's owner, written with the report, carrying its status; the
// completion opens the booking's follow-up (GET /v1/followups lists it)
// and announces it with booking.followup_due; a repeated completion (a
// retry) opens and announces nothing more.
func TestCompletionAnnouncedAndFollowedUp(t *testing.T) {
	t.Parallel()
	h := newEventsHarness(t, nil)
	h.mustPutWorker(t, newWorker("w-1", base))
	b := h.mustBook(t, keyBooking, cleaning(base))
	for _, status := range []string{"started", "completed", "completed"} {
		wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/progress", keyOps, map[string]any{"status": status, "at": now}), http.StatusOK)
	}
	want := []struct{ typ, reason string }{{"booking.created", ""}, {"booking.progress", "started"}, {"booking.progress", "completed"}, {"booking.followup_due", ""}}
	eventually(t, "progress and follow-up events relayed", func() bool { return len(h.allEvents(t, keyBooking, "")) >= len(want) })
	got := h.allEvents(t, keyBooking, "")
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i, w := range want {
		if got[i].Type != w.typ || got[i].Reason != w.reason || got[i].BookingID != b.ID {
			t.Errorf("event %d = %s (%s) of %s, want %s (%s) of %s", i, got[i].Type, got[i].Reason, got[i].BookingID, w.typ, w.reason, b.ID)
		}
	}
	r := h.do(t, http.MethodGet, "/v1/followups?status=open", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	page := decodeBody[followUpPage](t, r)
	if len(page.FollowUps) != 1 || page.FollowUps[0].BookingID != b.ID || !page.FollowUps[0].CompletedAt.Equal(now) {
		t.Errorf("open follow-ups %+v, want %s's, completed at %s", page.FollowUps, b.ID, now)
	}
}
