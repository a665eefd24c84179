package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/google/go-cmp/cmp"
)

// TestReplanOverHTTP: a shift cut moves a booking to the other worker, an
// absence leaves one at risk (listed for ops), a retirement marks the rest,
// and the metrics count it all by cause.
func TestReplanOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	a := newWorker("w-a", base)
	h.mustPutWorker(t, a)
	window := func(from, to int) map[string]any {
		return map[string]any{"service": "cleaning", "urgency": "normal", "location": base, "duration_minutes": 60,
			"window": doorstep.Window{Start: at(from, 0), End: at(to, 0)}}
	}
	first := h.mustBook(t, keyBooking, window(14, 15))
	if first.WorkerID != "w-a" {
		t.Fatalf("fixture: booked on %s", first.WorkerID)
	}
	h.mustPutWorker(t, newWorker("w-b", offset(base, 0, 3)))

	a.Shifts = []doorstep.Shift{{Start: at(8, 0), End: at(12, 0)}}
	r := h.do(t, http.MethodPut, "/v1/workers/w-a", keyOps, a)
	wantStatus(t, r, http.StatusOK)
	if got := decodeBody[workerChanged](t, r).Replanned; got == nil || *got != (replanned{Moved: 1}) {
		t.Errorf("PUT replanned %+v, want one moved", got)
	}
	b := decodeBody[booking](t, h.do(t, http.MethodGet, "/v1/bookings/"+first.ID, keyBooking, nil))
	if b.WorkerID != "w-b" || b.Version != 2 || b.LastChange == nil || b.LastChange.Reason != doorstep.ChangeReplan || b.AtRisk != nil {
		t.Errorf("moved booking %+v (last change %+v)", b, b.LastChange)
	}

	second := h.mustBook(t, keyBooking, window(16, 17))
	r = h.do(t, http.MethodPost, "/v1/workers/w-b/absences", keyOps, map[string]any{"from": at(15, 30), "to": at(18, 0)})
	wantStatus(t, r, http.StatusOK)
	got := decodeBody[workerChanged](t, r)
	if diff := cmp.Diff(got.Shifts, []doorstep.Shift{{Start: at(8, 0), End: at(15, 30)}}); diff != "" {
		t.Errorf("shifts after the absence (-got +want):\n%s", diff)
	}
	if got.Replanned == nil || *got.Replanned != (replanned{AtRisk: 1}) {
		t.Errorf("absence replanned %+v, want one at risk", got.Replanned)
	}
	list := decodeBody[struct {
		Bookings []booking `json:"bookings"`
	}](t, h.do(t, http.MethodGet, "/v1/bookings/at-risk", keyOps, nil))
	if len(list.Bookings) != 1 || list.Bookings[0].ID != second.ID || list.Bookings[0].AtRisk == nil || list.Bookings[0].AtRisk.Reason != "shift" {
		t.Errorf("at risk %+v, want %s for its shift", list.Bookings, second.ID)
	}
	for _, tt := range []struct {
		body  any
		field string
	}{
		{map[string]any{"to": at(18, 0)}, "from"},
		{map[string]any{"from": at(18, 0)}, "to"},
		{map[string]any{"from": at(18, 0), "to": at(17, 0)}, "to"},
		{map[string]any{"from": at(17, 0), "to": at(18, 0), "reason": "flu"}, "reason"},
	} {
		wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/w-b/absences", keyOps, tt.body), http.StatusBadRequest, doorstep.EINVALID, tt.field)
	}
	wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/nobody/absences", keyOps, map[string]any{"from": at(17, 0), "to": at(18, 0)}),
		http.StatusNotFound, doorstep.ENOTFOUND, "")
	wantProblem(t, h.do(t, http.MethodGet, "/v1/bookings/at-risk?limit=0", keyOps, nil), http.StatusBadRequest, doorstep.EINVALID, "limit")

	r = h.do(t, http.MethodDelete, "/v1/workers/w-b", keyOps, nil)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Body), `"replanned":{"moved":0,"at_risk":2,"restored":0}`) {
		t.Errorf("DELETE answered %s, want both at risk", r.Body)
	}

	r = h.do(t, http.MethodGet, "/metrics", keyOps, nil)
	for _, line := range []string{
		`doorstep_replanned_bookings_total{cause="profile",outcome="moved"} 1`,
		`doorstep_replanned_bookings_total{cause="absence",outcome="at_risk"} 1`,
		`doorstep_replanned_bookings_total{cause="retired",outcome="at_risk"} 1`,
	} {
		if !strings.Contains(string(r.Body), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

// TestWorkerChangedSchema keeps the document's WorkerChanged (the answer
// to a PUT or an absence) the Worker schema plus replanned.
func TestWorkerChangedSchema(t *testing.T) {
	t.Parallel()
	schemas := mustDoc(t)["components"].(map[string]any)["schemas"].(map[string]any)
	w, wc := schemas["Worker"].(map[string]any), schemas["WorkerChanged"].(map[string]any)
	props := map[string]any{}
	for k, v := range w["properties"].(map[string]any) {
		props[k] = v
	}
	props["replanned"] = map[string]any{"$ref": "#/components/schemas/Replanned"}
	if diff := cmp.Diff(wc["properties"], any(props)); diff != "" {
		t.Errorf("WorkerChanged properties (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(wc["required"], w["required"]); diff != "" {
		t.Errorf("WorkerChanged required (-got +want):\n%s", diff)
	}
}
