package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
)

// TestLoadCellsLoadsEachWorkerOnce: a worker indexed under two cells
// (home, and a reported position ten kilometres away) that two steps of a
// search read is loaded by the first step only, and keep sees it once;
// keep's refusal leaves a worker out and still counts it as seen. With the
// read model on (numbered workers), off (by id), and with the mirror
// (numbered by the mirror) alike.
func TestLoadCellsLoadsEachWorkerOnce(t *testing.T) {
	for _, mode := range []string{"read model on", "read model off", "mirror"} {
		t.Run(mode, func(t *testing.T) {
			h := openRedis(t)
			s, ctx := h.s, t.Context()
			s.SetReadModel(mode != "read model off")
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
			if mode == "mirror" {
				follow(t, s)
			}
			steps := [][]geo.Cell{{geo.IndexCell(nycA)}, {geo.IndexCell(far)}}
			seen := new(Seen)
			var kept, asked []string
			keep := func(w *doorstep.Worker) bool {
				asked = append(asked, w.ID)
				return w.ID != "b"
			}
			for _, cells := range steps {
				cands, err := s.LoadCells(ctx, seen, cells, t0, t0.Add(time.Hour), KeepFunc(keep))
				if err != nil {
					t.Fatalf("LoadCells: %v", err)
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
			if mode == "mirror" {
				s.mirror.mu.RLock()
				gen := s.mirror.gen
				s.mirror.mu.RUnlock()
				if seen.gen != gen {
					t.Errorf("the search was not served by the mirror (numbering %d, the mirror's %d)", seen.gen, gen)
				}
			}
		})
	}
}

// TestLoadCellsAsksForANewSearchWhenTheNumberingChanges: a Seen that
// tells workers by the read model's numbers cannot follow a model turned
// off during the search (its workers come without numbers), nor one by
// the mirror's numbers a search that goes on without the mirror: LoadCells
// says so (ErrSeenReset) rather than load a worker twice, and a Seen by id
// works either way.
func TestLoadCellsAsksForANewSearchWhenTheNumberingChanges(t *testing.T) {
	h := openRedis(t)
	s, ctx := h.s, t.Context()
	for id, home := range map[string]doorstep.Location{"a": nycA, "b": nycB} {
		if _, err := s.PutWorker(ctx, &doorstep.Worker{ID: id, Skills: []string{"plumbing"}, Home: home}); err != nil {
			t.Fatal(err)
		}
	}
	cellOf := map[string][]geo.Cell{"a": {geo.IndexCell(nycA)}, "b": {geo.IndexCell(nycB)}}
	seen := new(Seen)
	if _, err := s.LoadCells(ctx, seen, cellOf["a"], t0, t0.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	s.SetReadModel(false)
	if _, err := s.LoadCells(ctx, seen, cellOf["b"], t0, t0.Add(time.Hour), nil); !errors.Is(err, ErrSeenReset) {
		t.Fatalf("LoadCells after the model was turned off: %v, want ErrSeenReset", err)
	}
	s.SetReadModel(true)
	// The mirror's numbering, then the read model's.
	ctx2, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.FollowChanges(ctx2, 10*time.Millisecond, nil)
	}()
	storetest.WaitMirroring(t, s)
	seen = new(Seen)
	if _, err := s.LoadCells(ctx, seen, cellOf["a"], t0, t0.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done
	if _, err := s.LoadCells(ctx, seen, cellOf["b"], t0, t0.Add(time.Hour), nil); !errors.Is(err, ErrSeenReset) {
		t.Fatalf("LoadCells after the mirror stopped: %v, want ErrSeenReset", err)
	}
	byID := NewSeenByID()
	for i, id := range []string{"a", "b", "a"} {
		cands, err := s.LoadCells(ctx, byID, cellOf[id], t0, t0.Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{1, 1, 0}[i]; len(cands) != want {
			t.Errorf("load %d (%s) by id: %d candidates, want %d", i, id, len(cands), want)
		}
	}
}
