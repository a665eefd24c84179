package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// TestHomeMoveSteps runs the steps of a move one by one, as a writer that
// crashed or stalled between them leaves them, on a real redis-server: the
// worker is then absent or in one region, never in two; a late step of a
// stale writer is refused; a stale candidate is not bookable; repeating
// the PutWorker repairs; a legacy region record (no generation) still
// works.
func TestHomeMoveSteps(t *testing.T) {
	t.Parallel()
	srv := storetest.RunRedis(t)
	s, err := Open(t.Context(), testConfig(srv.URL()))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { raw.Close() })
	ctx := context.Background()
	ny, bos := regionOfLoc(newYork), regionOfLoc(boston)

	// step runs one step of a move of the worker from its record to
	// region, as a stalled writer would.
	type step func(t *testing.T, id, region string)
	closeOld := func(t *testing.T, id, _ string) {
		h := mustHome(t, s, id)
		if _, err := s.closeRegion(ctx, h, id, true); err != nil {
			t.Fatalf("closeRegion: %v", err)
		}
	}
	switchRecord := func(t *testing.T, id, region string) {
		h := mustHome(t, s, id)
		if ok, err := s.scripts.home.Run(ctx, s.rdb, []string{workerRegionKey(id)}, h.raw, h.next(region).raw).Bool(); err != nil || !ok {
			t.Fatalf("switch record: %v, %v", ok, err)
		}
	}
	tests := []struct {
		name    string
		steps   []step
		absent  bool   // the worker is absent after the steps
		repair  string // the region a repeated PutWorker moves it to
		legacy  bool   // start from a record without generation
		created bool   // the repair reports a creation
	}{
		{"crash after the close", []step{closeOld}, true, ny, false, true},
		{"crash after the record switch", []step{closeOld, switchRecord}, true, bos, false, true},
		{"crash after the close, then move on", []step{closeOld}, true, bos, false, true},
		{"legacy record, same region", nil, false, ny, true, false},
		{"legacy record, move", nil, false, bos, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "w-" + tt.name
			w := newWorker(id, newYork)
			mustPutWorker(t, s, w)
			if tt.legacy {
				raw.Set(ctx, workerRegionKey(id), ny, 0)
				raw.Del(ctx, stateKey(ny, id))
			}
			cands := mustCandidates(t, s, id, ny)
			for _, st := range tt.steps {
				st(t, id, bos)
			}
			if tt.absent {
				_, _, err := s.GetWorker(ctx, id)
				wantCode(t, "GetWorker", err, doorstep.ENOTFOUND)
				wantCode(t, "SetLocation", s.SetLocation(ctx, id, newYork, time.Time{}), doorstep.ENOTFOUND)
				wantCode(t, "DeleteWorker", s.DeleteWorker(ctx, id), doorstep.ENOTFOUND)
				if got := mustCandidates(t, s, id, ny, bos); len(got) != 0 {
					t.Errorf("LoadCandidates in both regions found %d candidates, want none", len(got))
				}
				// A reservation computed before the move fails.
				b := newBooking(cands[0].Worker, t0, time.Hour, newYork)
				err = s.Apply(ctx, Change{Region: ny, Expect: map[string]int64{id: cands[0].Version}, Create: []*doorstep.Booking{b}})
				if !errors.Is(err, ErrConflict) {
					t.Errorf("Apply from a candidate read before the close = %v, want a conflict", err)
				}
			}
			home := newYork
			if tt.repair == bos {
				home = boston
			}
			created, err := s.PutWorker(ctx, newWorker(id, home))
			if err != nil || created != tt.created {
				t.Fatalf("PutWorker(repair) = %v, %v; want %v, nil", created, err, tt.created)
			}
			got, _, err := s.GetWorker(ctx, id)
			if err != nil || got.Home != home {
				t.Fatalf("GetWorker after the repair = %v, %v; want the worker at %v", got, err, home)
			}
			if v := storetest.ReadPlacement(t, raw).Violations(nil); len(v) != 0 {
				t.Errorf("violations: %v", v)
			}
			if h := mustHome(t, s, id); h.region != tt.repair {
				t.Errorf("record after the repair = %q, want region %s", h.raw, tt.repair)
			}
		})
	}

	// A repair (a move to the same region) closes without the busy check;
	// if it is interrupted there, a later move away must still be refused
	// while the worker has a coming booking in the region.
	t.Run("interrupted repair keeps coming bookings", func(t *testing.T) {
		id := "w-repair"
		w := newWorker(id, newYork)
		mustPutWorker(t, s, w)
		mustBook(t, s, newBooking(w, time.Now().Add(time.Hour).Truncate(time.Second).UTC(), time.Hour, newYork))
		if _, err := s.closeRegion(ctx, mustHome(t, s, id), id, false); err != nil {
			t.Fatalf("closeRegion(same region): %v", err)
		}
		_, err := s.PutWorker(ctx, newWorker(id, boston))
		wantCode(t, "PutWorker(Boston) with a coming booking in New York", err, doorstep.EINVALID)
		if h := mustHome(t, s, id); h.region != ny {
			t.Errorf("record after the refused move = %q, want New York", h.raw)
		}
	})

	// A stalled mover that switched the record but not yet opened its
	// region is overtaken by another PutWorker; its late open is refused.
	t.Run("late open", func(t *testing.T) {
		id := "w-late"
		mustPutWorker(t, s, newWorker(id, newYork))
		closeOld(t, id, bos)
		switchRecord(t, id, bos)
		stale := mustHome(t, s, id) // the record the stalled mover set
		if _, err := s.PutWorker(ctx, newWorker(id, newYork)); err != nil {
			t.Fatalf("PutWorker(New York): %v", err)
		}
		data := `{"id":"w-late"}`
		_, _, err := s.profileCAS(ctx, stale.change(id, fenceOpen), func(string) (string, error) { return data, nil })
		if !errors.Is(err, errMoved) {
			t.Fatalf("late open = %v, want errMoved", err)
		}
		if got, _, err := s.GetWorker(ctx, id); err != nil || got.Home != newYork {
			t.Fatalf("GetWorker = %v, %v; want the New York worker", got, err)
		}
		if v := storetest.ReadPlacement(t, raw).Violations(nil); len(v) != 0 {
			t.Errorf("violations: %v", v)
		}
	})
}

func mustHome(tb testing.TB, s *Store, id string) home {
	tb.Helper()
	h, err := s.readHome(context.Background(), id)
	if err != nil {
		tb.Fatalf("readHome(%s): %v", id, err)
	}
	return h
}

func mustCandidates(tb testing.TB, s *Store, id string, regions ...string) []Candidate {
	tb.Helper()
	var refs []WorkerRef
	for _, r := range regions {
		refs = append(refs, WorkerRef{ID: id, Region: r})
	}
	cands, err := s.LoadCandidates(context.Background(), refs, t0, t0.Add(time.Hour))
	if err != nil {
		tb.Fatalf("LoadCandidates: %v", err)
	}
	return cands
}
