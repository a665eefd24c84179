package lsap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// orlibDir holds the OR-Library assignment instances (assign100 ... 800,
// 6 MB), read in place from the shared data beside the repository; only
// assign100 ships with it (examples/data/orlib, tested by cmd/doorstep).
const orlibDir = "../../../shared/data/orlib"

func TestORLib(t *testing.T) {
	// Published optima of assign100 ... assign800.
	tests := []struct {
		n    int
		want float64
	}{
		{100, 305}, {200, 475}, {300, 626}, {400, 804},
		{500, 991}, {600, 1176}, {700, 1362}, {800, 1552},
	}
	var s Solver
	for _, tt := range tests {
		name := fmt.Sprintf("assign%d", tt.n)
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(orlibDir, name+".txt"))
			if errors.Is(err, fs.ErrNotExist) {
				t.Skipf("OR-Library data not found at %s (it lives in shared/data/orlib beside the repository)", orlibDir)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := ReadORLib(f)
			if err != nil {
				t.Fatal(err)
			}
			if r, c := m.Dims(); r != tt.n || c != tt.n {
				t.Fatalf("read %dx%d, want %dx%d", r, c, tt.n, tt.n)
			}
			res, err := s.Solve(m)
			if err != nil {
				t.Fatal(err)
			}
			if res.Cost != tt.want || res.Assigned != tt.n {
				t.Errorf("Solve: cost %g with %d assigned, want %g with %d", res.Cost, res.Assigned, tt.want, tt.n)
			}
			sres, err := s.SolveSparse(tt.n, denseToArcs(m))
			if err != nil {
				t.Fatal(err)
			}
			if sres.Cost != tt.want || sres.Assigned != tt.n {
				t.Errorf("SolveSparse: cost %g with %d assigned, want %g with %d", sres.Cost, sres.Assigned, tt.want, tt.n)
			}
		})
	}
}
