package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
)

// progressed is the answer to a progress report.
type progressed struct {
	Booking   booking   `json:"booking"`
	Replanned replanned `json:"replanned"`
}

// TestProgressOverHTTP walks a job through its lifecycle with the field
// key of its worker: en route (with a position), arrived, started late
// (which pushes w-1's next job out of its window: it moves to w-2), delayed,
// completed; then refuses a report after the completion, records a no-show
// reported by ops, and counts it all in the metrics.
func TestProgressOverHTTP(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	h.mustPutWorker(t, newWorker("w-1", base))
	job := func(from int) map[string]any {
		return with(cleaning(base), "duration_minutes", 60, "window", doorstep.Window{Start: at(from, 0), End: at(from, 10)})
	}
	j1, j2, j3 := h.mustBook(t, keyBooking, job(9)), h.mustBook(t, keyBooking, job(10)), h.mustBook(t, keyBooking, job(14))
	h.mustPutWorker(t, newWorker("w-2", offset(base, 0, 3)))
	j4 := h.mustBook(t, keyBooking, with(cleaning(offset(base, 0, 3)), "duration_minutes", 60, "window", doorstep.Window{Start: at(12, 0), End: at(12, 10)}))
	for _, b := range []booking{j1, j2, j3} {
		if b.WorkerID != "w-1" {
			t.Fatalf("fixture: %s on %s", b.ID, b.WorkerID)
		}
	}
	if j4.WorkerID != "w-2" {
		t.Fatalf("fixture: %s on %s", j4.ID, j4.WorkerID)
	}
	report := func(key, id string, body any) progressed {
		t.Helper()
		r := h.do(t, http.MethodPost, "/v1/bookings/"+id+"/progress", key, body)
		wantStatus(t, r, http.StatusOK)
		return decodeBody[progressed](t, r)
	}

	// The field key reads and reports its own worker's bookings only; a
	// booking key reports none.
	h.Clock.Set(at(8, 50))
	seen := offset(base, 1, 0)
	got := report(keyField, j1.ID, map[string]any{"status": "en_route", "position": seen})
	if p := got.Booking.Progress; p == nil || p.State != "en_route" || len(p.History) != 1 || !p.History[0].At.Equal(at(8, 50)) {
		t.Errorf("en route: progress %+v", p)
	}
	w := decodeBody[doorstep.Worker](t, h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil))
	if w.Location == nil || *w.Location != seen || !w.LocatedAt.Equal(at(8, 50)) {
		t.Errorf("w-1 at %v since %s, want the reported position", w.Location, w.LocatedAt)
	}
	wantStatus(t, h.do(t, http.MethodGet, "/v1/bookings/"+j1.ID, keyField, nil), http.StatusOK)
	wantProblem(t, h.do(t, http.MethodGet, "/v1/bookings/"+j4.ID, keyField, nil), http.StatusForbidden, doorstep.EFORBIDDEN, "")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+j4.ID+"/progress", keyField, map[string]any{"status": "en_route"}),
		http.StatusForbidden, doorstep.EFORBIDDEN, "")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+j1.ID+"/progress", keyBooking, map[string]any{"status": "arrived"}),
		http.StatusForbidden, doorstep.EFORBIDDEN, "")

	h.Clock.Set(at(9, 0))
	report(keyField, j1.ID, map[string]any{"status": "arrived"})
	// Started at 09:20: the job ends at 10:20, so j2 (window 10:00-10:10)
	// goes to w-2, which can be there at 10:00.
	h.Clock.Set(at(9, 20))
	got = report(keyField, j1.ID, map[string]any{"status": "started", "at": at(9, 20)})
	if !got.Booking.End.Equal(at(10, 20)) || got.Replanned != (replanned{Moved: 1}) {
		t.Errorf("started late: ends %s, replanned %+v; want 10:20 and one moved", got.Booking.End, got.Replanned)
	}
	if b := decodeBody[booking](t, h.do(t, http.MethodGet, "/v1/bookings/"+j2.ID, keyBooking, nil)); b.WorkerID != "w-2" || !b.Start.Equal(at(10, 0)) {
		t.Errorf("j2 on %s at %s, want w-2 at 10:00", b.WorkerID, b.Start)
	}
	h.Clock.Set(at(9, 50))
	got = report(keyField, j1.ID, map[string]any{"status": "delayed", "expected_end": at(10, 40)})
	if !got.Booking.End.Equal(at(10, 40)) || got.Booking.Progress.State != "started" {
		t.Errorf("delayed: ends %s in state %s", got.Booking.End, got.Booking.Progress.State)
	}
	h.Clock.Set(at(10, 30))
	done := map[string]any{"status": "completed", "at": at(10, 30)}
	got = report(keyField, j1.ID, done)
	if !got.Booking.End.Equal(at(10, 30)) || got.Booking.Status != "confirmed" || got.Booking.LastChange.Reason != doorstep.ChangeProgress {
		t.Errorf("completed: %+v", got.Booking)
	}
	// A retry of the completion changes nothing; any other report is refused.
	if again := report(keyField, j1.ID, done); again.Booking.Version != got.Booking.Version {
		t.Errorf("retried completion: version %d, want %d", again.Booking.Version, got.Booking.Version)
	}
	p := wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+j1.ID+"/progress", keyField, map[string]any{"status": "started"}),
		http.StatusConflict, doorstep.ECONFLICT, "status")
	if !strings.Contains(p.Detail, "is completed") {
		t.Errorf("refusal %q does not name the current state", p.Detail)
	}
	b := decodeBody[booking](t, h.do(t, http.MethodGet, "/v1/bookings/"+j1.ID, keyBooking, nil))
	var steps []string
	for _, s := range b.Progress.History {
		steps = append(steps, s.Status+"@"+s.At.Format("15:04"))
	}
	if got, want := strings.Join(steps, " "), "en_route@08:50 arrived@09:00 started@09:20 delayed@09:50 completed@10:30"; got != want {
		t.Errorf("history %s, want %s", got, want)
	}
	w = decodeBody[doorstep.Worker](t, h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil))
	if w.Location == nil || *w.Location != base || !w.LocatedAt.Equal(at(10, 30)) {
		t.Errorf("after the completion w-1 is at %v since %s, want the job's place", w.Location, w.LocatedAt)
	}

	// Ops may report any booking: a no-show once the start has come.
	h.Clock.Set(at(13, 55))
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+j3.ID+"/progress", keyOps, map[string]any{"status": "no_show"}),
		http.StatusConflict, doorstep.ECONFLICT, "status")
	h.Clock.Set(at(14, 5))
	if got := report(keyOps, j3.ID, map[string]any{"status": "no_show"}); got.Booking.Progress.State != "no_show" || !got.Booking.End.Equal(at(14, 5)) {
		t.Errorf("no-show: %+v", got.Booking)
	}

	r := h.do(t, http.MethodGet, "/metrics", keyOps, nil)
	for _, line := range []string{
		`doorstep_progress_reports_total{status="completed"} 2`, // the retry is answered too
		`doorstep_progress_reports_total{status="no_show"} 1`,
		`doorstep_progress_reports_total{status="started"} 1`,
		`doorstep_replanned_bookings_total{cause="overrun",outcome="moved"} 1`,
	} {
		if !strings.Contains(string(r.Body), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// TestProgressBadInput: every malformed report is a 400 problem naming
// its field; an unknown booking is 404.
func TestProgressBadInput(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	h.mustPutWorker(t, newWorker("w-1", base))
	b := h.mustBook(t, keyBooking, with(cleaning(base), "duration_minutes", 60, "window", doorstep.Window{Start: at(16, 0), End: at(16, 10)}))
	h.Clock.Set(at(9, 0))
	for _, tt := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "status"},
		{map[string]any{"status": "done"}, "status"},
		{map[string]any{"status": 3}, "status"},
		{map[string]any{"status": "en_route", "at": at(9, 10)}, "at"},
		{map[string]any{"status": "en_route", "at": at(7, 0)}, "at"},
		{map[string]any{"status": "en_route", "at": "soon"}, "at"},
		{map[string]any{"status": "en_route", "position": map[string]any{"lat": 91, "lng": 0}}, "position.lat"},
		{map[string]any{"status": "en_route", "position": map[string]any{"lat": 1}}, "position.lng"},
		{map[string]any{"status": "en_route", "note": "door locked"}, "note"},
		{map[string]any{"status": "delayed"}, "expected_end"},
		{map[string]any{"status": "delayed", "expected_arrival": at(8, 0)}, "expected_arrival"},
		{map[string]any{"status": "en_route", "expected_end": at(18, 0)}, "expected_end"},
	} {
		wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/progress", keyField, tt.body), http.StatusBadRequest, doorstep.EINVALID, tt.field)
	}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/progress", keyField, map[string]any{"status": "no_show"}),
		http.StatusConflict, doorstep.ECONFLICT, "status")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID[:len(b.ID)-2]+"zz/progress", keyOps, map[string]any{"status": "en_route"}),
		http.StatusNotFound, doorstep.ENOTFOUND, "")
	if got := decodeBody[booking](t, h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, keyBooking, nil)); got.Version != 1 || got.Progress != nil {
		t.Errorf("refused reports changed the booking: %+v", got)
	}
}
