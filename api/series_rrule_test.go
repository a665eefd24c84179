package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// TestSeriesRRule books a twice-a-week series by RRULE starting a week
// ahead in Berlin time, one beyond the horizon, and checks the refusals
// of bad rules.
func TestSeriesRRule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	w := newWorker("w-1", base)
	w.Shifts = nil
	for _, d := range []int{8, 11, 15, 18} { // Tue Dec 1, Fri Dec 4, Tue Dec 8, Fri Dec 11
		day := at(7, 0).AddDate(0, 0, d)
		w.Shifts = append(w.Shifts, doorstep.Shift{Start: day, End: day.Add(11 * time.Hour)})
	}
	h.mustPutWorker(t, w)
	// 09:00-10:00 in Berlin (CET) on Tuesday 2026-12-01: 08:00Z.
	first := doorstep.Window{Start: at(8, 0).AddDate(0, 0, 8), End: at(9, 0).AddDate(0, 0, 8)}
	req := with(cleaning(base), "window", first, "customer_id", "c-1",
		"recurrence", map[string]string{"rrule": "FREQ=WEEKLY;BYDAY=TU,FR;COUNT=4", "time_zone": "Europe/Berlin"})
	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req)
	wantStatus(t, r, http.StatusCreated)
	s := decodeBody[series](t, r)
	var got []string
	for _, b := range s.Bookings {
		got = append(got, b.WorkerID+"@"+b.Start.Format(time.RFC3339))
	}
	want := []string{"w-1@2026-12-01T08:00:00Z", "w-1@2026-12-04T08:00:00Z", "w-1@2026-12-08T08:00:00Z", "w-1@2026-12-11T08:00:00Z"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("occurrences (-got +want):\n%s", diff)
	}
	if s.Total != 4 || s.Pending != 0 || len(s.Missed) != 0 {
		t.Errorf("total %d pending %d missed %v; want 4, 0, none", s.Total, s.Pending, s.Missed)
	}

	// Twelve Fridays at 13:00 Berlin: the last five lie beyond the
	// 60-day horizon (2027-01-22T08:00Z) and
	// wait for the roll-forward; the others nobody works are missed.
	long := with(req, "recurrence", map[string]string{"rrule": "RRULE:FREQ=WEEKLY;BYDAY=FR;COUNT=12", "time_zone": "Europe/Berlin"},
		"window", doorstep.Window{Start: first.Start.Add(4 * time.Hour), End: first.End.Add(4 * time.Hour)})
	r = h.do(t, http.MethodPost, "/v1/bookings", keyBooking, long)
	wantStatus(t, r, http.StatusCreated)
	s = decodeBody[series](t, r)
	if s.Total != 12 || s.Pending != 5 || len(s.Bookings) != 2 || len(s.Missed) != 5 || !s.NextAt.Equal(time.Date(2027, 1, 22, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("long series: total %d pending %d next %v, %d booked %d missed; want 12, 5, 2027-01-22T12:00Z, 2 booked and 5 missed", s.Total, s.Pending, s.NextAt, len(s.Bookings), len(s.Missed))
	}
	read := h.do(t, http.MethodGet, "/v1/series/"+s.SeriesID, keyBooking, nil)
	wantStatus(t, read, http.StatusOK)
	g := decodeBody[series](t, read)
	if g.RRule != "FREQ=WEEKLY;BYDAY=FR;COUNT=12" || g.TimeZone != "Europe/Berlin" || g.Pending != 5 || len(g.Missed) != len(s.Missed) {
		t.Errorf("GET series: %s", read.Body)
	}
	for _, m := range g.Missed {
		if m.Reason == "" || m.Rolled {
			t.Errorf("missed at booking: %+v", m)
		}
	}

	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"hourly", with(req, "recurrence", map[string]string{"rrule": "FREQ=HOURLY;COUNT=3"}), "recurrence.rrule"},
		{"bysetpos", with(req, "recurrence", map[string]string{"rrule": "FREQ=WEEKLY;BYDAY=TU,FR;BYSETPOS=1;COUNT=3"}), "recurrence.rrule"},
		{"no end", with(req, "recurrence", map[string]string{"rrule": "FREQ=WEEKLY;BYDAY=TU"}), "recurrence.rrule"},
		{"garbage", with(req, "recurrence", map[string]string{"rrule": "tuesdays please"}), "recurrence.rrule"},
		{"over a year", with(req, "recurrence", map[string]string{"rrule": "FREQ=DAILY;INTERVAL=100;COUNT=5"}), "recurrence.rrule"},
		{"unknown zone", with(req, "recurrence", map[string]string{"rrule": "FREQ=WEEKLY;COUNT=3", "time_zone": "Europe/Atlantis"}), "recurrence.time_zone"},
		{"both forms", with(req, "recurrence", map[string]any{"rrule": "FREQ=WEEKLY;COUNT=3", "interval_days": 7, "count": 3}), "recurrence"},
		{"first window beyond the horizon", with(req, "window", doorstep.Window{Start: now.AddDate(0, 0, 61), End: now.AddDate(0, 0, 61).Add(time.Hour)}), "window.start"},
		{"window over 24 hours", with(req, "window", doorstep.Window{Start: first.Start, End: first.Start.Add(25 * time.Hour)}), "window.end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, tt.body), http.StatusBadRequest, doorstep.EINVALID, tt.field)
		})
	}
}
