package dispatch_test

import (
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/google/go-cmp/cmp"
)

// tuesdays returns 06:00-18:00 UTC shifts on the given dates of 2027
// ("03-23"), in order.
func daysOf2027(tb testing.TB, dates ...string) []doorstep.Shift {
	tb.Helper()
	var out []doorstep.Shift
	for _, d := range dates {
		day := utc(tb, "2027-"+d+"T00:00:00Z")
		out = append(out, shift(day.Add(6*time.Hour), day.Add(18*time.Hour)))
	}
	return out
}

// berlin9 is a Berlin 09:00-10:00 window on date d of 2027 (a weekly
// series' first window).
func berlin9(tb testing.TB, d string) *doorstep.Window {
	tb.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		tb.Fatal(err)
	}
	day := utc(tb, "2027-"+d+"T00:00:00Z")
	start := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, loc).UTC()
	return &doorstep.Window{Start: start, End: start.Add(time.Hour)}
}

// spring reads worker id's confirmed bookings of March to May 2027.
func spring(tb testing.TB, e *env, id string) []*doorstep.Booking {
	tb.Helper()
	bs, err := e.st.WorkerBookings(tb.Context(), id, utc(tb, "2027-03-01T00:00:00Z"), utc(tb, "2027-06-01T00:00:00Z"))
	if err != nil {
		tb.Fatalf("WorkerBookings(%s): %v", id, err)
	}
	return bs
}

func starts(bs []*doorstep.Booking) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.WorkerID+"@"+b.Start.UTC().Format(time.RFC3339))
	}
	return out
}

// TestBookSeriesTwiceAWeek books a Tuesday-and-Friday series that starts
// days after the request, across Berlin's DST change: one worker, 09:00
// local throughout.
func TestBookSeriesTwiceAWeek(t *testing.T) {
	e := newEnv(t, utc(t, "2027-03-20T08:00:00Z"), nil)
	days := []string{"03-23", "03-26", "03-30", "04-02", "04-06", "04-09", "04-13", "04-16"}
	// b is nearer but off on one Friday: continuity gives every
	// occurrence to a.
	e.put(t, worker("a", offset(base, 0, 2), daysOf2027(t, days...)),
		worker("b", base, daysOf2027(t, "03-23", "03-26", "03-30", "04-06", "04-09", "04-13", "04-16")))
	req := normal(base, mins(60), time.Time{}, time.Time{})
	req.Window = berlin9(t, "03-23")
	out, err := e.svc.BookSeries(t.Context(), req, dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU,FR;COUNT=8", TimeZone: "Europe/Berlin"}, tenant)
	if err != nil {
		t.Fatalf("BookSeries: %v", err)
	}
	want := []string{"a@2027-03-23T08:00:00Z", "a@2027-03-26T08:00:00Z", "a@2027-03-30T07:00:00Z", "a@2027-04-02T07:00:00Z",
		"a@2027-04-06T07:00:00Z", "a@2027-04-09T07:00:00Z", "a@2027-04-13T07:00:00Z", "a@2027-04-16T07:00:00Z"}
	if diff := cmp.Diff(starts(out.Bookings), want); diff != "" {
		t.Errorf("occurrences (-got +want):\n%s", diff)
	}
	if len(out.Missed) != 0 || out.Total != 8 || out.Pending != 0 {
		t.Errorf("missed %v, total %d, pending %d; want none, 8, 0", out.Missed, out.Total, out.Pending)
	}
	for _, b := range out.Bookings {
		if b.Window == nil || !b.Window.Contains(b.Start) || b.Deadline.Sub(b.RequestedAt) != doorstep.NormalStart || b.End.Sub(b.Window.End) > time.Hour {
			t.Errorf("occurrence %s: window %v requested %v deadline %v", b.Start, b.Window, b.RequestedAt, b.Deadline)
		}
	}
	e.verifyAll(t)

	// A first window beyond the horizon is refused, naming it.
	far := normal(base, mins(60), time.Time{}, time.Time{})
	far.Window = berlin9(t, "06-01")
	_, err = e.svc.BookSeries(t.Context(), far, dispatch.Recurrence{RRule: "FREQ=WEEKLY;COUNT=2", TimeZone: "Europe/Berlin"}, tenant)
	var de *doorstep.Error
	if !asError(err, &de) || de.Field != "window.start" {
		t.Errorf("first window beyond the horizon: got %v, want EINVALID on window.start", err)
	}
}

// rollEnv is a weekly Tuesday series of six in Berlin, booked on Saturday
// 2027-03-20 with a 14-day horizon: Mar 23 and 30 are placed at once, Apr
// 6, 13, 20 and 27 are left to the roll-forward. b is nearer (cheaper) but
// off on Mar 30, so a takes the first two; nobody works Apr 20.
func rollEnv(t *testing.T) (*env, *dispatch.SeriesOutcome) {
	t.Helper()
	e := newEnv(t, utc(t, "2027-03-20T08:00:00Z"), func(c *dispatch.Config) { c.Horizon = 14 * 24 * time.Hour })
	e.put(t, worker("a", offset(base, 0, 2), daysOf2027(t, "03-23", "03-30", "04-06", "04-13", "04-27")),
		worker("b", base, daysOf2027(t, "03-23", "04-06", "04-13", "04-27")))
	req := normal(base, mins(60), time.Time{}, time.Time{})
	req.Window = berlin9(t, "03-23")
	req.CustomerID = "c1"
	out, err := e.svc.BookSeries(t.Context(), req, dispatch.Recurrence{RRule: "FREQ=WEEKLY;BYDAY=TU;COUNT=6", TimeZone: "Europe/Berlin"}, tenant)
	if err != nil {
		t.Fatalf("BookSeries: %v", err)
	}
	if diff := cmp.Diff(starts(out.Bookings), []string{"a@2027-03-23T08:00:00Z", "a@2027-03-30T07:00:00Z"}); diff != "" {
		t.Fatalf("booked (-got +want):\n%s", diff)
	}
	if out.Total != 6 || out.Pending != 4 || !out.NextAt.Equal(utc(t, "2027-04-06T07:00:00Z")) {
		t.Fatalf("total %d pending %d next %v; want 6, 4, 2027-04-06T07:00Z", out.Total, out.Pending, out.NextAt)
	}
	return e, out
}

// TestRollForward moves the clock and checks that the roll-forward places
// each occurrence as the horizon reaches it, on the series' worker, once,
// and records the one nobody can take.
func TestRollForward(t *testing.T) {
	e, out := rollEnv(t)
	roll := func(at string, wantPlaced, wantMissed int) {
		t.Helper()
		e.clk.Set(utc(t, at))
		st, err := e.svc.RollForward(t.Context(), 0)
		if err != nil {
			t.Fatalf("RollForward at %s: %v", at, err)
		}
		if st.Placed != wantPlaced || st.Missed != wantMissed {
			t.Fatalf("RollForward at %s: %+v, want %d placed, %d missed", at, st, wantPlaced, wantMissed)
		}
	}
	roll("2027-03-20T08:00:00Z", 0, 0) // nothing within the horizon yet
	roll("2027-03-23T06:59:59Z", 0, 0)
	roll("2027-03-23T07:00:00Z", 1, 0) // Apr 6 enters the horizon
	roll("2027-03-23T07:00:00Z", 0, 0) // and is not placed twice
	roll("2027-04-06T07:00:00Z", 1, 1) // Apr 13, and Apr 20 nobody works
	roll("2027-04-13T07:00:00Z", 1, 0) // Apr 27, the last
	roll("2027-05-01T00:00:00Z", 0, 0) // nothing left

	v, err := e.svc.Series(t.Context(), out.SeriesID, tenant)
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	// b is cheaper on every rolled Tuesday: continuity keeps a.
	want := []string{"a@2027-03-23T08:00:00Z", "a@2027-03-30T07:00:00Z", "a@2027-04-06T07:00:00Z", "a@2027-04-13T07:00:00Z", "a@2027-04-27T07:00:00Z"}
	if diff := cmp.Diff(starts(v.Bookings), want); diff != "" {
		t.Errorf("series (-got +want):\n%s", diff)
	}
	wantMiss := []dispatch.Miss{{Occurrence: 4, Window: *berlin9(t, "04-20"), Reason: "shift", At: utc(t, "2027-04-06T07:00:00Z"), Rolled: true}}
	if diff := cmp.Diff(v.Missed, wantMiss); diff != "" {
		t.Errorf("missed (-got +want):\n%s", diff)
	}
	if v.Total != 6 || v.Pending != 0 || !v.NextAt.IsZero() || v.RRule != "FREQ=WEEKLY;BYDAY=TU;COUNT=6" || v.TimeZone != "Europe/Berlin" {
		t.Errorf("series state %+v", v)
	}
	if p, m := e.obs.rolledPlaced.Load(), e.obs.rolledMissed.Load(); p != 3 || m != 1 {
		t.Errorf("observer: %d placed, %d missed; want 3, 1", p, m)
	}
	if got := len(spring(t, e, "a")); got != 5 {
		t.Errorf("a has %d bookings, want 5", got)
	}
	if got := len(spring(t, e, "b")); got != 0 {
		t.Errorf("b has %d bookings, want 0", got)
	}
	due, err := e.st.DueSeries(t.Context(), utc(t, "2028-01-01T00:00:00Z"), 10)
	if err != nil || len(due) != 0 {
		t.Errorf("due after the last occurrence: %v, %v", due, err)
	}
	// Nothing left to place: the record forgets the request's place.
	if sr, err := e.st.GetSeries(t.Context(), out.SeriesID); err != nil || sr.Rule == nil || sr.Rule.Request != nil {
		t.Errorf("record after the last occurrence: %+v, %v; want the rule without its request", sr.Rule, err)
	}
	e.verifyAll(t)
}

// TestRollForwardPassed checks that an occurrence whose window ended before
// any roll-forward reached it is missed as passed, not placed late.
func TestRollForwardPassed(t *testing.T) {
	e, out := rollEnv(t)
	e.clk.Set(utc(t, "2027-04-06T09:00:00Z")) // Apr 6's window is over
	st, err := e.svc.RollForward(t.Context(), 0)
	if err != nil {
		t.Fatalf("RollForward: %v", err)
	}
	if st.Placed != 1 || st.Missed != 2 {
		t.Errorf("RollForward: %+v, want Apr 13 placed, Apr 6 (passed) and Apr 20 (shift) missed", st)
	}
	v, err := e.svc.Series(t.Context(), out.SeriesID, tenant)
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	var got []string
	for _, m := range v.Missed {
		got = append(got, m.Reason)
	}
	if diff := cmp.Diff(got, []string{dispatch.ReasonPassed, "shift"}); diff != "" {
		t.Errorf("missed reasons (-got +want):\n%s", diff)
	}
}

// TestRollForwardServers runs the roll-forward of one store from several
// servers at once: every occurrence is booked once.
func TestRollForwardServers(t *testing.T) {
	e, out := rollEnv(t)
	e.clk.Set(utc(t, "2027-04-06T07:00:00Z")) // Apr 6, 13 and 20 are due
	svcs := []*dispatch.Service{e.svc}
	for range 3 {
		s, err := dispatch.New(dispatch.Config{Store: e.st, Now: e.clk.Now, Horizon: 14 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, s)
	}
	var wg sync.WaitGroup
	for _, s := range svcs {
		for range 3 {
			wg.Go(func() {
				_, _ = s.RollForward(t.Context(), 0) // losers report the conflict
			})
		}
	}
	wg.Wait()
	// One more pass finishes what a lost race left.
	if _, err := e.svc.RollForward(t.Context(), 0); err != nil {
		t.Fatalf("RollForward: %v", err)
	}
	v, err := e.svc.Series(t.Context(), out.SeriesID, tenant)
	if err != nil {
		t.Fatalf("Series: %v", err)
	}
	if got := len(spring(t, e, "a")) + len(spring(t, e, "b")); got != 4 || len(v.Bookings) != 4 || len(v.Missed) != 1 || v.Pending != 1 {
		t.Errorf("%d bookings in timelines, series %d bookings, %d missed, %d pending; want 4, 4, 1, 1", got, len(v.Bookings), len(v.Missed), v.Pending)
	}
	seen := map[string]bool{}
	for _, b := range v.Bookings {
		if seen[b.Start.String()] {
			t.Errorf("occurrence at %s booked twice", b.Start)
		}
		seen[b.Start.String()] = true
	}
	e.verifyAll(t)
}

// TestCancelSeriesStopsRollForward checks that a cancelled series places
// nothing more.
func TestCancelSeriesStopsRollForward(t *testing.T) {
	e, out := rollEnv(t)
	if _, err := e.svc.CancelSeries(t.Context(), out.SeriesID, tenant); err != nil {
		t.Fatalf("CancelSeries: %v", err)
	}
	e.clk.Set(utc(t, "2027-04-13T07:00:00Z"))
	st, err := e.svc.RollForward(t.Context(), 0)
	if err != nil || st.Placed != 0 {
		t.Errorf("RollForward after cancel: %+v, %v; want nothing placed", st, err)
	}
	v, err := e.svc.Series(t.Context(), out.SeriesID, tenant)
	if err != nil || !v.Cancelled || v.Pending != 0 {
		t.Errorf("series after cancel: %+v, %v", v, err)
	}
	if n := len(spring(t, e, "a")); n != 0 {
		t.Errorf("a has %d bookings after cancel", n)
	}
}

// TestRollForwardOrphan checks that a record whose booking never happened
// (BookSeries lost its race after writing it) is never rolled forward.
func TestRollForwardOrphan(t *testing.T) {
	e, _ := rollEnv(t)
	id := store.NewSeriesID("831f1dfffffffff")
	orphanReq := normal(base, mins(60), utc(t, "2027-03-23T08:00:00Z"), utc(t, "2027-03-23T09:00:00Z"))
	sr := &store.Series{ID: id, Owner: tenant, BookingIDs: []string{store.SeriesBookingID(id, 0)},
		Rule:  &store.SeriesRule{RRule: "FREQ=WEEKLY;COUNT=3", TimeZone: "UTC", Request: &orphanReq, DurationSeconds: 3600},
		Total: 3, Next: 1}
	if err := e.st.PutSeries(t.Context(), sr); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ScheduleSeries(t.Context(), id, utc(t, "2027-03-20T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(utc(t, "2027-03-23T07:00:00Z"))
	if _, _, err := e.svc.RollSeries(t.Context(), id); err != nil {
		t.Fatalf("RollSeries: %v", err)
	}
	got, err := e.st.GetSeries(t.Context(), id)
	if err != nil || got.Next != 1 || len(got.BookingIDs) != 1 {
		t.Errorf("orphan after roll: %+v, %v; want untouched", got, err)
	}
	due, _ := e.st.DueSeries(t.Context(), utc(t, "2028-01-01T00:00:00Z"), 10)
	for _, d := range due {
		if d == id {
			t.Errorf("orphan still scheduled")
		}
	}
}
