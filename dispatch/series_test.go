package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/google/go-cmp/cmp"
)

// mondays returns 08:00-18:00 shifts on the given weeks' Mondays (week 0 is
// the fixtures' day).
func mondays(weeks ...int) []doorstep.Shift {
	var out []doorstep.Shift
	for _, k := range weeks {
		out = append(out, shift(at(8, 0).AddDate(0, 0, 7*k), at(18, 0).AddDate(0, 0, 7*k)))
	}
	return out
}

func TestBookSeries(t *testing.T) {
	east2 := offset(base, 0, 2)
	tests := []struct {
		name    string
		workers []*doorstep.Worker
		at      doorstep.Location
		// want is the worker of each occurrence, "" for one missed.
		want       []string
		wantReason string
	}{
		{
			name:    "every occurrence on one worker",
			workers: []*doorstep.Worker{worker("a", base, mondays(0, 1, 2, 3)), worker("b", east2, mondays(0, 1, 2, 3))},
			at:      base,
			want:    []string{"a", "a", "a", "a"},
		},
		{
			// b is nearer, but only a can take all four: continuity wins.
			name:    "the worker who can take them all, though another is nearer",
			workers: []*doorstep.Worker{worker("a", base, mondays(0, 1, 2, 3)), worker("b", east2, mondays(0, 1, 2))},
			at:      east2,
			want:    []string{"a", "a", "a", "a"},
		},
		{
			name:    "an occurrence its worker cannot take goes to another",
			workers: []*doorstep.Worker{worker("a", base, mondays(0, 1, 3)), worker("b", east2, mondays(2))},
			at:      base,
			want:    []string{"a", "a", "b", "a"},
		},
		{
			name:       "an occurrence nobody can take is missed, with the reason",
			workers:    []*doorstep.Worker{worker("a", base, mondays(0, 1, 3))},
			at:         base,
			want:       []string{"a", "a", "", "a"},
			wantReason: "shift",
		},
		{
			// Two plumbers nearby outnumber a, who is qualified but off
			// shift that week: the reason is what stopped a (issue 10).
			name: "a missed occurrence says shift, not skills, when the qualified worker has no shift",
			workers: []*doorstep.Worker{worker("a", base, mondays(0, 1, 3)),
				worker("p1", east2, mondays(0, 1, 2, 3), "plumbing"), worker("p2", east2, mondays(0, 1, 2, 3), "plumbing")},
			at:         base,
			want:       []string{"a", "a", "", "a"},
			wantReason: "shift",
		},
	}
	pool := newPool(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := pool.newEnv(t, at(8, 0), nil)
			e.put(t, tt.workers...)
			req := normal(tt.at, mins(60), at(10, 0), at(12, 0))
			req.CustomerID = "c1"
			out, err := e.svc.BookSeries(t.Context(), req, dispatch.Recurrence{IntervalDays: 7, Count: 4}, "")
			if err != nil {
				t.Fatalf("BookSeries: %v", err)
			}
			got := make([]string, 4)
			for _, b := range out.Bookings {
				k := int(b.Start.Sub(at(0, 0)) / (7 * 24 * time.Hour))
				win := doorstep.Window{Start: at(10, 0).AddDate(0, 0, 7*k), End: at(12, 0).AddDate(0, 0, 7*k)}
				if b.Window == nil || *b.Window != win || !win.Contains(b.Start) {
					t.Errorf("occurrence %d: start %v window %v, want inside %v", k, b.Start, b.Window, win)
				}
				if b.SeriesID != out.SeriesID {
					t.Errorf("occurrence %d: series %q, want %q", k, b.SeriesID, out.SeriesID)
				}
				if diff := cmp.Diff(e.get(t, b.ID), b); diff != "" {
					t.Errorf("occurrence %d: stored differs from the answer (-stored +answer):\n%s", k, diff)
				}
				got[k] = b.WorkerID
			}
			if !cmp.Equal(got, tt.want) {
				t.Errorf("got workers %q, want %q", got, tt.want)
			}
			var missed []int
			for _, m := range out.Missed {
				missed = append(missed, m.Occurrence)
				if m.Reason != tt.wantReason {
					t.Errorf("missed occurrence %d: reason %q, want %q", m.Occurrence, m.Reason, tt.wantReason)
				}
				if want := at(10, 0).AddDate(0, 0, 7*m.Occurrence); !m.Window.Start.Equal(want) {
					t.Errorf("missed occurrence %d: window %v, want from %v", m.Occurrence, m.Window.Start, want)
				}
			}
			var wantMissed []int
			for k, w := range tt.want {
				if w == "" {
					wantMissed = append(wantMissed, k)
				}
			}
			if !cmp.Equal(missed, wantMissed) {
				t.Errorf("missed %v, want %v", missed, wantMissed)
			}
			sr, err := e.st.GetSeries(t.Context(), out.SeriesID)
			if err != nil {
				t.Fatalf("GetSeries: %v", err)
			}
			if !cmp.Equal(sr.BookingIDs, ids(out.Bookings)) {
				t.Errorf("series record %v, want %v", sr.BookingIDs, ids(out.Bookings))
			}
			e.verifyAll(t)
		})
	}
}

func TestCancelSeries(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, mondays(0, 1, 2, 3)))
	out, err := e.svc.BookSeries(t.Context(), normal(base, mins(60), at(10, 0), at(12, 0)), dispatch.Recurrence{IntervalDays: 7, Count: 4}, "owner1")
	if err != nil {
		t.Fatalf("BookSeries: %v", err)
	}
	if len(out.Bookings) != 4 {
		t.Fatalf("got %d bookings, want 4", len(out.Bookings))
	}
	if _, err := e.svc.CancelSeries(t.Context(), out.SeriesID, "owner2"); doorstep.ErrorCode(err) != doorstep.ENOTFOUND {
		t.Errorf("another owner: got %v, want %s", err, doorstep.ENOTFOUND)
	}
	// The first occurrence has started: it is kept, the rest cancelled.
	e.clk.Set(at(10, 30))
	c, err := e.svc.CancelSeries(t.Context(), out.SeriesID, "owner1")
	if err != nil {
		t.Fatalf("CancelSeries: %v", err)
	}
	if got, want := ids(c.Cancelled), ids(out.Bookings[1:]); !cmp.Equal(got, want) {
		t.Errorf("cancelled %v, want %v", got, want)
	}
	if got, want := ids(c.Kept), ids(out.Bookings[:1]); !cmp.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	for i, b := range out.Bookings {
		want := doorstep.StatusCancelled
		if i == 0 {
			want = doorstep.StatusConfirmed
		}
		if got := e.get(t, b.ID).Status; got != want {
			t.Errorf("occurrence %d: status %s, want %s", i, got, want)
		}
	}
	if got := ids(e.timeline(t, "a")); !cmp.Equal(got, ids(out.Bookings[:1])) {
		t.Errorf("timeline %v, want only the started occurrence", got)
	}
	// Again: nothing left to cancel.
	c, err = e.svc.CancelSeries(t.Context(), out.SeriesID, "owner1")
	if err != nil || len(c.Cancelled) != 0 || len(c.Kept) != 4 {
		t.Errorf("second CancelSeries: %+v, %v", c, err)
	}
}

func TestBookSeriesInvalid(t *testing.T) {
	e := newEnv(t, at(8, 0), nil)
	e.put(t, worker("a", base, mondays(0)))
	req := normal(base, mins(60), at(10, 0), at(12, 0))
	tests := []struct {
		name  string
		req   doorstep.Request
		rec   dispatch.Recurrence
		field string
	}{
		{"no occurrences", req, dispatch.Recurrence{IntervalDays: 7, Count: 0}, "recurrence.count"},
		{"no interval", req, dispatch.Recurrence{IntervalDays: 0, Count: 2}, "recurrence.interval_days"},
		{"too long a span", req, dispatch.Recurrence{IntervalDays: 90, Count: 6}, "recurrence.count"},
		{"urgent", urgent("cleaning", base, mins(60)), dispatch.Recurrence{IntervalDays: 7, Count: 2}, "recurrence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.BookSeries(t.Context(), tt.req, tt.rec, "")
			var de *doorstep.Error
			if doorstep.ErrorCode(err) != doorstep.EINVALID || !asError(err, &de) || de.Field != tt.field {
				t.Errorf("got %v, want %s on %s", err, doorstep.EINVALID, tt.field)
			}
		})
	}
	if n := len(e.timeline(t, "a")); n != 0 {
		t.Errorf("invalid series booked %d occurrences", n)
	}
}
