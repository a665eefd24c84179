package api_test

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/doorstep-dev/doorstep/store"
)

// TestStandby: GET /v1/standby sends the idle plumber toward the urgent
// calls of the last hour (the plan of dispatch.TestStandby, through HTTP
// and the document's schema), answers 400 naming the parameter at fault
// and is for operations only.
func TestStandby(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("p-1", base, "plumbing"))
	north := offset(base, 4, 0)
	kept := geo.CellOf(north, doorstep.PrivacyResolution).Center() // where the calls are kept
	for i := range 4 {
		call := store.UrgentCall{At: at(7, 10*i), Location: north, Skills: []string{"plumbing"}}
		if err := h.Store.RecordUrgent(t.Context(), geo.RegionOf(base).String(), call); err != nil {
			t.Fatal(err)
		}
	}
	var rate [24]float64
	rate[8] = 2
	if err := h.Service.Matcher().SetUrgentProfile(&matcher.UrgentProfile{Rate: map[string][24]float64{"plumbing": rate}}); err != nil {
		t.Fatal(err)
	}

	r := h.do(t, http.MethodGet, "/v1/standby?lat=52.52&lng=13.405&radius_km=10", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	var plan struct {
		At    time.Time `json:"at"`
		Moves []struct {
			WorkerID    string            `json:"worker_id"`
			From        doorstep.Location `json:"from"`
			To          doorstep.Location `json:"to"`
			Km          float64           `json:"km"`
			GainMinutes float64           `json:"gain_minutes"`
		} `json:"moves"`
		Idle, Busy, Calls int
		Expected          map[string]float64 `json:"expected"`
	}
	if err := json.Unmarshal(r.Body, &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Moves) != 1 || plan.Moves[0].WorkerID != "p-1" || math.Abs(plan.Moves[0].Km-geo.DistanceKm(base, kept)) > 0.0005 ||
		plan.Moves[0].From != base || plan.Moves[0].To != kept ||
		plan.Idle != 1 || plan.Calls != 4 || plan.Expected["plumbing"] != 2 || !plan.At.Equal(now) {
		t.Errorf("plan %s", r.Body)
	}

	for _, tc := range []struct{ query, field string }{
		{"lng=13.405", "lat"},
		{"lat=north&lng=13.405", "lat"},
		{"lat=95&lng=13.405", "lat"},
		{"lat=52.52", "lng"},
		{"lat=52.52&lng=NaN", "lng"},
		{"lat=52.52&lng=13.405&radius_km=0", "radius_km"},
		{"lat=52.52&lng=13.405&radius_km=100", "radius_km"},
	} {
		r := h.do(t, http.MethodGet, "/v1/standby?"+tc.query, keyOps, nil)
		wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, tc.field)
	}
	r = h.do(t, http.MethodGet, "/v1/standby?lat=52.52&lng=13.405", keyBooking, nil)
	wantStatus(t, r, http.StatusForbidden)
}
