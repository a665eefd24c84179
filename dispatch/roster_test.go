package dispatch_test

import (
	"slices"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/dispatch"
	"github.com/doorstep-dev/doorstep/store"
	"github.com/google/go-cmp/cmp"
)

// munich is in another region than base (Berlin).
var munich = doorstep.Location{Lat: 48.137, Lng: 11.575}

// TestImportWorkers checks that an import is validated as a whole: one
// refused worker and nothing is written, with a problem for each refused
// worker by position and field; a valid one counts what it created and
// replaced.
func TestImportWorkers(t *testing.T) {
	svc, st, _, _ := memEnv(t, at(8, 0), worker("old", base, dayShift()))
	noHome := worker("nohome", base, dayShift())
	noHome.Home = doorstep.Location{}
	bad := []*doorstep.Worker{
		worker("n1", base, dayShift()),
		noHome,
		worker("n2", base, dayShift(), "astrology"),
		worker("n1", base, dayShift()),
		{ID: "bad id!", Skills: []string{"cleaning"}, Home: base},
	}
	done, problems, err := svc.ImportWorkers(t.Context(), bad)
	if err != nil {
		t.Fatalf("ImportWorkers: %v", err)
	}
	var got [][2]any
	for _, p := range problems {
		got = append(got, [2]any{p.Index, p.Field})
	}
	want := [][2]any{{1, "home"}, {2, "skills[0]"}, {3, "id"}, {4, "id"}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("problems (-got +want):\n%s\n%+v", diff, problems)
	}
	if done != (dispatch.Imported{}) || len(st.workers) != 1 {
		t.Errorf("a refused import wrote %+v; store holds %d workers, want 1", done, len(st.workers))
	}

	moved := worker("old", munich, dayShift())
	done, problems, err = svc.ImportWorkers(t.Context(), []*doorstep.Worker{worker("n1", base, dayShift()), moved, worker("n2", base, dayShift(), "plumbing")})
	if err != nil || len(problems) > 0 {
		t.Fatalf("ImportWorkers = %+v, %v", problems, err)
	}
	if done != (dispatch.Imported{Created: 2, Updated: 1}) {
		t.Errorf("imported %+v, want 2 created, 1 updated", done)
	}
	page, err := svc.ListWorkers(t.Context(), store.WorkerQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, w := range page.Workers {
		ids = append(ids, w.ID)
	}
	if !slices.Equal(ids, []string{"n1", "n2", "old"}) || page.Workers[2].Home != munich {
		t.Errorf("after the import: %v, old's home %v", ids, page.Workers[2].Home)
	}

	// A worker whose home would leave its region with a booking that may
	// not be over is refused before anything is written.
	if _, err := svc.Book(t.Context(), normal(munich, mins(60), at(9, 0), at(12, 0)), ""); err != nil {
		t.Fatalf("Book: %v", err)
	}
	before := len(st.workers)
	_, problems, err = svc.ImportWorkers(t.Context(), []*doorstep.Worker{worker("n3", base, dayShift()), worker("old", base, dayShift())})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Index != 1 || problems[0].Field != "home" {
		t.Errorf("problems %+v, want one on home of position 1", problems)
	}
	if len(st.workers) != before {
		t.Errorf("a refused import wrote workers: %d, want %d", len(st.workers), before)
	}
}
