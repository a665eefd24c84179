package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// TestUrgentCounts: urgent requests counted on two days in two regions are
// read back by region, skill and hour over the whole days since counting
// began; today's are not (the day is not over), nor days beyond the window.
func TestUrgentCounts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openRedis(t).s
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	const ra, rb = "831f1dfffffffff", "832a10fffffffff"
	if c, err := s.UrgentCounts(ctx, 7, day); err != nil || c.Days != 0 || len(c.Counts) != 0 {
		t.Fatalf("before any count: %+v, %v", c, err)
	}
	rec := func(region string, at time.Time, skills ...string) {
		if err := s.RecordUrgent(ctx, region, UrgentCall{At: at, Skills: skills}); err != nil {
			t.Fatal(err)
		}
	}
	rec(ra, day.Add(10*time.Hour+5*time.Minute), "plumbing")
	rec(ra, day.Add(10*time.Hour+50*time.Minute), "plumbing", "electrical")
	rec(ra, day.AddDate(0, 0, 1).Add(22*time.Hour), "plumbing")
	rec(rb, day.AddDate(0, 0, 1).Add(3*time.Hour), "heating")
	rec(ra, day.AddDate(0, 0, 2).Add(9*time.Hour), "plumbing") // "today" below
	rec("not a region", day, "plumbing")                       // ignored
	c, err := s.UrgentCounts(ctx, 7, day.AddDate(0, 0, 2).Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.Days != 2 {
		t.Errorf("days %d, want 2 (since the first count, today excluded)", c.Days)
	}
	p, e, h := c.Counts[ra]["plumbing"], c.Counts[ra]["electrical"], c.Counts[rb]["heating"]
	if p[10] != 2 || p[22] != 1 || p[9] != 0 || e[10] != 1 || h[3] != 1 || len(c.Counts) != 2 {
		t.Errorf("counts %+v", c.Counts)
	}
	// A window of one day reads only yesterday.
	c, err = s.UrgentCounts(ctx, 1, day.AddDate(0, 0, 2).Add(12*time.Hour))
	if err != nil || c.Days != 1 || c.Counts[ra]["plumbing"][10] != 0 || c.Counts[ra]["plumbing"][22] != 1 {
		t.Errorf("one day: %+v, %v", c, err)
	}
}

// TestRecentUrgent: the places of a region's urgent requests are read back
// newest first, from a time on, and apart from another region's.
func TestRecentUrgent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openRedis(t).s
	const ra, rb = "831f1dfffffffff", "832a10fffffffff"
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	at := func(lat float64) doorstep.Location { return doorstep.Location{Lat: lat, Lng: 2.35} }
	calls := []UrgentCall{
		{At: t0, Location: at(48.80), Skills: []string{"plumbing"}},
		{At: t0.Add(time.Hour), Location: at(48.81), Skills: []string{"electrical"}, Certificates: []string{"gas"}},
		{At: t0.Add(2 * time.Hour), Location: at(48.82), Skills: []string{"plumbing"}},
	}
	for _, c := range calls {
		if err := s.RecordUrgent(ctx, ra, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordUrgent(ctx, rb, UrgentCall{At: t0, Location: at(40), Skills: []string{"heating"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentUrgent(ctx, ra, t0.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// Kept at the centre of their privacy cell, not their exact place.
	want := []UrgentCall{calls[2], calls[1]}
	for i := range want {
		want[i].Location = geo.CellOf(want[i].Location, doorstep.PrivacyResolution).Center()
		if want[i].Location == calls[2-i].Location {
			t.Fatal("the fixture's places are cell centres: the test would not see an exact place kept")
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recent since 09:30 = %+v, want %+v", got, want)
	}
	if got, err := s.RecentUrgent(ctx, "not a region", t0); err != nil || got != nil {
		t.Errorf("bad region: %v, %v", got, err)
	}
}
