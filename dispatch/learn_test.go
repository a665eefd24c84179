package dispatch_test

import (
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// TestLearnUrgentProfile: two plumbers and an electrician on 08:00-16:00
// UTC every day; four urgent plumbing calls at 10:00 on the first day:
// three bookings and one in a committed batch (a batch's plan, like a
// quote, is not a call). The next day the service has one whole day of
// counts: at 10:00 UTC the profile expects 4 calls a day over 2 plumbers on
// duty = 2 per plumber, nothing at other hours, and nothing for
// electricians.
func TestLearnUrgentProfile(t *testing.T) {
	e := newEnv(t, at(9, 0), nil)
	var week []doorstep.Shift
	for d := range 9 {
		week = append(week, shift(at(8, 0).AddDate(0, 0, d), at(16, 0).AddDate(0, 0, d)))
	}
	e.put(t, worker("p1", base, week, "plumbing"), worker("p2", base, week, "plumbing"), worker("e1", base, week, "electrical"))
	e.clk.Set(at(10, 0))
	for range 3 {
		_, _ = e.svc.Book(t.Context(), urgent("plumbing", base, time.Hour), tenant) // served or not, a call
	}
	batch := []doorstep.Request{withID("b1", urgent("plumbing", base, time.Hour)), withID("b2", urgent("plumbing", base, time.Hour))}
	if _, err := e.svc.Assign(t.Context(), batch, false, tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Assign(t.Context(), batch[:1], true, tenant); err != nil {
		t.Fatal(err)
	}
	if p, err := e.svc.LearnUrgentProfile(t.Context(), 7); err != nil || p != nil {
		t.Fatalf("on the first day: %+v, %v; want no profile yet", p, err)
	}
	e.clk.Set(at(9, 0).AddDate(0, 0, 1))
	p, err := e.svc.LearnUrgentProfile(t.Context(), 7)
	if err != nil || p == nil {
		t.Fatalf("LearnUrgentProfile: %+v, %v", p, err)
	}
	region := geo.RegionOf(base).String()
	for _, rates := range []map[string][24]float64{p.Rate, p.Regions[region]} {
		r := rates["plumbing"]
		if r[10] != 2 || r[9] != 0 || r[11] != 0 {
			t.Errorf("plumbing rates at 9, 10, 11: %v %v %v; want 0, 2, 0", r[9], r[10], r[11])
		}
		if _, ok := rates["electrical"]; ok {
			t.Errorf("electrical has a rate without a call: %v", rates["electrical"])
		}
	}
	// The matcher prices with it once set.
	if err := e.svc.Matcher().SetUrgentProfile(p); err != nil {
		t.Fatal(err)
	}
	if e.svc.Matcher().UrgentProfile() != p {
		t.Error("the matcher does not price with the learnt profile")
	}
}
