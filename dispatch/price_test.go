package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/google/go-cmp/cmp"
)

// cleaningAt is a catalogue whose cleaning costs base 10.00 and perHour
// cents an hour (EUR, UTC, urgent 5.00, night 20:00-07:00 at 3.00 an hour).
func cleaningAt(t *testing.T, perHour string) doorstep.Catalogue {
	t.Helper()
	c, err := doorstep.ParseCatalogue([]byte(`{
	  "pricing": {"currency": "EUR", "time_zone": "UTC", "night": {"start": "20:00", "end": "07:00"}},
	  "services": [{"name": "cleaning", "skill": "cleaning", "default_duration_minutes": 120,
	                "price": {"base": 1000, "per_hour": ` + perHour + `, "urgent": 500, "night_per_hour": 300}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPriceFixedOnBooking: a quote shows the price Book fixes on the
// booking, and the booking keeps it when the catalogue changes, while new
// quotes follow the new catalogue.
func TestPriceFixedOnBooking(t *testing.T) {
	e := newEnv(t, at(8, 0), func(c *dispatch.Config) { c.Catalogue = cleaningAt(t, "2000") })
	e.put(t, worker("w1", base, dayShift()))
	req := normal(offset(base, 1, 0), 2*time.Hour, at(10, 0), at(10, 30))
	// 10:00-12:00 UTC on a Monday: base 10.00 and two hours at 20.00.
	want := &doorstep.Price{Currency: "EUR", Total: 5000, Lines: []doorstep.PriceLine{
		{Kind: doorstep.LineBase, Amount: 1000}, {Kind: doorstep.LineHours, Minutes: 120, Amount: 4000}}}

	q, err := e.svc.Quote(t.Context(), req, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Prices) != len(q.Options) || len(q.Options) == 0 {
		t.Fatalf("quote has %d options and %d prices", len(q.Options), len(q.Prices))
	}
	if diff := cmp.Diff(want, q.Prices[0]); diff != "" {
		t.Errorf("quoted price (-want +got):\n%s", diff)
	}
	b := e.book(t, req).Booking
	if diff := cmp.Diff(want, b.Price); diff != "" {
		t.Errorf("booked price (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, e.get(t, b.ID).Price); diff != "" {
		t.Errorf("stored price (-want +got):\n%s", diff)
	}

	// The catalogue changes (a server restarted with another file): the
	// booking keeps its price; a new quote has the new one.
	later, err := dispatch.New(dispatch.Config{Store: e.st, Now: e.clk.Now, Catalogue: cleaningAt(t, "9000")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := later.Booking(t.Context(), b.ID, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.Price); diff != "" {
		t.Errorf("price after a catalogue change (-want +got):\n%s", diff)
	}
	q2, err := later.Quote(t.Context(), normal(offset(base, 1, 0), 2*time.Hour, at(14, 0), at(14, 30)), tenant)
	if err != nil {
		t.Fatal(err)
	}
	if p := q2.Prices[0]; p == nil || p.Total != 1000+18000 {
		t.Errorf("new quote priced %+v, want total %d", p, 1000+18000)
	}

	// An urgent booking pays the surcharge.
	u := e.book(t, urgent("cleaning", offset(base, 0, 1), time.Hour)).Booking
	if u.Price == nil || u.Price.Total != 1000+2000+500 {
		t.Errorf("urgent booking at %s priced %+v, want total %d", u.Start, u.Price, 1000+2000+500)
	}
}
