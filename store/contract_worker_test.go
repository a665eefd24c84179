package store

import (
	"context"
	"testing"
	"time"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/google/go-cmp/cmp"
)

// indexEntries counts, per cell, the index entries of worker id.
func indexEntries(tb testing.TB, s *Store, id string, cells ...geo.Cell) map[geo.Cell]int {
	tb.Helper()
	got := make(map[geo.Cell]int)
	for _, c := range cells {
		refs, err := s.WorkerIDsInCells(context.Background(), []geo.Cell{c})
		if err != nil {
			tb.Fatalf("WorkerIDsInCells(%s): %v", c, err)
		}
		for _, r := range refs {
			if r.ID == id {
				got[c]++
			}
		}
	}
	return got
}

func testWorkerLifecycle(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w1", nycA)

	created, err := s.PutWorker(ctx, w)
	if err != nil || !created {
		t.Fatalf("PutWorker(new) = %v, %v; want true, nil", created, err)
	}
	got, ver, err := s.GetWorker(ctx, "w1")
	if err != nil {
		t.Fatalf("GetWorker: %v", err)
	}
	if diff := cmp.Diff(got, w); diff != "" {
		t.Errorf("GetWorker after create (-got +want):\n%s", diff)
	}
	if ver != 1 {
		t.Errorf("version after create = %d, want 1", ver)
	}

	w.Rating, w.Skills = 3.9, []string{"plumbing", "heating"}
	created, err = s.PutWorker(ctx, w)
	if err != nil || created {
		t.Fatalf("PutWorker(replace) = %v, %v; want false, nil", created, err)
	}
	got, ver, err = s.GetWorker(ctx, "w1")
	if err != nil {
		t.Fatalf("GetWorker: %v", err)
	}
	if diff := cmp.Diff(got, w); diff != "" {
		t.Errorf("GetWorker after replace (-got +want):\n%s", diff)
	}
	if ver != 2 {
		t.Errorf("version after replace = %d, want 2", ver)
	}
	cell := geo.IndexCell(nycA)
	if diff := cmp.Diff(indexEntries(t, s, "w1", cell), map[geo.Cell]int{cell: 1}); diff != "" {
		t.Errorf("index after replace (-got +want):\n%s", diff)
	}

	_, _, err = s.GetWorker(ctx, "nobody")
	wantCode(t, "GetWorker(unknown)", err, doorstep.ENOTFOUND)

	// A retired worker is gone, and so is its index entry; its bookings stay.
	b := newBooking(w, t0, time.Hour, nycB)
	mustBook(t, s, b)
	if err := s.DeleteWorker(ctx, "w1"); err != nil {
		t.Fatalf("DeleteWorker: %v", err)
	}
	_, _, err = s.GetWorker(ctx, "w1")
	wantCode(t, "GetWorker(retired)", err, doorstep.ENOTFOUND)
	wantCode(t, "DeleteWorker(retired)", s.DeleteWorker(ctx, "w1"), doorstep.ENOTFOUND)
	wantCode(t, "DeleteWorker(unknown)", s.DeleteWorker(ctx, "nobody"), doorstep.ENOTFOUND)
	if got := indexEntries(t, s, "w1", cell); len(got) != 0 {
		t.Errorf("index after delete = %v, want empty", got)
	}
	if _, err := s.GetBooking(ctx, b.ID); err != nil {
		t.Errorf("GetBooking of a retired worker's booking: %v", err)
	}
	bs, err := s.WorkerBookings(ctx, "w1", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("WorkerBookings(retired): %v", err)
	}
	if diff := cmp.Diff(bookingIDs(bs), []string{b.ID}); diff != "" {
		t.Errorf("WorkerBookings(retired) (-got +want):\n%s", diff)
	}

	// Versions only grow, through retirement and re-creation: create 1,
	// replace 2, booking 3, delete 4, re-create 5.
	created, err = s.PutWorker(ctx, w)
	if err != nil || !created {
		t.Fatalf("PutWorker(after delete) = %v, %v; want true, nil", created, err)
	}
	if v := mustVersion(t, s, "w1"); v != 5 {
		t.Errorf("version after re-create = %d, want 5", v)
	}
}

func testWorkerInvalid(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	tests := []struct {
		name string
		w    *doorstep.Worker
	}{
		{"nil", nil},
		{"empty id", newWorker("", nycA)},
		{"control character in id", newWorker("a\nb", nycA)},
		{"long id", newWorker(string(make([]byte, maxIDLen+1)), nycA)},
		{"bad home", newWorker("w", doorstep.Location{Lat: 91})},
		{"bad location", func() *doorstep.Worker {
			w := newWorker("w", nycA)
			w.Location = &doorstep.Location{Lng: 181}
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutWorker(ctx, tt.w)
			wantCode(t, "PutWorker", err, doorstep.EINVALID)
		})
	}
	mustPutWorker(t, s, newWorker("w", nycA))
	err := s.SetLocation(ctx, "w", doorstep.Location{Lat: -91}, t0)
	wantCode(t, "SetLocation(bad)", err, doorstep.EINVALID)
	err = s.SetLocation(ctx, "nobody", nycB, t0)
	wantCode(t, "SetLocation(unknown)", err, doorstep.ENOTFOUND)
}

func testRelocate(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w1", nycA)
	v := mustPutWorker(t, s, w)
	region := regionOfLoc(nycA)
	a, b, p := geo.IndexCell(nycA), geo.IndexCell(nycB), geo.IndexCell(philly)

	steps := []struct {
		name    string
		loc     doorstep.Location
		at      time.Time
		wantLoc doorstep.Location
		want    map[geo.Cell]int
		bump    bool
	}{
		// The worker stays indexed at home too: the planner starts a shift
		// from home when the last report is stale (Worker.PositionAt).
		{"within the region", nycB, t0, nycB, map[geo.Cell]int{a: 1, b: 1}, true},
		{"older report ignored", nycC, t0.Add(-time.Minute), nycB, map[geo.Cell]int{a: 1, b: 1}, false},
		{"same place again", nycB, t0.Add(time.Minute), nycB, map[geo.Cell]int{a: 1, b: 1}, true},
		{"out of the home region", philly, t0.Add(2 * time.Minute), philly, map[geo.Cell]int{a: 1, p: 1}, true},
		{"back home", nycA, t0.Add(3 * time.Minute), nycA, map[geo.Cell]int{a: 1}, true},
	}
	for _, st := range steps {
		if err := s.SetLocation(ctx, "w1", st.loc, st.at); err != nil {
			t.Fatalf("%s: SetLocation: %v", st.name, err)
		}
		got, ver, err := s.GetWorker(ctx, "w1")
		if err != nil {
			t.Fatalf("%s: GetWorker: %v", st.name, err)
		}
		if diff := cmp.Diff(got.Position(), st.wantLoc); diff != "" {
			t.Errorf("%s: position (-got +want):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(indexEntries(t, s, "w1", a, b, p), st.want); diff != "" {
			t.Errorf("%s: index entries (-got +want):\n%s", st.name, diff)
		}
		if st.bump {
			v++
		}
		if ver != v {
			t.Errorf("%s: version = %d, want %d", st.name, ver, v)
		}
	}

	// An entry in a foreign cell names the home region, where the keys are.
	if err := s.SetLocation(ctx, "w1", philly, t0.Add(time.Hour)); err != nil {
		t.Fatalf("SetLocation: %v", err)
	}
	refs, err := s.WorkerIDsInCells(ctx, []geo.Cell{p})
	if err != nil {
		t.Fatalf("WorkerIDsInCells: %v", err)
	}
	if diff := cmp.Diff(refs, []WorkerRef{{ID: "w1", Region: region}}); diff != "" {
		t.Errorf("refs in the foreign cell (-got +want):\n%s", diff)
	}
	cands, err := s.LoadCandidates(ctx, refs, t0, t0.Add(time.Hour))
	if err != nil || len(cands) != 1 {
		t.Fatalf("LoadCandidates = %d candidates, %v; want 1", len(cands), err)
	}
	// Retiring a worker who is away clears the foreign cell too.
	if err := s.DeleteWorker(ctx, "w1"); err != nil {
		t.Fatalf("DeleteWorker: %v", err)
	}
	if got := indexEntries(t, s, "w1", a, b, p); len(got) != 0 {
		t.Errorf("index after delete = %v, want empty", got)
	}
}

func testHomeRegionMove(t *testing.T, open openFunc) {
	ctx := context.Background()
	s := open(t).s
	w := newWorker("w1", nycA)
	mustPutWorker(t, s, w)
	soon := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	b := newBooking(w, soon, time.Hour, nycB)
	mustBook(t, s, b)

	moved := newWorker("w1", philly)
	_, err := s.PutWorker(ctx, moved)
	wantCode(t, "PutWorker(home to another region, with a coming booking)", err, doorstep.EINVALID)
	if got, _, err := s.GetWorker(ctx, "w1"); err != nil || got.Home != nycA {
		t.Fatalf("after a refused move GetWorker = %v, %v; want the New York worker", got, err)
	}

	if _, err := s.CancelBooking(ctx, b.ID, t0); err != nil {
		t.Fatalf("CancelBooking: %v", err)
	}
	created, err := s.PutWorker(ctx, moved)
	if err != nil || created {
		t.Fatalf("PutWorker(moved) = %v, %v; want false, nil", created, err)
	}
	got, _, err := s.GetWorker(ctx, "w1")
	if err != nil {
		t.Fatalf("GetWorker: %v", err)
	}
	if diff := cmp.Diff(got, moved); diff != "" {
		t.Errorf("GetWorker after move (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(indexEntries(t, s, "w1", geo.IndexCell(nycA), geo.IndexCell(philly)), map[geo.Cell]int{geo.IndexCell(philly): 1}); diff != "" {
		t.Errorf("index after move (-got +want):\n%s", diff)
	}
	refs, err := s.WorkerIDsInCells(ctx, []geo.Cell{geo.IndexCell(philly)})
	if err != nil {
		t.Fatalf("WorkerIDsInCells: %v", err)
	}
	if diff := cmp.Diff(refs, []WorkerRef{{ID: "w1", Region: regionOfLoc(philly)}}); diff != "" {
		t.Errorf("refs after move (-got +want):\n%s", diff)
	}
	// The old region's booking stays readable; the worker books in the new one.
	if _, err := s.GetBooking(ctx, b.ID); err != nil {
		t.Errorf("GetBooking(old region): %v", err)
	}
	mustBook(t, s, newBooking(moved, soon, time.Hour, philly))
}
