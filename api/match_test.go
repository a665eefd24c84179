package api_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
)

// breakdownTerms are the soft-cost terms every option reports.
var breakdownTerms = []string{"continuity", "fairness", "overtime", "preferred", "protection", "rating", "travel", "wait"}

// TestMatchOutranked: an urgent request with five workers at the door and
// one 6 km off, rated 3.5. With the five options kept, the far one's trip
// alone (over 23 minutes each way of cost: wait and travel) and its rating
// cost more than any of them, so it is counted outranked, not evaluated.
func TestMatchOutranked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	for i := range 5 {
		w := newWorker(fmt.Sprintf("w-door-%d", i), offset(base, 0.05*float64(i), 0))
		w.Rating = 5
		h.mustPutWorker(t, w)
	}
	far := newWorker("w-far", offset(base, 0, 6))
	far.Rating = 3.5
	h.mustPutWorker(t, far)

	r := h.do(t, http.MethodPost, "/v1/match", keyBooking, with(cleaning(base), "urgency", "urgent"))
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[match](t, r)
	if got.Considered != 6 || got.Outranked != 1 || len(got.Rejected) != 0 || len(got.Options) != 5 {
		t.Errorf("considered %d, outranked %d, rejected %v, %d options; want 6, 1, none, 5", got.Considered, got.Outranked, got.Rejected, len(got.Options))
	}
	for _, o := range got.Options {
		if o.WorkerID == "w-far" {
			t.Errorf("the far worker is an option: %+v", o)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	near := newWorker("w-near", base)
	mid := newWorker("w-mid", offset(base, 2, 0))
	mid.Rating = 4
	far := newWorker("w-far", offset(base, 0, 6))
	plumber := newWorker("w-plumber", offset(base, 1, 0), "plumbing")
	late := newWorker("w-late", offset(base, -1, 0))
	late.Shifts = []doorstep.Shift{{Start: at(20, 0), End: at(21, 0)}} // too short for 2 h
	for _, w := range []doorstep.Worker{near, mid, far, plumber, late} {
		h.mustPutWorker(t, w)
	}

	r := h.do(t, http.MethodPost, "/v1/match", keyBooking, cleaning(base))
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[match](t, r)

	if !got.Deadline.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("deadline %s, want %s", got.Deadline, now.Add(24*time.Hour))
	}
	if got.Considered != 5 {
		t.Errorf("considered %d, want 5", got.Considered)
	}
	if diff := cmp.Diff(got.Rejected, map[string]int{"skills": 1, "shift_end": 1}); diff != "" {
		t.Errorf("rejected (-got +want):\n%s", diff)
	}
	var ids []string
	for i, o := range got.Options {
		ids = append(ids, o.WorkerID)
		var terms []string
		sum := 0.0
		for k, v := range o.Breakdown {
			terms = append(terms, k)
			sum += v
		}
		sort.Strings(terms)
		if diff := cmp.Diff(terms, breakdownTerms); diff != "" {
			t.Errorf("option %d breakdown terms (-got +want):\n%s", i, diff)
		}
		if d := sum - o.Cost; d > 0.05 || d < -0.05 {
			t.Errorf("option %d: breakdown sums to %.2f, cost %.2f", i, sum, o.Cost)
		}
		if i > 0 && o.Cost < got.Options[i-1].Cost {
			t.Errorf("option %d cost %.2f below option %d's %.2f: not ranked", i, o.Cost, i-1, got.Options[i-1].Cost)
		}
		if o.Arrival.After(o.Start) || !o.End.Equal(o.Start.Add(2*time.Hour)) {
			t.Errorf("option %d: arrival %s start %s end %s", i, o.Arrival, o.Start, o.End)
		}
	}
	if diff := cmp.Diff(ids, []string{"w-near", "w-mid", "w-far"}); diff != "" {
		t.Errorf("ranked workers (-got +want):\n%s", diff)
	}

	// The best option exactly: the worker is where the job is.
	wantBest := option{WorkerID: "w-near", Start: now, End: now.Add(2 * time.Hour), Arrival: now,
		Breakdown: got.Options[0].Breakdown, Cost: got.Options[0].Cost, Price: nightCleaning2h}
	if diff := cmp.Diff(got.Options[0], wantBest); diff != "" {
		t.Errorf("best option (-got +want):\n%s", diff)
	}
	if got.Options[0].Breakdown["travel"] != 0 || got.Options[0].Breakdown["rating"] != 0 {
		t.Errorf("best option breakdown %v: want no travel and no rating cost", got.Options[0].Breakdown)
	}
	// The next is 2 km away: its travel is the model's.
	travel := geo.Linear{}.Travel(mid.Home, base, now)
	if o := got.Options[1]; !o.Arrival.Equal(now.Add(travel)) || o.DistanceKm < 1.99 || o.DistanceKm > 2.01 {
		t.Errorf("second option arrives %s after %.2f km, want %s after 2 km", o.Arrival, o.DistanceKm, now.Add(travel))
	}

	// A quote reserves nothing.
	if tl := h.mustTimeline(t, "w-near"); len(tl) != 0 {
		t.Errorf("after a quote w-near has %d bookings", len(tl))
	}

	// Excluding the best worker and preferring another reorders the options.
	r = h.do(t, http.MethodPost, "/v1/match", keyBooking, with(cleaning(base),
		"excluded_workers", []string{"w-near"}, "preferred_workers", []string{"w-far"}))
	wantStatus(t, r, http.StatusOK)
	got = decodeBody[match](t, r)
	if got.Options[0].WorkerID != "w-far" || got.Rejected["excluded"] != 1 {
		t.Errorf("with exclusion and preference: first %s, rejected %v; want w-far, excluded 1", got.Options[0].WorkerID, got.Rejected)
	}
	if got.Options[0].Breakdown["preferred"] >= 0 {
		t.Errorf("preferred term %v, want a negative cost", got.Options[0].Breakdown["preferred"])
	}
}

func TestMatchUnservable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	// In reach, but its shift starts after the urgent deadline.
	late := newWorker("w-late", base)
	late.Shifts = []doorstep.Shift{{Start: at(9, 30), End: at(17, 30)}}
	// 15 km out and on shift from 08:30: reachable, but not within the hour.
	slowHome := offset(base, 15, 0)
	slow := newWorker("w-slow", slowHome)
	slow.Shifts = []doorstep.Shift{{Start: at(8, 30), End: at(17, 30)}}
	h.mustPutWorker(t, late)

	urgent := map[string]any{"service": "cleaning", "urgency": "urgent", "location": base}

	t.Run("nobody in reach", func(t *testing.T) {
		far := map[string]any{"service": "cleaning", "urgency": "urgent", "location": doorstep.Location{Lat: 48.137, Lng: 11.575}}
		p := wantProblem(t, h.do(t, http.MethodPost, "/v1/match", keyBooking, far), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
		if !strings.Contains(p.Detail, "no worker within reach") {
			t.Errorf("detail %q does not say nobody is in reach", p.Detail)
		}
		if len(p.Rejected) != 0 || p.Reason != "no_candidates" || !p.EarliestArrival.IsZero() {
			t.Errorf("rejected %v, reason %q, earliest arrival %v; want none, no_candidates, none", p.Rejected, p.Reason, p.EarliestArrival)
		}
		// The same answer for a booking, which books nothing.
		wantProblem(t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, far), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
	})

	t.Run("shift starts after the hour", func(t *testing.T) {
		p := wantProblem(t, h.do(t, http.MethodPost, "/v1/match", keyBooking, urgent), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
		if diff := cmp.Diff(p.Rejected, map[string]int{"shift": 1}); diff != "" {
			t.Errorf("rejected (-got +want):\n%s", diff)
		}
		if p.Reason != "shift" || !p.EarliestArrival.Equal(at(9, 30)) {
			t.Errorf("reason %q, earliest arrival %v; want shift, %v", p.Reason, p.EarliestArrival, at(9, 30))
		}
		for _, want := range []string{"deadline 2026-11-23T09:00:00Z", "the earliest a qualified worker (w-late) could arrive is 2026-11-23T09:30:00Z"} {
			if !strings.Contains(p.Detail, want) {
				t.Errorf("detail %q does not contain %q", p.Detail, want)
			}
		}
	})

	t.Run("too far to arrive within the hour", func(t *testing.T) {
		h.mustPutWorker(t, slow)
		wantStatus(t, h.do(t, http.MethodDelete, "/v1/workers/w-late", keyOps, nil), http.StatusOK)
		arrival := at(8, 30).Add(geo.Linear{}.Travel(slowHome, base, at(8, 30)))
		if !arrival.After(at(9, 0)) {
			t.Fatalf("fixture: w-slow arrives at %s, within the hour", arrival)
		}
		p := wantProblem(t, h.do(t, http.MethodPost, "/v1/match", keyBooking, urgent), http.StatusUnprocessableEntity, doorstep.EUNSERVABLE, "")
		if diff := cmp.Diff(p.Rejected, map[string]int{"deadline": 1}); diff != "" {
			t.Errorf("rejected (-got +want):\n%s", diff)
		}
		if p.Reason != "deadline" || !p.EarliestArrival.Equal(arrival) {
			t.Errorf("reason %q, earliest arrival %v; want deadline, %v", p.Reason, p.EarliestArrival, arrival)
		}
		want := "the earliest a qualified worker (w-slow) could arrive is " + arrival.Format(time.RFC3339)
		if !strings.Contains(p.Detail, want) {
			t.Errorf("detail %q does not contain %q", p.Detail, want)
		}
	})
}

func TestMatchInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	normal := cleaning(base)
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown service", with(normal, "service", "astrology"), "service"},
		{"no service", without(normal, "service"), "service"},
		{"no urgency", without(normal, "urgency"), "urgency"},
		{"bad urgency", with(normal, "urgency", "asap"), "urgency"},
		{"no location", without(normal, "location"), "location"},
		{"lat 91", with(normal, "location", map[string]any{"lat": 91, "lng": 13.4}), "location.lat"},
		{"lng -181", with(normal, "location", map[string]any{"lat": 52.5, "lng": -181}), "location.lng"},
		{"urgent with window", with(normal, "urgency", "urgent", "window", doorstep.Window{Start: at(9, 0), End: at(10, 0)}), "window"},
		{"window end before start", with(normal, "window", doorstep.Window{Start: at(10, 0), End: at(9, 0)}), "window.end"},
		{"window beyond the horizon", with(normal, "window", doorstep.Window{Start: now.Add(60 * 24 * time.Hour), End: now.Add(60*24*time.Hour + time.Second)}), "window.end"},
		{"window passed", with(normal, "requested_at", now.Add(-3*time.Hour), "window", doorstep.Window{Start: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}), "window.end"},
		{"duration 0", with(normal, "duration_minutes", 0), "duration_minutes"},
		{"duration over 12h", with(normal, "duration_minutes", 721), "duration_minutes"},
		{"duration not an integer", with(normal, "duration_minutes", 1.5), "duration_minutes"},
		{"requested in the future", with(normal, "requested_at", now.Add(time.Hour)), "requested_at"},
		{"requested over 24h ago", with(normal, "requested_at", now.Add(-25*time.Hour)), "requested_at"},
		{"urgent requested over 1h ago", with(normal, "urgency", "urgent", "requested_at", now.Add(-61*time.Minute)), "requested_at"},
		{"bad customer id", with(normal, "customer_id", "Jane Doe"), "customer_id"},
		{"bad excluded worker", with(normal, "excluded_workers", []string{"ok", "not ok"}), "excluded_workers[1]"},
		{"bad extra skill", with(normal, "skills", []string{"a b"}), "skills[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/v1/match", "/v1/bookings"} {
				wantProblem(t, h.do(t, http.MethodPost, path, keyBooking, tt.body), http.StatusBadRequest, doorstep.EINVALID, tt.field)
			}
		})
	}
	if tl := h.mustTimeline(t, "w-1"); len(tl) != 0 {
		t.Errorf("invalid requests booked %d slots", len(tl))
	}
}
