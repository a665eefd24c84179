package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/internal/apitest"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// clock is a settable clock for a server, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// options change what newStoreHarness wires; the zero value is
// newHarness's server.
type options struct {
	// Observer wraps the metrics as the dispatch service's observer.
	Observer func(*api.Metrics) dispatch.Observer
	// AuditRetention and Limits are api.Config's.
	AuditRetention int64
	Limits         api.Limits
}

// storeHarness is a harness that also holds the server's store, its clock
// and a Redis client of its own that sees the keyspace as it is.
type storeHarness struct {
	*harness
	Store *store.Store
	Clock *clock
	RDB   *redis.Client
}

// newStoreHarness is newHarness with a settable clock (at now) and the
// store and Redis in reach.
func newStoreHarness(tb testing.TB, keys string, opt options) *storeHarness {
	tb.Helper()
	clk := &clock{t: now}
	o := harnessOptions(keys, clk.Now, func(c *api.Config) { c.AuditRetention, c.Limits = opt.AuditRetention, opt.Limits })
	o.Observer = opt.Observer
	h := apitest.New(tb, o)
	rdb := redis.NewClient(&redis.Options{Addr: h.Redis.Addr})
	tb.Cleanup(func() { rdb.Close() })
	return &storeHarness{harness: &harness{h}, Store: h.Store, Clock: clk, RDB: rdb}
}

// auditStream is the key of the audit log, which records refused attempts
// too (see TestFuzz...: it is left out of "a 4xx writes nothing").
const auditStream = "dst:audit"

// dump is storetest.Dump of the harness's Redis, once the store's writes
// behind the requests landed.
func (h *storeHarness) dump(tb testing.TB, skip ...string) map[string]string {
	tb.Helper()
	if err := h.Store.Flush(); err != nil {
		tb.Fatal(err)
	}
	return storetest.Dump(tb, h.RDB, skip...)
}

// digest is a short fingerprint of a dump, for "nothing was written".
func digest(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s%d:%s", len(k), k, len(d[k]), d[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// diffDumps describes how two dumps differ, key by key.
func diffDumps(before, after map[string]string) string {
	var b strings.Builder
	for k, v := range after {
		if old, ok := before[k]; !ok {
			fmt.Fprintf(&b, "  + %s = %.200q\n", k, v)
		} else if old != v {
			fmt.Fprintf(&b, "  ~ %s = %.200q (was %.200q)\n", k, v, old)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			fmt.Fprintf(&b, "  - %s\n", k)
		}
	}
	return b.String()
}

// place returns an exact household place within a few kilometres of
// base, with as many decimals as a geocoder gives; places of different i
// differ in the third decimal of both coordinates.
func place(i int) doorstep.Location {
	l := offset(base, 0.137*float64(i)-1.43, 1.13-0.173*float64(i))
	return doorstep.Location{Lat: l.Lat + 1.234567e-6*float64(i+1), Lng: l.Lng + 7.654321e-6*float64(i+1)}
}

// mustStored reads booking id from the store, location and all.
func (h *storeHarness) mustStored(tb testing.TB, id string) *doorstep.Booking {
	tb.Helper()
	b, err := h.Store.GetBooking(tb.Context(), id)
	if err != nil {
		tb.Fatalf("GetBooking(%s): %v", id, err)
	}
	return b
}

// wantReduced checks that booking id holds the cell of exact and the
// cell's centre instead of exact.
func (h *storeHarness) wantReduced(tb testing.TB, id string, exact doorstep.Location) {
	tb.Helper()
	b := h.mustStored(tb, id)
	c := geo.CellOf(exact, doorstep.PrivacyResolution)
	if b.Cell != c.String() || b.Location != c.Center() {
		tb.Errorf("booking %s: cell %q at %v; want %s at its centre %v", id, b.Cell, b.Location, c, c.Center())
	}
}

// TestPrivacyRedaction runs a day through the API on a fixed clock, runs
// the redaction the server runs in a loop, and then reads every key and
// value of Redis: no finished or cancelled booking's exact place is left,
// while the bookings still ahead keep theirs (their workers' travel is
// planned from it).
func TestPrivacyRedaction(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	for i := range 4 {
		w := newWorker(fmt.Sprintf("w-%d", i), offset(base, float64(i)-1.5, 0.5), "cleaning", "gardening")
		w.Shifts = append(w.Shifts, doorstep.Shift{Start: at(8, 0).AddDate(0, 0, 1), End: at(18, 0).AddDate(0, 0, 1)})
		h.mustPutWorker(t, w)
	}
	type job struct {
		name   string
		body   map[string]any
		header []string
		b      booking
		loc    doorstep.Location
	}
	window := func(from, to int) doorstep.Window { return doorstep.Window{Start: at(from, 0), End: at(to, 0)} }
	jobs := []*job{
		{name: "urgent, over by noon", body: map[string]any{"service": "cleaning", "urgency": "urgent", "duration_minutes": 60}},
		{name: "morning, over by noon", body: with(cleaning(base), "window", window(9, 10), "duration_minutes", 90, "customer_id", "cust-a")},
		{name: "series, first over by noon", body: with(cleaning(base), "window", window(10, 11), "duration_minutes", 60,
			"customer_id", "cust-b", "recurrence", map[string]int{"interval_days": 1, "count": 2})},
		{name: "cancelled", body: with(cleaning(base), "window", window(15, 16), "customer_id", "cust-c")},
		{name: "afternoon", body: with(cleaning(base), "window", window(14, 15), "customer_id", "cust-d"), header: []string{"Idempotency-Key", "k-afternoon"}},
		{name: "evening", body: map[string]any{"service": "gardening", "urgency": "normal", "window": window(16, 17)}},
	}
	var ser series
	for i, j := range jobs {
		j.loc = place(i)
		j.body["location"] = j.loc
		r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, j.body, j.header...)
		wantStatus(t, r, http.StatusCreated)
		if _, ok := j.body["recurrence"]; ok {
			ser = decodeBody[series](t, r)
			if len(ser.Bookings) != 2 {
				t.Fatalf("series: %s", r.Body)
			}
			j.b = ser.Bookings[0]
			continue
		}
		j.b = decodeBody[booking](t, r)
	}
	wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings/"+jobs[3].b.ID+"/cancel", keyBooking, nil), http.StatusOK)

	// Noon: the first three are over, one is cancelled, the rest are ahead.
	h.Clock.Set(at(12, 0))
	for _, j := range jobs[:3] {
		if !j.b.End.Before(h.Clock.Now()) {
			t.Fatalf("%s ends at %s, after noon: the fixture is wrong", j.name, j.b.End)
		}
	}
	n, err := h.Store.RedactFinished(t.Context(), h.Clock.Now())
	if err != nil || n != 4 {
		t.Fatalf("RedactFinished = %d, %v; want 4", n, err)
	}
	dump := h.dump(t)
	for _, j := range jobs[:4] {
		h.wantReduced(t, j.b.ID, j.loc)
		for _, needle := range storetest.CoordNeedles(j.loc) {
			// The series' next occurrence, tomorrow, is at the same place.
			keys := slices.DeleteFunc(storetest.FindIn(dump, needle), func(k string) bool { return strings.HasSuffix(k, ":b:"+ser.Bookings[1].ID) })
			if len(keys) > 0 {
				t.Errorf("%s: its exact place (%s) is still stored, in %v", j.name, needle, keys)
			}
		}
	}
	// Ahead: the exact place is kept, where it is needed; the second
	// occurrence of the series, tomorrow, is ahead too.
	ahead := map[string]doorstep.Location{jobs[4].b.ID: jobs[4].loc, jobs[5].b.ID: jobs[5].loc, ser.Bookings[1].ID: jobs[2].loc}
	for id, loc := range ahead {
		b := h.mustStored(t, id)
		if b.Cell != "" || b.Location != loc {
			t.Errorf("booking %s, ahead: cell %q at %v; want its exact place %v", id, b.Cell, b.Location, loc)
		}
	}
	for _, j := range jobs[4:] {
		if keys := storetest.FindIn(dump, strconv.FormatFloat(j.loc.Lat, 'f', -1, 64)); len(keys) == 0 {
			t.Errorf("%s: its exact place is nowhere in Redis, but the booking needs it", j.name)
		}
	}
	// Redaction frees no slot: the timelines hold every confirmed booking,
	// finished or ahead, and only those.
	var onTimelines []string
	for _, w := range []string{"w-0", "w-1", "w-2", "w-3"} {
		for _, b := range h.mustTimeline(t, w) {
			onTimelines = append(onTimelines, b.ID)
		}
	}
	want := []string{jobs[0].b.ID, jobs[1].b.ID, ser.Bookings[0].ID, ser.Bookings[1].ID, jobs[4].b.ID, jobs[5].b.ID}
	slices.Sort(onTimelines)
	slices.Sort(want)
	if diff := cmp.Diff(onTimelines, want); diff != "" {
		t.Errorf("bookings on the timelines after redaction (-got +want):\n%s", diff)
	}
}

// TestPrivacyRefusesPersonalFields: a request carrying a name, a phone or
// an address, anywhere, is refused, naming the field, and writes nothing
// (not even an audit event: it never reaches a booking).
func TestPrivacyRefusesPersonalFields(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	h.mustPutWorker(t, newWorker("w-1", base))
	h.mustBook(t, keyBooking, cleaning(base)) // something in every kind of key
	req := with(cleaning(place(1)), "customer_id", "cust-1")
	tests := []struct {
		name, path, key string
		body            any
		field           string
	}{
		{"name", "/v1/bookings", keyBooking, with(req, "name", "Erika Mustermann"), "name"},
		{"phone", "/v1/bookings", keyBooking, with(req, "phone", "+49 30 1234567"), "phone"},
		{"address", "/v1/bookings", keyBooking, with(req, "address", "Unter den Linden 1, Berlin"), "address"},
		{"address in location", "/v1/bookings", keyBooking,
			with(req, "location", map[string]any{"lat": 52.5, "lng": 13.4, "address": "Unter den Linden 1"}), "location.address"},
		{"customer object", "/v1/bookings", keyBooking, with(req, "customer", map[string]any{"name": "Erika"}), "customer"},
		{"email", "/v1/bookings", keyBooking, with(req, "email", "erika@example.com"), "email"},
		{"series with a name", "/v1/bookings", keyBooking,
			with(req, "window", doorstep.Window{Start: at(10, 0), End: at(11, 0)}, "recurrence", map[string]any{"interval_days": 1, "count": 2, "name": "Erika"}), "recurrence.name"},
		{"quote", "/v1/match", keyBooking, with(req, "phone", "+49 30 1234567"), "phone"},
		{"batch", "/v1/assign", keyOps, map[string]any{"commit": true, "requests": []any{with(req, "id", "r-1", "address", "Unter den Linden 1")}}, "requests[0].address"},
	}
	for _, tt := range tests {
		for _, idem := range []string{"", "k-" + tt.name} {
			before := h.dump(t)
			var header []string
			if idem != "" {
				header = []string{"Idempotency-Key", idem}
			}
			r := h.do(t, http.MethodPost, tt.path, tt.key, tt.body, header...)
			wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, tt.field)
			if after := h.dump(t); digest(after) != digest(before) {
				t.Errorf("%s (Idempotency-Key %q): a refused request wrote:\n%s", tt.name, idem, diffDumps(before, after))
			}
		}
	}
}

// TestEraseCustomer erases a customer through the API: the upcoming
// bookings are cancelled, every booking loses the customer id and exact
// place, the remembered last worker, the idempotency answers and the
// series records naming the customer are gone, another customer keeps
// everything, ops keys may not do it, and the erasure is audited. (The
// admin erases; TestCrossTenantCustomer erases as a booking system.)
func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	tenant := keyIDs(t)[keyBooking]
	for i := range 3 {
		w := newWorker(fmt.Sprintf("w-%d", i), offset(base, float64(i)-1, 0.3))
		w.Shifts = append(w.Shifts, doorstep.Shift{Start: at(8, 0).AddDate(0, 0, 1), End: at(18, 0).AddDate(0, 0, 1)})
		h.mustPutWorker(t, w)
	}
	const gone, kept = "cust-erase-1", "cust-keep-2"
	window := func(from, to int) doorstep.Window { return doorstep.Window{Start: at(from, 0), End: at(to, 0)} }
	book := func(cust string, i int, extra ...any) (*response, doorstep.Location) {
		loc := place(i)
		body := with(with(cleaning(loc), "customer_id", cust, "duration_minutes", 60), extra...)
		r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, body, "Idempotency-Key", fmt.Sprintf("k-%s-%d", cust, i))
		wantStatus(t, r, http.StatusCreated)
		return r, loc
	}
	type placed struct {
		b   booking
		loc doorstep.Location
	}
	var mine, theirs []placed
	for i, w := range []doorstep.Window{window(9, 10), window(13, 14)} {
		r, loc := book(gone, i, "window", w)
		mine = append(mine, placed{decodeBody[booking](t, r), loc})
		r, loc = book(kept, 10+i, "window", w)
		theirs = append(theirs, placed{decodeBody[booking](t, r), loc})
	}
	r, loc := book(gone, 2, "window", window(15, 16), "recurrence", map[string]int{"interval_days": 1, "count": 2})
	goneSeries := decodeBody[series](t, r)
	for _, b := range goneSeries.Bookings {
		mine = append(mine, placed{b, loc})
	}
	r, loc = book(kept, 12, "window", window(15, 16), "recurrence", map[string]int{"interval_days": 1, "count": 2})
	keptSeries := decodeBody[series](t, r)
	for _, b := range keptSeries.Bookings {
		theirs = append(theirs, placed{b, loc})
	}
	h.Clock.Set(at(11, 0)) // the first booking of each is over

	// Ops keys do not erase; a refusal writes nothing.
	before := h.dump(t)
	wantProblem(t, h.do(t, http.MethodDelete, "/v1/customers/"+gone, keyOps, nil), http.StatusForbidden, doorstep.EFORBIDDEN, "")
	wantProblem(t, h.do(t, http.MethodDelete, "/v1/customers/"+gone, "", nil), http.StatusUnauthorized, doorstep.EUNAUTHORIZED, "")
	wantProblem(t, h.do(t, http.MethodDelete, "/v1/customers/not%20an%20id", keyAdmin, nil), http.StatusBadRequest, doorstep.EINVALID, "id")
	if after := h.dump(t); digest(after) != digest(before) {
		t.Errorf("refused erasures wrote:\n%s", diffDumps(before, after))
	}
	lastKept, err := h.Store.LastWorker(t.Context(), tenant, kept)
	if err != nil || lastKept == "" {
		t.Fatalf("LastWorker(%s) = %q, %v", kept, lastKept, err)
	}
	keptStored := map[string]*doorstep.Booking{}
	for _, p := range theirs {
		keptStored[p.b.ID] = h.mustStored(t, p.b.ID)
	}

	r = h.do(t, http.MethodDelete, "/v1/customers/"+gone, keyAdmin, nil)
	wantStatus(t, r, http.StatusOK)
	if got := decodeBody[struct {
		N int `json:"bookings_erased"`
	}](t, r).N; got != len(mine) {
		t.Errorf("bookings_erased = %d, want %d", got, len(mine))
	}

	// Upcoming bookings are cancelled (and off the timelines), the one that
	// is over stays; all lost the customer id and the exact place.
	for i, p := range mine {
		b := h.mustStored(t, p.b.ID)
		wantStatus := doorstep.StatusCancelled
		if i == 0 {
			wantStatus = doorstep.StatusConfirmed
		}
		if b.Status != wantStatus || b.CustomerID != "" {
			t.Errorf("erased booking %d: status %s, customer %q; want %s and none", i, b.Status, b.CustomerID, wantStatus)
		}
		h.wantReduced(t, p.b.ID, p.loc)
		for _, tb := range h.mustTimeline(t, p.b.WorkerID) {
			if tb.ID == p.b.ID && i > 0 {
				t.Errorf("erased booking %d is still on %s's timeline", i, p.b.WorkerID)
			}
		}
	}
	if last, err := h.Store.LastWorker(t.Context(), tenant, gone); err != nil || last != "" {
		t.Errorf("LastWorker(%s) = %q, %v; want forgotten", gone, last, err)
	}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/series/"+goneSeries.SeriesID+"/cancel", keyBooking, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
	dump := h.dump(t)
	if keys := storetest.FindIn(dump, gone); len(keys) > 0 {
		t.Errorf("customer id %s is still stored, in %v", gone, keys)
	}
	for _, p := range mine {
		for _, needle := range storetest.CoordNeedles(p.loc) {
			if keys := storetest.FindIn(dump, needle); len(keys) > 0 {
				t.Errorf("booking %s: its exact place (%s) is still stored, in %v", p.b.ID, needle, keys)
			}
		}
	}

	// The other customer keeps everything: bookings, last worker, series,
	// idempotency answers (a retry replays).
	for _, p := range theirs {
		if diff := cmp.Diff(h.mustStored(t, p.b.ID), keptStored[p.b.ID]); diff != "" {
			t.Errorf("%s's booking changed (-got +want):\n%s", kept, diff)
		}
	}
	if last, err := h.Store.LastWorker(t.Context(), tenant, kept); err != nil || last != lastKept {
		t.Errorf("LastWorker(%s) = %q, %v; want %q", kept, last, err, lastKept)
	}
	replay := h.do(t, http.MethodPost, "/v1/bookings", keyBooking,
		with(with(cleaning(place(10)), "customer_id", kept, "duration_minutes", 60), "window", window(9, 10)), "Idempotency-Key", "k-"+kept+"-10")
	wantStatus(t, replay, http.StatusCreated)
	if replay.Header.Get("Idempotent-Replayed") != "true" || decodeBody[booking](t, replay).ID != theirs[0].b.ID {
		t.Errorf("%s's retry was not replayed: %s", kept, replay.Body)
	}
	r = h.do(t, http.MethodPost, "/v1/series/"+keptSeries.SeriesID+"/cancel", keyBooking, nil)
	wantStatus(t, r, http.StatusOK)

	// One audit event, by the admin, naming nobody.
	r = h.do(t, http.MethodGet, "/v1/audit?limit=1000", keyAdmin, nil)
	wantStatus(t, r, http.StatusOK)
	var erased, cancelled []auditEvent
	for _, e := range decodeBody[auditLog](t, r).Events {
		switch {
		case e.Action == "erase_customer":
			erased = append(erased, e)
		case e.Action == "cancel" && e.Role == "admin":
			cancelled = append(cancelled, e)
		}
	}
	// Each upcoming booking the erasure cancelled is a cancel event too.
	if len(cancelled) == 0 {
		t.Errorf("erasure cancelled upcoming bookings but logged no cancel event")
	}
	for _, e := range cancelled {
		if e.BookingID == "" || e.Result != "ok" {
			t.Errorf("erasure's cancel event %+v: want a booking id and ok", e)
		}
	}
	if len(erased) != 1 || erased[0].Result != "ok" || erased[0].Role != "admin" || erased[0].BookingID != "" || erased[0].KeyID == "" {
		t.Errorf("erase events: %+v; want one, ok, by the admin", erased)
	}
	if strings.Contains(string(r.Body), gone) {
		t.Errorf("the audit log names the erased customer: %s", r.Body)
	}

	// Erasing again, or a customer never seen, erases nothing.
	for _, id := range []string{gone, "cust-never"} {
		r := h.do(t, http.MethodDelete, "/v1/customers/"+id, keyAdmin, nil)
		wantStatus(t, r, http.StatusOK)
		if string(r.Body) != `{"bookings_erased":0}`+"\n" {
			t.Errorf("erase %s: %s", id, r.Body)
		}
	}
}
