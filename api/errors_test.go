package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/google/go-cmp/cmp"
)

// padded returns a JSON object of exactly n bytes.
func padded(n int) string {
	const head, tail = `{"pad":"`, `"}`
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestBodyErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	h.mustPutWorker(t, newWorker("w-1", base))
	valid := `{"service":"cleaning","urgency":"normal","duration_minutes":30,"location":{"lat":52.52,"lng":13.405}}`
	tests := []struct {
		name   string
		body   string
		header []string
		status int
		code   string
		field  string
	}{
		{"valid", valid, nil, http.StatusOK, "", ""},
		{"charset parameter", valid, []string{"Content-Type", "application/json; charset=utf-8"}, http.StatusOK, "", ""},
		{"unknown field", strings.Replace(valid, `{`, `{"colour":"red",`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "colour"},
		{"unknown nested field", strings.Replace(valid, `"lng":13.405`, `"lng":13.405,"alt":30`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "location.alt"},
		{"trailing value", valid + ` {}`, nil, http.StatusBadRequest, doorstep.EINVALID, "body"},
		{"trailing garbage", valid + `x`, nil, http.StatusBadRequest, doorstep.EINVALID, "body"},
		{"trailing whitespace", valid + "\n\t ", nil, http.StatusOK, "", ""},
		{"duplicate key", strings.Replace(valid, `{`, `{"service":"laundry",`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "service"},
		{"duplicate nested key", strings.Replace(valid, `"lng":13.405`, `"lng":13.405,"lat":0`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "location.lat"},
		{"malformed", `{"service":`, nil, http.StatusBadRequest, doorstep.EINVALID, "body"},
		{"empty", ``, nil, http.StatusBadRequest, doorstep.EINVALID, "body"},
		{"not an object", `[]`, nil, http.StatusBadRequest, doorstep.EINVALID, "body"},
		{"wrong type", strings.Replace(valid, `52.52`, `"52.52"`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "location.lat"},
		{"bad time", strings.Replace(valid, `{`, `{"requested_at":"today",`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "requested_at"},
		{"text/plain", valid, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, ""},
		{"form", valid, []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, ""},
		{"no content type", valid, []string{"Content-Type", ""}, http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, ""},
		{"malformed content type", valid, []string{"Content-Type", "application/"}, http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, ""},
		{"1 MiB", padded(api.MaxBodyBytes), nil, http.StatusBadRequest, doorstep.EINVALID, "pad"},
		{"over 1 MiB", padded(api.MaxBodyBytes + 1), nil, http.StatusRequestEntityTooLarge, doorstep.ETOOLARGE, ""},
	}
	routes := []struct{ method, path, key string }{
		{http.MethodPost, "/v1/match", keyBooking},
		{http.MethodPost, "/v1/bookings", keyBooking},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rt := range routes {
				for _, idem := range []string{"", "k-" + tt.name} {
					if rt.path == "/v1/match" && idem != "" {
						continue
					}
					header := append([]string{"Idempotency-Key", idem}, tt.header...)
					r := h.do(t, rt.method, rt.path, rt.key, tt.body, header...)
					if tt.code == "" {
						if r.Status >= 300 {
							t.Errorf("%s %s (Idempotency-Key %q): status %d: %s", rt.method, rt.path, idem, r.Status, r.Body)
						}
						continue
					}
					wantProblem(t, r, tt.status, tt.code, tt.field)
				}
			}
		})
	}

	// The worker and location bodies are decoded by the same rules.
	worker := `{"skills":["cleaning"],"home":{"lat":52.52,"lng":13.405},"shifts":[],"rating":5}`
	for _, tt := range []struct {
		name, path, body string
		header           []string
		status           int
		code, field      string
	}{
		{"worker unknown field", "/v1/workers/w-2", strings.Replace(worker, `{`, `{"nickname":"x",`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "nickname"},
		{"worker duplicate key", "/v1/workers/w-2", strings.Replace(worker, `"rating":5`, `"rating":5,"rating":1`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "rating"},
		{"worker duplicate in a shift", "/v1/workers/w-2", strings.Replace(worker, `"shifts":[]`, `"shifts":[{"start":"2026-11-23T08:00:00Z","start":"2026-11-23T09:00:00Z"}]`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "shifts[0].start"},
		{"worker trailing data", "/v1/workers/w-2", worker + worker, nil, http.StatusBadRequest, doorstep.EINVALID, "body"},
		{"worker wrong type", "/v1/workers/w-2", strings.Replace(worker, `"rating":5`, `"rating":"5"`, 1), nil, http.StatusBadRequest, doorstep.EINVALID, "rating"},
		{"worker text/plain", "/v1/workers/w-2", worker, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, ""},
		{"worker over 1 MiB", "/v1/workers/w-2", padded(api.MaxBodyBytes + 1), nil, http.StatusRequestEntityTooLarge, doorstep.ETOOLARGE, ""},
		{"location unknown field", "/v1/workers/w-1/location", `{"lat":52.5,"lng":13.4,"speed":3}`, nil, http.StatusBadRequest, doorstep.EINVALID, "speed"},
		{"location text/plain", "/v1/workers/w-1/location", `{"lat":52.5,"lng":13.4}`, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, ""},
		{"location over 1 MiB", "/v1/workers/w-1/location", padded(api.MaxBodyBytes + 1), nil, http.StatusRequestEntityTooLarge, doorstep.ETOOLARGE, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(t, http.MethodPut, tt.path, keyOps, tt.body, tt.header...), tt.status, tt.code, tt.field)
		})
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/w-2", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")
}

func TestRouteErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	tests := []struct {
		name, method, path, key string
		status                  int
		code                    string
		allow                   []string
	}{
		{"unknown route", http.MethodGet, "/nope", "", http.StatusNotFound, doorstep.ENOTFOUND, nil},
		{"unknown v1 route", http.MethodGet, "/v1/nope", keyAdmin, http.StatusNotFound, doorstep.ENOTFOUND, nil},
		{"unknown v1 route without a key", http.MethodGet, "/v1/nope", "", http.StatusUnauthorized, doorstep.EUNAUTHORIZED, nil},
		{"unknown worker subroute", http.MethodGet, "/v1/workers/w-1/nope", keyAdmin, http.StatusNotFound, doorstep.ENOTFOUND, nil},
		{"GET match", http.MethodGet, "/v1/match", keyAdmin, http.StatusMethodNotAllowed, "method_not_allowed", []string{"POST"}},
		{"DELETE bookings", http.MethodDelete, "/v1/bookings", keyAdmin, http.StatusMethodNotAllowed, "method_not_allowed", []string{"POST"}},
		{"PATCH worker", http.MethodPatch, "/v1/workers/w-1", keyAdmin, http.StatusMethodNotAllowed, "method_not_allowed", []string{"DELETE", "GET", "PUT"}},
		{"GET cancel", http.MethodGet, "/v1/bookings/b1/cancel", keyAdmin, http.StatusMethodNotAllowed, "method_not_allowed", []string{"POST"}},
		{"POST healthz", http.MethodPost, "/healthz", "", http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
		{"PUT metrics", http.MethodPut, "/metrics", keyAdmin, http.StatusMethodNotAllowed, "method_not_allowed", []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, tt.key, nil)
			wantProblem(t, r, tt.status, tt.code, "")
			if tt.allow == nil {
				return
			}
			got := strings.Split(r.Header.Get("Allow"), ", ")
			if diff := cmp.Diff(got, tt.allow); diff != "" {
				t.Errorf("Allow (-got +want):\n%s", diff)
			}
		})
	}
}
