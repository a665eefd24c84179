package api_test

import (
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// The API keys of the suite, one per role plus a second booking system.
const (
	keyBooking  = "booking-key-0123456789"
	keyOps      = "ops-key-0123456789abc"
	keyAdmin    = "admin-key-0123456789ab"
	keyBooking2 = "booking2-key-012345678"
	keyField    = "field-key-0123456789ab" // bound to worker w-1
	allKeys     = keyBooking + ":booking," + keyOps + ":ops," + keyAdmin + ":admin," + keyBooking2 + ":booking," + keyField + ":field:w-1"
)

// now is the fixed clock of every server the suite starts: Monday
// 2026-11-23 08:00 UTC, when the fixtures' shifts begin.
var now = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

// at returns now's day at hh:mm UTC.
func at(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC) }

// base is where the fixtures live (central Berlin).
var base = doorstep.Location{Lat: 52.52, Lng: 13.405}

// offset returns the point northKm north and eastKm east of l.
func offset(l doorstep.Location, northKm, eastKm float64) doorstep.Location {
	const kmPerDegree = 2 * math.Pi * 6371.0088 / 360 // on a sphere of the mean radius
	dLat := northKm / kmPerDegree
	dLng := eastKm / (kmPerDegree * math.Cos(l.Lat*math.Pi/180))
	return doorstep.Location{Lat: l.Lat + dLat, Lng: l.Lng + dLng}
}

// newWorker returns a worker at home with one shift 08:00-18:00 today.
func newWorker(id string, home doorstep.Location, skills ...string) doorstep.Worker {
	if len(skills) == 0 {
		skills = []string{"cleaning"}
	}
	return doorstep.Worker{
		ID:     id,
		Skills: skills,
		Home:   home,
		Shifts: []doorstep.Shift{{Start: at(8, 0), End: at(18, 0)}},
		Rating: 5,
	}
}

// harness is one API server as cmd/doorstep wires it, on its own
// redis-server, behind httptest (apitest.Harness).
type harness struct {
	*apitest.Harness
}

// response is an answer, read in full.
type response = apitest.Response

// newHarness starts redis-server, the store, the dispatch service with the
// fixed clock and the API with keys ("" turns auth off); configure, when
// given, adjusts the API's configuration.
func newHarness(t *testing.T, keys string, configure ...func(*api.Config)) *harness {
	t.Helper()
	return &harness{apitest.New(t, harnessOptions(keys, func() time.Time { return now }, configure...))}
}

// harnessOptions are the apitest options of the suite's servers: keys, the
// clock and the configuration changes.
func harnessOptions(keys string, clock func() time.Time, configure ...func(*api.Config)) apitest.Options {
	return apitest.Options{Keys: keys, Now: clock, ClientTimeout: 5 * time.Second, Configure: func(cfg *api.Config) {
		for _, f := range configure {
			f(cfg)
		}
	}}
}

// do sends a request (apitest.Harness.Do) and checks the invariants every
// answer must keep (checkResponse).
func (h *harness) do(t testing.TB, method, path, key string, body any, header ...string) *response {
	t.Helper()
	r := h.Do(t, method, path, key, body, header...)
	if r.Status == 0 {
		t.FailNow()
	}
	h.checkResponse(t, r)
	return r
}

// checkResponse holds every answer to the document (its status is
// documented for the route and its body has the documented shape) and
// every error to the problem+json shape.
func (h *harness) checkResponse(t testing.TB, r *response) {
	t.Helper()
	if r.Status >= 400 {
		checkProblem(t, r)
	}
	checkDocumented(t, h.Server, r)
}

// checkProblem checks that r is an RFC 9457 problem with Doorstep's code.
func checkProblem(t testing.TB, r *response) api.Problem {
	t.Helper()
	if mt := mediaType(r); mt != "application/problem+json" {
		t.Errorf("%s %s: %d with Content-Type %q, want application/problem+json; body %s", r.Method, r.Path, r.Status, mt, r.Body)
		return api.Problem{}
	}
	var raw map[string]any
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Errorf("%s %s: problem body %q: %v", r.Method, r.Path, r.Body, err)
		return api.Problem{}
	}
	for _, k := range []string{"type", "title", "status", "code"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("%s %s: problem lacks %q: %s", r.Method, r.Path, k, r.Body)
		}
	}
	var p api.Problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Errorf("%s %s: problem body: %v", r.Method, r.Path, err)
	}
	if p.Status != r.Status {
		t.Errorf("%s %s: problem status %d, HTTP status %d", r.Method, r.Path, p.Status, r.Status)
	}
	if want := "https://doorstep.dev/problems/" + p.Code; p.Type != want {
		t.Errorf("%s %s: problem type %q, want %q", r.Method, r.Path, p.Type, want)
	}
	if want := http.StatusText(r.Status); p.Title != want {
		t.Errorf("%s %s: problem title %q, want %q", r.Method, r.Path, p.Title, want)
	}
	return p
}

// wantProblem checks that r is a problem with status, code and field.
func wantProblem(t testing.TB, r *response, status int, code, field string) api.Problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Method, r.Path, r.Status, status, r.Body)
	}
	p := checkProblem(t, r)
	if p.Code != code {
		t.Errorf("%s %s: code %q, want %q; body %s", r.Method, r.Path, p.Code, code, r.Body)
	}
	if p.Field != field {
		t.Errorf("%s %s: field %q, want %q; body %s", r.Method, r.Path, p.Field, field, r.Body)
	}
	return p
}

// wantStatus fails the test unless r has status.
func wantStatus(t testing.TB, r *response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.Method, r.Path, r.Status, status, r.Body)
	}
}

func mediaType(r *response) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

// decodeBody decodes r's JSON body strictly into a T.
func decodeBody[T any](t testing.TB, r *response) T {
	t.Helper()
	return apitest.Decode[T](t, r)
}

// booking is a booking on the wire.
type booking struct {
	ID          string                  `json:"id"`
	WorkerID    string                  `json:"worker_id"`
	Service     string                  `json:"service"`
	Urgency     doorstep.Urgency        `json:"urgency"`
	RequestedAt time.Time               `json:"requested_at"`
	Deadline    time.Time               `json:"deadline"`
	Rule        string                  `json:"rule"`
	Start       time.Time               `json:"start"`
	End         time.Time               `json:"end"`
	Arrival     time.Time               `json:"arrival"`
	Status      string                  `json:"status"`
	Window      *doorstep.Window        `json:"window,omitempty"`
	CustomerID  string                  `json:"customer_id,omitempty"`
	SeriesID    string                  `json:"series_id,omitempty"`
	Version     int64                   `json:"version"`
	UpdatedAt   time.Time               `json:"updated_at,omitzero"`
	LastChange  *doorstep.BookingChange `json:"last_change,omitempty"`
	AtRisk      *doorstep.AtRisk        `json:"at_risk,omitempty"`
	Progress    *doorstep.Progress      `json:"progress,omitempty"`
	Price       *doorstep.Price         `json:"price,omitempty"`
	Rescue      *rescue                 `json:"rescue,omitempty"`
	Moves       []rescue                `json:"moves,omitempty"`
}

// workerChanged is the answer to a worker's PUT or absence.
type workerChanged struct {
	doorstep.Worker
	Replanned *replanned `json:"replanned"`
}

// replanned is what a worker's change did to its bookings.
type replanned struct {
	Moved    int `json:"moved"`
	AtRisk   int `json:"at_risk"`
	Restored int `json:"restored"`
}

type rescue struct {
	MovedBookingID  string    `json:"moved_booking_id,omitempty"`
	MovedBookingRef string    `json:"moved_booking_ref"`
	FromWorker      string    `json:"from_worker"`
	ToWorker        string    `json:"to_worker"`
	OldStart        time.Time `json:"old_start"`
	NewStart        time.Time `json:"new_start"`
}

// series is a booked recurring series on the wire.
type series struct {
	SeriesID string    `json:"series_id"`
	Bookings []booking `json:"bookings"`
	Missed   []struct {
		Occurrence int             `json:"occurrence"`
		Window     doorstep.Window `json:"window"`
		Reason     string          `json:"reason"`
		At         time.Time       `json:"at"`
		Rolled     bool            `json:"rolled"`
	} `json:"missed"`
	Total     int       `json:"total"`
	Pending   int       `json:"pending"`
	NextAt    time.Time `json:"next_at"`
	RRule     string    `json:"rrule"`
	TimeZone  string    `json:"time_zone"`
	Cancelled bool      `json:"cancelled"`
}

type bookingList struct {
	Bookings []booking `json:"bookings"`
}

// option and match are a match answer on the wire.
type option struct {
	WorkerID      string             `json:"worker_id"`
	Start         time.Time          `json:"start"`
	End           time.Time          `json:"end"`
	Arrival       time.Time          `json:"arrival"`
	TravelMinutes float64            `json:"travel_minutes"`
	DistanceKm    float64            `json:"distance_km"`
	Cost          float64            `json:"cost"`
	Breakdown     map[string]float64 `json:"breakdown"`
	Price         *doorstep.Price    `json:"price,omitempty"`
}

type match struct {
	Options    []option       `json:"options"`
	Deadline   time.Time      `json:"deadline"`
	Rule       string         `json:"rule"`
	Considered int            `json:"considered"`
	Rejected   map[string]int `json:"rejected"`
	Outranked  int            `json:"outranked"`
}

// mustPutWorker creates or replaces w with the ops key.
func (h *harness) mustPutWorker(t testing.TB, w doorstep.Worker) {
	t.Helper()
	r := h.do(t, http.MethodPut, "/v1/workers/"+w.ID, keyOps, w)
	if r.Status != http.StatusCreated && r.Status != http.StatusOK {
		t.Fatalf("put worker %s: status %d: %s", w.ID, r.Status, r.Body)
	}
}

// mustBook books req with key and returns the booking.
func (h *harness) mustBook(t testing.TB, key string, req map[string]any, header ...string) booking {
	t.Helper()
	r := h.do(t, http.MethodPost, "/v1/bookings", key, req, header...)
	wantStatus(t, r, http.StatusCreated)
	return decodeBody[booking](t, r)
}

// mustTimeline returns worker id's bookings in [from, to).
func (h *harness) mustTimeline(t testing.TB, id string) []booking {
	t.Helper()
	r := h.do(t, http.MethodGet, "/v1/workers/"+id+"/bookings?from="+at(0, 0).Format(time.RFC3339)+"&to="+at(0, 0).Add(48*time.Hour).Format(time.RFC3339), keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	return decodeBody[bookingList](t, r).Bookings
}

// cleaning returns a normal cleaning request at loc.
func cleaning(loc doorstep.Location) map[string]any {
	return map[string]any{"service": "cleaning", "urgency": "normal", "location": loc}
}

// with returns a copy of m with the given key, value pairs set.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// without returns a copy of m without keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := with(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
