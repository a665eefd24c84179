package api_test

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/google/go-cmp/cmp"
)

// caller is an API key of the roles table.
type caller struct{ name, key string }

var callers = []caller{
	{"none", ""},
	{"bad", "not-a-configured-key-0123"},
	{"booking", keyBooking},
	{"ops", keyOps},
	{"admin", keyAdmin},
	{"field", keyField},
}

// roleRoute is one row of the roles table: a route, a request that
// succeeds with status ok for a role allowed to make it, and those roles
// (admin is always allowed; nil roles: the route is public).
type roleRoute struct {
	method, pattern string
	path            func(role string) string
	body            func(role string) any
	ok              int
	roles           []string
}

func fixed(s string) func(string) string { return func(string) string { return s } }

// TestRoles checks every route for every kind of caller: no key and an
// unknown key are 401 with WWW-Authenticate except on the public routes, a
// role not allowed is 403, an allowed one succeeds; and the document's
// x-roles say the same.
func TestRoles(t *testing.T) {
	t.Parallel()
	// Two calls without a valid key per route: more than the default budget
	// of failures an address has a minute, which TestFailedAuthRateLimit tests.
	h := newHarness(t, allKeys, func(c *api.Config) { c.Limits.FailedAuthPerMinute = 1000 })
	h.mustPutWorker(t, newWorker("w-1", base))
	for _, role := range []string{"ops", "admin"} {
		h.mustPutWorker(t, newWorker("w-del-"+role, offset(base, 10, 10)))
	}
	// In a window that starts later, so that the booking can be cancelled.
	short := with(cleaning(base), "duration_minutes", 30, "window", doorstep.Window{Start: at(12, 0), End: at(14, 0)})
	b := h.mustBook(t, keyBooking, short)
	// A gardener 2 km out, so that its booking is not under way at once.
	h.mustPutWorker(t, newWorker("w-gardener", offset(base, 2, 0), "gardening"))
	garden := h.mustBook(t, keyBooking, map[string]any{"service": "gardening", "urgency": "normal", "location": base,
		"window": doorstep.Window{Start: at(12, 0), End: at(13, 0)}})
	// One booking per role that may report progress, on w-1 (the field key's worker).
	onW1 := map[string]string{}
	for _, role := range []string{"ops", "admin", "field"} {
		if bk := h.mustBook(t, keyBooking, short); bk.WorkerID == "w-1" {
			onW1[role] = bk.ID
		} else {
			t.Fatalf("fixture: booked on %s", bk.WorkerID)
		}
	}
	series := decodeBody[series](t, h.do(t, http.MethodPost, "/v1/bookings", keyBooking, with(short, "recurrence", map[string]int{"interval_days": 1, "count": 2})))
	// Issue 15: a webhook of the booking tenant, and one per role to delete.
	hook := map[string]string{"url": "https://example.com/hook"}
	webhooks := map[string]string{}
	for _, c := range callers {
		key := c.key
		if key == "" || c.name == "bad" || c.name == "field" { // field keys make no webhooks
			key = keyBooking
		}
		webhooks[c.name] = decodeBody[webhookOut](t, h.do(t, http.MethodPost, "/v1/webhooks", key, hook)).ID
	}

	// Completed bookings of the booking key and the admin key, for the
	// feedback each gives on its own.
	rated := map[string]string{}
	for role, key := range map[string]string{"booking": keyBooking, "admin": keyAdmin} {
		rated[role] = h.mustBook(t, key, short).ID
		h.complete(t, rated[role], at(12, 30))
	}
	feedbackPath := func(role string) string {
		if id, ok := rated[role]; ok {
			return "/v1/bookings/" + id + "/feedback"
		}
		return "/v1/bookings/" + rated["booking"] + "/feedback"
	}

	routes := []roleRoute{
		{http.MethodPut, "/v1/workers/{id}", func(role string) string { return "/v1/workers/w-put-" + role },
			func(role string) any { return newWorker("w-put-"+role, offset(base, -10, -10)) }, http.StatusCreated, []string{"ops"}},
		{http.MethodGet, "/v1/workers/{id}", fixed("/v1/workers/w-1"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodGet, "/v1/workers", fixed("/v1/workers"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodPost, "/v1/workers/import", fixed("/v1/workers/import"),
			func(role string) any { return []any{newWorker("w-imp-"+role, offset(base, -10, 10))} }, http.StatusOK, []string{"ops"}},
		{http.MethodDelete, "/v1/workers/{id}", func(role string) string { return "/v1/workers/w-del-" + role }, nil, http.StatusOK, []string{"ops"}},
		{http.MethodPost, "/v1/workers/{id}/absences", fixed("/v1/workers/w-1/absences"),
			func(string) any { return map[string]any{"from": at(20, 0), "to": at(21, 0)} }, http.StatusOK, []string{"ops"}},
		{http.MethodGet, "/v1/bookings/at-risk", fixed("/v1/bookings/at-risk"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodPut, "/v1/workers/{id}/location", fixed("/v1/workers/w-1/location"),
			func(string) any { return map[string]any{"lat": base.Lat, "lng": base.Lng} }, http.StatusNoContent, []string{"ops"}},
		{http.MethodGet, "/v1/workers/{id}/bookings", fixed("/v1/workers/w-1/bookings"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodPost, "/v1/match", fixed("/v1/match"), func(string) any { return short }, http.StatusOK, []string{"booking"}},
		{http.MethodPost, "/v1/slots", fixed("/v1/slots"), func(string) any {
			return map[string]any{"request": cleaning(base), "from": at(8, 0), "to": at(20, 0)}
		}, http.StatusOK, []string{"booking"}},
		{http.MethodPost, "/v1/bookings", fixed("/v1/bookings"), func(string) any { return short }, http.StatusCreated, []string{"booking"}},
		{http.MethodGet, "/v1/bookings/{id}", fixed("/v1/bookings/" + b.ID), nil, http.StatusOK, []string{"booking", "field"}},
		{http.MethodPost, "/v1/bookings/{id}/progress", func(role string) string { return "/v1/bookings/" + onW1[role] + "/progress" },
			func(string) any { return map[string]any{"status": "en_route"} }, http.StatusOK, []string{"ops", "field"}},
		{http.MethodPost, "/v1/bookings/{id}/cancel", fixed("/v1/bookings/" + b.ID + "/cancel"), nil, http.StatusOK, []string{"booking"}},
		{http.MethodPost, "/v1/bookings/{id}/reschedule", fixed("/v1/bookings/" + garden.ID + "/reschedule"),
			func(string) any { return map[string]any{"window": doorstep.Window{Start: at(14, 0), End: at(15, 0)}} }, http.StatusOK, []string{"booking"}},
		{http.MethodPost, "/v1/bookings/{id}/feedback", feedbackPath, func(string) any { return map[string]any{"rating": 5} }, http.StatusOK, []string{"booking"}},
		{http.MethodGet, "/v1/followups", fixed("/v1/followups"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodGet, "/v1/standby", fixed("/v1/standby?lat=52.52&lng=13.405"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodGet, "/v1/series/{id}", fixed("/v1/series/" + series.SeriesID), nil, http.StatusOK, []string{"booking"}},
		{http.MethodPost, "/v1/series/{id}/cancel", fixed("/v1/series/" + series.SeriesID + "/cancel"), nil, http.StatusOK, []string{"booking"}},
		{http.MethodPost, "/v1/assign", fixed("/v1/assign"),
			func(string) any { return map[string]any{"requests": []any{with(short, "id", "r-1")}} }, http.StatusOK, []string{"ops"}},
		{http.MethodPost, "/v1/simulations", fixed("/v1/simulations"), func(string) any { return tinyScenario }, http.StatusOK, []string{"ops"}},
		{http.MethodGet, "/v1/audit", fixed("/v1/audit"), nil, http.StatusOK, []string{}},
		{http.MethodDelete, "/v1/customers/{id}", fixed("/v1/customers/cust-erase"), nil, http.StatusOK, []string{"booking"}},
		{http.MethodGet, "/metrics", fixed("/metrics"), nil, http.StatusOK, []string{"ops"}},
		{http.MethodGet, "/v1/events", fixed("/v1/events"), nil, http.StatusOK, []string{"booking", "ops"}},
		{http.MethodPost, "/v1/webhooks", fixed("/v1/webhooks"), func(string) any { return hook }, http.StatusCreated, []string{"booking", "ops"}},
		{http.MethodGet, "/v1/webhooks", fixed("/v1/webhooks"), nil, http.StatusOK, []string{"booking", "ops"}},
		{http.MethodGet, "/v1/webhooks/{id}", fixed("/v1/webhooks/" + webhooks["booking"]), nil, http.StatusOK, []string{"booking", "ops"}},
		{http.MethodDelete, "/v1/webhooks/{id}", func(role string) string { return "/v1/webhooks/" + webhooks[role] }, nil, http.StatusNoContent, []string{"booking", "ops"}},
		{http.MethodGet, "/healthz", fixed("/healthz"), nil, http.StatusOK, nil},
		{http.MethodGet, "/readyz", fixed("/readyz"), nil, http.StatusOK, nil},
		{http.MethodGet, "/openapi.json", fixed("/openapi.json"), nil, http.StatusOK, []string{"booking", "ops", "field"}},
	}
	d := mustDoc(t)
	var covered []string
	for _, rt := range routes {
		covered = append(covered, rt.method+" "+rt.pattern)
		t.Run(rt.method+" "+rt.pattern, func(t *testing.T) {
			for _, c := range callers {
				var body any
				if rt.body != nil {
					body = rt.body(c.name)
				}
				r := h.do(t, rt.method, rt.path(c.name), c.key, body)
				switch {
				case rt.roles == nil || c.name == "admin" || slices.Contains(rt.roles, c.name):
					if r.Status != rt.ok {
						t.Errorf("%s: status %d, want %d; body %s", c.name, r.Status, rt.ok, r.Body)
					}
				case c.key == "" || c.name == "bad":
					wantProblem(t, r, http.StatusUnauthorized, doorstep.EUNAUTHORIZED, "")
					if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer realm="doorstep"`) {
						t.Errorf("%s: WWW-Authenticate %q", c.name, got)
					}
				default:
					wantProblem(t, r, http.StatusForbidden, doorstep.EFORBIDDEN, "")
				}
			}
			// The document says the same.
			op := d["paths"].(map[string]any)[rt.pattern].(map[string]any)[strings.ToLower(rt.method)].(map[string]any)
			var documented []string
			for _, r := range op["x-roles"].([]any) {
				documented = append(documented, r.(string))
			}
			want := []string{}
			if rt.roles != nil {
				want = append(slices.Clone(rt.roles), "admin")
			}
			sort.Strings(documented)
			sort.Strings(want)
			if diff := cmp.Diff(documented, want, cmpEmpty); diff != "" {
				t.Errorf("x-roles (-documented +enforced):\n%s", diff)
			}
			sec, hasSec := op["security"].([]any)
			if public := rt.roles == nil; public != (hasSec && len(sec) == 0) {
				t.Errorf("public %v, but the operation's security is %v", public, op["security"])
			}
		})
	}
	// The table covers every route.
	var routed []string
	for path, item := range d["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if slices.Contains(httpMethods, m) {
				routed = append(routed, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(routed)
	sort.Strings(covered)
	if diff := cmp.Diff(covered, routed); diff != "" {
		t.Errorf("roles table (-covered +documented):\n%s", diff)
	}
	// An unknown key is told that its token is invalid.
	r := h.do(t, http.MethodGet, "/v1/workers/w-1", "not-a-configured-key-0123", nil)
	if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("bad key: WWW-Authenticate %q, want error=\"invalid_token\"", got)
	}
}

// tinyScenario is a what-if simulation that runs in milliseconds.
const tinyScenario = `{
  "name": "tiny", "seed": 1, "start": "2026-11-23T08:00:00Z", "horizon_hours": 2,
  "area": {"center": {"lat": 52.52, "lng": 13.405}, "radius_km": 3},
  "roster": {
    "shifts": [{"name": "day", "start": "08:00", "end": "18:00"}],
    "groups": [{"name": "cleaners", "count": 3, "skills": ["cleaning"], "shifts": ["day"]}]
  },
  "demand": {"synthetic": {"requests_per_hour": 4, "urgent_share": 0.25, "services": [{"service": "cleaning", "weight": 1}]}}
}`

// cmpEmpty makes nil and empty slices equal.
var cmpEmpty = cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })

func TestAuthorizationHeader(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	tests := []struct {
		name, value string
		status      int
	}{
		{"bearer", "Bearer " + keyOps, http.StatusOK},
		{"scheme is case-insensitive", "bearer " + keyOps, http.StatusOK},
		{"upper-case scheme", "BEARER " + keyOps, http.StatusOK},
		{"basic", "Basic " + keyOps, http.StatusUnauthorized},
		{"no token", "Bearer ", http.StatusUnauthorized},
		{"token only", keyOps, http.StatusUnauthorized},
		{"key with a suffix", "Bearer " + keyOps + "x", http.StatusUnauthorized},
		{"key prefix", "Bearer " + keyOps[:len(keyOps)-1], http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, http.MethodGet, "/v1/workers/w-1", "", nil, "Authorization", tt.value)
			if r.Status != tt.status {
				t.Errorf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
		})
	}
}

// TestAuthOff checks that with no keys configured every route answers
// without an Authorization header.
func TestAuthOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "")
	tests := []struct {
		method, path string
		body         any
		status       int
	}{
		{http.MethodPut, "/v1/workers/w-1", newWorker("w-1", base), http.StatusCreated},
		{http.MethodGet, "/v1/workers/w-1", nil, http.StatusOK},
		{http.MethodPut, "/v1/workers/w-1/location", map[string]any{"lat": base.Lat, "lng": base.Lng}, http.StatusNoContent},
		{http.MethodPost, "/v1/match", cleaning(base), http.StatusOK},
		{http.MethodGet, "/v1/workers/w-1/bookings", nil, http.StatusOK},
		{http.MethodPost, "/v1/assign", map[string]any{"requests": []any{with(cleaning(base), "id", "r-1")}}, http.StatusOK},
		{http.MethodGet, "/v1/audit", nil, http.StatusOK},
		{http.MethodGet, "/metrics", nil, http.StatusOK},
		{http.MethodGet, "/healthz", nil, http.StatusOK},
		{http.MethodGet, "/readyz", nil, http.StatusOK},
		{http.MethodGet, "/openapi.json", nil, http.StatusOK},
	}
	for _, tt := range tests {
		wantStatus(t, h.do(t, tt.method, tt.path, "", tt.body), tt.status)
	}
	b := h.mustBook(t, "", with(cleaning(base), "window", doorstep.Window{Start: at(12, 0), End: at(14, 0)}))
	wantStatus(t, h.do(t, http.MethodGet, "/v1/bookings/"+b.ID, "", nil), http.StatusOK)
	wantStatus(t, h.do(t, http.MethodPost, "/v1/bookings/"+b.ID+"/cancel", "", nil), http.StatusOK)
	wantStatus(t, h.do(t, http.MethodDelete, "/v1/workers/w-1", "", nil), http.StatusOK)
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	keys, err := api.ParseKeys(allKeys)
	if err != nil {
		t.Fatal(err)
	}
	var got []api.Role
	for _, k := range keys {
		got = append(got, k.Role)
		if (k.Role == api.RoleField) != (k.Worker == "w-1") {
			t.Errorf("key of role %s bound to worker %q", k.Role, k.Worker)
		}
		if strings.Contains(k.ID, "key-0123") {
			t.Errorf("key id %q reveals the key", k.ID)
		}
	}
	if diff := cmp.Diff(got, []api.Role{api.RoleBooking, api.RoleOps, api.RoleAdmin, api.RoleBooking, api.RoleField}); diff != "" {
		t.Errorf("roles (-got +want):\n%s", diff)
	}
	for _, bad := range []string{
		"short:ops",
		"no-role-0123456789",
		"key-0123456789abcdef:root",
		"key-0123456789abcdef:ops,key-0123456789abcdef:admin",
		"key-0123456789abcdef:field",
		"key-0123456789abcdef:field:",
		"key-0123456789abcdef:field:bad worker",
		"key-0123456789abcdef:ops:w-1",
	} {
		if _, err := api.ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "0123456789") {
			t.Errorf("ParseKeys(%q) error %q reveals the key", bad, err)
		}
	}
}
