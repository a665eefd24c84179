package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep/api"
)

// reject is one malformed request of TestRejectsWriteNothing. field, when
// set, is the field its 400 must name (every 400 must name one).
type reject struct {
	name, method, path, key string
	body                    *string // nil: none
	header                  []string
	field                   string
}

// sub returns s with its first old replaced by new; old must be there, so
// that a row says what it changes.
func sub(tb testing.TB, s, old, new string) string {
	tb.Helper()
	if !strings.Contains(s, old) {
		tb.Fatalf("sub: %q not in %s", old, s)
	}
	return strings.Replace(s, old, new, 1)
}

func ptr(s string) *string { return &s }

// firstKey finds the first key of a JSON object.
var firstKey = regexp.MustCompile(`^\{\s*"([^"]+)"`)

// The valid bodies the table breaks, one per route that takes a body.
// TestRejectsWriteNothing sends each as is at the end: the table's
// requests are refused for what their rows change, not by accident.
const (
	rjWorker     = `{"skills":["cleaning","plumbing"],"home":{"lat":52.52,"lng":13.405},"shifts":[{"start":"2026-11-23T08:00:00Z","end":"2026-11-23T18:00:00Z","breaks":[{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T12:30:00Z"}]}],"rating":4.5,"max_jobs_per_day":8}`
	rjLocation   = `{"lat":52.53,"lng":13.41,"at":"2026-11-23T07:59:00Z"}`
	rjRequest    = `{"service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T12:00:00Z","end":"2026-11-23T13:00:00Z"},"skills":["cleaning"],"customer_id":"cust-1","duration_minutes":60}`
	rjReschedule = `{"window":{"start":"2026-11-23T14:00:00Z","end":"2026-11-23T15:00:00Z"}}`
	rjAssign     = `{"requests":[{"id":"r-1","service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405},"window":{"start":"2026-11-23T15:00:00Z","end":"2026-11-23T16:00:00Z"}}],"commit":true}`
)

// bodyRoute is a route that takes a JSON body, with a valid one.
type bodyRoute struct {
	name, method, path, key, valid string
	header                         []string
}

// rejects builds the table from categories of malformed input, across
// every route; bookingID is a confirmed booking of keyBooking.
func rejects(t *testing.T, bookingID string) []reject {
	routes := []bodyRoute{
		{"worker", http.MethodPut, "/v1/workers/w-2", keyOps, rjWorker, nil},
		{"location", http.MethodPut, "/v1/workers/w-1/location", keyOps, rjLocation, nil},
		{"match", http.MethodPost, "/v1/match", keyBooking, rjRequest, nil},
		{"book", http.MethodPost, "/v1/bookings", keyBooking, rjRequest, nil},
		{"book with a key", http.MethodPost, "/v1/bookings", keyBooking, rjRequest, []string{"Idempotency-Key", "k-reject"}},
		{"reschedule", http.MethodPost, "/v1/bookings/" + bookingID + "/reschedule", keyBooking, rjReschedule, nil},
		{"assign", http.MethodPost, "/v1/assign", keyOps, rjAssign, nil},
		{"simulate", http.MethodPost, "/v1/simulations", keyOps, tinyScenario, nil},
	}
	var out []reject
	add := func(rt bodyRoute, name, body, field string, header ...string) {
		out = append(out, reject{name: rt.name + ": " + name, method: rt.method, path: rt.path, key: rt.key,
			body: ptr(body), header: append(append([]string{}, rt.header...), header...), field: field})
	}
	route := func(name string) bodyRoute {
		for _, rt := range routes {
			if rt.name == name {
				return rt
			}
		}
		t.Fatalf("no route %s", name)
		return bodyRoute{}
	}

	// Categories that apply to every body.
	for _, rt := range routes {
		first := firstKey.FindStringSubmatch(rt.valid)[1]
		// Bad JSON.
		for _, b := range []struct{ name, body string }{
			{"empty", ``}, {"truncated", rt.valid[:len(rt.valid)/2]}, {"no value", `{"` + first + `":}`},
			{"array without commas", `[1 2]`}, {"bare word", `nul`}, {"two values", rt.valid + ` {}`},
			{"trailing garbage", rt.valid + `x`}, {"a string", `"x"`}, {"an array", `[]`},
			{"single quotes", strings.ReplaceAll(rt.valid, `"`, `'`)}, {"NaN", `{"` + first + `":NaN}`},
			{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100)},
		} {
			add(rt, "bad JSON: "+b.name, b.body, "")
		}
		// Unknown fields.
		add(rt, "unknown field", sub(t, rt.valid, `{`, `{"colour":"red",`), "colour")
		// Duplicated keys.
		add(rt, "duplicate key", sub(t, rt.valid, `{`, `{"`+first+`":null,`), first)
		// Wrong content type.
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/"} {
			add(rt, "content type "+ct, rt.valid, "", "Content-Type", ct)
		}
		add(rt, "no content type", rt.valid, "", "Content-Type", "")
		// Too large.
		add(rt, "over 1 MiB", padded(api.MaxBodyBytes+1), "")
	}

	// Wrong types.
	w, l, m, b, rs, as := route("worker"), route("location"), route("match"), route("book"), route("reschedule"), route("assign")
	bk, sim := route("book with a key"), route("simulate")
	for _, c := range []struct {
		rt              bodyRoute
		old, new, field string
	}{
		{w, `"rating":4.5`, `"rating":"4.5"`, "rating"},
		{w, `"skills":["cleaning","plumbing"]`, `"skills":"cleaning"`, "skills"},
		{w, `"skills":["cleaning","plumbing"]`, `"skills":["cleaning",7]`, ""},
		{w, `"home":{"lat":52.52,"lng":13.405}`, `"home":[52.52,13.405]`, "home"},
		{w, `"max_jobs_per_day":8`, `"max_jobs_per_day":8.5`, "max_jobs_per_day"},
		{w, `"shifts":[`, `"shifts":{"x":[`, ""},
		{l, `"lat":52.53`, `"lat":"52.53"`, "lat"},
		{l, `"at":"2026-11-23T07:59:00Z"`, `"at":1732348740`, "at"},
		{m, `"service":"cleaning"`, `"service":1`, "service"},
		{m, `"location":{"lat":52.52,"lng":13.405}`, `"location":"Berlin"`, "location"},
		{m, `"duration_minutes":60`, `"duration_minutes":"60"`, "duration_minutes"},
		{b, `"urgency":"normal"`, `"urgency":true`, "urgency"},
		{b, `"window":{"start"`, `"window":{"x":1,"start"`, "window.x"},
		{rs, `"window":{`, `"window":"tomorrow","w":{`, ""},
		{as, `"commit":true`, `"commit":"yes"`, "commit"},
		{as, `"requests":[`, `"requests":{"a":[`, ""},
		{sim, `"seed": 1`, `"seed": "one"`, "seed"},
	} {
		add(c.rt, "wrong type "+c.new, sub(t, c.rt.valid, c.old, c.new), c.field)
	}

	// Out-of-range numbers, and missing required fields.
	for _, c := range []struct {
		rt              bodyRoute
		old, new, field string
	}{
		{w, `"lat":52.52`, `"lat":91`, "home.lat"},
		{w, `"lng":13.405`, `"lng":-181`, "home.lng"},
		{w, `"rating":4.5`, `"rating":6`, "rating"},
		{w, `"max_jobs_per_day":8`, `"max_jobs_per_day":-1`, "max_jobs_per_day"},
		{w, `"max_jobs_per_day":8`, `"max_jobs_per_day":1e400`, ""},
		{w, `"home":{"lat":52.52,"lng":13.405},`, ``, "home"},
		{l, `"lat":52.53`, `"lat":-90.5`, "lat"},
		{l, `"lng":13.41,`, ``, "lng"},
		{m, `"duration_minutes":60`, `"duration_minutes":0`, "duration_minutes"},
		{m, `"duration_minutes":60`, `"duration_minutes":100000`, "duration_minutes"},
		{m, `"duration_minutes":60`, `"duration_minutes":9223372036854775808`, "duration_minutes"},
		{b, `"lat":52.52`, `"lat":1e400`, ""},
		{b, `"urgency":"normal"`, `"urgency":"soon"`, "urgency"},
		{b, `"service":"cleaning",`, ``, "service"},
		{b, `"service":"cleaning"`, `"service":"juggling"`, "service"},
		{b, `{`, `{"recurrence":{"interval_days":0,"count":2},`, ""},
		{b, `{`, `{"recurrence":{"interval_days":1,"count":1000},`, ""},
		{as, `"lng":13.405`, `"lng":200`, "requests[0].location.lng"},
		{sim, `"horizon_hours": 2`, `"horizon_hours": -2`, ""},
	} {
		add(c.rt, "out of range "+c.new, sub(t, c.rt.valid, c.old, c.new), c.field)
	}

	// Bad times: formats encoding/json refuses without naming the field
	// (month 13, offset +25:00, no offset, no time), and times out of range.
	badTimes := []struct{ name, value string }{
		{"month 13", "2026-13-23T08:00:00Z"}, {"offset +25:00", "2026-11-23T08:00:00+25:00"},
		{"no offset", "2026-11-23T08:00:00"}, {"a date only", "2026-11-23"}, {"hour 24", "2026-11-23T24:00:00Z"},
		{"year 0000", "0000-11-23T08:00:00Z"}, {"year 9999", "9999-11-23T08:00:00Z"}, {"Go's zero time", "0001-01-01T00:00:00Z"},
	}
	for _, bt := range badTimes {
		for _, c := range []struct {
			rt         bodyRoute
			old, field string
		}{
			{w, `"start":"2026-11-23T08:00:00Z"`, "shifts[0].start"},
			{w, `"end":"2026-11-23T12:30:00Z"`, "shifts[0].breaks[0].end"},
			{l, `"at":"2026-11-23T07:59:00Z"`, "at"},
			{m, `"end":"2026-11-23T13:00:00Z"`, "window.end"},
			{bk, `"start":"2026-11-23T12:00:00Z"`, "window.start"},
			{rs, `"end":"2026-11-23T15:00:00Z"`, "window.end"},
			{as, `"start":"2026-11-23T15:00:00Z"`, "requests[0].window.start"},
		} {
			key, _, _ := strings.Cut(c.old, ":")
			add(c.rt, "bad time "+bt.name+" in "+c.field, sub(t, c.rt.valid, c.old, key+`:"`+bt.value+`"`), c.field)
		}
	}
	add(b, "requested_at year 9999", sub(t, b.valid, `{`, `{"requested_at":"9999-12-31T23:59:59Z",`), "requested_at")
	add(w, "shift in year 0000", sub(t, sub(t, w.valid, `2026-11-23T08:00:00Z`, `0000-01-01T08:00:00Z`), `2026-11-23T18:00:00Z`, `0000-01-01T18:00:00Z`), "shifts[0].start")
	add(w, "located_at Go's zero", sub(t, w.valid, `{`, `{"location":{"lat":52.5,"lng":13.4},"located_at":"0001-01-01T00:00:00Z",`), "located_at")
	add(b, "window start null", sub(t, b.valid, `"start":"2026-11-23T12:00:00Z"`, `"start":null`), "window.start")
	add(w, "shift end null", sub(t, w.valid, `"end":"2026-11-23T18:00:00Z"`, `"end":null`), "shifts[0].end")
	add(sim, "start month 13", sub(t, sim.valid, `"start": "2026-11-23T08:00:00Z"`, `"start": "2026-13-23T08:00:00Z"`), "start")

	// Duplicated items.
	add(w, "skill twice", sub(t, w.valid, `"skills":["cleaning","plumbing"]`, `"skills":["cleaning","plumbing","cleaning"]`), "skills[2]")
	add(w, "certificate twice", sub(t, w.valid, `{`, `{"certificates":["first_aid","first_aid"],`), "certificates[1]")
	add(m, "skill twice", sub(t, m.valid, `"skills":["cleaning"]`, `"skills":["cleaning","cleaning"]`), "skills[1]")
	add(b, "skill twice", sub(t, b.valid, `"skills":["cleaning"]`, `"skills":["plumbing","plumbing"]`), "skills[1]")
	add(as, "skill twice", sub(t, as.valid, `"id":"r-1",`, `"id":"r-1","skills":["cleaning","cleaning"],`), "requests[0].skills[1]")
	add(as, "request id twice", sub(t, as.valid, `}],"commit"`, `},{"id":"r-1","service":"cleaning","urgency":"normal","location":{"lat":52.52,"lng":13.405}}],"commit"`), "requests[1].id")
	add(b, "key twice, other case", sub(t, b.valid, `{`, `{"Service":"plumbing",`), "service")
	// Unknown worker skill.
	add(w, "skill no service needs", sub(t, w.valid, `"plumbing"]`, `"plumbin"]`), "skills[1]")
	// Too many items.
	add(w, "33 skills", sub(t, w.valid, `"skills":["cleaning","plumbing"]`, `"skills":["a`+strings.Repeat(`","a`, 32)+`"]`), "skills")
	add(w, "63 shifts", sub(t, w.valid, `"shifts":[`, `"shifts":[`+strings.Repeat(`{"start":"2026-11-20T08:00:00Z","end":"2026-11-20T09:00:00Z"},`, 63)), "shifts")

	// Bad ids, in the path and in bodies.
	add(w, "body id differs from the path", sub(t, w.valid, `{`, `{"id":"w-3",`), "id")
	add(b, "customer id with a space", sub(t, b.valid, `"cust-1"`, `"cust 1"`), "customer_id")
	add(b, "preferred worker id", sub(t, b.valid, `{`, `{"preferred_workers":["w 1"],`), "preferred_workers[0]")
	add(as, "no request id", sub(t, as.valid, `"id":"r-1",`, ``), "requests[0].id")
	badID := url.PathEscape("bad id!")
	long := strings.Repeat("x", 65)
	for _, id := range []string{badID, long, "-lead"} {
		out = append(out,
			reject{name: "PUT worker id " + id, method: http.MethodPut, path: "/v1/workers/" + id, key: keyOps, body: ptr(rjWorker)},
			reject{name: "GET worker id " + id, method: http.MethodGet, path: "/v1/workers/" + id, key: keyOps},
			reject{name: "DELETE worker id " + id, method: http.MethodDelete, path: "/v1/workers/" + id, key: keyOps},
			reject{name: "location of worker id " + id, method: http.MethodPut, path: "/v1/workers/" + id + "/location", key: keyOps, body: ptr(rjLocation)},
			reject{name: "bookings of worker id " + id, method: http.MethodGet, path: "/v1/workers/" + id + "/bookings", key: keyOps},
			reject{name: "GET booking id " + id, method: http.MethodGet, path: "/v1/bookings/" + id, key: keyBooking},
			reject{name: "cancel booking id " + id, method: http.MethodPost, path: "/v1/bookings/" + id + "/cancel", key: keyBooking},
			reject{name: "reschedule booking id " + id, method: http.MethodPost, path: "/v1/bookings/" + id + "/reschedule", key: keyBooking, body: ptr(rjReschedule)},
			reject{name: "GET series id " + id, method: http.MethodGet, path: "/v1/series/" + id, key: keyBooking},
			reject{name: "cancel series id " + id, method: http.MethodPost, path: "/v1/series/" + id + "/cancel", key: keyBooking},
			reject{name: "erase customer id " + id, method: http.MethodDelete, path: "/v1/customers/" + id, key: keyAdmin},
		)
	}

	// Bad query parameters.
	for _, q := range []struct{ path, field string }{
		{"/v1/audit?limit=0", "limit"}, {"/v1/audit?limit=1001", "limit"}, {"/v1/audit?limit=ten", "limit"},
		{"/v1/audit?limit=-1", "limit"}, {"/v1/audit?before=yesterday", "before"}, {"/v1/audit?before=1-2-3", "before"},
		{"/v1/workers/w-1/bookings?from=yesterday", "from"}, {"/v1/workers/w-1/bookings?from=2026-13-01T00:00:00Z", "from"},
		{"/v1/workers/w-1/bookings?to=2026-11-23T08:00:00", "to"}, {"/v1/workers/w-1/bookings?from=0000-01-01T00:00:00Z", "from"},
		{"/v1/workers/w-1/bookings?from=2026-11-23T00:00:00Z&to=2026-11-22T00:00:00Z", "to"},
		{"/v1/workers/w-1/bookings?from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z", "to"},
	} {
		key := keyOps
		if strings.HasPrefix(q.path, "/v1/audit") {
			key = keyAdmin
		}
		out = append(out, reject{name: "query " + q.path, method: http.MethodGet, path: q.path, key: key, field: q.field})
	}

	// Bad headers. Control characters never reach a handler: net/http
	// refuses them, and api.Listener answers problem+json.
	for _, v := range []string{"k\x01", "k\x00ey", "k\x7f", "k\x1bey", strings.Repeat("k", 256), "ключ", "k\tey"} {
		add(b, fmt.Sprintf("Idempotency-Key %q", v), b.valid, "Idempotency-Key", "Idempotency-Key", v)
	}
	add(b, "Idempotency-Key twice", b.valid, "Idempotency-Key", "Idempotency-Key", "k-1", "+Idempotency-Key", "k-2")
	add(b, "Idempotency-Key empty", b.valid, "Idempotency-Key", "+Idempotency-Key", "")
	add(b, "X-Request-Id with a control character", b.valid, "X-Request-Id", "X-Request-Id", "id\x02")
	add(m, "Authorization with a control character", m.valid, "Authorization", "Authorization", "Bearer "+keyBooking+"\x03")
	add(w, "header name with a space", w.valid, "headers", "Bad Name", "x")
	for _, auth := range []string{"", "Bearer nope-nope-nope-nope", "Basic " + keyOps, "Bearer"} {
		out = append(out, reject{name: fmt.Sprintf("Authorization %q", auth), method: http.MethodPut, path: "/v1/workers/w-2",
			body: ptr(rjWorker), header: []string{"Authorization", auth}})
	}

	// Routes and roles.
	out = append(out,
		reject{name: "worker with a booking key", method: http.MethodPut, path: "/v1/workers/w-2", key: keyBooking, body: ptr(rjWorker)},
		reject{name: "assign with a booking key", method: http.MethodPost, path: "/v1/assign", key: keyBooking, body: ptr(rjAssign)},
		reject{name: "erase with an ops key", method: http.MethodDelete, path: "/v1/customers/cust-1", key: keyOps},
		reject{name: "audit with a booking key", method: http.MethodGet, path: "/v1/audit", key: keyBooking},
		reject{name: "metrics with a booking key", method: http.MethodGet, path: "/metrics", key: keyBooking},
		reject{name: "PATCH worker", method: http.MethodPatch, path: "/v1/workers/w-1", key: keyOps, body: ptr(rjWorker)},
		reject{name: "DELETE booking", method: http.MethodDelete, path: "/v1/bookings/" + bookingID, key: keyBooking},
		reject{name: "unknown route", method: http.MethodPost, path: "/v1/workers/w-1/teleport", key: keyOps, body: ptr(rjLocation)},
		reject{name: "other key's booking cancelled", method: http.MethodPost, path: "/v1/bookings/" + bookingID + "/cancel", key: keyBooking2},
		reject{name: "other key's booking rescheduled", method: http.MethodPost, path: "/v1/bookings/" + bookingID + "/reschedule", key: keyBooking2, body: ptr(rjReschedule)},
		reject{name: "unknown worker's location", method: http.MethodPut, path: "/v1/workers/w-9/location", key: keyOps, body: ptr(rjLocation)},
		reject{name: "location from the future", method: http.MethodPut, path: "/v1/workers/w-1/location", key: keyOps,
			body: ptr(sub(t, rjLocation, "07:59:00Z", "09:00:00Z")), field: "at"},
	)
	return out
}

// TestRejectsWriteNothing sends every request of the table (rejects) to a
// server on a real redis-server and holds each answer to:
//
//   - a 4xx, as problem+json (the harness checks the shape and that the
//     status is documented for the route);
//   - every 400 names a field (the row's, when it gives one);
//   - nothing is written: every key and value of Redis (storetest.Dump)
//     is the same before and after, but for the one thing a refused
//     request may write on purpose: the audit log records refused attempts
//     at booking actions (create, cancel, reschedule, erasure), so the
//     audit stream may grow, by events whose result is not "ok".
//     Rate-limit counters live in the server's memory, not in Redis.
func TestRejectsWriteNothing(t *testing.T) {
	t.Parallel()
	h := newStoreHarness(t, allKeys, options{Limits: api.Limits{RatePerKey: -1}})
	h.mustPutWorker(t, newWorker("w-1", base, "cleaning", "plumbing"))
	b := h.mustBook(t, keyBooking, map[string]any{"service": "cleaning", "urgency": "normal", "location": base,
		"window": map[string]string{"start": at(10, 0).Format(time.RFC3339), "end": at(11, 0).Format(time.RFC3339)}, "customer_id": "cust-1"})

	table := rejects(t, b.ID)
	if len(table) < 150 {
		t.Fatalf("the table has %d requests, want at least 150", len(table))
	}
	t.Logf("%d malformed requests", len(table))
	for _, rj := range table {
		t.Run(rj.name, func(t *testing.T) {
			before := h.dump(t, auditStream)
			auditBefore := h.auditIDs(t)
			r := h.send(t, rj)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("%s %s: status %d, want 4xx; body %s", rj.method, rj.path, r.Status, r.Body)
			}
			p := checkProblem(t, r)
			if r.Status == http.StatusBadRequest && p.Field == "" {
				t.Errorf("%s %s: 400 names no field: %s", rj.method, rj.path, r.Body)
			}
			if rj.field != "" && p.Field != rj.field {
				t.Errorf("%s %s: field %q, want %q; body %s", rj.method, rj.path, p.Field, rj.field, r.Body)
			}
			if after := h.dump(t, auditStream); digest(after) != digest(before) {
				t.Errorf("%s %s: %d, and it wrote:\n%s", rj.method, rj.path, r.Status, diffDumps(before, after))
			}
			h.wantOnlyRefusals(t, auditBefore)
		})
	}

	// The valid bodies the table breaks are valid.
	for _, c := range []struct{ method, path, key, body string }{
		{http.MethodPut, "/v1/workers/w-2", keyOps, rjWorker},
		{http.MethodPut, "/v1/workers/w-1/location", keyOps, rjLocation},
		{http.MethodPost, "/v1/match", keyBooking, rjRequest},
		{http.MethodPost, "/v1/bookings", keyBooking, rjRequest},
		{http.MethodPost, "/v1/bookings/" + b.ID + "/reschedule", keyBooking, rjReschedule},
		{http.MethodPost, "/v1/assign", keyOps, rjAssign},
		{http.MethodPost, "/v1/simulations", keyOps, tinyScenario},
	} {
		if r := h.do(t, c.method, c.path, c.key, c.body); r.Status >= 300 {
			t.Errorf("valid %s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
}

// send sends rj on a connection of its own, written byte for byte as the
// row says (http.Client refuses to send control characters in a header,
// which is what some rows are about), and reads the answer. A header
// name starting with "+" is added rather than set; an empty value for a
// name without "+" removes the header; a name that is no token is written
// as is.
func (h *storeHarness) send(t *testing.T, rj reject) *response {
	t.Helper()
	var body io.Reader
	if rj.body != nil {
		body = strings.NewReader(*rj.body)
	}
	req, err := http.NewRequest(rj.method, h.URL+rj.path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rj.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rj.key != "" {
		req.Header.Set("Authorization", "Bearer "+rj.key)
	}
	var raw []string // lines http.Request.Write would leave out
	for i := 0; i+1 < len(rj.header); i += 2 {
		name, value := rj.header[i], rj.header[i+1]
		switch {
		case strings.ContainsAny(name, " :"):
			raw = append(raw, name+": "+value+"\r\n")
		case strings.HasPrefix(name, "+"):
			req.Header[strings.TrimPrefix(name, "+")] = append(req.Header[strings.TrimPrefix(name, "+")], value)
		case value == "":
			req.Header.Del(name)
		default:
			req.Header[http.CanonicalHeaderKey(name)] = []string{value} // as is when not a token
		}
	}
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(h.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req.Close = true
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatalf("write request: %v", err)
	}
	line, rest, _ := bytes.Cut(wire.Bytes(), []byte("\r\n"))
	if _, err := fmt.Fprintf(conn, "%s\r\n%s%s", line, strings.Join(raw, ""), rest); err != nil {
		t.Fatalf("write request: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", rj.method, rj.path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", rj.method, rj.path, err)
	}
	r := &response{Method: rj.method, Path: rj.path, Status: res.StatusCode, Header: res.Header, Body: data}
	h.checkResponse(t, r)
	return r
}

// auditIDs returns the ids of the audit stream's events.
func (h *storeHarness) auditIDs(tb testing.TB) map[string]bool {
	tb.Helper()
	msgs, err := h.RDB.XRange(tb.Context(), auditStream, "-", "+").Result()
	if err != nil {
		tb.Fatalf("XRANGE %s: %v", auditStream, err)
	}
	ids := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		ids[m.ID] = true
	}
	return ids
}

// wantOnlyRefusals checks that the audit events added since before all
// record a refusal.
func (h *storeHarness) wantOnlyRefusals(tb testing.TB, before map[string]bool) {
	tb.Helper()
	msgs, err := h.RDB.XRange(tb.Context(), auditStream, "-", "+").Result()
	if err != nil {
		tb.Fatalf("XRANGE %s: %v", auditStream, err)
	}
	for _, m := range msgs {
		if !before[m.ID] && m.Values["result"] == "ok" {
			tb.Errorf("a refused request was audited as done: %v", m.Values)
		}
	}
}
