package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

func TestWorkerLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	w := newWorker("w-1", base, "cleaning", "laundry")
	w.Certificates = []string{"first_aid"}
	w.MaxJobsPerDay = 4

	r := h.do(t, http.MethodPut, "/v1/workers/w-1", keyOps, w)
	wantStatus(t, r, http.StatusCreated)
	if diff := cmp.Diff(decodeBody[workerChanged](t, r), workerChanged{Worker: w, Replanned: &replanned{}}); diff != "" {
		t.Errorf("PUT created (-got +want):\n%s", diff)
	}

	w.Rating = 4.5
	w.Shifts = append(w.Shifts, doorstep.Shift{Start: at(20, 0), End: at(22, 0),
		Breaks: []doorstep.Break{doorstep.FixedBreak(at(21, 0), at(21, 15))}})
	r = h.do(t, http.MethodPut, "/v1/workers/w-1", keyOps, w)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(decodeBody[workerChanged](t, r), workerChanged{Worker: w, Replanned: &replanned{}}); diff != "" {
		t.Errorf("PUT replaced (-got +want):\n%s", diff)
	}

	r = h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(decodeBody[doorstep.Worker](t, r), w); diff != "" {
		t.Errorf("GET (-got +want):\n%s", diff)
	}

	// The id may be left out of the body: the path names the worker.
	noID := newWorker("", base)
	r = h.do(t, http.MethodPut, "/v1/workers/w-2", keyOps, noID)
	wantStatus(t, r, http.StatusCreated)
	if got := decodeBody[workerChanged](t, r).ID; got != "w-2" {
		t.Errorf("PUT without id: id %q, want w-2", got)
	}

	r = h.do(t, http.MethodDelete, "/v1/workers/w-1", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	type retired struct {
		ID        string     `json:"id"`
		Replanned *replanned `json:"replanned"`
	}
	if diff := cmp.Diff(decodeBody[retired](t, r), retired{ID: "w-1", Replanned: &replanned{}}); diff != "" {
		t.Errorf("DELETE (-got +want):\n%s", diff)
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	wantProblem(t, h.do(t, http.MethodDelete, "/v1/workers/w-1", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/nobody", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
}

func TestPutWorkerInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	tests := []struct {
		name  string
		path  string
		edit  func(w *doorstep.Worker)
		field string
	}{
		{"id differs from path", "/v1/workers/w-1", func(w *doorstep.Worker) { w.ID = "w-2" }, "id"},
		{"bad id in path", "/v1/workers/-w", func(w *doorstep.Worker) { w.ID = "" }, "id"},
		{"no skills", "", func(w *doorstep.Worker) { w.Skills = nil }, "skills"},
		{"bad skill", "", func(w *doorstep.Worker) { w.Skills = []string{"ok", "no spaces"} }, "skills[1]"},
		{"rating above 5", "", func(w *doorstep.Worker) { w.Rating = 6 }, "rating"},
		{"rating below 0", "", func(w *doorstep.Worker) { w.Rating = -1 }, "rating"},
		{"home lat", "", func(w *doorstep.Worker) { w.Home.Lat = 91 }, "home.lat"},
		{"home lng", "", func(w *doorstep.Worker) { w.Home.Lng = -181 }, "home.lng"},
		{"location lat", "", func(w *doorstep.Worker) { w.Location = &doorstep.Location{Lat: -91} }, "location.lat"},
		{"max jobs", "", func(w *doorstep.Worker) { w.MaxJobsPerDay = -1 }, "max_jobs_per_day"},
		{"max minutes", "", func(w *doorstep.Worker) { w.MaxWorkMinutesPerDay = 1441 }, "max_work_minutes_per_day"},
		{"shift end before start", "", func(w *doorstep.Worker) { w.Shifts[0].End = w.Shifts[0].Start.Add(-time.Hour) }, "shifts[0].end"},
		{"shift over 24h", "", func(w *doorstep.Worker) { w.Shifts[0].End = w.Shifts[0].Start.Add(25 * time.Hour) }, "shifts[0].end"},
		{"shifts overlap", "", func(w *doorstep.Worker) {
			w.Shifts = append(w.Shifts, doorstep.Shift{Start: at(17, 0), End: at(19, 0)})
		}, "shifts[1].start"},
		{"break outside shift", "", func(w *doorstep.Worker) {
			w.Shifts[0].Breaks = []doorstep.Break{doorstep.FixedBreak(at(7, 0), at(7, 30))}
		}, "shifts[0].breaks[0].start"},
		{"break end before start", "", func(w *doorstep.Worker) {
			w.Shifts[0].Breaks = []doorstep.Break{doorstep.FixedBreak(at(12, 0), at(11, 0))}
		}, "shifts[0].breaks[0].end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorker("w-1", base)
			tt.edit(&w)
			path := tt.path
			if path == "" {
				path = "/v1/workers/w-1"
			}
			wantProblem(t, h.do(t, http.MethodPut, path, keyOps, w), http.StatusBadRequest, doorstep.EINVALID, tt.field)
		})
	}
	// Nothing was stored.
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
}

func TestWorkerLocation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	moved := offset(base, 1, 1)

	r := h.do(t, http.MethodPut, "/v1/workers/w-1/location", keyOps, map[string]any{"lat": moved.Lat, "lng": moved.Lng})
	wantStatus(t, r, http.StatusNoContent)
	got := decodeBody[doorstep.Worker](t, h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil))
	want := newWorker("w-1", base)
	want.Location, want.LocatedAt = &moved, now
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("worker after location (-got +want):\n%s", diff)
	}

	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
		field  string
	}{
		{"missing lat", "w-1", map[string]any{"lng": 13.4}, http.StatusBadRequest, doorstep.EINVALID, "lat"},
		{"missing lng", "w-1", map[string]any{"lat": 52.5}, http.StatusBadRequest, doorstep.EINVALID, "lng"},
		{"lat out of range", "w-1", map[string]any{"lat": 91, "lng": 13.4}, http.StatusBadRequest, doorstep.EINVALID, "lat"},
		{"lng out of range", "w-1", map[string]any{"lat": 52.5, "lng": 181}, http.StatusBadRequest, doorstep.EINVALID, "lng"},
		{"lat not a number", "w-1", `{"lat":"52.5","lng":13.4}`, http.StatusBadRequest, doorstep.EINVALID, "lat"},
		{"from the future", "w-1", map[string]any{"lat": 52.5, "lng": 13.4, "at": now.Add(time.Hour)}, http.StatusBadRequest, doorstep.EINVALID, "at"},
		{"unknown field", "w-1", map[string]any{"lat": 52.5, "lng": 13.4, "alt": 30}, http.StatusBadRequest, doorstep.EINVALID, "alt"},
		{"unknown worker", "nobody", map[string]any{"lat": 52.5, "lng": 13.4}, http.StatusNotFound, doorstep.ENOTFOUND, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, http.MethodPut, "/v1/workers/"+tt.path+"/location", keyOps, tt.body)
			wantProblem(t, r, tt.status, tt.code, tt.field)
		})
	}

	// A report older than the last one is ignored.
	r = h.do(t, http.MethodPut, "/v1/workers/w-1/location", keyOps, map[string]any{"lat": base.Lat, "lng": base.Lng, "at": now.Add(-time.Hour)})
	wantStatus(t, r, http.StatusNoContent)
	got = decodeBody[doorstep.Worker](t, h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil))
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("worker after an older report (-got +want):\n%s", diff)
	}
}

func TestWorkerBookings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	// Booked out of order: the timeline lists them by start.
	var want []booking
	for _, hh := range []int{14, 9, 11} {
		want = append(want, h.mustBook(t, keyBooking, with(cleaning(base),
			"window", doorstep.Window{Start: at(hh, 0), End: at(hh, 30)})))
	}
	for i, b := range want {
		if b.WorkerID != "w-1" || !b.Start.Equal(b.Window.Start) {
			t.Fatalf("booking %d: worker %s start %s, want w-1 at %s", i, b.WorkerID, b.Start, b.Window.Start)
		}
	}
	want[0], want[1], want[2] = want[1], want[2], want[0]

	got := h.mustTimeline(t, "w-1")
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("timeline (-got +want):\n%s", diff)
	}

	// from and to select by start; the defaults cover the day.
	q := url.Values{"from": {at(10, 0).Format(time.RFC3339)}, "to": {at(12, 0).Format(time.RFC3339)}}
	r := h.do(t, http.MethodGet, "/v1/workers/w-1/bookings?"+q.Encode(), keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(decodeBody[bookingList](t, r).Bookings, want[1:2]); diff != "" {
		t.Errorf("timeline 10:00-12:00 (-got +want):\n%s", diff)
	}
	r = h.do(t, http.MethodGet, "/v1/workers/w-1/bookings", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(decodeBody[bookingList](t, r).Bookings, want); diff != "" {
		t.Errorf("timeline with defaults (-got +want):\n%s", diff)
	}

	// A worker with no bookings has an empty list, not null.
	h.mustPutWorker(t, newWorker("w-idle", offset(base, 5, 5)))
	r = h.do(t, http.MethodGet, "/v1/workers/w-idle/bookings", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if got := string(r.Body); got != `{"bookings":[]}`+"\n" {
		t.Errorf("idle timeline = %q", got)
	}

	tests := []struct {
		name   string
		query  string
		status int
		code   string
		field  string
	}{
		{"bad from", "?from=yesterday", http.StatusBadRequest, doorstep.EINVALID, "from"},
		{"from without zone", "?from=2026-11-23T08:00:00", http.StatusBadRequest, doorstep.EINVALID, "from"},
		{"bad to", "?to=2026-13-01T00:00:00Z", http.StatusBadRequest, doorstep.EINVALID, "to"},
		{"to before from", "?from=2026-11-23T10:00:00Z&to=2026-11-23T09:00:00Z", http.StatusBadRequest, doorstep.EINVALID, "to"},
		{"over 31 days", "?from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z", http.StatusBadRequest, doorstep.EINVALID, "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/w-1/bookings"+tt.query, keyOps, nil), tt.status, tt.code, tt.field)
		})
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/nobody/bookings", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
}

// TestWorkerFlexibleBreaks: a shift's break may float (earliest, latest,
// minutes) beside a fixed one; the profile round-trips in both forms, and a
// break of neither form, or one that cannot be taken, is refused naming
// the field.
func TestWorkerFlexibleBreaks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	w := newWorker("w-1", base)
	w.Shifts[0].Breaks = []doorstep.Break{
		doorstep.FlexibleBreak(at(11, 0), at(14, 0), 30*time.Minute),
		doorstep.FixedBreak(at(15, 0), at(15, 15)),
	}
	r := h.do(t, http.MethodPut, "/v1/workers/w-1", keyOps, w)
	wantStatus(t, r, http.StatusCreated)
	if diff := cmp.Diff(decodeBody[workerChanged](t, r).Worker, w); diff != "" {
		t.Errorf("PUT (-got +want):\n%s", diff)
	}
	r = h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(decodeBody[doorstep.Worker](t, r), w); diff != "" {
		t.Errorf("GET (-got +want):\n%s", diff)
	}
	for _, want := range []string{`"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30`,
		`"start":"2026-11-23T15:00:00Z","end":"2026-11-23T15:15:00Z"`} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("GET body %s lacks %s", r.Body, want)
		}
	}

	shift := `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"rating":5,
		"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","breaks":[%s]}]}`
	tests := []struct{ name, brk, field string }{
		{"both forms", `{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z","latest":"2026-11-23T13:00:00Z"}`, "shifts[0].breaks[0].latest"},
		{"no minutes", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z"}`, "shifts[0].breaks[0].minutes"},
		{"minutes beyond the range", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T11:20:00Z","minutes":30}`, "shifts[0].breaks[0].minutes"},
		{"minutes not a number", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":"30"}`, "shifts[0].breaks[0].minutes"},
		{"latest after the shift", `{"earliest":"2026-11-23T17:00:00Z","latest":"2026-11-23T19:00:00Z","minutes":30}`, "shifts[0].breaks[0].latest"},
		{"bad time", `{"earliest":"11:00","latest":"2026-11-23T14:00:00Z","minutes":30}`, "shifts[0].breaks[0].earliest"},
		{"null", `null`, "shifts[0].breaks[0]"},
		{"a number", `12`, "shifts[0].breaks[0]"},
		{"an array", `["2026-11-23T11:00:00Z"]`, "shifts[0].breaks[0]"},
		{"unknown key", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30,"paid":true}`, "shifts[0].breaks[0].paid"},
		{"ranges overlapping", `{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T13:00:00Z","minutes":30},
			{"earliest":"2026-11-23T12:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30}`, "shifts[0].breaks[1].earliest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, http.MethodPut, "/v1/workers/w-2", keyOps, fmt.Sprintf(shift, tt.brk))
			wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, tt.field)
		})
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/w-2", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
}

// TestWorkerUrgentOvertime: a shift's urgent_overtime_minutes round-trips
// through PUT and GET (and the document); an urgent booking run into it
// is counted in /metrics; out of range, or a next shift inside the
// overtime, is a 400 naming the field.
func TestWorkerUrgentOvertime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	w := newWorker("w-1", base)
	w.Shifts[0].UrgentOvertimeMinutes = 60
	r := h.do(t, http.MethodPut, "/v1/workers/w-1", keyOps, w)
	wantStatus(t, r, http.StatusCreated)
	r = h.do(t, http.MethodGet, "/v1/workers/w-1", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if diff := cmp.Diff(decodeBody[doorstep.Worker](t, r), w); diff != "" || !strings.Contains(string(r.Body), `"urgent_overtime_minutes":60`) {
		t.Errorf("GET %s (-got +want):\n%s", r.Body, diff)
	}
	// A plumber whose shift ends at 08:20, now being 08:00: an hour's
	// urgent job runs into the overtime, and /metrics counts it.
	p := newWorker("w-3", offset(base, 5, 0), "plumbing")
	p.Shifts = []doorstep.Shift{{Start: at(7, 0), End: at(8, 20), UrgentOvertimeMinutes: 60}}
	h.mustPutWorker(t, p)
	b := h.mustBook(t, keyBooking, with(cleaning(offset(base, 5, 0.5)), "service", "plumbing", "urgency", "urgent", "duration_minutes", 60))
	if b.WorkerID != "w-3" || !b.End.After(at(8, 20)) || b.End.After(at(9, 20)) {
		t.Fatalf("booked %+v: want w-3, ending in its overtime", b)
	}
	r = h.do(t, http.MethodGet, "/metrics", keyOps, nil)
	minutes := b.End.Sub(at(8, 20)).Minutes()
	for _, line := range []string{"doorstep_overtime_bookings_total 1", fmt.Sprintf("doorstep_overtime_minutes_total %g", minutes)} {
		if !strings.Contains(string(r.Body), line) {
			t.Errorf("metrics lack %s", line)
		}
	}

	profile := `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"rating":5,"shifts":[%s]}`
	for _, tt := range []struct{ name, shifts, field string }{
		{"over four hours", `{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","urgent_overtime_minutes":241}`, "shifts[0].urgent_overtime_minutes"},
		{"negative", `{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","urgent_overtime_minutes":-5}`, "shifts[0].urgent_overtime_minutes"},
		{"not a number", `{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","urgent_overtime_minutes":"60"}`, "shifts[0].urgent_overtime_minutes"},
		{"the next shift inside it", `{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","urgent_overtime_minutes":60},
			{"start":"2026-11-23T18:30:00Z","end":"2026-11-23T22:00:00Z"}`, "shifts[1].start"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPut, "/v1/workers/w-2", keyOps, fmt.Sprintf(profile, tt.shifts)), http.StatusBadRequest, doorstep.EINVALID, tt.field)
		})
	}
}
