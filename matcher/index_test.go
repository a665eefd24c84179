package matcher_test

import (
	"slices"
	"testing"

	"github.com/doorstep-dev/doorstep"
	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/matcher"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ringPlace returns a point in the j-th cell of the ring at grid distance k
// around base's index cell.
func ringPlace(tb testing.TB, k, j int) doorstep.Location {
	tb.Helper()
	rings := geo.Rings(geo.IndexCell(base), k)
	return rings[k][j%len(rings[k])].Center()
}

var sorted = cmpopts.SortSlices(func(a, b int) bool { return a < b })

func TestIndexNear(t *testing.T) {
	ix := matcher.NewIndex()
	// Worker i sits in ring i, except worker 4 (ring 5) and worker 5 (ring 6,
	// beyond the search).
	for i, ring := range []int{0, 1, 2, 3, 5, 6} {
		ix.Put(i, ringPlace(t, ring, i))
	}
	s := matcher.Search{Center: geo.IndexCell(base), MaxRings: 5}
	if diff := cmp.Diff([][2]int{{0, 0}, {1, 1}, {2, 3}, {4, 5}}, s.Steps()); diff != "" {
		t.Fatalf("the steps this test is written for changed (-want +got):\n%s", diff)
	}
	odd := func(i int) bool { return i%2 == 1 }
	tests := []struct {
		name string
		want int
		keep func(int) bool
		got  []int
	}{
		{"want 0: first step only", 0, nil, []int{0}},
		{"want 1: first step is enough", 1, nil, []int{0}},
		{"want 2: second step", 2, nil, []int{0, 1}},
		{"want 3: third step", 3, nil, []int{0, 1, 2, 3}},
		{"want 4", 4, nil, []int{0, 1, 2, 3}},
		{"want 5: whole reach", 5, nil, []int{0, 1, 2, 3, 4}},
		{"want more than there are: never beyond the reach", 100, nil, []int{0, 1, 2, 3, 4}},
		{"keep: counts only the kept", 1, odd, []int{1}},
		{"keep: widens for the kept", 2, odd, []int{1, 3}},
		{"keep: to the reach", 3, odd, []int{1, 3}},
		{"keep: nothing kept", 1, func(int) bool { return false }, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ix.Near(nil, s, tt.want, tt.keep)
			if diff := cmp.Diff(tt.got, got, sorted, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Near mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Near stops widening once want are accepted: keep is not asked about
	// the workers of later steps.
	var asked []int
	ix.Near(nil, s, 2, func(i int) bool { asked = append(asked, i); return true })
	if diff := cmp.Diff([]int{0, 1}, asked, sorted); diff != "" {
		t.Errorf("keep asked about (-want +got):\n%s", diff)
	}

	// Near appends to dst.
	got := ix.Near([]int{99}, s, 1, nil)
	if len(got) == 0 || got[0] != 99 {
		t.Fatalf("Near(dst) = %v, want dst's 99 first", got)
	}
	if diff := cmp.Diff([]int{0}, got[1:], sorted); diff != "" {
		t.Errorf("Near(dst) appended (-want +got):\n%s", diff)
	}
}

func TestIndexPutMoveRemove(t *testing.T) {
	ix := matcher.NewIndex()
	center := matcher.Search{Center: geo.IndexCell(base), MaxRings: 1}
	far := matcher.Search{Center: geo.IndexCell(base), MaxRings: 4}
	near := func(s matcher.Search) []int {
		got := ix.Near(nil, s, 1000, nil)
		slices.Sort(got)
		return got
	}
	steps := []struct {
		name     string
		do       func()
		wantNear []int // within one ring
		wantFar  []int // within four rings
	}{
		{"put three in one cell", func() {
			ix.Put(1, ringPlace(t, 0, 0))
			ix.Put(2, ringPlace(t, 0, 0))
			ix.Put(3, ringPlace(t, 0, 0))
		}, []int{1, 2, 3}, []int{1, 2, 3}},
		{"put again in the same cell: no duplicate", func() { ix.Put(2, base) }, []int{1, 2, 3}, []int{1, 2, 3}},
		{"remove the middle one", func() { ix.Remove(2) }, []int{1, 3}, []int{1, 3}},
		{"remove an unknown worker", func() { ix.Remove(42) }, []int{1, 3}, []int{1, 3}},
		{"remove twice", func() { ix.Remove(2) }, []int{1, 3}, []int{1, 3}},
		{"move one to ring 3", func() { ix.Put(1, ringPlace(t, 3, 2)) }, []int{3}, []int{1, 3}},
		{"move it to ring 1", func() { ix.Put(1, ringPlace(t, 1, 4)) }, []int{1, 3}, []int{1, 3}},
		{"put back the removed one", func() { ix.Put(2, ringPlace(t, 4, 0)) }, []int{1, 3}, []int{1, 2, 3}},
		{"remove all", func() { ix.Remove(1); ix.Remove(2); ix.Remove(3) }, []int{}, []int{}},
	}
	for _, st := range steps {
		st.do()
		if diff := cmp.Diff(st.wantNear, near(center), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after %q: within one ring (-want +got):\n%s", st.name, diff)
		}
		if diff := cmp.Diff(st.wantFar, near(far), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after %q: within four rings (-want +got):\n%s", st.name, diff)
		}
	}
}
