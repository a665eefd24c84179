package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/api"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/internal/apitest"
)

// munich is in another region than base (Berlin).
var munich = doorstep.Location{Lat: 48.137, Lng: 11.575}

type workerPage struct {
	Workers    []doorstep.Worker `json:"workers"`
	NextCursor string            `json:"next_cursor"`
}

type importResult struct {
	Created   int       `json:"created"`
	Updated   int       `json:"updated"`
	Replanned replanned `json:"replanned"`
	Warmed    int       `json:"warmed"`
}

type importProblem struct {
	api.Problem
}

// ndjson encodes ws one a line.
func ndjson(t testing.TB, ws ...any) string {
	t.Helper()
	var b strings.Builder
	for _, w := range ws {
		data, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// mustImport imports body (NDJSON) and returns the counts.
func (h *harness) mustImport(t testing.TB, body any, ctype string) importResult {
	t.Helper()
	r := h.do(t, http.MethodPost, "/v1/workers/import", keyOps, body, "Content-Type", ctype)
	wantStatus(t, r, http.StatusOK)
	return decodeBody[importResult](t, r)
}

// listAll walks GET /v1/workers with query, page by page, and returns the
// ids in order and the number of pages.
func (h *harness) listAll(t testing.TB, query url.Values) (ids []string, pages int) {
	t.Helper()
	for {
		r := h.do(t, http.MethodGet, "/v1/workers?"+query.Encode(), keyOps, nil)
		wantStatus(t, r, http.StatusOK)
		p := decodeBody[workerPage](t, r)
		pages++
		for _, w := range p.Workers {
			ids = append(ids, w.ID)
		}
		if p.NextCursor == "" {
			return ids, pages
		}
		query.Set("cursor", p.NextCursor)
		if pages > 100 {
			t.Fatal("the listing does not end")
		}
	}
}

// TestListWorkers pages through a roster of two regions with filters: no
// worker twice, none missing, in order of id.
func TestListWorkers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	var all []any
	var allIDs, berlinIDs, plumberIDs []string
	for i := range 25 {
		id := fmt.Sprintf("w-%02d", i)
		w := newWorker(id, offset(base, float64(i%5), 0))
		if i%4 == 0 {
			w.Home = munich
		} else {
			berlinIDs = append(berlinIDs, id)
		}
		if i%3 == 0 {
			w.Skills = []string{"cleaning", "plumbing"}
			plumberIDs = append(plumberIDs, id)
		}
		all, allIDs = append(all, w), append(allIDs, id)
	}
	if got := h.mustImport(t, ndjson(t, all...), "application/x-ndjson"); got != (importResult{Created: 25}) {
		t.Fatalf("import = %+v, want 25 created", got)
	}
	tests := []struct {
		name  string
		query url.Values
		want  []string
		pages int
	}{
		{"default limit", url.Values{}, allIDs, 1},
		{"pages of 7", url.Values{"limit": {"7"}}, allIDs, 4},
		{"pages of 1", url.Values{"limit": {"1"}}, allIDs, 25},
		{"exactly one page", url.Values{"limit": {"25"}}, allIDs, 1},
		{"region", url.Values{"limit": {"4"}, "region": {geo.RegionOf(base).String()}}, berlinIDs, 5},
		{"skill", url.Values{"limit": {"3"}, "skill": {"plumbing"}}, plumberIDs, 3},
		{"both", url.Values{"limit": {"3"}, "skill": {"plumbing"}, "region": {geo.RegionOf(munich).String()}}, []string{"w-00", "w-12", "w-24"}, 1},
		{"no match", url.Values{"skill": {"roofing"}}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := h.listAll(t, tt.query)
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
			if pages != tt.pages {
				t.Errorf("%d pages, want %d", pages, tt.pages)
			}
		})
	}
	// Workers are answered as GET /v1/workers/{id} answers them.
	r := h.do(t, http.MethodGet, "/v1/workers?limit=1", keyOps, nil)
	page := decodeBody[workerPage](t, r)
	one := decodeBody[doorstep.Worker](t, h.do(t, http.MethodGet, "/v1/workers/w-00", keyOps, nil))
	if len(page.Workers) != 1 || page.Workers[0].ID != one.ID || page.Workers[0].Home != one.Home || !slices.Equal(page.Workers[0].Skills, one.Skills) {
		t.Errorf("listed %+v, GET answers %+v", page.Workers, one)
	}

	bad := []struct {
		query, field string
	}{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=x", "limit"},
		{"cursor=not-a-cursor", "cursor"},
		{"region=berlin", "region"},
		{"region=" + geo.IndexCell(base).String(), "region"},
	}
	for _, b := range bad {
		wantProblem(t, h.do(t, http.MethodGet, "/v1/workers?"+b.query, keyOps, nil), http.StatusBadRequest, doorstep.EINVALID, b.field)
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers", keyBooking, nil), http.StatusForbidden, doorstep.EFORBIDDEN, "")
}

// TestImportWorkers imports rosters as NDJSON and as a JSON array, and
// checks that one invalid worker refuses the whole import with a report
// by line and field, and the bounds.
func TestImportWorkers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, allKeys)
	a, b := newWorker("imp-a", base), newWorker("imp-b", munich, "plumbing")
	if got := h.mustImport(t, ndjson(t, a, b), "application/x-ndjson"); got != (importResult{Created: 2}) {
		t.Errorf("NDJSON import = %+v, want 2 created", got)
	}
	c := newWorker("imp-c", offset(base, 3, 3))
	b.Home = base // its home moves to Berlin: no bookings, so allowed
	if got := h.mustImport(t, []any{a, b, c}, "application/json"); got != (importResult{Created: 1, Updated: 2}) {
		t.Errorf("array import = %+v, want 1 created, 2 updated", got)
	}
	got := decodeBody[doorstep.Worker](t, h.do(t, http.MethodGet, "/v1/workers/imp-b", keyOps, nil))
	if got.Home != base {
		t.Errorf("imp-b's home %v after the import, want %v", got.Home, base)
	}
	if ids, _ := h.listAll(t, url.Values{}); !slices.Equal(ids, []string{"imp-a", "imp-b", "imp-c"}) {
		t.Errorf("listed %v after the imports", ids)
	}
	// A replaced worker's bookings are re-planned as after its PUT: imp-a
	// loses its shift, so its booking goes to another worker or is marked
	// at risk.
	bk := h.mustBook(t, keyBooking, with(cleaning(base), "window", doorstep.Window{Start: at(12, 0), End: at(14, 0)}))
	owner := newWorker(bk.WorkerID, base)
	if bk.WorkerID == "imp-b" {
		owner.Skills = []string{"plumbing", "cleaning"}
	}
	if bk.WorkerID == "imp-c" {
		owner.Home = offset(base, 3, 3)
	}
	owner.Shifts = nil
	if got := h.mustImport(t, ndjson(t, owner), "application/x-ndjson"); got.Updated != 1 || got.Replanned.Moved+got.Replanned.AtRisk != 1 {
		t.Errorf("import of %s without its shift = %+v, want 1 updated and its booking moved or at risk", bk.WorkerID, got)
	}

	// One bad line among good ones: nothing is written, and the report
	// names the line, the position and the field.
	noHome := with(map[string]any{"id": "new-2", "skills": []string{"cleaning"}, "rating": 5})
	body := ndjson(t, newWorker("new-1", base), noHome) + "\n" +
		ndjson(t, newWorker("new-3", base, "astrology")) + `{"id":"new-4","skills":["cleaning"],"home":` + "\n"
	r := h.do(t, http.MethodPost, "/v1/workers/import", keyOps, body, "Content-Type", "application/x-ndjson")
	p := decodeBody[importProblem](t, r)
	wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, "home")
	want := []api.LineError{
		{Line: 2, Index: 1, Field: "home"},
		{Line: 4, Index: 2, Field: "skills[0]"},
		{Line: 5, Index: 3, Field: "body"},
	}
	if len(p.Errors) != len(want) {
		t.Fatalf("errors %+v, want %d", p.Errors, len(want))
	}
	for i, e := range p.Errors {
		if e.Message == "" {
			t.Errorf("error %d has no message", i)
		}
		e.Message = ""
		if e != want[i] {
			t.Errorf("error %d = %+v, want %+v", i, e, want[i])
		}
	}
	wantProblem(t, h.do(t, http.MethodGet, "/v1/workers/new-1", keyOps, nil), http.StatusNotFound, doorstep.ENOTFOUND, "")

	// The same in an array: lines are where the elements start.
	arr := "[\n" + strings.Join([]string{ndjson(t, newWorker("new-1", base)), ndjson(t, with(noHome, "unknown", 1))}, ",") + "]"
	r = h.do(t, http.MethodPost, "/v1/workers/import", keyOps, arr, "Content-Type", "application/json")
	p = decodeBody[importProblem](t, r)
	wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, "unknown")
	if len(p.Errors) != 1 || p.Errors[0].Line != 3 || p.Errors[0].Index != 1 {
		t.Errorf("array errors %+v, want one at line 3, index 1", p.Errors)
	}
	// Two workers with one id.
	r = h.do(t, http.MethodPost, "/v1/workers/import", keyOps, ndjson(t, a, a), "Content-Type", "application/x-ndjson")
	wantProblem(t, r, http.StatusBadRequest, doorstep.EINVALID, "id")

	// Bounds: bytes, workers, media type, emptiness, roles.
	big := bytes.Repeat([]byte(" "), api.MaxImportBytes+1)
	wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/import", keyOps, big, "Content-Type", "application/x-ndjson"), http.StatusRequestEntityTooLarge, doorstep.ETOOLARGE, "")
	many := strings.Repeat("{}\n", api.MaxImportWorkers+1)
	wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/import", keyOps, many, "Content-Type", "application/x-ndjson"), http.StatusRequestEntityTooLarge, doorstep.ETOOLARGE, "")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/import", keyOps, "[]", "Content-Type", "application/json"), http.StatusBadRequest, doorstep.EINVALID, "body")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/import", keyOps, ndjson(t, a), "Content-Type", "text/plain"), http.StatusUnsupportedMediaType, doorstep.EUNSUPPORTEDMT, "")
	wantProblem(t, h.do(t, http.MethodPost, "/v1/workers/import", keyBooking, ndjson(t, a), "Content-Type", "application/x-ndjson"), http.StatusForbidden, doorstep.EFORBIDDEN, "")
	if ids, _ := h.listAll(t, url.Values{}); !slices.Equal(ids, []string{"imp-a", "imp-b", "imp-c"}) {
		t.Errorf("listed %v after the refused imports", ids)
	}
}

// BenchmarkImportWorkers imports a roster of new workers in one request,
// and lists it in pages of 1000.
func BenchmarkImportWorkers(b *testing.B) {
	for _, n := range []int{100, 2000} {
		h := &harness{apitest.New(b, harnessOptions(allKeys, func() time.Time { return now }, func(cfg *api.Config) { cfg.Limits.RatePerKey = -1 }))}
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			round := 0
			for b.Loop() {
				b.StopTimer()
				ws := make([]any, n)
				for i := range ws {
					ws[i] = newWorker(fmt.Sprintf("r%d-w%05d", round, i), offset(base, float64(i%20), float64(i%7)))
				}
				body := ndjson(b, ws...)
				round++
				b.StartTimer()
				r := h.Do(b, http.MethodPost, "/v1/workers/import", keyOps, body, "Content-Type", "application/x-ndjson")
				if r.Status != http.StatusOK {
					b.Fatalf("import: %d %s", r.Status, r.Body)
				}
			}
		})
		b.Run(fmt.Sprintf("list/workers=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for cursor := ""; ; {
					r := h.Do(b, http.MethodGet, "/v1/workers?limit=1000&cursor="+cursor, keyOps, nil)
					if r.Status != http.StatusOK {
						b.Fatalf("list: %d %s", r.Status, r.Body)
					}
					var p workerPage
					if err := json.Unmarshal(r.Body, &p); err != nil {
						b.Fatal(err)
					}
					if cursor = p.NextCursor; cursor == "" {
						break
					}
				}
			}
		})
	}
}
