package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/schedule"
)

// The fuzz targets send their input through the real handlers, on a real
// redis-server started once per target, and hold every answer to:
//
//   - never a 5xx (nor a panic, nor a hang: the client gives up after 5 s);
//   - every answer is documented and every error is problem+json (h.do);
//   - a 4xx writes nothing to Redis: the keyspace (every key and value,
//     read by type) is the same before and after. The audit stream is left
//     out: the audit log records refused attempts on purpose (a create that
//     dispatch refuses is an event with result "invalid" or "unservable");
//   - a success is really stored (and, for a booking, its worker's day
//     still passes schedule.Verify); the state is then reset, so that every
//     input meets the same server.
//
// Fuzz one target per -fuzz (golang/go#75804), with a count budget:
//
//	go test -run '^$' -fuzz '^FuzzBooking$' -fuzztime=2000x ./api/

// fuzzHarness is the server of a fuzz target, with one worker.
type fuzzHarness struct {
	*storeHarness
	worker doorstep.Worker
}

func newFuzzHarness(f *testing.F) *fuzzHarness {
	h := &fuzzHarness{
		storeHarness: newStoreHarness(f, allKeys, options{Limits: api.Limits{RatePerKey: -1}}),
		worker:       newWorker("w-1", base, "cleaning", "plumbing"),
	}
	h.reset(f)
	return h
}

// reset empties Redis and puts the worker back.
func (h *fuzzHarness) reset(tb testing.TB) {
	tb.Helper()
	// What the requests left behind lands first, not into the emptied
	// store.
	if err := h.Store.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := h.RDB.FlushDB(tb.Context()).Err(); err != nil {
		tb.Fatalf("FLUSHDB: %v", err)
	}
	w := h.worker
	if _, err := h.Store.PutWorker(tb.Context(), &w); err != nil {
		tb.Fatalf("PutWorker: %v", err)
	}
}

// send sends body and holds the answer to the properties above but the
// last, which is the caller's.
func (h *fuzzHarness) send(t *testing.T, method, path, key, body string, header ...string) *response {
	t.Helper()
	before := h.dump(t, auditStream)
	r := h.do(t, method, path, key, body, header...)
	if r.Status >= 500 {
		t.Fatalf("%s %s %q: %d %s", method, path, body, r.Status, r.Body)
	}
	if r.Status >= 400 {
		if after := h.dump(t, auditStream); digest(after) != digest(before) {
			t.Fatalf("%s %s %q: %d, and it wrote:\n%s", method, path, body, r.Status, diffDumps(before, after))
		}
	}
	return r
}

// headerSafe drops the control characters an HTTP client refuses to send.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// FuzzBooking fuzzes POST /v1/bookings, with and without an
// Idempotency-Key: a 201 booked what it answered.
func FuzzBooking(f *testing.F) {
	h := newFuzzHarness(f)
	for i, s := range api.RequestSeeds {
		f.Add(s, "")
		if i%3 == 0 {
			f.Add(s, "k-1")
		}
	}
	f.Add(api.RequestSeeds[0], strings.Repeat("k", 256))
	f.Fuzz(func(t *testing.T, body, idem string) {
		idem = headerSafe(idem)
		var header []string
		if idem != "" {
			header = []string{"Idempotency-Key", idem}
		}
		r := h.send(t, http.MethodPost, "/v1/bookings", keyBooking, body, header...)
		if r.Status != http.StatusCreated {
			return
		}
		var out struct {
			ID       string    `json:"id"`
			SeriesID string    `json:"series_id"`
			Bookings []booking `json:"bookings"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatalf("201 body %s: %v", r.Body, err)
		}
		ids := []string{out.ID}
		if out.SeriesID != "" {
			ids = ids[:0]
			for _, b := range out.Bookings {
				ids = append(ids, b.ID)
			}
		}
		for _, id := range ids {
			if b, err := h.Store.GetBooking(t.Context(), id); err != nil || b.Status != doorstep.StatusConfirmed {
				t.Fatalf("201 for %q, but booking %s is %v, %v", body, id, b, err)
			}
		}
		h.verifyDay(t)
		h.reset(t)
	})
}

// verifyDay checks the worker's timeline against every hard rule.
func (h *fuzzHarness) verifyDay(t *testing.T) {
	t.Helper()
	w, _, err := h.Store.GetWorker(t.Context(), h.worker.ID)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := h.Store.WorkerBookings(t.Context(), w.ID, now.Add(-48*time.Hour), now.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := schedule.Verify(w, schedule.TimelineOf(bs), geo.Linear{}); err != nil {
		t.Fatalf("after a booking, the worker's day breaks a rule: %v", err)
	}
}

// FuzzMatch fuzzes POST /v1/match, which reserves nothing: whatever the
// answer, nothing is written.
func FuzzMatch(f *testing.F) {
	h := newFuzzHarness(f)
	for _, s := range api.RequestSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		before := h.dump(t)
		r := h.send(t, http.MethodPost, "/v1/match", keyBooking, body)
		if after := h.dump(t); digest(after) != digest(before) {
			t.Fatalf("a quote (%d) wrote:\n%s", r.Status, diffDumps(before, after))
		}
	})
}

// FuzzPutWorker fuzzes PUT /v1/workers/{id}: a 200 or 201 stored a worker
// that reads back.
func FuzzPutWorker(f *testing.F) {
	h := newFuzzHarness(f)
	seeds := []struct{ id, body string }{
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z"}],"rating":4.5}`},
		{"w-1", `{"id":"w-1","skills":["plumbing"],"certificates":["gas"],"home":{"lat":52.5,"lng":13.4},"location":{"lat":52.51,"lng":13.41},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","breaks":[{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z"}]}],"rating":5,"max_jobs_per_day":4,"max_work_minutes_per_day":480}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","breaks":[{"earliest":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30},{"start":"2026-11-23T15:00:00Z","end":"2026-11-23T15:15:00Z"}]}],"rating":4.5}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","breaks":[{"start":"2026-11-23T11:00:00Z","latest":"2026-11-23T14:00:00Z","minutes":30}]}],"rating":4.5}`},
		{"w-2", `{"id":"w-3","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[],"rating":4.5}`},
		{"w-2", `{"id":"w-2","skills":[],"home":{"lat":52.52,"lng":13.405},"shifts":[],"rating":4.5}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":95,"lng":13.405},"shifts":[],"rating":4.5}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T18:00:00Z","end":"2026-11-23T08:00:00Z"}],"rating":4.5}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-25T08:00:00Z"}],"rating":4.5}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[],"rating":6}`},
		{"w-2", `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[],"rating":4.5,"name":"Max"}`},
		{"w-2", `{"id":"w-2","id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[]}`},
		{"w 2", `{"id":"w 2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[]}`},
		{"w-2", `{"id":"w-2","skills":["cleaning" "x"],"home":{"lat":52.52,"lng":13.405}}`},
		{strings.Repeat("w", 65), `{}`},
		{"w-2", strings.Repeat(`{"a":`, 40)},
	}
	for _, s := range seeds {
		f.Add(s.id, s.body)
	}
	f.Fuzz(func(t *testing.T, id, body string) {
		path := "/v1/workers/" + url.PathEscape(id)
		r := h.send(t, http.MethodPut, path, keyOps, body)
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			return
		}
		got := h.do(t, http.MethodGet, path, keyOps, nil)
		if got.Status != http.StatusOK {
			t.Fatalf("PUT %s answered %d, GET answers %d %s", path, r.Status, got.Status, got.Body)
		}
		h.reset(t)
	})
}

// TestHostileJSON: bodies that once hung the decoder or made it recurse a
// million frames deep are refused promptly (the client's 5 s timeout would
// fail the test on a hang).
func TestHostileJSON(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{})
	tests := []struct {
		name, body, field string
	}{
		{"array without commas", `[1 2]`, "body"},
		{"skills without commas", `{"service":"cleaning","skills":["a" "b"],"urgency":"normal","location":{"lat":52.52,"lng":13.405}}`, "body"},
		{"colon in an array", `{"skills":["x":1]}`, "body"},
		{"a MiB of [", `{"skills":` + strings.Repeat("[", api.MaxBodyBytes-20) + `}`, "skills" + strings.Repeat("[0]", 31)},
		{"deep objects", "[" + strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000) + "]", "[0]" + strings.Repeat(".a", 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Now()
			r := h.do(t, http.MethodPost, "/v1/bookings", keyBooking, tt.body)
			wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, tt.field)
			// A generous bound (the answer takes milliseconds): it catches a
			// decoder that goes quadratic on these bodies (minutes), not a
			// slow answer on a loaded machine under -race.
			if d := time.Since(t0); d > 10*time.Second {
				t.Errorf("answered after %v", d)
			}
		})
	}
}

// FuzzImportWorkers fuzzes POST /v1/workers/import as NDJSON and as a JSON
// array: a 200 wrote as many workers as it counted, a 4xx wrote nothing.
func FuzzImportWorkers(f *testing.F) {
	h := newFuzzHarness(f)
	good := `{"id":"w-2","skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z"}],"rating":4.5}`
	other := `{"id":"w-3","skills":["plumbing"],"home":{"lat":48.137,"lng":11.575},"rating":5}`
	for _, s := range []struct {
		body  string
		array bool
	}{
		{good + "\n" + other + "\n", false},
		{"[" + good + ",\n" + other + "]", true},
		{good + "\n\r\n" + `{"id":"w-1","skills":["cleaning"],"home":{"lat":48.137,"lng":11.575}}`, false},
		{good + "\n" + good, false},
		{good + "\n" + `{"id":"w-4","skills":["astrology"],"home":{"lat":52.52,"lng":13.405}}`, false},
		{good + "\n" + `{"id":"w-4","skills":["cleaning"]}`, false},
		{good + "\n" + `{"id":"w-4",`, false},
		{"[" + good + "," + good + "]", true},
		{"[" + good + "] x", true},
		{"[" + good, true},
		{"[1 2]", true},
		{"[]", true},
		{"{}", true},
		{"", false},
		{"\n\n", false},
		{"null\n", false},
		{strings.Repeat("[", 20000), true},
		{strings.Repeat("[", 20000), false},
		{`{"id":"w-2","skills":` + strings.Repeat("[", 100) + `}`, false},
	} {
		f.Add(s.body, s.array)
	}
	f.Fuzz(func(t *testing.T, body string, array bool) {
		ctype := "application/x-ndjson"
		if array {
			ctype = "application/json"
		}
		r := h.send(t, http.MethodPost, "/v1/workers/import", keyOps, body, "Content-Type", ctype)
		if r.Status != http.StatusOK {
			return
		}
		res := decodeBody[importResult](t, r)
		page := decodeBody[workerPage](t, h.do(t, http.MethodGet, "/v1/workers?limit=1000", keyOps, nil))
		if want := 1 + res.Created; len(page.Workers) != want {
			t.Fatalf("import %q answered %+v; %d workers listed, want %d", body, res, len(page.Workers), want)
		}
		h.reset(t)
	})
}
