package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestMainRollsSeriesForward checks that serve runs the roll-forward at
// its -series-roll-every: a series due now, whose two occurrences lie in
// the next days, is placed by the server without any request.
func TestMainRollsSeriesForward(t *testing.T) {
	t.Parallel()
	rs := storetest.RunRedis(t)
	st, err := store.Open(t.Context(), store.Config{URL: rs.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	home := doorstep.Location{Lat: 52.52, Lng: 13.405}
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	w := &doorstep.Worker{ID: "w-1", Skills: []string{"cleaning"}, Home: home, Rating: 5,
		Shifts: []doorstep.Shift{{Start: day.Add(6 * time.Hour), End: day.Add(18 * time.Hour)},
			{Start: day.Add(30 * time.Hour), End: day.Add(42 * time.Hour)}}}
	if _, err := st.PutWorker(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	// A series as BookSeries leaves one whose occurrences were all beyond
	// the horizon when booked: nothing placed yet, due now.
	id := store.NewSeriesID(geo.RegionOf(home).String())
	first := doorstep.Window{Start: day.Add(9 * time.Hour), End: day.Add(10 * time.Hour)}
	req := doorstep.Request{Service: "cleaning", Skills: []string{"cleaning"}, Location: home, Urgency: doorstep.Normal,
		Duration: time.Hour, Window: &first, RequestedAt: time.Now().UTC().Truncate(time.Second)}
	sr := &store.Series{ID: id, Owner: "", CreatedAt: req.RequestedAt, Total: 2, NextAt: first.Start,
		Rule: &store.SeriesRule{RRule: "FREQ=DAILY;COUNT=2", TimeZone: "UTC", Request: &req, DurationSeconds: 3600}}
	if err := st.PutSeries(t.Context(), sr); err != nil {
		t.Fatal(err)
	}
	if err := st.ScheduleSeries(t.Context(), id, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	m := &Main{
		Config: ServeConfig{Addr: "127.0.0.1:0", RedisURL: rs.URL(), SeriesRollEvery: 20 * time.Millisecond},
		Log:    slog.New(slog.NewJSONHandler(new(syncBuffer), nil)),
	}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer m.Close()
	// Polled, not timed: the loop runs at start and every 20 ms; the
	// bound only keeps a broken loop from hanging the test.
	for end := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		got, err := st.GetSeries(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Next == 2 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the server did not roll the series forward: next %d of %d, version %d", got.Next, got.Total, got.Version)
		}
	}
	for k := range 2 {
		b, err := st.GetBooking(t.Context(), store.SeriesBookingID(id, k))
		if err != nil {
			t.Fatalf("occurrence %d: %v", k, err)
		}
		if want := first.Start.AddDate(0, 0, k); b.WorkerID != "w-1" || !b.Start.Equal(want) || b.SeriesID != id {
			t.Errorf("occurrence %d: %s at %s in %s, want w-1 at %s", k, b.WorkerID, b.Start, b.SeriesID, want)
		}
	}
}
