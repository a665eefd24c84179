package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// TestReschedule moves a booking to a new window and checks the refusals.
func TestReschedule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	// 2 km out, so that the booking's arrival lies after the clock.
	h.mustPutWorker(t, newWorker("w-1", offset(base, 2, 0), "gardening"))
	garden := map[string]any{"service": "gardening", "urgency": "normal", "location": base}
	b := h.mustBook(t, keyBooking, with(garden, "window", doorstep.Window{Start: at(12, 0), End: at(13, 0)}))

	window := doorstep.Window{Start: at(14, 0), End: at(15, 0)}
	r := h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/reschedule", keyBooking, map[string]any{"window": window})
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[booking](t, r)
	want := b
	// An appointment's deadline is its window's end: it moves with it.
	want.Start, want.End, want.Window, want.Deadline = at(14, 0), at(16, 0), &window, window.End
	want.Arrival = got.Arrival
	want.Version, want.UpdatedAt = 2, now
	want.LastChange = &doorstep.BookingChange{Reason: doorstep.ChangeReschedule, At: now, PreviousWorkerID: "w-1", PreviousStart: b.Start}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("rescheduled (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(h.mustTimeline(t, "w-1"), []booking{want}); diff != "" {
		t.Errorf("timeline (-got +want):\n%s", diff)
	}

	path := "/v1/bookings/" + b.ID + "/reschedule"
	tests := []struct {
		name   string
		path   string
		key    string
		body   any
		status int
		code   string
		field  string
	}{
		{"no window", path, keyBooking, map[string]any{}, http.StatusBadRequest, doorstep.EINVALID, "window"},
		{"end before start", path, keyBooking, map[string]any{"window": doorstep.Window{Start: at(15, 0), End: at(14, 0)}}, http.StatusBadRequest, doorstep.EINVALID, "window.end"},
		{"beyond the horizon", path, keyBooking, map[string]any{"window": doorstep.Window{Start: at(14, 0), End: now.Add(60*24*time.Hour + time.Second)}}, http.StatusBadRequest, doorstep.EINVALID, "window.end"},
		{"unknown field", path, keyBooking, map[string]any{"window": window, "worker_id": "w-2"}, http.StatusBadRequest, doorstep.EINVALID, "worker_id"},
		{"another booking system", path, keyBooking2, map[string]any{"window": window}, http.StatusNotFound, doorstep.ENOTFOUND, ""},
		{"unknown booking", "/v1/bookings/nonsense/reschedule", keyBooking, map[string]any{"window": window}, http.StatusNotFound, doorstep.ENOTFOUND, ""},
		{"nobody free", path, keyBooking, map[string]any{"window": doorstep.Window{Start: at(21, 0), End: at(22, 0)}}, http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, tt.path, tt.key, tt.body), tt.status, tt.code, tt.field)
		})
	}
	// A failed reschedule left the booking as it was.
	r = h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, keyBooking, nil)
	if diff := cmp.Diff(decodeBody[booking](t, r), want); diff != "" {
		t.Errorf("after refusals (-got +want):\n%s", diff)
	}

	urgent := h.mustBook(t, keyBooking, with(garden, "urgency", "urgent"))
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+urgent.ID+"/reschedule", keyBooking, map[string]any{"window": window}),
		http.StatusBadRequest, doorstep.EINVALID, "window")

	wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", keyBooking, nil), http.StatusOK)
	wantProblem(t, h.do(t, http.MethodPost, path, keyBooking, map[string]any{"window": window}), http.StatusConflict, doorstep.ECONFLICT, "")
}

// TestSeries books a recurring request, replays it and cancels it.
func TestSeries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	w := newWorker("w-1", base)
	for d := 1; d < 3; d++ {
		w.Shifts = append(w.Shifts, doorstep.Shift{Start: at(8, 0).AddDate(0, 0, d), End: at(18, 0).AddDate(0, 0, d)})
	}
	h.mustPutWorker(t, w)
	req := with(cleaning(base), "window", doorstep.Window{Start: at(10, 0), End: at(11, 0)},
		"recurrence", map[string]int{"interval_days": 1, "count": 3})

	r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req, "Idempotency-Key", "series-1")
	wantStatus(t, r, http.StatusCreated)
	s := decodeBody[series](t, r)
	if got, want := r.Header.Get("Location"), "/v1/series/"+s.SeriesID; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if len(s.Bookings) != 3 || len(s.Missed) != 0 {
		t.Fatalf("series: %d bookings, %d missed; want 3 and none: %s", len(s.Bookings), len(s.Missed), r.Body)
	}
	for d, b := range s.Bookings {
		if want := at(10, 0).AddDate(0, 0, d); b.WorkerID != "w-1" || !b.Start.Equal(want) || b.SeriesID != s.SeriesID {
			t.Errorf("occurrence %d: %s at %s in %q, want w-1 at %s in %q", d, b.WorkerID, b.Start, b.SeriesID, want, s.SeriesID)
		}
	}
	// The Location answers the occurrences, to their owner only.
	read := h.do(t, http.MethodGet, r.Header.Get("Location"), keyBooking, nil)
	wantStatus(t, read, http.StatusOK)
	if g := decodeBody[series](t, read); g.SeriesID != s.SeriesID || len(g.Bookings) != 3 || g.Bookings[0].ID != s.Bookings[0].ID {
		t.Errorf("GET %s: %s", r.Header.Get("Location"), read.Body)
	}
	wantProblem(t, h.do(t, http.MethodGet, r.Header.Get("Location"), keyBooking2, nil), http.StatusNotFound, "not_found", "")

	// A replay answers the series again, with its Location.
	replay := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, req, "Idempotency-Key", "series-1")
	wantStatus(t, replay, http.StatusCreated)
	if string(replay.Body) != string(r.Body) || replay.Header.Get("Location") != r.Header.Get("Location") {
		t.Errorf("replay: Location %q body %s; want %q %s", replay.Header.Get("Location"), replay.Body, r.Header.Get("Location"), r.Body)
	}

	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"count 0", with(req, "recurrence", map[string]int{"interval_days": 1, "count": 0}), "recurrence.count"},
		{"count 53", with(req, "recurrence", map[string]int{"interval_days": 1, "count": 53}), "recurrence.count"},
		{"interval 0", with(req, "recurrence", map[string]int{"interval_days": 0, "count": 2}), "recurrence.interval_days"},
		{"over a year", with(req, "recurrence", map[string]int{"interval_days": 90, "count": 6}), "recurrence.count"},
		{"urgent", without(with(req, "urgency", "urgent"), "window"), "recurrence"},
		{"unknown field", with(req, "recurrence", map[string]int{"interval_days": 1, "count": 2, "every": 1}), "recurrence.every"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, tt.body), http.StatusBadRequest, doorstep.EINVALID, tt.field)
		})
	}

	cancel := "/v1/series/" + s.SeriesID + "/cancel"
	wantProblem(t, h.do(t, http.MethodPost, cancel, keyBooking2, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/series/nonsense/cancel", keyBooking, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	r = h.do(t, http.MethodPost, cancel, keyBooking, nil)
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[struct {
		SeriesID  string    `json:"series_id"`
		Cancelled []booking `json:"cancelled"`
		Kept      []booking `json:"kept"`
	}](t, r)
	if got.SeriesID != s.SeriesID || len(got.Cancelled) != 3 || len(got.Kept) != 0 {
		t.Errorf("cancel series: %s", r.Body)
	}
	for _, b := range got.Cancelled {
		if b.Status != doorstep.StatusCancelled {
			t.Errorf("occurrence %s is %s", b.ID, b.Status)
		}
	}
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 0 {
		t.Errorf("timeline after cancelling the series: %d bookings", len(tl))
	}
}

// TestAssign plans a batch, commits it, and checks the refusals.
func TestAssign(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	h.mustPutWorker(t, newWorker("w-2", offset(base, 1, 0)))
	munich := doorstep.Location{Lat: 48.137, Lng: 11.575}
	batch := []any{
		with(cleaning(base), "id", "r-1"),
		with(cleaning(offset(base, 1, 0)), "id", "r-2"),
		with(cleaning(munich), "id", "r-3"),
	}
	for _, commit := range []bool{false, true} {
		r := h.do(t, http.MethodPost, "/v1/assign", keyOps, map[string]any{"requests": batch, "commit": commit})
		wantStatus(t, r, http.StatusOK)
		got := decodeBody[assignAnswer](t, r)
		var placed []string
		for _, a := range got.Assignments {
			placed = append(placed, a.RequestID+"->"+a.WorkerID)
			if (a.BookingID != "") != commit {
				t.Errorf("commit %v: %s has booking id %q", commit, a.RequestID, a.BookingID)
			}
		}
		if diff := cmp.Diff(placed, []string{"r-1->w-1", "r-2->w-2"}); diff != "" {
			t.Errorf("commit %v: placements (-got +want):\n%s", commit, diff)
		}
		if len(got.Unassigned) != 1 || got.Unassigned[0].RequestID != "r-3" || got.Committed != commit {
			t.Errorf("commit %v: unassigned %+v committed %v", commit, got.Unassigned, got.Committed)
		}
		// r-1 and r-2 share their two candidates and are solved exactly;
		// r-3 has none: proven optimal, at most 2 served, none urgent.
		if !got.Optimal || got.ServedBound != 2 || got.UrgentBound != 0 {
			t.Errorf("commit %v: optimal %v, bounds %d/%d, want true, 2/0", commit, got.Optimal, got.ServedBound, got.UrgentBound)
		}
		booked := len(h.mustTimeline(t, "w-1")) + len(h.mustTimeline(t, "w-2"))
		if want := map[bool]int{false: 0, true: 2}[commit]; booked != want {
			t.Errorf("commit %v: %d bookings, want %d", commit, booked, want)
		}
	}

	one := with(cleaning(base), "id", "r-1")
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"no requests", map[string]any{"requests": []any{}}, http.StatusBadRequest, doorstep.EINVALID, "requests"},
		{"no id", map[string]any{"requests": []any{cleaning(base)}}, http.StatusBadRequest, doorstep.EINVALID, "requests[0].id"},
		{"duplicate id", map[string]any{"requests": []any{one, one}}, http.StatusBadRequest, doorstep.EINVALID, "requests[1].id"},
		{"no location", map[string]any{"requests": []any{without(one, "location")}}, http.StatusBadRequest, doorstep.EINVALID, "requests[0].location"},
		{"lat 91", map[string]any{"requests": []any{one, with(one, "id", "r-2", "location", map[string]any{"lat": 91, "lng": 0})}}, http.StatusBadRequest, doorstep.EINVALID, "requests[1].location.lat"},
		{"unknown service", map[string]any{"requests": []any{with(one, "service", "astrology")}}, http.StatusBadRequest, doorstep.EINVALID, "requests[0].service"},
		{"unknown field", map[string]any{"requests": []any{one}, "dry_run": true}, http.StatusBadRequest, doorstep.EINVALID, "dry_run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPost, "/v1/assign", keyOps, tt.body), tt.status, tt.code, tt.field)
		})
	}
}
