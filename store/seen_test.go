package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
)

// TestLoadNewLoadsEachWorkerOnce: a worker indexed under two cells (home,
// and a reported position ten kilometres away) that two steps of a search
// read is loaded by the first step only, and keep sees it once; keep's
// refusal leaves a worker out and still counts it as seen. With the read
// model on (numbered workers) and off (by id) alike.
func TestLoadNewLoadsEachWorkerOnce(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "read model on", false: "read model off"}[on], func(t *testing.T) {
			h := openRedis(t)
			s, ctx := h.s, t.Context()
			s.SetReadModel(on)
			far := doorstep.Location{Lat: nycA.Lat + 0.09, Lng: nycA.Lng}
			a := &doorstep.Worker{ID: "a", Skills: []string{"plumbing"}, Home: nycA}
			b := &doorstep.Worker{ID: "b", Skills: []string{"cleaning"}, Home: far}
			for _, w := range []*doorstep.Worker{a, b} {
				if _, err := s.PutWorker(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SetLocation(ctx, "a", far, t0); err != nil {
				t.Fatal(err)
			}
			steps := [][]geo.Cell{{geo.IndexCell(nycA)}, {geo.IndexCell(far)}}
			seen := new(Seen)
			var kept, asked []string
			keep := func(w *doorstep.Worker) bool {
				asked = append(asked, w.ID)
				return w.ID != "b"
			}
			for _, cells := range steps {
				refs, err := s.WorkerIDsInCells(ctx, cells)
				if err != nil {
					t.Fatal(err)
				}
				cands, err := s.LoadNew(ctx, seen, refs, t0, t0.Add(time.Hour), keep)
				if err != nil {
					t.Fatalf("LoadNew: %v", err)
				}
				for _, c := range cands {
					kept = append(kept, c.Worker.ID)
				}
			}
			if want := []string{"a"}; !slices.Equal(kept, want) {
				t.Errorf("kept %v, want %v", kept, want)
			}
			if want := []string{"a", "b"}; !slices.Equal(asked, want) {
				t.Errorf("keep asked about %v, want %v (each new worker once)", asked, want)
			}
		})
	}
}

// TestLoadNewAsksForANewSearchWhenTheNumberingChanges: a Seen that tells
// workers by the read model's numbers cannot follow a model turned off
// during the search (its workers come without numbers): LoadNew says so
// (ErrSeenReset) rather than load a worker twice, and a Seen by id works
// either way.
func TestLoadNewAsksForANewSearchWhenTheNumberingChanges(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	for _, id := range []string{"a", "b"} {
		if _, err := s.PutWorker(ctx, &doorstep.Worker{ID: id, Skills: []string{"plumbing"}, Home: nycA}); err != nil {
			t.Fatal(err)
		}
	}
	ref := func(id string) []WorkerRef { return []WorkerRef{{ID: id, Region: regionOfLoc(nycA)}} }
	seen := new(Seen)
	if _, err := s.LoadNew(ctx, seen, ref("a"), t0, t0.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	s.SetReadModel(false)
	if _, err := s.LoadNew(ctx, seen, ref("b"), t0, t0.Add(time.Hour), nil); !errors.Is(err, ErrSeenReset) {
		t.Fatalf("LoadNew after the model was turned off: %v, want ErrSeenReset", err)
	}
	byID := NewSeenByID()
	for i, id := range []string{"a", "b", "a"} {
		cands, err := s.LoadNew(ctx, byID, ref(id), t0, t0.Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{1, 1, 0}[i]; len(cands) != want {
			t.Errorf("load %d (%s) by id: %d candidates, want %d", i, id, len(cands), want)
		}
	}
}
